//! SQLite's replay guard: this process decides from a map in memory, and `install_nonces` is
//! the map's append-only log, read back when the server starts.
//!
//! One server process owns a SQLite database ([`super::SqliteDb::lock_for_serving`]), so its
//! memory can decide. A unique index on random nonces dirtied a B-tree page of its own for every
//! nonce, 4 KiB written to the WAL and again at the checkpoint; appending to a log fills pages
//! in order, 58 nonces to a page. That took the sandbox from about a third of raw ECDSA verify
//! throughput to about half, and gathering batches (`GATHER_BATCH`) to about two thirds
//! (docs/PERFORMANCE.md, "The nonce log" and "Gathering the log's batches").

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{OnceCell, mpsc};

use super::{SqliteDb, WriteTurn};
use crate::db::Result;
use crate::db::nonces::{MAX_BATCH, NewNonce, NonceKey, NonceRequest, NonceUse, PruneClock, reply};

/// This process's nonces: the map that decides, and the writer that logs them.
#[derive(Debug, Default)]
pub struct Nonces {
    /// Every unexpired nonce, loaded from the log on first use.
    seen: OnceCell<SeenNonces>,
    writer: OnceLock<mpsc::Sender<NonceRequest>>,
    prune_clock: PruneClock,
}

impl Nonces {
    /// Decides whether `entry`'s nonce is fresh and, if it is, logs it before saying so.
    pub(crate) async fn record(&self, database: &SqliteDb, entry: NewNonce) -> Result<NonceUse> {
        let now = entry.now;
        let seen = self
            .seen
            .get_or_try_init(|| SeenNonces::load(database, now))
            .await?;
        if let Some(first_seen) = seen.claim(&entry) {
            return Ok(NonceUse::Replayed {
                first_seen: Some(first_seen),
            });
        }
        let (account, key) = (entry.account.as_str().to_owned(), entry.key.clone());
        let writer = self.writer.get_or_init(|| start_writer(database));
        match NonceRequest::send(writer, entry).await {
            Ok(_) => Ok(NonceUse::Fresh),
            Err(err) => {
                // Not durable, so not used: a retry of the same token is not a replay.
                seen.release(&account, &key, now);
                Err(err)
            }
        }
    }

    pub(crate) fn prune_clock(&self) -> &PruneClock {
        &self.prune_clock
    }

    /// Forgets the nonces that expired by `now` (the log is pruned separately).
    pub(crate) fn forget_expired(&self, now: i64) {
        if let Some(seen) = self.seen.get() {
            seen.prune(now);
        }
    }
}

/// SQLite's guard: every unexpired nonce of every account, with when it was first seen and when
/// it may be forgotten. As many nonces as the log holds (bounded: docs/API.md), each a 41-byte
/// hash-map slot, so 47 to 84 bytes with the map's spare room.
#[derive(Debug, Default)]
struct SeenNonces {
    accounts: Mutex<HashMap<String, HashMap<NonceKey, Seen>>>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    first_seen: i64,
    expires_at: i64,
}

impl SeenNonces {
    /// The unexpired nonces of the log; of a nonce logged twice, the first sighting.
    async fn load(database: &SqliteDb, now: i64) -> Result<Self> {
        let mut accounts: HashMap<String, HashMap<NonceKey, Seen>> = HashMap::new();
        for logged in unexpired(database, now).await? {
            let seen = Seen {
                first_seen: logged.first_seen,
                expires_at: logged.expires_at,
            };
            accounts
                .entry(logged.account)
                .or_default()
                .entry(logged.key)
                .and_modify(|earlier| {
                    earlier.first_seen = earlier.first_seen.min(seen.first_seen);
                    earlier.expires_at = earlier.expires_at.max(seen.expires_at);
                })
                .or_insert(seen);
        }
        Ok(Self {
            accounts: Mutex::new(accounts),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<NonceKey, Seen>>> {
        self.accounts.lock().unwrap_or_else(|err| err.into_inner())
    }

    /// Marks the nonce seen; `None` if this is its first use, else when it was first seen.
    fn claim(&self, entry: &NewNonce) -> Option<i64> {
        let mut accounts = self.lock();
        let nonces = accounts
            .entry(entry.account.as_str().to_owned())
            .or_default();
        match nonces.entry(entry.key.clone()) {
            Entry::Occupied(seen) => Some(seen.get().first_seen),
            Entry::Vacant(slot) => {
                slot.insert(Seen {
                    first_seen: entry.now,
                    expires_at: entry.expires_at,
                });
                None
            }
        }
    }

    /// Forgets a claim whose nonce could not be made durable.
    fn release(&self, account: &str, key: &NonceKey, first_seen: i64) {
        let mut accounts = self.lock();
        if let Some(nonces) = accounts.get_mut(account)
            && nonces
                .get(key)
                .is_some_and(|seen| seen.first_seen == first_seen)
        {
            nonces.remove(key);
        }
    }

    /// Forgets the nonces that expired by `now`.
    fn prune(&self, now: i64) {
        let mut accounts = self.lock();
        for nonces in accounts.values_mut() {
            nonces.retain(|_, seen| seen.expires_at > now);
        }
        accounts.retain(|_, nonces| !nonces.is_empty());
    }
}

/// How long SQLite's writer lets a batch gather before committing it, while verifications
/// arrive concurrently.
///
/// A commit costs CPU as well as waiting: on a two-core VM roughly 150 µs of the writer's CPU
/// (the write, the flush, the interrupts; estimated from a profile), CPU the signature checks
/// then lack.
/// Committing whatever was waiting as soon as the previous commit returned made batches of
/// about five nonces; gathering for about one fsync's time first makes them about three times
/// larger, and took the sandbox at 64 in flight from 46–59 % of raw verify to 60–76 %
/// (docs/PERFORMANCE.md, "Gathering the log's batches"). Every nonce is still on disk before
/// its answer.
const GATHER_BATCH: Duration = Duration::from_micros(100);

/// Appends the nonces sent to SQLite's log, on the calling thread, until every sender is gone.
///
/// Both writers work in batches: while one batch commits, the next gathers, so under load one
/// commit (one fsync with SQLite's `synchronous=FULL`) serves many verifications instead of
/// each paying its own. SQLite's also waits [`GATHER_BATCH`] for more nonces when the last
/// batch or this one holds more than one, that is while verifications overlap; a verification
/// alone is committed at once, as it would be without a writer.
fn write_log(mut log: NonceLog, mut requests: mpsc::Receiver<NonceRequest>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut overlapping = false;
    while requests.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
        if overlapping || batch.len() > 1 {
            std::thread::sleep(GATHER_BATCH);
            while batch.len() < MAX_BATCH
                && let Ok(request) = requests.try_recv()
            {
                batch.push(request);
            }
        }
        overlapping = batch.len() > 1;
        let written = log
            .append(batch.iter().map(NonceRequest::entry))
            .map(|()| vec![true; batch.len()])
            .map_err(|err| err.to_string());
        reply(batch.drain(..), written);
    }
}

/// Starts the log's writer: a thread of its own, with its own connection. As a task among the
/// verifications it would be woken, when a commit returns, behind every verification queued
/// meanwhile, and so commit only once they are all done: the commits would follow the
/// signature checks instead of overlapping them.
fn start_writer(database: &SqliteDb) -> mpsc::Sender<NonceRequest> {
    let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
    match NonceLog::open(database) {
        Ok(log) => {
            let started = std::thread::Builder::new()
                .name("altdist-nonces".to_owned())
                .spawn(move || write_log(log, receiver));
            // Either way, without a writer the receiver is gone, and each verification
            // reports the writer as stopped.
            if let Err(err) = started {
                tracing::error!("cannot start the nonce writer's thread: {err}");
            }
        }
        Err(err) => tracing::error!("cannot open the install nonce log: {err}"),
    }
    sender
}

/// SQLite's log, appended to through a connection of its own, synchronously.
///
/// The log is written from a thread of its own ([`Nonces`]), so it goes through
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
    /// Appending decides nothing: [`Nonces`] has already found each nonce fresh.
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
struct LoggedNonce {
    /// The account whose key signed the token.
    account: String,
    /// The nonce's key.
    key: NonceKey,
    /// When it was first seen, unix seconds.
    first_seen: i64,
    /// When it may be forgotten, unix seconds.
    expires_at: i64,
}

/// Every nonce whose token could still pass its `exp` check at `now`.
async fn unexpired(database: &SqliteDb, now: i64) -> Result<Vec<LoggedNonce>> {
    let rows: Vec<(String, Vec<u8>, i64, i64)> = on_lent!(database.connections(), |pool| {
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

#[cfg(test)]
mod tests {
    use altdist::resource::IssuerId;

    use super::*;

    fn entry(account: &str, nonce: &str, now: i64) -> NewNonce {
        NewNonce {
            account: IssuerId(account.to_owned()),
            key: NonceKey::of(nonce),
            now,
            expires_at: now + 100,
        }
    }

    #[test]
    fn the_first_claim_of_a_nonce_in_an_account_wins() {
        let seen = SeenNonces::default();
        assert_eq!(seen.claim(&entry("a", "n", 10)), None);
        assert_eq!(seen.claim(&entry("a", "n", 20)), Some(10));
        assert_eq!(seen.claim(&entry("b", "n", 20)), None, "per account");
    }

    #[test]
    fn a_released_claim_is_forgotten_but_only_its_own() {
        let seen = SeenNonces::default();
        let key = NonceKey::of("n");
        assert_eq!(seen.claim(&entry("a", "n", 10)), None);
        // A release for another sighting (not the recorded first one) changes nothing.
        seen.release("a", &key, 11);
        assert_eq!(seen.claim(&entry("a", "n", 12)), Some(10));
        seen.release("a", &key, 10);
        assert_eq!(seen.claim(&entry("a", "n", 13)), None);
    }

    #[test]
    fn pruning_forgets_expired_nonces_only() {
        let seen = SeenNonces::default();
        assert_eq!(seen.claim(&entry("a", "old", 0)), None);
        assert_eq!(seen.claim(&entry("a", "new", 50)), None);
        seen.prune(100);
        assert_eq!(seen.claim(&entry("a", "old", 101)), None);
        assert_eq!(seen.claim(&entry("a", "new", 101)), Some(50));
    }

    /// The log keeps every nonce appended, and gives back the unexpired ones.
    #[tokio::test]
    async fn nonces_are_appended_to_the_log_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::connect(&crate::db::Db::default_url(dir.path()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let account = IssuerId("a".to_owned());
        crate::db::accounts::insert(&db, &account).await.unwrap();
        let now = 1_000;
        let batch: Vec<NewNonce> = (0..MAX_BATCH + 3)
            .map(|n| NewNonce {
                account: account.clone(),
                key: NonceKey::of(&if n == 0 {
                    "not a uuid".to_owned()
                } else {
                    uuid::Uuid::new_v4().to_string()
                }),
                now,
                expires_at: if n % 2 == 0 { now + 60 } else { now - 1 },
            })
            .collect();
        let crate::db::Db::Sqlite(sqlite) = &db else {
            unreachable!("a SQLite database")
        };
        let mut log = NonceLog::open(sqlite).unwrap();
        // As the server does: on a thread outside the runtime, which the write turn blocks.
        let appended = batch.clone();
        tokio::task::spawn_blocking(move || log.append(&appended))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            crate::db::nonces::count(&db).await.unwrap(),
            i64::try_from(batch.len()).unwrap()
        );
        let unexpired = unexpired(sqlite, now).await.unwrap();
        let expected: Vec<NonceKey> = batch
            .iter()
            .filter(|entry| entry.expires_at > now)
            .map(|entry| entry.key.clone())
            .collect();
        assert_eq!(
            unexpired
                .iter()
                .map(|logged| logged.key.clone())
                .collect::<Vec<_>>(),
            expected
        );
        assert!(unexpired.iter().all(|logged| logged.account == "a"));
        db.close().await;
    }
}
