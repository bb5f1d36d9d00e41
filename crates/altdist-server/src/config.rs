//! [`Config`]: how `altdist serve` is set up, from flags and `ALTDIST_*` variables.

use std::path::PathBuf;
use std::time::Duration;

use crate::db::Db;
use crate::package_store;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "altdist-data";
/// The default budget of requests per API key per rolling hour (App Store Connect's).
pub const DEFAULT_RATE_LIMIT: u32 = 3600;

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Where the embedded database, the first API key and `credentials.json` live.
    pub data_dir: PathBuf,
    /// The database; `None` for `sqlite://<data_dir>/altdist.db`.
    pub database_url: Option<String>,
    /// The base of every link; `None` for `http://<bound address>`.
    pub public_url: Option<String>,
    /// Requests per API key per rolling hour.
    pub rate_limit: u32,
    /// Whether the sandbox's site check and webhook deliveries may reach loopback and private
    /// addresses; off, the server refuses to be turned against its own network by a URL a
    /// caller names (`crate::webhooks::targets` has the webhooks' rule).
    pub allow_private_targets: bool,
    /// Where package files live; `None` for `<data_dir>/packages`. Servers sharing a PostgreSQL
    /// database must share this directory too (a network volume).
    pub package_dir: Option<PathBuf>,
    /// How long a package download URL works.
    pub download_url_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_owned(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            public_url: None,
            rate_limit: DEFAULT_RATE_LIMIT,
            allow_private_targets: false,
            package_dir: None,
            download_url_ttl: package_store::DEFAULT_URL_TTL,
        }
    }
}

impl Config {
    /// The package store's directory.
    pub fn package_dir(&self) -> PathBuf {
        self.package_dir
            .clone()
            .unwrap_or_else(|| package_dir(&self.data_dir))
    }

    /// The database URL to open.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| Db::default_url(&self.data_dir))
    }
}

/// The default package store of a data directory.
pub fn package_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("packages")
}
