//! The wire types of altdist's sandbox: token verification the way Apple does it, with reasons.
//!
//! `POST /sandbox/v1/installVerificationTokens/verify` and
//! `POST /sandbox/v1/marketplaceTokens/verify` take a [`VerifyTokenRequest`] and answer a
//! [`SandboxVerification`]. These endpoints are altdist's own, outside Apple's `/v1` namespace.

use serde::{Deserialize, Serialize};

use crate::jwt::Verification;

/// Path of the install verification token check.
pub const INSTALL_VERIFY_PATH: &str = "/sandbox/v1/installVerificationTokens/verify";
/// Path of the marketplace token check.
pub const MARKETPLACE_VERIFY_PATH: &str = "/sandbox/v1/marketplaceTokens/verify";

/// The body of a verification request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyTokenRequest {
    /// The compact JWS.
    pub token: String,
    /// The Apple id of the app being installed, when the key alone does not tell
    /// (an account-wide key signs for every app of the account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

/// The answer: whether the token is valid, and every check with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SandboxVerification {
    /// True exactly when every check passed.
    pub valid: bool,
    /// The checks, the header and the claims.
    #[serde(flatten)]
    pub verification: Verification,
}

impl From<Verification> for SandboxVerification {
    fn from(verification: Verification) -> Self {
        Self {
            valid: verification.is_valid(),
            verification,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_is_flat_json() {
        let mut verification =
            Verification::malformed(&crate::Error::new(crate::ErrorKind::Token("bad".into())));
        verification.push(crate::CheckName::Nonce, Ok("fresh".into()));
        let json = serde_json::to_value(SandboxVerification::from(verification)).unwrap();
        assert_eq!(json["valid"], false);
        assert_eq!(
            json["checks"][1],
            serde_json::json!({"name": "nonce", "ok": true, "detail": "fresh"})
        );
        assert!(json["header"].is_object() && json["claims"].is_object());
    }
}
