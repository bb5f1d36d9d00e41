//! `/v1/alternativeDistributionKeys` and the app's key.

use altdist::test_keys;
use reqwest::Method;
use serde_json::json;

use crate::common::{Backend, TestServer, fresh_public_key};

const KEYS: &str = "/v1/alternativeDistributionKeys";

async fn create_read_list_delete(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let created = server.create_key(&admin, test_keys::PUBLIC, None).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["data"]["id"].as_str().unwrap().to_owned();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "key ids are UUIDs: {id}"
    );
    let location = created.header("location").to_owned();
    assert_eq!(location, server.url(&format!("{KEYS}/{id}")));
    assert_eq!(created.json["data"]["links"]["self"], location);
    assert_eq!(created.json["links"]["self"], location);
    assert_eq!(
        created.json["data"]["attributes"]["publicKey"],
        test_keys::PUBLIC
    );

    let read = server.get(&admin, &format!("{KEYS}/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json["data"], created.json["data"]);

    let list = server.get(&admin, KEYS).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(list.json["meta"]["paging"]["total"], 1);
    assert_eq!(list.json["meta"]["paging"]["limit"], 50);
    assert!(list.json["links"].get("next").is_none());

    let deleted = server.delete(&admin, &format!("{KEYS}/{id}")).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    server
        .get(&admin, &format!("{KEYS}/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .delete(&admin, &format!("{KEYS}/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
}
backend_test!(create_read_list_delete);

async fn every_pem_spelling_is_accepted_and_stored_canonically(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let canonical = test_keys::PUBLIC;
    let lines: Vec<&str> = canonical.lines().collect();
    let spellings = [
        ("LF with trailing newline", canonical.to_owned()),
        (
            "LF without trailing newline",
            canonical.trim_end().to_owned(),
        ),
        ("CRLF with trailing newline", lines.join("\r\n") + "\r\n"),
        ("CRLF without trailing newline", lines.join("\r\n")),
        ("one line", lines.concat()),
        ("one line with trailing newline", lines.concat() + "\n"),
    ];
    for (name, pem) in spellings {
        let created = server.create_key(&admin, &pem, None).await;
        assert_eq!(created.status, 201, "{name}: {}", created.text);
        assert_eq!(
            created.json["data"]["attributes"]["publicKey"], canonical,
            "{name}"
        );
        let id = created.json["data"]["id"].as_str().unwrap();
        let read = server.get(&admin, &format!("{KEYS}/{id}")).await;
        assert_eq!(
            read.json["data"]["attributes"]["publicKey"], canonical,
            "{name}"
        );
        assert_eq!(
            server.delete(&admin, &format!("{KEYS}/{id}")).await.status,
            204
        );
    }
}
backend_test!(every_pem_spelling_is_accepted_and_stored_canonically);

async fn keys_that_are_not_p256_public_keys_are_refused(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let refused = [
        ("P-384", test_keys::P384_PUBLIC, "curve"),
        ("secp256k1", test_keys::SECP256K1_PUBLIC, "curve"),
        ("RSA", test_keys::RSA_PUBLIC, "RSA"),
        ("Ed25519", test_keys::ED25519_PUBLIC, "Ed25519"),
        ("SEC1 private key", test_keys::SEC1_PRIVATE, "private key"),
        (
            "PKCS#8 private key",
            test_keys::PKCS8_PRIVATE,
            "private key",
        ),
        ("certificate", test_keys::CERTIFICATE, "certificate"),
        ("garbage", "hello, world", "PEM"),
        ("empty", "", "PEM"),
    ];
    for (name, pem, expected) in refused {
        let response = server.create_key(&admin, pem, None).await;
        let error = response.assert_error(409, "ENTITY_ERROR.ATTRIBUTE.INVALID");
        assert_eq!(
            error["source"]["pointer"], "/data/attributes/publicKey",
            "{name}"
        );
        let detail = error["detail"].as_str().unwrap();
        assert!(detail.contains(expected), "{name}: {detail}");
        // A pasted private key is never echoed back.
        for line in pem.lines().filter(|line| line.len() > 20) {
            assert!(
                !response.text.contains(line),
                "{name}: the response quotes the key"
            );
        }
    }
    let list = server.get(&admin, KEYS).await;
    assert_eq!(
        list.json["meta"]["paging"]["total"], 0,
        "nothing refused was stored"
    );
}
backend_test!(keys_that_are_not_p256_public_keys_are_refused);

async fn one_account_wide_key_and_one_key_per_app(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.one").await;
    let first = server.create_key(&admin, &fresh_public_key(), None).await;
    assert_eq!(first.status, 201);
    let first_id = first.json["data"]["id"].as_str().unwrap();
    let second = server.create_key(&admin, &fresh_public_key(), None).await;
    let error = second.assert_error(409, "ENTITY_ERROR");
    let detail = error["detail"].as_str().unwrap();
    assert!(
        detail.contains(first_id) && detail.contains("delete"),
        "{detail}"
    );
    // The existing key, for clients that should not parse `detail` (see issue #13).
    assert_eq!(
        error["links"]["associated"],
        format!("{}/v1/alternativeDistributionKeys/{first_id}", server.base)
    );

    let for_app = server
        .create_key(&admin, &fresh_public_key(), Some(&app))
        .await;
    assert_eq!(for_app.status, 201, "{}", for_app.text);
    let app_key_id = for_app.json["data"]["id"].as_str().unwrap();
    let again = server
        .create_key(&admin, &fresh_public_key(), Some(&app))
        .await;
    let error = again.assert_error(409, "ENTITY_ERROR");
    let detail = error["detail"].as_str().unwrap();
    assert!(
        detail.contains(app_key_id) && detail.contains(app.as_str()),
        "{detail}"
    );
    assert_eq!(
        error["links"]["associated"],
        format!(
            "{}/v1/alternativeDistributionKeys/{app_key_id}",
            server.base
        )
    );
}
backend_test!(one_account_wide_key_and_one_key_per_app);

async fn the_app_key_is_the_app_specific_one_else_the_account_wide_one(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.app").await;
    let related = format!("/v1/apps/{app}/alternativeDistributionKey");
    let linkage = format!("/v1/apps/{app}/relationships/alternativeDistributionKey");
    server
        .get(&admin, &related)
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .get(&admin, &linkage)
        .await
        .assert_error(404, "NOT_FOUND");

    let account_wide = server.create_key(&admin, &fresh_public_key(), None).await;
    let account_wide_id = account_wide.json["data"]["id"].clone();
    let read = server.get(&admin, &related).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json["data"]["id"], account_wide_id);

    let specific = server
        .create_key(&admin, &fresh_public_key(), Some(&app))
        .await;
    let specific_id = specific.json["data"]["id"].clone();
    let read = server.get(&admin, &related).await;
    assert_eq!(read.json["data"]["id"], specific_id);
    let link = server.get(&admin, &linkage).await;
    assert_eq!(link.status, 200);
    assert_eq!(
        link.json["data"],
        json!({"type": "alternativeDistributionKeys", "id": specific_id})
    );
    assert_eq!(link.json["links"]["self"], server.url(&linkage));
    assert_eq!(link.json["links"]["related"], server.url(&related));

    let sparse = server
        .get(
            &admin,
            &format!("{related}?fields[alternativeDistributionKeys]=publicKey"),
        )
        .await;
    assert!(sparse.json["data"]["attributes"]["publicKey"].is_string());
    server
        .get(
            &admin,
            &format!("{linkage}?fields[alternativeDistributionKeys]=publicKey"),
        )
        .await
        .assert_error(400, "PARAMETER_ERROR.ILLEGAL");
    server
        .get(&admin, "/v1/apps/1234567890/alternativeDistributionKey")
        .await
        .assert_error(404, "NOT_FOUND");
}
backend_test!(the_app_key_is_the_app_specific_one_else_the_account_wide_one);

async fn relationships_must_name_an_app_of_the_account(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let other = server.admin().await;
    let others_app = server.app(&other.issuer, "com.other.app").await;
    for app in [others_app.as_str(), "9999999999", "not-a-number"] {
        let response = server
            .create_key(
                &admin,
                &fresh_public_key(),
                Some(&altdist::resource::AppId(app.into())),
            )
            .await;
        let error = response.assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID");
        assert_eq!(error["source"]["pointer"], "/data/relationships/app");
    }
    let wrong_type = json!({"data": {"type": "alternativeDistributionKeys", "attributes": {"publicKey": fresh_public_key()},
        "relationships": {"app": {"data": {"type": "bundleIds", "id": "1"}}}}});
    server
        .post(&admin, KEYS, &wrong_type)
        .await
        .assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID");
}
backend_test!(relationships_must_name_an_app_of_the_account);

async fn paging_filters_and_sparse_fieldsets(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    assert_eq!(
        server
            .create_key(&admin, &fresh_public_key(), None)
            .await
            .status,
        201
    );
    for n in 0..4 {
        let app = server
            .app(&admin.issuer, &format!("com.example.app{n}"))
            .await;
        assert_eq!(
            server
                .create_key(&admin, &fresh_public_key(), Some(&app))
                .await
                .status,
            201
        );
    }
    let mut seen = Vec::new();
    let mut next = Some(server.url(&format!("{KEYS}?limit=2")));
    while let Some(url) = next {
        let path = url.strip_prefix(&server.base).unwrap();
        let page = server.send(server.as_(&admin, Method::GET, path)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.json["meta"]["paging"]["total"], 5);
        assert_eq!(page.json["meta"]["paging"]["limit"], 2);
        for key in page.json["data"].as_array().unwrap() {
            seen.push(key["id"].as_str().unwrap().to_owned());
        }
        next = page.json["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5, "every key once, in a stable order");

    let with_app = server
        .get(&admin, &format!("{KEYS}?exists[app]=true"))
        .await;
    assert_eq!(with_app.json["meta"]["paging"]["total"], 4);
    let account_wide = server
        .get(&admin, &format!("{KEYS}?exists[app]=false"))
        .await;
    assert_eq!(account_wide.json["meta"]["paging"]["total"], 1);
    assert!(
        account_wide.json["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("?exists%5Bapp%5D=false"),
        "{}",
        account_wide.json["links"]["self"]
    );

    let sparse = server
        .get(
            &admin,
            &format!("{KEYS}?fields[alternativeDistributionKeys]=publicKey&limit=1"),
        )
        .await;
    assert!(sparse.json["data"][0]["attributes"]["publicKey"].is_string());
    let next = sparse.json["links"]["next"].as_str().unwrap();
    assert!(
        next.contains("fields%5BalternativeDistributionKeys%5D=publicKey"),
        "{next}"
    );
    assert!(!next.contains('['), "{next}");

    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=99999999999999999999999999", "limit"),
        ("limit=%FF", "limit"),
        ("cursor=nonsense", "cursor"),
        ("exists[app]=maybe", "exists[app]"),
        ("exists[app]=", "exists[app]"),
        ("cursor=", "cursor"),
        (
            "fields[alternativeDistributionKeys]=privateKey",
            "fields[alternativeDistributionKeys]",
        ),
        (
            "fields[alternativeDistributionKeys]=",
            "fields[alternativeDistributionKeys]",
        ),
        (
            "fields[alternativeDistributionKeys]=publicKey,",
            "fields[alternativeDistributionKeys]",
        ),
    ] {
        let error = server
            .get(&admin, &format!("{KEYS}?{query}"))
            .await
            .assert_error(400, "PARAMETER_ERROR.INVALID")
            .clone();
        assert_eq!(error["source"]["parameter"], parameter, "{query}");
    }
    let error = server.get(&admin, &format!("{KEYS}?filter[app]=1")).await;
    assert_eq!(
        error.assert_error(400, "PARAMETER_ERROR.ILLEGAL")["source"]["parameter"],
        "filter[app]"
    );
}
backend_test!(paging_filters_and_sparse_fieldsets);

/// A cleanup script's loop: read a page, delete what it shows, follow `links.next`. A position
/// cursor would skip a page's worth of keys after every page deleted; this lists each key once.
async fn deleting_keys_while_paging_skips_none(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let mut created = Vec::new();
    for n in 0..7 {
        let app = server
            .app(&admin.issuer, &format!("com.example.cleanup{n}"))
            .await;
        let response = server
            .create_key(&admin, &fresh_public_key(), Some(&app))
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        created.push(response.json["data"]["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut next = Some(server.url(&format!("{KEYS}?limit=2")));
    while let Some(url) = next {
        let page = server
            .get(&admin, url.strip_prefix(&server.base).unwrap())
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        for key in page.json["data"].as_array().unwrap() {
            let id = key["id"].as_str().unwrap().to_owned();
            let deleted = server.delete(&admin, &format!("{KEYS}/{id}")).await;
            assert_eq!(deleted.status, 204, "{}", deleted.text);
            seen.push(id);
        }
        next = page.json["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, created, "every key once, oldest first");
    let left = server.get(&admin, KEYS).await;
    assert_eq!(left.json["meta"]["paging"]["total"], 0);
}
backend_test!(deleting_keys_while_paging_skips_none);

async fn accounts_never_see_each_other(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let alice = server.admin().await;
    let bob = server.admin().await;
    let app = server.app(&alice.issuer, "com.alice.app").await;
    let created = server
        .create_key(&alice, &fresh_public_key(), Some(&app))
        .await;
    let id = created.json["data"]["id"].as_str().unwrap();
    server
        .get(&bob, &format!("{KEYS}/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .delete(&bob, &format!("{KEYS}/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .get(&bob, &format!("/v1/apps/{app}"))
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .get(&bob, &format!("/v1/apps/{app}/alternativeDistributionKey"))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(
        server.get(&bob, KEYS).await.json["meta"]["paging"]["total"],
        0
    );
    assert_eq!(
        server.get(&bob, "/v1/apps").await.json["meta"]["paging"]["total"],
        0
    );
    // Bob's own account-wide key is independent of Alice's keys.
    assert_eq!(
        server
            .create_key(&bob, &fresh_public_key(), None)
            .await
            .status,
        201
    );
    assert_eq!(
        server.get(&alice, &format!("{KEYS}/{id}")).await.status,
        200
    );
}
backend_test!(accounts_never_see_each_other);

/// Keys are served from memory (`db::read_cache`), but a key changed through one server is
/// never read as it was through another sharing the database, however soon after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_deleted_on_one_server_is_gone_on_every_server_at_once() {
    let Some(one) = TestServer::start_postgres().await else {
        return;
    };
    let other = one.beside().await;
    let admin = one.admin().await;
    let app = one.app(&admin.issuer, "com.example.shared").await;
    let app_key_path = format!("/v1/apps/{app}/alternativeDistributionKey");
    // Until both servers hold their lease, a read may not be cached: wait for one that is.
    wait_until_cached(&other).await;
    for round in 0..20 {
        let created = one.create_key(&admin, &fresh_public_key(), None).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.json["data"]["id"].as_str().unwrap().to_owned();
        let path = format!("{KEYS}/{id}");
        // Read through the other server twice: the second read comes from its memory.
        for _ in 0..2 {
            assert_eq!(other.get(&admin, &path).await.status, 200, "round {round}");
            let signing = other.get(&admin, &app_key_path).await;
            assert_eq!(signing.json["data"]["id"], id.as_str(), "round {round}");
        }
        // An app-specific key takes over from the account-wide one at once, too.
        let specific = one
            .create_key(&admin, &fresh_public_key(), Some(&app))
            .await;
        assert_eq!(specific.status, 201, "{}", specific.text);
        let signing = other.get(&admin, &app_key_path).await;
        assert_eq!(signing.json["data"]["id"], specific.json["data"]["id"]);
        let specific_path = format!("{KEYS}/{}", specific.json["data"]["id"].as_str().unwrap());
        assert_eq!(one.delete(&admin, &specific_path).await.status, 204);

        assert_eq!(one.delete(&admin, &path).await.status, 204);
        // By the time the 204 is sent the other server has emptied its cache and said so.
        assert_eq!(other.db.read_cache().key(&admin.issuer, &id), None);
        let altdist_server::Db::Postgres(theirs) = &other.db else {
            unreachable!()
        };
        let (acked, last): (i64, i64) = sqlx::query_as(
            "SELECT acked, (SELECT last_value FROM read_cache_changes) FROM read_cache_peers WHERE instance = $1",
        )
        .bind(theirs.instance())
        .fetch_one(theirs.pool())
        .await
        .unwrap();
        assert_eq!(
            acked, last,
            "round {round}: the other server had not caught up"
        );
        other
            .get(&admin, &path)
            .await
            .assert_error(404, "NOT_FOUND");
        other
            .get(&admin, &app_key_path)
            .await
            .assert_error(404, "NOT_FOUND");
    }
}

/// Waits until `server` serves key reads from memory (its lease is held).
async fn wait_until_cached(server: &TestServer) {
    wait_until_db_caches(&server.db).await;
}

/// Waits until `db` serves key reads from memory.
async fn wait_until_db_caches(db: &altdist_server::Db) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let cache = db.read_cache();
        let probe = altdist::resource::IssuerId("probe".into());
        let row = altdist_server::db::alt_dist_keys::AltDistKeyRow {
            id: "probe".into(),
            app_id: None,
            public_key: String::new(),
        };
        cache.keep_key(cache.generation(), &probe, &row);
        if cache.key(&probe, "probe").is_some() {
            cache.clear();
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server never held its lease to serve keys from memory"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A server that left cleanly is not waited for at all, and one gone without leaving (stopped,
/// or cut off from the database) not beyond its lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_gone_does_not_hold_up_changes() {
    let Some(one) = TestServer::start_postgres().await else {
        return;
    };
    let admin = one.admin().await;
    // Left cleanly: its row is gone, and a change does not wait for it.
    let left = altdist_server::Db::connect(one.database_url())
        .await
        .unwrap();
    let caching = left.cache_reads();
    wait_until_db_caches(&left).await;
    caching.stop().await;
    let started = std::time::Instant::now();
    let created = one.create_key(&admin, &fresh_public_key(), None).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "a change waited {:?} for a server that had left",
        started.elapsed()
    );
    let id = created.json["data"]["id"].as_str().unwrap();
    assert_eq!(
        one.delete(&admin, &format!("{KEYS}/{id}")).await.status,
        204
    );

    let other = one.beside().await;
    wait_until_cached(&other).await;
    // Gone without leaving: its row stays, its lease lapses, and a change waits at most for
    // the writer's limit.
    drop(other);
    let started = std::time::Instant::now();
    let created = one.create_key(&admin, &fresh_public_key(), None).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let waited = started.elapsed();
    assert!(
        waited
            < altdist_server::db::postgres::read_cache::WAIT_LIMIT
                + std::time::Duration::from_secs(2),
        "a change waited {waited:?} for a server that is gone"
    );
}
