//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::config::{self, DEFAULT_DATA_DIR};
use crate::db::Db;
use crate::package_store::{self, PackageStore};
use crate::sandbox::Sandbox;
use crate::webhooks::TargetPolicy;

/// The state behind the router; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The base of every link the server writes, like `https://api.example.com`, no trailing `/`.
    pub public_url: Arc<str>,
    /// API keys, verified tokens and rate limits.
    pub auth: Arc<Authenticator>,
    /// The sandbox's parsed keys.
    pub sandbox: Arc<Sandbox>,
    /// Whether the sandbox's site check may reach loopback and private addresses.
    pub allow_private_targets: bool,
    /// Package files and their download URLs.
    pub packages: Arc<PackageStore>,
    /// Where webhook deliveries may go (`crate::webhooks::targets`).
    pub webhook_targets: TargetPolicy,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db.describe())
            .field("public_url", &self.public_url)
            .field("rate_limit", &self.auth.rate_limiter().limit())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State with a rate limiter of `rate_limit` requests per key per hour, counted in the
    /// database (this starts its sync task, so it needs a Tokio runtime).
    pub fn new(db: Db, public_url: &str, rate_limit: u32) -> Self {
        Self {
            auth: Arc::new(Authenticator::new(db.clone(), rate_limit)),
            db,
            public_url: public_url.trim_end_matches('/').into(),
            sandbox: Arc::default(),
            allow_private_targets: false,
            packages: Arc::new(PackageStore::new(
                config::package_dir(DEFAULT_DATA_DIR.as_ref()),
                package_store::DEFAULT_URL_TTL,
            )),
            webhook_targets: TargetPolicy { private: false },
        }
    }

    /// The same state, its package files in `store`.
    #[must_use]
    pub fn with_package_store(mut self, store: PackageStore) -> Self {
        self.packages = Arc::new(store);
        self
    }

    /// The same state, its site check and webhook deliveries allowed (or not) to reach loopback
    /// and private addresses (`--allow-private-targets`).
    #[must_use]
    pub fn with_private_targets(mut self, allow: bool) -> Self {
        self.allow_private_targets = allow;
        self.webhook_targets.private = allow;
        self
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}
