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
        ] {
            command.env_remove(name);
        }
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
