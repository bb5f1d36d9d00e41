//! `accounts`: one per issuer id.

use altdist::resource::IssuerId;

use super::Db;

/// Stores a new account.
pub async fn insert(db: &Db, id: &IssuerId) -> sqlx::Result<()> {
    on_pool_writing!(db, |pool| sqlx::query(
        "INSERT INTO accounts (id, created_at) VALUES ($1, $2)"
    )
    .bind(id.as_str())
    .bind(super::now())
    .execute(pool)
    .await
    .map(drop))
}

/// Every account, oldest first.
pub async fn list(db: &Db) -> sqlx::Result<Vec<IssuerId>> {
    // Insertion order breaks ties of the millisecond: SQLite's rowid, PostgreSQL's identity.
    match db {
        Db::Sqlite(sqlite) => {
            sqlx::query_scalar::<_, String>("SELECT id FROM accounts ORDER BY created_at, rowid")
                .fetch_all(sqlite.pool())
                .await
        }
        Db::Postgres(_) => on_pool!(db, |pool| {
            sqlx::query_scalar::<_, String>("SELECT id FROM accounts ORDER BY created_at, seq")
                .fetch_all(pool)
                .await
        }),
    }
    .map(|ids| ids.into_iter().map(IssuerId).collect())
}

/// Whether the account exists.
pub async fn exists(db: &Db, id: &IssuerId) -> sqlx::Result<bool> {
    on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM accounts WHERE id = $1"
    )
    .bind(id.as_str())
    .fetch_one(pool)
    .await)
    .map(|count| count > 0)
}
