//! Two `altdist serve` processes on one PostgreSQL database behave as one server: of 50
//! concurrent creates spread over both exactly one is a 201, a rate limit counts a key's
//! requests through either, and a key revoked in the database is refused by both.
//!
//! Needs `TEST_DATABASE_URL` (see CONTRIBUTING.md); without it the test skips with a notice,
//! and fails under `CI=true`.

mod util;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use altdist::credentials::CredentialsFile;
use altdist::{ApiTokenClaims, PrivateKey, TokenSigner};
use altdist_server::db::test_db::{self, TestDatabase};
use util::TestServer;

/// Starts `altdist serve` on `database_url` with its own data directory.
fn start(data_dir: &Path, database_url: &str, rate_limit: u32) -> TestServer {
    let rate_limit = rate_limit.to_string();
    let server = TestServer::spawn(
        data_dir,
        &["--database-url", database_url, "--rate-limit", &rate_limit],
    );
    assert!(
        server.database.starts_with("postgres://"),
        "{}",
        server.database
    );
    server
}

struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// One request on a fresh connection.
fn request(address: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    Response {
        status: head[9..12].parse().unwrap(),
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn token(key_path: &Path, key_id: &str, issuer: &str) -> String {
    let key = PrivateKey::load(key_path).unwrap();
    let signer = TokenSigner::new(key, Some(key_id));
    let claims =
        ApiTokenClaims::team(issuer, altdist::jwt::unix_now(), Duration::from_secs(600)).unwrap();
    signer.sign(&claims).unwrap()
}

/// `user-hour-rem:<N>` of the `X-Rate-Limit` header.
fn remaining(response: &Response) -> u32 {
    let header = response.header("x-rate-limit").expect("X-Rate-Limit");
    header
        .split(';')
        .find_map(|part| part.strip_prefix("user-hour-rem:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable X-Rate-Limit {header:?}"))
}

const KEYS: &str = "/v1/alternativeDistributionKeys";
const RATE_LIMIT: u32 = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_act_as_one() {
    let Some(server_url) = test_db::server_url() else {
        return;
    };
    let database = TestDatabase::create(&server_url).await.unwrap();
    let url = database.url().to_owned();
    let dir = util::Dir::new();
    let a = start(&dir.join("a"), &url, RATE_LIMIT);
    let b = start(&dir.join("b"), &url, RATE_LIMIT);
    // A made the account and its first key; B found them in the database.
    assert!(dir.join("a/credentials.json").exists());
    assert!(!dir.join("b/credentials.json").exists());
    let credentials = CredentialsFile::load(dir.join("a/credentials.json")).unwrap();
    let issuer = credentials.issuer_id.clone().unwrap();
    let admin_token = token(&credentials.private_key_path, &credentials.key_id, &issuer);

    // 50 concurrent creates of the account-wide key, alternating between the servers.
    let servers = Arc::new([a.address().to_owned(), b.address().to_owned()]);
    let body = Arc::new(
        r#"{"data":{"type":"alternativeDistributionKeys","attributes":{"publicKey":"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXw4x3bUY198B/YiUjX6jzBu+xSP9\n56WkUJ1dMFm9EZQd9xo9+JjorbHXESfvQqXnSDN6tISmfBQDAGfxInMxnQ==\n-----END PUBLIC KEY-----\n"}}}"#.to_owned(),
    );
    let barrier = Arc::new(std::sync::Barrier::new(50));
    let creates: Vec<_> = (0..50)
        .map(|n| {
            let (servers, body, barrier, token) = (
                servers.clone(),
                body.clone(),
                barrier.clone(),
                admin_token.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let response = request(&servers[n % 2], "POST", KEYS, &token, Some(&body));
                (n % 2, response.status)
            })
        })
        .collect();
    let statuses: Vec<(usize, u16)> = creates.into_iter().map(|t| t.join().unwrap()).collect();
    let created = statuses.iter().filter(|(_, status)| *status == 201).count();
    let conflicts = statuses.iter().filter(|(_, status)| *status == 409).count();
    assert_eq!((created, conflicts), (1, 49), "{statuses:?}");
    for server in [&a, &b] {
        let listed = request(server.address(), "GET", KEYS, &admin_token, None);
        assert_eq!(listed.status, 200, "{}", listed.body);
        let document: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
        assert_eq!(document["meta"]["paging"]["total"], 1, "{}", listed.body);
    }

    // A second key, made by `altdist admin` on the same database: requests through A count on B.
    let out = dir.altdist_ok(&[
        "admin",
        "--data-dir",
        &dir.join("admin").display().to_string(),
        "--database-url",
        &url,
        "api-key",
        "create",
        "--role",
        "ADMIN",
        "--json",
        "--out",
        &dir.join("second.p8").display().to_string(),
    ]);
    let second: serde_json::Value = serde_json::from_str(&out).unwrap();
    let second_id = second["key_id"].as_str().unwrap();
    let second_token = token(&dir.join("second.p8"), second_id, &issuer);
    for expected in (RATE_LIMIT - 5..RATE_LIMIT).rev() {
        let response = request(a.address(), "GET", KEYS, &second_token, None);
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(remaining(&response), expected);
    }
    // B learns A's five within a sync or two; until then its count lags (the documented
    // tolerance). Each request here is charged too.
    let mut through_b = 0;
    loop {
        let response = request(b.address(), "GET", KEYS, &second_token, None);
        assert_eq!(response.status, 200, "{}", response.body);
        through_b += 1;
        if remaining(&response) == RATE_LIMIT - 5 - through_b {
            break;
        }
        assert!(
            through_b < 100,
            "B never counted the requests made through A"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Both servers cached the second key's token; revoke the key in the database.
    for server in [&a, &b] {
        assert_eq!(
            request(server.address(), "GET", KEYS, &second_token, None).status,
            200
        );
    }
    dir.altdist_ok(&[
        "admin",
        "--data-dir",
        &dir.join("admin").display().to_string(),
        "--database-url",
        &url,
        "api-key",
        "revoke",
        second_id,
    ]);
    for server in [&a, &b] {
        let mut attempts = 0;
        loop {
            let response = request(server.address(), "GET", KEYS, &second_token, None);
            if response.status == 401 {
                break;
            }
            assert_eq!(response.status, 200, "{}", response.body);
            attempts += 1;
            assert!(attempts < 100, "the revoked key's token still works");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // The first key is untouched.
    assert_eq!(
        request(b.address(), "GET", KEYS, &admin_token, None).status,
        200
    );
    drop((a, b));
    drop(database);
}
