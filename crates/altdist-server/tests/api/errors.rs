//! The contract's error table: every status and code, and no 500 for anything a client sends.

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::json;

use crate::common::{Backend, TestServer, fresh_public_key};

const KEYS: &str = "/v1/alternativeDistributionKeys";

async fn bodies_that_are_not_documents(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let post = || server.as_(&admin, Method::POST, KEYS);

    server
        .send(
            post()
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await
        .assert_error(400, "ENTITY_INVALID");
    server
        .send(
            post()
                .header("content-type", "application/json")
                .body(vec![0xff, 0xfe, b'{']),
        )
        .await
        .assert_error(400, "ENTITY_INVALID");
    server
        .send(post())
        .await
        .assert_error(400, "ENTITY_INVALID");
    server
        .send(
            post()
                .header("content-type", "text/plain")
                .body("{\"data\": {}}"),
        )
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    server
        .send(
            post()
                .header("content-type", "application/x-www-form-urlencoded")
                .body("a=b"),
        )
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    for body in [
        json!({}),
        json!([]),
        json!({"data": []}),
        json!({"data": "x"}),
        json!({"data": {"type": "alternativeDistributionKeys", "atributes": {"publicKey": "x"}}}),
        json!({"data": {"type": "alternativeDistributionKeys"}}),
        json!({"data": {"type": "alternativeDistributionKeys", "attributes": "x"}}),
    ] {
        server
            .post(&admin, KEYS, &body)
            .await
            .assert_error(422, "ENTITY_UNPROCESSABLE");
    }

    let pem = fresh_public_key();
    for (body, pointer, code) in [
        (
            json!({"data": {"type": "apps", "attributes": {"publicKey": pem}}}),
            "/data/type",
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
        ),
        (
            json!({"data": {"attributes": {"publicKey": pem}}}),
            "/data/type",
            "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
        ),
        (
            json!({"data": {"type": "alternativeDistributionKeys", "attributes": {}}}),
            "/data/attributes/publicKey",
            "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
        ),
        (
            json!({"data": {"type": "alternativeDistributionKeys", "attributes": {"publicKey": 42}}}),
            "/data/attributes/publicKey",
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
        ),
        (
            json!({"data": {"type": "alternativeDistributionKeys", "id": "mine", "attributes": {"publicKey": pem}}}),
            "/data/id",
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
        ),
    ] {
        let response = server.post(&admin, KEYS, &body).await;
        assert_eq!(
            response.assert_error(409, code)["source"]["pointer"],
            pointer,
            "{body}"
        );
    }
    // `id: null` is what Apple's own example sends. Members the server does not know are ignored
    // (JSON:API; Apple's schema allows them), an empty relationship is no relationship.
    let with_extras = json!({
        "data": {"type": "alternativeDistributionKeys", "id": null, "attributes": {"publicKey": pem, "color": "red"},
                 "relationships": {"app": {}, "owner": {"data": null}}, "extra": 1},
        "jsonapi": {"version": "1.0"}
    });
    let created = server.post(&admin, KEYS, &with_extras).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.json["data"]["attributes"].get("color").is_none());
}
backend_test!(bodies_that_are_not_documents);

async fn a_body_over_64_kib_is_413(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let big = json!({"data": {"type": "alternativeDistributionKeys", "attributes": {"publicKey": "A".repeat(70 * 1024)}}});
    server
        .post(&admin, KEYS, &big)
        .await
        .assert_error(413, "ENTITY_TOO_LARGE");
    // Chunked, without a Content-Length: the limit still holds while the body streams in.
    let (head, body) = raw_request(
        &server,
        &format!(
            "POST {KEYS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            admin.token()
        ),
        &chunked(&vec![b' '; 80 * 1024]),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], "ENTITY_TOO_LARGE");
    crate::schema::validate("ErrorResponse", &body).unwrap();
}
backend_test!(a_body_over_64_kib_is_413);

fn chunked(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(4096) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Sends bytes no HTTP client would, and returns the response's head and body.
pub async fn raw_request(server: &TestServer, head: &str, body: &[u8]) -> (String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before reading everything; that is fine.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_owned(), body.to_owned())
}

async fn unknown_paths_methods_and_media_types(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    for path in [
        "/",
        "/v1",
        "/v2/apps",
        "/v1/appz",
        "/v1/apps/1/unknown",
        "/v1/alternativeDistributionKeys/",
    ] {
        server
            .get(&admin, path)
            .await
            .assert_error(404, "PATH_ERROR");
        // Unauthenticated too: an unknown path is unknown to everyone.
        let anonymous = server.send(server.request(Method::GET, path)).await;
        anonymous.assert_error(404, "PATH_ERROR");
    }
    for (method, path, allow) in [
        (Method::PUT, "/v1/apps", "GET,HEAD"),
        (Method::TRACE, KEYS, "GET,HEAD,POST"),
        (
            Method::PATCH,
            "/v1/alternativeDistributionKeys/x",
            "GET,HEAD,DELETE",
        ),
        (
            Method::OPTIONS,
            "/v1/alternativeDistributionDomains",
            "GET,HEAD,POST",
        ),
        (Method::POST, "/health", "GET,HEAD"),
    ] {
        let response = server.send(server.as_(&admin, method.clone(), path)).await;
        response.assert_error(405, "METHOD_NOT_ALLOWED");
        let mut allowed: Vec<&str> = response.header("allow").split(',').collect();
        let mut expected: Vec<&str> = allow.split(',').collect();
        allowed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(allowed, expected, "{method} {path}");
    }
    let response = server
        .send(
            server
                .as_(&admin, Method::GET, KEYS)
                .header("accept", "text/html"),
        )
        .await;
    assert_eq!(response.status, 406);
    assert!(response.header("content-type").starts_with("text/plain"));
    let response = server
        .send(
            server
                .as_(&admin, Method::GET, KEYS)
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(response.status, 200);
}
backend_test!(unknown_paths_methods_and_media_types);

async fn hostile_requests_are_client_errors(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let huge = "9".repeat(400);
    for path in [
        format!("{KEYS}/%FF%FE"),
        format!("{KEYS}/..%2F..%2Fetc"),
        format!("/v1/apps/{huge}"),
        "/v1/apps/99999999999999999999999999999".to_owned(),
        "/v1/apps/-1".to_owned(),
        "/v1/alternativeDistributionDomains/%00".to_owned(),
    ] {
        let response = server.get(&admin, &path).await;
        response.assert_error(404, "NOT_FOUND");
    }
    let response = server
        .send(server.request(Method::GET, KEYS).header(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        ))
        .await;
    response.assert_error(401, "NOT_AUTHORIZED");
    let response = server
        .get(&admin, &format!("/v1/apps?filter[id]={}", "1,".repeat(300)))
        .await;
    response.assert_error(400, "PARAMETER_ERROR.INVALID");
    let response = server.get(&admin, "/v1/apps?filter[name]=%FF%FE").await;
    assert_eq!(response.status, 200, "{}", response.text);
    // NUL, which PostgreSQL text cannot hold, matches nothing on either backend.
    let response = server.get(&admin, "/v1/apps?filter[name]=%00").await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json["meta"]["paging"]["total"], 0);
}
backend_test!(hostile_requests_are_client_errors);

async fn health_needs_no_token_and_reports_the_database(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let response = server.send(server.request(Method::GET, "/health")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["status"], "ok");
    assert_eq!(response.json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        response.header("x-rate-limit"),
        "user-hour-lim:1000000;user-hour-rem:1000000;"
    );
    server.db.close().await;
    let response = server.send(server.request(Method::GET, "/health")).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.json["status"], "unavailable");
}
backend_test!(health_needs_no_token_and_reports_the_database);

/// SQLite only: what durability means on PostgreSQL is the server's own configuration.
#[tokio::test]
async fn sqlite_is_durable() {
    let server = TestServer::start_on(Backend::Sqlite).await;
    let altdist_server::Db::Sqlite(sqlite) = &server.db else {
        unreachable!("a SQLite test server");
    };
    let pool = sqlite.pool();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .unwrap();
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 2, "synchronous=FULL");
    assert_eq!(foreign_keys, 1);
}
