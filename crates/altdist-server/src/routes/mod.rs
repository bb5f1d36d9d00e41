//! One module per resource; `crate::router` wires them.

pub mod alt_dist_domains;
pub mod alt_dist_keys;
pub mod apps;
pub mod health;
pub mod openapi;
pub mod sandbox;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// 201 with `Location` and the document.
pub fn created<T: Serialize>(location: &str, document: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(document)).into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
