//! `altdist serve` as a process: a 201 survives SIGKILL, and SIGTERM shuts down cleanly.
//!
//! Plain HTTP/1.1 over `std::net`, so this test needs nothing beyond the CLI's own dependencies.

mod util;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use altdist::credentials::CredentialsFile;
use altdist::{ApiTokenClaims, PrivateKey, TokenSigner};
use util::TestServer;

/// Starts `altdist serve` on a free port and waits for its ready line.
fn start(data_dir: &Path) -> TestServer {
    let server = TestServer::spawn(data_dir, &[]);
    assert!(
        server.database.starts_with("sqlite://"),
        "{}",
        server.database
    );
    server
}

/// One request on a fresh connection; `None` when the server is gone.
fn request(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let body = body.unwrap_or("");
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
    Some((status, body))
}

fn signer(data_dir: &Path) -> (TokenSigner, String) {
    let credentials = CredentialsFile::load(data_dir.join("credentials.json")).unwrap();
    let key = PrivateKey::load(&credentials.private_key_path).unwrap();
    (
        TokenSigner::new(key, Some(&credentials.key_id)),
        credentials.issuer_id.unwrap(),
    )
}

fn token(signer: &TokenSigner, issuer: &str) -> String {
    let claims =
        ApiTokenClaims::team(issuer, altdist::jwt::unix_now(), Duration::from_secs(600)).unwrap();
    signer.sign(&claims).unwrap()
}

#[test]
fn every_acknowledged_create_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let (signer, issuer) = signer(dir.path());
    let token = token(&signer, &issuer);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));

    // Several writers, so that creates are in flight when the process dies.
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (address, token) = (server.address().to_owned(), token.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let body = format!(
                        r#"{{"data": {{"type": "alternativeDistributionDomains", "attributes": {{"domain": "d{writer}-{n}.example.com", "referenceName": "crash {n}"}}}}}}"#
                    );
                    match request(&address, "POST", "/v1/alternativeDistributionDomains", &token, Some(&body)) {
                        Some((201, body)) => {
                            let document: serde_json::Value = serde_json::from_str(&body).unwrap();
                            let id = document["data"]["id"].as_str().unwrap().to_owned();
                            acknowledged.lock().unwrap().push(id);
                        }
                        Some((status, body)) => panic!("create answered {status}: {body}"),
                        None => break,
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the creates are too slow"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL: no chance to flush anything
    server.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    drop(server);

    let server = start(dir.path());
    let token = token_for(dir.path());
    for id in &acknowledged {
        let (status, body) = request(
            server.address(),
            "GET",
            &format!("/v1/alternativeDistributionDomains/{id}"),
            &token,
            None,
        )
        .unwrap();
        assert_eq!(
            status, 200,
            "acknowledged domain {id} is gone after the crash: {body}"
        );
    }
    let (status, body) = request(
        server.address(),
        "GET",
        "/v1/alternativeDistributionDomains?limit=1",
        &token,
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let total =
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["meta"]["paging"]["total"]
            .as_u64()
            .unwrap();
    assert!(
        total >= acknowledged.len() as u64,
        "{total} stored, {} acknowledged",
        acknowledged.len()
    );
}

fn token_for(data_dir: &Path) -> String {
    let (signer, issuer) = signer(data_dir);
    token(&signer, &issuer)
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let token = token_for(dir.path());
    let (status, _) = request(server.address(), "GET", "/v1/apps", &token, None).unwrap();
    assert_eq!(status, 200);
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(
                status.success(),
                "altdist serve exited with {status} on SIGTERM"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "altdist serve ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first start wrote credentials; a second start on the same data keeps them.
    let credentials = std::fs::read_to_string(dir.path().join("credentials.json")).unwrap();
    let again = start(dir.path());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("credentials.json")).unwrap(),
        credentials
    );
    let (status, _) = request(again.address(), "GET", "/health", "", None).unwrap();
    assert_eq!(status, 200);
}

/// A SQLite database serves one process (the sandbox remembers nonces in its memory): a second
/// `altdist serve` on it is refused with what to do instead, and a killed server's claim dies
/// with it.
#[test]
fn a_second_server_on_one_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = start(dir.path());
    let mut second = Command::new(env!("CARGO_BIN_EXE_altdist"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            second.kill().unwrap();
            panic!("a second altdist serve ran on the first one's SQLite database");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("another altdist serve is running") && stderr.contains("--data-dir"),
        "{stderr}"
    );
    let (status, _) = request(first.address(), "GET", "/health", "", None).unwrap();
    assert_eq!(status, 200, "the first server is unharmed");

    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let again = start(dir.path());
    let (status, _) = request(again.address(), "GET", "/health", "", None).unwrap();
    assert_eq!(status, 200);
}
