//! [`AppState`]: what every handler shares.

use std::sync::Arc;
use std::time::Duration;

use altdist::resource::ApiKeyId;

use crate::auth::TokenCache;
use crate::db::{self, Db};
use crate::rate_limit::RateLimiter;

/// How often a server checks the database for API keys revoked by another process.
///
/// Tokens of a revoked key are refused by every server within this (plus one query) of the
/// revocation: well within the promised second.
pub const REVOCATION_POLL: Duration = Duration::from_millis(250);

/// The state behind the router; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The base of every link the server writes, like `https://api.example.com`, no trailing `/`.
    pub public_url: Arc<str>,
    /// Verified API tokens.
    pub tokens: Arc<TokenCache>,
    /// The per-key request budget.
    pub rate_limiter: Arc<RateLimiter>,
    /// The sandbox's parsed keys and nonce pruning.
    pub sandbox: Arc<crate::sandbox::Sandbox>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db.describe())
            .field("public_url", &self.public_url)
            .field("rate_limit", &self.rate_limiter.limit())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State with a rate limiter of `rate_limit` requests per key per hour, counted in the
    /// database (this starts its sync task, so it needs a Tokio runtime).
    pub fn new(db: Db, public_url: &str, rate_limit: u32) -> Self {
        Self {
            rate_limiter: RateLimiter::start(db.clone(), rate_limit),
            db,
            public_url: public_url.trim_end_matches('/').into(),
            tokens: Arc::new(TokenCache::default()),
            sandbox: Arc::default(),
        }
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// Revokes an API key: in the database, and in the token cache at once.
    pub async fn revoke_api_key(&self, id: &ApiKeyId) -> db::Result<bool> {
        let revoked = db::api_keys::revoke(&self.db, id).await?;
        self.tokens.revoke(id);
        Ok(revoked)
    }

    /// Watches the database for keys revoked by another process (`altdist admin api-key
    /// revoke`) and drops the cached tokens when one is: within `every` of the revocation.
    pub fn spawn_revocation_watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut last = db::api_keys::revoked_count(&state.db).await.ok();
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                match db::api_keys::revoked_count(&state.db).await {
                    Ok(count) if Some(count) != last => {
                        state.tokens.clear();
                        last = Some(count);
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!("cannot check for revoked API keys: {err}"),
                }
            }
        })
    }
}
