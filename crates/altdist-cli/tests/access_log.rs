//! `altdist serve`'s access log as an operator reads it: one line per answered request, none lost
//! to SIGTERM, no colour in a file, no token, and JSON lines with `--log-format json`.
//!
//! Plain HTTP/1.1 over `std::net`, with keep-alive, so the load is real without a client crate.

mod util;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use altdist::credentials::CredentialsFile;
use altdist::{ApiTokenClaims, PrivateKey, TokenSigner};
use util::{Dir, TestServer};

/// `altdist serve` with the default log level and stderr into `dir/stderr.log`.
fn start(dir: &Dir, configure: impl FnOnce(&mut Command)) -> TestServer {
    let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
    TestServer::spawn_with(&dir.join("data"), &[], |command| {
        command.env_remove("RUST_LOG").stderr(log);
        configure(command);
    })
}

fn token(data_dir: &Path) -> String {
    let credentials = CredentialsFile::load(data_dir.join("credentials.json")).unwrap();
    let key = PrivateKey::load(&credentials.private_key_path).unwrap();
    let signer = TokenSigner::new(key, Some(&credentials.key_id));
    let claims = ApiTokenClaims::team(
        credentials.issuer_id.as_deref().unwrap(),
        altdist::jwt::unix_now(),
        Duration::from_secs(600),
    )
    .unwrap();
    signer.sign(&claims).unwrap()
}

/// An answer: status, the `x-request-id` header, the body.
struct Answer {
    status: u16,
    request_id: String,
    body: String,
}

/// One request on a keep-alive connection; `None` once the server closed it.
fn send(stream: &mut BufReader<TcpStream>, path: &str, headers: &[(&str, &str)]) -> Option<Answer> {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.get_mut().write_all(head.as_bytes()).ok()?;
    let mut status_line = String::new();
    if stream.read_line(&mut status_line).ok()? == 0 {
        return None;
    }
    let status = status_line.get(9..12)?.parse().ok()?;
    let (mut length, mut request_id) = (0, String::new());
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "x-request-id" => request_id = value.trim().to_owned(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    Some(Answer {
        status,
        request_id,
        body: String::from_utf8(body).ok()?,
    })
}

fn connect(server: &TestServer) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(server.address()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    BufReader::new(stream)
}

fn sigterm_and_wait(server: &mut TestServer) -> ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "altdist serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The access lines of a text log: those of the access target.
fn access_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("altdist_server::access"))
        .collect()
}

#[cfg(unix)]
#[test]
fn sigterm_under_load_loses_no_access_log_line() {
    const CLIENTS: usize = 4;
    const BEFORE_SIGTERM: usize = 2_000;
    let dir = Dir::new();
    let mut server = start(&dir, |_| {});
    let token = Arc::new(token(&dir.join("data")));
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (mut stream, token, answered) =
                (connect(&server), Arc::clone(&token), Arc::clone(&answered));
            std::thread::spawn(move || {
                let authorization = format!("Bearer {token}");
                let headers = [("Authorization", authorization.as_str())];
                let mut answers = Vec::new();
                // Until the server closes the connection: it answers what it accepted, then
                // closes.
                while let Some(answer) = send(&mut stream, "/v1/apps", &headers) {
                    assert_eq!(answer.status, 200, "{}", answer.body);
                    answers.push(answer.request_id);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                answers
            })
        })
        .collect();
    let started = Instant::now();
    while answered.load(Ordering::Relaxed) < BEFORE_SIGTERM {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server answered only {} requests in a minute",
            answered.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = sigterm_and_wait(&mut server);
    assert!(status.success(), "altdist serve exited with {status}");
    let request_ids: Vec<String> = clients
        .into_iter()
        .flat_map(|client| client.join().unwrap())
        .collect();
    assert!(request_ids.len() >= BEFORE_SIGTERM);

    let log = dir.read("stderr.log");
    let lines = access_lines(&log);
    let mut logged = std::collections::HashSet::new();
    for line in &lines {
        assert!(line.contains("status=200"), "{line}");
        let id = line
            .split("request_id=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no request id in {line:?}"));
        assert!(logged.insert(id), "two access lines for request {id}");
    }
    let missing: Vec<_> = request_ids
        .iter()
        .filter(|id| !logged.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered requests have no access line, e.g. {:?}",
        missing.len(),
        request_ids.len(),
        missing.first()
    );
    assert!(!log.contains('\x1b'), "colour escapes in a file");
    assert!(!log.contains(token.as_str()), "the bearer token was logged");
    assert!(!log.contains("dropped"), "lines were dropped: {log}");
}

#[test]
fn json_lines_carry_each_request_and_never_the_token() {
    let dir = Dir::new();
    let mut server = start(&dir, |command| {
        command.env("ALTDIST_LOG_FORMAT", "json");
    });
    let token = token(&dir.join("data"));
    let authorization = format!("Bearer {token}");
    let mut stream = connect(&server);
    let ok = send(
        &mut stream,
        "/v1/apps?limit=5",
        &[("Authorization", &authorization)],
    )
    .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body);
    let refused = send(
        &mut stream,
        "/v1/apps",
        &[
            ("Authorization", "Bearer not-a-token"),
            ("x-request-id", "client-chose-this-id"),
        ],
    )
    .unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.request_id, "client-chose-this-id");
    drop(stream);
    assert!(sigterm_and_wait(&mut server).success());

    let log = dir.read("stderr.log");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let access: Vec<_> = lines
        .iter()
        .filter(|line| line["target"] == "altdist_server::access")
        .collect();
    assert_eq!(access.len(), 2, "{log}");
    for (line, (answer, status)) in access.iter().zip([(&ok, 200), (&refused, 401)]) {
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["status"], status);
        assert!(line["latency_us"].is_u64(), "{line}");
        assert_eq!(line["request_id"], answer.request_id.as_str());
        assert_eq!(line["method"], "GET");
        assert_eq!(line["path"], "/v1/apps", "the query stays out");
    }
    assert!(!log.contains(&token) && !log.contains("not-a-token") && !log.contains("Bearer"));
}
