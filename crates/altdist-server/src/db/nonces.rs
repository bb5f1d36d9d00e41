//! `install_nonces`: the nonces of install verification tokens the sandbox has seen.
//!
//! Nonces are recorded with `INSERT ... ON CONFLICT DO NOTHING RETURNING`, so the database decides
//! which of several concurrent uses of a nonce is the first: exactly one sees it as fresh, on one
//! server or several sharing the database. [`record_batch`] records many in one statement. Rows
//! carry the time after which no token with that nonce can pass its `exp` check; [`prune`] drops
//! them then, which bounds the table (see docs/API.md, "Sandbox").
//!
//! The statements use `$n` placeholders, which SQLite and PostgreSQL both read, so `on_pool!`
//! runs the same SQL on either backend.

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

const FIRST_SEEN: &str =
    "SELECT first_seen FROM install_nonces WHERE account_id = $1 AND nonce = $2";
const PRUNE: &str = "DELETE FROM install_nonces WHERE expires_at <= $1";
const COUNT: &str = "SELECT count(*) FROM install_nonces";

/// A nonce to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNonce {
    /// The account whose key signed the token.
    pub account: IssuerId,
    /// The nonce.
    pub nonce: String,
    /// When it was seen, unix seconds.
    pub now: i64,
    /// When it may be forgotten, unix seconds.
    pub expires_at: i64,
}

/// The most nonces one statement records: 4 parameters each, far below SQLite's 32,766.
pub const MAX_BATCH: usize = 256;

/// `INSERT ... VALUES ($1, $2, $3, $4), ($5, ...) ON CONFLICT DO NOTHING RETURNING ...`.
fn insert_statement(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO install_nonces (account_id, nonce, first_seen, expires_at) VALUES ",
    );
    for row in 0..rows {
        let first = row * 4 + 1;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${first}, ${}, ${}, ${})",
            first + 1,
            first + 2,
            first + 3
        ));
    }
    sql.push_str(" ON CONFLICT (account_id, nonce) DO NOTHING RETURNING account_id, nonce");
    sql
}

/// Records nonces, [`MAX_BATCH`] to a statement; returns for each whether it was fresh.
///
/// One statement is one commit (one fsync), however many nonces it carries. Of equal entries in
/// `batch`, the first is the one that counts; the others are replays.
pub async fn record_batch(db: &Db, batch: &[NewNonce]) -> sqlx::Result<Vec<bool>> {
    let mut unique: Vec<&NewNonce> = Vec::with_capacity(batch.len());
    for entry in batch {
        if !unique
            .iter()
            .any(|seen| seen.account == entry.account && seen.nonce == entry.nonce)
        {
            unique.push(entry);
        }
    }
    let mut inserted: Vec<(String, String)> = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(MAX_BATCH) {
        let sql = insert_statement(chunk.len());
        let rows: Vec<(String, String)> = on_pool!(db, |pool| {
            let mut query = sqlx::query_as(&sql);
            for entry in chunk {
                query = query
                    .bind(entry.account.as_str())
                    .bind(entry.nonce.as_str())
                    .bind(entry.now)
                    .bind(entry.expires_at);
            }
            query.fetch_all(pool).await
        })?;
        inserted.extend(rows);
    }
    // Each inserted row is claimed once, by the first entry that names it.
    Ok(batch
        .iter()
        .map(|entry| {
            let position = inserted.iter().position(|(account, nonce)| {
                account == entry.account.as_str() && *nonce == entry.nonce
            });
            position.map(|at| inserted.swap_remove(at)).is_some()
        })
        .collect())
}

/// When `nonce` was first seen in `account`, unix seconds.
pub async fn first_seen(db: &Db, account: &IssuerId, nonce: &str) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(FIRST_SEEN)
            .bind(account.as_str())
            .bind(nonce)
            .fetch_optional(pool)
            .await
    })
}

/// Records `nonce` for `account`, seen at `now`, to be kept until `expires_at` (unix seconds).
pub async fn record(
    db: &Db,
    account: &IssuerId,
    nonce: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<NonceUse> {
    let entry = NewNonce {
        account: account.clone(),
        nonce: nonce.to_owned(),
        now,
        expires_at,
    };
    if record_batch(db, std::slice::from_ref(&entry)).await?[0] {
        Ok(NonceUse::Fresh)
    } else {
        Ok(NonceUse::Replayed {
            first_seen: first_seen(db, account, nonce).await?,
        })
    }
}

/// Deletes the nonces whose tokens expired by `now`; returns how many.
pub async fn prune(db: &Db, now: i64) -> sqlx::Result<u64> {
    on_pool!(db, |pool| sqlx::query(PRUNE)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
}

/// How many nonces are stored, in every account.
pub async fn count(db: &Db) -> sqlx::Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(COUNT).fetch_one(pool).await)
}
