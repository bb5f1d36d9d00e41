//! `install_nonces`: the nonces of install verification tokens the sandbox has seen.
//!
//! A nonce is recorded with one `INSERT ... ON CONFLICT DO NOTHING`, so the database decides
//! which of several concurrent uses of a nonce is the first: exactly one sees it as fresh. Rows
//! carry the time after which no token with that nonce can pass its `exp` check; [`prune`] drops
//! them then, which bounds the table (see docs/API.md, "Sandbox").
//!
//! The statements use `$n` placeholders, which SQLite and PostgreSQL both read, so every backend
//! arm runs the same SQL.

use altdist::resource::IssuerId;

use super::Db;

/// What recording a nonce found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceUse {
    /// The first use of the nonce in the account: it is now recorded.
    Fresh,
    /// A replay. `first_seen` is when the first use was recorded (unix seconds); `None` only if
    /// the first use was pruned between the insert and the read, which a replay cannot outlive.
    Replayed {
        /// When the nonce was first seen, unix seconds.
        first_seen: Option<i64>,
    },
}

const INSERT: &str = "INSERT INTO install_nonces (account_id, nonce, first_seen, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, nonce) DO NOTHING";
const FIRST_SEEN: &str =
    "SELECT first_seen FROM install_nonces WHERE account_id = $1 AND nonce = $2";
const PRUNE: &str = "DELETE FROM install_nonces WHERE expires_at <= $1";
const COUNT: &str = "SELECT count(*) FROM install_nonces";

/// Records `nonce` for `account`, seen at `now`, to be kept until `expires_at` (unix seconds).
pub async fn record(
    db: &Db,
    account: &IssuerId,
    nonce: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<NonceUse> {
    let inserted = match db {
        Db::Sqlite(pool) => sqlx::query(INSERT)
            .bind(account.as_str())
            .bind(nonce)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected(),
    };
    if inserted == 1 {
        return Ok(NonceUse::Fresh);
    }
    let first_seen = match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar(FIRST_SEEN)
                .bind(account.as_str())
                .bind(nonce)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(NonceUse::Replayed { first_seen })
}

/// Deletes the nonces whose tokens expired by `now`; returns how many.
pub async fn prune(db: &Db, now: i64) -> sqlx::Result<u64> {
    match db {
        Db::Sqlite(pool) => sqlx::query(PRUNE)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
    }
}

/// How many nonces are stored, in every account.
pub async fn count(db: &Db) -> sqlx::Result<i64> {
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(COUNT).fetch_one(pool).await,
    }
}
