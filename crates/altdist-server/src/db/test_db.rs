//! Throwaway PostgreSQL databases for tests: one per test, dropped with it.
//!
//! The black-box tests of this crate and of the `altdist` binary run against PostgreSQL when
//! `TEST_DATABASE_URL` names a server to create databases on (`scripts/test.sh` sets it when
//! PostgreSQL answers on 127.0.0.1:5432). Without it those tests skip with a notice, except
//! under `CI=true`, where a skipped backend would hide failures, so they fail instead.

use std::io::Write as _;
use std::sync::Once;

use anyhow::Context as _;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The variable naming the PostgreSQL server tests create their databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The URL of the PostgreSQL server to test against, from `TEST_DATABASE_URL`.
///
/// `None` when it is unset: a notice goes to stderr, once per process and past the test
/// harness's output capture, so a skipped backend is visible. Under `CI=true` an unset variable
/// panics instead.
pub fn server_url() -> Option<String> {
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.trim().is_empty() => {
            assert!(
                super::is_postgres_url(&url),
                "{TEST_DATABASE_URL} must be a postgres:// URL, not {:?}",
                super::redact_url(&url)
            );
            Some(url)
        }
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{TEST_DATABASE_URL} is not set, so the PostgreSQL tests cannot run; CI must run them \
                 (scripts/test.sh sets it when PostgreSQL answers on 127.0.0.1:5432)"
            );
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: {TEST_DATABASE_URL} is not set; the PostgreSQL tests are skipped (see CONTRIBUTING.md)"
                );
            });
            None
        }
    }
}

/// A database made for one test; dropped, connections and all, when this is.
#[derive(Debug)]
pub struct TestDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database `altdist_test_<uuid>` on the server at `server_url`.
    pub async fn create(server_url: &str) -> anyhow::Result<Self> {
        let name = format!("altdist_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(server_url).await.with_context(|| {
            format!(
                "cannot connect to the PostgreSQL server {}",
                super::redact_url(server_url)
            )
        })?;
        // The name is ours (letters, digits, `_`), so quoting it is enough.
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .with_context(|| format!("cannot create the test database {name}"))?;
        let _ = conn.close().await;
        let url = with_database(server_url, &name);
        Ok(Self {
            server_url: server_url.to_owned(),
            name,
            url,
        })
    }

    /// The URL of the database, for [`super::Db::connect`] or `--database-url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        // Drop may run inside a runtime (where blocking on one panics) or outside any: a thread
        // of its own with its own runtime works in both.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&server_url).await?;
                // FORCE: the test's own pool may still hold connections.
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not drop the test database {}",
                self.name
            );
        }
    }
}

/// `server_url` with its database replaced by `database`, query parameters kept.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = server_url
        .split_once('?')
        .map_or((server_url, None), |(base, query)| (base, Some(query)));
    let authority_start = base.find("://").map_or(0, |scheme| scheme + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@db?sslmode=disable", "t1"),
            "postgres://u:p@db/t1?sslmode=disable"
        );
    }
}
