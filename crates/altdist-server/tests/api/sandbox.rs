//! `/sandbox/v1/installVerificationTokens/verify` and `/sandbox/v1/marketplaceTokens/verify`.
//!
//! Success bodies are altdist's own (the OpenAPI subset has no sandbox), so they are read as the
//! library's `SandboxVerification`; error bodies go through `TestServer::send` and its checks.

use std::time::Duration;

use altdist::jwt::{API_AUDIENCE, unix_now};
use altdist::resource::{AppId, IssuerId};
use altdist::sandbox::{
    INSTALL_VERIFY_PATH, MARKETPLACE_VERIFY_PATH, SandboxVerification, VerifyTokenRequest,
};
use altdist::{InstallTokenClaims, MarketplaceTokenClaims, PrivateKey, TokenSigner};
use altdist_server::admin::{self, AppSpec};
use altdist_server::auth::Role;
use altdist_server::db::nonces::{self, NonceUse};
use altdist_server::{AppState, Db};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, Identity, TestServer};

async fn verify(
    server: &TestServer,
    who: &Identity,
    path: &str,
    body: &Value,
) -> SandboxVerification {
    let response = server
        .as_(who, Method::POST, path)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: SandboxVerification = serde_json::from_str(&text).unwrap();
    let raw: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(raw["valid"], answer.verification.is_valid(), "{text}");
    answer
}

async fn verify_install(server: &TestServer, who: &Identity, token: &str) -> SandboxVerification {
    verify(server, who, INSTALL_VERIFY_PATH, &json!({ "token": token })).await
}

fn failed(answer: &SandboxVerification) -> Vec<&str> {
    answer
        .verification
        .failures()
        .map(|check| check.name.as_str())
        .collect()
}

fn detail<'a>(answer: &'a SandboxVerification, name: &str) -> &'a str {
    &answer
        .verification
        .checks
        .iter()
        .find(|check| check.name.as_str() == name)
        .unwrap_or_else(|| panic!("no {name} check in {:#?}", answer.verification.checks))
        .detail
}

async fn create_app(
    server: &TestServer,
    account: &IssuerId,
    bundle_id: &str,
    marketplace: bool,
) -> AppId {
    let spec = AppSpec {
        name: format!("App {bundle_id}"),
        bundle_id: bundle_id.to_owned(),
        sku: None,
        primary_locale: "en-US".to_owned(),
        marketplace,
        made_for_kids: false,
    };
    AppId(
        admin::create_app(&server.db, account, &spec)
            .await
            .unwrap()
            .id,
    )
}

/// An account with a web-distributed app and a key specific to it.
struct WebApp {
    server: TestServer,
    admin: Identity,
    app: AppId,
    bundle_id: &'static str,
    key_id: String,
    signer: TokenSigner,
}

impl WebApp {
    async fn new(backend: Backend) -> Self {
        let server = TestServer::start_on(backend).await;
        let admin = server.admin().await;
        let bundle_id = "com.example.web";
        let app = server.app(&admin.issuer, bundle_id).await;
        let key = PrivateKey::generate().unwrap();
        let created = server
            .create_key(&admin, &key.public_key().to_pem(), Some(&app))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let key_id = created.json["data"]["id"].as_str().unwrap().to_owned();
        let signer = TokenSigner::new(key, Some(&key_id));
        Self {
            server,
            admin,
            app,
            bundle_id,
            key_id,
            signer,
        }
    }

    fn claims(&self) -> InstallTokenClaims {
        InstallTokenClaims::new(
            self.app.as_str(),
            self.bundle_id,
            unix_now(),
            Duration::from_secs(600),
        )
    }

    fn token(&self) -> String {
        self.signer.sign(&self.claims()).unwrap()
    }
}

async fn a_token_made_by_altdist_is_valid_once_and_then_a_replay(backend: Backend) {
    let web = WebApp::new(backend).await;
    let token = web.token();
    let first = verify_install(&web.server, &web.admin, &token).await;
    assert!(first.valid, "{:#?}", first.verification.checks);
    for name in [
        "signature",
        "alg",
        "typ",
        "kid",
        "aud",
        "exp",
        "iat",
        "bid",
        "iss",
        "dtype",
        "nonce",
        "app",
    ] {
        assert!(
            first
                .verification
                .checks
                .iter()
                .any(|check| check.name.as_str() == name && check.ok),
            "no passed {name} check: {:#?}",
            first.verification.checks
        );
    }
    assert!(
        detail(&first, "nonce").contains("first use"),
        "{}",
        detail(&first, "nonce")
    );
    assert!(
        detail(&first, "app").starts_with("web distribution"),
        "{}",
        detail(&first, "app")
    );
    assert_eq!(first.verification.claims["bid"], web.bundle_id);
    assert_eq!(first.verification.header["kid"], web.key_id.as_str());

    let second = verify_install(&web.server, &web.admin, &token).await;
    assert!(!second.valid);
    assert_eq!(failed(&second), ["nonce"]);
    assert!(
        detail(&second, "nonce").contains("replayed")
            && detail(&second, "nonce").contains("first seen at"),
        "{}",
        detail(&second, "nonce")
    );
    // The first-seen time also as a member of its own, the one the detail names.
    let nonce = second
        .verification
        .checks
        .iter()
        .find(|check| check.name.as_str() == "nonce")
        .unwrap();
    let first_seen = nonce.first_seen.as_deref().expect("firstSeen on a replay");
    assert!(
        nonce
            .detail
            .contains(&format!("first seen at {first_seen} (")),
        "{}",
        nonce.detail
    );
    time::OffsetDateTime::parse(first_seen, &time::format_description::well_known::Rfc3339)
        .unwrap();
    let fresh = first
        .verification
        .checks
        .iter()
        .find(|check| check.name.as_str() == "nonce")
        .unwrap();
    assert_eq!(fresh.first_seen, None);
}
backend_test!(a_token_made_by_altdist_is_valid_once_and_then_a_replay);

async fn each_failure_is_its_own_failed_check(backend: Backend) {
    let web = WebApp::new(backend).await;
    let (server, admin) = (&web.server, &web.admin);
    let now = unix_now();

    let other_key = TokenSigner::new(PrivateKey::generate().unwrap(), Some(&web.key_id));
    let answer = verify_install(server, admin, &other_key.sign(&web.claims()).unwrap()).await;
    assert_eq!(failed(&answer), ["signature"], "wrong key");

    let expired = InstallTokenClaims {
        iat: now - 900,
        exp: now - 300,
        ..web.claims()
    };
    let answer = verify_install(server, admin, &web.signer.sign(&expired).unwrap()).await;
    assert_eq!(failed(&answer), ["exp"], "expired");
    assert!(
        detail(&answer, "exp").contains("expired"),
        "{}",
        detail(&answer, "exp")
    );

    let future = InstallTokenClaims {
        iat: now + 600,
        exp: now + 900,
        ..web.claims()
    };
    let answer = verify_install(server, admin, &web.signer.sign(&future).unwrap()).await;
    assert_eq!(failed(&answer), ["iat"], "issued in the future");

    let wrong_aud = InstallTokenClaims {
        aud: API_AUDIENCE.to_owned(),
        ..web.claims()
    };
    let answer = verify_install(server, admin, &web.signer.sign(&wrong_aud).unwrap()).await;
    assert_eq!(failed(&answer), ["aud"], "wrong aud");

    let wrong_bid = InstallTokenClaims {
        bid: "com.example.other".to_owned(),
        ..web.claims()
    };
    let answer = verify_install(server, admin, &web.signer.sign(&wrong_bid).unwrap()).await;
    assert_eq!(failed(&answer), ["bid"], "wrong bid");
    assert!(
        detail(&answer, "bid").contains("com.example.web"),
        "{}",
        detail(&answer, "bid")
    );

    let wrong_iss = InstallTokenClaims {
        iss: "1234567890".to_owned(),
        ..web.claims()
    };
    let answer = verify_install(server, admin, &web.signer.sign(&wrong_iss).unwrap()).await;
    assert_eq!(failed(&answer), ["iss"], "wrong iss");

    let mut bad_dtype = serde_json::to_value(web.claims()).unwrap();
    bad_dtype["dtype"] = json!("install");
    let answer = verify_install(server, admin, &web.signer.sign(&bad_dtype).unwrap()).await;
    assert_eq!(failed(&answer), ["dtype"], "bad dtype");

    let mut optional_ids = serde_json::to_value(web.claims()).unwrap();
    optional_ids["iid"] = json!(web.app.as_str());
    optional_ids["vid"] = json!("v1");
    let answer = verify_install(server, admin, &web.signer.sign(&optional_ids).unwrap()).await;
    assert_eq!(failed(&answer), ["vid"], "vid is an Apple id when present");

    let long_lived = InstallTokenClaims {
        exp: now + 2 * 3600,
        ..web.claims()
    };
    let answer = verify_install(server, admin, &web.signer.sign(&long_lived).unwrap()).await;
    assert_eq!(failed(&answer), ["lifetime"], "over the sandbox's hour");

    let answer = verify_install(server, admin, "not a token").await;
    assert_eq!(failed(&answer), ["format"]);
}
backend_test!(each_failure_is_its_own_failed_check);

async fn another_accounts_key_looks_exactly_like_an_unknown_key(backend: Backend) {
    let web = WebApp::new(backend).await;
    let stranger = web.server.admin().await;
    let token = web.token();
    let answer = verify_install(&web.server, &stranger, &token).await;
    assert_eq!(failed(&answer), ["kid", "signature", "app"]);
    assert_eq!(
        detail(&answer, "kid"),
        format!(
            "{}: no alternative distribution key with this id in your account; list yours with GET /v1/alternativeDistributionKeys",
            web.key_id
        )
    );

    let unknown_kid = uuid::Uuid::new_v4().to_string();
    let unknown = TokenSigner::new(PrivateKey::generate().unwrap(), Some(&unknown_kid));
    let mut claims = web.claims();
    claims.nonce.clone_from(&unknown_kid);
    let answer_unknown =
        verify_install(&web.server, &stranger, &unknown.sign(&claims).unwrap()).await;
    let strip = |answer: &SandboxVerification, kid: &str| -> Vec<(String, bool, String)> {
        answer
            .verification
            .checks
            .iter()
            .filter(|check| !["exp", "iat", "nonce"].contains(&check.name.as_str()))
            .map(|check| {
                (
                    check.name.to_string(),
                    check.ok,
                    check.detail.replace(kid, "KID"),
                )
            })
            .collect()
    };
    assert_eq!(
        strip(&answer, &web.key_id),
        strip(&answer_unknown, &unknown_kid)
    );

    // The stranger's look did not burn the owner's nonce.
    assert!(verify_install(&web.server, &web.admin, &token).await.valid);
}
backend_test!(another_accounts_key_looks_exactly_like_an_unknown_key);

async fn a_token_with_a_bad_signature_does_not_burn_its_nonce(backend: Backend) {
    let web = WebApp::new(backend).await;
    let claims = web.claims();
    let forged = TokenSigner::new(PrivateKey::generate().unwrap(), Some(&web.key_id));
    let answer = verify_install(&web.server, &web.admin, &forged.sign(&claims).unwrap()).await;
    assert_eq!(failed(&answer), ["signature"]);
    assert!(detail(&answer, "nonce").contains("not checked for replay"));
    let genuine = verify_install(&web.server, &web.admin, &web.signer.sign(&claims).unwrap()).await;
    assert!(genuine.valid, "{:#?}", genuine.verification.checks);
}
backend_test!(a_token_with_a_bad_signature_does_not_burn_its_nonce);

async fn of_concurrent_replays_exactly_one_is_fresh(backend: Backend) {
    let web = WebApp::new(backend).await;
    let token = web.token();
    let answers = verify_concurrently(&web, &token, 24).await;
    let fresh = answers.iter().filter(|answer| answer.valid).count();
    assert_eq!(fresh, 1);
    assert!(
        answers
            .iter()
            .filter(|answer| !answer.valid)
            .all(|answer| failed(answer) == ["nonce"])
    );
}
backend_test!(of_concurrent_replays_exactly_one_is_fresh);

async fn verify_concurrently(web: &WebApp, token: &str, n: usize) -> Vec<SandboxVerification> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let request = web
            .server
            .as_(&web.admin, Method::POST, INSTALL_VERIFY_PATH)
            .json(&json!({ "token": token }));
        tasks.spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<SandboxVerification>().await.unwrap()
        });
    }
    tasks.join_all().await
}

async fn an_account_wide_key_signs_for_the_app_iss_or_app_id_names(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let first = server.app(&admin.issuer, "com.example.first").await;
    let second = server.app(&admin.issuer, "com.example.second").await;
    let key = PrivateKey::generate().unwrap();
    let created = server
        .create_key(&admin, &key.public_key().to_pem(), None)
        .await;
    let key_id = created.json["data"]["id"].as_str().unwrap();
    let signer = TokenSigner::new(key, Some(key_id));
    let claims = |iss: &str, bid: &str| {
        InstallTokenClaims::new(iss, bid, unix_now(), Duration::from_secs(300))
    };

    let answer = verify_install(
        &server,
        &admin,
        &signer
            .sign(&claims(second.as_str(), "com.example.second"))
            .unwrap(),
    )
    .await;
    assert!(answer.valid, "{:#?}", answer.verification.checks);
    assert!(
        detail(&answer, "app").contains("account-wide"),
        "{}",
        detail(&answer, "app")
    );

    let with_app_id = json!({
        "token": signer.sign(&claims(first.as_str(), "com.example.first")).unwrap(),
        "appId": second.as_str(),
    });
    let answer = verify(&server, &admin, INSTALL_VERIFY_PATH, &with_app_id).await;
    assert_eq!(
        failed(&answer),
        ["iss", "bid"],
        "appId names the second app"
    );

    let unknown_iss = signer.sign(&claims("999", "com.example.first")).unwrap();
    let answer = verify_install(&server, &admin, &unknown_iss).await;
    assert_eq!(failed(&answer), ["app"]);
    assert!(
        detail(&answer, "app").contains("send appId"),
        "{}",
        detail(&answer, "app")
    );

    let not_ours = json!({
        "token": signer.sign(&claims("999", "com.example.first")).unwrap(),
        "appId": "42",
    });
    let answer = verify(&server, &admin, INSTALL_VERIFY_PATH, &not_ours).await;
    assert_eq!(failed(&answer), ["app", "appId"]);
}
backend_test!(an_account_wide_key_signs_for_the_app_iss_or_app_id_names);

async fn a_marketplace_install_checks_iss_and_only_the_form_of_bid(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let market = create_app(&server, &admin.issuer, "com.example.market", true).await;
    let key = PrivateKey::generate().unwrap();
    let created = server
        .create_key(&admin, &key.public_key().to_pem(), Some(&market))
        .await;
    let key_id = created.json["data"]["id"].as_str().unwrap();
    let signer = TokenSigner::new(key, Some(key_id));

    let claims = InstallTokenClaims::new(
        market.as_str(),
        "com.another.developer.app",
        unix_now(),
        Duration::from_secs(300),
    );
    let answer = verify_install(&server, &admin, &signer.sign(&claims).unwrap()).await;
    assert!(answer.valid, "{:#?}", answer.verification.checks);
    assert!(
        detail(&answer, "app").starts_with("alternative marketplace"),
        "{}",
        detail(&answer, "app")
    );

    let bad_bid = InstallTokenClaims {
        bid: "not a bundle id".to_owned(),
        ..InstallTokenClaims::new(market.as_str(), "x", unix_now(), Duration::from_secs(300))
    };
    let answer = verify_install(&server, &admin, &signer.sign(&bad_bid).unwrap()).await;
    assert_eq!(failed(&answer), ["bid"]);
}
backend_test!(a_marketplace_install_checks_iss_and_only_the_form_of_bid);

async fn marketplace_tokens_find_their_key_by_kid_or_through_iss(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let market = create_app(&server, &admin.issuer, "com.example.market", true).await;
    let web = server.app(&admin.issuer, "com.example.web").await;
    let key = PrivateKey::generate().unwrap();
    let created = server
        .create_key(&admin, &key.public_key().to_pem(), None)
        .await;
    let key_id = created.json["data"]["id"].as_str().unwrap().to_owned();
    let claims = |iss: &str| {
        MarketplaceTokenClaims::new(iss, "DEVTEAM123", unix_now(), Duration::from_secs(3600))
            .unwrap()
    };
    let verify_market = |token: String| {
        let server = &server;
        let admin = &admin;
        async move {
            verify(
                server,
                admin,
                MARKETPLACE_VERIFY_PATH,
                &json!({ "token": token }),
            )
            .await
        }
    };

    let pem = key.to_sec1_pem().unwrap();
    let without_kid = TokenSigner::new(PrivateKey::from_pem(&pem).unwrap(), None);
    let answer = verify_market(without_kid.sign(&claims(market.as_str())).unwrap()).await;
    assert!(answer.valid, "{:#?}", answer.verification.checks);
    assert!(
        detail(&answer, "key").contains(&key_id),
        "{}",
        detail(&answer, "key")
    );

    let with_kid = TokenSigner::new(key, Some(&key_id));
    let token = with_kid.sign(&claims(market.as_str())).unwrap();
    assert!(verify_market(token.clone()).await.valid);
    assert!(
        verify_market(token).await.valid,
        "marketplace tokens carry no nonce"
    );

    let answer = verify_market(with_kid.sign(&claims(web.as_str())).unwrap()).await;
    assert_eq!(failed(&answer), ["app"], "a web app is no marketplace");
    assert!(
        detail(&answer, "app").contains("--marketplace"),
        "{}",
        detail(&answer, "app")
    );

    let answer = verify_market(without_kid.sign(&claims("123")).unwrap()).await;
    assert_eq!(
        failed(&answer),
        ["app"],
        "the account-wide key signs, but for no marketplace app"
    );

    let long = MarketplaceTokenClaims {
        exp: unix_now() + 8 * 24 * 3600,
        ..claims(market.as_str())
    };
    let answer = verify_market(with_kid.sign(&long).unwrap()).await;
    assert_eq!(failed(&answer), ["lifetime"]);
}
backend_test!(marketplace_tokens_find_their_key_by_kid_or_through_iss);

async fn a_deleted_key_is_unknown_at_once(backend: Backend) {
    let web = WebApp::new(backend).await;
    assert!(
        verify_install(&web.server, &web.admin, &web.token())
            .await
            .valid
    );
    let deleted = web
        .server
        .delete(
            &web.admin,
            &format!("/v1/alternativeDistributionKeys/{}", web.key_id),
        )
        .await;
    assert_eq!(deleted.status, 204);
    let answer = verify_install(&web.server, &web.admin, &web.token()).await;
    assert_eq!(failed(&answer), ["kid", "signature"]);
}
backend_test!(a_deleted_key_is_unknown_at_once);

async fn every_role_may_verify(backend: Backend) {
    let web = WebApp::new(backend).await;
    for role in [Role::Developer, Role::AppManager] {
        let reader = web.server.api_key(&web.admin.issuer, role, false).await;
        let answer = verify_install(&web.server, &reader, &web.token()).await;
        assert!(answer.valid, "{role:?}: {:#?}", answer.verification.checks);
    }
}
backend_test!(every_role_may_verify);

async fn requests_that_are_not_verification_requests_get_the_api_errors(backend: Backend) {
    let web = WebApp::new(backend).await;
    let (server, admin) = (&web.server, &web.admin);
    let post = || server.as_(admin, Method::POST, INSTALL_VERIFY_PATH);
    server
        .send(
            post()
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await
        .assert_error(400, "ENTITY_INVALID");
    server
        .send(post().header("content-type", "application/json"))
        .await
        .assert_error(400, "ENTITY_INVALID");
    server
        .send(post().header("content-type", "text/plain").body("{}"))
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let error = server
        .post(admin, INSTALL_VERIFY_PATH, &json!({"jwt": "x"}))
        .await;
    assert_eq!(
        error.assert_error(422, "ENTITY_UNPROCESSABLE")["source"]["pointer"],
        "/token"
    );
    let error = server
        .post(
            admin,
            MARKETPLACE_VERIFY_PATH,
            &json!({"token": "x", "appId": 1}),
        )
        .await;
    assert_eq!(
        error.assert_error(422, "ENTITY_UNPROCESSABLE")["source"]["pointer"],
        "/appId"
    );
    server
        .send(
            server
                .request(Method::POST, INSTALL_VERIFY_PATH)
                .json(&json!({"token": "x"})),
        )
        .await
        .assert_error(401, "NOT_AUTHORIZED");
    server
        .get(admin, INSTALL_VERIFY_PATH)
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
    server
        .send(post().query(&[("limit", "1")]).json(&json!({"token": "x"})))
        .await
        .assert_error(400, "PARAMETER_ERROR.ILLEGAL");
}
backend_test!(requests_that_are_not_verification_requests_get_the_api_errors);

async fn nonces_are_kept_until_their_token_expires_then_pruned(backend: Backend) {
    let web = WebApp::new(backend).await;
    let db = &web.server.db;
    let account = &web.admin.issuer;
    let now = unix_now();
    let entry = |account: &IssuerId, nonce: &str, now: i64, expires_at: i64| nonces::NewNonce {
        account: account.clone(),
        key: nonces::NonceKey::of(nonce),
        now,
        expires_at,
    };
    let record = |entry| nonces::record(db, entry);
    assert_eq!(
        record(entry(account, "a", now, now + 10)).await.unwrap(),
        NonceUse::Fresh
    );
    assert_eq!(
        record(entry(account, "b", now, now - 1)).await.unwrap(),
        NonceUse::Fresh
    );
    assert_eq!(
        record(entry(account, "a", now + 5, now + 10))
            .await
            .unwrap(),
        NonceUse::Replayed {
            first_seen: Some(now)
        }
    );
    let other = web.server.account().await;
    assert_eq!(
        record(entry(&other, "a", now, now + 10)).await.unwrap(),
        NonceUse::Fresh,
        "nonces are per account"
    );
    // The sandbox prunes too, in the background, after its first record: b may be gone.
    nonces::prune(db, now).await.unwrap();
    assert_eq!(nonces::count(db).await.unwrap(), 2, "only b has expired");
    assert_eq!(nonces::prune(db, now + 10).await.unwrap(), 2);
    assert_eq!(nonces::count(db).await.unwrap(), 0);

    // A verification records the nonce until exp + skew.
    let claims = web.claims();
    assert!(
        verify_install(&web.server, &web.admin, &web.signer.sign(&claims).unwrap())
            .await
            .valid
    );
    assert_eq!(nonces::prune(db, claims.exp + 59).await.unwrap(), 0);
    assert_eq!(nonces::prune(db, claims.exp + 60).await.unwrap(), 1);
}
backend_test!(nonces_are_kept_until_their_token_expires_then_pruned);

/// A restarted server has a fresh sandbox: on SQLite its memory of nonces comes back from the
/// log, on PostgreSQL the database decides anyway.
async fn a_replay_is_caught_after_a_restart(backend: Backend) {
    let web = WebApp::new(backend).await;
    let token = web.token();
    let first = web
        .server
        .state
        .sandbox
        .verify_install(
            &web.server.db,
            &web.admin.issuer,
            &VerifyTokenRequest {
                token: token.clone(),
                app_id: None,
            },
        )
        .await
        .unwrap();
    assert!(first.is_valid(), "{:#?}", first.checks);

    // A restarted server: a new connection to the same database (so nothing in memory is
    // shared with the first) and new state.
    let reopened = Db::connect(&web.server.db.describe()).await.unwrap();
    let restarted = AppState::new(reopened.clone(), "http://restarted", 3600);
    let again = restarted
        .sandbox
        .verify_install(
            &reopened,
            &web.admin.issuer,
            &VerifyTokenRequest {
                token,
                app_id: None,
            },
        )
        .await
        .unwrap();
    let nonce = again
        .checks
        .iter()
        .find(|check| check.name == altdist::CheckName::Nonce)
        .unwrap();
    assert!(!nonce.ok, "{:#?}", again.checks);
    assert!(nonce.detail.contains("first seen at"), "{}", nonce.detail);
}
backend_test!(a_replay_is_caught_after_a_restart);
