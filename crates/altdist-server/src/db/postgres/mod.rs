//! PostgreSQL, which several server processes may share: its connections, lent by
//! [`super::lending::Connections`], and the sandbox's nonce writer ([`nonces`]).
//!
//! PostgreSQL reports how bad an error is: after one of severity `ERROR` (a unique violation,
//! a division by zero) the session goes on; a `FATAL` or `PANIC` ends it.

pub mod nonces;
pub mod read_cache;

use std::sync::Arc;

use sqlx::Postgres;
use sqlx::error::DatabaseError;
use sqlx::postgres::{PgDatabaseError, PgPool, PgSeverity};

use super::lending::{Connections, Lendable};
use super::read_cache::ReadCache;

/// The connections of one server process to one PostgreSQL database.
pub type PgConnections = Connections<Postgres>;

/// A PostgreSQL database: its connections, and this process's writer of sandbox nonces.
#[derive(Debug, Clone)]
pub struct PgDb {
    connections: PgConnections,
    nonces: Arc<nonces::Nonces>,
    read_cache: Arc<ReadCache>,
    /// This process among the servers sharing the database ([`read_cache`]).
    instance: Arc<str>,
}

impl PgDb {
    /// The database `pool` is connected to.
    pub fn new(pool: PgPool) -> Self {
        Self {
            connections: Connections::new(pool),
            nonces: Arc::default(),
            read_cache: Arc::default(),
            instance: uuid::Uuid::new_v4().to_string().into(),
        }
    }

    /// The connections, lent one statement at a time.
    pub fn connections(&self) -> &PgConnections {
        &self.connections
    }

    /// sqlx's pool, for what takes its own connections: migrations and connect options.
    pub fn pool(&self) -> &PgPool {
        self.connections.pool()
    }

    /// The sandbox's nonces, decided by the database.
    pub fn nonces(&self) -> &nonces::Nonces {
        &self.nonces
    }

    /// The keys this process keeps in memory.
    pub fn read_cache(&self) -> &ReadCache {
        &self.read_cache
    }

    /// This process's name among the peers of [`read_cache`].
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

impl Lendable for Postgres {
    fn reusable_after(err: &(dyn DatabaseError + 'static)) -> bool {
        err.try_downcast_ref::<PgDatabaseError>()
            .is_some_and(|err| matches!(err.severity(), PgSeverity::Error))
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
        let Db::Postgres(postgres) = db else {
            unreachable!("a PostgreSQL test database")
        };
        postgres.connections().stacked()
    }

    async fn backend_pid(db: &Db) -> crate::db::Result<i32> {
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
        let failed: crate::db::Result<i32> =
            on_pool!(&db, |pool| sqlx::query_scalar("SELECT 1 / 0")
                .fetch_one(pool)
                .await);
        assert!(
            matches!(
                failed,
                Err(crate::db::Error::Database(sqlx::Error::Database(_)))
            ),
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
