//! The caller's alternative distribution keys, parsed once and cached for [`KEY_CACHE_TTL`].

use std::sync::Arc;

use altdist::PublicKey;
use altdist::resource::{AppId, IssuerId};

use super::signer::AppInfo;
use super::{KEY_CACHE_TTL, Sandbox, SandboxError, seconds};
use crate::cache::TtlCache;
use crate::db::{self, Db};

const KEY_CACHE_CAPACITY: usize = 10_000;

/// An alternative distribution key, parsed, with the app it is specific to.
///
/// Apps are never changed or deleted once created, so the app is cached with its key.
#[derive(Debug)]
pub(super) struct CachedKey {
    pub(super) id: String,
    account: String,
    pub(super) app: Option<AppInfo>,
    pub(super) public_key: PublicKey,
}

/// Parsed keys by id, so a verification costs no PEM parsing and no key query.
///
/// A key deleted through this server leaves at once; a load that raced with the deletion is
/// not cached ([`TtlCache`]).
#[derive(Debug)]
pub(super) struct KeyCache(TtlCache<String, Arc<CachedKey>>);

impl Default for KeyCache {
    fn default() -> Self {
        Self(TtlCache::new(KEY_CACHE_CAPACITY))
    }
}

impl KeyCache {
    pub(super) fn forget(&self, kid: &str) {
        self.0.remove_where(|id, _| id == kid);
    }
}

/// The key `kid` of `account`, from the cache or the database; `None` when the account has no
/// such key (another account's key is exactly as unknown).
pub(super) async fn find_key(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    kid: &str,
    now: i64,
) -> Result<Option<Arc<CachedKey>>, SandboxError> {
    if let Some(key) = sandbox.keys.0.get(kid, now) {
        return Ok((key.account == account.as_str()).then_some(key));
    }
    let generation = sandbox.keys.0.generation();
    let Some(row) = db::alt_dist_keys::find(db, account, kid).await? else {
        return Ok(None);
    };
    cache_row(sandbox, db, account, row, generation, now)
        .await
        .map(Some)
}

async fn cache_row(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    row: db::alt_dist_keys::AltDistKeyRow,
    generation: u64,
    now: i64,
) -> Result<Arc<CachedKey>, SandboxError> {
    let public_key =
        PublicKey::from_pem(&row.public_key).map_err(|source| SandboxError::StoredKey {
            id: row.id.clone(),
            source,
        })?;
    let app = match &row.app_id {
        Some(app_id) => db::apps::find(db, account, app_id)
            .await?
            .map(AppInfo::from),
        None => None,
    };
    let key = Arc::new(CachedKey {
        id: row.id,
        account: account.to_string(),
        app,
        public_key,
    });
    let until = now.saturating_add(seconds(KEY_CACHE_TTL));
    sandbox
        .keys
        .0
        .insert(key.id.clone(), Arc::clone(&key), until, generation, now);
    Ok(key)
}

/// The key that signs for the app `app` of `account` (its app-specific key, else the
/// account-wide key), for marketplace tokens, which carry no `kid`.
pub(super) async fn find_key_for_app(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    app: &str,
    now: i64,
) -> Result<Option<Arc<CachedKey>>, SandboxError> {
    // Read before the query, so a deletion racing with it keeps the row out of the cache.
    let generation = sandbox.keys.0.generation();
    let Some(row) = db::alt_dist_keys::find_for_app(db, account, &AppId(app.to_owned())).await?
    else {
        return Ok(None);
    };
    match sandbox.keys.0.get(&row.id, now) {
        Some(key) => Ok(Some(key)),
        None => cache_row(sandbox, db, account, row, generation, now)
            .await
            .map(Some),
    }
}
