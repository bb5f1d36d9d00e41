//! Authentication, roles, scope, revocation and rate limits.

use std::time::Duration;

use altdist::jwt::unix_now;
use reqwest::Method;
use serde_json::json;

use crate::common::{Backend, TestServer, fresh_public_key, role};

const KEYS: &str = "/v1/alternativeDistributionKeys";

async fn tokens_are_checked_per_the_contract(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let stranger = server.admin().await;
    let get = |token: String| server.send(server.request(Method::GET, KEYS).bearer_auth(token));

    assert_eq!(get(admin.token()).await.status, 200);
    let now = unix_now();
    // Within the documented 60 s clock skew.
    assert_eq!(
        get(admin.sign(&admin.claims(now + 30, 600))).await.status,
        200
    );

    let mut wrong_audience = admin.claims(now, 600);
    wrong_audience.aud = "appstoreconnect-v2".into();
    let mut wrong_issuer = admin.claims(now, 600);
    wrong_issuer.iss = Some(stranger.issuer.to_string());
    let mut no_issuer = admin.claims(now, 600);
    no_issuer.iss = None;
    no_issuer.sub = Some("user".into());
    let header = |json: serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    };
    let valid = admin.token();
    let (_, rest) = valid.split_once('.').unwrap();
    let refused = [
        ("expired", admin.sign(&admin.claims(now - 1300, 1200))),
        (
            "lives longer than 20 minutes",
            admin.sign(&admin.claims(now, 1201)),
        ),
        (
            "issued in the future",
            admin.sign(&admin.claims(now + 300, 600)),
        ),
        ("wrong audience", admin.sign(&wrong_audience)),
        ("another account's issuer", admin.sign(&wrong_issuer)),
        ("team key token without iss", admin.sign(&no_issuer)),
        ("signed by another key", {
            let (_, payload_and_signature) = stranger
                .token()
                .split_once('.')
                .map(|(h, r)| (h.to_owned(), r.to_owned()))
                .unwrap();
            let (own_header, _) = valid.split_once('.').unwrap();
            format!("{own_header}.{payload_and_signature}")
        }),
        (
            "alg none",
            format!(
                "{}.{rest}",
                header(json!({"alg": "none", "kid": admin.key_id, "typ": "JWT"}))
            ),
        ),
        (
            "HS256",
            format!(
                "{}.{rest}",
                header(json!({"alg": "HS256", "kid": admin.key_id, "typ": "JWT"}))
            ),
        ),
        (
            "unknown kid",
            format!(
                "{}.{rest}",
                header(json!({"alg": "ES256", "kid": "ZZZZZZZZZZ", "typ": "JWT"}))
            ),
        ),
        ("garbage", "not.a.token".to_owned()),
        ("two parts", "abc.def".to_owned()),
    ];
    for (why, token) in refused {
        let response = get(token).await;
        let error = response.assert_error(401, "NOT_AUTHORIZED");
        assert!(!error["detail"].as_str().unwrap().is_empty(), "{why}");
    }
    let response = server.send(server.request(Method::GET, KEYS)).await;
    response.assert_error(401, "NOT_AUTHORIZED");
    let response = server
        .send(
            server
                .request(Method::GET, KEYS)
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    response.assert_error(401, "NOT_AUTHORIZED");
}
backend_test!(tokens_are_checked_per_the_contract);

/// The shapes real App Store Connect clients send, which Apple accepts: the generated npm SDKs
/// (no `iat`), ruby-jwt as fastlane and Apple's sample code use it (no `iat`, no `typ`), and
/// libraries that always write `aud` as an array.
async fn tokens_as_third_party_clients_mint_them(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let get = |token: String| server.send(server.request(Method::GET, KEYS).bearer_auth(token));
    let now = unix_now();
    let (kid, iss) = (admin.key_id.to_string(), admin.issuer.to_string());
    let with_typ = json!({"alg": "ES256", "kid": kid, "typ": "JWT"});
    let without_typ = json!({"alg": "ES256", "kid": kid});
    let claims = |exp: i64| json!({"iss": iss, "exp": exp, "aud": "appstoreconnect-v1"});

    let accepted = [
        (
            "no iat (npm SDKs)",
            admin.sign_raw(&with_typ, &claims(now + 1200)),
        ),
        (
            "no iat, no typ (ruby-jwt)",
            admin.sign_raw(&without_typ, &claims(now + 1200)),
        ),
        (
            "no typ, with iat (PyJWT)",
            admin.sign_raw(
                &without_typ,
                &json!({"iss": iss, "iat": now, "exp": now + 1200, "aud": "appstoreconnect-v1"}),
            ),
        ),
        (
            "aud as an array",
            admin.sign_raw(
                &with_typ,
                &json!({"iss": iss, "iat": now, "exp": now + 600, "aud": ["appstoreconnect-v1"]}),
            ),
        ),
        (
            "typ in lower case",
            admin.sign_raw(
                &json!({"alg": "ES256", "kid": kid, "typ": "jwt"}),
                &claims(now + 600),
            ),
        ),
    ];
    for (shape, token) in accepted {
        let response = get(token).await;
        assert_eq!(response.status, 200, "{shape}: {}", response.text);
    }

    let refused = [
        (
            "no iat, exp an hour away",
            admin.sign_raw(&without_typ, &claims(now + 3600)),
            "lifetime: the token expires 3",
        ),
        (
            "no iat, expired",
            admin.sign_raw(&without_typ, &claims(now - 120)),
            "exp: expired 12",
        ),
        (
            "wrong typ",
            admin.sign_raw(
                &json!({"alg": "ES256", "kid": kid, "typ": "JWS"}),
                &claims(now + 600),
            ),
            "typ: expected \"JWT\", found \"JWS\"",
        ),
        (
            "aud array without App Store Connect",
            admin.sign_raw(
                &with_typ,
                &json!({"iss": iss, "exp": now + 600, "aud": ["appstoreconnect-v2"]}),
            ),
            "aud: expected \"appstoreconnect-v1\" or an array holding it",
        ),
    ];
    for (shape, token, detail) in refused {
        let response = get(token).await;
        let error = response.assert_error(401, "NOT_AUTHORIZED");
        let found = error["detail"].as_str().unwrap();
        assert!(found.contains(detail), "{shape}: {found}");
    }
}
backend_test!(tokens_as_third_party_clients_mint_them);

async fn individual_keys_use_sub_user(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let account = server.account().await;
    let individual = server.api_key(&account, role("ADMIN"), true).await;
    assert_eq!(server.get(&individual, KEYS).await.status, 200);
    let mut with_issuer = individual.claims(unix_now(), 600);
    with_issuer.iss = Some(account.to_string());
    with_issuer.sub = None;
    let response = server
        .send(
            server
                .request(Method::GET, KEYS)
                .bearer_auth(individual.sign(&with_issuer)),
        )
        .await;
    response.assert_error(401, "NOT_AUTHORIZED");
    // It acts in its account.
    assert_eq!(
        server
            .create_key(&individual, &fresh_public_key(), None)
            .await
            .status,
        201
    );
    let team = server.api_key(&account, role("DEVELOPER"), false).await;
    assert_eq!(
        server.get(&team, KEYS).await.json["meta"]["paging"]["total"],
        1
    );
}
backend_test!(individual_keys_use_sub_user);

async fn roles(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let developer = server
        .api_key(&admin.issuer, role("DEVELOPER"), false)
        .await;
    let app_manager = server
        .api_key(&admin.issuer, role("APP_MANAGER"), false)
        .await;
    let created = server.create_key(&admin, &fresh_public_key(), None).await;
    let id = created.json["data"]["id"].as_str().unwrap();
    let domain = json!({"data": {"type": "alternativeDistributionDomains", "attributes": {"domain": "example.com", "referenceName": "Example"}}});
    for reader in [&developer, &app_manager] {
        assert_eq!(server.get(reader, KEYS).await.status, 200);
        assert_eq!(
            server.get(reader, &format!("{KEYS}/{id}")).await.status,
            200
        );
        assert_eq!(server.get(reader, "/v1/apps").await.status, 200);
        assert_eq!(
            server
                .get(reader, "/v1/alternativeDistributionDomains")
                .await
                .status,
            200
        );
        server
            .create_key(reader, &fresh_public_key(), None)
            .await
            .assert_error(403, "FORBIDDEN_ERROR");
        server
            .delete(reader, &format!("{KEYS}/{id}"))
            .await
            .assert_error(403, "FORBIDDEN_ERROR");
        server
            .post(reader, "/v1/alternativeDistributionDomains", &domain)
            .await
            .assert_error(403, "FORBIDDEN_ERROR");
    }
    assert_eq!(
        server.get(&admin, &format!("{KEYS}/{id}")).await.status,
        200,
        "still there"
    );
}
backend_test!(roles);

async fn scope_limits_a_token_to_its_requests(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let claims = admin.claims(unix_now(), 600).with_scope(vec![
        "GET /v1/apps".into(),
        "GET /v1/alternativeDistributionKeys?exists[app]=true".into(),
    ]);
    let token = admin.sign(&claims);
    let get = |path: &str| server.send(server.request(Method::GET, path).bearer_auth(&token));
    assert_eq!(get("/v1/apps").await.status, 200);
    assert_eq!(
        get("/v1/apps?limit=1&sort=-name").await.status,
        200,
        "limit, cursor and sort are ignored"
    );
    assert_eq!(
        get("/v1/alternativeDistributionKeys?exists%5Bapp%5D=true&limit=2")
            .await
            .status,
        200
    );
    get("/v1/apps?filter[name]=x")
        .await
        .assert_error(403, "FORBIDDEN_ERROR");
    get("/v1/alternativeDistributionKeys")
        .await
        .assert_error(403, "FORBIDDEN_ERROR");
    get("/v1/apps/1").await.assert_error(403, "FORBIDDEN_ERROR");
    let post = server
        .send(server.request(Method::POST, KEYS).bearer_auth(&token).json(
            &altdist::resource::AltDistKeyCreateRequest::new(fresh_public_key(), None),
        ))
        .await;
    post.assert_error(403, "FORBIDDEN_ERROR");
}
backend_test!(scope_limits_a_token_to_its_requests);

async fn revoking_a_key_refuses_its_cached_tokens_at_once(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let token = admin.token();
    let get = || server.send(server.request(Method::GET, KEYS).bearer_auth(&token));
    assert_eq!(get().await.status, 200);
    assert_eq!(get().await.status, 200, "served from the token cache");
    assert!(!server.state.auth.tokens().is_empty());
    assert!(
        server
            .state
            .auth
            .revoke_api_key(&admin.key_id)
            .await
            .unwrap()
    );
    get().await.assert_error(401, "NOT_AUTHORIZED");
    // A fresh token of the revoked key is refused too.
    server
        .get(&admin, KEYS)
        .await
        .assert_error(401, "NOT_AUTHORIZED");
}
backend_test!(revoking_a_key_refuses_its_cached_tokens_at_once);

async fn a_revocation_by_another_process_reaches_the_cache(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let watch = server
        .state
        .auth
        .spawn_revocation_watch(Duration::from_millis(50))
        .await;
    let admin = server.admin().await;
    let token = admin.token();
    let get = || server.send(server.request(Method::GET, KEYS).bearer_auth(&token));
    assert_eq!(get().await.status, 200);
    // What `altdist admin api-key revoke` does: the database only.
    assert!(
        altdist_server::db::api_keys::revoke(&server.db, &admin.key_id)
            .await
            .unwrap()
    );
    // The watch polls every 50 ms; a loaded machine may take longer, never this long.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while get().await.status == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked key's token was still accepted after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    get().await.assert_error(401, "NOT_AUTHORIZED");
    watch.abort();
}
backend_test!(a_revocation_by_another_process_reaches_the_cache);

async fn rate_limits_per_key_over_the_hour(backend: Backend) {
    let server = TestServer::start_with_rate_limit(backend, 3).await;
    let admin = server.admin().await;
    let other = server.admin().await;
    for remaining in [2, 1, 0] {
        let response = server.get(&admin, KEYS).await;
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("x-rate-limit"),
            format!("user-hour-lim:3;user-hour-rem:{remaining};")
        );
    }
    let response = server.get(&admin, KEYS).await;
    response.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(
        response.header("x-rate-limit"),
        "user-hour-lim:3;user-hour-rem:0;"
    );
    // Another key has its own budget; requests no key pays for show the full one.
    assert_eq!(server.get(&other, KEYS).await.status, 200);
    let anonymous = server.send(server.request(Method::GET, KEYS)).await;
    assert_eq!(
        anonymous.header("x-rate-limit"),
        "user-hour-lim:3;user-hour-rem:3;"
    );
    let unknown = server
        .send(server.request(Method::GET, "/v1/nothing"))
        .await;
    assert_eq!(
        unknown.header("x-rate-limit"),
        "user-hour-lim:3;user-hour-rem:3;"
    );
}
backend_test!(rate_limits_per_key_over_the_hour);
