//! `GET /downloads/{sha256}/{name}?accessKey=...`: the files behind every package `url`.
//!
//! Like Apple's pre-signed package URLs these need no bearer token: the `accessKey` is the
//! credential, bound to the path and an expiry ([`crate::package_store`]). Files stream from
//! disk with `Range`, `HEAD` and conditional requests, as tower-http's `ServeFile` serves them.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use crate::app::AppState;
use crate::error::ApiError;
use crate::package_store::DOWNLOADS_PREFIX;

/// `GET /downloads/{sha256}/{name}`
pub async fn download(
    State(state): State<AppState>,
    Path((sha256, name)): Path<(String, String)>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let access_key = request.uri().query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "accessKey")
            .map(|(_, value)| value.into_owned())
    });
    let path = format!("{DOWNLOADS_PREFIX}{sha256}/{name}");
    state
        .packages
        .verify(
            &state.db,
            &path,
            access_key.as_deref(),
            time::OffsetDateTime::now_utc(),
        )
        .await?
        .map_err(|refusal| ApiError::Forbidden(refusal.to_string()))?;
    let Some(file) = state
        .packages
        .file_path(&sha256)
        .filter(|file| file.is_file())
    else {
        return Err(ApiError::NotFound(format!(
            "the file {name} is no longer stored on this server; read its resource again from the API"
        )));
    };
    let mut response = ServeFile::new(file)
        .oneshot(request)
        .await
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("cannot read a package file: {err}")))?
        .map(Body::new)
        .into_response();
    let content_type = if name.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}
