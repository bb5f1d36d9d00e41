//! Pooled connections lent out without sqlx's check on every release.
//!
//! The upstream limitation: sqlx 0.8's pool has no setting to skip the ping it sends when a
//! connection is returned. What lending buys is measured in docs/PERFORMANCE.md ("Lending
//! connections").
//!
//! sqlx's pool pings a connection each time it comes back, from a task it spawns: on
//! PostgreSQL a `Sync` and a wait for `ReadyForQuery`, a second round trip for a one-query
//! request; on SQLite a message to the connection's worker thread and back. [`Connections`]
//! keeps sqlx's pool for what it does well (opening connections, the limit on their number,
//! closing them) and lends its connections out itself: a connection whose statement finished
//! with an answer from the database goes straight back onto a stack. Every other case returns
//! it to sqlx's pool, which pings it and closes it if it is broken: an I/O or protocol error, an
//! error the backend says may have left the connection unusable ([`Lendable`]), and a request
//! abandoned mid-statement (the client went away), whose connection may still owe the
//! database's reply. A connection idle for longer than [`IDLE_BEFORE_PING`] is pinged before it
//! is lent again, since a server or a firewall may have closed it meanwhile; one lent out for
//! [`MAX_LIFETIME`] goes back to sqlx's pool to be replaced, as the pool itself would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::error::DatabaseError;
use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, Database, Pool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a connection may sit unused before it is pinged on its next loan.
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// How long a connection is lent out, from its first loan, before it is replaced.
///
/// It is then handed back to sqlx's pool, whose `max_lifetime` is set to the same (sqlx's
/// default), so the pool closes it: connections parked here never reach the pool's own check.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A backend whose connections [`Connections`] lends.
pub trait Lendable: Database {
    /// Whether a connection whose statement failed with `err`, an error the database reported,
    /// is as usable as before.
    fn reusable_after(err: &(dyn DatabaseError + 'static)) -> bool;
}

/// The connections of one server process to one database.
#[derive(Debug)]
pub struct Connections<DB: Database> {
    shared: Arc<Shared<DB>>,
}

impl<DB: Database> Clone for Connections<DB> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

#[derive(Debug)]
struct Shared<DB: Database> {
    pool: Pool<DB>,
    /// One permit per connection the pool may open, so that loans wait here, in FIFO order,
    /// and never inside sqlx's pool for a connection that sits on `idle`.
    permits: Arc<Semaphore>,
    /// Connections ready for the next loan, the most recently returned last.
    idle: Mutex<Vec<IdleConnection<DB>>>,
    acquire_timeout: Duration,
}

impl<DB: Database> Drop for Shared<DB> {
    fn drop(&mut self) {
        // A pooled connection's drop spawns a task to hand it back. With no runtime to spawn
        // on (the last handle dropped on a plain thread, or after the runtime ended) that would
        // panic; the process is ending or done with the database, so let them go unclosed.
        if tokio::runtime::Handle::try_current().is_err() {
            let idle = self.idle.get_mut().unwrap_or_else(|err| err.into_inner());
            for parked in idle.drain(..) {
                std::mem::forget(parked.connection);
            }
        }
    }
}

#[derive(Debug)]
struct IdleConnection<DB: Database> {
    connection: PoolConnection<DB>,
    /// When it was first lent out.
    first_lent: Instant,
    since: Instant,
}

impl<DB: Lendable> Connections<DB> {
    /// Lends connections of `pool`, as many at once as the pool may open, each loan waiting
    /// as long as the pool's `acquire_timeout`.
    pub fn new(pool: Pool<DB>) -> Self {
        let options = pool.options();
        let (max_connections, acquire_timeout) =
            (options.get_max_connections(), options.get_acquire_timeout());
        Self {
            shared: Arc::new(Shared {
                pool,
                permits: Arc::new(Semaphore::new(max_connections as usize)),
                idle: Mutex::new(Vec::new()),
                acquire_timeout,
            }),
        }
    }

    /// sqlx's pool, for what takes its own connections: migrations, before any loan.
    pub fn pool(&self) -> &Pool<DB> {
        &self.shared.pool
    }

    /// How many connections wait on the stack for their next loan.
    #[cfg(test)]
    pub(crate) fn stacked(&self) -> usize {
        self.shared
            .idle
            .lock()
            .unwrap_or_else(|err| err.into_inner())
            .len()
    }

    /// A connection for one statement; hand it back with [`Loan::finish`].
    pub async fn acquire(&self) -> sqlx::Result<Loan<DB>> {
        let shared = &self.shared;
        let permit = tokio::time::timeout(
            shared.acquire_timeout,
            Arc::clone(&shared.permits).acquire_owned(),
        )
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
        .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let idle = shared
                .idle
                .lock()
                .unwrap_or_else(|err| err.into_inner())
                .pop();
            let Some(IdleConnection {
                mut connection,
                first_lent,
                since,
            }) = idle
            else {
                break;
            };
            if since.elapsed() < IDLE_BEFORE_PING || connection.ping().await.is_ok() {
                return Ok(self.loan(connection, first_lent, permit));
            }
            // Dropped, it goes back to sqlx's pool, which closes it when its own ping fails.
        }
        // Nothing idle: the permit guarantees the pool is below its limit, so this opens a
        // connection (or takes one the pool got back) rather than waiting.
        let connection = tokio::time::timeout(shared.acquire_timeout, shared.pool.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        Ok(self.loan(connection, Instant::now(), permit))
    }

    fn loan(
        &self,
        connection: PoolConnection<DB>,
        first_lent: Instant,
        permit: OwnedSemaphorePermit,
    ) -> Loan<DB> {
        Loan {
            connection: Some(connection),
            first_lent,
            reusable: false,
            shared: Arc::clone(&self.shared),
            _permit: permit,
        }
    }

    /// Closes every connection, waiting for those lent out.
    pub async fn close(&self) {
        self.shared.permits.close();
        let idle = std::mem::take(
            &mut *self
                .shared
                .idle
                .lock()
                .unwrap_or_else(|err| err.into_inner()),
        );
        drop(idle);
        self.shared.pool.close().await;
    }
}

/// A connection lent by [`Connections`]. Dropped without [`Loan::finish`] (the statement's
/// future was abandoned), it goes back through sqlx's pool, which pings it first.
#[derive(Debug)]
pub struct Loan<DB: Database> {
    connection: Option<PoolConnection<DB>>,
    first_lent: Instant,
    reusable: bool,
    shared: Arc<Shared<DB>>,
    // Released after `drop` has put the connection back, so the next loan finds it.
    _permit: OwnedSemaphorePermit,
}

impl<DB: Lendable> Loan<DB> {
    /// The connection, to run statements on.
    pub fn connection(&mut self) -> &mut DB::Connection {
        self.connection
            .as_deref_mut()
            .expect("a loan holds its connection until dropped")
    }

    /// Marks the statement as done with `result`: the connection is lent again as it is when
    /// the database answered and goes on (success, or an SQL error such as a unique violation
    /// that [`Lendable::reusable_after`] accepts); after any other error it goes back through
    /// sqlx's pool to be checked.
    pub fn finish<T>(mut self, result: &sqlx::Result<T>) {
        self.reusable = match result {
            Ok(_) => true,
            Err(sqlx::Error::Database(err)) => DB::reusable_after(err.as_ref()),
            Err(_) => false,
        };
    }
}

impl<DB: Database> Drop for Loan<DB> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        if self.reusable
            && self.first_lent.elapsed() < MAX_LIFETIME
            && !self.shared.permits.is_closed()
        {
            self.shared
                .idle
                .lock()
                .unwrap_or_else(|err| err.into_inner())
                .push(IdleConnection {
                    connection,
                    first_lent: self.first_lent,
                    since: Instant::now(),
                });
        }
    }
}
