//! The embedded SQLite database, whose writers take turns in the process instead of inside
//! SQLite.
//!
//! SQLite lets one connection write at a time. A connection that finds the database locked
//! runs its busy handler, which sleeps and retries, 1 ms at first and up to 100 ms between
//! tries: under concurrent writes a request could sleep several times past the moment the lock
//! was free, and creates and deletes on 8 connections had a p99 of 220–330 ms against a p50 of
//! 2.6 ms (docs/PERFORMANCE-server.md). So every statement that writes first takes this
//! process's write turn ([`SqliteDb::write_turn`]), a FIFO lock, and meets SQLite's lock free;
//! the busy handler is left for other processes on the same file (`altdist admin` while the
//! server runs). Reads take no turn: in WAL mode they never wait for a writer.

use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::{Mutex, MutexGuard};

/// A SQLite database: its connection pool, and the turn its writers take.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    pool: SqlitePool,
    writers: Arc<Mutex<()>>,
}

impl SqliteDb {
    /// The database `pool` is connected to.
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            writers: Arc::new(Mutex::new(())),
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for this process's turn to write, first come first served; the turn lasts until
    /// the guard is dropped. Hold it for one statement or one transaction, never across
    /// anything else that waits.
    pub async fn write_turn(&self) -> MutexGuard<'_, ()> {
        self.writers.lock().await
    }

    /// [`Self::write_turn`] for a thread outside the async runtime: it blocks the thread.
    ///
    /// # Panics
    ///
    /// When called from within an async task, as tokio's `blocking_lock` does.
    pub fn blocking_write_turn(&self) -> MutexGuard<'_, ()> {
        self.writers.blocking_lock()
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
        let mut writers = tokio::task::JoinSet::<sqlx::Result<()>>::new();
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
}
