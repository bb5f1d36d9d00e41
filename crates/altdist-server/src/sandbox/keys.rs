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
/// Keys never change once stored (a new key gets a new id), and apps neither, so the key is
/// cached with its app.
#[derive(Debug)]
pub(super) struct CachedKey {
    pub(super) id: String,
    account: String,
    /// The stored PEM, to tell that the cached parse is of the key stored now.
    pem: String,
    pub(super) app: Option<AppInfo>,
    pub(super) public_key: PublicKey,
}

/// Parsed keys by id, so that a verification costs no PEM parsing.
///
/// The stored row is read on every verification (from [`db::read_cache`] when it is there,
/// which every server keeps coherent), and a parse is used only for the row it was made of: a
/// key deleted on any server is gone here at once, and no staleness of its own is possible.
#[derive(Debug)]
pub(super) struct KeyCache(TtlCache<String, Arc<CachedKey>>);

impl Default for KeyCache {
    fn default() -> Self {
        Self(TtlCache::new(KEY_CACHE_CAPACITY))
    }
}

/// The key `kid` of `account`, parsed; `None` when the account has no such key (another
/// account's key is exactly as unknown).
pub(super) async fn find_key(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    kid: &str,
    now: i64,
) -> Result<Option<Arc<CachedKey>>, SandboxError> {
    let Some(row) = db::alt_dist_keys::find(db, account, kid).await? else {
        return Ok(None);
    };
    parsed(sandbox, db, account, row, now).await.map(Some)
}

/// `row`'s parsed key, from the cache when it was parsed from that very row.
async fn parsed(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    row: db::alt_dist_keys::AltDistKeyRow,
    now: i64,
) -> Result<Arc<CachedKey>, SandboxError> {
    if let Some(key) = sandbox.keys.0.get(&row.id, now)
        && key.account == account.as_str()
        && key.pem == row.public_key
    {
        return Ok(key);
    }
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
        pem: row.public_key,
        app,
        public_key,
    });
    let until = now.saturating_add(seconds(KEY_CACHE_TTL));
    // Nothing is ever removed from this cache (an entry is checked against the row instead),
    // so no load can race with a removal: the current generation will do.
    let keys = &sandbox.keys.0;
    keys.insert(
        key.id.clone(),
        Arc::clone(&key),
        until,
        keys.generation(),
        now,
    );
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
    let Some(row) = db::alt_dist_keys::find_for_app(db, account, &AppId(app.to_owned())).await?
    else {
        return Ok(None);
    };
    parsed(sandbox, db, account, row, now).await.map(Some)
}
