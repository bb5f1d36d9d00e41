//! ES256 JSON Web Tokens: the three kinds alternative distribution uses.
//!
//! * App Store Connect API tokens, signed with an API key (`AuthKey_*.p8`): see Apple's
//!   [Generating tokens for API requests](https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests).
//! * Install verification tokens, signed with the alternative distribution key: see
//!   [MarketplaceKit](https://developer.apple.com/documentation/marketplacekit).
//! * Marketplace tokens, signed with the alternative distribution key of a marketplace.
//!
//! [`TokenSigner`] holds a parsed key and the encoded header, so issuing a token costs one
//! signature plus a few hundred bytes of JSON and base64. [`verify`] reports every check that
//! fails, not only the first, so a person can fix them all at once.
//!
//! | module | what it holds |
//! |---|---|
//! | `claims` | the claims of the three kinds, and their constructors |
//! | `sign` | [`TokenSigner`] |
//! | `decode` | [`decode`]: a compact JWS split into header, claims and signature, nothing checked |
//! | `verify` | [`Validation`] (what to check against) and [`verify`], which runs every check |
//! | `check` | the outcome: [`Verification`], its [`Check`]s and their [`CheckName`]s |

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

mod check;
mod claims;
mod decode;
mod sign;
mod verify;

pub use check::{Check, CheckName, NonceVerdict, Verification};
pub use claims::{ApiTokenClaims, DownloadType, InstallTokenClaims, MarketplaceTokenClaims};
pub use decode::{DecodedToken, decode};
pub use sign::TokenSigner;
pub use verify::{KeyLookup, Validation, json_type_name, verify};

/// `aud` of App Store Connect API tokens and of marketplace tokens.
pub const API_AUDIENCE: &str = "appstoreconnect-v1";
/// `aud` of install verification tokens.
pub const INSTALL_AUDIENCE: &str = "AppleDownloadVerification-v1";
/// The longest lifetime (`exp - iat`) App Store Connect accepts for an API token: 20 minutes.
pub const MAX_API_TOKEN_LIFETIME: Duration = Duration::from_secs(20 * 60);
/// Marketplace tokens must expire less than this long after they are issued: 7 days.
pub const MARKETPLACE_TOKEN_LIFETIME_LIMIT: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How far a verifier lets `iat` lie in the future and `exp` in the past, by default.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The current time in seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whole seconds of `duration`, for arithmetic on unix times.
fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Whether `value` is a well-formed bundle id; the same rule as
/// [`BundleId::is_well_formed`](crate::resource::BundleId::is_well_formed).
pub fn is_bundle_id(value: &str) -> bool {
    crate::resource::BundleId::is_well_formed(value)
}

/// Which of the three token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// An App Store Connect API token.
    Api,
    /// An install verification token.
    Install,
    /// A marketplace token.
    Marketplace,
}

impl TokenKind {
    /// The kind's name with its indefinite article: "an App Store Connect API token".
    pub fn with_article(self) -> &'static str {
        match self {
            Self::Api => "an App Store Connect API token",
            Self::Install => "an install verification token",
            Self::Marketplace => "a marketplace token",
        }
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Api => "App Store Connect API token",
            Self::Install => "install verification token",
            Self::Marketplace => "marketplace token",
        })
    }
}

/// What the tests of this module's files share: a fixed key pair and a fixed clock.
#[cfg(test)]
mod testing {
    use super::{TokenKind, TokenSigner, Validation};
    use crate::key::{PrivateKey, PublicKey};
    use crate::test_keys;

    pub const NOW: i64 = 1_800_000_000;

    pub fn signer(kid: Option<&str>) -> TokenSigner {
        TokenSigner::new(PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap(), kid)
    }

    pub fn public() -> PublicKey {
        PublicKey::from_pem(test_keys::PUBLIC).unwrap()
    }

    pub fn at_now(kind: TokenKind) -> Validation {
        Validation::new(kind).with_now(NOW)
    }
}
