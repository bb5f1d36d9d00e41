//! Per-API-key rate limits over a rolling hour, reported in `X-Rate-Limit`.
//!
//! [`RateLimiter`] is the seam: [`InMemoryRateLimiter`] serves one process; a limiter shared by
//! several servers (in PostgreSQL, say) implements the same trait.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use altdist::resource::ApiKeyId;
use axum::http::HeaderValue;

/// The header App Store Connect reports limits in.
pub const HEADER: &str = "x-rate-limit";

/// The window limits are counted over.
pub const WINDOW: Duration = Duration::from_secs(60 * 60);

/// The outcome of asking for one request's worth of budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Requests allowed per rolling hour.
    pub limit: u32,
    /// Requests left after this one.
    pub remaining: u32,
    /// Whether this request may proceed.
    pub allowed: bool,
}

impl RateDecision {
    /// A decision for a request no key is charged for: the full budget remains.
    pub fn unmetered(limit: u32) -> Self {
        Self {
            limit,
            remaining: limit,
            allowed: true,
        }
    }

    /// `user-hour-lim:<N>;user-hour-rem:<M>;`
    pub fn header_value(&self) -> HeaderValue {
        let value = format!(
            "user-hour-lim:{};user-hour-rem:{};",
            self.limit, self.remaining
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Counts requests per API key.
pub trait RateLimiter: Send + Sync + 'static {
    /// Requests allowed per rolling hour.
    fn limit(&self) -> u32;

    /// Charges one request to `key`, if its budget allows.
    fn acquire<'a>(
        &'a self,
        key: &'a ApiKeyId,
    ) -> Pin<Box<dyn Future<Output = RateDecision> + Send + 'a>>;
}

/// A token bucket per key, refilled continuously at `limit` per hour: a rolling hour without
/// storing one timestamp per request, so memory stays one entry per key whatever the limit.
#[derive(Debug)]
pub struct InMemoryRateLimiter {
    limit: u32,
    buckets: Mutex<HashMap<ApiKeyId, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl InMemoryRateLimiter {
    /// A limiter allowing `limit` requests per rolling hour per key.
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// [`RateLimiter::acquire`] at the instant `now`.
    pub fn acquire_at(&self, key: &ApiKeyId, now: Instant) -> RateDecision {
        let capacity = f64::from(self.limit);
        let refill_per_second = capacity / WINDOW.as_secs_f64();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill_per_second).min(capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "tokens lie in 0..=limit, a u32"
        )]
        let remaining = bucket.tokens.floor() as u32;
        RateDecision {
            limit: self.limit,
            remaining,
            allowed,
        }
    }
}

impl RateLimiter for InMemoryRateLimiter {
    fn limit(&self) -> u32 {
        self.limit
    }

    fn acquire<'a>(
        &'a self,
        key: &'a ApiKeyId,
    ) -> Pin<Box<dyn Future<Output = RateDecision> + Send + 'a>> {
        let decision = self.acquire_at(key, Instant::now());
        Box::pin(std::future::ready(decision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out_and_refills_over_the_hour() {
        let limiter = InMemoryRateLimiter::new(2);
        let key = ApiKeyId("2X9R4HXF34".into());
        let start = Instant::now();
        let first = limiter.acquire_at(&key, start);
        assert_eq!((first.allowed, first.remaining), (true, 1));
        let second = limiter.acquire_at(&key, start);
        assert_eq!((second.allowed, second.remaining), (true, 0));
        assert!(!limiter.acquire_at(&key, start).allowed);
        // Half an hour refills one of the two requests.
        let later = limiter.acquire_at(&key, start + WINDOW / 2);
        assert_eq!((later.allowed, later.remaining), (true, 0));
        assert!(!limiter.acquire_at(&key, start + WINDOW / 2).allowed);
        // A full hour later the whole budget is back.
        let full = limiter.acquire_at(&key, start + WINDOW * 2);
        assert_eq!((full.allowed, full.remaining), (true, 1));
    }

    #[test]
    fn keys_have_separate_budgets() {
        let limiter = InMemoryRateLimiter::new(1);
        let now = Instant::now();
        assert!(
            limiter
                .acquire_at(&ApiKeyId("AAAAAAAAAA".into()), now)
                .allowed
        );
        assert!(
            limiter
                .acquire_at(&ApiKeyId("BBBBBBBBBB".into()), now)
                .allowed
        );
        assert!(
            !limiter
                .acquire_at(&ApiKeyId("AAAAAAAAAA".into()), now)
                .allowed
        );
    }

    #[test]
    fn header_format() {
        assert_eq!(
            RateDecision::unmetered(3600).header_value(),
            "user-hour-lim:3600;user-hour-rem:3600;"
        );
    }
}
