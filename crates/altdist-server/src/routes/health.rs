//! `GET /health`: for CI scripts, load balancers and orchestrators. No authentication.

use std::time::Duration;

use crate::jsonapi::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::app::AppState;

/// The body of `/health`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, or `unavailable` while the database does not answer.
    pub status: &'static str,
    /// The server's version.
    pub version: &'static str,
}

/// How long `/health` waits for the database's answer: a load balancer polls with a short
/// timeout of its own, and a database that takes longer is as good as down.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health`: 200 once the database answers a query (a real round trip), 503 while it does
/// not, within [`DATABASE_TIMEOUT`].
pub async fn find_health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    match tokio::time::timeout(DATABASE_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                version,
            }),
        ),
        Ok(Err(err)) => {
            tracing::warn!("health check: the database does not answer: {err}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    version,
                }),
            )
        }
        Err(_) => {
            tracing::warn!(
                "health check: the database did not answer within {} s",
                DATABASE_TIMEOUT.as_secs()
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    version,
                }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PostgreSQL database that cannot be reached (nothing listens on port 1): 503 with the
    /// JSON body, within the timeout, not a hang or a 500.
    #[tokio::test]
    async fn an_unreachable_postgres_database_is_a_503() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy("postgres://postgres@127.0.0.1:1/unreachable")
            .unwrap();
        let db = crate::db::Db::Postgres(crate::db::postgres::PgDb::new(pool));
        let state = AppState::new(db, "http://127.0.0.1:8080", 10);
        let started = std::time::Instant::now();
        let (status, Json(body)) = find_health(State(state)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.status, "unavailable");
        assert_eq!(body.version, env!("CARGO_PKG_VERSION"));
        assert!(
            started.elapsed() < DATABASE_TIMEOUT + Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
}
