//! `alt_dist_keys`: the alternative distribution keys.

use altdist::resource::{AltDistKeyId, AppId, IssuerId};

use super::postgres::read_cache;
use super::{Db, Listed, PageAfter, Result};

/// An alternative distribution key as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AltDistKeyRow {
    /// The key id.
    pub id: String,
    /// The app it is specific to; `None` for the account-wide key.
    pub app_id: Option<String>,
    /// The canonical public key PEM.
    pub public_key: String,
}

const COLUMNS: &str = "id, app_id, public_key";

/// Runs `$change`, a statement that changes `alt_dist_keys` on `$connection`, and empties every
/// server's cache of keys ([`super::read_cache`]) before returning: on SQLite in this process's
/// write turn, then this process's cache; on PostgreSQL in a transaction that also notifies
/// the other servers, which the request then waits for.
macro_rules! changing_keys {
    ($db:expr, |$connection:ident| $change:expr) => {
        match $db {
            Db::Sqlite(sqlite) => {
                let _turn = sqlite.writers().take().await;
                let changed = on_lent!(sqlite.connections(), |$connection| $change);
                sqlite.read_cache().clear();
                changed
            }
            Db::Postgres(postgres) => {
                let (changed, number) = on_lent!(postgres.connections(), |pool| {
                    async {
                        let mut transaction = sqlx::Connection::begin(pool).await?;
                        let $connection = &mut *transaction;
                        let changed = $change?;
                        let number = read_cache::announce(&mut transaction).await?;
                        transaction.commit().await?;
                        Ok((changed, number))
                    }
                    .await
                })?;
                read_cache::wait_for_peers(postgres, number).await;
                Ok(changed)
            }
        }
    };
}

/// Stores a key. A unique violation means the account (or the app) has a key already.
pub async fn insert(
    db: &Db,
    id: &AltDistKeyId,
    account: &IssuerId,
    app: Option<&AppId>,
    public_key: &str,
) -> Result<()> {
    const INSERT: &str = "INSERT INTO alt_dist_keys (id, account_id, app_id, public_key, created_at) VALUES ($1, $2, $3, $4, $5)";
    let now = super::now();
    changing_keys!(db, |connection| sqlx::query(INSERT)
        .bind(id.as_str())
        .bind(account.as_str())
        .bind(app.map(AppId::as_str))
        .bind(public_key)
        .bind(now)
        .execute(connection)
        .await
        .map(drop))
}

/// The account's key `id`.
pub async fn find(db: &Db, account: &IssuerId, id: &str) -> Result<Option<AltDistKeyRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let cache = db.read_cache();
    if let Some(row) = cache.key(account, id) {
        return Ok(Some(row));
    }
    let generation = cache.generation();
    let sql = format!("SELECT {COLUMNS} FROM alt_dist_keys WHERE id = $1 AND account_id = $2");
    let row: Option<AltDistKeyRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)?;
    if let Some(row) = &row {
        cache.keep_key(generation, account, row);
    }
    Ok(row)
}

/// The key that holds the slot `app` (or the account-wide slot when `None`), if any.
pub async fn find_holder(
    db: &Db,
    account: &IssuerId,
    app: Option<&AppId>,
) -> Result<Option<AltDistKeyRow>> {
    // Two statements rather than SQLite's `app_id IS $2`, which PostgreSQL lacks; each matches
    // one of the partial unique indexes.
    match app {
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM alt_dist_keys WHERE account_id = $1 AND app_id IS NULL"
            );
            on_pool!(db, |pool| sqlx::query_as(&sql)
                .bind(account.as_str())
                .fetch_optional(pool)
                .await)
        }
        Some(app) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM alt_dist_keys WHERE account_id = $1 AND app_id = $2"
            );
            on_pool!(db, |pool| sqlx::query_as(&sql)
                .bind(account.as_str())
                .bind(app.as_str())
                .fetch_optional(pool)
                .await)
        }
    }
}

/// The key that signs for `app`: its app-specific key, else the account-wide key.
pub async fn find_for_app(
    db: &Db,
    account: &IssuerId,
    app: &AppId,
) -> Result<Option<AltDistKeyRow>> {
    if !super::storable(app.as_str()) {
        return Ok(None);
    }
    let cache = db.read_cache();
    if let Some(row) = cache.key_for_app(account, app.as_str()) {
        return Ok(Some(row));
    }
    let generation = cache.generation();
    // `app_id IS NULL` sorts the app-specific key (false) before the account-wide one (true)
    // on both backends.
    let sql = format!(
        "SELECT {COLUMNS} FROM alt_dist_keys WHERE account_id = $1 AND (app_id = $2 OR app_id IS NULL) ORDER BY app_id IS NULL LIMIT 1"
    );
    let row: Option<AltDistKeyRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(account.as_str())
        .bind(app.as_str())
        .fetch_optional(pool)
        .await)?;
    if let Some(row) = &row {
        cache.keep_key_for_app(generation, account, app.as_str(), row);
    }
    Ok(row)
}

fn exists_clause(has_app: Option<bool>) -> &'static str {
    match has_app {
        None => "",
        Some(true) => " AND app_id IS NOT NULL",
        Some(false) => " AND app_id IS NULL",
    }
}

/// A page of the account's keys, oldest first; `has_app` is `exists[app]`. Returns one row
/// more than the page's limit when there is a next page (see [`super::split_page`]).
pub async fn list(
    db: &Db,
    account: &IssuerId,
    has_app: Option<bool>,
    page: PageAfter,
) -> Result<Vec<Listed<AltDistKeyRow>>> {
    let sql = format!(
        "SELECT seq, {COLUMNS} FROM alt_dist_keys WHERE account_id = $1 AND seq > $2{} ORDER BY seq LIMIT $3",
        exists_clause(has_app)
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(account.as_str())
        .bind(page.after)
        .bind(page.limit.saturating_add(1))
        .fetch_all(pool)
        .await)
}

/// How many keys the account has; `has_app` is `exists[app]`.
pub async fn count(db: &Db, account: &IssuerId, has_app: Option<bool>) -> Result<i64> {
    let sql = format!(
        "SELECT count(*) FROM alt_dist_keys WHERE account_id = $1{}",
        exists_clause(has_app)
    );
    on_pool!(db, |pool| sqlx::query_scalar(&sql)
        .bind(account.as_str())
        .fetch_one(pool)
        .await)
}

/// Deletes the account's key `id`; `false` when there is none.
pub async fn delete(db: &Db, account: &IssuerId, id: &str) -> Result<bool> {
    if !super::storable(id) {
        return Ok(false);
    }
    changing_keys!(db, |connection| sqlx::query(
        "DELETE FROM alt_dist_keys WHERE id = $1 AND account_id = $2"
    )
    .bind(id)
    .bind(account.as_str())
    .execute(connection)
    .await
    .map(|done| done.rows_affected() > 0))
}
