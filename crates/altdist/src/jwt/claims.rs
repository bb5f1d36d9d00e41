//! The claims of the three token kinds, as altdist mints them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    API_AUDIENCE, INSTALL_AUDIENCE, MARKETPLACE_TOKEN_LIFETIME_LIMIT, MAX_API_TOKEN_LIFETIME,
    seconds,
};
use crate::error::{Error, ErrorKind};

/// Claims of an App Store Connect API token, as altdist mints them.
///
/// altdist always writes `iat` (and the signer `typ`), though App Store Connect also accepts
/// tokens without them; [`verify`](super::verify) reads the claims as sent, so it accepts both.
/// The constructors refuse lifetimes over 20 minutes, which App Store Connect rejects; build the
/// struct directly to issue a longer-lived token on purpose (for example to test a server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenClaims {
    /// The issuer id of a team key's account; absent for individual keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `"user"` for individual keys; absent for team keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Always [`API_AUDIENCE`].
    pub aud: String,
    /// Requests this token may make, like `"GET /v1/apps?filter[platform]=IOS"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
}

impl ApiTokenClaims {
    /// Claims for a team API key of the account `issuer_id`.
    pub fn team(
        issuer_id: impl Into<String>,
        issued_at: i64,
        lifetime: Duration,
    ) -> Result<Self, Error> {
        Self::with_identity(Some(issuer_id.into()), None, issued_at, lifetime)
    }

    /// Claims for an individual API key (`sub` = `user`).
    pub fn individual(issued_at: i64, lifetime: Duration) -> Result<Self, Error> {
        Self::with_identity(None, Some("user".to_owned()), issued_at, lifetime)
    }

    fn with_identity(
        iss: Option<String>,
        sub: Option<String>,
        issued_at: i64,
        lifetime: Duration,
    ) -> Result<Self, Error> {
        if lifetime > MAX_API_TOKEN_LIFETIME {
            return Err(Error::new(ErrorKind::Token(format!(
                "an App Store Connect API token may live at most {} seconds, {} were asked for",
                MAX_API_TOKEN_LIFETIME.as_secs(),
                lifetime.as_secs()
            ))));
        }
        Ok(Self {
            iss,
            sub,
            iat: issued_at,
            exp: issued_at.saturating_add(seconds(lifetime)),
            aud: API_AUDIENCE.to_owned(),
            scope: None,
        })
    }

    /// Limits the token to these requests.
    #[must_use]
    pub fn with_scope(mut self, scope: Vec<String>) -> Self {
        self.scope = (!scope.is_empty()).then_some(scope);
        self
    }
}

/// `dtype` of an install verification token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DownloadType {
    /// The first install of the app on this device.
    Download,
    /// A later install on the same device.
    Redownload,
}

/// Claims of an install verification token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallTokenClaims {
    /// Apple item id of the web-distributed app or of the installing marketplace.
    pub iss: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Always [`INSTALL_AUDIENCE`].
    pub aud: String,
    /// Bundle id of the app being installed.
    pub bid: String,
    /// First install or reinstall.
    pub dtype: DownloadType,
    /// A fresh random UUID; a verifier refuses one it has seen before.
    pub nonce: String,
    /// Apple item id of the app being installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iid: Option<String>,
    /// Apple version id of the app being installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vid: Option<String>,
}

impl InstallTokenClaims {
    /// Claims for a first download, with a fresh random nonce.
    pub fn new(
        iss: impl Into<String>,
        bid: impl Into<String>,
        issued_at: i64,
        lifetime: Duration,
    ) -> Self {
        Self {
            iss: iss.into(),
            iat: issued_at,
            exp: issued_at.saturating_add(seconds(lifetime)),
            aud: INSTALL_AUDIENCE.to_owned(),
            bid: bid.into(),
            dtype: DownloadType::Download,
            nonce: uuid::Uuid::new_v4().to_string(),
            iid: None,
            vid: None,
        }
    }
}

/// Claims of a marketplace token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketplaceTokenClaims {
    /// Apple id of the marketplace app.
    pub iss: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch; less than 7 days after `iat`.
    pub exp: i64,
    /// Always [`API_AUDIENCE`].
    pub aud: String,
    /// The app developer's Developer ID.
    pub pid: String,
}

impl MarketplaceTokenClaims {
    /// Claims for marketplace `iss` and developer `pid`; the lifetime must be under 7 days.
    pub fn new(
        iss: impl Into<String>,
        pid: impl Into<String>,
        issued_at: i64,
        lifetime: Duration,
    ) -> Result<Self, Error> {
        if lifetime >= MARKETPLACE_TOKEN_LIFETIME_LIMIT {
            return Err(Error::new(ErrorKind::Token(format!(
                "a marketplace token must expire less than {} seconds (7 days) after issue, {} were asked for",
                MARKETPLACE_TOKEN_LIFETIME_LIMIT.as_secs(),
                lifetime.as_secs()
            ))));
        }
        Ok(Self {
            iss: iss.into(),
            iat: issued_at,
            exp: issued_at.saturating_add(seconds(lifetime)),
            aud: API_AUDIENCE.to_owned(),
            pid: pid.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::testing::{NOW, at_now, public, signer};
    use crate::jwt::{TokenKind, verify};

    #[test]
    fn individual_api_token_uses_sub_user() {
        let claims = ApiTokenClaims::individual(NOW, Duration::from_secs(600)).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("user"));
        assert_eq!(claims.iss, None);
        let token = signer(Some("2X9R4HXF34")).sign(&claims).unwrap();
        assert!(verify(&token, &public(), &at_now(TokenKind::Api)).is_valid());
    }

    #[test]
    fn api_token_constructor_refuses_lifetimes_over_20_minutes() {
        let err = ApiTokenClaims::individual(NOW, Duration::from_secs(1201)).unwrap_err();
        assert!(err.to_string().contains("at most 1200 seconds"), "{err}");
    }

    #[test]
    fn install_token_claims_get_a_fresh_nonce_each() {
        let claims = || {
            InstallTokenClaims::new(
                "6476788026",
                "com.example.app",
                NOW,
                Duration::from_secs(300),
            )
        };
        assert_ne!(claims().nonce, claims().nonce);
    }

    #[test]
    fn marketplace_token_lives_under_7_days() {
        assert!(MarketplaceTokenClaims::new("1", "P", NOW, Duration::from_secs(3600)).is_ok());
        assert!(
            MarketplaceTokenClaims::new("1", "P", NOW, MARKETPLACE_TOKEN_LIFETIME_LIMIT).is_err()
        );
    }
}
