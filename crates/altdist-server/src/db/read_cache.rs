//! [`ReadCache`]: alternative distribution keys kept in memory between requests, so that reading
//! one costs no query.
//!
//! Reading a key by id is the request clients make most, and the query was most of its cost: a
//! round trip to SQLite's connection thread, or to PostgreSQL (docs/PERFORMANCE.md, "Where a
//! key read's instructions go"). A cached read must still never show a key deleted before it, on any server:
//!
//! * Every change to `alt_dist_keys` goes through [`super::alt_dist_keys`], which empties this
//!   process's cache once the change is committed. A read that loaded a row before the change
//!   and finishes after it is not cached (the generation check of [`TtlCache`]).
//! * On SQLite one serving process owns the database (its serve lock), so that is all.
//! * On PostgreSQL, each server that caches is a *peer*: the change also notifies every peer,
//!   and its request waits until each live peer has emptied its cache and said so (see
//!   `postgres::read_cache`). A peer serves from its cache only while it holds a lease, renewed
//!   through the same notification channel; one that loses its connection stops serving from
//!   its cache before a writer stops waiting for it.
//!
//! Apps are cached too: they are never changed nor deleted once created (`db::apps` has no such
//! statement), so a cached app is never stale, whichever process created it.
//!
//! Until [`ReadCache::open`] is called (or while the lease is lapsed) every read goes to the
//! database, which is what short-lived processes such as `altdist admin` do.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use altdist::resource::IssuerId;

use super::alt_dist_keys::AltDistKeyRow;
use super::apps::AppRow;
use crate::cache::TtlCache;

/// Keys held at most; past that the cache starts over (see [`TtlCache`]).
const CAPACITY: usize = 10_000;

/// How long an entry lives even if nothing empties the cache: a bound on staleness should every
/// other guarantee fail.
const ENTRY_TTL_SECONDS: i64 = 60;

/// How long an app stays cached: it never changes, so this only makes room.
const APP_TTL_SECONDS: i64 = 3_600;

/// A cached key and the account it belongs to (keys are found by id, then checked to be the
/// caller's: another account's key is exactly as unknown as a missing one).
#[derive(Debug, Clone)]
struct Cached {
    account: IssuerId,
    row: AltDistKeyRow,
}

/// What this process remembers of `alt_dist_keys`.
#[derive(Debug)]
pub struct ReadCache {
    /// Keys by id.
    by_id: TtlCache<String, Cached>,
    /// The key that signs for an app (its own, else the account-wide one), by app id: app ids
    /// are unique across accounts.
    for_app: TtlCache<String, Cached>,
    /// Apps by id; never emptied, as apps never change.
    apps: TtlCache<String, AppRow>,
    /// Until when (milliseconds after `epoch`) entries may be served; 0: not at all.
    lease_until: AtomicU64,
    epoch: Instant,
}

/// A lease that never ends, for a database only this process serves.
const FOREVER: u64 = u64::MAX;

impl Default for ReadCache {
    fn default() -> Self {
        Self {
            by_id: TtlCache::new(CAPACITY),
            for_app: TtlCache::new(CAPACITY),
            apps: TtlCache::new(CAPACITY),
            lease_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

/// Read before a query whose result is to be cached: [`ReadCache::keep_key`] drops the result
/// when the cache was emptied meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Generation {
    by_id: u64,
    for_app: u64,
}

impl ReadCache {
    /// Serves from the cache from now on, for good: for a database only this process changes.
    pub fn open(&self) {
        self.lease_until.store(FOREVER, Ordering::Release);
    }

    /// Serves from the cache until `until`, an instant at which a writer elsewhere may stop
    /// waiting for this process to empty it.
    ///
    /// A lease that had lapsed or was revoked starts with an empty cache: what was loaded
    /// meanwhile may have missed a change, and is not kept either (the generation moves on).
    pub fn renew_lease(&self, until: Instant) {
        if !self.serving() {
            self.clear();
        }
        let millis = until.saturating_duration_since(self.epoch).as_millis();
        let millis = u64::try_from(millis).unwrap_or(FOREVER - 1);
        self.lease_until.fetch_max(millis, Ordering::AcqRel);
    }

    /// Stops serving from the cache, and empties it, until the lease is renewed.
    pub fn revoke_lease(&self) {
        self.lease_until.store(0, Ordering::Release);
        self.clear();
    }

    fn serving(&self) -> bool {
        let until = self.lease_until.load(Ordering::Acquire);
        until == FOREVER
            || (until != 0
                && u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(FOREVER) < until)
    }

    /// Empties the cache: after a change to `alt_dist_keys` is committed, and whenever it may
    /// have missed one.
    pub fn clear(&self) {
        self.by_id.clear();
        self.for_app.clear();
    }

    /// The generation to pass to [`Self::keep_key`] and [`Self::keep_key_for_app`].
    pub fn generation(&self) -> Generation {
        Generation {
            by_id: self.by_id.generation(),
            for_app: self.for_app.generation(),
        }
    }

    /// The account's key `id`, if cached.
    pub fn key(&self, account: &IssuerId, id: &str) -> Option<AltDistKeyRow> {
        Self::hit(&self.by_id, self.serving(), account, id)
    }

    /// The key that signs for `app` of `account`, if cached.
    pub fn key_for_app(&self, account: &IssuerId, app: &str) -> Option<AltDistKeyRow> {
        Self::hit(&self.for_app, self.serving(), account, app)
    }

    fn hit(
        entries: &TtlCache<String, Cached>,
        serving: bool,
        account: &IssuerId,
        id: &str,
    ) -> Option<AltDistKeyRow> {
        if !serving {
            return None;
        }
        let now = altdist::jwt::unix_now();
        // A cached key of another account: for this caller it does not exist, which only the
        // database can say (it is not cached as missing).
        entries
            .get_if(id, now, |cached| cached.account == *account)
            .map(|cached| cached.row)
    }

    /// The account's app `id`, if cached.
    pub fn app(&self, account: &IssuerId, id: &str) -> Option<AppRow> {
        if !self.serving() {
            return None;
        }
        self.apps.get_if(id, altdist::jwt::unix_now(), |app| {
            app.account_id == account.as_str()
        })
    }

    /// Caches `app`.
    pub fn keep_app(&self, app: &AppRow) {
        if !self.serving() {
            return;
        }
        let now = altdist::jwt::unix_now();
        let generation = self.apps.generation();
        self.apps.insert(
            app.id.clone(),
            app.clone(),
            now + APP_TTL_SECONDS,
            generation,
            now,
        );
    }

    /// Caches `row`, a key of `account` read after `generation` was taken.
    pub fn keep_key(&self, generation: Generation, account: &IssuerId, row: &AltDistKeyRow) {
        Self::keep(
            &self.by_id,
            generation.by_id,
            self.serving(),
            &row.id,
            account,
            row,
        );
    }

    /// Caches `row` as the key that signs for `app`, read after `generation` was taken.
    pub fn keep_key_for_app(
        &self,
        generation: Generation,
        account: &IssuerId,
        app: &str,
        row: &AltDistKeyRow,
    ) {
        Self::keep(
            &self.for_app,
            generation.for_app,
            self.serving(),
            app,
            account,
            row,
        );
    }

    fn keep(
        entries: &TtlCache<String, Cached>,
        generation: u64,
        serving: bool,
        id: &str,
        account: &IssuerId,
        row: &AltDistKeyRow,
    ) {
        if !serving {
            return;
        }
        let now = altdist::jwt::unix_now();
        let cached = Cached {
            account: account.clone(),
            row: row.clone(),
        };
        entries.insert(
            id.to_owned(),
            cached,
            now + ENTRY_TTL_SECONDS,
            generation,
            now,
        );
    }
}

/// How long a peer's lease lasts after the heartbeat that renewed it was sent.
pub const LEASE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> AltDistKeyRow {
        AltDistKeyRow {
            id: id.to_owned(),
            app_id: None,
            public_key: "PEM".to_owned(),
        }
    }

    fn account(id: &str) -> IssuerId {
        IssuerId(id.to_owned())
    }

    #[test]
    fn nothing_is_served_or_kept_before_the_cache_is_opened() {
        let cache = ReadCache::default();
        cache.keep_key(cache.generation(), &account("a"), &row("k"));
        assert_eq!(cache.key(&account("a"), "k"), None);
        cache.open();
        assert_eq!(cache.key(&account("a"), "k"), None, "not kept while closed");
        cache.keep_key(cache.generation(), &account("a"), &row("k"));
        assert_eq!(cache.key(&account("a"), "k"), Some(row("k")));
    }

    #[test]
    fn another_accounts_key_is_a_miss() {
        let cache = ReadCache::default();
        cache.open();
        cache.keep_key(cache.generation(), &account("a"), &row("k"));
        assert_eq!(cache.key(&account("b"), "k"), None);
        cache.keep_key_for_app(cache.generation(), &account("a"), "app", &row("k"));
        assert_eq!(cache.key_for_app(&account("b"), "app"), None);
        assert_eq!(cache.key_for_app(&account("a"), "app"), Some(row("k")));
    }

    #[test]
    fn a_read_that_raced_with_a_change_is_not_kept() {
        let cache = ReadCache::default();
        cache.open();
        let before = cache.generation();
        cache.clear();
        cache.keep_key(before, &account("a"), &row("k"));
        cache.keep_key_for_app(before, &account("a"), "app", &row("k"));
        assert_eq!(cache.key(&account("a"), "k"), None);
        assert_eq!(cache.key_for_app(&account("a"), "app"), None);
    }

    #[test]
    fn apps_are_kept_and_found_only_in_their_account() {
        let cache = ReadCache::default();
        cache.open();
        let app = AppRow {
            id: "1".into(),
            account_id: "a".into(),
            name: "App".into(),
            bundle_id: "com.example.app".into(),
            sku: "APP".into(),
            primary_locale: "en-US".into(),
            marketplace: false,
            made_for_kids: false,
        };
        cache.keep_app(&app);
        assert_eq!(cache.app(&account("a"), "1"), Some(app));
        assert_eq!(cache.app(&account("b"), "1"), None);
        cache.clear();
        assert!(
            cache.app(&account("a"), "1").is_some(),
            "key changes leave apps"
        );
    }

    #[test]
    fn a_lapsed_or_revoked_lease_serves_nothing() {
        let cache = ReadCache::default();
        cache.renew_lease(Instant::now() + Duration::from_secs(60));
        cache.keep_key(cache.generation(), &account("a"), &row("k"));
        assert_eq!(cache.key(&account("a"), "k"), Some(row("k")));
        cache.revoke_lease();
        assert_eq!(cache.key(&account("a"), "k"), None);
        cache.renew_lease(Instant::now() + Duration::from_secs(60));
        assert_eq!(
            cache.key(&account("a"), "k"),
            None,
            "emptied with the lease"
        );

        let lapsed = ReadCache::default();
        lapsed.renew_lease(Instant::now());
        lapsed.keep_key(lapsed.generation(), &account("a"), &row("k"));
        assert_eq!(lapsed.key(&account("a"), "k"), None);
    }
}
