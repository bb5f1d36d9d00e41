//! The events altdist delivers, with Apple's payloads
//! ([Understanding webhook events](https://developer.apple.com/documentation/appstoreconnectapi/webhook-events)).
//!
//! Each function builds a [`NewEvent`] to store with [`crate::db::webhooks::enqueue_in`], in the
//! transaction of the change it reports. `public_url` is the server's (`AppState::public_url`):
//! `links.self` of the resource the event is about is built from it, as Apple's payloads link to
//! its API.

use altdist::resource::{AppId, IssuerId, WebhookEventType};
use altdist::webhook::{PING_TYPE, Payload, PayloadData};
use serde_json::{Map, Value, json};

use crate::db::webhooks::NewEvent;

/// The payload version Apple's events carry.
const VERSION: u32 = 1;

/// A ping (`POST /v1/webhookPings`): `webhookPingCreated`, with only a timestamp.
pub fn ping(account: &IssuerId, app: &AppId) -> NewEvent {
    event(account, app, None, PING_TYPE.to_owned(), Map::new(), None)
}

/// `ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED`: a version of the app's alternative
/// distribution package was created (`instance`: the `alternativeDistributionPackageVersions`
/// resource).
pub fn package_version_created(
    public_url: &str,
    account: &IssuerId,
    app: &AppId,
    package_version_id: &str,
) -> NewEvent {
    let kind = WebhookEventType::AlternativeDistributionPackageVersionCreated;
    let mut attributes = Map::new();
    attributes.insert("appId".to_owned(), Value::from(app.as_str()));
    event(
        account,
        app,
        Some(kind),
        kind.payload_type(),
        attributes,
        Some(instance(
            public_url,
            "alternativeDistributionPackageVersions",
            package_version_id,
        )),
    )
}

/// `ALTERNATIVE_DISTRIBUTION_PACKAGE_AVAILABLE_UPDATED`: the app's package became available (or
/// stopped being) in `territories` (ISO 3166-1 alpha-3 codes).
pub fn package_available_updated(
    public_url: &str,
    account: &IssuerId,
    app: &AppId,
    package_id: &str,
    available: bool,
    territories: &[String],
) -> NewEvent {
    let kind = WebhookEventType::AlternativeDistributionPackageAvailableUpdated;
    let mut attributes = Map::new();
    attributes.insert("available".to_owned(), Value::from(available));
    attributes.insert("territories".to_owned(), json!(territories));
    attributes.insert("appId".to_owned(), Value::from(app.as_str()));
    event(
        account,
        app,
        Some(kind),
        kind.payload_type(),
        attributes,
        Some(instance(
            public_url,
            "alternativeDistributionPackages",
            package_id,
        )),
    )
}

/// `APP_STORE_VERSION_APP_VERSION_STATE_UPDATED`: an App Store version went from `old_state` to
/// `new_state` (`AppVersionState` values, like `PREPARE_FOR_SUBMISSION` and `READY_FOR_DISTRIBUTION`).
pub fn app_store_version_state_updated(
    public_url: &str,
    account: &IssuerId,
    app: &AppId,
    version_id: &str,
    old_state: &str,
    new_state: &str,
) -> NewEvent {
    let kind = WebhookEventType::AppStoreVersionAppVersionStateUpdated;
    let mut attributes = Map::new();
    attributes.insert("newValue".to_owned(), Value::from(new_state));
    attributes.insert("oldValue".to_owned(), Value::from(old_state));
    event(
        account,
        app,
        Some(kind),
        kind.payload_type(),
        attributes,
        Some(instance(public_url, "appStoreVersions", version_id)),
    )
}

fn instance(public_url: &str, resource_type: &str, id: &str) -> Map<String, Value> {
    let mut relationships = Map::new();
    relationships.insert(
        "instance".to_owned(),
        json!({
            "data": {"type": resource_type, "id": id},
            "links": {"self": format!("{}/v1/{resource_type}/{id}", public_url.trim_end_matches('/'))},
        }),
    );
    relationships
}

fn event(
    account: &IssuerId,
    app: &AppId,
    event_type: Option<WebhookEventType>,
    payload_type: String,
    mut attributes: Map<String, Value>,
    relationships: Option<Map<String, Value>>,
) -> NewEvent {
    let id = uuid::Uuid::new_v4().to_string();
    attributes.insert("timestamp".to_owned(), Value::from(crate::db::now()));
    let payload = Payload {
        data: PayloadData {
            kind: payload_type,
            id: id.clone(),
            version: Some(VERSION),
            attributes,
            relationships,
        },
    };
    NewEvent {
        id,
        account: account.clone(),
        app: app.clone(),
        event_type,
        // A map of strings and numbers always serializes.
        payload: serde_json::to_string(&payload).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_version_event_is_apples_payload() {
        let event = package_version_created(
            "https://altdist.example/",
            &IssuerId("acct".into()),
            &AppId("6476788026".into()),
            "8d50a4f6",
        );
        let payload: Value = serde_json::from_str(&event.payload).unwrap();
        let data = &payload["data"];
        assert_eq!(data["type"], "alternativeDistributionPackageVersionCreated");
        assert_eq!(data["id"], event.id.as_str());
        assert_eq!(data["version"], 1);
        assert_eq!(data["attributes"]["appId"], "6476788026");
        assert!(
            data["attributes"]["timestamp"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        assert_eq!(
            data["relationships"]["instance"]["data"],
            json!({"type": "alternativeDistributionPackageVersions", "id": "8d50a4f6"})
        );
        assert_eq!(
            data["relationships"]["instance"]["links"]["self"],
            "https://altdist.example/v1/alternativeDistributionPackageVersions/8d50a4f6"
        );
        assert_eq!(
            event.event_type,
            Some(WebhookEventType::AlternativeDistributionPackageVersionCreated)
        );
    }

    #[test]
    fn a_ping_has_a_timestamp_and_no_event_type() {
        let event = ping(&IssuerId("acct".into()), &AppId("1".into()));
        let payload: Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(payload["data"]["type"], "webhookPingCreated");
        assert!(payload["data"]["attributes"]["timestamp"].is_string());
        assert_eq!(event.event_type, None);
    }
}
