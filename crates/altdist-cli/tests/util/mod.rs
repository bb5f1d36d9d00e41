//! Runs the built `altdist` binary in a temporary directory.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary working directory for one test.
pub struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.join(name)).expect("read test file")
    }

    /// Runs `altdist args...` here, with no ASC_* variables leaking in from the environment.
    pub fn altdist(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_altdist"));
        command
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null());
        for name in [
            "ASC_KEY_ID",
            "ASC_ISSUER_ID",
            "ASC_PRIVATE_KEY_PATH",
            "ASC_PRIVATE_KEY",
            "ALTDIST_PROFILE",
            "ALTDIST_BASE_URL",
            "ALTDIST_DATA_DIR",
            "ALTDIST_DATABASE_URL",
        ] {
            command.env_remove(name);
        }
        // Profiles live in the test's directory, never in the user's real configuration.
        command.env("ALTDIST_CONFIG", self.join("config.json"));
        command.output().expect("run altdist")
    }

    /// Runs altdist and returns stdout, failing the test unless it exits 0.
    pub fn altdist_ok(&self, args: &[&str]) -> String {
        let output = self.altdist(args);
        assert!(
            output.status.success(),
            "altdist {args:?} failed: {}",
            describe(&output)
        );
        String::from_utf8(output.stdout).expect("utf-8 stdout")
    }

    /// Runs `openssl args...` here; `None` when openssl is not installed (outside CI).
    pub fn openssl(&self, args: &[&str]) -> Option<Output> {
        match Command::new("openssl")
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .output()
        {
            Ok(output) => Some(output),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "openssl is not installed; CI needs it"
                );
                eprintln!("NOTICE: openssl is not installed; skipping an interop test");
                None
            }
            Err(err) => panic!("cannot run openssl: {err}"),
        }
    }

    /// Runs openssl and returns stdout, failing the test unless it exits 0.
    pub fn openssl_ok(&self, args: &[&str]) -> Option<Vec<u8>> {
        let output = self.openssl(args)?;
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            describe(&output)
        );
        Some(output.stdout)
    }
}

/// JWS carries ECDSA signatures as fixed 32-byte `r || s`; openssl reads and writes DER.
pub fn raw_to_der(raw: &[u8]) -> Vec<u8> {
    let integer = |bytes: &[u8]| {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut out = vec![0x02];
        let needs_pad = trimmed.first().is_none_or(|b| b & 0x80 != 0);
        out.push(u8::try_from(trimmed.len() + usize::from(needs_pad)).unwrap());
        if needs_pad {
            out.push(0);
        }
        out.extend(trimmed);
        out
    };
    let body = [integer(&raw[..32]), integer(&raw[32..])].concat();
    [vec![0x30, u8::try_from(body.len()).unwrap()], body].concat()
}

pub fn der_to_raw(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30, "a DER SEQUENCE");
    let mut rest = &der[2..];
    let mut raw = Vec::new();
    for _ in 0..2 {
        assert_eq!(rest[0], 0x02, "a DER INTEGER");
        let len = usize::from(rest[1]);
        let value: Vec<u8> = rest[2..2 + len]
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        raw.extend(std::iter::repeat_n(0, 32 - value.len()));
        raw.extend(value);
        rest = &rest[2 + len..];
    }
    raw
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A real `altdist serve` process on 127.0.0.1, killed (SIGKILL) and reaped when dropped.
pub struct TestServer {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`, from the ready line.
    pub url: String,
    /// What the ready line says of the database, e.g. `sqlite:///tmp/.../altdist.db`.
    pub database: String,
    pub data_dir: PathBuf,
}

impl TestServer {
    /// Starts the server on a SQLite database in `dir/data` and waits for its ready line.
    pub fn start(dir: &Dir, extra: &[&str]) -> Self {
        Self::spawn(&dir.join("data"), extra)
    }

    /// Starts `altdist serve --listen 127.0.0.1:0 --data-dir DATA_DIR EXTRA...` and waits for
    /// its ready line. No `ALTDIST_*` variable of the caller's environment leaks in.
    pub fn spawn(data_dir: &Path, extra: &[&str]) -> Self {
        Self::spawn_with(data_dir, extra, |_| {})
    }

    /// [`Self::spawn`], with `configure` given the command last (to set the environment or
    /// stderr).
    pub fn spawn_with(
        data_dir: &Path,
        extra: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Self {
        use std::io::BufRead as _;
        let mut command = Command::new(env!("CARGO_BIN_EXE_altdist"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for name in [
            "ALTDIST_DATABASE_URL",
            "ALTDIST_PUBLIC_URL",
            "ALTDIST_RATE_LIMIT",
            "ALTDIST_LOG_FORMAT",
            "ALTDIST_PACKAGE_DIR",
            "ALTDIST_ALLOW_PRIVATE_TARGETS",
            "ALTDIST_DOWNLOAD_URL_TTL",
            "ALTDIST_DOWNLOAD_URL_LIFETIME",
        ] {
            command.env_remove(name);
        }
        configure(&mut command);
        // Owned by `Self` from here on, so a failed assertion still kills and reaps it.
        let mut server = Self {
            child: command.spawn().expect("start altdist serve"),
            url: String::new(),
            database: String::new(),
            data_dir: data_dir.to_owned(),
        };
        let stdout = server.child.stdout.take().expect("piped stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .expect("altdist serve exited before it was ready")
                .expect("read stdout");
            let Some(rest) = line.strip_prefix("altdist listening on ") else {
                continue;
            };
            let (url, database) = rest
                .split_once(" (database ")
                .expect("URL and database in the ready line");
            server.url = url.to_owned();
            server.database = database.trim_end_matches(')').to_owned();
            break;
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        server
    }

    /// `127.0.0.1:PORT`, for plain `TcpStream` clients.
    pub fn address(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub fn credentials(&self) -> String {
        self.data_dir.join("credentials.json").display().to_string()
    }

    /// A client of this server's API, from its credentials.json.
    pub fn client(&self) -> altdist::client::Client {
        let credentials = altdist::credentials::CredentialsFile::load(self.credentials())
            .expect("credentials.json");
        let key = altdist::client::ApiKey {
            key_id: credentials.key_id,
            issuer_id: credentials.issuer_id,
            private_key: altdist::PrivateKey::load(&credentials.private_key_path).expect("API key"),
        };
        altdist::client::Client::new(&self.url, key).expect("client")
    }

    /// Runs `altdist admin ...` on this server's database; returns stdout.
    pub fn admin(&self, dir: &Dir, args: &[&str]) -> String {
        let data_dir = self.data_dir.display().to_string();
        let mut full = vec!["admin", "--data-dir", &data_dir];
        full.extend_from_slice(args);
        dir.altdist_ok(&full)
    }

    /// Creates an app and returns its Apple id.
    pub fn create_app(&self, dir: &Dir, name: &str, bundle_id: &str) -> String {
        let out = self.admin(
            dir,
            &[
                "app",
                "create",
                "--name",
                name,
                "--bundle-id",
                bundle_id,
                "--json",
            ],
        );
        let app: serde_json::Value = serde_json::from_str(&out).expect("app JSON");
        app["id"].as_str().expect("app id").to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
