//! [`ApiError`]: every error the API answers with, and the one function that writes their bodies.

use altdist::resource::{AssociatedLink, ErrorLinks, ErrorResponse, ErrorSource, ResponseError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::db;

/// Everything that can go wrong in a request, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 `PATH_ERROR`: no such path in the API.
    #[error("no such path: {0}")]
    PathNotFound(String),
    /// 404 `NOT_FOUND`: no such resource in the caller's account.
    #[error("{0}")]
    NotFound(String),
    /// 405 `METHOD_NOT_ALLOWED`.
    #[error("the method {method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        /// The method sent.
        method: String,
        /// The path.
        path: String,
        /// The methods the path takes.
        allow: String,
    },
    /// 400 `PARAMETER_ERROR.ILLEGAL`: a query parameter the endpoint does not take.
    #[error("{detail}")]
    ParameterIllegal {
        /// The parameter.
        parameter: String,
        /// Why.
        detail: String,
    },
    /// 400 `PARAMETER_ERROR.INVALID`: a known parameter with a bad value.
    #[error("{detail}")]
    ParameterInvalid {
        /// The parameter.
        parameter: String,
        /// Why.
        detail: String,
    },
    /// 400 `ENTITY_INVALID`: the body is not JSON, or there is none.
    #[error("{0}")]
    EntityInvalid(String),
    /// 401 `NOT_AUTHORIZED`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `FORBIDDEN_ERROR`.
    #[error("{0}")]
    Forbidden(String),
    /// 409 `ENTITY_ERROR...`: a well-formed entity with unacceptable data.
    #[error("{detail}")]
    Conflict {
        /// `ENTITY_ERROR` or a refinement of it.
        code: &'static str,
        /// What is wrong.
        detail: String,
        /// The member to blame, as a JSON pointer.
        pointer: Option<String>,
    },
    /// 409 `ENTITY_ERROR`: the resource exists already; `links.associated` names the existing
    /// one, so a client can offer to delete it without reading `detail`.
    #[error("{detail}")]
    Duplicate {
        /// What exists and what to do.
        detail: String,
        /// The absolute URL of the existing resource, when it is known.
        existing: Option<String>,
    },
    /// 413: the body is larger than the limit.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415 `UNSUPPORTED_MEDIA_TYPE`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 `ENTITY_UNPROCESSABLE`: JSON, but not a document of the expected shape.
    #[error("{detail}")]
    Unprocessable {
        /// What is wrong.
        detail: String,
        /// The member to blame.
        pointer: Option<String>,
    },
    /// 429 `RATE_LIMIT_EXCEEDED`.
    #[error("the API key used up its {0} requests for the rolling hour")]
    RateLimited(u32),
    /// 500 `UNEXPECTED_ERROR`: a bug or an unavailable database; details are logged, not sent.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    /// The 404 for a resource (`what`, like "alternative distribution package") that is not in
    /// the caller's account.
    pub fn not_in_account(what: &str, id: &str) -> Self {
        Self::NotFound(format!("there is no {what} with id '{id}' in your account"))
    }

    /// A 409 `ENTITY_ERROR.ATTRIBUTE.INVALID` blaming `pointer`.
    pub fn invalid_attribute(pointer: &str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code: "ENTITY_ERROR.ATTRIBUTE.INVALID",
            detail: detail.into(),
            pointer: Some(pointer.to_owned()),
        }
    }

    /// A 400 `PARAMETER_ERROR.INVALID` blaming `parameter`.
    pub fn invalid_parameter(parameter: &str, detail: impl Into<String>) -> Self {
        Self::ParameterInvalid {
            parameter: parameter.to_owned(),
            detail: detail.into(),
        }
    }

    /// The status, code and title of this error.
    pub fn status_code_title(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::PathNotFound(_) => (
                StatusCode::NOT_FOUND,
                "PATH_ERROR",
                "The URL path is not valid.",
            ),
            Self::NotFound(_) => (
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The specified resource does not exist.",
            ),
            Self::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "The request method is not valid for the resource path.",
            ),
            Self::ParameterIllegal { .. } => (
                StatusCode::BAD_REQUEST,
                "PARAMETER_ERROR.ILLEGAL",
                "A parameter is not allowed for this request.",
            ),
            Self::ParameterInvalid { .. } => (
                StatusCode::BAD_REQUEST,
                "PARAMETER_ERROR.INVALID",
                "A parameter has an invalid value.",
            ),
            Self::EntityInvalid(_) => (
                StatusCode::BAD_REQUEST,
                "ENTITY_INVALID",
                "The request entity is not valid JSON.",
            ),
            Self::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "NOT_AUTHORIZED",
                "Authentication credentials are missing or invalid.",
            ),
            Self::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                "FORBIDDEN_ERROR",
                "This request is forbidden for security reasons.",
            ),
            Self::Conflict { code, .. } => (
                StatusCode::CONFLICT,
                code,
                "The provided entity includes an attribute with an invalid value or is a duplicate.",
            ),
            Self::Duplicate { .. } => (
                StatusCode::CONFLICT,
                "ENTITY_ERROR",
                "The provided entity includes an attribute with an invalid value or is a duplicate.",
            ),
            Self::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "ENTITY_TOO_LARGE",
                "The request entity is too large.",
            ),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "The request entity has an unsupported media type.",
            ),
            Self::Unprocessable { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "ENTITY_UNPROCESSABLE",
                "The request entity is not a JSON:API document of the expected shape.",
            ),
            Self::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_EXCEEDED",
                "The request rate limit has been reached.",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNEXPECTED_ERROR",
                "An unexpected error occurred on the server side.",
            ),
        }
    }

    fn source(&self) -> Option<ErrorSource> {
        match self {
            Self::ParameterIllegal { parameter, .. } | Self::ParameterInvalid { parameter, .. } => {
                Some(ErrorSource::Parameter {
                    parameter: parameter.clone(),
                })
            }
            Self::Conflict { pointer, .. } | Self::Unprocessable { pointer, .. } => pointer
                .clone()
                .map(|pointer| ErrorSource::Pointer { pointer }),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            // Internal details go to the log, never to the client.
            Self::Internal(_) => {
                "The server failed to handle the request; the error is logged with this id."
                    .to_owned()
            }
            Self::RateLimited(limit) => format!(
                "This API key used up its {limit} requests for the rolling hour; wait and retry, the X-Rate-Limit header tells how many remain."
            ),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title) = self.status_code_title();
        let id = uuid::Uuid::new_v4().to_string();
        if let Self::Internal(err) = &self {
            tracing::error!(error_id = %id, "unexpected error: {err:#}");
        }
        let body = ErrorResponse {
            errors: vec![ResponseError {
                id: Some(id),
                status: status.as_u16().to_string(),
                code: code.to_owned(),
                title: title.to_owned(),
                detail: Some(self.detail()),
                source: self.source(),
                links: match &self {
                    Self::Duplicate {
                        existing: Some(url),
                        ..
                    } => Some(ErrorLinks {
                        about: None,
                        associated: Some(AssociatedLink::Url(url.clone())),
                    }),
                    _ => None,
                },
            }],
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::MethodNotAllowed { allow, .. } = &self
            && let Ok(allow) = HeaderValue::from_str(allow)
        {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        response
    }
}

impl From<db::Error> for ApiError {
    fn from(err: db::Error) -> Self {
        match err {
            err if err.is_row_not_found() => {
                Self::NotFound("the resource does not exist".to_owned())
            }
            err if err.is_unique_violation() => Self::Conflict {
                code: "ENTITY_ERROR",
                detail: "a resource with these attributes exists already; delete it first"
                    .to_owned(),
                pointer: None,
            },
            err => Self::Internal(err.into()),
        }
    }
}

impl From<crate::sandbox::SandboxError> for ApiError {
    fn from(err: crate::sandbox::SandboxError) -> Self {
        match err {
            crate::sandbox::SandboxError::Storage(err) => err.into(),
            err => Self::Internal(err.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(err: ApiError) -> u16 {
        err.into_response().status().as_u16()
    }

    #[test]
    fn http_error_responses() {
        assert_eq!(status(ApiError::PathNotFound("/x".into())), 404);
        assert_eq!(status(ApiError::NotFound("x".into())), 404);
        assert_eq!(
            status(ApiError::MethodNotAllowed {
                method: "PUT".into(),
                path: "/v1/apps".into(),
                allow: "GET,HEAD".into()
            }),
            405
        );
        assert_eq!(
            status(ApiError::ParameterIllegal {
                parameter: "x".into(),
                detail: "x".into()
            }),
            400
        );
        assert_eq!(status(ApiError::invalid_parameter("limit", "x")), 400);
        assert_eq!(status(ApiError::EntityInvalid("x".into())), 400);
        assert_eq!(status(ApiError::Unauthorized("x".into())), 401);
        assert_eq!(status(ApiError::Forbidden("x".into())), 403);
        assert_eq!(status(ApiError::invalid_attribute("/data/type", "x")), 409);
        assert_eq!(
            status(ApiError::Duplicate {
                detail: "x".into(),
                existing: None
            }),
            409
        );
        assert_eq!(status(ApiError::PayloadTooLarge(1)), 413);
        assert_eq!(status(ApiError::UnsupportedMediaType("x".into())), 415);
        assert_eq!(
            status(ApiError::Unprocessable {
                detail: "x".into(),
                pointer: None
            }),
            422
        );
        assert_eq!(status(ApiError::RateLimited(1)), 429);
        assert_eq!(status(ApiError::Internal(anyhow::anyhow!("x"))), 500);
    }

    #[test]
    fn database_errors_do_not_leak() {
        let err = ApiError::from(db::Error::from(sqlx::Error::PoolTimedOut));
        assert!(matches!(err, ApiError::Internal(_)));
        assert!(!err.detail().contains("pool"));
        assert!(matches!(
            ApiError::from(db::Error::from(sqlx::Error::RowNotFound)),
            ApiError::NotFound(_)
        ));
    }

    #[test]
    fn method_not_allowed_carries_allow() {
        let response = ApiError::MethodNotAllowed {
            method: "PUT".into(),
            path: "/v1/apps".into(),
            allow: "GET,HEAD".into(),
        }
        .into_response();
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
    }
}
