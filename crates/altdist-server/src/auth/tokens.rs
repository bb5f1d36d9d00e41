//! [`TokenCache`]: tokens that passed every check, so a client that reuses its token (as App
//! Store Connect clients do for up to 20 minutes) does not pay for a signature check on every
//! request.

use altdist::jwt::DEFAULT_CLOCK_SKEW;
use altdist::resource::ApiKeyId;

use super::caller::Caller;
use crate::cache::TtlCache;

/// What a verified token grants, until it expires.
#[derive(Debug, Clone)]
pub struct CachedToken {
    /// Who the token acts as.
    pub caller: Caller,
    /// Its `scope` claim, if it has one.
    pub scope: Option<Vec<String>>,
}

/// Verified tokens by their text, each until its `exp` plus the clock skew.
///
/// Revocation removes the key's entries at once, and a verification that raced with it does
/// not cache (see [`TtlCache`]).
#[derive(Debug)]
pub struct TokenCache(TtlCache<String, CachedToken>);

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        Self(TtlCache::new(capacity))
    }

    /// The generation to pass to [`Self::insert`], read before verifying.
    pub fn generation(&self) -> u64 {
        self.0.generation()
    }

    /// The cached grant of `token`, unless it expired by `now`.
    pub fn get(&self, token: &str, now: i64) -> Option<CachedToken> {
        self.0.get(token, now)
    }

    /// Caches a verified token, whose `exp` is `exp`.
    pub fn insert(&self, token: &str, entry: CachedToken, exp: i64, generation: u64, now: i64) {
        let until = exp.saturating_add(skew());
        self.0
            .insert(token.to_owned(), entry, until, generation, now);
    }

    /// Forgets every cached token of `key`, at once.
    pub fn revoke(&self, key: &ApiKeyId) {
        self.0
            .remove_where(|_, cached| &cached.caller.api_key == key);
    }

    /// Forgets every cached token.
    pub fn clear(&self) {
        self.0.clear();
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn skew() -> i64 {
    i64::try_from(DEFAULT_CLOCK_SKEW.as_secs()).unwrap_or(60)
}

#[cfg(test)]
mod tests {
    use altdist::resource::IssuerId;

    use super::*;
    use crate::auth::Role;

    fn entry(key: &str) -> CachedToken {
        CachedToken {
            caller: Caller {
                api_key: ApiKeyId(key.into()),
                account: IssuerId("a".into()),
                role: Role::Admin,
            },
            scope: None,
        }
    }

    #[test]
    fn revocation_empties_the_cache_for_that_key_only() {
        let cache = TokenCache::new(10);
        cache.insert("t1", entry("AAAAAAAAAA"), 2_000, 0, 1_000);
        cache.insert("t2", entry("BBBBBBBBBB"), 2_000, 0, 1_000);
        cache.revoke(&ApiKeyId("AAAAAAAAAA".into()));
        assert!(cache.get("t1", 1_000).is_none());
        assert!(cache.get("t2", 1_000).is_some());
        // A verification that started before the revocation does not cache.
        cache.insert("t3", entry("AAAAAAAAAA"), 2_000, 0, 1_000);
        assert!(cache.get("t3", 1_000).is_none());
    }

    #[test]
    fn tokens_stay_until_exp_plus_the_clock_skew() {
        let cache = TokenCache::new(10);
        cache.insert("t", entry("AAAAAAAAAA"), 100, 0, 50);
        assert!(cache.get("t", 100 + skew() - 1).is_some());
        assert!(cache.get("t", 100 + skew()).is_none());
    }
}
