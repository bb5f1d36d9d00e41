//! The JSON:API documents of the App Store Connect API that altdist speaks.
//!
//! Typed, camelCase serde structs shared by the server and any client, so the two cannot drift
//! apart. Shapes follow Apple's OpenAPI document (see
//! [App Store Connect API](https://developer.apple.com/documentation/appstoreconnectapi)): every
//! optional member is skipped when absent, which is also how sparse fieldsets leave members out.

mod alt_dist_domain;
mod alt_dist_key;
mod app;
mod document;
mod ids;
mod package;
mod webhook;

pub use alt_dist_domain::{
    AltDistDomain, AltDistDomainAttributes, AltDistDomainCreateAttributes, AltDistDomainCreateData,
    AltDistDomainCreateRequest, AltDistDomainType,
};
pub use alt_dist_key::{
    AltDistKey, AltDistKeyAttributes, AltDistKeyCreateAttributes, AltDistKeyCreateData,
    AltDistKeyCreateRelationships, AltDistKeyCreateRequest, AltDistKeyType, AppLinkage,
};
pub use app::{App, AppAttributes, AppRelationships, AppType, ToOneRelationship};
pub use document::{
    AssociatedLink, CollectionDocument, CompoundCollectionDocument, CompoundDocument, Document,
    DocumentLinks, ErrorLinks, ErrorResponse, ErrorSource, LinkageDocument, LinkageLinks,
    LinkagesDocument, PagedDocumentLinks, Paging, PagingInformation, RelationshipLinks,
    ResourceIdentifier, ResourceLinks, ResponseError,
};
pub use ids::{AltDistDomainId, AltDistKeyId, ApiKeyId, AppId, BundleId, IssuerId};
pub use package::{
    AltDistPackage, AltDistPackageAttributes, AltDistPackageCreateData,
    AltDistPackageCreateRelationships, AltDistPackageCreateRequest, AltDistPackageDelta,
    AltDistPackageDeltaType, AltDistPackageFile, AltDistPackageFileAttributes,
    AltDistPackageRelationships, AltDistPackageType, AltDistPackageVariant,
    AltDistPackageVariantType, AltDistPackageVersion, AltDistPackageVersionAttributes,
    AltDistPackageVersionRelationships, AltDistPackageVersionType, AppStoreVersion,
    AppStoreVersionAttributes, AppStoreVersionLinkage, AppStoreVersionRelationships,
    AppStoreVersionType, Checksum, Checksums, PackageIncluded, Relationship,
};
pub use webhook::{
    DeliveryRequest, DeliveryResponse, DeliveryState, IncludedCollection, IncludedDocument,
    LinksOnly, OptionalLinkage, RequiredLinkage, Webhook, WebhookAttributes,
    WebhookCreateAttributes, WebhookCreateData, WebhookCreateRelationships, WebhookCreateRequest,
    WebhookDeliveriesResponse, WebhookDelivery, WebhookDeliveryAttributes,
    WebhookDeliveryCreateData, WebhookDeliveryCreateRelationships, WebhookDeliveryCreateRequest,
    WebhookDeliveryRelationships, WebhookDeliveryResponse, WebhookDeliveryType, WebhookEvent,
    WebhookEventAttributes, WebhookEventResourceType, WebhookEventType, WebhookPing,
    WebhookPingCreateData, WebhookPingCreateRelationships, WebhookPingCreateRequest,
    WebhookPingType, WebhookRelationships, WebhookResponse, WebhookType, WebhookUpdateAttributes,
    WebhookUpdateData, WebhookUpdateRequest, WebhooksResponse,
};

/// Declares a one-value enum that serializes as a JSON:API `type` string.
macro_rules! resource_type {
    ($(#[$meta:meta])* $name:ident, $value:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            #[doc = concat!("`\"", $value, "\"`")]
            #[default]
            #[serde(rename = $value)]
            Value,
        }

        impl $name {
            /// The `type` string.
            pub const NAME: &'static str = $value;
        }
    };
}
pub(crate) use resource_type;
