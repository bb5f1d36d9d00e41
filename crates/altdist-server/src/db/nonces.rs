//! `install_nonces`: the nonces of install verification tokens the sandbox has seen.
//!
//! Nonces are recorded with `INSERT ... ON CONFLICT DO NOTHING RETURNING`, so the database decides
//! which of several concurrent uses of a nonce is the first: exactly one sees it as fresh, on one
//! server or several sharing the database. [`record_batch`] records many in one statement. Rows
//! carry the time after which no token with that nonce can pass its `exp` check; [`prune`] drops
//! them then, which bounds the table (see docs/API.md, "Sandbox").
//!
//! A nonce is stored by a key of bytes: the 16 bytes of the UUID when the nonce is one spelled the
//! canonical way (lowercase, hyphenated), as every token's nonce the sandbox records is in
//! practice; anything else by its text, in a form that can never be 16 bytes long, so two nonces
//! share a key exactly when they are the same string.
//!
//! The statements use `$n` placeholders, which SQLite and PostgreSQL both read, so `on_pool!`
//! runs the same SQL on either backend.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

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

/// How a nonce is stored: see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A UUID in its canonical spelling: its 16 bytes.
    Uuid([u8; 16]),
    /// Any other string: [`OTHER_PREFIX`], then its UTF-8 (at least 17 bytes, so never a UUID's).
    Other(Vec<u8>),
}

/// What starts the key of a nonce that is not a canonical UUID: 17 zero bytes, so that such a
/// key is never 16 bytes long.
const OTHER_PREFIX: [u8; 17] = [0; 17];

impl Key {
    fn of(nonce: &str) -> Self {
        if nonce.len() == 36 {
            if let Ok(uuid) = uuid::Uuid::try_parse(nonce) {
                let mut canonical = [0; 36];
                if uuid.hyphenated().encode_lower(&mut canonical).as_bytes() == nonce.as_bytes() {
                    return Self::Uuid(uuid.into_bytes());
                }
            }
        }
        let mut other = Vec::with_capacity(OTHER_PREFIX.len() + nonce.len());
        other.extend_from_slice(&OTHER_PREFIX);
        other.extend_from_slice(nonce.as_bytes());
        Self::Other(other)
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Uuid(bytes) => bytes,
            Self::Other(bytes) => bytes,
        }
    }
}

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

/// The row counts of the insert statements: the powers of two up to [`MAX_BATCH`]. A batch is
/// padded up to the next one, so each backend has nine statements, which the connection's
/// statement cache keeps prepared; a statement per batch size would be parsed again for most
/// batches, 1,024 parameters at a time.
fn padded_rows(rows: usize) -> usize {
    rows.next_power_of_two().min(MAX_BATCH)
}

/// `INSERT ... VALUES (?, ?, ?, ?), (?, ...) ON CONFLICT DO NOTHING RETURNING ...` for `rows`
/// rows, a power of two up to [`MAX_BATCH`].
///
/// SQLite gets anonymous `?` parameters: it looks numbered (`$n`) parameters up in a list,
/// when parsing and again when sqlx asks each one's name to bind it, which is quadratic in the
/// parameter count and was a tenth of the writer's time at 256 rows. PostgreSQL reads only
/// `$n`.
fn insert_statement(db: &Db, rows: usize) -> &'static str {
    static SQLITE: OnceLock<Vec<String>> = OnceLock::new();
    static POSTGRES: OnceLock<Vec<String>> = OnceLock::new();
    let build = |numbered: bool| {
        (0..=MAX_BATCH.trailing_zeros())
            .map(|power| {
                let mut sql = String::from(
                    "INSERT INTO install_nonces (account_id, nonce, first_seen, expires_at) VALUES ",
                );
                for row in 0..1_usize << power {
                    if row > 0 {
                        sql.push_str(", ");
                    }
                    if numbered {
                        let first = row * 4 + 1;
                        let _ = write!(
                            sql,
                            "(${first}, ${}, ${}, ${})",
                            first + 1,
                            first + 2,
                            first + 3
                        );
                    } else {
                        sql.push_str("(?, ?, ?, ?)");
                    }
                }
                sql.push_str(
                    " ON CONFLICT (account_id, nonce) DO NOTHING RETURNING account_id, nonce",
                );
                sql
            })
            .collect()
    };
    let statements = match db {
        Db::Sqlite(_) => SQLITE.get_or_init(|| build(false)),
        Db::Postgres(_) => POSTGRES.get_or_init(|| build(true)),
    };
    &statements[rows.trailing_zeros() as usize]
}

/// Records nonces, [`MAX_BATCH`] to a statement; returns for each whether it was fresh.
///
/// One statement is one commit (one fsync with `synchronous=FULL`), however many nonces it
/// carries. Of equal entries in `batch`, the first is the one that counts; the others are
/// replays.
pub async fn record_batch(db: &Db, batch: &[NewNonce]) -> sqlx::Result<Vec<bool>> {
    let keys: Vec<Key> = batch.iter().map(|entry| Key::of(&entry.nonce)).collect();
    // The index of the first entry naming each (account, nonce).
    let mut first = HashMap::with_capacity(batch.len());
    let mut unique: Vec<(&NewNonce, &[u8])> = Vec::with_capacity(batch.len());
    for (at, (entry, key)) in batch.iter().zip(&keys).enumerate() {
        first
            .entry((entry.account.as_str(), key.as_bytes()))
            .or_insert_with(|| {
                unique.push((entry, key.as_bytes()));
                at
            });
    }
    let mut fresh = vec![false; batch.len()];
    for chunk in unique.chunks(MAX_BATCH) {
        let rows = padded_rows(chunk.len());
        let sql = insert_statement(db, rows);
        // Padding repeats the last entry: a row equal to one inserted by the same statement is
        // a conflict, so it does nothing and returns nothing.
        let padded = chunk.iter().chain(std::iter::repeat_n(
            chunk.last().expect("chunks are never empty"),
            rows - chunk.len(),
        ));
        let inserted: Vec<(String, Vec<u8>)> = on_pool!(db, |pool| {
            let mut query = sqlx::query_as(sql);
            for (entry, key) in padded {
                query = query
                    .bind(entry.account.as_str())
                    .bind(*key)
                    .bind(entry.now)
                    .bind(entry.expires_at);
            }
            query.fetch_all(pool).await
        })?;
        // Each inserted row is fresh for the first entry that names it.
        for (account, nonce) in &inserted {
            if let Some(&at) = first.get(&(account.as_str(), nonce.as_slice())) {
                fresh[at] = true;
            }
        }
    }
    Ok(fresh)
}

/// When `nonce` was first seen in `account`, unix seconds.
pub async fn first_seen(db: &Db, account: &IssuerId, nonce: &str) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(FIRST_SEEN)
            .bind(account.as_str())
            .bind(Key::of(nonce).as_bytes())
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
///
/// There is no index on `expires_at`, which would be a second B-tree written for every nonce:
/// this scans the table, which is bounded (docs/API.md, "Sandbox") and pruned at most once a
/// minute.
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

/// A database for the sandbox's nonce writer alone.
///
/// On SQLite, a pool of one connection of its own, opened as the server's (WAL,
/// `synchronous=FULL`), whose statement cache keeps the insert statements prepared; on
/// PostgreSQL, the server's pool. Close it when the writer stops.
pub async fn writer(db: &Db) -> sqlx::Result<Db> {
    match db {
        Db::Sqlite(pool) => {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .connect_with((*pool.connect_options()).clone())
                .await?;
            Ok(Db::Sqlite(pool))
        }
        Db::Postgres(_) => Ok(db.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::Key;

    #[test]
    fn keys_are_equal_exactly_when_nonces_are() {
        let uuid = "0b7c9f0e-4b0a-4a4e-9d52-2f1c3a4b5c6d";
        assert_eq!(Key::of(uuid).as_bytes().len(), 16);
        let others = [
            uuid.to_uppercase(),
            uuid.replace('-', ""),
            format!("{{{uuid}}}"),
            "abcdefghijklmnop".to_owned(),
            String::new(),
        ];
        let keys: Vec<Key> = others.iter().map(|nonce| Key::of(nonce)).collect();
        for (nonce, key) in others.iter().zip(&keys) {
            assert_ne!(key.as_bytes().len(), 16, "{nonce}");
            assert_ne!(*key, Key::of(uuid), "{nonce}");
            assert_eq!(*key, Key::of(nonce), "{nonce}");
        }
        for (at, key) in keys.iter().enumerate() {
            assert!(keys[..at].iter().all(|other| other != key));
        }
    }
}
