//! `/sandbox/v1/...`: altdist's own token verification service, outside Apple's `/v1`.
//!
//! Each handler reads a [`VerifyTokenRequest`], runs the checks of [`crate::sandbox`] in the
//! caller's account and answers 200 with every check, valid or not. Only a request that is not a
//! verification request at all is an error, with the same envelope as the rest of the API.

use crate::jsonapi::Json;
use altdist::resource::IssuerId;
use altdist::sandbox::{SandboxVerification, VerifyTokenRequest};
use altdist::site_check::{SiteAccount, SiteCheckOptions, SiteReport};
use axum::extract::State;
use axum::http::Uri;
use serde_json::Value;

use crate::app::AppState;
use crate::auth::Caller;
use crate::db::{self, PageAfter};
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

/// `POST /sandbox/v1/sites/check`: `altdist site check` run by the server, for CI.
///
/// Answers 200 with the report, passed or not; the site is reached from the server, over HTTPS, at public
/// addresses only unless the server runs with `--allow-private-targets`.
pub async fn check_site(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Json<SiteReport>, ApiError> {
    Params::parse(&uri, &[])?;
    let mut options = site_check_request(&body)?;
    options.allow_private_targets = state.allow_private_targets;
    let account = SandboxAccount {
        state: &state,
        account: &caller.account,
    };
    let report = altdist::site_check::check_site(&options, &account)
        .await
        .map_err(|err| match err.kind() {
            altdist::ErrorKind::Http(detail) => ApiError::Unprocessable {
                detail: detail.clone(),
                pointer: Some("/url".to_owned()),
            },
            _ => ApiError::Internal(anyhow::anyhow!("site check: {err}")),
        })?;
    Ok(Json(report))
}

/// The caller's account as the site check sees it: its domains, its apps, this sandbox.
struct SandboxAccount<'a> {
    state: &'a AppState,
    account: &'a IssuerId,
}

impl SiteAccount for SandboxAccount<'_> {
    async fn registered_domains(&self) -> Result<Vec<String>, altdist::Error> {
        let mut domains = Vec::new();
        let mut after = 0;
        loop {
            let page = PageAfter { after, limit: 200 };
            let rows = db::alt_dist_domains::list(&self.state.db, self.account, page)
                .await
                .map_err(|err| {
                    altdist::Error::from(altdist::ErrorKind::UnexpectedResponse(format!(
                        "cannot read the account's domains: {err}"
                    )))
                })?;
            let more = rows.len() > 200;
            for listed in rows.into_iter().take(200) {
                after = listed.seq;
                domains.push(listed.row.domain);
            }
            if !more {
                return Ok(domains);
            }
        }
    }

    async fn bundle_id(&self, app_id: &str) -> Result<Option<String>, String> {
        match db::apps::find(&self.state.db, self.account, app_id).await {
            Ok(Some(app)) => Ok(Some(app.bundle_id)),
            Ok(None) => Err(format!("expected app {app_id} in the account, found none")),
            Err(err) => Err(format!("cannot read app {app_id}: {err}")),
        }
    }

    async fn verify_install_token(
        &self,
        token: &str,
        app_id: Option<&str>,
    ) -> Result<String, String> {
        let request = VerifyTokenRequest {
            token: token.to_owned(),
            app_id: app_id.map(str::to_owned),
        };
        let verification = self
            .state
            .sandbox
            .verify_install(&self.state.db, self.account, &request)
            .await
            .map_err(|err| format!("the sandbox could not verify it: {err}"))?;
        altdist::site_check::summarize(&verification, "the sandbox")
    }
}

/// Reads `{"url": "https://...", "appId": "..."?, "page": "https://..."?}`.
pub fn site_check_request(body: &Value) -> Result<SiteCheckOptions, ApiError> {
    let unprocessable = |detail: String, pointer: &str| ApiError::Unprocessable {
        detail,
        pointer: Some(pointer.to_owned()),
    };
    let object = body.as_object().ok_or_else(|| {
        unprocessable(
            "the body is not a JSON object; send {\"url\": \"https://DOMAIN\", \"appId\": \"<Apple app id>\", \"page\": \"https://DOMAIN/install\"}".to_owned(),
            "",
        )
    })?;
    let string = |name: &str, required: bool| -> Result<Option<String>, ApiError> {
        match object.get(name) {
            Some(Value::String(value)) => Ok(Some(value.clone())),
            None | Some(Value::Null) if !required => Ok(None),
            None | Some(Value::Null) => Err(unprocessable(
                format!("the body has no '{name}'; send {{\"url\": \"https://DOMAIN\"}}"),
                &format!("/{name}"),
            )),
            Some(other) => Err(unprocessable(
                format!(
                    "'{name}' is {}, expected a string",
                    altdist::jwt::json_type_name(other)
                ),
                &format!("/{name}"),
            )),
        }
    };
    let mut options = SiteCheckOptions::new(string("url", true)?.unwrap_or_default());
    options.app = string("appId", false)?;
    options.page = string("page", false)?;
    Ok(options)
}

/// Reads `{"token": "...", "appId": "..."?}`. JSON of another shape is a 422 naming the member;
/// members the endpoint does not know are ignored, as the `/v1` create endpoints do.
pub fn verify_request(body: &Value) -> Result<VerifyTokenRequest, ApiError> {
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
