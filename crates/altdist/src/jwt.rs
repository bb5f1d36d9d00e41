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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::key::{PrivateKey, PublicKey};
use crate::resource::{ApiKeyId, AppId, BundleId};

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

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
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

/// Claims of an App Store Connect API token, as altdist mints them.
///
/// altdist always writes `iat` (and the signer `typ`), though App Store Connect also accepts
/// tokens without them; [`verify`] reads the claims as sent, so it accepts both. The constructors
/// refuse lifetimes over 20 minutes, which App Store Connect rejects; build the
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

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    typ: &'static str,
}

/// Issues ES256 tokens with one key and one `kid`.
///
/// The key is parsed once and the header encoded once, when the signer is made.
pub struct TokenSigner {
    key: PrivateKey,
    encoded_header: String,
    rng: SystemRandom,
}

impl TokenSigner {
    /// A signer writing header `{"alg":"ES256","kid":kid,"typ":"JWT"}` (no `kid` when `None`).
    pub fn new(key: PrivateKey, kid: Option<&str>) -> Self {
        let header = Header {
            alg: "ES256",
            kid,
            typ: "JWT",
        };
        // A struct of strings always serializes.
        let header_json = serde_json::to_vec(&header).unwrap_or_default();
        Self {
            key,
            encoded_header: URL_SAFE_NO_PAD.encode(header_json),
            rng: SystemRandom::new(),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Signs `claims` and returns the compact JWS `header.payload.signature`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims).map_err(|err| {
            Error::new(ErrorKind::Token(format!(
                "the claims cannot be encoded: {err}"
            )))
        })?;
        let mut token =
            String::with_capacity(self.encoded_header.len() + payload.len() * 4 / 3 + 92);
        token.push_str(&self.encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self.key.sign_with(token.as_bytes(), &self.rng)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}

/// A compact JWS split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct DecodedToken<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without checking anything but its shape.
pub fn decode(token: &str) -> Result<DecodedToken<'_>, Error> {
    let token = token.trim();
    let malformed = |why: String| Error::new(ErrorKind::Token(format!("not a compact JWS: {why}")));
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(format!(
            "expected three base64url parts separated by dots, found {}",
            token.split('.').count()
        )));
    };
    let json_part = |name: &str, part: &str| -> Result<Map<String, Value>, Error> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|err| malformed(format!("the {name} is not base64url ({err})")))?;
        serde_json::from_slice(&bytes)
            .map_err(|err| malformed(format!("the {name} is not a JSON object ({err})")))
    };
    let header = json_part("header", header)?;
    let claims = json_part("payload", payload)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|err| malformed(format!("the signature is not base64url ({err})")))?;
    Ok(DecodedToken {
        header,
        claims,
        signing_input,
        signature,
    })
}

impl DecodedToken<'_> {
    /// The JOSE header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The payload's claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The header's `kid`, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The claims as a typed struct.
    pub fn claims_as<C: DeserializeOwned>(&self) -> Result<C, Error> {
        serde_json::from_value(Value::Object(self.claims.clone()))
            .map_err(|err| Error::new(ErrorKind::Token(format!("unexpected claims: {err}"))))
    }

    /// Checks the signature with `key` and every rule of `validation`.
    pub fn verify(self, key: &PublicKey, validation: &Validation) -> Verification {
        let mut checks = Checks::default();
        self.check_header(validation, &mut checks);
        checks.record(
            "signature",
            key.verify(self.signing_input.as_bytes(), &self.signature),
            || "valid ES256 signature".to_owned(),
            || {
                if self.signature.len() == 64 {
                    format!("the signature does not match the key {}", key.fingerprint())
                } else {
                    format!(
                        "expected a 64-byte r||s ES256 signature, found {} bytes{}",
                        self.signature.len(),
                        if self.signature.first() == Some(&0x30) {
                            " (DER-encoded?)"
                        } else {
                            ""
                        }
                    )
                }
            },
        );
        self.check_times(validation, &mut checks);
        self.check_claims(validation, &mut checks);
        Verification {
            header: self.header,
            claims: self.claims,
            checks: checks.0,
        }
    }

    fn check_header(&self, validation: &Validation, checks: &mut Checks) {
        let alg = self.header.get("alg");
        checks.expect_value("alg", alg, "ES256");
        match (validation.kind, self.header.get("typ")) {
            // Apple serves API tokens without `typ`: ruby-jwt (fastlane, Apple's own sample code)
            // and PyJWT write none.
            (TokenKind::Api, None) => checks.push(
                "typ",
                Ok("absent (optional in App Store Connect API tokens)".to_owned()),
            ),
            // RFC 7519 §5.1: "JWT" is compared case-insensitively.
            (_, Some(Value::String(typ))) if typ.eq_ignore_ascii_case("JWT") => {
                checks.push("typ", Ok(typ.clone()));
            }
            (_, found) => checks.expect_value("typ", found, "JWT"),
        }
        let kid = self.header.get("kid");
        match (validation.kind, kid) {
            (TokenKind::Marketplace, None) if validation.expected_kid.is_none() => {}
            (_, None) => checks.fail(
                "kid",
                "missing; expected the key id in the header".to_owned(),
            ),
            (_, Some(Value::String(kid))) => {
                let result = match &validation.expected_kid {
                    Some(expected) if expected != kid => {
                        Err(format!("expected {expected:?}, found {kid:?}"))
                    }
                    _ if validation.kind == TokenKind::Api && !ApiKeyId::is_well_formed(kid) => {
                        Err(format!(
                            "expected an API key id of ten upper-case letters and digits (like 2X9R4HXF34), found {kid:?}"
                        ))
                    }
                    _ if kid.is_empty() => Err("empty".to_owned()),
                    _ => Ok(()),
                };
                checks.push("kid", result.map(|()| kid.clone()));
            }
            (_, Some(other)) => checks.fail(
                "kid",
                format!("expected a string, found {}", json_type_name(other)),
            ),
        }
    }

    fn check_times(&self, validation: &Validation, checks: &mut Checks) {
        let now = validation.now.unwrap_or_else(unix_now);
        let skew = seconds(validation.clock_skew);
        let iat = match (validation.kind, self.claims.get("iat")) {
            // Apple serves API tokens without `iat` (the generated npm SDKs, ruby-jwt as fastlane
            // uses it, the PyJWT snippets); the lifetime rule below then reads `exp` alone.
            (TokenKind::Api, None) => {
                checks.push(
                    "iat",
                    Ok("absent (optional in App Store Connect API tokens)".to_owned()),
                );
                None
            }
            (_, found) => numeric_date(checks, "iat", found),
        };
        let exp = numeric_date(checks, "exp", self.claims.get("exp"));
        if let Some(iat) = iat {
            checks.record(
                "iat",
                iat <= now.saturating_add(skew),
                || format!("issued at {iat}"),
                || {
                    format!(
                        "issued {} seconds in the future (at {iat}, now {now}, allowed clock skew {skew} s); check the signer's clock",
                        iat - now
                    )
                },
            );
        }
        if let Some(exp) = exp {
            checks.record(
                "exp",
                now < exp.saturating_add(skew),
                || format!("expires at {exp}, in {} seconds", exp - now),
                || {
                    format!(
                        "expired {} seconds ago (at {exp}, now {now}, allowed clock skew {skew} s)",
                        now - exp
                    )
                },
            );
        }
        let Some(exp) = exp else { return };
        let kind = validation.kind.with_article();
        let mut result = match (iat, validation.max_lifetime()) {
            (Some(iat), _) if exp <= iat => Err(format!("exp ({exp}) is not after iat ({iat})")),
            (Some(iat), Some(Limit::AtMost(max))) if exp - iat > seconds(max) => Err(format!(
                "the token lives {} seconds (exp - iat); {kind} may live at most {} seconds",
                exp - iat,
                max.as_secs()
            )),
            (Some(iat), Some(Limit::Below(limit))) if exp - iat >= seconds(limit) => Err(format!(
                "the token lives {} seconds (exp - iat); {kind} must live less than {} seconds",
                exp - iat,
                limit.as_secs()
            )),
            (Some(iat), _) => Ok(format!("{} seconds (exp - iat)", exp - iat)),
            (None, _) => Ok(format!("expires in {} seconds", exp - now)),
        };
        // App Store Connect's own rule reads `exp` alone: "a token that expires more than 20
        // minutes in the future is not valid", whether or not `iat` is there.
        if validation.kind == TokenKind::Api
            && let Some(Limit::AtMost(max)) = validation.max_lifetime()
            && exp - now > seconds(max).saturating_add(skew)
            && result.is_ok()
        {
            result = Err(format!(
                "the token expires {} seconds from now (at {exp}, now {now}); {kind} may expire at most {} seconds in the future (allowed clock skew {skew} s)",
                exp - now,
                max.as_secs()
            ));
        }
        checks.push("lifetime", result);
    }

    fn check_claims(&self, validation: &Validation, checks: &mut Checks) {
        let claim = |name: &str| self.claims.get(name);
        match validation.kind {
            TokenKind::Api => {
                match claim("aud") {
                    // RFC 7519 §4.1.3: `aud` may be an array; some libraries always write one.
                    Some(Value::Array(audiences))
                        if audiences.iter().any(|aud| aud == API_AUDIENCE) =>
                    {
                        checks.push("aud", Ok(Value::Array(audiences.clone()).to_string()));
                    }
                    Some(Value::Array(audiences)) => checks.fail(
                        "aud",
                        format!(
                            "expected {API_AUDIENCE:?} or an array holding it, found {}",
                            Value::Array(audiences.clone())
                        ),
                    ),
                    found => checks.expect_value("aud", found, API_AUDIENCE),
                }
                match (claim("iss"), claim("sub")) {
                    (Some(iss), _) => {
                        checks.expect_string("iss", Some(iss), validation.expected_iss.as_deref(), |_| Ok(()))
                    }
                    (None, Some(_)) => checks.expect_value("sub", claim("sub"), "user"),
                    (None, None) => checks.fail(
                        "iss",
                        "missing; a team key's token needs iss (the issuer id), an individual key's needs sub \"user\""
                            .to_owned(),
                    ),
                }
                if let Some(scope) = claim("scope") {
                    let well_formed = scope
                        .as_array()
                        .is_some_and(|entries| entries.iter().all(Value::is_string));
                    checks.record(
                        "scope",
                        well_formed,
                        || scope.to_string(),
                        || {
                            format!(
                                "expected an array of strings like \"GET /v1/apps\", found {scope}"
                            )
                        },
                    );
                }
            }
            TokenKind::Install => {
                checks.expect_value("aud", claim("aud"), INSTALL_AUDIENCE);
                checks.expect_string(
                    "iss",
                    claim("iss"),
                    validation.expected_iss.as_deref(),
                    apple_id,
                );
                checks.expect_string(
                    "bid",
                    claim("bid"),
                    validation.expected_bid.as_deref(),
                    bundle_id,
                );
                checks.expect_string("dtype", claim("dtype"), None, |dtype| match dtype {
                    "download" | "redownload" => Ok(()),
                    other => Err(format!(
                        "expected \"download\" or \"redownload\", found {other:?}"
                    )),
                });
                checks.expect_string("nonce", claim("nonce"), None, |nonce| {
                    uuid::Uuid::try_parse(nonce)
                        .map(drop)
                        .map_err(|_| format!("expected a UUID string, found {nonce:?}"))
                });
                for optional in ["iid", "vid"] {
                    if claim(optional).is_some() {
                        checks.expect_string(optional, claim(optional), None, apple_id);
                    }
                }
            }
            TokenKind::Marketplace => {
                checks.expect_value("aud", claim("aud"), API_AUDIENCE);
                checks.expect_string(
                    "iss",
                    claim("iss"),
                    validation.expected_iss.as_deref(),
                    apple_id,
                );
                checks.expect_string("pid", claim("pid"), None, |_| Ok(()));
            }
        }
    }
}

/// The `iss`, `iid` and `vid` rule: an Apple id (see [`AppId::is_well_formed`]).
fn apple_id(value: &str) -> Result<(), String> {
    if AppId::is_well_formed(value) {
        Ok(())
    } else {
        Err(format!(
            "expected an Apple id of digits (like \"6476788026\"), found {value:?}"
        ))
    }
}

/// Whether `value` is a well-formed bundle id; the same rule as
/// [`BundleId::is_well_formed`].
pub fn is_bundle_id(value: &str) -> bool {
    BundleId::is_well_formed(value)
}

/// The `bid` rule (see [`BundleId::is_well_formed`]).
fn bundle_id(value: &str) -> Result<(), String> {
    if BundleId::is_well_formed(value) {
        Ok(())
    } else {
        Err(format!(
            "expected a bundle id like \"com.example.app\" (letters, digits, '-' and '.'), found {value:?}"
        ))
    }
}

/// Names a JSON value's type for messages: "a string", "an object", "null"...
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn numeric_date(checks: &mut Checks, name: &'static str, value: Option<&Value>) -> Option<i64> {
    match value {
        // JWT NumericDates may carry fractions; whole seconds are all the checks need.
        Some(Value::Number(number)) => {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "fractional seconds are dropped on purpose"
            )]
            let whole = number
                .as_i64()
                .or_else(|| number.as_f64().map(|f| f as i64));
            if whole.is_none() {
                checks.fail(name, format!("{number} is out of range"));
            }
            whole
        }
        Some(other) => {
            checks.fail(
                name,
                format!(
                    "expected a NumericDate (seconds since 1970), found {}",
                    json_type_name(other)
                ),
            );
            None
        }
        None => {
            checks.fail(name, "missing".to_owned());
            None
        }
    }
}

enum Limit {
    AtMost(Duration),
    Below(Duration),
}

/// What a token is checked against.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Which kind of token is expected; it decides the audience and the required claims.
    pub kind: TokenKind,
    /// The time to check against, seconds since the epoch; `None` means the system clock.
    pub now: Option<i64>,
    /// How far `iat` may lie in the future and `exp` in the past.
    pub clock_skew: Duration,
    /// Overrides the kind's lifetime limit (20 minutes for API tokens, under 7 days for
    /// marketplace tokens, none for install tokens).
    pub max_lifetime: Option<Duration>,
    /// The `kid` the header must carry.
    pub expected_kid: Option<String>,
    /// The `iss` the payload must carry.
    pub expected_iss: Option<String>,
    /// The `bid` an install token must carry.
    pub expected_bid: Option<String>,
}

impl Validation {
    /// The rules for `kind`, against the system clock with [`DEFAULT_CLOCK_SKEW`].
    pub fn new(kind: TokenKind) -> Self {
        Self {
            kind,
            now: None,
            clock_skew: DEFAULT_CLOCK_SKEW,
            max_lifetime: None,
            expected_kid: None,
            expected_iss: None,
            expected_bid: None,
        }
    }

    fn max_lifetime(&self) -> Option<Limit> {
        match (self.max_lifetime, self.kind) {
            (Some(max), _) => Some(Limit::AtMost(max)),
            (None, TokenKind::Api) => Some(Limit::AtMost(MAX_API_TOKEN_LIFETIME)),
            (None, TokenKind::Marketplace) => Some(Limit::Below(MARKETPLACE_TOKEN_LIFETIME_LIMIT)),
            (None, TokenKind::Install) => None,
        }
    }
}

/// One rule a token was checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The rule: `signature`, `alg`, `typ`, `kid`, `aud`, `exp`, `iat`, `lifetime`, or a claim name.
    pub name: String,
    /// Whether the token passed it.
    pub ok: bool,
    /// What was found, and for a failure what was expected.
    pub detail: String,
}

/// The outcome of verifying a token: every check, passed or failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The JOSE header as sent.
    pub header: Map<String, Value>,
    /// The claims as sent.
    pub claims: Map<String, Value>,
    /// Every check made, in order.
    pub checks: Vec<Check>,
}

impl Verification {
    /// Whether every check passed.
    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.ok)
    }

    /// A verification of a token that could not even be decoded.
    pub fn malformed(error: &Error) -> Self {
        Self {
            header: Map::new(),
            claims: Map::new(),
            checks: vec![Check {
                name: "format".to_owned(),
                ok: false,
                detail: error.to_string(),
            }],
        }
    }

    /// Adds a check made outside this module (a nonce store, a key lookup).
    pub fn push(&mut self, name: &str, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.checks.push(Check {
            name: name.to_owned(),
            ok,
            detail,
        });
    }
}

/// Verifies a compact JWS with `key` against `validation`, reporting every failed check.
pub fn verify(token: &str, key: &PublicKey, validation: &Validation) -> Verification {
    match decode(token) {
        Ok(decoded) => decoded.verify(key, validation),
        Err(err) => Verification::malformed(&err),
    }
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, name: &str, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.0.push(Check {
            name: name.to_owned(),
            ok,
            detail,
        });
    }

    fn fail(&mut self, name: &str, detail: String) {
        self.push(name, Err(detail));
    }

    fn record(
        &mut self,
        name: &str,
        ok: bool,
        passed: impl FnOnce() -> String,
        failed: impl FnOnce() -> String,
    ) {
        self.push(name, if ok { Ok(passed()) } else { Err(failed()) });
    }

    fn expect_value(&mut self, name: &str, found: Option<&Value>, expected: &str) {
        let result = match found {
            Some(Value::String(value)) if value == expected => Ok(value.clone()),
            Some(other) => Err(format!("expected {expected:?}, found {other}")),
            None => Err(format!("missing; expected {expected:?}")),
        };
        self.push(name, result);
    }

    fn expect_string(
        &mut self,
        name: &str,
        found: Option<&Value>,
        expected: Option<&str>,
        well_formed: impl FnOnce(&str) -> Result<(), String>,
    ) {
        let result = match found {
            Some(Value::String(value)) => match expected {
                Some(expected) if expected != value => {
                    Err(format!("expected {expected:?}, found {value:?}"))
                }
                _ => well_formed(value).map(|()| value.clone()),
            },
            Some(other) => Err(format!(
                "expected a string, found {}",
                json_type_name(other)
            )),
            None => Err("missing".to_owned()),
        };
        self.push(name, result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys;

    const NOW: i64 = 1_800_000_000;

    fn signer(kid: Option<&str>) -> TokenSigner {
        TokenSigner::new(PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap(), kid)
    }

    fn public() -> PublicKey {
        PublicKey::from_pem(test_keys::PUBLIC).unwrap()
    }

    fn at_now(kind: TokenKind) -> Validation {
        Validation {
            now: Some(NOW),
            ..Validation::new(kind)
        }
    }

    fn failed(verification: &Verification) -> Vec<&str> {
        verification
            .failures()
            .map(|check| check.name.as_str())
            .collect()
    }

    fn install_claims() -> InstallTokenClaims {
        InstallTokenClaims::new(
            "6476788026",
            "com.example.app",
            NOW,
            Duration::from_secs(300),
        )
    }

    #[test]
    fn api_token_round_trips() {
        let claims = ApiTokenClaims::team(
            "57246542-96fe-1a63-e053-0824d011072a",
            NOW,
            Duration::from_secs(1200),
        )
        .unwrap()
        .with_scope(vec!["GET /v1/apps".to_owned()]);
        let token = signer(Some("2X9R4HXF34")).sign(&claims).unwrap();
        let verification = verify(&token, &public(), &at_now(TokenKind::Api));
        assert!(verification.is_valid(), "{:#?}", verification.checks);
        let decoded = decode(&token).unwrap();
        assert_eq!(decoded.claims_as::<ApiTokenClaims>().unwrap(), claims);
        assert_eq!(decoded.kid(), Some("2X9R4HXF34"));
    }

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
    fn install_token_round_trips_with_a_fresh_nonce() {
        let first = install_claims();
        assert_ne!(first.nonce, install_claims().nonce);
        let token = signer(Some("52c5cb04-1163-4a30-ad4f-a3433cd6a4f6"))
            .sign(&first)
            .unwrap();
        let validation = Validation {
            expected_bid: Some("com.example.app".into()),
            expected_iss: Some("6476788026".into()),
            ..at_now(TokenKind::Install)
        };
        let verification = verify(&token, &public(), &validation);
        assert!(verification.is_valid(), "{:#?}", verification.checks);
    }

    #[test]
    fn marketplace_token_needs_no_kid_and_lives_under_7_days() {
        let claims =
            MarketplaceTokenClaims::new("6476788026", "TEAM123456", NOW, Duration::from_secs(3600))
                .unwrap();
        let token = signer(None).sign(&claims).unwrap();
        assert!(!decode(&token).unwrap().header().contains_key("kid"));
        assert!(verify(&token, &public(), &at_now(TokenKind::Marketplace)).is_valid());
        assert!(
            MarketplaceTokenClaims::new("1", "P", NOW, MARKETPLACE_TOKEN_LIFETIME_LIMIT).is_err()
        );
    }

    #[test]
    fn reports_every_failed_check_not_only_the_first() {
        let other_key = PrivateKey::generate().unwrap();
        let mut claims = install_claims();
        claims.aud = "appstoreconnect-v1".into();
        claims.iat = NOW + 3600;
        claims.exp = NOW - 120;
        claims.nonce = "not-a-uuid".into();
        let token = TokenSigner::new(other_key, Some("kid"))
            .sign(&claims)
            .unwrap();
        let validation = Validation {
            expected_bid: Some("com.other.app".into()),
            ..at_now(TokenKind::Install)
        };
        let verification = verify(&token, &public(), &validation);
        assert_eq!(
            failed(&verification),
            ["signature", "iat", "exp", "lifetime", "aud", "bid", "nonce"]
        );
    }

    #[test]
    fn clock_skew_is_configurable() {
        let mut claims = install_claims();
        claims.iat = NOW + 30;
        claims.exp = NOW + 300;
        let token = signer(Some("k")).sign(&claims).unwrap();
        assert!(verify(&token, &public(), &at_now(TokenKind::Install)).is_valid());
        let strict = Validation {
            clock_skew: Duration::from_secs(10),
            ..at_now(TokenKind::Install)
        };
        assert_eq!(failed(&verify(&token, &public(), &strict)), ["iat"]);
    }

    #[test]
    fn api_token_over_20_minutes_fails_lifetime() {
        let claims = ApiTokenClaims {
            exp: NOW + 1201,
            ..ApiTokenClaims::individual(NOW, Duration::ZERO).unwrap()
        };
        let token = signer(Some("2X9R4HXF34")).sign(&claims).unwrap();
        assert_eq!(
            failed(&verify(&token, &public(), &at_now(TokenKind::Api))),
            ["lifetime"]
        );
    }

    /// Signs any header and claims, as third-party libraries shape them.
    fn sign_raw(header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap();
        let signature = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn api_verdict(header: &Value, claims: &Value) -> Vec<String> {
        failed(&verify(
            &sign_raw(header, claims),
            &public(),
            &at_now(TokenKind::Api),
        ))
        .into_iter()
        .map(str::to_owned)
        .collect()
    }

    const ISSUER: &str = "57246542-96fe-1a63-e053-0824d011072a";

    #[test]
    fn api_tokens_as_third_party_clients_shape_them_verify() {
        use serde_json::json;
        let ruby_jwt_header = json!({"alg": "ES256", "kid": "2X9R4HXF34"});
        let no_iat = json!({"iss": ISSUER, "exp": NOW + 1200, "aud": API_AUDIENCE});
        assert!(api_verdict(&ruby_jwt_header, &no_iat).is_empty());
        let lower_typ = json!({"alg": "ES256", "kid": "2X9R4HXF34", "typ": "jwt"});
        let aud_array = json!({"iss": ISSUER, "iat": NOW, "exp": NOW + 600, "aud": [API_AUDIENCE]});
        assert!(api_verdict(&lower_typ, &aud_array).is_empty());
        let verification = verify(
            &sign_raw(&ruby_jwt_header, &no_iat),
            &public(),
            &at_now(TokenKind::Api),
        );
        let detail = |name: &str| {
            verification
                .checks
                .iter()
                .find(|check| check.name == name)
                .map(|check| check.detail.clone())
        };
        assert_eq!(
            detail("iat").as_deref(),
            Some("absent (optional in App Store Connect API tokens)")
        );
        assert_eq!(
            detail("lifetime").as_deref(),
            Some("expires in 1200 seconds")
        );
    }

    #[test]
    fn api_token_rules_without_iat_read_exp_alone() {
        use serde_json::json;
        let header = json!({"alg": "ES256", "kid": "2X9R4HXF34"});
        let an_hour_away = json!({"iss": ISSUER, "exp": NOW + 3600, "aud": API_AUDIENCE});
        assert_eq!(api_verdict(&header, &an_hour_away), ["lifetime"]);
        let verification = verify(
            &sign_raw(&header, &an_hour_away),
            &public(),
            &at_now(TokenKind::Api),
        );
        let lifetime = verification.failures().next().unwrap();
        assert_eq!(
            lifetime.detail,
            "the token expires 3600 seconds from now (at 1800003600, now 1800000000); an App Store Connect API token may expire at most 1200 seconds in the future (allowed clock skew 60 s)"
        );
        // Within the clock skew of the 20 minutes: accepted, as with iat.
        let at_the_edge = json!({"iss": ISSUER, "exp": NOW + 1260, "aud": API_AUDIENCE});
        assert!(api_verdict(&header, &at_the_edge).is_empty());
        let expired = json!({"iss": ISSUER, "exp": NOW - 61, "aud": API_AUDIENCE});
        assert_eq!(api_verdict(&header, &expired), ["exp"]);
    }

    #[test]
    fn api_token_rules_that_stay_strict() {
        use serde_json::json;
        let claims = json!({"iss": ISSUER, "iat": NOW, "exp": NOW + 600, "aud": API_AUDIENCE});
        let wrong_typ = json!({"alg": "ES256", "kid": "2X9R4HXF34", "typ": "JOSE"});
        assert_eq!(api_verdict(&wrong_typ, &claims), ["typ"]);
        let header = json!({"alg": "ES256", "kid": "2X9R4HXF34"});
        let other_audiences = json!({"iss": ISSUER, "exp": NOW + 600, "aud": ["x", "y"]});
        assert_eq!(api_verdict(&header, &other_audiences), ["aud"]);
        // iat present: exp - iat over 1200 s is refused even when exp is near.
        let backdated =
            json!({"iss": ISSUER, "iat": NOW - 1000, "exp": NOW + 300, "aud": API_AUDIENCE});
        assert_eq!(api_verdict(&header, &backdated), ["lifetime"]);
    }

    #[test]
    fn install_and_marketplace_tokens_still_need_iat_and_typ() {
        use serde_json::json;
        let header = json!({"alg": "ES256", "kid": "KEY"});
        let claims = json!({
            "iss": "6476788026", "exp": NOW + 300, "aud": INSTALL_AUDIENCE,
            "bid": "com.example.app", "dtype": "download",
            "nonce": "8b4c4e4f-6c0c-4d0a-9c9e-3f0f5e2b8a11",
        });
        let verification = verify(
            &sign_raw(&header, &claims),
            &public(),
            &at_now(TokenKind::Install),
        );
        assert_eq!(failed(&verification), ["typ", "iat"]);
    }

    #[test]
    fn header_rules_alg_typ_and_kid() {
        let claims = ApiTokenClaims::individual(NOW, Duration::from_secs(60)).unwrap();
        let token = signer(Some("lowercase")).sign(&claims).unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        let forged_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWS"}"#);
        let forged = format!("{forged_header}.{rest}");
        assert_eq!(
            failed(&verify(&forged, &public(), &at_now(TokenKind::Api))),
            ["alg", "typ", "kid", "signature"]
        );
        assert_eq!(
            failed(&verify(&token, &public(), &at_now(TokenKind::Api))),
            ["kid"]
        );
    }

    #[test]
    fn missing_and_mistyped_claims_are_named() {
        let token = signer(Some("k"))
            .sign(
                &serde_json::json!({"iss": 6476788026_u64, "iat": "now", "aud": INSTALL_AUDIENCE, "dtype": "install"}),
            )
            .unwrap();
        let verification = verify(&token, &public(), &at_now(TokenKind::Install));
        assert_eq!(
            failed(&verification),
            ["iat", "exp", "iss", "bid", "dtype", "nonce"]
        );
        let iss = verification
            .checks
            .iter()
            .find(|check| check.name == "iss")
            .unwrap();
        assert_eq!(iss.detail, "expected a string, found a number");
    }

    #[test]
    fn garbage_is_a_single_format_failure() {
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            let verification = verify(garbage, &public(), &at_now(TokenKind::Api));
            assert_eq!(failed(&verification), ["format"], "{garbage:?}");
        }
    }
}
