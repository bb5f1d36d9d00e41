//! [`Config`]: how `altdist serve` is set up, from flags and `ALTDIST_*` variables.

use std::path::PathBuf;

use crate::db::Db;

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
        }
    }
}

impl Config {
    /// The database URL to open.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| Db::default_url(&self.data_dir))
    }
}
