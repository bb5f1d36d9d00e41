//! `apps`, reduced to what alternative distribution needs: see Apple's
//! [Apps](https://developer.apple.com/documentation/appstoreconnectapi/apps).

use serde::{Deserialize, Serialize};

use super::document::{RelationshipLinks, ResourceLinks};
use super::ids::AppId;
use super::resource_type;

resource_type!(
    /// The `type` of an app.
    AppType,
    "apps"
);

/// An app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// Always `apps`.
    #[serde(rename = "type")]
    pub kind: AppType,
    /// The app's Apple id.
    pub id: AppId,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AppAttributes>,
    /// Absent when a sparse fieldset leaves out `alternativeDistributionKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<AppRelationships>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppAttributes {
    /// The app's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its bundle id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    /// Its SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Its primary locale, like `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_locale: Option<String>,
    /// Whether the app is, or ever was, made for kids. Apple's `App` always carries it, and
    /// clients such as asconnect require it; `fields[apps]` of Apple's document cannot select it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_or_ever_was_made_for_kids: Option<bool>,
}

/// The relationships of an app that altdist serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRelationships {
    /// The key that signs for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_distribution_key: Option<ToOneRelationship>,
}

/// A to-one relationship given only by its links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToOneRelationship {
    /// `self` and `related`.
    pub links: RelationshipLinks,
}
