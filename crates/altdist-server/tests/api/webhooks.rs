//! Webhooks: the resources as Apple defines them, and deliveries that a receiver in the test
//! checks (signature, retry after a 500, redelivery, ping), on both backends; on PostgreSQL, two
//! outboxes on one database deliver each event once between them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use altdist::resource::AppId;
use altdist_server::db::webhooks as outbox_db;
use altdist_server::webhooks::{Outbox, OutboxSettings, events};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, Identity, TestServer, role};

const SECRET: &str = "a test secret, not a real one";

/// What a receiver got: the signature header and the body, in order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Bytes)>>>);

impl Received {
    fn all(&self) -> Vec<(String, Bytes)> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until `count` requests came (or panics after a while).
    async fn wait_for(&self, count: usize) -> Vec<(String, Bytes)> {
        for _ in 0..300 {
            let all = self.all();
            if all.len() >= count {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the receiver got {} requests, not {count}",
            self.all().len()
        );
    }
}

/// A receiver on 127.0.0.1 that answers with `statuses` in turn (then 200), recording each
/// request; its URL.
async fn receiver(statuses: Vec<u16>) -> (String, Received) {
    let received = Received::default();
    let record = received.clone();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let record = record.clone();
            let statuses = Arc::clone(&statuses);
            async move {
                let signature = headers
                    .get(altdist::webhook::SIGNATURE_HEADER)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                record.0.lock().unwrap().push((signature, body));
                let status = statuses.lock().unwrap().next().unwrap_or(200);
                (StatusCode::from_u16(status).unwrap(), "thanks")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), received)
}

fn quick() -> OutboxSettings {
    OutboxSettings {
        retry_base: Duration::from_millis(200),
        poll: Duration::from_millis(200),
        ..OutboxSettings::default()
    }
}

fn create_body(app: &AppId, url: &str, types: &[&str]) -> Value {
    json!({"data": {
        "type": "webhooks",
        "attributes": {"enabled": true, "eventTypes": types, "name": "test hook", "secret": SECRET, "url": url},
        "relationships": {"app": {"data": {"type": "apps", "id": app.as_str()}}},
    }})
}

async fn create(server: &TestServer, who: &Identity, app: &AppId, url: &str) -> String {
    let created = server
        .post(
            who,
            "/v1/webhooks",
            &create_body(
                app,
                url,
                &["ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED"],
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.json["data"]["id"].as_str().unwrap().to_owned()
}

fn payload_of(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap()
}

async fn webhooks_are_managed_as_apple_defines_them(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.hooks").await;
    let url = "https://93.184.216.34/hooks";

    let created = server
        .post(
            &admin,
            "/v1/webhooks",
            &create_body(&app, url, &["APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"]),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(
        !created.text.contains(SECRET),
        "the secret came back: {}",
        created.text
    );
    let id = created.json["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        server.url(&format!("/v1/webhooks/{id}"))
    );
    let attributes = &created.json["data"]["attributes"];
    assert_eq!(attributes["url"], url);
    assert_eq!(attributes["enabled"], true);
    assert_eq!(
        attributes["eventTypes"],
        json!(["APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"])
    );
    assert_eq!(
        created.json["data"]["relationships"]["app"]["data"],
        json!({"type": "apps", "id": app.as_str()})
    );

    let read = server
        .get(&admin, &format!("/v1/webhooks/{id}?include=app"))
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(!read.text.contains(SECRET));
    assert_eq!(read.json["included"][0]["id"], app.as_str());
    let sparse = server
        .get(&admin, &format!("/v1/webhooks/{id}?fields[webhooks]=name"))
        .await;
    assert_eq!(
        sparse.json["data"]["attributes"],
        json!({"name": "test hook"})
    );

    let listed = server
        .get(
            &admin,
            &format!("/v1/apps/{app}/webhooks?include=app&fields[apps]=name"),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["data"][0]["id"], id.as_str());
    assert_eq!(listed.json["meta"]["paging"]["total"], 1);
    assert_eq!(
        listed.json["included"][0]["attributes"],
        json!({"name": "App com.example.hooks"})
    );
    let linkages = server
        .get(&admin, &format!("/v1/apps/{app}/relationships/webhooks"))
        .await;
    assert_eq!(
        linkages.json["data"],
        json!([{"type": "webhooks", "id": id}])
    );

    let patched = server
        .patch(
            &admin,
            &format!("/v1/webhooks/{id}"),
            &json!({"data": {"type": "webhooks", "id": id, "attributes": {"enabled": false, "name": "renamed", "secret": "new"}}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["data"]["attributes"]["enabled"], false);
    assert_eq!(patched.json["data"]["attributes"]["name"], "renamed");
    assert_eq!(patched.json["data"]["attributes"]["url"], url, "kept");
    assert!(!patched.text.contains("\"new\""));

    // Refusals say what is wrong and point at it.
    let wrong_id = server
        .patch(
            &admin,
            &format!("/v1/webhooks/{id}"),
            &json!({"data": {"type": "webhooks", "id": "other", "attributes": {}}}),
        )
        .await;
    assert_eq!(
        wrong_id.assert_error(409, "ENTITY_ERROR.ATTRIBUTE.INVALID")["source"]["pointer"],
        "/data/id"
    );
    // Without --allow-private-targets, only public addresses over https://: not loopback either,
    // though this server listens on loopback.
    for (bad_url, why) in [
        ("https://10.1.2.3/hook", "private"),
        ("http://127.0.0.1:9/hook", "--allow-private-targets"),
        ("https://[::1]/hook", "--allow-private-targets"),
        ("https://localhost/hook", "localhost resolves to"),
        ("http://93.184.216.34/hook", "--allow-private-targets"),
        ("no url", "absolute"),
    ] {
        let refused = server
            .post(
                &admin,
                "/v1/webhooks",
                &create_body(&app, bad_url, &["BUILD_UPLOAD_STATE_UPDATED"]),
            )
            .await;
        let error = refused.assert_error(409, "ENTITY_ERROR.ATTRIBUTE.INVALID");
        assert_eq!(error["source"]["pointer"], "/data/attributes/url");
        assert!(
            error["detail"].as_str().unwrap().contains(why),
            "{}",
            refused.text
        );
    }
    let refused = server
        .patch(
            &admin,
            &format!("/v1/webhooks/{id}"),
            &json!({"data": {"type": "webhooks", "id": id, "attributes": {"url": "http://127.0.0.1:9/hook"}}}),
        )
        .await;
    let error = refused.assert_error(409, "ENTITY_ERROR.ATTRIBUTE.INVALID");
    assert_eq!(error["source"]["pointer"], "/data/attributes/url");
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("started with --allow-private-targets"),
        "{}",
        refused.text
    );
    // Found by the conformance gate on PostgreSQL, whose text cannot hold NUL: a 409, not a 500.
    for member in ["name", "secret"] {
        let mut body = create_body(&app, url, &["BUILD_UPLOAD_STATE_UPDATED"]);
        body["data"]["attributes"][member] = json!("a\u{0}b");
        let refused = server.post(&admin, "/v1/webhooks", &body).await;
        let error = refused.assert_error(409, "ENTITY_ERROR.ATTRIBUTE.INVALID");
        assert_eq!(
            error["source"]["pointer"],
            format!("/data/attributes/{member}")
        );
    }
    let unknown_type = server
        .post(
            &admin,
            "/v1/webhooks",
            &create_body(&app, url, &["SOMETHING_ELSE"]),
        )
        .await;
    let error = unknown_type.assert_error(409, "ENTITY_ERROR.ATTRIBUTE.INVALID");
    assert!(
        error["source"]["pointer"]
            .as_str()
            .unwrap()
            .starts_with("/data/attributes/eventTypes")
    );
    let no_app = server
        .post(
            &admin,
            "/v1/webhooks",
            &create_body(&AppId("123".into()), url, &["BUILD_UPLOAD_STATE_UPDATED"]),
        )
        .await;
    assert_eq!(
        no_app.assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID")["source"]["pointer"],
        "/data/relationships/app"
    );

    // Roles and accounts: reading is open to every role, writing needs ADMIN; another account
    // sees nothing.
    let developer = server
        .api_key(&admin.issuer, role("DEVELOPER"), false)
        .await;
    assert_eq!(
        server
            .get(&developer, &format!("/v1/webhooks/{id}"))
            .await
            .status,
        200
    );
    server
        .post(
            &developer,
            "/v1/webhooks",
            &create_body(&app, url, &["BUILD_UPLOAD_STATE_UPDATED"]),
        )
        .await
        .assert_error(403, "FORBIDDEN_ERROR");
    let stranger = server.admin().await;
    server
        .get(&stranger, &format!("/v1/webhooks/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .get(&stranger, &format!("/v1/apps/{app}/webhooks"))
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .delete(&stranger, &format!("/v1/webhooks/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .post(
            &stranger,
            "/v1/webhookPings",
            &json!({"data": {"type": "webhookPings", "relationships": {"webhook": {"data": {"type": "webhooks", "id": id}}}}}),
        )
        .await
        .assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID");

    let deleted = server.delete(&admin, &format!("/v1/webhooks/{id}")).await;
    assert_eq!(deleted.status, 204);
    server
        .get(&admin, &format!("/v1/webhooks/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
}
backend_test!(webhooks_are_managed_as_apple_defines_them);

async fn allowing_private_targets_admits_loopback_private_and_http(backend: Backend) {
    let server = TestServer::start_allowing_private_targets(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.private").await;
    let id = create(&server, &admin, &app, "http://127.0.0.1:9/hook").await;
    for url in [
        "http://10.1.2.3/hook",
        "https://[::1]:8443/hook",
        "http://localhost:9/",
    ] {
        let patched = server
            .patch(
                &admin,
                &format!("/v1/webhooks/{id}"),
                &json!({"data": {"type": "webhooks", "id": id, "attributes": {"url": url}}}),
            )
            .await;
        assert_eq!(patched.status, 200, "{url}: {}", patched.text);
        assert_eq!(patched.json["data"]["attributes"]["url"], url);
    }
}
backend_test!(allowing_private_targets_admits_loopback_private_and_http);

async fn events_are_signed_retried_listed_and_redelivered(backend: Backend) {
    let mut server = TestServer::start_allowing_private_targets(backend).await;
    server.start_outbox(quick()).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.deliveries").await;
    let (url, received) = receiver(vec![500]).await;
    let id = create(&server, &admin, &app, &url).await;

    // An event of a type the webhook does not subscribe to goes nowhere.
    let ignored = events::app_store_version_state_updated(
        &server.base,
        &admin.issuer,
        &app,
        "v1",
        "PREPARE_FOR_SUBMISSION",
        "READY_FOR_REVIEW",
    );
    assert_eq!(outbox_db::enqueue(&server.db, &ignored).await.unwrap(), 0);

    let event = events::package_version_created(&server.base, &admin.issuer, &app, "version-1");
    assert_eq!(outbox_db::enqueue(&server.db, &event).await.unwrap(), 1);
    let got = received.wait_for(2).await;
    for (signature, body) in &got {
        assert!(
            altdist::webhook::verify(SECRET.as_bytes(), body, signature),
            "a bad signature {signature:?}"
        );
        let payload = payload_of(body);
        assert_eq!(
            payload["data"]["type"],
            "alternativeDistributionPackageVersionCreated"
        );
        assert_eq!(payload["data"]["id"], event.id.as_str());
        assert_eq!(payload["data"]["attributes"]["appId"], app.as_str());
    }
    assert_eq!(got[0].1, got[1].1, "a retry sends the same body");

    // The deliveries API shows both attempts once they are recorded.
    let path = format!("/v1/webhooks/{id}/deliveries?include=event");
    let mut listed = server.get(&admin, &path).await;
    for _ in 0..100 {
        let states: Vec<&str> = listed.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|delivery| delivery["attributes"]["deliveryState"].as_str())
            .collect();
        if states == ["FAILED", "SUCCEEDED"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        listed = server.get(&admin, &path).await;
    }
    let deliveries = listed.json["data"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{}", listed.text);
    let (failed, succeeded) = (&deliveries[0]["attributes"], &deliveries[1]["attributes"]);
    assert_eq!(failed["deliveryState"], "FAILED", "{}", listed.text);
    assert_eq!(failed["response"]["httpStatusCode"], 500);
    assert_eq!(failed["response"]["body"], "thanks");
    assert!(failed["errorMessage"].as_str().unwrap().contains("500"));
    assert_eq!(failed["request"]["url"], url.as_str());
    assert_eq!(succeeded["deliveryState"], "SUCCEEDED", "{}", listed.text);
    assert_eq!(succeeded["response"]["httpStatusCode"], 200);
    assert!(succeeded["sentDate"].is_string());
    assert_eq!(succeeded["redelivery"], false);
    let included = &listed.json["included"];
    assert_eq!(
        included.as_array().unwrap().len(),
        1,
        "one event, two attempts"
    );
    assert_eq!(
        included[0]["attributes"]["eventType"],
        "ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED"
    );
    assert_eq!(included[0]["attributes"]["payload"], event.payload.as_str());

    let only_failed = server
        .get(
            &admin,
            &format!("/v1/webhooks/{id}/deliveries?filter[deliveryState]=FAILED"),
        )
        .await;
    assert_eq!(only_failed.json["meta"]["paging"]["total"], 1);
    let future = server
        .get(&admin, &format!("/v1/webhooks/{id}/deliveries?filter[createdDateGreaterThanOrEqualTo]=2999-01-01T00:00:00Z"))
        .await;
    assert_eq!(future.json["meta"]["paging"]["total"], 0);
    server
        .get(
            &admin,
            &format!("/v1/webhooks/{id}/deliveries?filter[createdDateLessThan]=yesterday"),
        )
        .await
        .assert_error(400, "PARAMETER_ERROR.INVALID");
    let linkages = server
        .get(
            &admin,
            &format!("/v1/webhooks/{id}/relationships/deliveries?limit=1"),
        )
        .await;
    assert_eq!(linkages.json["data"].as_array().unwrap().len(), 1);
    assert!(linkages.json["links"]["next"].is_string());

    // Redelivery: the same event again, marked as such.
    let template = deliveries[0]["id"].as_str().unwrap();
    let redelivered = server
        .post(
            &admin,
            "/v1/webhookDeliveries",
            &json!({"data": {"type": "webhookDeliveries", "relationships": {"template": {"data": {"type": "webhookDeliveries", "id": template}}}}}),
        )
        .await;
    assert_eq!(redelivered.status, 201, "{}", redelivered.text);
    assert_eq!(redelivered.json["data"]["attributes"]["redelivery"], true);
    let got = received.wait_for(3).await;
    assert_eq!(payload_of(&got[2].1)["data"]["id"], event.id.as_str());

    // A ping reaches the webhook, disabled or not.
    server
        .patch(
            &admin,
            &format!("/v1/webhooks/{id}"),
            &json!({"data": {"type": "webhooks", "id": id, "attributes": {"enabled": false}}}),
        )
        .await;
    let ping = server
        .post(
            &admin,
            "/v1/webhookPings",
            &json!({"data": {"type": "webhookPings", "relationships": {"webhook": {"data": {"type": "webhooks", "id": id}}}}}),
        )
        .await;
    assert_eq!(ping.status, 201, "{}", ping.text);
    let got = received.wait_for(4).await;
    let payload = payload_of(&got[3].1);
    assert_eq!(payload["data"]["type"], "webhookPingCreated");
    assert_eq!(payload["data"]["id"], ping.json["data"]["id"]);
    assert!(altdist::webhook::verify(
        SECRET.as_bytes(),
        &got[3].1,
        &got[3].0
    ));

    // Disabled, it gets no events.
    let skipped = events::package_version_created(&server.base, &admin.issuer, &app, "version-2");
    assert_eq!(outbox_db::enqueue(&server.db, &skipped).await.unwrap(), 0);
}
backend_test!(events_are_signed_retried_listed_and_redelivered);

/// The event is part of the transaction of its change: rolled back, nothing is delivered.
async fn an_event_rolled_back_is_never_delivered(backend: Backend) {
    let server = TestServer::start_allowing_private_targets(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.rollback").await;
    let (url, _received) = receiver(Vec::new()).await;
    let id = create(&server, &admin, &app, &url).await;
    let event = events::package_version_created(&server.base, &admin.issuer, &app, "v");
    match &server.db {
        altdist_server::Db::Sqlite(sqlite) => {
            let mut transaction = sqlite.pool().begin().await.unwrap();
            assert_eq!(
                outbox_db::enqueue_in(&mut *transaction, &event)
                    .await
                    .unwrap(),
                1
            );
            transaction.rollback().await.unwrap();
        }
        altdist_server::Db::Postgres(postgres) => {
            let mut transaction = postgres.pool().begin().await.unwrap();
            assert_eq!(
                outbox_db::enqueue_in(&mut *transaction, &event)
                    .await
                    .unwrap(),
                1
            );
            transaction.rollback().await.unwrap();
        }
    }
    let listed = server
        .get(&admin, &format!("/v1/webhooks/{id}/deliveries"))
        .await;
    assert_eq!(listed.json["meta"]["paging"]["total"], 0, "{}", listed.text);
}
backend_test!(an_event_rolled_back_is_never_delivered);

/// Two servers' outboxes on one PostgreSQL database deliver each event once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_outboxes_on_postgres_deliver_each_event_once() {
    if altdist_server::db::test_db::server_url().is_none() {
        return;
    }
    let server = TestServer::start_allowing_private_targets(Backend::Postgres).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.shared").await;
    let (url, received) = receiver(Vec::new()).await;
    create(&server, &admin, &app, &url).await;
    let mut outboxes = Vec::new();
    for _ in 0..2 {
        let db = altdist_server::Db::connect(server.database_url())
            .await
            .unwrap();
        outboxes.push(
            Outbox::start(db, server.state.webhook_targets, quick())
                .await
                .unwrap(),
        );
    }
    const EVENTS: usize = 300;
    for n in 0..EVENTS {
        let event =
            events::package_version_created(&server.base, &admin.issuer, &app, &format!("v{n}"));
        outbox_db::enqueue(&server.db, &event).await.unwrap();
    }
    let got = received.wait_for(EVENTS).await;
    // Anything extra would have arrived by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = received.all().len().max(got.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, body) in received.all() {
        *seen
            .entry(payload_of(&body)["data"]["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), EVENTS, "every event delivered");
    let repeated: Vec<_> = seen.iter().filter(|(_, times)| **times > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once: {repeated:?}"
    );
    assert_eq!(got, EVENTS);
    for outbox in outboxes {
        outbox.stop(Duration::from_secs(5)).await;
    }
}

/// Creating a package stores `ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED` with it, and the
/// outbox delivers it, signed, naming the new package version.
async fn creating_a_package_delivers_its_version_created_event(backend: Backend) {
    let mut server = TestServer::start_allowing_private_targets(backend).await;
    server.start_outbox(quick()).await;
    let admin = server.admin().await;
    let app = server
        .app(&admin.issuer, "com.example.packaged.events")
        .await;
    let key = crate::common::fresh_public_key();
    assert_eq!(
        server.create_key(&admin, &key, Some(&app)).await.status,
        201
    );
    let (url, received) = receiver(Vec::new()).await;
    create(&server, &admin, &app, &url).await;
    let files = tempfile::tempdir().unwrap();
    let build = files.path().join("app.ipa");
    std::fs::write(&build, b"an app build").unwrap();
    let version = server
        .app_store_version(&app, "3.0", "READY_FOR_DISTRIBUTION", &[&build], &[])
        .await;

    let created = server
        .post(
            &admin,
            "/v1/alternativeDistributionPackages",
            &json!({"data": {"type": "alternativeDistributionPackages", "relationships": {"appStoreVersion": {"data": {"type": "appStoreVersions", "id": version}}}}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let package = created.json["data"]["id"].as_str().unwrap();
    let versions = server
        .get(
            &admin,
            &format!("/v1/alternativeDistributionPackages/{package}/relationships/versions"),
        )
        .await;
    let package_version = versions.json["data"][0]["id"].as_str().unwrap();

    let got = received.wait_for(1).await;
    let (signature, body) = &got[0];
    assert!(altdist::webhook::verify(SECRET.as_bytes(), body, signature));
    let payload = payload_of(body);
    assert_eq!(
        payload["data"]["type"],
        "alternativeDistributionPackageVersionCreated"
    );
    assert_eq!(payload["data"]["attributes"]["appId"], app.as_str());
    assert!(
        body_mentions(&payload, package_version),
        "the event names the package version {package_version}: {payload}"
    );
}
backend_test!(creating_a_package_delivers_its_version_created_event);

fn body_mentions(payload: &Value, id: &str) -> bool {
    match payload {
        Value::String(text) => text == id || text.ends_with(&format!("/{id}")),
        Value::Array(items) => items.iter().any(|item| body_mentions(item, id)),
        Value::Object(members) => members.values().any(|value| body_mentions(value, id)),
        _ => false,
    }
}
