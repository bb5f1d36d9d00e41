//! App Store versions and their alternative distribution packages: the package, its versions,
//! and each version's variants and deltas. See Apple's
//! [Alternative distribution packages](https://developer.apple.com/documentation/appstoreconnectapi/alternative-distribution-packages)
//! and [App Store versions](https://developer.apple.com/documentation/appstoreconnectapi/app-store-versions).

use serde::{Deserialize, Serialize};

use super::app::AppType;
use super::document::{PagingInformation, RelationshipLinks, ResourceIdentifier, ResourceLinks};
use super::resource_type;

resource_type!(
    /// The `type` of an App Store version.
    AppStoreVersionType,
    "appStoreVersions"
);
resource_type!(
    /// The `type` of an alternative distribution package.
    AltDistPackageType,
    "alternativeDistributionPackages"
);
resource_type!(
    /// The `type` of a version of an alternative distribution package.
    AltDistPackageVersionType,
    "alternativeDistributionPackageVersions"
);
resource_type!(
    /// The `type` of a variant of a package version.
    AltDistPackageVariantType,
    "alternativeDistributionPackageVariants"
);
resource_type!(
    /// The `type` of a delta of a package version.
    AltDistPackageDeltaType,
    "alternativeDistributionPackageDeltas"
);

/// A relationship of a resource: its links, and its linkage when the document includes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship<T> {
    /// `self` and `related`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<RelationshipLinks>,
    /// Paging of a to-many linkage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<PagingInformation>,
    /// The linkage: one identifier, or a list of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

/// An App Store version of an app, reduced to what a package flow reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStoreVersion {
    /// Always `appStoreVersions`.
    #[serde(rename = "type")]
    pub kind: AppStoreVersionType,
    /// The version's id.
    pub id: String,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AppStoreVersionAttributes>,
    /// Absent when a sparse fieldset leaves out every relationship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<AppStoreVersionRelationships>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of an App Store version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStoreVersionAttributes {
    /// `IOS`, `MAC_OS`, `TV_OS` or `VISION_OS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The version people see, like `1.2.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_string: Option<String>,
    /// The deprecated App Store state (`READY_FOR_SALE`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_store_state: Option<String>,
    /// The state (`READY_FOR_DISTRIBUTION`, `PREPARE_FOR_SUBMISSION`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version_state: Option<String>,
    /// When it was created, RFC 3339 in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
}

/// The relationships of an App Store version that altdist serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStoreVersionRelationships {
    /// The app (Apple's document gives it by linkage only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<Relationship<ResourceIdentifier<AppType, String>>>,
    /// The version's package, if one was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_distribution_package:
        Option<Relationship<ResourceIdentifier<AltDistPackageType, String>>>,
}

/// An alternative distribution package: what App Store Connect makes of an approved version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistPackage {
    /// Always `alternativeDistributionPackages`.
    #[serde(rename = "type")]
    pub kind: AltDistPackageType,
    /// The package's id.
    pub id: String,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AltDistPackageAttributes>,
    /// The versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<AltDistPackageRelationships>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistPackageAttributes {
    /// Checksums of the source file (the build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file_checksum: Option<Checksums>,
}

/// `Checksums` of Apple's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksums {
    /// The checksum of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Checksum>,
}

/// One checksum and its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// The hash, hexadecimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// `MD5` or `SHA_256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
}

/// The relationships of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistPackageRelationships {
    /// Its versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Relationship<Vec<ResourceIdentifier<AltDistPackageVersionType, String>>>>,
}

/// A version of a package: a manifest at `url`, with variants and deltas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistPackageVersion {
    /// Always `alternativeDistributionPackageVersions`.
    #[serde(rename = "type")]
    pub kind: AltDistPackageVersionType,
    /// The version's id.
    pub id: String,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AltDistPackageVersionAttributes>,
    /// Variants, deltas and the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<AltDistPackageVersionRelationships>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of a package version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistPackageVersionAttributes {
    /// Where to download the version's file, until `url_expiration_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When `url` stops working, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_expiration_date: Option<String>,
    /// The app version it packages, like `1.2.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The checksum of the file at `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_checksum: Option<String>,
    /// `COMPLETED` or `REPLACED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// The relationships of a package version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistPackageVersionRelationships {
    /// Its variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Relationship<Vec<ResourceIdentifier<AltDistPackageVariantType, String>>>>,
    /// Its deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deltas: Option<Relationship<Vec<ResourceIdentifier<AltDistPackageDeltaType, String>>>>,
    /// The package it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_distribution_package:
        Option<Relationship<ResourceIdentifier<AltDistPackageType, String>>>,
}

/// A file of a package version: a variant (the whole app for some devices) or a delta (an
/// update from an earlier version). Both carry the same attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistPackageFile<T> {
    /// `alternativeDistributionPackageVariants` or `alternativeDistributionPackageDeltas`.
    #[serde(rename = "type")]
    pub kind: T,
    /// The file's id.
    pub id: String,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AltDistPackageFileAttributes>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// A variant of a package version.
pub type AltDistPackageVariant = AltDistPackageFile<AltDistPackageVariantType>;
/// A delta of a package version.
pub type AltDistPackageDelta = AltDistPackageFile<AltDistPackageDeltaType>;

/// The attributes of a variant or a delta.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistPackageFileAttributes {
    /// Where to download the file, until `url_expiration_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When `url` stops working, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_expiration_date: Option<String>,
    /// The key blob the license server hands to devices with this file, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_distribution_key_blob: Option<String>,
    /// The checksum of the file at `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_checksum: Option<String>,
}

/// A resource in the `included` member of a package document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PackageIncluded {
    /// A package.
    Package(AltDistPackage),
    /// A package version.
    Version(Box<AltDistPackageVersion>),
    /// A variant.
    Variant(AltDistPackageVariant),
    /// A delta.
    Delta(AltDistPackageDelta),
}

/// The body of `POST /v1/alternativeDistributionPackages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistPackageCreateRequest {
    /// The package to create.
    pub data: AltDistPackageCreateData,
}

/// `data` of a package create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistPackageCreateData {
    /// Always `alternativeDistributionPackages`.
    #[serde(rename = "type")]
    pub kind: AltDistPackageType,
    /// The App Store version to package.
    pub relationships: AltDistPackageCreateRelationships,
}

/// The relationships of a package create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistPackageCreateRelationships {
    /// `{"data": {"type": "appStoreVersions", "id": ...}}`.
    pub app_store_version: AppStoreVersionLinkage,
}

/// `{"data": {"type": "appStoreVersions", "id": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStoreVersionLinkage {
    /// The version.
    pub data: ResourceIdentifier<AppStoreVersionType, String>,
}

impl AltDistPackageCreateRequest {
    /// A request for the package of the App Store version `app_store_version`.
    pub fn new(app_store_version: impl Into<String>) -> Self {
        Self {
            data: AltDistPackageCreateData {
                kind: AltDistPackageType::Value,
                relationships: AltDistPackageCreateRelationships {
                    app_store_version: AppStoreVersionLinkage {
                        data: ResourceIdentifier {
                            kind: AppStoreVersionType::Value,
                            id: app_store_version.into(),
                        },
                    },
                },
            },
        }
    }
}
