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

/// `GET /health`: 200 once the database answers, 503 while it does not.
pub async fn find_health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
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
            tracing::warn!("health check: the database did not answer within 2 s");
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
