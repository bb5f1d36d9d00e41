//! Storage. Handlers call the functions of the table modules and never see which backend runs.
//!
//! [`Db`] is the one place that names a backend; only this module and its children match on it.
//! Every function takes the database first and returns `sqlx::Result`, so the caller decides what
//! a missing row or a unique violation means for the client.

pub mod accounts;
pub mod alt_dist_domains;
pub mod alt_dist_keys;
pub mod api_keys;
pub mod apps;
pub mod nonces;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::ConnectOptions as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Db {
    /// An embedded SQLite database file.
    Sqlite(SqlitePool),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Db {
    /// Opens the database at `url` (`sqlite://PATH`), creating a SQLite file if missing.
    ///
    /// SQLite runs in WAL mode with `synchronous=FULL`: a transaction is on disk, WAL fsynced,
    /// before its commit returns, so a 201 survives a crash of the process or of the machine.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            anyhow::bail!(
                "PostgreSQL is not supported yet; use a sqlite:// URL or leave --database-url out for the embedded database"
            );
        }
        if !url.starts_with("sqlite:") {
            anyhow::bail!("unsupported database URL {url:?}; expected sqlite://PATH");
        }
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Statements carry no secrets (values are bound), but logging each one at debug
            // level costs time on every request for no benefit.
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        Ok(Self::Sqlite(pool))
    }

    /// The URL of the SQLite database file `altdist.db` in `data_dir`.
    pub fn default_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("altdist.db").display())
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(pool) => SQLITE_MIGRATIONS
                .run(pool)
                .await
                .context("cannot apply the database migrations")?,
        }
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> sqlx::Result<()> {
        match self {
            Self::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        }
    }

    /// A description of the database for people, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(pool) => {
                let path = pool.connect_options().get_filename().to_owned();
                let path = std::path::absolute(&path).unwrap_or(path);
                format!("sqlite://{}", path.display())
            }
        }
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Whether `err` is a violated unique constraint.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db_err| db_err.is_unique_violation())
}

/// The current time as stored: RFC 3339 in UTC with millisecond precision.
pub fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Which page of a list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return, at most.
    pub limit: i64,
}
