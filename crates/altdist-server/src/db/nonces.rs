//! The sandbox's replay guard: which install verification token nonces were seen, and when.
//!
//! [`record`] is the one interface; who decides that a nonce is fresh depends on the backend:
//!
//! * **PostgreSQL**, which several servers share: the database decides
//!   ([`super::postgres::nonces`]). Nonces are inserted with `ON CONFLICT DO NOTHING RETURNING`
//!   under the table's primary key, so exactly one use of a nonce is fresh, on whichever server
//!   it arrives.
//! * **SQLite**, which one server process owns (`altdist serve` locks it): this process decides,
//!   from a map in memory, and the table is a log that the map is rebuilt from when the server
//!   starts ([`super::sqlite::nonces`]).
//!
//! Either way a verification is answered "fresh" only after its nonce is committed (with
//! SQLite's `synchronous=FULL`, on disk): a nonce accepted before a crash or power cut is a
//! replay after it. Concurrent verifications share commits: one writer per server records
//! whatever is waiting in one commit.
//!
//! Rows carry the time after which no token with that nonce can pass its `exp` check; [`record`]
//! prunes them then, at most every [`NONCE_PRUNE_INTERVAL`], which bounds the table (see
//! docs/API.md, "Sandbox").
//!
//! A nonce is stored by a key of bytes, [`NonceKey`]: the 16 bytes of the UUID when the nonce
//! is one spelled the canonical way (lowercase, hyphenated), as every token's nonce the sandbox
//! records is in practice; anything else by its text, in a form that can never be 16 bytes
//! long, so two nonces share a key exactly when they are the same string.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use altdist::resource::IssuerId;
use tokio::sync::oneshot;

use super::{Db, Error, Result};

/// How often, at most, expired nonces are pruned. Pruning runs after a verification that
/// recorded a nonce, so a server that records none has nothing to prune.
pub const NONCE_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

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

/// Records `entry`'s nonce: [`NonceUse::Fresh`] for its first use in the account, once it is
/// durable; [`NonceUse::Replayed`] for any later one.
pub async fn record(db: &Db, entry: NewNonce) -> Result<NonceUse> {
    let now = entry.now;
    let (used, clock) = match db {
        Db::Sqlite(sqlite) => (
            sqlite.nonces().record(sqlite, entry).await?,
            sqlite.nonces().prune_clock(),
        ),
        Db::Postgres(postgres) => (
            postgres.nonces().record(db, entry).await?,
            postgres.nonces().prune_clock(),
        ),
    };
    if clock.is_due(now) {
        if let Db::Sqlite(sqlite) = db {
            sqlite.nonces().forget_expired(now);
        }
        let db = db.clone();
        tokio::spawn(async move {
            match prune(&db, now).await {
                Ok(pruned) => tracing::debug!(pruned, "pruned expired install token nonces"),
                Err(err) => tracing::warn!("cannot prune expired install token nonces: {err}"),
            }
        });
    }
    Ok(used)
}

/// When the stored nonces were last pruned.
#[derive(Debug, Default)]
pub struct PruneClock(AtomicI64);

impl PruneClock {
    /// Whether a prune is due at `now`: true for one caller per [`NONCE_PRUNE_INTERVAL`].
    fn is_due(&self, now: i64) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        let interval = i64::try_from(NONCE_PRUNE_INTERVAL.as_secs()).unwrap_or(i64::MAX);
        now - last >= interval
            && self
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

const PRUNE: &str = "DELETE FROM install_nonces WHERE expires_at <= $1";
const COUNT: &str = "SELECT count(*) FROM install_nonces";

/// How a nonce is stored: see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NonceKey {
    /// A UUID in its canonical spelling: its 16 bytes.
    Uuid([u8; 16]),
    /// Any other string: 17 zero bytes, then its UTF-8 (so never 16 bytes, a UUID's length).
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
    pub(crate) fn from_stored(bytes: Vec<u8>) -> Self {
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

/// A nonce for a backend's writer to make durable, and where to say whether it was fresh.
#[derive(Debug)]
pub struct NonceRequest {
    entry: NewNonce,
    reply: oneshot::Sender<std::result::Result<bool, String>>,
}

impl NonceRequest {
    /// Sends `entry` to `writer` and waits for its commit; `true` when it was fresh.
    pub async fn send(writer: &tokio::sync::mpsc::Sender<Self>, entry: NewNonce) -> Result<bool> {
        let stopped = || Error::NonceWriter("the writer has stopped".to_owned());
        let (reply, answer) = oneshot::channel();
        writer
            .send(Self { entry, reply })
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(Error::NonceWriter)
    }

    /// The nonce to record.
    pub fn entry(&self) -> &NewNonce {
        &self.entry
    }
}

/// Answers each request of a batch whose commit came out as `written`.
pub fn reply(
    requests: impl Iterator<Item = NonceRequest>,
    written: std::result::Result<Vec<bool>, String>,
) {
    match written {
        Ok(fresh) => {
            for (request, fresh) in requests.zip(fresh) {
                let _ = request.reply.send(Ok(fresh));
            }
        }
        Err(err) => {
            for request in requests {
                let _ = request.reply.send(Err(err.clone()));
            }
        }
    }
}

/// Deletes the nonces whose tokens expired by `now`; returns how many.
///
/// There is no index on `expires_at`, which would be a second B-tree written for every nonce:
/// this scans the table, which is bounded (docs/API.md, "Sandbox") and pruned at most once a
/// minute.
pub async fn prune(db: &Db, now: i64) -> Result<u64> {
    on_pool_writing!(db, |pool| sqlx::query(PRUNE)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
}

/// How many nonces are stored, in every account.
pub async fn count(db: &Db) -> Result<i64> {
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
