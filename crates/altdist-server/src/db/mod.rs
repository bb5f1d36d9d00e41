//! Storage. Handlers call the functions of the table modules and never see which backend runs.
//!
//! [`Db`] is the one place that names a backend; only this module and its children match on it,
//! mostly through `on_pool!`, which runs the same code on whichever pool is open. The SQL uses
//! `$n` placeholders, which SQLite and PostgreSQL both read, so most statements are written once;
//! where the dialects differ, a function matches on [`Db`] itself. Every function takes the
//! database first and returns `sqlx::Result`, so the caller decides what a missing row or a
//! unique violation means for the client.

/// Runs `$body` with `$pool` bound to a connection of the open database, whichever backend it
/// is, lent by [`lending::Connections`] for the one statement. The body is compiled once per
/// backend, so it may use anything both `sqlx` drivers accept.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(sqlite) => on_lent!(sqlite.connections(), |$pool| $body),
            $crate::db::Db::Postgres(postgres) => on_lent!(postgres.connections(), |$pool| $body),
        }
    };
}

/// `on_pool!` for a statement that writes: on SQLite it runs in this process's write turn
/// ([`Db::write_turn`]).
macro_rules! on_pool_writing {
    ($db:expr, |$pool:ident| $body:expr) => {{
        let _turn = $crate::db::Db::write_turn($db).await;
        on_pool!($db, |$pool| $body)
    }};
}

/// `$body` on a connection lent by `$connections` for it.
macro_rules! on_lent {
    ($connections:expr, |$pool:ident| $body:expr) => {
        async {
            let mut loan = $connections.acquire().await?;
            let $pool = loan.connection();
            let result = $body;
            loan.finish(&result);
            result.map_err($crate::db::Error::from)
        }
        .await
    };
}

pub mod accounts;
pub mod alt_dist_domains;
pub mod alt_dist_keys;
pub mod api_keys;
pub mod apps;
pub mod lending;
pub mod nonces;
pub mod packages;
pub mod postgres;
pub mod rate_limits;
pub mod read_cache;
pub mod sqlite;
#[cfg(any(test, feature = "test-support"))]
pub mod test_db;
pub mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use self::postgres::PgDb;
use self::sqlite::SqliteDb;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// What went wrong in storage.
///
/// Callers decide what a missing row or a duplicate means for a client ([`Error::is_unique_violation`]); `sqlx`'s error stays inside this module and the one
/// mapping to an API error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed a statement, refused it, or could not be reached.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The sandbox's nonce writer has stopped, so a nonce cannot be made durable.
    #[error("cannot record install token nonces: {0}")]
    NonceWriter(String),
}

/// The result of a storage operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether a unique constraint refused the statement.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(err) if err
            .as_database_error()
            .is_some_and(|db_err| db_err.is_unique_violation()))
    }

    /// Whether a statement that expected a row found none.
    pub fn is_row_not_found(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::RowNotFound))
    }
}

/// Held by a serving process for as long as it serves: see [`Db::lock_for_serving`].
#[derive(Debug)]
pub struct ServeLock(
    #[expect(dead_code, reason = "held for its lock, released on drop")] Option<std::fs::File>,
);

/// Reads served from memory while it lives: see [`Db::cache_reads`].
#[derive(Debug)]
pub struct ReadCaching(Option<postgres::read_cache::Peer>);

impl ReadCaching {
    /// Stops serving from memory; on PostgreSQL, leaves the peers so that no change waits for
    /// this process.
    pub async fn stop(self) {
        if let Some(peer) = self.0 {
            peer.leave().await;
        }
    }
}

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Db {
    /// An embedded SQLite database file, for one server process.
    Sqlite(SqliteDb),
    /// A PostgreSQL database, which several server processes may share.
    Postgres(PgDb),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections each server process keeps to its SQLite database at most: readers run side by
/// side in WAL mode; writers take turns anyway.
const SQLITE_MAX_CONNECTIONS: u32 = 8;

/// How long a statement waits for a free SQLite connection before it fails.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections each server process keeps to PostgreSQL at most: enough for two busy CPUs, few
/// enough that a handful of processes stay far below PostgreSQL's default `max_connections` (100).
const POSTGRES_MAX_CONNECTIONS: u32 = 16;

/// How long a statement waits for a free PostgreSQL connection before it fails.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

impl Db {
    /// Opens the database at `url`: `sqlite://PATH` (the file is created if missing) or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (the database must exist).
    ///
    /// SQLite runs in WAL mode with `synchronous=FULL`: a transaction is on disk, WAL fsynced,
    /// before its commit returns, so a 201 survives a crash of the process or of the machine.
    /// PostgreSQL keeps its own durability settings (by default a commit is fsynced too).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if is_postgres_url(url) {
            return Self::connect_postgres(url).await;
        }
        if !url.starts_with("sqlite:") {
            anyhow::bail!(
                "unsupported database URL {:?}; expected sqlite://PATH or postgres://USER@HOST/DATABASE",
                redact_url(url)
            );
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
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .min_connections(1)
            .max_lifetime(lending::MAX_LIFETIME)
            .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        Ok(Self::Sqlite(SqliteDb::new(pool)))
    }

    async fn connect_postgres(url: &str) -> anyhow::Result<Self> {
        let redacted = redact_url(url);
        // The parse error may quote the URL, password and all: say only what was wrong with it.
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|_| anyhow::anyhow!("invalid PostgreSQL URL {redacted:?}"))?;
        if !names_ssl_mode(url) && is_loopback_host(options.get_host()) {
            // libpq's default `prefer` would encrypt traffic that never leaves the kernel, which
            // protects nothing and costs about a seventh of the read throughput
            // (docs/PERFORMANCE.md, "No TLS on loopback"). An explicit `sslmode` is always
            // obeyed.
            options = options.ssl_mode(PgSslMode::Disable);
        }
        let options = options
            .application_name("altdist")
            // As for SQLite: values are bound, but logging every statement costs time.
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .min_connections(1)
            // A ping before every use would double the round trips of a one-query request; a
            // connection that broke since its last use fails that one query and is replaced.
            .test_before_acquire(false)
            .max_lifetime(lending::MAX_LIFETIME)
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {redacted}"))?;
        Ok(Self::Postgres(PgDb::new(pool)))
    }

    /// The URL of the SQLite database file `altdist.db` in `data_dir`.
    pub fn default_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("altdist.db").display())
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        // On PostgreSQL the migrator holds an advisory lock while it runs, so several servers
        // starting at once on one database apply each migration once.
        match self {
            Self::Sqlite(sqlite) => SQLITE_MIGRATIONS.run(sqlite.pool()).await,
            Self::Postgres(postgres) => POSTGRES_MIGRATIONS.run(postgres.pool()).await,
        }
        .context("cannot apply the database migrations")
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(drop))
    }

    /// Claims the database for this `altdist serve` process while the returned guard lives: a
    /// SQLite database serves one process at a time ([`SqliteDb::lock_for_serving`]), and a
    /// second server on it is refused with what to do instead; PostgreSQL needs no claim, as
    /// several servers may share it.
    pub fn lock_for_serving(&self) -> anyhow::Result<ServeLock> {
        match self {
            Self::Sqlite(sqlite) => sqlite.lock_for_serving().map(|file| ServeLock(Some(file))),
            Self::Postgres(_) => Ok(ServeLock(None)),
        }
    }

    /// The keys this process keeps in memory ([`read_cache`]).
    pub fn read_cache(&self) -> &read_cache::ReadCache {
        match self {
            Self::Sqlite(sqlite) => sqlite.read_cache(),
            Self::Postgres(postgres) => postgres.read_cache(),
        }
    }

    /// Starts serving key reads from memory, until the returned guard is stopped or dropped.
    ///
    /// On SQLite, call it only while holding [`Self::lock_for_serving`]: the cache is then
    /// emptied by every change there is. On PostgreSQL this process joins the servers that
    /// empty each other's caches (`postgres::read_cache`); needs a Tokio runtime.
    pub fn cache_reads(&self) -> ReadCaching {
        match self {
            Self::Sqlite(sqlite) => {
                sqlite.read_cache().open();
                ReadCaching(None)
            }
            Self::Postgres(postgres) => {
                ReadCaching(Some(postgres::read_cache::Peer::join(postgres)))
            }
        }
    }

    /// On SQLite, waits for this process's turn to write ([`sqlite::WriteTurn`]), held until
    /// the guard is dropped; PostgreSQL has no turn to take.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self {
            Self::Sqlite(sqlite) => Some(sqlite.writers().take().await),
            Self::Postgres(_) => None,
        }
    }

    /// A description of the database for people, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(sqlite) => {
                let path = sqlite.file();
                let path = std::path::absolute(&path).unwrap_or(path);
                format!("sqlite://{}", path.display())
            }
            // Built from the parts, so a password can never show.
            Self::Postgres(postgres) => {
                let options = postgres.pool().connect_options();
                format!(
                    "postgres://{}@{}:{}/{}",
                    options.get_username(),
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or_default()
                )
            }
        }
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(sqlite) => sqlite.connections().close().await,
            Self::Postgres(postgres) => postgres.connections().close().await,
        }
    }
}

/// `url` with any password replaced by `***`, for messages: the `user:password@` part and a
/// `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut redacted = url.to_owned();
    if let Some(scheme_end) = redacted.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = redacted[authority_start..]
            .find(['/', '?', '#'])
            .map_or(redacted.len(), |end| authority_start + end);
        if let Some(at) = redacted[authority_start..authority_end].rfind('@') {
            let userinfo = &redacted[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                redacted.replace_range(authority_start + colon + 1..authority_start + at, "***");
            }
        }
    }
    if let Some(query_start) = redacted.find('?') {
        let (base, query) = redacted.split_at(query_start + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        redacted = format!("{base}{}", query.join("&"));
    }
    redacted
}

/// Whether the URL, or the environment libpq reads, chooses the TLS mode itself.
fn names_ssl_mode(url: &str) -> bool {
    let in_url = url.split_once('?').is_some_and(|(_, query)| {
        query.split('&').any(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            name.eq_ignore_ascii_case("sslmode") || name.eq_ignore_ascii_case("ssl-mode")
        })
    });
    in_url || std::env::var_os("PGSSLMODE").is_some()
}

/// Whether `host` is this machine over loopback: `localhost`, 127.0.0.0/8 or `::1`. (A Unix
/// socket, the other local transport, never negotiates TLS.)
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Whether `text` could be stored, and so match a stored value: PostgreSQL's text cannot hold
/// NUL, so a lookup by a client's string with one in it answers "none" without asking, on
/// both backends alike.
fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// The current time as stored: RFC 3339 in UTC with millisecond precision.
pub fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Which page of a list to read, by position: for lists sorted by what the client chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return, at most.
    pub limit: i64,
}

/// Which page of a list in insertion order to read: the rows after the last one shown.
///
/// A position would shift when rows before it are deleted, and a client deleting keys as it
/// pages through them would skip every other page. A row's `seq` never changes, so every row
/// that exists for the whole paging is listed exactly once, whatever is created or deleted
/// meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageAfter {
    /// The `seq` of the last row shown; 0 for the first page (`seq` starts at 1).
    pub after: i64,
    /// Rows to return, at most.
    pub limit: i64,
}

/// A row of a list read with [`PageAfter`], with its place in the list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Listed<T> {
    /// The row's insertion order: SQLite's rowid, PostgreSQL's identity.
    pub seq: i64,
    /// The row.
    #[sqlx(flatten)]
    pub row: T,
}

/// A page of rows read for `page`, at most one more than its limit: the rows to show, and the
/// page after them when the extra row exists.
pub fn split_page<T>(mut rows: Vec<Listed<T>>, page: PageAfter) -> (Vec<T>, Option<PageAfter>) {
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        PageAfter {
            after: rows.last().map_or(page.after, |last| last.seq),
            limit: page.limit,
        }
    });
    (rows.into_iter().map(|listed| listed.row).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_passwords_only() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db.example.com:5432/altdist"),
            "postgres://app:***@db.example.com:5432/altdist"
        );
        assert_eq!(
            redact_url("postgres://app@db/altdist?sslmode=require&password=hunter2"),
            "postgres://app@db/altdist?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            redact_url("sqlite:///tmp/a@b/altdist.db"),
            "sqlite:///tmp/a@b/altdist.db"
        );
    }

    #[test]
    fn tls_is_left_to_the_url_unless_the_host_is_loopback() {
        assert!(names_ssl_mode("postgres://db/altdist?sslmode=require"));
        assert!(names_ssl_mode(
            "postgres://db/altdist?application_name=x&ssl-mode=prefer"
        ));
        assert!(!names_ssl_mode(
            "postgres://db/altdist?application_name=sslmode"
        ));
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["db.example.com", "10.0.0.5", "::2", "localhost.example.com"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn postgres_urls_are_recognised() {
        assert!(is_postgres_url("postgres://localhost/altdist"));
        assert!(is_postgres_url("postgresql://localhost/altdist"));
        assert!(!is_postgres_url("sqlite://altdist.db"));
    }
}
