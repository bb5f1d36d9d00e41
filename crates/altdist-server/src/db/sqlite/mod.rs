//! The embedded SQLite database, whose writers take turns in the process instead of inside
//! SQLite.
//!
//! SQLite lets one connection write at a time. A connection that finds the database locked
//! runs its busy handler, which sleeps and retries, 1 ms at first and up to 100 ms between
//! tries: under concurrent writes a request could sleep several times past the moment the lock
//! was free, and creates and deletes on 8 connections had a p99 of 220–330 ms against a p50 of
//! 2.6 ms (docs/PERFORMANCE.md, "The write turn"). So every statement that writes first takes this
//! process's write turn ([`WriteTurn`]), a FIFO lock, and meets SQLite's lock free;
//! the busy handler is left for other processes on the same file (`altdist admin` while the
//! server runs). Reads take no turn: in WAL mode they never wait for a writer.
//!
//! The connections themselves are lent by [`super::lending::Connections`], as PostgreSQL's are.
//!
//! One `altdist serve` process owns a SQLite database ([`SqliteDb::lock_for_serving`]), which
//! lets it keep the sandbox's replay guard in memory ([`nonces`]).

pub mod nonces;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use sqlx::error::DatabaseError;
use sqlx::{Sqlite, SqlitePool};
use tokio::sync::{Mutex, MutexGuard};

use super::lending::{Connections, Lendable};
use super::read_cache::ReadCache;

/// A SQLite database: its connections, the turn its writers take, and the sandbox's nonces.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    connections: Connections<Sqlite>,
    writers: WriteTurn,
    nonces: Arc<nonces::Nonces>,
    read_cache: Arc<ReadCache>,
}

/// This process's turn to write to one SQLite database, shared by all its writers.
#[derive(Debug, Clone, Default)]
pub struct WriteTurn(Arc<Mutex<()>>);

impl WriteTurn {
    /// Waits for the turn, first come first served; it lasts until the guard is dropped. Hold
    /// it for one statement or one transaction, never across anything else that waits.
    pub async fn take(&self) -> MutexGuard<'_, ()> {
        self.0.lock().await
    }

    /// [`Self::take`] for a thread outside the async runtime: it blocks the thread.
    ///
    /// # Panics
    ///
    /// When called from within an async task, as tokio's `blocking_lock` does.
    pub fn blocking_take(&self) -> MutexGuard<'_, ()> {
        self.0.blocking_lock()
    }
}

impl SqliteDb {
    /// The database `pool` is connected to.
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            connections: Connections::new(pool),
            writers: WriteTurn::default(),
            nonces: Arc::default(),
            read_cache: Arc::default(),
        }
    }

    /// The sandbox's nonces: decided in this process's memory, logged in the database.
    pub fn nonces(&self) -> &nonces::Nonces {
        &self.nonces
    }

    /// The keys this process keeps in memory: served once it holds the serve lock, as no other
    /// process changes them then.
    pub fn read_cache(&self) -> &ReadCache {
        &self.read_cache
    }

    /// Claims the database for this `altdist serve` process, until the returned file is
    /// dropped (or the process ends, however it ends).
    ///
    /// A SQLite database serves one process: the sandbox's replay guard is in that process's
    /// memory ([`nonces`]). The claim is an exclusive lock on `altdist.db.serve-lock` beside the
    /// database file; a second server on the same file is refused with what to do instead.
    pub fn lock_for_serving(&self) -> anyhow::Result<std::fs::File> {
        let database = self.file();
        let mut path = database.clone().into_os_string();
        path.push(".serve-lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| {
                format!("cannot create the lock file {}", Path::new(&path).display())
            })?;
        match lock.try_lock() {
            Ok(()) => Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another altdist serve is running on the SQLite database {}; one server per SQLite \
                 database (stop the other, give this one its own --data-dir, or run several on \
                 PostgreSQL with --database-url)",
                database.display()
            ),
            Err(std::fs::TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("cannot lock {}", Path::new(&path).display()))
            }
        }
    }

    /// The connections, lent one statement at a time.
    pub fn connections(&self) -> &Connections<Sqlite> {
        &self.connections
    }

    /// sqlx's pool, for what takes its own connections: migrations, before any loan, and the
    /// database's file name.
    pub fn pool(&self) -> &SqlitePool {
        self.connections.pool()
    }

    /// This process's turn to write.
    pub fn writers(&self) -> &WriteTurn {
        &self.writers
    }

    /// The database file.
    pub fn file(&self) -> std::path::PathBuf {
        self.pool().connect_options().get_filename().to_owned()
    }
}

/// An error SQLite reports (a constraint, a busy database) ends the statement, not the
/// connection, which sqlx's own pool would lend again too.
impl Lendable for Sqlite {
    fn reusable_after(_err: &(dyn DatabaseError + 'static)) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;
    use crate::db::Db;

    /// With no busy handler at all, a write that found the database locked would fail at once
    /// ("database is locked"): writes in the write turn never do.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_in_their_turn_never_meet_a_locked_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("turns.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::ZERO);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE writes (n INTEGER NOT NULL, filler TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let db = Db::Sqlite(SqliteDb::new(pool));
        let mut writers = tokio::task::JoinSet::<crate::db::Result<()>>::new();
        for writer in 0..8_i64 {
            let db = db.clone();
            writers.spawn(async move {
                for n in 0..25_i64 {
                    // Large enough rows that a commit takes a while, so writers overlap.
                    on_pool_writing!(&db, |pool| sqlx::query(
                        "INSERT INTO writes (n, filler) VALUES ($1, $2)"
                    )
                    .bind(writer * 100 + n)
                    .bind("x".repeat(16 * 1024))
                    .execute(pool)
                    .await
                    .map(drop))?;
                }
                Ok(())
            });
        }
        for written in writers.join_all().await {
            written.unwrap();
        }
        let rows: i64 = on_pool!(&db, |pool| sqlx::query_scalar(
            "SELECT count(*) FROM writes"
        )
        .fetch_one(pool)
        .await)
        .unwrap();
        assert_eq!(rows, 200);
    }

    /// A connection goes straight back onto the stack after its statement, failed or not,
    /// instead of through sqlx's pool and its ping.
    #[tokio::test]
    async fn a_connection_is_lent_again_after_its_statement() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&Db::default_url(dir.path())).await.unwrap();
        let Db::Sqlite(sqlite) = &db else {
            unreachable!("a SQLite URL")
        };
        for _ in 0..3 {
            let one: i64 = on_pool!(&db, |pool| sqlx::query_scalar("SELECT 1")
                .fetch_one(pool)
                .await)
            .unwrap();
            assert_eq!(one, 1);
            assert_eq!(sqlite.connections().stacked(), 1);
        }
        let failed: crate::db::Result<i64> = on_pool!(&db, |pool| sqlx::query_scalar(
            "SELECT count(*) FROM no_such_table"
        )
        .fetch_one(pool)
        .await);
        assert!(
            matches!(
                failed,
                Err(crate::db::Error::Database(sqlx::Error::Database(_)))
            ),
            "{failed:?}"
        );
        assert_eq!(sqlite.connections().stacked(), 1);
        db.close().await;
        assert_eq!(sqlite.connections().stacked(), 0);
    }
}
