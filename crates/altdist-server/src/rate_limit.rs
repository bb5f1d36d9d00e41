//! Per-API-key rate limits over a rolling hour, reported in `X-Rate-Limit`.
//!
//! One semantics on every backend ([`RateLimiter`]): requests are counted per key in minute
//! buckets kept in the database (`rate_limit_counts`), and a request is allowed while the key's
//! count over the last 60 minutes is under the limit. Every server sharing the database shares
//! one budget per key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use altdist::resource::ApiKeyId;
use axum::http::HeaderValue;

use crate::db::{self, Db};

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
        // Written by hand: every response carries it, and `format!` cost a fiftieth of a key
        // read's instructions.
        let mut value = Vec::with_capacity(48);
        value.extend_from_slice(b"user-hour-lim:");
        push_decimal(&mut value, self.limit);
        value.extend_from_slice(b";user-hour-rem:");
        push_decimal(&mut value, self.remaining);
        value.push(b';');
        HeaderValue::from_maybe_shared(axum::body::Bytes::from(value))
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

fn push_decimal(out: &mut Vec<u8>, mut n: u32) {
    let mut digits = [0_u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// How often a [`RateLimiter`] writes its counts and reads everyone else's.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// Minutes in [`WINDOW`].
const WINDOW_MINUTES: i64 = 60;

/// A budget per key, counted in minute buckets in the database and shared by every server on it.
///
/// Each request is decided locally, without a round trip: allowed while the key's count in the
/// database (as last read) plus what this process charged since stays under the limit. Every
/// [`SYNC_INTERVAL`] a task adds the requests charged here to the current minute's row and reads
/// back each key's sum over the last 60 minutes, which includes every other server's requests.
///
/// The tolerance, documented in docs/API.md: a process does not see the requests other
/// processes served in roughly the last two sync intervals (what they have not written yet, and
/// what it has not read yet), so a key used through several servers at once can exceed its
/// budget by that much. A request counts for the minute it is written in, and leaves the rolling
/// hour when that minute is 60 minutes old. On one process the count is exact.
pub struct RateLimiter {
    limit: u32,
    db: Db,
    counts: Mutex<HashMap<ApiKeyId, SharedCount>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .field("db", &self.db.describe())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SharedCount {
    /// The key's sum over the window in the database, as last read.
    stored: i64,
    /// Charged here and being written; not in `stored` yet.
    writing: i64,
    /// Charged here since the last write began.
    pending: i64,
    /// The minute the key was last charged here, to forget idle keys.
    last_used: i64,
}

impl SharedCount {
    fn used(&self) -> i64 {
        self.stored + self.writing + self.pending
    }
}

fn current_minute() -> i64 {
    altdist::jwt::unix_now().div_euclid(60)
}

impl RateLimiter {
    /// A limiter of `limit` requests per key per rolling hour on `db`, without its sync task:
    /// call [`Self::sync`] to exchange counts with the database.
    pub fn new(db: Db, limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            db,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// A limiter whose task syncs it every [`SYNC_INTERVAL`] until the limiter is dropped.
    /// Needs a Tokio runtime.
    pub fn start(db: Db, limit: u32) -> Arc<Self> {
        let limiter = Arc::new(Self::new(db, limit));
        let weak: Weak<Self> = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(SYNC_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_prune = 0;
            loop {
                ticks.tick().await;
                let Some(limiter) = weak.upgrade() else {
                    return;
                };
                if let Err(err) = limiter.sync().await {
                    tracing::warn!("cannot sync the rate-limit counts: {err}");
                }
                let minute = current_minute();
                if minute != last_prune {
                    last_prune = minute;
                    if let Err(err) =
                        db::rate_limits::prune(&limiter.db, minute - WINDOW_MINUTES).await
                    {
                        tracing::warn!("cannot prune the rate-limit counts: {err}");
                    }
                }
            }
        });
        limiter
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ApiKeyId, SharedCount>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes the requests charged here since the last sync and reads every known key's count
    /// over the window, other servers' requests included.
    pub async fn sync(&self) -> db::Result<()> {
        let minute = current_minute();
        let (batch, keys) = {
            let mut counts = self.lock();
            // A key idle here for the whole window has nothing left to count.
            counts.retain(|_, count| count.last_used > minute - WINDOW_MINUTES);
            let mut batch = Vec::new();
            let mut keys = Vec::with_capacity(counts.len());
            for (key, count) in counts.iter_mut() {
                keys.push(key.as_str().to_owned());
                if count.pending > 0 {
                    count.writing += count.pending;
                    count.pending = 0;
                    batch.push((key.as_str().to_owned(), count.writing));
                }
            }
            (batch, keys)
        };
        if !batch.is_empty()
            && let Err(err) = db::rate_limits::add(&self.db, minute, &batch).await
        {
            // Not written: charge them again with the next sync.
            let mut counts = self.lock();
            for (key, _) in &batch {
                if let Some(count) = counts.get_mut(&ApiKeyId(key.clone())) {
                    count.pending += count.writing;
                    count.writing = 0;
                }
            }
            return Err(err);
        }
        let sums = db::rate_limits::sums(&self.db, minute - WINDOW_MINUTES, &keys).await;
        let mut counts = self.lock();
        match sums {
            Ok(sums) => {
                let sums: HashMap<String, i64> = sums.into_iter().collect();
                for key in keys {
                    let stored = sums.get(&key).copied().unwrap_or(0);
                    if let Some(count) = counts.get_mut(&ApiKeyId(key)) {
                        // The sum includes what was just written.
                        count.stored = stored;
                        count.writing = 0;
                    }
                }
                Ok(())
            }
            Err(err) => {
                // Written but not read back: count it as stored until the next read.
                for count in counts.values_mut() {
                    count.stored += count.writing;
                    count.writing = 0;
                }
                Err(err)
            }
        }
    }

    /// Requests allowed per rolling hour.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Charges one request to `key`, if its budget allows.
    pub async fn acquire(&self, key: &ApiKeyId) -> RateDecision {
        let minute = current_minute();
        let known = self.lock().contains_key(key);
        if !known {
            // First request of this key here: start from what the other servers counted.
            let stored = match db::rate_limits::sums(
                &self.db,
                minute - WINDOW_MINUTES,
                &[key.as_str().to_owned()],
            )
            .await
            {
                Ok(sums) => sums.first().map_or(0, |(_, sum)| *sum),
                Err(err) => {
                    // Failing open for one sync interval beats refusing every request.
                    tracing::warn!("cannot read the rate-limit count of {key}: {err}");
                    0
                }
            };
            self.lock().entry(key.clone()).or_insert(SharedCount {
                stored,
                ..SharedCount::default()
            });
        }
        let mut counts = self.lock();
        // Not `entry`, which would clone the key on every request.
        if let Some(count) = counts.get_mut(key) {
            return self.charge(count, minute);
        }
        self.charge(counts.entry(key.clone()).or_default(), minute)
    }

    fn charge(&self, count: &mut SharedCount, minute: i64) -> RateDecision {
        count.last_used = minute;
        let limit = i64::from(self.limit);
        let allowed = count.used() < limit;
        if allowed {
            count.pending += 1;
        }
        let remaining = u32::try_from((limit - count.used()).max(0)).unwrap_or(0);
        RateDecision {
            limit: self.limit,
            remaining,
            allowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_format() {
        assert_eq!(
            RateDecision::unmetered(3600).header_value(),
            "user-hour-lim:3600;user-hour-rem:3600;"
        );
    }
}
