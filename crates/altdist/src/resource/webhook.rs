//! `webhooks`, `webhookDeliveries`, `webhookEvents` and `webhookPings`: see Apple's
//! [Webhook notifications](https://developer.apple.com/documentation/appstoreconnectapi/webhook-notifications).

use serde::{Deserialize, Serialize};

use super::AppType;
use super::app::App;
use super::document::{
    DocumentLinks, PagedDocumentLinks, PagingInformation, RelationshipLinks, ResourceIdentifier,
    ResourceLinks,
};
use super::ids::AppId;
use super::resource_type;

resource_type!(
    /// The `type` of a webhook.
    WebhookType,
    "webhooks"
);
resource_type!(
    /// The `type` of a webhook delivery.
    WebhookDeliveryType,
    "webhookDeliveries"
);
resource_type!(
    /// The `type` of a webhook event.
    WebhookEventResourceType,
    "webhookEvents"
);
resource_type!(
    /// The `type` of a webhook ping.
    WebhookPingType,
    "webhookPings"
);

/// What a webhook can be told about (`WebhookEventType` in Apple's OpenAPI document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[expect(
    missing_docs,
    reason = "Apple's names say it; see Understanding webhook events"
)]
pub enum WebhookEventType {
    AlternativeDistributionPackageAvailableUpdated,
    AlternativeDistributionPackageVersionCreated,
    AlternativeDistributionTerritoryAvailabilityUpdated,
    AppStoreVersionAppVersionStateUpdated,
    BackgroundAssetVersionAppStoreReleaseStateUpdated,
    BackgroundAssetVersionExternalBetaReleaseStateUpdated,
    BackgroundAssetVersionInternalBetaReleaseCreated,
    BackgroundAssetVersionStateUpdated,
    BetaFeedbackCrashSubmissionCreated,
    BetaFeedbackScreenshotSubmissionCreated,
    BuildBetaDetailExternalBuildStateUpdated,
    BuildUploadStateUpdated,
}

impl WebhookEventType {
    /// Every event type, in Apple's order.
    pub const ALL: [Self; 12] = [
        Self::AlternativeDistributionPackageAvailableUpdated,
        Self::AlternativeDistributionPackageVersionCreated,
        Self::AlternativeDistributionTerritoryAvailabilityUpdated,
        Self::AppStoreVersionAppVersionStateUpdated,
        Self::BackgroundAssetVersionAppStoreReleaseStateUpdated,
        Self::BackgroundAssetVersionExternalBetaReleaseStateUpdated,
        Self::BackgroundAssetVersionInternalBetaReleaseCreated,
        Self::BackgroundAssetVersionStateUpdated,
        Self::BetaFeedbackCrashSubmissionCreated,
        Self::BetaFeedbackScreenshotSubmissionCreated,
        Self::BuildBetaDetailExternalBuildStateUpdated,
        Self::BuildUploadStateUpdated,
    ];

    /// The name in requests and in the database, like `ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlternativeDistributionPackageAvailableUpdated => {
                "ALTERNATIVE_DISTRIBUTION_PACKAGE_AVAILABLE_UPDATED"
            }
            Self::AlternativeDistributionPackageVersionCreated => {
                "ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED"
            }
            Self::AlternativeDistributionTerritoryAvailabilityUpdated => {
                "ALTERNATIVE_DISTRIBUTION_TERRITORY_AVAILABILITY_UPDATED"
            }
            Self::AppStoreVersionAppVersionStateUpdated => {
                "APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"
            }
            Self::BackgroundAssetVersionAppStoreReleaseStateUpdated => {
                "BACKGROUND_ASSET_VERSION_APP_STORE_RELEASE_STATE_UPDATED"
            }
            Self::BackgroundAssetVersionExternalBetaReleaseStateUpdated => {
                "BACKGROUND_ASSET_VERSION_EXTERNAL_BETA_RELEASE_STATE_UPDATED"
            }
            Self::BackgroundAssetVersionInternalBetaReleaseCreated => {
                "BACKGROUND_ASSET_VERSION_INTERNAL_BETA_RELEASE_CREATED"
            }
            Self::BackgroundAssetVersionStateUpdated => "BACKGROUND_ASSET_VERSION_STATE_UPDATED",
            Self::BetaFeedbackCrashSubmissionCreated => "BETA_FEEDBACK_CRASH_SUBMISSION_CREATED",
            Self::BetaFeedbackScreenshotSubmissionCreated => {
                "BETA_FEEDBACK_SCREENSHOT_SUBMISSION_CREATED"
            }
            Self::BuildBetaDetailExternalBuildStateUpdated => {
                "BUILD_BETA_DETAIL_EXTERNAL_BUILD_STATE_UPDATED"
            }
            Self::BuildUploadStateUpdated => "BUILD_UPLOAD_STATE_UPDATED",
        }
    }

    /// Parses a name as [`Self::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The `data.type` of this event's payload, like `alternativeDistributionPackageVersionCreated`
    /// ([Understanding webhook events](https://developer.apple.com/documentation/appstoreconnectapi/webhook-events)).
    pub fn payload_type(self) -> String {
        let mut out = String::new();
        for (index, word) in self.as_str().split('_').enumerate() {
            let lower = word.to_ascii_lowercase();
            if index == 0 {
                out.push_str(&lower);
            } else {
                let mut chars = lower.chars();
                if let Some(first) = chars.next() {
                    out.push(first.to_ascii_uppercase());
                    out.extend(chars);
                }
            }
        }
        out
    }
}

impl std::fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook: where App Store Connect posts an app's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Always `webhooks`.
    #[serde(rename = "type")]
    pub kind: WebhookType,
    /// The webhook's id.
    pub id: String,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<WebhookAttributes>,
    /// `app` and `deliveries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<WebhookRelationships>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of a webhook. The secret is write-only: Apple's `Webhook` has no `secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttributes {
    /// Whether events are delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The events it subscribes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<WebhookEventType>>,
    /// A name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where events are posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The relationships of a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRelationships {
    /// Its app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<OptionalLinkage<AppType, AppId>>,
    /// Its deliveries, by link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<LinksOnly>,
}

/// `{data: {type, id}}`, `data` optional, as Apple's resources write to-one relationships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionalLinkage<T, I> {
    /// The related resource.
    // A named default: `default` alone would make serde require `T: Default` and `I: Default`.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub data: Option<ResourceIdentifier<T, I>>,
}

fn none<T>() -> Option<T> {
    None
}

/// `{links: {self, related}}`: a to-many relationship given by its URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinksOnly {
    /// The relationship's URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<RelationshipLinks>,
}

/// A relationship in a request: `{data: {type, id}}`, required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredLinkage<T, I> {
    /// The related resource.
    pub data: ResourceIdentifier<T, I>,
}

/// One resource with the resources it includes (`include=...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludedDocument<T, I> {
    /// The resource.
    pub data: T,
    /// The included resources, when asked for.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<I>>,
    /// `self`.
    pub links: DocumentLinks,
}

/// A page with the resources it includes (`include=...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludedCollection<T, I> {
    /// The resources of this page.
    pub data: Vec<T>,
    /// The included resources, when asked for.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<I>>,
    /// `self`, and `next` exactly when there is a next page.
    pub links: PagedDocumentLinks,
    /// The paging counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<PagingInformation>,
}

/// `WebhookResponse`.
pub type WebhookResponse = IncludedDocument<Webhook, App>;
/// `WebhooksResponse`.
pub type WebhooksResponse = IncludedCollection<Webhook, App>;
/// `WebhookDeliveryResponse`.
pub type WebhookDeliveryResponse = IncludedDocument<WebhookDelivery, WebhookEvent>;
/// `WebhookDeliveriesResponse`.
pub type WebhookDeliveriesResponse = IncludedCollection<WebhookDelivery, WebhookEvent>;

/// The body of `POST /v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCreateRequest {
    /// The webhook to create.
    pub data: WebhookCreateData,
}

/// `data` of a webhook create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCreateData {
    /// Always `webhooks`.
    #[serde(rename = "type")]
    pub kind: WebhookType,
    /// Every attribute is required.
    pub attributes: WebhookCreateAttributes,
    /// The app, required.
    pub relationships: WebhookCreateRelationships,
}

/// The attributes of a webhook create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCreateAttributes {
    /// Whether events are delivered.
    pub enabled: bool,
    /// The events to deliver.
    pub event_types: Vec<WebhookEventType>,
    /// A name for people.
    pub name: String,
    /// The HMAC-SHA256 key of the `x-apple-signature` header.
    pub secret: String,
    /// Where events are posted.
    pub url: String,
}

/// The relationships of a webhook create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCreateRelationships {
    /// The app whose events are delivered.
    pub app: RequiredLinkage<AppType, AppId>,
}

impl WebhookCreateRequest {
    /// A request for a webhook of `app` posting `event_types` to `url`, signed with `secret`.
    pub fn new(
        app: AppId,
        name: impl Into<String>,
        url: impl Into<String>,
        secret: impl Into<String>,
        event_types: Vec<WebhookEventType>,
    ) -> Self {
        Self {
            data: WebhookCreateData {
                kind: WebhookType::Value,
                attributes: WebhookCreateAttributes {
                    enabled: true,
                    event_types,
                    name: name.into(),
                    secret: secret.into(),
                    url: url.into(),
                },
                relationships: WebhookCreateRelationships {
                    app: RequiredLinkage {
                        data: ResourceIdentifier {
                            kind: AppType::Value,
                            id: app,
                        },
                    },
                },
            },
        }
    }
}

/// The body of `PATCH /v1/webhooks/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookUpdateRequest {
    /// The changes.
    pub data: WebhookUpdateData,
}

/// `data` of a webhook update request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookUpdateData {
    /// Always `webhooks`.
    #[serde(rename = "type")]
    pub kind: WebhookType,
    /// The id of the webhook, as in the path.
    pub id: String,
    /// What to change; absent or `null` members stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<WebhookUpdateAttributes>,
}

/// The attributes of a webhook update request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookUpdateAttributes {
    /// Whether events are delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The events to deliver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<WebhookEventType>>,
    /// A name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new HMAC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Where events are posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Whether a delivery was answered with a 2xx, failed, or is still to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryState {
    /// The receiver answered with a 2xx.
    Succeeded,
    /// The receiver answered otherwise, or could not be reached.
    Failed,
    /// Not sent yet (or being sent).
    Pending,
}

impl DeliveryState {
    /// The name, like `SUCCEEDED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Pending => "PENDING",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Succeeded, Self::Failed, Self::Pending]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// One attempt to post an event to a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// Always `webhookDeliveries`.
    #[serde(rename = "type")]
    pub kind: WebhookDeliveryType,
    /// The delivery's id.
    pub id: String,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<WebhookDeliveryAttributes>,
    /// `event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<WebhookDeliveryRelationships>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryAttributes {
    /// When it was created (queued), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    /// Its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_state: Option<DeliveryState>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Whether someone asked for it (`POST /v1/webhookDeliveries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redelivery: Option<bool>,
    /// When it was sent, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_date: Option<String>,
    /// The request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<DeliveryRequest>,
    /// The receiver's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<DeliveryResponse>,
}

/// `request` of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRequest {
    /// Where it was posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `response` of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    /// The status the receiver answered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status_code: Option<i32>,
    /// The start of its body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The relationships of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryRelationships {
    /// The event delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<OptionalLinkage<WebhookEventResourceType, String>>,
}

/// An event, as `include=event` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Always `webhookEvents`.
    #[serde(rename = "type")]
    pub kind: WebhookEventResourceType,
    /// The event's id, also `data.id` of its payload.
    pub id: String,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<WebhookEventAttributes>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventAttributes {
    /// Its type; absent for a ping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<WebhookEventType>,
    /// The body posted, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Whether it is a ping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<bool>,
    /// When it happened, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
}

/// The body of `POST /v1/webhookDeliveries`: redeliver the event of `template`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryCreateRequest {
    /// The delivery to make.
    pub data: WebhookDeliveryCreateData,
}

/// `data` of a redelivery request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryCreateData {
    /// Always `webhookDeliveries`.
    #[serde(rename = "type")]
    pub kind: WebhookDeliveryType,
    /// `template`.
    pub relationships: WebhookDeliveryCreateRelationships,
}

/// The relationships of a redelivery request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryCreateRelationships {
    /// The delivery whose event and webhook to deliver again.
    pub template: RequiredLinkage<WebhookDeliveryType, String>,
}

/// A ping: a test event sent to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPing {
    /// Always `webhookPings`.
    #[serde(rename = "type")]
    pub kind: WebhookPingType,
    /// The ping's id, also `data.id` of its payload.
    pub id: String,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The body of `POST /v1/webhookPings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPingCreateRequest {
    /// The ping to send.
    pub data: WebhookPingCreateData,
}

/// `data` of a ping request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPingCreateData {
    /// Always `webhookPings`.
    #[serde(rename = "type")]
    pub kind: WebhookPingType,
    /// `webhook`.
    pub relationships: WebhookPingCreateRelationships,
}

/// The relationships of a ping request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPingCreateRelationships {
    /// The webhook to ping.
    pub webhook: RequiredLinkage<WebhookType, String>,
}

impl WebhookPingCreateRequest {
    /// A ping of the webhook `id`.
    pub fn new(webhook: impl Into<String>) -> Self {
        Self {
            data: WebhookPingCreateData {
                kind: WebhookPingType::Value,
                relationships: WebhookPingCreateRelationships {
                    webhook: RequiredLinkage {
                        data: ResourceIdentifier {
                            kind: WebhookType::Value,
                            id: webhook.into(),
                        },
                    },
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_and_name_their_payloads() {
        for kind in WebhookEventType::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
            assert_eq!(WebhookEventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            WebhookEventType::AlternativeDistributionPackageVersionCreated.payload_type(),
            "alternativeDistributionPackageVersionCreated"
        );
        assert_eq!(
            WebhookEventType::AppStoreVersionAppVersionStateUpdated.payload_type(),
            "appStoreVersionAppVersionStateUpdated"
        );
    }

    #[test]
    fn a_webhook_never_serializes_a_secret() {
        let request = WebhookCreateRequest::new(
            AppId("1".into()),
            "n",
            "https://example.com",
            "s3cret",
            vec![WebhookEventType::BuildUploadStateUpdated],
        );
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["data"]["attributes"]["secret"], "s3cret");
        let webhook = Webhook {
            kind: WebhookType::Value,
            id: "w".into(),
            attributes: Some(WebhookAttributes {
                enabled: Some(true),
                event_types: None,
                name: None,
                url: None,
            }),
            relationships: None,
            links: None,
        };
        assert!(!serde_json::to_string(&webhook).unwrap().contains("secret"));
    }
}
