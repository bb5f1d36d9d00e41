//! `install_nonces`: the nonces of install verification tokens the sandbox has seen.
//!
//! The table has one job per backend (see [`crate::replay`] for why):
//!
//! * On PostgreSQL it decides. Its primary key is `(account_id, nonce)`; [`record_batch`]
//!   inserts with `ON CONFLICT DO NOTHING RETURNING`, so of several concurrent uses of a nonce,
//!   on one server or several sharing the database, exactly one is fresh.
//! * On SQLite it is the log of the server's in-memory guard: no key, no index, rows appended
//!   in order by [`NonceLog`] and read back at start by [`unexpired`].
//!
//! Rows carry the time after which no token with that nonce can pass its `exp` check; [`prune`]
//! drops them then, which bounds the table (see docs/API.md, "Sandbox").
//!
//! A nonce is stored by a key of bytes, [`NonceKey`]: the 16 bytes of the UUID when the nonce
//! is one spelled the canonical way (lowercase, hyphenated), as every token's nonce the sandbox
//! records is in practice; anything else by its text, in a form that can never be 16 bytes
//! long, so two nonces share a key exactly when they are the same string.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use altdist::resource::IssuerId;

use super::Db;
use super::sqlite::{SqliteDb, WriteTurn};

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
pub enum NonceKey {
    /// A UUID in its canonical spelling: its 16 bytes.
    Uuid([u8; 16]),
    /// Any other string: [`OTHER_PREFIX`], then its UTF-8 (at least 17 bytes, so never a UUID's).
    Other(Vec<u8>),
}

/// What starts the key of a nonce that is not a canonical UUID: 17 zero bytes, so that such a
/// key is never 16 bytes long.
const OTHER_PREFIX: [u8; 17] = [0; 17];

impl NonceKey {
    /// The key of `nonce`.
    pub fn of(nonce: &str) -> Self {
        if nonce.len() == 36
            && let Ok(uuid) = uuid::Uuid::try_parse(nonce)
        {
            let mut canonical = [0; 36];
            if uuid.hyphenated().encode_lower(&mut canonical).as_bytes() == nonce.as_bytes() {
                return Self::Uuid(uuid.into_bytes());
            }
        }
        let mut other = Vec::with_capacity(OTHER_PREFIX.len() + nonce.len());
        other.extend_from_slice(&OTHER_PREFIX);
        other.extend_from_slice(nonce.as_bytes());
        Self::Other(other)
    }

    /// The key as stored.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Uuid(bytes) => bytes,
            Self::Other(bytes) => bytes,
        }
    }

    /// The key stored as `bytes`.
    fn from_stored(bytes: Vec<u8>) -> Self {
        match <[u8; 16]>::try_from(bytes.as_slice()) {
            Ok(uuid) => Self::Uuid(uuid),
            Err(_) => Self::Other(bytes),
        }
    }
}

/// A nonce to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNonce {
    /// The account whose key signed the token.
    pub account: IssuerId,
    /// The nonce, as stored ([`NonceKey::of`] the claim, computed once per token).
    pub key: NonceKey,
    /// When it was seen, unix seconds.
    pub now: i64,
    /// When it may be forgotten, unix seconds.
    pub expires_at: i64,
}

/// The most nonces one statement records on PostgreSQL (4 parameters each), and one commit of
/// SQLite's log.
pub const MAX_BATCH: usize = 256;

/// The row counts of PostgreSQL's insert statements: the powers of two up to [`MAX_BATCH`]. A
/// batch is padded up to the next one, so there are nine statements, which each connection's
/// statement cache keeps prepared; a statement per batch size would be parsed again for most
/// batches, 1,024 parameters at a time.
fn padded_rows(rows: usize) -> usize {
    rows.next_power_of_two().min(MAX_BATCH)
}

/// PostgreSQL's `INSERT ... VALUES ($1, $2, $3, $4), ... ON CONFLICT DO NOTHING RETURNING ...`
/// for `rows` rows, a power of two up to [`MAX_BATCH`].
fn insert_statement(rows: usize) -> &'static str {
    static STATEMENTS: OnceLock<Vec<String>> = OnceLock::new();
    let statements = STATEMENTS.get_or_init(|| {
        (0..=MAX_BATCH.trailing_zeros())
            .map(|power| {
                let mut sql = String::from(
                    "INSERT INTO install_nonces (account_id, nonce, first_seen, expires_at) VALUES ",
                );
                for row in 0..1_usize << power {
                    if row > 0 {
                        sql.push_str(", ");
                    }
                    let first = row * 4 + 1;
                    let _ = write!(
                        sql,
                        "(${first}, ${}, ${}, ${})",
                        first + 1,
                        first + 2,
                        first + 3
                    );
                }
                sql.push_str(
                    " ON CONFLICT (account_id, nonce) DO NOTHING RETURNING account_id, nonce",
                );
                sql
            })
            .collect()
    });
    &statements[rows.trailing_zeros() as usize]
}

/// SQLite's log, appended to through a connection of its own, synchronously.
///
/// The log is written from a thread of its own ([`crate::replay`]), so it goes through
/// rusqlite, not sqlx: sqlx runs each SQLite connection on a worker thread of its own, which
/// would add a hop there and back to every batch. The connection is opened as the server's
/// (WAL, `synchronous=FULL`, foreign keys on), and appends in the server's write turn.
#[derive(Debug)]
pub struct NonceLog {
    connection: rusqlite::Connection,
    writers: WriteTurn,
}

const APPEND: &str = "INSERT INTO install_nonces (account_id, nonce, first_seen, expires_at) VALUES (?1, ?2, ?3, ?4)";

impl NonceLog {
    /// Opens the log of `database`.
    pub fn open(database: &SqliteDb) -> rusqlite::Result<Self> {
        let connection = rusqlite::Connection::open(database.file())?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", true)?;
        Ok(Self {
            connection,
            writers: database.writers().clone(),
        })
    }

    /// Appends nonces in one transaction: one commit (one fsync with `synchronous=FULL`)
    /// however many there are. Blocks the thread for the write turn, so call it outside the
    /// async runtime.
    ///
    /// Appending decides nothing: [`crate::replay`] has already found each nonce fresh.
    pub fn append<'a>(
        &mut self,
        batch: impl IntoIterator<Item = &'a NewNonce>,
    ) -> rusqlite::Result<()> {
        let _turn = self.writers.blocking_take();
        let transaction = self.connection.transaction()?;
        {
            let mut append = transaction.prepare_cached(APPEND)?;
            for entry in batch {
                append.execute(rusqlite::params![
                    entry.account.as_str(),
                    entry.key.as_bytes(),
                    entry.now,
                    entry.expires_at
                ])?;
            }
        }
        transaction.commit()
    }
}

/// A nonce read back from SQLite's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedNonce {
    /// The account whose key signed the token.
    pub account: String,
    /// The nonce's key.
    pub key: NonceKey,
    /// When it was first seen, unix seconds.
    pub first_seen: i64,
    /// When it may be forgotten, unix seconds.
    pub expires_at: i64,
}

/// Every nonce whose token could still pass its `exp` check at `now`.
pub async fn unexpired(db: &Db, now: i64) -> sqlx::Result<Vec<LoggedNonce>> {
    let rows: Vec<(String, Vec<u8>, i64, i64)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT account_id, nonce, first_seen, expires_at FROM install_nonces WHERE expires_at > $1"
    )
    .bind(now)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(account, key, first_seen, expires_at)| LoggedNonce {
            account,
            key: NonceKey::from_stored(key),
            first_seen,
            expires_at,
        })
        .collect())
}

/// Records nonces on PostgreSQL, [`MAX_BATCH`] to a statement; returns for each whether it
/// was fresh.
///
/// One statement is one commit (one fsync with `synchronous=FULL`), however many nonces it
/// carries. Of equal entries in `batch`, the first is the one that counts; the others are
/// replays.
pub async fn record_batch(db: &Db, batch: &[NewNonce]) -> sqlx::Result<Vec<bool>> {
    if !matches!(db, Db::Postgres(_)) {
        return Err(sqlx::Error::Protocol(
            "only PostgreSQL's install_nonces decides replays; SQLite's is a log (NonceLog)"
                .to_owned(),
        ));
    }
    // The index of the first entry naming each (account, nonce).
    let mut first = HashMap::with_capacity(batch.len());
    let mut unique: Vec<(&NewNonce, &[u8])> = Vec::with_capacity(batch.len());
    for (at, entry) in batch.iter().enumerate() {
        first
            .entry((entry.account.as_str(), entry.key.as_bytes()))
            .or_insert_with(|| {
                unique.push((entry, entry.key.as_bytes()));
                at
            });
    }
    let mut fresh = vec![false; batch.len()];
    for chunk in unique.chunks(MAX_BATCH) {
        let rows = padded_rows(chunk.len());
        let sql = insert_statement(rows);
        // Padding repeats the last entry: a row equal to one inserted by the same statement is
        // a conflict, so it does nothing and returns nothing.
        let padded = chunk.iter().chain(std::iter::repeat_n(
            chunk.last().expect("chunks are never empty"),
            rows - chunk.len(),
        ));
        let inserted: Vec<(String, Vec<u8>)> = on_pool_writing!(db, |pool| {
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

/// When `nonce` was first seen in `account`, unix seconds (PostgreSQL: SQLite's log has no
/// index to find it by, and the server's memory knows).
pub async fn first_seen(db: &Db, account: &IssuerId, key: &NonceKey) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(FIRST_SEEN)
            .bind(account.as_str())
            .bind(key.as_bytes())
            .fetch_optional(pool)
            .await
    })
}

/// Deletes the nonces whose tokens expired by `now`; returns how many.
///
/// There is no index on `expires_at`, which would be a second B-tree written for every nonce:
/// this scans the table, which is bounded (docs/API.md, "Sandbox") and pruned at most once a
/// minute.
pub async fn prune(db: &Db, now: i64) -> sqlx::Result<u64> {
    on_pool_writing!(db, |pool| sqlx::query(PRUNE)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
}

/// How many nonces are stored, in every account.
pub async fn count(db: &Db) -> sqlx::Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(COUNT).fetch_one(pool).await)
}

#[cfg(test)]
mod tests {
    use super::NonceKey;

    #[test]
    fn keys_are_equal_exactly_when_nonces_are() {
        let uuid = "0b7c9f0e-4b0a-4a4e-9d52-2f1c3a4b5c6d";
        assert_eq!(NonceKey::of(uuid).as_bytes().len(), 16);
        let others = [
            uuid.to_uppercase(),
            uuid.replace('-', ""),
            format!("{{{uuid}}}"),
            "abcdefghijklmnop".to_owned(),
            String::new(),
        ];
        let keys: Vec<NonceKey> = others.iter().map(|nonce| NonceKey::of(nonce)).collect();
        for (nonce, key) in others.iter().zip(&keys) {
            assert_ne!(key.as_bytes().len(), 16, "{nonce}");
            assert_ne!(*key, NonceKey::of(uuid), "{nonce}");
            assert_eq!(*key, NonceKey::of(nonce), "{nonce}");
        }
        for (at, key) in keys.iter().enumerate() {
            assert!(keys[..at].iter().all(|other| other != key));
        }
    }
}
