//! PostgreSQL's side of [`ReadCache`](crate::db::read_cache::ReadCache): how servers sharing one database keep each other's caches
//! of alternative distribution keys from showing a deleted key.
//!
//! A server that caches is a *peer*, with a row in `read_cache_peers`. Two kinds of notification
//! travel on one channel, [`CHANNEL`], which PostgreSQL delivers to each listener in the order
//! their transactions committed:
//!
//! * `change N`: a transaction changed `alt_dist_keys` ([`announce`], in that transaction). A
//!   peer empties its cache and acks `N` in its row.
//! * `heartbeat PEER K`: every [`HEARTBEAT_EVERY`] a peer stamps its row and notifies itself. When
//!   its own heartbeat comes back it may serve from its cache until [`LEASE`] after the moment it
//!   sent it: every change committed before that heartbeat has been received (commit order) and
//!   handled (one task handles notifications, in order).
//!
//! After committing a change, its request waits ([`wait_for_peers`]) until every live peer has
//! acked it, and for at most [`WAIT_LIMIT`], longer than [`LEASE`]: a peer that did not see the
//! change has received no heartbeat sent after it was committed either, so its lease has lapsed
//! by then. A peer whose row has not been stamped for [`PEER_LIVE_SECONDS`] is not waited for: its
//! lease lapsed even earlier. A peer whose listening connection drops stops serving from its
//! cache and empties it before listening again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;

use super::PgDb;
use crate::db::read_cache::LEASE;

/// The channel of changes and heartbeats.
pub const CHANNEL: &str = "altdist_read_cache";

/// How often a peer renews its lease.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);

/// How long a change's request waits for peers at most: past [`LEASE`], by when any peer that
/// missed the change has stopped serving from its cache.
pub const WAIT_LIMIT: Duration = Duration::from_millis(2_500);

/// A peer not stamped for this long is not waited for (its lease ended a second before).
const PEER_LIVE_SECONDS: f64 = 3.0;

/// Peers gone for this long lose their row.
const PEER_FORGOTTEN_SECONDS: f64 = 3_600.0;

/// Makes the change being made in `transaction` known to every peer once it commits; returns
/// its number, for [`wait_for_peers`].
pub async fn announce(transaction: &mut sqlx::PgConnection) -> sqlx::Result<i64> {
    let number: i64 = sqlx::query_scalar("SELECT nextval('read_cache_changes')")
        .fetch_one(&mut *transaction)
        .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(format!("change {number}"))
        .execute(&mut *transaction)
        .await?;
    Ok(number)
}

/// After the change `number` is committed: empties this process's cache, then waits until
/// every other live peer has emptied its own, for at most [`WAIT_LIMIT`].
pub async fn wait_for_peers(db: &PgDb, number: i64) {
    db.read_cache().clear();
    let deadline = Instant::now() + WAIT_LIMIT;
    let mut pause = Duration::from_millis(1);
    loop {
        let behind = on_lent!(db.connections(), |pool| sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM read_cache_peers WHERE instance <> $1 AND acked < $2 \
             AND heartbeat_at > now() - make_interval(secs => $3)"
        )
        .bind(db.instance())
        .bind(number)
        .bind(PEER_LIVE_SECONDS)
        .fetch_one(pool)
        .await);
        match behind {
            Ok(0) => return,
            Ok(_) => {}
            // Waiting out the whole limit is as safe, only slower.
            Err(err) => tracing::warn!("cannot ask which servers emptied their key cache: {err}"),
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                change = number,
                "a server sharing the database did not confirm it emptied its key cache within {WAIT_LIMIT:?}; its lease has lapsed"
            );
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// This process as a peer: its listening and heartbeat tasks, until [`Peer::leave`].
#[derive(Debug)]
pub struct Peer {
    db: PgDb,
    listener: tokio::task::JoinHandle<()>,
    heartbeat: tokio::task::JoinHandle<()>,
}

/// Heartbeats sent and not yet back, by number: when each was sent.
type Sent = Arc<Mutex<VecDeque<(u64, Instant)>>>;

/// Heartbeats remembered while on their way; older ones are lost anyway.
const SENT_REMEMBERED: usize = 32;

impl Peer {
    /// Joins the peers of `db`: from the first heartbeat that comes back, reads are served from
    /// its cache.
    pub fn join(db: &PgDb) -> Self {
        let sent: Sent = Arc::default();
        let listener = tokio::spawn(listen(db.clone(), Arc::clone(&sent)));
        let heartbeat = tokio::spawn(beat(db.clone(), sent));
        Self {
            db: db.clone(),
            listener,
            heartbeat,
        }
    }

    /// Stops serving from the cache and leaves the peers, so that no change waits for this
    /// process.
    pub async fn leave(self) {
        let db = self.db.clone();
        // Dropping stops the tasks and the lease.
        drop(self);
        let left = on_lent!(db.connections(), |pool| sqlx::query(
            "DELETE FROM read_cache_peers WHERE instance = $1"
        )
        .bind(db.instance())
        .execute(pool)
        .await);
        if let Err(err) = left {
            tracing::warn!("cannot remove this server from read_cache_peers: {err}");
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.heartbeat.abort();
        self.listener.abort();
        self.db.read_cache().revoke_lease();
    }
}

async fn listen(db: PgDb, sent: Sent) {
    let cache = db.read_cache();
    // A connection of its own, outside the server's pool: a listener holds its connection for
    // good, and one of the pool's would be missed by the statements that count on having all
    // of them (`crate::db::lending`).
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(db.pool().connect_options().as_ref().clone());
    loop {
        cache.revoke_lease();
        let mut listener = match PgListener::connect_with(&own).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(
                    "cannot LISTEN for key changes; keys are read from the database: {err}"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // A lost connection may have lost notifications: start over rather than reconnect
        // behind the cache's back.
        listener.eager_reconnect(false);
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!("cannot LISTEN for key changes; keys are read from the database: {err}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => handle(&db, &sent, notification.payload()).await,
                Ok(None) => {
                    tracing::warn!("lost the LISTEN connection for key changes; listening again");
                    break;
                }
                Err(err) => {
                    tracing::warn!("lost the LISTEN connection for key changes: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
    }
}

async fn handle(db: &PgDb, sent: &Sent, payload: &str) {
    let cache = db.read_cache();
    let mut words = payload.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("change"), Some(number), None) => {
            cache.clear();
            let Ok(number) = number.parse::<i64>() else {
                return;
            };
            let acked = on_lent!(db.connections(), |pool| sqlx::query(
                "UPDATE read_cache_peers SET acked = GREATEST(acked, $2) WHERE instance = $1"
            )
            .bind(db.instance())
            .bind(number)
            .execute(pool)
            .await);
            if let Err(err) = acked {
                // The writer waits out its limit instead.
                tracing::warn!("cannot confirm the key cache was emptied: {err}");
            }
        }
        (Some("heartbeat"), Some(peer), Some(number)) if peer == db.instance() => {
            let Ok(number) = number.parse::<u64>() else {
                return;
            };
            let sent_at = {
                let mut sent = sent.lock().unwrap_or_else(PoisonError::into_inner);
                let at = sent.iter().find(|(n, _)| *n == number).map(|(_, at)| *at);
                sent.retain(|(n, _)| *n > number);
                at
            };
            if let Some(sent_at) = sent_at {
                cache.renew_lease(sent_at + LEASE);
            }
        }
        _ => {}
    }
}

async fn beat(db: PgDb, sent: Sent) {
    let mut ticks = tokio::time::interval(HEARTBEAT_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for number in 1_u64.. {
        ticks.tick().await;
        {
            let mut sent = sent.lock().unwrap_or_else(PoisonError::into_inner);
            if sent.len() >= SENT_REMEMBERED {
                sent.pop_front();
            }
            sent.push_back((number, Instant::now()));
        }
        // One statement: the stamp and the notification commit together.
        let beat = on_lent!(db.connections(), |pool| sqlx::query(
            "WITH stamped AS (\
               INSERT INTO read_cache_peers (instance, heartbeat_at) VALUES ($1, now()) \
               ON CONFLICT (instance) DO UPDATE SET heartbeat_at = now() RETURNING instance) \
             SELECT pg_notify($2, 'heartbeat ' || instance || ' ' || $3) FROM stamped"
        )
        .bind(db.instance())
        .bind(CHANNEL)
        .bind(number.to_string())
        .execute(pool)
        .await);
        if let Err(err) = beat {
            tracing::warn!("cannot renew the key cache's lease: {err}");
        }
        if number % 7_200 == 0 {
            let forgotten = on_lent!(db.connections(), |pool| {
                sqlx::query(
                "DELETE FROM read_cache_peers WHERE heartbeat_at < now() - make_interval(secs => $1)"
            )
            .bind(PEER_FORGOTTEN_SECONDS)
            .execute(pool)
            .await
            });
            if let Err(err) = forgotten {
                tracing::warn!("cannot forget servers gone from read_cache_peers: {err}");
            }
        }
    }
}
