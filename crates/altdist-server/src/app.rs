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
                package_store::DEFAULT_URL_LIFETIME,
            )),
            webhook_targets: TargetPolicy {
                private: false,
                loopback: is_loopback_url(public_url),
            },
        }
    }

    /// The same state, its package files in `store`.
    #[must_use]
    pub fn with_package_store(mut self, store: PackageStore) -> Self {
        self.packages = Arc::new(store);
        self
    }

    /// The same state, its site check allowed (or not) to reach private addresses.
    #[must_use]
    pub fn with_private_targets(mut self, allow: bool) -> Self {
        self.allow_private_targets = allow;
        self.webhook_targets.private = allow;
        self
    }

    /// The same state, its webhooks allowed to reach loopback only if `listening_on_loopback`
    /// (and its public URL is loopback, as [`Self::new`] checked): see `crate::webhooks::targets`.
    #[must_use]
    pub fn listening_on(mut self, listening_on_loopback: bool) -> Self {
        self.webhook_targets.loopback &= listening_on_loopback;
        self
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// Whether `url`'s host is this machine over loopback (`localhost`, 127.0.0.0/8, `::1`).
fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|url| match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(v4)) => v4.is_loopback(),
        Some(url::Host::Ipv6(v6)) => v6.is_loopback(),
        None => false,
    })
}
