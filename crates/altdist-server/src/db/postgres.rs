//! PostgreSQL connections handed out without sqlx's round trip on every release.
//!
//! sqlx's pool pings a connection each time it comes back (a `Sync` and a wait for
//! `ReadyForQuery`), from a task it spawns, so a one-query request costs PostgreSQL two round
//! trips. [`PgConnections`] keeps sqlx's pool for what it does well (opening connections, the
//! limit on their number, closing them) and lends its connections out itself: a connection whose
//! statement finished with an answer from the server goes straight back onto a stack. Every
//! other case returns it to sqlx's pool, which pings it and closes it if it is broken: an I/O
//! or protocol error, and a request abandoned mid-statement (the client went away), whose
//! connection may still owe the server's reply. A connection idle for longer than
//! [`IDLE_BEFORE_PING`] is pinged before it is lent again, since the server or a firewall may
//! have closed it meanwhile; one lent out for [`MAX_LIFETIME`] goes back to sqlx's pool to be
//! replaced, as the pool itself would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPool, PgSeverity};
use sqlx::{Connection as _, Postgres};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a connection may sit unused before it is pinged on its next loan.
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// How long a connection is lent out, from its first loan, before it is replaced.
///
/// It is then handed back to sqlx's pool, whose `max_lifetime` is set to the same (sqlx's
/// default), so the pool closes it: connections parked here never reach the pool's own check.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The connections of one server process to one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgConnections {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pool: PgPool,
    /// One permit per connection the pool may open, so that loans wait here, in FIFO order,
    /// and never inside sqlx's pool for a connection that sits on `idle`.
    permits: Arc<Semaphore>,
    /// Connections ready for the next loan, the most recently returned last.
    idle: Mutex<Vec<IdleConnection>>,
    acquire_timeout: Duration,
}

#[derive(Debug)]
struct IdleConnection {
    connection: PoolConnection<Postgres>,
    /// When it was first lent out.
    first_lent: Instant,
    since: Instant,
}

impl PgConnections {
    /// Lends connections of `pool`, at most `max_connections` at once (the pool's own limit).
    pub fn new(pool: PgPool, max_connections: u32, acquire_timeout: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                pool,
                permits: Arc::new(Semaphore::new(max_connections as usize)),
                idle: Mutex::new(Vec::new()),
                acquire_timeout,
            }),
        }
    }

    /// sqlx's pool, for what takes its own connections: migrations.
    pub fn pool(&self) -> &PgPool {
        &self.shared.pool
    }

    /// The options connections are opened with.
    pub fn connect_options(&self) -> Arc<PgConnectOptions> {
        self.shared.pool.connect_options()
    }

    /// A connection for one statement; hand it back with [`PgLoan::finish`].
    pub async fn acquire(&self) -> sqlx::Result<PgLoan> {
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
        connection: PoolConnection<Postgres>,
        first_lent: Instant,
        permit: OwnedSemaphorePermit,
    ) -> PgLoan {
        PgLoan {
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

/// A connection lent by [`PgConnections`]. Dropped without [`PgLoan::finish`] (the statement's
/// future was abandoned), it goes back through sqlx's pool, which pings it first.
#[derive(Debug)]
pub struct PgLoan {
    connection: Option<PoolConnection<Postgres>>,
    first_lent: Instant,
    reusable: bool,
    shared: Arc<Shared>,
    // Released after `drop` has put the connection back, so the next loan finds it.
    _permit: OwnedSemaphorePermit,
}

impl PgLoan {
    /// The connection, to run statements on.
    pub fn connection(&mut self) -> &mut sqlx::PgConnection {
        self.connection
            .as_deref_mut()
            .expect("a loan holds its connection until dropped")
    }

    /// Marks the statement as done with `result`: the connection is lent again as it is when
    /// the server answered and goes on (success, or an SQL error such as a unique violation);
    /// after any other error, a `FATAL` one included, it goes back through sqlx's pool to be
    /// checked.
    pub fn finish<T>(mut self, result: &sqlx::Result<T>) {
        self.reusable = match result {
            Ok(_) => true,
            Err(sqlx::Error::Database(err)) => err
                .try_downcast_ref::<PgDatabaseError>()
                .is_some_and(|err| matches!(err.severity(), PgSeverity::Error)),
            Err(_) => false,
        };
    }
}

impl Drop for PgLoan {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use crate::db::Db;
    use crate::db::test_db::{TestDatabase, server_url};

    async fn open() -> Option<(TestDatabase, Db)> {
        let server = server_url()?;
        let database = TestDatabase::create(&server).await.unwrap();
        let db = Db::connect(database.url()).await.unwrap();
        Some((database, db))
    }

    /// How many connections wait on the stack for their next loan.
    fn stacked(db: &Db) -> usize {
        let Db::Postgres(connections) = db else {
            unreachable!("a PostgreSQL test database")
        };
        connections.shared.idle.lock().unwrap().len()
    }

    async fn backend_pid(db: &Db) -> sqlx::Result<i32> {
        on_pool!(db, |pool| sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await)
    }

    #[tokio::test]
    async fn a_connection_is_lent_again_after_its_statement() {
        let Some((_database, db)) = open().await else {
            return;
        };
        let first = backend_pid(&db).await.unwrap();
        assert_eq!(
            stacked(&db),
            1,
            "back on the stack, not through sqlx's pool"
        );
        for _ in 0..20 {
            assert_eq!(backend_pid(&db).await.unwrap(), first);
        }
        // An SQL error is the server's answer: the connection stays usable and is lent again.
        let failed: sqlx::Result<i32> = on_pool!(&db, |pool| sqlx::query_scalar("SELECT 1 / 0")
            .fetch_one(pool)
            .await);
        assert!(
            matches!(failed, Err(sqlx::Error::Database(_))),
            "{failed:?}"
        );
        assert_eq!(stacked(&db), 1);
        assert_eq!(backend_pid(&db).await.unwrap(), first);
    }

    #[tokio::test]
    async fn an_abandoned_statement_never_answers_the_next_one() {
        let Some((_database, db)) = open().await else {
            return;
        };
        for round in 0..5_i32 {
            let abandoned = tokio::time::timeout(Duration::from_millis(20), async {
                on_pool!(&db, |pool| sqlx::query_scalar::<_, i32>(
                    "SELECT 7 FROM pg_sleep(0.2)"
                )
                .fetch_one(pool)
                .await)
            })
            .await;
            assert!(abandoned.is_err(), "the statement should still be running");
            assert_eq!(
                stacked(&db),
                0,
                "an abandoned loan goes back through sqlx's pool"
            );
            let answer: i32 = on_pool!(&db, |pool| sqlx::query_scalar("SELECT $1")
                .bind(round)
                .fetch_one(pool)
                .await)
            .unwrap();
            assert_eq!(answer, round);
        }
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced() {
        let Some((database, db)) = open().await else {
            return;
        };
        let victim = backend_pid(&db).await.unwrap();
        let admin = Db::connect(database.url()).await.unwrap();
        let terminated: bool = on_pool!(&admin, |pool| sqlx::query_scalar(
            "SELECT pg_terminate_backend($1, 5000)"
        )
        .bind(victim)
        .fetch_one(pool)
        .await)
        .unwrap();
        assert!(terminated);
        // The loan that finds the connection dead fails (the statement may have reached the
        // server, so it is not retried); the connection is not lent again: the next one
        // answers, on another connection.
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(backend_pid(&db).await);
        }
        assert!(answers[0].is_err(), "{answers:?}");
        assert_eq!(stacked(&db), 1, "only the new connection is stacked");
        for answer in &answers[1..] {
            assert_ne!(*answer.as_ref().unwrap(), victim, "{answers:?}");
        }
    }

    #[tokio::test]
    async fn loans_beyond_the_limit_wait_for_a_connection() {
        let Some((_database, db)) = open().await else {
            return;
        };
        let statements = (0..3 * super::super::POSTGRES_MAX_CONNECTIONS).map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                on_pool!(&db, |pool| sqlx::query_scalar::<_, i32>(
                    "SELECT pg_backend_pid() FROM pg_sleep(0.05)"
                )
                .fetch_one(pool)
                .await)
            })
        });
        let mut pids = HashSet::new();
        for statement in statements.collect::<Vec<_>>() {
            pids.insert(statement.await.unwrap().unwrap());
        }
        assert!(
            pids.len() <= super::super::POSTGRES_MAX_CONNECTIONS as usize,
            "{pids:?}"
        );
        assert!(
            pids.len() > 1,
            "the statements should have run side by side"
        );
    }
}
