//! `/v1/alternativeDistributionPackages` and their versions, variants and deltas.
//!
//! See Apple's [Alternative distribution packages](https://developer.apple.com/documentation/appstoreconnectapi/alternative-distribution-packages)
//! and [Ingesting an alternative distribution package](https://developer.apple.com/documentation/marketplacekit/ingesting-an-alternative-distribution-package).
//!
//! Every `url` is a signed download URL of this server ([`crate::package_store`]); a version's
//! file is its manifest, which lists the variants and deltas with their sizes and checksums.

use altdist::resource::{
    AltDistPackage, AltDistPackageAttributes, AltDistPackageCreateRequest, AltDistPackageDelta,
    AltDistPackageDeltaType, AltDistPackageFile, AltDistPackageFileAttributes,
    AltDistPackageRelationships, AltDistPackageType, AltDistPackageVariant,
    AltDistPackageVariantType, AltDistPackageVersion, AltDistPackageVersionAttributes,
    AltDistPackageVersionRelationships, AltDistPackageVersionType, AppId, Checksum, Checksums,
    CollectionDocument, CompoundCollectionDocument, CompoundDocument, Document, DocumentLinks,
    LinkageDocument, LinkageLinks, LinkagesDocument, PackageIncluded, Paging, PagingInformation,
    Relationship, RelationshipLinks, ResourceIdentifier, ResourceLinks,
};
use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use base64::Engine as _;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::app_store_versions::{self, find_own_version};
use super::created;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::packages::{
    FileKind, NewPackage, NewPackageFile, PackageFileRow, PackageRow, PackageVersionRow,
};
use crate::db::{self, PageAfter};
use crate::error::ApiError;
use crate::extract::{IdPath, JsonBody};
use crate::jsonapi::{self, Param, ParamKind, Params};
use crate::package_store::random_bytes;

const PACKAGE_FIELDS: Param = Param::one_of(
    "fields[alternativeDistributionPackages]",
    &["sourceFileChecksum", "versions"],
);
const VERSION_FIELDS: Param = Param::one_of(
    "fields[alternativeDistributionPackageVersions]",
    &[
        "url",
        "urlExpirationDate",
        "version",
        "fileChecksum",
        "state",
        "variants",
        "deltas",
        "alternativeDistributionPackage",
    ],
);
const FILE_FIELD_VALUES: &[&str] = &[
    "url",
    "urlExpirationDate",
    "alternativeDistributionKeyBlob",
    "fileChecksum",
];
const VARIANT_FIELDS: Param = Param::one_of(
    "fields[alternativeDistributionPackageVariants]",
    FILE_FIELD_VALUES,
);
const DELTA_FIELDS: Param = Param::one_of(
    "fields[alternativeDistributionPackageDeltas]",
    FILE_FIELD_VALUES,
);

/// How many related resources an `include` brings at most, and by default.
const MAX_INCLUDED: u32 = 50;

const fn included_limit(name: &'static str) -> Param {
    Param {
        name,
        kind: ParamKind::Integer {
            min: 1,
            max: MAX_INCLUDED,
        },
    }
}

/// What `GET /v1/alternativeDistributionPackages/{id}` and
/// `GET /v1/appStoreVersions/{id}/alternativeDistributionPackage` take.
pub const PACKAGE_PARAMS: &[Param] = &[
    PACKAGE_FIELDS,
    VERSION_FIELDS,
    Param::one_of("include", &["versions"]),
    included_limit("limit[versions]"),
];
/// What `GET /v1/alternativeDistributionPackages/{id}/versions` takes.
pub const VERSIONS_PARAMS: &[Param] = &[
    Param::one_of("filter[state]", &["COMPLETED", "REPLACED"]),
    VERSION_FIELDS,
    VARIANT_FIELDS,
    DELTA_FIELDS,
    PACKAGE_FIELDS,
    Param::LIMIT,
    Param::CURSOR,
    Param::one_of(
        "include",
        &["variants", "deltas", "alternativeDistributionPackage"],
    ),
    included_limit("limit[variants]"),
    included_limit("limit[deltas]"),
];
/// What `GET /v1/alternativeDistributionPackageVersions/{id}` takes.
pub const VERSION_PARAMS: &[Param] = &[
    VERSION_FIELDS,
    VARIANT_FIELDS,
    DELTA_FIELDS,
    Param::one_of(
        "include",
        &["variants", "deltas", "alternativeDistributionPackage"],
    ),
    included_limit("limit[deltas]"),
    included_limit("limit[variants]"),
];
/// What `GET /v1/alternativeDistributionPackageVersions/{id}/variants` takes.
pub const VARIANTS_PARAMS: &[Param] = &[VARIANT_FIELDS, Param::LIMIT, Param::CURSOR];
/// What `GET /v1/alternativeDistributionPackageVersions/{id}/deltas` takes.
pub const DELTAS_PARAMS: &[Param] = &[DELTA_FIELDS, Param::LIMIT, Param::CURSOR];
/// What the to-many relationship endpoints take.
pub const LINKAGES_PARAMS: &[Param] = &[Param::LIMIT, Param::CURSOR];
/// What `GET /v1/alternativeDistributionPackageVariants/{id}` takes.
pub const VARIANT_PARAMS: &[Param] = &[VARIANT_FIELDS];
/// What `GET /v1/alternativeDistributionPackageDeltas/{id}` takes.
pub const DELTA_PARAMS: &[Param] = &[DELTA_FIELDS];

/// The app version states in which App Store Connect offers a version's package.
///
/// The version has passed review (for web distribution, Notarization). "When an app passes Notarization, App Store
/// Connect makes it available" (Ingesting an alternative distribution package).
pub const DISTRIBUTABLE_STATES: &[&str] = &[
    "ACCEPTED",
    "PENDING_APPLE_RELEASE",
    "PENDING_DEVELOPER_RELEASE",
    "READY_FOR_DISTRIBUTION",
];

fn package_path(id: &str) -> String {
    format!("/v1/alternativeDistributionPackages/{id}")
}

fn version_path(id: &str) -> String {
    format!("/v1/alternativeDistributionPackageVersions/{id}")
}

fn file_path(kind: FileKind, id: &str) -> String {
    match kind {
        FileKind::Variant => format!("/v1/alternativeDistributionPackageVariants/{id}"),
        FileKind::Delta => format!("/v1/alternativeDistributionPackageDeltas/{id}"),
    }
}

/// The name a variant or delta is downloaded under, and laid out under in a package directory.
pub fn file_name(id: &str) -> String {
    format!("{id}.ipa")
}

/// The name a version's manifest is downloaded under.
pub const MANIFEST_NAME: &str = "manifest.json";

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

async fn signed(state: &AppState, sha256: &str, name: &str) -> Result<(String, String), ApiError> {
    let (url, expires) = state
        .packages
        .signed_url(&state.db, &state.public_url, sha256, name)
        .await?;
    Ok((url, rfc3339(expires)))
}

fn package_resource(
    state: &AppState,
    row: &PackageRow,
    fields: Option<&[String]>,
    versions: Option<(Vec<String>, i64, u32)>,
) -> AltDistPackage {
    let path = package_path(&row.id);
    let wants = |field| jsonapi::wants(fields, field);
    AltDistPackage {
        kind: AltDistPackageType::Value,
        id: row.id.clone(),
        attributes: wants("sourceFileChecksum").then(|| AltDistPackageAttributes {
            source_file_checksum: Some(Checksums {
                file: Some(Checksum {
                    hash: Some(row.source_sha256.clone()),
                    algorithm: Some("SHA_256".to_owned()),
                }),
            }),
        }),
        relationships: wants("versions").then(|| AltDistPackageRelationships {
            versions: Some(to_many(
                state,
                &path,
                "versions",
                versions.map(|(ids, total, limit)| {
                    (
                        ids.into_iter()
                            .map(|id| ResourceIdentifier {
                                kind: AltDistPackageVersionType::Value,
                                id,
                            })
                            .collect(),
                        total,
                        limit,
                    )
                }),
            )),
        }),
        links: Some(ResourceLinks {
            self_link: Some(state.url(&path)),
        }),
    }
}

fn to_many<T>(
    state: &AppState,
    path: &str,
    name: &str,
    linkage: Option<(Vec<T>, i64, u32)>,
) -> Relationship<Vec<T>> {
    let (data, meta) = match linkage {
        Some((data, total, limit)) => (
            Some(data),
            Some(PagingInformation {
                paging: Paging {
                    total: Some(u64::try_from(total).unwrap_or(0)),
                    limit,
                    next_cursor: None,
                },
            }),
        ),
        None => (None, None),
    };
    Relationship {
        links: Some(RelationshipLinks {
            self_link: Some(state.url(&format!("{path}/relationships/{name}"))),
            related: Some(state.url(&format!("{path}/{name}"))),
        }),
        meta,
        data,
    }
}

/// A to-many linkage as included: the ids shown, how many there are, the cap.
type Linkage = (Vec<String>, i64, u32);

/// The linkage a version carries when `include` names its variants or deltas.
#[derive(Default)]
struct VersionLinkage {
    variants: Option<Linkage>,
    deltas: Option<Linkage>,
}

async fn version_resource(
    state: &AppState,
    row: &PackageVersionRow,
    fields: Option<&[String]>,
    linkage: VersionLinkage,
) -> Result<AltDistPackageVersion, ApiError> {
    let path = version_path(&row.id);
    let wants = |field| jsonapi::wants(fields, field);
    let url = if wants("url") || wants("urlExpirationDate") {
        Some(signed(state, &row.manifest_sha256, MANIFEST_NAME).await?)
    } else {
        None
    };
    let attributes = AltDistPackageVersionAttributes {
        url: url
            .as_ref()
            .filter(|_| wants("url"))
            .map(|(url, _)| url.clone()),
        url_expiration_date: url
            .as_ref()
            .filter(|_| wants("urlExpirationDate"))
            .map(|(_, expires)| expires.clone()),
        version: wants("version").then(|| row.version.clone()),
        file_checksum: wants("fileChecksum").then(|| row.manifest_sha256.clone()),
        state: wants("state").then(|| row.state.clone()),
    };
    let relationships = AltDistPackageVersionRelationships {
        variants: wants("variants").then(|| {
            to_many(
                state,
                &path,
                "variants",
                linkage.variants.map(|(ids, total, limit)| {
                    (
                        ids.into_iter()
                            .map(|id| ResourceIdentifier {
                                kind: AltDistPackageVariantType::Value,
                                id,
                            })
                            .collect(),
                        total,
                        limit,
                    )
                }),
            )
        }),
        deltas: wants("deltas").then(|| {
            to_many(
                state,
                &path,
                "deltas",
                linkage.deltas.map(|(ids, total, limit)| {
                    (
                        ids.into_iter()
                            .map(|id| ResourceIdentifier {
                                kind: AltDistPackageDeltaType::Value,
                                id,
                            })
                            .collect(),
                        total,
                        limit,
                    )
                }),
            )
        }),
        alternative_distribution_package: wants("alternativeDistributionPackage").then(|| {
            Relationship {
                links: None,
                meta: None,
                data: Some(ResourceIdentifier {
                    kind: AltDistPackageType::Value,
                    id: row.package_id.clone(),
                }),
            }
        }),
    };
    Ok(AltDistPackageVersion {
        kind: AltDistPackageVersionType::Value,
        id: row.id.clone(),
        attributes: jsonapi::unless_empty(attributes),
        relationships: jsonapi::unless_empty(relationships),
        links: Some(ResourceLinks {
            self_link: Some(state.url(&path)),
        }),
    })
}

async fn file_resource<T: FileType>(
    state: &AppState,
    row: &PackageFileRow,
    fields: Option<&[String]>,
) -> Result<AltDistPackageFile<T>, ApiError> {
    let wants = |field| jsonapi::wants(fields, field);
    let url = if wants("url") || wants("urlExpirationDate") {
        Some(signed(state, &row.sha256, &file_name(&row.id)).await?)
    } else {
        None
    };
    let attributes = AltDistPackageFileAttributes {
        url: url
            .as_ref()
            .filter(|_| wants("url"))
            .map(|(url, _)| url.clone()),
        url_expiration_date: url
            .as_ref()
            .filter(|_| wants("urlExpirationDate"))
            .map(|(_, expires)| expires.clone()),
        alternative_distribution_key_blob: wants("alternativeDistributionKeyBlob")
            .then(|| row.key_blob.clone()),
        file_checksum: wants("fileChecksum").then(|| row.sha256.clone()),
    };
    Ok(AltDistPackageFile {
        kind: T::default(),
        id: row.id.clone(),
        attributes: jsonapi::unless_empty(attributes),
        links: Some(ResourceLinks {
            self_link: Some(state.url(&file_path(T::KIND, &row.id))),
        }),
    })
}

/// The entry of a variant or delta in a version's manifest.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestFile<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_version: Option<&'a str>,
    /// Where the file goes in a hosted package directory, relative to the manifest.
    path: String,
    size: i64,
    sha256: &'a str,
    /// A delta's format: [`crate::delta::FORMAT`].
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    /// A delta's source: the SHA-256 of the earlier version's variant it applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    from_sha256: Option<&'a str>,
    /// A delta's result: the SHA-256 of this version's variant it produces.
    #[serde(skip_serializing_if = "Option::is_none")]
    to_sha256: Option<&'a str>,
}

/// A version's manifest: what `altdist packages fetch` lays out, and checks every file against.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    manifest_version: u32,
    app_id: &'a str,
    bundle_id: &'a str,
    platform: &'a str,
    version: &'a str,
    alternative_distribution_package: &'a str,
    alternative_distribution_package_version: &'a str,
    created_date: String,
    variants: Vec<ManifestFile<'a>>,
    deltas: Vec<ManifestFile<'a>>,
}

fn relationship_error(detail: String) -> ApiError {
    ApiError::Conflict {
        code: "ENTITY_ERROR.RELATIONSHIP.INVALID",
        detail,
        pointer: Some("/data/relationships/appStoreVersion".to_owned()),
    }
}

/// A key blob: opaque to everyone but the license server and the device, as Apple's are.
fn new_key_blob() -> String {
    base64::engine::general_purpose::STANDARD.encode(random_bytes::<160>())
}

/// What a `POST /v1/alternativeDistributionPackages` body asks for: the App Store version's id.
pub fn read_create_request(body: serde_json::Value) -> Result<String, ApiError> {
    let request: AltDistPackageCreateRequest =
        jsonapi::relationship_document(body, AltDistPackageType::NAME)?;
    Ok(request.data.relationships.app_store_version.data.id)
}

/// `POST /v1/alternativeDistributionPackages`
pub async fn create_package(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("creating an alternative distribution package")?;
    let version_id = read_create_request(body)?;
    let version = db::packages::find_version(&state.db, &caller.account, &version_id)
        .await?
        .ok_or_else(|| {
            relationship_error(format!(
                "there is no App Store version {version_id} in your account; list an app's versions with GET /v1/apps/{{id}}/appStoreVersions"
            ))
        })?;
    if let Some(existing) = &version.package_id {
        return Err(ApiError::Duplicate {
            detail: format!(
                "the App Store version {version_id} has an alternative distribution package already, {existing}; read it with GET /v1/appStoreVersions/{version_id}/alternativeDistributionPackage"
            ),
            existing: Some(state.url(&package_path(existing))),
        });
    }
    if !DISTRIBUTABLE_STATES.contains(&version.app_version_state.as_str()) {
        return Err(relationship_error(format!(
            "the App Store version {version_id} is in the state {}; App Store Connect makes a package only of a version that passed review ({})",
            version.app_version_state,
            DISTRIBUTABLE_STATES.join(", ")
        )));
    }
    let app = super::apps::find_own_app(&state, &caller, &version.app_id).await?;
    if db::alt_dist_keys::find_for_app(&state.db, &caller.account, &AppId(app.id.clone()))
        .await?
        .is_none()
    {
        return Err(relationship_error(format!(
            "the app {} is not set up for alternative distribution: it has no alternative distribution key and your account has no account-wide one; create one with POST /v1/alternativeDistributionKeys",
            app.id
        )));
    }
    let build = db::packages::version_files(&state.db, &version.id).await?;
    let Some(source) = build
        .iter()
        .find(|file| file.kind == FileKind::Variant.as_str())
    else {
        return Err(relationship_error(format!(
            "the App Store version {version_id} has no build to package"
        )));
    };

    let package_id = uuid::Uuid::new_v4().to_string();
    let package_version_id = uuid::Uuid::new_v4().to_string();
    let files: Vec<NewPackageFile> = build
        .iter()
        .map(|file| NewPackageFile {
            id: uuid::Uuid::new_v4().to_string(),
            kind: if file.kind == FileKind::Delta.as_str() {
                FileKind::Delta
            } else {
                FileKind::Variant
            },
            sha256: file.sha256.clone(),
            key_blob: new_key_blob(),
        })
        .collect();
    let entries = |kind: FileKind, folder: &str| -> Vec<ManifestFile<'_>> {
        files
            .iter()
            .zip(&build)
            .filter(|(file, _)| file.kind == kind)
            .map(|(file, stored)| ManifestFile {
                id: &file.id,
                from_version: stored.from_version.as_deref(),
                path: format!("{folder}/{}", file_name(&file.id)),
                size: stored.size,
                sha256: &file.sha256,
                format: (kind == FileKind::Delta).then_some(crate::delta::FORMAT),
                from_sha256: stored.from_sha256.as_deref(),
                to_sha256: stored.to_sha256.as_deref(),
            })
            .collect()
    };
    let manifest = Manifest {
        manifest_version: 1,
        app_id: &app.id,
        bundle_id: &app.bundle_id,
        platform: &version.platform,
        version: &version.version_string,
        alternative_distribution_package: &package_id,
        alternative_distribution_package_version: &package_version_id,
        created_date: db::now(),
        variants: entries(FileKind::Variant, "variants"),
        deltas: entries(FileKind::Delta, "deltas"),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("cannot write a manifest: {err}")))?;
    let manifest_sha256 = state
        .packages
        .put_bytes(&manifest_bytes)
        .await
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("cannot store a manifest: {err}")))?;
    let events = [crate::webhooks::events::package_version_created(
        &state.public_url,
        &caller.account,
        &AppId(app.id.clone()),
        &package_version_id,
    )];
    let new = NewPackage {
        id: &package_id,
        account: &caller.account,
        app_store_version_id: &version.id,
        source_sha256: &source.sha256,
        version_id: &package_version_id,
        version: &version.version_string,
        manifest_sha256: &manifest_sha256,
        files: &files,
        events: &events,
    };
    match db::packages::insert_package(&state.db, &new).await {
        Ok(()) => {}
        Err(err) if err.is_unique_violation() => {
            return Err(ApiError::Duplicate {
                detail: format!(
                    "the App Store version {version_id} has an alternative distribution package already; read it with GET /v1/appStoreVersions/{version_id}/alternativeDistributionPackage"
                ),
                existing: None,
            });
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(package = %package_id, app_store_version = %version.id, "created an alternative distribution package");
    let row = PackageRow {
        id: package_id,
        app_store_version_id: version.id,
        source_sha256: source.sha256.clone(),
    };
    let location = state.url(&package_path(&row.id));
    Ok(created(
        &location,
        Document {
            data: package_resource(&state, &row, None, None),
            links: DocumentLinks {
                self_link: location.clone(),
            },
        },
    ))
}

fn limit_of(params: &Params, name: &str) -> u32 {
    params
        .get(name)
        .and_then(|value| value.parse().ok())
        .unwrap_or(MAX_INCLUDED)
}

fn includes(params: &Params, what: &str) -> bool {
    params
        .list("include")
        .is_some_and(|include| include.iter().any(|item| item == what))
}

async fn package_document(
    state: &AppState,
    params: &Params,
    uri: &Uri,
    row: PackageRow,
) -> Result<CompoundDocument<AltDistPackage, AltDistPackageVersion>, ApiError> {
    let fields = params.list(PACKAGE_FIELDS.name);
    let (versions, included) = if includes(params, "versions") {
        let limit = limit_of(params, "limit[versions]");
        let page = PageAfter {
            after: 0,
            limit: i64::from(limit),
        };
        let total = db::packages::count_package_versions(&state.db, &row.id, &[]).await?;
        let (rows, _) = db::split_page(
            db::packages::list_package_versions(&state.db, &row.id, &[], page).await?,
            page,
        );
        let version_fields = params.list(VERSION_FIELDS.name);
        let mut included = Vec::with_capacity(rows.len());
        for version in &rows {
            included.push(
                version_resource(
                    state,
                    version,
                    version_fields.as_deref(),
                    VersionLinkage::default(),
                )
                .await?,
            );
        }
        let ids = rows.into_iter().map(|version| version.id).collect();
        (Some((ids, total, limit)), Some(included))
    } else {
        (None, None)
    };
    Ok(CompoundDocument {
        data: package_resource(state, &row, fields.as_deref(), versions),
        included,
        links: DocumentLinks {
            self_link: params.self_link(state, uri.path()),
        },
    })
}

async fn find_own_package(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<PackageRow, ApiError> {
    db::packages::find_package(&state.db, &caller.account, id)
        .await?
        .ok_or_else(|| ApiError::not_in_account("alternative distribution package", id))
}

/// `GET /v1/alternativeDistributionPackages/{id}`
pub async fn find_package(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<CompoundDocument<AltDistPackage, AltDistPackageVersion>>, ApiError> {
    let params = Params::parse(&uri, PACKAGE_PARAMS)?;
    let row = find_own_package(&state, &caller, &id).await?;
    Ok(Json(package_document(&state, &params, &uri, row).await?))
}

async fn package_of_version(
    state: &AppState,
    caller: &Caller,
    version_id: &str,
) -> Result<PackageRow, ApiError> {
    let version = find_own_version(state, caller, version_id).await?;
    let Some(package_id) = version.package_id else {
        return Err(ApiError::NotFound(format!(
            "the App Store version {version_id} has no alternative distribution package; create one with POST /v1/alternativeDistributionPackages"
        )));
    };
    find_own_package(state, caller, &package_id).await
}

/// `GET /v1/appStoreVersions/{id}/alternativeDistributionPackage`
pub async fn find_version_package(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<CompoundDocument<AltDistPackage, AltDistPackageVersion>>, ApiError> {
    let params = Params::parse(&uri, PACKAGE_PARAMS)?;
    let row = package_of_version(&state, &caller, &id).await?;
    Ok(Json(package_document(&state, &params, &uri, row).await?))
}

/// `GET /v1/appStoreVersions/{id}/relationships/alternativeDistributionPackage`
pub async fn find_version_package_linkage(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<LinkageDocument<AltDistPackageType, String>>, ApiError> {
    Params::parse(&uri, &[])?;
    let row = package_of_version(&state, &caller, &id).await?;
    Ok(Json(LinkageDocument {
        data: ResourceIdentifier {
            kind: AltDistPackageType::Value,
            id: row.id,
        },
        links: LinkageLinks {
            self_link: state.url(uri.path()),
            related: Some(state.url(&format!(
                "{}/alternativeDistributionPackage",
                app_store_versions::path(&id)
            ))),
        },
    }))
}

/// The version's variants or deltas when `include` names them (`name`, capped by `limit_name`),
/// and their linkage: ids, how many there are, the cap.
async fn included_files<T: FileType>(
    state: &AppState,
    params: &Params,
    version: &PackageVersionRow,
    name: &str,
    limit_name: &str,
) -> Result<Option<(Vec<AltDistPackageFile<T>>, Linkage)>, ApiError> {
    if !includes(params, name) {
        return Ok(None);
    }
    let limit = limit_of(params, limit_name);
    let page = PageAfter {
        after: 0,
        limit: i64::from(limit),
    };
    let total = db::packages::count_package_files(&state.db, &version.id, T::KIND).await?;
    let (rows, _) = db::split_page(
        db::packages::list_package_files(&state.db, &version.id, T::KIND, page).await?,
        page,
    );
    let fields = params.list(T::FIELDS.name);
    let mut files = Vec::with_capacity(rows.len());
    for row in &rows {
        files.push(file_resource::<T>(state, row, fields.as_deref()).await?);
    }
    let ids = rows.into_iter().map(|row| row.id).collect();
    Ok(Some((files, (ids, total, limit))))
}

/// The included resources of versions, and each version's linkage, for `include`.
async fn version_inclusions(
    state: &AppState,
    params: &Params,
    version: &PackageVersionRow,
    included: &mut Vec<PackageIncluded>,
) -> Result<VersionLinkage, ApiError> {
    let mut linkage = VersionLinkage::default();
    if let Some((files, ids)) = included_files::<AltDistPackageVariantType>(
        state,
        params,
        version,
        "variants",
        "limit[variants]",
    )
    .await?
    {
        included.extend(files.into_iter().map(PackageIncluded::Variant));
        linkage.variants = Some(ids);
    }
    if let Some((files, ids)) =
        included_files::<AltDistPackageDeltaType>(state, params, version, "deltas", "limit[deltas]")
            .await?
    {
        included.extend(files.into_iter().map(PackageIncluded::Delta));
        linkage.deltas = Some(ids);
    }
    if includes(params, "alternativeDistributionPackage")
        && !included.iter().any(
            |resource| matches!(resource, PackageIncluded::Package(package) if package.id == version.package_id),
        )
        && let Some(package) = db::packages::find_package_by_id(&state.db, &version.package_id).await?
    {
        included.push(PackageIncluded::Package(package_resource(
            state,
            &package,
            params.list(PACKAGE_FIELDS.name).as_deref(),
            None,
        )));
    }
    Ok(linkage)
}

/// `GET /v1/alternativeDistributionPackages/{id}/versions`
pub async fn list_package_versions(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<CompoundCollectionDocument<AltDistPackageVersion, PackageIncluded>>, ApiError> {
    let params = Params::parse(&uri, VERSIONS_PARAMS)?;
    let page = params.page_after()?;
    let package = find_own_package(&state, &caller, &id).await?;
    let states = params.list("filter[state]").unwrap_or_default();
    let total = db::packages::count_package_versions(&state.db, &package.id, &states).await?;
    let (rows, next) = db::split_page(
        db::packages::list_package_versions(&state.db, &package.id, &states, page).await?,
        page,
    );
    let fields = params.list(VERSION_FIELDS.name);
    let mut included = Vec::new();
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        let linkage = version_inclusions(&state, &params, row, &mut included).await?;
        data.push(version_resource(&state, row, fields.as_deref(), linkage).await?);
    }
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(CompoundCollectionDocument {
        data,
        included: params.list("include").map(|_| included),
        links,
        meta: Some(meta),
    }))
}

/// `GET /v1/alternativeDistributionPackages/{id}/relationships/versions`
pub async fn list_package_version_linkages(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<LinkagesDocument<AltDistPackageVersionType, String>>, ApiError> {
    let params = Params::parse(&uri, LINKAGES_PARAMS)?;
    let page = params.page_after()?;
    let package = find_own_package(&state, &caller, &id).await?;
    let total = db::packages::count_package_versions(&state.db, &package.id, &[]).await?;
    let (rows, next) = db::split_page(
        db::packages::list_package_versions(&state.db, &package.id, &[], page).await?,
        page,
    );
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(LinkagesDocument {
        data: rows
            .into_iter()
            .map(|row| ResourceIdentifier {
                kind: AltDistPackageVersionType::Value,
                id: row.id,
            })
            .collect(),
        links,
        meta: Some(meta),
    }))
}

async fn find_own_package_version(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<PackageVersionRow, ApiError> {
    db::packages::find_package_version(&state.db, &caller.account, id)
        .await?
        .ok_or_else(|| ApiError::not_in_account("alternative distribution package version", id))
}

/// `GET /v1/alternativeDistributionPackageVersions/{id}`
pub async fn find_package_version(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<CompoundDocument<AltDistPackageVersion, PackageIncluded>>, ApiError> {
    let params = Params::parse(&uri, VERSION_PARAMS)?;
    let row = find_own_package_version(&state, &caller, &id).await?;
    let mut included = Vec::new();
    let linkage = version_inclusions(&state, &params, &row, &mut included).await?;
    let fields = params.list(VERSION_FIELDS.name);
    Ok(Json(CompoundDocument {
        data: version_resource(&state, &row, fields.as_deref(), linkage).await?,
        included: params.list("include").map(|_| included),
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

/// What tells a variant from a delta, so one handler serves both.
trait FileType: Copy + Default + Serialize + Send + Sync + 'static {
    const KIND: FileKind;
    /// `fields[...]` of its type.
    const FIELDS: Param;
    /// What its collection endpoint takes.
    const COLLECTION_PARAMS: &'static [Param];
    /// What its instance endpoint takes.
    const INSTANCE_PARAMS: &'static [Param];
    /// For messages.
    const NAME: &'static str;
}

impl FileType for AltDistPackageVariantType {
    const KIND: FileKind = FileKind::Variant;
    const FIELDS: Param = VARIANT_FIELDS;
    const COLLECTION_PARAMS: &'static [Param] = VARIANTS_PARAMS;
    const INSTANCE_PARAMS: &'static [Param] = VARIANT_PARAMS;
    const NAME: &'static str = "alternative distribution package variant";
}

impl FileType for AltDistPackageDeltaType {
    const KIND: FileKind = FileKind::Delta;
    const FIELDS: Param = DELTA_FIELDS;
    const COLLECTION_PARAMS: &'static [Param] = DELTAS_PARAMS;
    const INSTANCE_PARAMS: &'static [Param] = DELTA_PARAMS;
    const NAME: &'static str = "alternative distribution package delta";
}

/// A page of the package version `id`'s variants or deltas: the rows, the next page, the page,
/// and how many there are.
async fn file_page<T: FileType>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    params: &Params,
) -> Result<(Vec<PackageFileRow>, Option<PageAfter>, PageAfter, i64), ApiError> {
    let page = params.page_after()?;
    let version = find_own_package_version(state, caller, id).await?;
    let total = db::packages::count_package_files(&state.db, &version.id, T::KIND).await?;
    let (rows, next) = db::split_page(
        db::packages::list_package_files(&state.db, &version.id, T::KIND, page).await?,
        page,
    );
    Ok((rows, next, page, total))
}

async fn list_files<T: FileType>(
    state: AppState,
    caller: Caller,
    id: String,
    uri: Uri,
) -> Result<Json<CollectionDocument<AltDistPackageFile<T>>>, ApiError> {
    let params = Params::parse(&uri, T::COLLECTION_PARAMS)?;
    let (rows, next, page, total) = file_page::<T>(&state, &caller, &id, &params).await?;
    let fields = params.list(T::FIELDS.name);
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        data.push(file_resource::<T>(&state, row, fields.as_deref()).await?);
    }
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(CollectionDocument {
        data,
        links,
        meta: Some(meta),
    }))
}

/// `GET /v1/alternativeDistributionPackageVersions/{id}/variants`
pub async fn list_variants(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<CollectionDocument<AltDistPackageVariant>>, ApiError> {
    list_files(state, caller, id, uri).await
}

/// `GET /v1/alternativeDistributionPackageVersions/{id}/deltas`
pub async fn list_deltas(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<CollectionDocument<AltDistPackageDelta>>, ApiError> {
    list_files(state, caller, id, uri).await
}

async fn list_file_linkages<T: FileType>(
    state: AppState,
    caller: Caller,
    id: String,
    uri: Uri,
) -> Result<Json<LinkagesDocument<T, String>>, ApiError> {
    let params = Params::parse(&uri, LINKAGES_PARAMS)?;
    let (rows, next, page, total) = file_page::<T>(&state, &caller, &id, &params).await?;
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(LinkagesDocument {
        data: rows
            .into_iter()
            .map(|row| ResourceIdentifier {
                kind: T::default(),
                id: row.id,
            })
            .collect(),
        links,
        meta: Some(meta),
    }))
}

/// `GET /v1/alternativeDistributionPackageVersions/{id}/relationships/variants`
pub async fn list_variant_linkages(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<LinkagesDocument<AltDistPackageVariantType, String>>, ApiError> {
    list_file_linkages(state, caller, id, uri).await
}

/// `GET /v1/alternativeDistributionPackageVersions/{id}/relationships/deltas`
pub async fn list_delta_linkages(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<LinkagesDocument<AltDistPackageDeltaType, String>>, ApiError> {
    list_file_linkages(state, caller, id, uri).await
}

async fn find_file<T: FileType>(
    state: AppState,
    caller: Caller,
    id: String,
    uri: Uri,
) -> Result<Json<Document<AltDistPackageFile<T>>>, ApiError> {
    let params = Params::parse(&uri, T::INSTANCE_PARAMS)?;
    let row = db::packages::find_package_file(&state.db, &caller.account, T::KIND, &id)
        .await?
        .ok_or_else(|| ApiError::not_in_account(T::NAME, &id))?;
    let fields = params.list(T::FIELDS.name);
    Ok(Json(Document {
        data: file_resource::<T>(&state, &row, fields.as_deref()).await?,
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

/// `GET /v1/alternativeDistributionPackageVariants/{id}`
pub async fn find_variant(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<Document<AltDistPackageVariant>>, ApiError> {
    find_file(state, caller, id, uri).await
}

/// `GET /v1/alternativeDistributionPackageDeltas/{id}`
pub async fn find_delta(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<Document<AltDistPackageDelta>>, ApiError> {
    find_file(state, caller, id, uri).await
}
