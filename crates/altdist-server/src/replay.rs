//! The sandbox's replay guard: which install verification token nonces were seen, and when.
//!
//! [`Replays::record`] is the one interface; who decides that a nonce is fresh depends on the
//! backend:
//!
//! * **PostgreSQL**, which several servers share: the database decides. Nonces are inserted
//!   with `ON CONFLICT DO NOTHING RETURNING` under the table's primary key, so exactly one use of
//!   a nonce is fresh, on whichever server it arrives.
//! * **SQLite**, which one server process owns (`altdist serve` locks it, see
//!   [`crate::db::Db::lock_for_serving`]): this process decides, from a map in memory, and the
//!   database keeps a log that the map is rebuilt from when the server starts. A unique index
//!   on random nonces dirties a B-tree page of its own for every nonce, 4 KiB written to the WAL
//!   and again at the checkpoint; appending to a log fills pages in order, 58 nonces to a page.
//!   That took the sandbox from about a third of raw ECDSA verify throughput to about half
//!   (docs/PERFORMANCE-server.md).
//!
//! Either way a verification is answered "fresh" only after its nonce is committed (with
//! SQLite's `synchronous=FULL`, on disk): a nonce accepted before a crash or power cut is a
//! replay after it. Concurrent verifications share commits: one writer records whatever is
//! waiting in one commit, and on SQLite lets a batch gather first while verifications overlap
//! (`GATHER_BATCH`), which took the sandbox to about two thirds of raw verify.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{OnceCell, mpsc, oneshot};

use crate::db::nonces::{NewNonce, NonceKey, NonceLog, NonceUse};
use crate::db::{self, Db};

/// How often, at most, expired nonces are pruned. Pruning runs after a verification that
/// recorded a nonce, so a server that records none has nothing to prune.
pub const NONCE_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// The nonces recorded so far, the writer that makes them durable, and when they were last
/// pruned.
#[derive(Debug, Default)]
pub struct Replays {
    writer: OnceLock<mpsc::Sender<NonceRequest>>,
    /// SQLite only: every unexpired nonce, loaded from the log on first use.
    seen: OnceCell<SeenNonces>,
    last_prune: AtomicI64,
}

/// A nonce to make durable, and where to say whether it was fresh.
#[derive(Debug)]
struct NonceRequest {
    entry: NewNonce,
    reply: oneshot::Sender<Result<bool, String>>,
}

impl Replays {
    /// Records `entry`'s nonce: [`NonceUse::Fresh`] for its first use in the account, once it
    /// is durable; [`NonceUse::Replayed`] for any later one.
    pub async fn record(&self, db: &Db, entry: NewNonce) -> sqlx::Result<NonceUse> {
        let now = entry.now;
        let used = match db {
            Db::Postgres(_) => {
                let (account, key) = (entry.account.clone(), entry.key.clone());
                if self.write(db, entry).await? {
                    NonceUse::Fresh
                } else {
                    NonceUse::Replayed {
                        first_seen: db::nonces::first_seen(db, &account, &key).await?,
                    }
                }
            }
            Db::Sqlite(_) => {
                let seen = self
                    .seen
                    .get_or_try_init(|| SeenNonces::load(db, entry.now))
                    .await?;
                if let Some(first_seen) = seen.claim(&entry) {
                    return Ok(NonceUse::Replayed {
                        first_seen: Some(first_seen),
                    });
                }
                let (account, key) = (entry.account.as_str().to_owned(), entry.key.clone());
                match self.write(db, entry).await {
                    Ok(_) => NonceUse::Fresh,
                    Err(err) => {
                        // Not durable, so not used: a retry of the same token is not a replay.
                        seen.release(&account, &key, now);
                        return Err(err);
                    }
                }
            }
        };
        self.maybe_prune(db, now);
        Ok(used)
    }

    /// Sends `entry` to the batching writer (started on first use) and waits for its commit;
    /// on PostgreSQL, `true` when the database found the nonce fresh.
    async fn write(&self, db: &Db, entry: NewNonce) -> sqlx::Result<bool> {
        let writer = self.writer.get_or_init(|| start_writer(db));
        let unavailable = |why: String| sqlx::Error::Io(std::io::Error::other(why));
        let (reply, answer) = oneshot::channel();
        writer
            .send(NonceRequest { entry, reply })
            .await
            .map_err(|_| unavailable("the nonce writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| unavailable("the nonce writer has stopped".to_owned()))?
            .map_err(unavailable)
    }

    /// Runs a prune in the background unless one ran within [`NONCE_PRUNE_INTERVAL`].
    fn maybe_prune(&self, db: &Db, now: i64) {
        let last = self.last_prune.load(Ordering::Relaxed);
        if now - last < crate::sandbox::seconds(NONCE_PRUNE_INTERVAL)
            || self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Some(seen) = self.seen.get() {
            seen.prune(now);
        }
        let db = db.clone();
        tokio::spawn(async move {
            match db::nonces::prune(&db, now).await {
                Ok(pruned) => tracing::debug!(pruned, "pruned expired install token nonces"),
                Err(err) => tracing::warn!("cannot prune expired install token nonces: {err}"),
            }
        });
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
    async fn load(db: &Db, now: i64) -> sqlx::Result<Self> {
        let mut accounts: HashMap<String, HashMap<NonceKey, Seen>> = HashMap::new();
        for logged in db::nonces::unexpired(db, now).await? {
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
/// (docs/PERFORMANCE-server.md). Every nonce is still on disk before its answer.
const GATHER_BATCH: Duration = Duration::from_micros(100);

/// Appends the nonces sent to SQLite's log, on the calling thread, until every sender is gone.
///
/// Both writers work in batches: while one batch commits, the next gathers, so under load one
/// commit (one fsync with SQLite's `synchronous=FULL`) serves many verifications instead of
/// each paying its own. SQLite's also waits [`GATHER_BATCH`] for more nonces when the last
/// batch or this one holds more than one, that is while verifications overlap; a verification
/// alone is committed at once, as it would be without a writer.
fn write_log(mut log: NonceLog, mut requests: mpsc::Receiver<NonceRequest>) {
    let mut batch = Vec::with_capacity(db::nonces::MAX_BATCH);
    let mut overlapping = false;
    while requests.blocking_recv_many(&mut batch, db::nonces::MAX_BATCH) > 0 {
        if overlapping || batch.len() > 1 {
            std::thread::sleep(GATHER_BATCH);
            while batch.len() < db::nonces::MAX_BATCH
                && let Ok(request) = requests.try_recv()
            {
                batch.push(request);
            }
        }
        overlapping = batch.len() > 1;
        let written = log
            .append(batch.iter().map(|request| &request.entry))
            .map(|()| vec![true; batch.len()])
            .map_err(|err| err.to_string());
        reply(batch.drain(..), written);
    }
}

/// Inserts the nonces sent into PostgreSQL, which says which were fresh.
async fn write_database(db: Db, mut requests: mpsc::Receiver<NonceRequest>) {
    let mut batch = Vec::with_capacity(db::nonces::MAX_BATCH);
    while requests.recv_many(&mut batch, db::nonces::MAX_BATCH).await > 0 {
        let entries: Vec<NewNonce> = batch.iter().map(|request| request.entry.clone()).collect();
        let written = db::nonces::record_batch(&db, &entries)
            .await
            .map_err(|err| err.to_string());
        reply(batch.drain(..), written);
    }
}

fn reply(requests: impl Iterator<Item = NonceRequest>, written: Result<Vec<bool>, String>) {
    match written {
        Ok(fresh) => {
            for (request, fresh) in requests.zip(fresh) {
                let _ = request.reply.send(Ok(fresh));
            }
        }
        Err(err) => {
            let message = format!("cannot record install token nonces: {err}");
            for request in requests {
                let _ = request.reply.send(Err(message.clone()));
            }
        }
    }
}

/// Starts the nonce writer for `db` and returns where to send it nonces.
///
/// On SQLite the writer is a thread of its own, with its own connection. As a task among the
/// verifications it would be woken, when a commit returns, behind every verification queued
/// meanwhile, and so commit only once they are all done: the commits would follow the
/// signature checks instead of overlapping them. On PostgreSQL it is a task on the server's
/// runtime, because the pool's connections belong to it.
fn start_writer(db: &Db) -> mpsc::Sender<NonceRequest> {
    let (sender, receiver) = mpsc::channel(4 * db::nonces::MAX_BATCH);
    match db {
        Db::Sqlite(sqlite) => match NonceLog::open(sqlite) {
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
        },
        Db::Postgres(_) => {
            tokio::spawn(write_database(db.clone(), receiver));
        }
    }
    sender
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
}
