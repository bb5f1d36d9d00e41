//! `accounts`: one per issuer id.

use altdist::resource::IssuerId;
use sqlx::Connection as _;

use super::{Db, Result};

/// Stores a new account.
pub async fn insert(db: &Db, id: &IssuerId) -> Result<()> {
    on_pool_writing!(db, |pool| sqlx::query(
        "INSERT INTO accounts (id, created_at) VALUES ($1, $2)"
    )
    .bind(id.as_str())
    .bind(super::now())
    .execute(pool)
    .await
    .map(drop))
}

/// The account statement of [`insert_first`]: a row only when there is none yet.
const INSERT_FIRST: &str =
    "INSERT INTO accounts (id, created_at) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM accounts)";

/// The PostgreSQL advisory lock that servers starting at once on one database take to create
/// the first account one at a time (any constant no other lock uses; "altdist1" in ASCII).
const FIRST_ACCOUNT_LOCK: i64 = 0x616c_7464_6973_7431;

/// Stores the account `id` if the database has none yet; `false` when one exists.
///
/// Atomic, so that of several servers starting at once on an empty database exactly one creates
/// the first account. On SQLite the statement runs in the write turn, after every commit before
/// it. On PostgreSQL a plain `INSERT ... WHERE NOT EXISTS` would not do: each transaction's
/// snapshot misses the other's uncommitted row, and both would insert; so the insert waits for
/// an advisory lock, held until its transaction commits, and then reads a fresh snapshot.
pub async fn insert_first(db: &Db, id: &IssuerId) -> Result<bool> {
    let now = super::now();
    let inserted = match db {
        Db::Sqlite(_) => on_pool_writing!(db, |pool| sqlx::query(INSERT_FIRST)
            .bind(id.as_str())
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())),
        Db::Postgres(_) => on_pool!(db, |pool| {
            async {
                let mut transaction = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(FIRST_ACCOUNT_LOCK)
                    .execute(&mut *transaction)
                    .await?;
                let done = sqlx::query(INSERT_FIRST)
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await?;
                Ok(done.rows_affected())
            }
            .await
        }),
    }?;
    Ok(inserted == 1)
}

/// Every account, oldest first.
pub async fn list(db: &Db) -> Result<Vec<IssuerId>> {
    // Insertion order breaks ties of the millisecond: SQLite's rowid, PostgreSQL's identity.
    match db {
        Db::Sqlite(_) => on_pool!(db, |pool| {
            sqlx::query_scalar::<_, String>("SELECT id FROM accounts ORDER BY created_at, rowid")
                .fetch_all(pool)
                .await
        }),
        Db::Postgres(_) => on_pool!(db, |pool| {
            sqlx::query_scalar::<_, String>("SELECT id FROM accounts ORDER BY created_at, seq")
                .fetch_all(pool)
                .await
        }),
    }
    .map(|ids| ids.into_iter().map(IssuerId).collect())
}

/// Whether the account exists.
pub async fn exists(db: &Db, id: &IssuerId) -> Result<bool> {
    on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM accounts WHERE id = $1"
    )
    .bind(id.as_str())
    .fetch_one(pool)
    .await)
    .map(|count| count > 0)
}
