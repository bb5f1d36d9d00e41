//! Webhooks with the real binaries: deliveries in flight when `altdist serve` is killed with
//! SIGKILL all arrive after a restart, signed; two servers on one PostgreSQL database deliver
//! each event once between them; `altdist webhooks listen` registers a webhook, prints the
//! verified events, forwards them, and deletes the webhook on SIGTERM.
//!
//! The receivers are plain HTTP/1.1 over `std::net` threads.

mod util;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use altdist::credentials::CredentialsFile;
use altdist::{ApiTokenClaims, PrivateKey, TokenSigner};
use serde_json::{Value, json};
use util::{Dir, TestServer};

const SECRET: &str = "a test secret, not a real one";

/// A request as received: its `x-apple-signature` and its body.
type Request = (String, Vec<u8>);

/// A receiver: each request's `x-apple-signature` and body, recorded when it arrives; while
/// `hang` is set it holds its answer back, so that deliveries are in flight.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Request>>>,
    hang: Arc<AtomicBool>,
}

impl Receiver {
    fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let receiver = self.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let receiver = receiver.clone();
                std::thread::spawn(move || receiver.serve(stream));
            }
        });
        format!("http://{address}/hook")
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        loop {
            let mut length = 0;
            let mut signature = String::new();
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let header = line.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    if name.eq_ignore_ascii_case("x-apple-signature") {
                        signature = value.trim().to_owned();
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            self.received.lock().unwrap().push((signature, body));
            while self.hang.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if reader.get_mut().write_all(answer).is_err() {
                return;
            }
        }
    }

    fn bodies(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }
}

/// One request on a fresh connection; `None` when the server is gone.
fn request(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())?;
    Some((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

fn token(data_dir: &Path) -> String {
    let credentials = CredentialsFile::load(data_dir.join("credentials.json")).unwrap();
    let key = PrivateKey::load(&credentials.private_key_path).unwrap();
    let signer = TokenSigner::new(key, Some(&credentials.key_id));
    let claims = ApiTokenClaims::team(
        credentials.issuer_id.as_deref().unwrap(),
        altdist::jwt::unix_now(),
        Duration::from_secs(900),
    )
    .unwrap();
    signer.sign(&claims).unwrap()
}

fn event_id(body: &[u8]) -> String {
    let payload: Value = serde_json::from_slice(body).unwrap();
    payload["data"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn deliveries_in_flight_at_sigkill_all_arrive_after_a_restart() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &["--allow-private-targets"]);
    let app = server.create_app(&dir, "Crash App", "com.example.crash");
    let token = token(&server.data_dir);
    let receiver = Receiver::default();
    receiver.hang.store(true, Ordering::SeqCst);
    let url = receiver.start();
    let (status, created) = request(
        server.address(),
        "POST",
        "/v1/webhooks",
        &token,
        Some(&json!({"data": {"type": "webhooks",
            "attributes": {"enabled": true, "eventTypes": ["ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED"], "name": "crash", "secret": SECRET, "url": url},
            "relationships": {"app": {"data": {"type": "apps", "id": app}}}}})),
    )
    .unwrap();
    assert_eq!(status, 201, "{created}");
    let webhook = created["data"]["id"].as_str().unwrap().to_owned();
    let ping = json!({"data": {"type": "webhookPings", "relationships": {"webhook": {"data": {"type": "webhooks", "id": webhook}}}}});
    let mut pings = HashSet::new();
    for _ in 0..10 {
        let (status, answer) = request(
            server.address(),
            "POST",
            "/v1/webhookPings",
            &token,
            Some(&ping),
        )
        .unwrap();
        assert_eq!(status, 201, "{answer}");
        pings.insert(answer["data"]["id"].as_str().unwrap().to_owned());
    }
    let started = Instant::now();
    while receiver.bodies().len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no delivery started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL, with deliveries waiting for their answers
    server.child.wait().unwrap();
    receiver.hang.store(false, Ordering::SeqCst);

    // The variable instead of the flag, as a container would set it.
    let again = TestServer::spawn_with(&server.data_dir, &[], |command| {
        command.env("ALTDIST_ALLOW_PRIVATE_TARGETS", "1");
    });
    let started = Instant::now();
    loop {
        let arrived: HashSet<String> = receiver
            .bodies()
            .iter()
            .map(|(signature, body)| {
                assert!(
                    altdist::webhook::verify(SECRET.as_bytes(), body, signature),
                    "a delivery with a bad signature"
                );
                event_id(body)
            })
            .collect();
        if pings.is_subset(&arrived) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} of {} events arrived after the restart",
            pings.intersection(&arrived).count(),
            pings.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The deliveries API says so too, once the last answers are recorded.
    let started = Instant::now();
    loop {
        let (status, listed) = request(
            again.address(),
            "GET",
            &format!("/v1/webhooks/{webhook}/deliveries?filter%5BdeliveryState%5D=SUCCEEDED&limit=200&include=event"),
            &token,
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{listed}");
        let delivered: HashSet<String> = listed["included"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["id"].as_str().unwrap().to_owned())
            .collect();
        if pings.is_subset(&delivered) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{listed}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
}

/// Needs `TEST_DATABASE_URL`; skips without it.
#[test]
fn two_servers_on_postgres_deliver_each_event_once_between_them() {
    let Some(server_url) = altdist_server::db::test_db::server_url() else {
        eprintln!("NOTICE: TEST_DATABASE_URL is not set; skipping the two-server webhook test");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime
        .block_on(altdist_server::db::test_db::TestDatabase::create(
            &server_url,
        ))
        .unwrap();
    let dir = Dir::new();
    let servers: Vec<TestServer> = (0..2)
        .map(|n| {
            TestServer::spawn(
                &dir.join(&format!("data{n}")),
                &["--database-url", database.url(), "--allow-private-targets"],
            )
        })
        .collect();
    // Only the first start creates the account and its key; the second server shares them.
    let first = servers
        .iter()
        .find(|server| server.data_dir.join("credentials.json").exists())
        .unwrap();
    let created = first.admin(
        &dir,
        &[
            "--database-url",
            database.url(),
            "app",
            "create",
            "--name",
            "Shared App",
            "--bundle-id",
            "com.example.shared",
            "--json",
        ],
    );
    let app: Value = serde_json::from_str(&created).unwrap();
    let app = app["id"].as_str().unwrap().to_owned();
    let token = token(&first.data_dir);
    let receiver = Receiver::default();
    let url = receiver.start();
    let (status, created) = request(
        first.address(),
        "POST",
        "/v1/webhooks",
        &token,
        Some(&json!({"data": {"type": "webhooks",
            "attributes": {"enabled": true, "eventTypes": ["ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED"], "name": "shared", "secret": SECRET, "url": url},
            "relationships": {"app": {"data": {"type": "apps", "id": app}}}}})),
    )
    .unwrap();
    assert_eq!(status, 201, "{created}");
    let ping = json!({"data": {"type": "webhookPings", "relationships": {"webhook": {"data": {"type": "webhooks", "id": created["data"]["id"]}}}}});
    let mut pings = HashSet::new();
    for n in 0..60 {
        let server = &servers[n % 2];
        let (status, answer) = request(
            server.address(),
            "POST",
            "/v1/webhookPings",
            &token,
            Some(&ping),
        )
        .unwrap();
        assert_eq!(status, 201, "{answer}");
        pings.insert(answer["data"]["id"].as_str().unwrap().to_owned());
    }
    let started = Instant::now();
    while receiver.bodies().len() < pings.len() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} of {} arrived",
            receiver.bodies().len(),
            pings.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second delivery of any of them would have come by now.
    std::thread::sleep(Duration::from_millis(500));
    let arrived: Vec<String> = receiver
        .bodies()
        .iter()
        .map(|(_, body)| event_id(body))
        .collect();
    let distinct: HashSet<String> = arrived.iter().cloned().collect();
    assert_eq!(distinct, pings);
    assert_eq!(arrived.len(), pings.len(), "an event was delivered twice");
    drop(servers);
    drop(database);
}

#[cfg(unix)]
#[test]
fn webhooks_listen_prints_verified_events_forwards_them_and_cleans_up() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &["--allow-private-targets"]);
    let app = server.create_app(&dir, "Listen App", "com.example.listen");
    let forwarded = Receiver::default();
    let forward_to = forwarded.start();
    let credentials = server.credentials();
    let mut listen = Command::new(env!("CARGO_BIN_EXE_altdist"))
        .args([
            "webhooks",
            "listen",
            "--app",
            &app,
            "--ping",
            "--json",
            "--credentials",
            &credentials,
        ])
        .args(["--forward-to", &forward_to])
        .env_remove("ALTDIST_BASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = listen.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let line = lines
        .recv_timeout(Duration::from_secs(60))
        .expect("no event printed");
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["data"]["type"], "webhookPingCreated", "{line}");

    // Forwarded: the same body, with the signature.
    let started = Instant::now();
    while forwarded.bodies().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing forwarded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (signature, body) = forwarded.bodies().remove(0);
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), event);
    assert!(signature.starts_with("hmacsha256="), "{signature}");

    let token = token(&server.data_dir);
    let listed = |server: &TestServer| {
        request(
            server.address(),
            "GET",
            &format!("/v1/apps/{app}/webhooks"),
            &token,
            None,
        )
        .unwrap()
        .1["meta"]["paging"]["total"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(listed(&server), 1);
    let killed = Command::new("kill")
        .args(["-TERM", &listen.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = listen.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "listen ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    assert_eq!(listed(&server), 0, "the webhook was deleted");
}

#[test]
fn webhooks_listen_says_how_to_let_the_server_reach_a_local_receiver() {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    let app = server.create_app(&dir, "Strict App", "com.example.strict");
    let output = dir.altdist(&[
        "webhooks",
        "listen",
        "--app",
        &app,
        "--credentials",
        &server.credentials(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", util::describe(&output));
    let stderr = util::stderr(&output);
    assert!(
        stderr.contains("the server refused the URL")
            && stderr.contains("altdist serve --allow-private-targets")
            && stderr.contains("--url"),
        "{stderr}"
    );
}
