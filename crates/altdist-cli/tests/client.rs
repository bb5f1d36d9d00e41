//! The API commands (`keys`, `apps`, `domains`, `setup`, `login`) against a real `altdist serve`.

mod util;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};

use altdist::test_keys;
use util::{Dir, TestServer, stderr};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// `altdist <args> --credentials <server's credentials.json> --output json`.
fn api(dir: &Dir, server: &TestServer, args: &[&str]) -> std::process::Output {
    let credentials = server.credentials();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--credentials", &credentials, "--output", "json"]);
    dir.altdist(&full)
}

fn api_ok(dir: &Dir, server: &TestServer, args: &[&str]) -> serde_json::Value {
    let output = api(dir, server, args);
    assert!(
        output.status.success(),
        "altdist {args:?}: {}",
        util::describe(&output)
    );
    json(&util::stdout(&output))
}

#[test]
fn key_lifecycle_upload_list_find_and_delete() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    let app = server.create_app(&dir, "Web App", "com.example.web");
    dir.write("public_key.pem", test_keys::PUBLIC.replace('\n', "\r\n"));

    let created = api_ok(&dir, &server, &["keys", "create", "--app", &app]);
    let key_id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["data"]["attributes"]["publicKey"],
        test_keys::PUBLIC,
        "stored canonically"
    );

    let listed = api_ok(&dir, &server, &["keys", "list", "--exists-app", "true"]);
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|key| key["id"] == key_id.as_str())
    );

    let output = api(&dir, &server, &["apps", "key", &app, "--id-only"]);
    assert_eq!(util::stdout(&output).trim(), key_id);
    assert_eq!(
        api_ok(&dir, &server, &["keys", "get", &key_id])["data"]["id"],
        key_id.as_str()
    );

    let output = api(&dir, &server, &["keys", "delete", &key_id]);
    assert_eq!(output.status.code(), Some(2), "no terminal to confirm on");
    assert!(
        stderr(&output).contains("pass --yes"),
        "{}",
        stderr(&output)
    );

    let output = api(&dir, &server, &["keys", "delete", &key_id, "--yes"]);
    assert!(output.status.success(), "{}", util::describe(&output));
    let output = api(&dir, &server, &["keys", "get", &key_id]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("error: 404 NOT_FOUND: "), "{message}");
    assert!(message.contains("hint: check the id"), "{message}");
}

#[test]
fn uploading_a_private_key_sends_only_its_public_half() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    dir.write("private_key.pem", test_keys::SEC1_PRIVATE);
    let output = api(
        &dir,
        &server,
        &["keys", "create", "--public-key", "private_key.pem"],
    );
    assert!(output.status.success(), "{}", util::describe(&output));
    assert!(
        stderr(&output).contains("uploading only its public half"),
        "{}",
        stderr(&output)
    );
    let created = json(&util::stdout(&output));
    assert_eq!(
        created["data"]["attributes"]["publicKey"],
        test_keys::PUBLIC
    );
}

#[test]
fn api_errors_are_rendered_with_status_code_pointer_and_hint() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    dir.write("p384.pem", test_keys::P384_PUBLIC);
    let output = api(
        &dir,
        &server,
        &["keys", "create", "--public-key", "p384.pem"],
    );
    // The CLI refuses the key before sending it: the same words the server would use.
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("P-384"), "{}", stderr(&output));

    dir.write("public_key.pem", test_keys::PUBLIC);
    let first = api_ok(&dir, &server, &["keys", "create"]);
    let existing = first["data"]["id"].as_str().unwrap();
    dir.altdist_ok(&["keygen", "--out", "second.pem"]);
    let output = api(
        &dir,
        &server,
        &["keys", "create", "--public-key", "second.pem"],
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("uploading only its public half"),
        "{message}"
    );
    assert!(message.contains("\nerror: 409 ENTITY_ERROR: "), "{message}");
    assert!(
        message.contains(&format!(
            "hint: delete the existing key first with `altdist keys delete {existing}`"
        )),
        "{message}"
    );

    let output = dir.altdist(&[
        "keys",
        "list",
        "--base-url",
        &server.url,
        "--key-id",
        "ZZZZZZZZZZ",
        "--issuer-id",
        "57246542-96fe-1a63-e053-0824d011072a",
        "--private-key",
        "second.pem",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("error: 401 NOT_AUTHORIZED"), "{message}");
    assert!(message.contains("hint: check the clock"), "{message}");

    let developer = json(&server.admin(
        &dir,
        &[
            "api-key",
            "create",
            "--role",
            "DEVELOPER",
            "--out",
            &dir.join("dev.p8").display().to_string(),
            "--json",
        ],
    ));
    let output = dir.altdist(&[
        "domains",
        "add",
        "--domain",
        "example.com",
        "--reference-name",
        "Example",
        "--base-url",
        &server.url,
        "--key-id",
        developer["key_id"].as_str().unwrap(),
        "--issuer-id",
        developer["issuer_id"].as_str().unwrap(),
        "--private-key",
        "dev.p8",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("error: 403 FORBIDDEN_ERROR"), "{message}");
    assert!(message.contains("needs an ADMIN key"), "{message}");

    let output = dir.altdist(&[
        "keys",
        "list",
        "--base-url",
        "http://127.0.0.1:9",
        "--credentials",
        &server.credentials(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("hint: is the server running"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn all_follows_cursors_over_more_than_200_resources() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    for n in 0..205 {
        let domain = format!("d{n}.example.com");
        let output = api(
            &dir,
            &server,
            &[
                "domains",
                "add",
                "--domain",
                &domain,
                "--reference-name",
                "bulk",
            ],
        );
        assert!(output.status.success(), "{}", util::describe(&output));
    }
    let page = api_ok(&dir, &server, &["domains", "list", "--limit", "200"]);
    assert_eq!(page["data"].as_array().unwrap().len(), 200);
    assert!(page["links"]["next"].is_string());

    let all = api_ok(
        &dir,
        &server,
        &["domains", "list", "--limit", "60", "--all"],
    );
    let domains = all["data"].as_array().unwrap();
    assert_eq!(domains.len(), 205);
    let mut ids: Vec<&str> = domains
        .iter()
        .map(|domain| domain["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 205, "no resource twice");
    assert!(all["links"].get("next").is_none());
    assert_eq!(all["meta"]["paging"]["total"], 205);
}

/// Answers the first `failures` connections with a 429 (as Apple does when a key's budget is
/// spent) and passes every later one through to `upstream` unchanged.
fn throttling_proxy(upstream: String, failures: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(mut client) = client else { continue };
            if n < failures {
                let mut request = [0u8; 8192];
                let _ = client.read(&mut request);
                let body = r#"{"errors":[{"status":"429","code":"RATE_LIMIT_EXCEEDED","title":"The request rate limit has been reached.","detail":"slow down"}]}"#;
                let _ = write!(
                    client,
                    "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\nx-rate-limit: user-hour-lim:3600;user-hour-rem:0;\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                continue;
            }
            let Ok(server) = TcpStream::connect(upstream.trim_start_matches("http://")) else {
                continue;
            };
            let (mut client_reader, mut server_writer) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut client_reader, &mut server_writer));
            let (mut server_reader, mut client_writer) = (server, client);
            std::thread::spawn(move || std::io::copy(&mut server_reader, &mut client_writer));
        }
    });
    format!("http://{address}")
}

/// Answers every request with `status` and the JSON `body`, as a server other than altdist might.
fn answering(status: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let mut request = [0u8; 8192];
            let _ = client.read(&mut request);
            let _ = write!(
                client,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

/// The hints read the error's typed members (code, `source.pointer`, `links.associated`), not
/// the wording of `detail`: here `detail` names another key and never says "public".
// See: issue #13, "Typed CLI hints".
#[test]
fn hints_come_from_the_errors_typed_members_not_its_detail() {
    let dir = Dir::new();
    dir.write("api.p8", test_keys::PKCS8_PRIVATE);
    dir.write("public_key.pem", test_keys::PUBLIC);
    let create_key = |base_url: &str| {
        dir.altdist(&[
            "keys",
            "create",
            "--base-url",
            base_url,
            "--key-id",
            "2X9R4HXF34",
            "--issuer-id",
            "57246542-96fe-1a63-e053-0824d011072a",
            "--private-key",
            "api.p8",
        ])
    };
    let existing = "0b5a8a3c-3f42-4f6e-9a57-1c1d2e3f4a5b";
    let decoy = "6f06a6a4-0000-4000-8000-000000000000";
    let duplicate = answering(
        "409 Conflict",
        serde_json::json!({"errors": [{
            "status": "409",
            "code": "ENTITY_ERROR",
            "title": "The provided entity includes an attribute with an invalid value or is a duplicate.",
            "detail": format!("a key exists already (not {decoy})"),
            "links": {"associated": format!("https://api.example.com/v1/alternativeDistributionKeys/{existing}")},
        }]})
        .to_string(),
    );
    let output = create_key(&duplicate);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "hint: delete the existing key first with `altdist keys delete {existing}`"
        )),
        "{message}"
    );

    let unnamed = answering(
        "409 Conflict",
        serde_json::json!({"errors": [{
            "status": "409",
            "code": "ENTITY_ERROR",
            "title": "A duplicate.",
            "detail": format!("a key exists already ({decoy})"),
        }]})
        .to_string(),
    );
    let message = stderr(&create_key(&unnamed));
    assert!(message.contains("error: 409 ENTITY_ERROR"), "{message}");
    assert!(!message.contains("hint:"), "no id, no guess: {message}");

    let not_a_key = answering(
        "409 Conflict",
        serde_json::json!({"errors": [{
            "status": "409",
            "code": "ENTITY_ERROR.ATTRIBUTE.INVALID",
            "title": "An attribute value is invalid.",
            "detail": "not a key at all",
            "source": {"pointer": "/data/attributes/publicKey"},
        }]})
        .to_string(),
    );
    let message = stderr(&create_key(&not_a_key));
    assert!(
        message.contains("hint: upload the public key made by `altdist pubkey"),
        "{message}"
    );
}

#[test]
fn retries_429_honouring_retry_after() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    let proxy = throttling_proxy(server.url.clone(), 2);
    let output = dir.altdist(&[
        "apps",
        "list",
        "-v",
        "--base-url",
        &proxy,
        "--credentials",
        &server.credentials(),
        "--output",
        "json",
    ]);
    assert!(output.status.success(), "{}", util::describe(&output));
    let log = stderr(&output);
    assert!(log.contains("-> 429 Too Many Requests"), "{log}");
    assert!(log.contains("attempt 3"), "{log}");
    assert!(
        !log.contains("Bearer") && !log.contains("eyJ"),
        "the token never appears: {log}"
    );
    json(&util::stdout(&output));

    let always = throttling_proxy(server.url.clone(), usize::MAX);
    let output = dir.altdist(&[
        "apps",
        "list",
        "--base-url",
        &always,
        "--credentials",
        &server.credentials(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error: 429 RATE_LIMIT_EXCEEDED: slow down"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn setup_web_distribution_is_idempotent() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    let app = server.create_app(&dir, "Web App", "com.example.web");
    let first = api_ok(
        &dir,
        &server,
        &[
            "setup",
            "web-distribution",
            "--app",
            &app,
            "--domain",
            "example.com",
        ],
    );
    assert_eq!(first["private_key_created"], true);
    assert_eq!(first["key_created"], true);
    assert_eq!(first["domain_created"], true);
    let key_id = first["key_id"].as_str().unwrap();
    assert_eq!(dir.read("public_key.pem"), dir.altdist_ok(&["pubkey"]));

    dir.write("public.pem", dir.read("public_key.pem"));
    let token = first["sample_install_token"].as_str().unwrap();
    let report = dir.altdist_ok(&[
        "token",
        "verify",
        token,
        "--public-key",
        "public.pem",
        "--kid",
        key_id,
        "--iss",
        &app,
        "--bid",
        "com.example.web",
    ]);
    assert!(
        report.contains("valid install verification token"),
        "{report}"
    );

    let second = api_ok(
        &dir,
        &server,
        &[
            "setup",
            "web-distribution",
            "--app",
            &app,
            "--domain",
            "example.com",
        ],
    );
    assert_eq!(second["private_key_created"], false);
    assert_eq!(second["key_created"], false);
    assert_eq!(second["domain_created"], false);
    assert_eq!(second["key_id"], key_id);
    assert_eq!(second["domain_id"], first["domain_id"]);

    std::fs::remove_file(dir.join("public_key.pem")).unwrap();
    dir.altdist_ok(&["keygen", "--out", "other.pem"]);
    let output = api(
        &dir,
        &server,
        &[
            "setup",
            "web-distribution",
            "--app",
            &app,
            "--domain",
            "example.com",
            "--private-key",
            "other.pem",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!(
            "already has alternative distribution key {key_id}"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn login_records_a_profile_without_the_key() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    server.create_app(&dir, "Profiled", "com.example.profiled");
    dir.altdist_ok(&[
        "login",
        "--profile",
        "local",
        "--credentials",
        &server.credentials(),
    ]);
    let config = dir.read("config.json");
    assert!(!config.contains("PRIVATE KEY"), "{config}");
    let listed = dir.altdist_ok(&[
        "apps",
        "list",
        "--profile",
        "local",
        "--output",
        "json",
        "--bundle-id",
        "com.example.profiled",
    ]);
    assert_eq!(json(&listed)["data"][0]["attributes"]["name"], "Profiled");
    let with_json_flag = dir.altdist_ok(&["apps", "list", "--profile", "local", "--json"]);
    assert_eq!(json(&with_json_flag)["meta"]["paging"]["total"], 1);
    let table = dir.altdist_ok(&["apps", "list", "--profile", "local", "--output", "table"]);
    assert!(
        table.starts_with("APPLE ID") && table.contains("com.example.profiled"),
        "{table}"
    );

    let output = dir.altdist(&["apps", "list", "--profile", "missing"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("altdist login --profile missing"),
        "{}",
        stderr(&output)
    );
}
