//! `/.well-known/oauth-authorization-server`: where the device signs a visitor in when the
//! install link carries a `token`.
//!
//! See "Authenticate the page visitor" in Apple's
//! [Installing your app from your website](https://developer.apple.com/documentation/marketplacekit/installing-your-app-from-your-website)
//! and RFC 8414.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Problem, check_https_url, required_str};
use crate::jwt::json_type_name;

/// The path the device reads when a link carries `token`.
pub const OAUTH_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The members of RFC 8414's metadata that Apple's article shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// Where the visitor signs in.
    pub authorization_endpoint: String,
    /// Where the device trades the code (and the link's `token`) for an access token.
    pub token_endpoint: String,
    /// `S256`: the device uses PKCE.
    pub code_challenge_methods_supported: Vec<String>,
    /// `authorization_code` and `refresh_token`.
    pub grant_types_supported: Vec<String>,
    /// `code`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types_supported: Vec<String>,
}

/// Every problem of the authorization server metadata.
pub fn validate_oauth_metadata(document: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Value::Object(object) = document else {
        problems.push(Problem::error(
            "",
            format!("expected a JSON object, found {}", json_type_name(document)),
        ));
        return problems;
    };
    for name in ["authorization_endpoint", "token_endpoint"] {
        if let Some(url) = required_str(object, "", name, &mut problems) {
            problems.extend(check_https_url(&format!("/{name}"), url));
        }
    }
    let methods = string_list(object.get("code_challenge_methods_supported"));
    if methods.contains(&"5256") {
        problems.push(Problem::warning(
            "/code_challenge_methods_supported",
            "holds \"5256\" as Apple's article prints it; RFC 7636's method is \"S256\", write that",
        ));
    } else if !methods.contains(&"S256") {
        problems.push(Problem::error(
            "/code_challenge_methods_supported",
            format!("expected [\"S256\"] (PKCE), found {methods:?}"),
        ));
    }
    let grants = string_list(object.get("grant_types_supported"));
    if !grants.contains(&"authorization_code") {
        problems.push(Problem::error(
            "/grant_types_supported",
            format!("expected \"authorization_code\" among the grant types, found {grants:?}"),
        ));
    }
    problems
}

fn string_list(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_rules() {
        let good = json!({
            "authorization_endpoint": "https://example.com/oauth/authorize",
            "token_endpoint": "https://example.com/oauth/token",
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"]
        });
        assert_eq!(validate_oauth_metadata(&good), vec![]);
        let typed: AuthorizationServerMetadata = serde_json::from_value(good.clone()).unwrap();
        assert_eq!(typed.code_challenge_methods_supported, ["S256"]);
        let mut apples = good.clone();
        apples["code_challenge_methods_supported"] = json!(["5256"]);
        assert!(!validate_oauth_metadata(&apples)[0].is_error());
        let problems = validate_oauth_metadata(&json!({"token_endpoint": "http://x.com/t"}));
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
