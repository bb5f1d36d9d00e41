//! `api_keys`: the App Store Connect API keys that sign the tokens clients send.

use altdist::resource::{ApiKeyId, IssuerId};

use super::{Db, Result};

/// An API key as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    /// The key id (`kid`).
    pub id: String,
    /// The issuer id of its account.
    pub account_id: String,
    /// `ADMIN`, `APP_MANAGER` or `DEVELOPER`.
    pub role: String,
    /// Whether this is an individual key (tokens carry `sub: "user"`, no `iss`).
    pub individual: bool,
    /// The public key PEM.
    pub public_key: String,
    /// Whether the key was revoked.
    pub revoked: bool,
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    /// The key id.
    pub id: &'a ApiKeyId,
    /// Its account.
    pub account: &'a IssuerId,
    /// Its role.
    pub role: &'a str,
    /// Whether it is an individual key.
    pub individual: bool,
    /// Its public key PEM.
    pub public_key: &'a str,
}

/// Stores a new key.
pub async fn insert(db: &Db, key: &NewApiKey<'_>) -> Result<()> {
    on_pool_writing!(db, |pool| {
        sqlx::query(
        "INSERT INTO api_keys (id, account_id, role, individual, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.id.as_str())
    .bind(key.account.as_str())
    .bind(key.role)
    .bind(key.individual)
    .bind(key.public_key)
    .bind(super::now())
    .execute(pool)
    .await
    .map(drop)
    })
}

/// The key `id`, revoked or not.
pub async fn find(db: &Db, id: &str) -> Result<Option<ApiKeyRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    on_pool!(db, |pool| {
        sqlx::query_as::<_, ApiKeyRow>(
        "SELECT id, account_id, role, individual, public_key, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    })
}

/// Revokes the key; `false` when there is no such key or it was revoked already.
pub async fn revoke(db: &Db, id: &ApiKeyId) -> Result<bool> {
    on_pool_writing!(db, |pool| sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(super::now())
    .bind(id.as_str())
    .execute(pool)
    .await
    .map(|done| done.rows_affected() > 0))
}

/// How many keys were ever revoked: a change tells a running server that another process
/// (`altdist admin api-key revoke`, or another server on the same PostgreSQL) revoked one.
pub async fn revoked_count(db: &Db) -> Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"
    )
    .fetch_one(pool)
    .await)
}
