//! Extractors whose rejections are [`ApiError`]s, so that nothing a client sends gets axum's
//! plain-text errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;

/// The largest request body accepted: far above any real document (a PEM key is ~180 bytes).
pub const BODY_LIMIT: usize = 64 * 1024;

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("the request is not authenticated".to_owned()))
    }
}

/// The `{id}` path segment, percent-decoded.
#[derive(Debug, Clone)]
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Self(id)),
            // Only a segment that does not decode to UTF-8 lands here; no resource has such an id.
            Err(_) => Err(ApiError::NotFound(format!(
                "there is no resource at {}: the id is not valid UTF-8 once percent-decoded",
                parts.uri.path()
            ))),
        }
    }
}

/// A JSON request body: present, `application/json`, at most [`BODY_LIMIT`] bytes, and JSON.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > BODY_LIMIT as u64) {
            return Err(ApiError::PayloadTooLarge(BODY_LIMIT));
        }
        let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
        let bytes: Bytes = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|err| {
                let err = err.into_inner();
                if err.is::<http_body_util::LengthLimitError>() {
                    ApiError::PayloadTooLarge(BODY_LIMIT)
                } else {
                    ApiError::EntityInvalid(format!("the request body could not be read: {err}"))
                }
            })?;
        json_body(&bytes, content_type.as_ref()).map(Self)
    }
}

/// Reads a request body that has been received whole: present, of a JSON media type, and JSON.
/// The checks run in this order so that a POST with no body is a 400 whatever its headers say.
pub fn json_body(
    bytes: &[u8],
    content_type: Option<&header::HeaderValue>,
) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::EntityInvalid(
            "the request has no body; send a JSON:API document like {\"data\": {\"type\": ..., \"attributes\": {...}}}".to_owned(),
        ));
    }
    check_content_type(content_type)?;
    serde_json::from_slice(bytes).map_err(|err| {
        ApiError::EntityInvalid(format!("the request body is not valid JSON: {err}"))
    })
}

fn check_content_type(value: Option<&header::HeaderValue>) -> Result<(), ApiError> {
    let Some(value) = value else {
        return Err(ApiError::UnsupportedMediaType(
            "the request has a body but no Content-Type; send Content-Type: application/json"
                .to_owned(),
        ));
    };
    let media_type = value
        .to_str()
        .ok()
        .and_then(|value| value.split(';').next())
        .map(|media_type| media_type.trim().to_ascii_lowercase());
    match media_type.as_deref() {
        Some("application/json" | "application/vnd.api+json") => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "the Content-Type {} is not supported; send application/json",
            String::from_utf8_lossy(value.as_bytes())
        ))),
    }
}
