//! `/sandbox/v1/...`: altdist's own token verification service, outside Apple's `/v1`.
//!
//! Each handler reads a [`VerifyTokenRequest`], runs the checks of [`crate::sandbox`] in the
//! caller's account and answers 200 with every check, valid or not. Only a request that is not a
//! verification request at all is an error, with the same envelope as the rest of the API.

use altdist::sandbox::{SandboxVerification, VerifyTokenRequest};
use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use serde_json::Value;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::jsonapi::Params;

/// `POST /sandbox/v1/installVerificationTokens/verify`
pub async fn verify_install_token(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Json<SandboxVerification>, ApiError> {
    Params::parse(&uri, &[])?;
    let request = verify_request(&body)?;
    let verification = state
        .sandbox
        .verify_install(&state.db, &caller.account, &request)
        .await?;
    Ok(Json(verification.into()))
}

/// `POST /sandbox/v1/marketplaceTokens/verify`
pub async fn verify_marketplace_token(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Json<SandboxVerification>, ApiError> {
    Params::parse(&uri, &[])?;
    let request = verify_request(&body)?;
    let verification = state
        .sandbox
        .verify_marketplace(&state.db, &caller.account, &request)
        .await?;
    Ok(Json(verification.into()))
}

/// Reads `{"token": "...", "appId": "..."?}`. JSON of another shape is a 422 naming the member;
/// members the endpoint does not know are ignored, as the `/v1` create endpoints do.
fn verify_request(body: &Value) -> Result<VerifyTokenRequest, ApiError> {
    let unprocessable = |detail: String, pointer: &str| ApiError::Unprocessable {
        detail,
        pointer: Some(pointer.to_owned()),
    };
    let object = body.as_object().ok_or_else(|| {
        unprocessable(
            "the body is not a JSON object; send {\"token\": \"<JWS>\", \"appId\": \"<Apple app id>\"}"
                .to_owned(),
            "",
        )
    })?;
    let token = match object.get("token") {
        Some(Value::String(token)) => token.clone(),
        Some(other) => {
            return Err(unprocessable(
                format!(
                    "'token' is {}, expected the compact JWS as a string",
                    altdist::jwt::json_type_name(other)
                ),
                "/token",
            ));
        }
        None => {
            return Err(unprocessable(
                "the body has no 'token'; send {\"token\": \"<JWS>\"}".to_owned(),
                "/token",
            ));
        }
    };
    let app_id = match object.get("appId") {
        None | Some(Value::Null) => None,
        Some(Value::String(app_id)) => Some(app_id.clone()),
        Some(other) => {
            return Err(unprocessable(
                format!(
                    "'appId' is {}, expected the app's Apple id as a string, like \"6476788026\"",
                    altdist::jwt::json_type_name(other)
                ),
                "/appId",
            ));
        }
    };
    Ok(VerifyTokenRequest { token, app_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_of_the_wrong_shape_name_the_member() {
        let pointer = |body: Value| match verify_request(&body) {
            Err(ApiError::Unprocessable { pointer, .. }) => pointer,
            other => panic!("{body}: {other:?}"),
        };
        assert_eq!(pointer(json!([])), Some(String::new()));
        assert_eq!(pointer(json!({})), Some("/token".to_owned()));
        assert_eq!(pointer(json!({"token": 1})), Some("/token".to_owned()));
        assert_eq!(
            pointer(json!({"token": "a", "appId": 6476788026_u64})),
            Some("/appId".to_owned())
        );
    }

    #[test]
    fn app_id_is_optional() {
        let request = verify_request(&json!({"token": "t", "appId": null, "extra": 1})).unwrap();
        assert_eq!(request.app_id, None);
        let request = verify_request(&json!({"token": "t", "appId": "1"})).unwrap();
        assert_eq!(request.app_id.as_deref(), Some("1"));
    }
}
