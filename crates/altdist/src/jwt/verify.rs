//! [`verify`]: every check of a token against a [`Validation`], the failed ones with reasons.

use std::time::Duration;

use serde_json::Value;

use super::check::{Check, CheckName, Verification};
use super::decode::{DecodedToken, decode};
use super::{
    API_AUDIENCE, DEFAULT_CLOCK_SKEW, INSTALL_AUDIENCE, MARKETPLACE_TOKEN_LIFETIME_LIMIT,
    MAX_API_TOKEN_LIFETIME, TokenKind, seconds, unix_now,
};
use crate::key::PublicKey;
use crate::resource::{ApiKeyId, AppId, BundleId};

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

fn numeric_date(checks: &mut Checks, name: CheckName, value: Option<&Value>) -> Option<i64> {
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

/// Seconds from `from` to `to`. Tokens carry any i64 (and floats saturate to i64::MIN and
/// i64::MAX), so their difference to the clock may not fit in an i64.
fn span(from: i64, to: i64) -> i128 {
    i128::from(to) - i128::from(from)
}

/// What a token is checked against.
///
/// Built with [`Validation::new`] and the `with_*` methods; an expectation that may or may not
/// be there can also be assigned to its field (`validation.expected_bid = maybe_bid`).
///
/// ```
/// use altdist::{TokenKind, Validation};
///
/// let validation = Validation::new(TokenKind::Install)
///     .with_expected_bid("com.example.app")
///     .with_expected_iss("6476788026");
/// assert_eq!(validation.expected_bid.as_deref(), Some("com.example.app"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
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

    /// Checks against this time (seconds since the epoch) instead of the system clock.
    #[must_use]
    pub fn with_now(mut self, now: i64) -> Self {
        self.now = Some(now);
        self
    }

    /// Lets `iat` lie this far in the future and `exp` this far in the past.
    #[must_use]
    pub fn with_clock_skew(mut self, clock_skew: Duration) -> Self {
        self.clock_skew = clock_skew;
        self
    }

    /// Replaces the kind's lifetime limit: `exp - iat` may be at most `max_lifetime`.
    #[must_use]
    pub fn with_max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = Some(max_lifetime);
        self
    }

    /// The `kid` the header must carry (without it, any well-formed one passes).
    #[must_use]
    pub fn with_expected_kid(mut self, kid: impl Into<String>) -> Self {
        self.expected_kid = Some(kid.into());
        self
    }

    /// The `iss` the payload must carry (without it, any well-formed one passes).
    #[must_use]
    pub fn with_expected_iss(mut self, iss: impl Into<String>) -> Self {
        self.expected_iss = Some(iss.into());
        self
    }

    /// The `bid` an install token must carry (without it, any well-formed one passes).
    #[must_use]
    pub fn with_expected_bid(mut self, bid: impl Into<String>) -> Self {
        self.expected_bid = Some(bid.into());
        self
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

enum Limit {
    AtMost(Duration),
    Below(Duration),
}

/// Verifies a compact JWS with `key` against `validation`, reporting every failed check.
pub fn verify(token: &str, key: &PublicKey, validation: &Validation) -> Verification {
    match decode(token) {
        Ok(decoded) => decoded.verify(key, validation),
        Err(err) => Verification::malformed(&err),
    }
}

/// The checks made so far, and the shapes of check most rules share.
#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, name: CheckName, result: Result<String, String>) {
        self.0.push(Check::new(name, result));
    }

    fn fail(&mut self, name: CheckName, detail: String) {
        self.push(name, Err(detail));
    }

    fn record(
        &mut self,
        name: CheckName,
        ok: bool,
        passed: impl FnOnce() -> String,
        failed: impl FnOnce() -> String,
    ) {
        self.push(name, if ok { Ok(passed()) } else { Err(failed()) });
    }

    fn expect_value(&mut self, name: CheckName, found: Option<&Value>, expected: &str) {
        let result = match found {
            Some(Value::String(value)) if value == expected => Ok(value.clone()),
            Some(other) => Err(format!("expected {expected:?}, found {other}")),
            None => Err(format!("missing; expected {expected:?}")),
        };
        self.push(name, result);
    }

    fn expect_string(
        &mut self,
        name: CheckName,
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

/// What a verifier's caller found for the key a token names, when it looks keys up by `kid`
/// (as Apple does with the uploaded alternative distribution keys).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum KeyLookup<'a> {
    /// The key; `about` says what it is, for the `kid` check ("an alternative distribution key
    /// of your account").
    Found {
        /// The key to check the signature with.
        key: &'a PublicKey,
        /// What the key is, to people.
        about: &'a str,
    },
    /// No key to check the signature with: the signature is reported as not checked, and a
    /// well-formed `kid` fails with `why` ("no key with this id in your account; ...").
    NotFound {
        /// Where no key was found, and what to do about it.
        why: &'a str,
    },
}

impl DecodedToken<'_> {
    /// Checks the signature with `key` and every rule of `validation`.
    pub fn verify(self, key: &PublicKey, validation: &Validation) -> Verification {
        self.verify_against(KeyLookup::Found { key, about: "" }, validation)
    }

    /// Checks the token with the key `lookup` found, or every rule but the signature when it
    /// found none.
    pub fn verify_against(self, lookup: KeyLookup<'_>, validation: &Validation) -> Verification {
        let mut checks = Checks::default();
        self.check_header(validation, &mut checks);
        if let Some(kid) = checks
            .0
            .iter_mut()
            .find(|check| check.name == CheckName::Kid && check.ok)
        {
            match lookup {
                KeyLookup::Found { about, .. } if !about.is_empty() => {
                    kid.detail = format!("{}: {about}", kid.detail);
                }
                KeyLookup::Found { .. } => {}
                KeyLookup::NotFound { why } => {
                    kid.ok = false;
                    kid.detail = format!("{}: {why}", kid.detail);
                }
            }
        }
        let KeyLookup::Found { key, .. } = lookup else {
            checks.fail(
                CheckName::Signature,
                "not checked: no key to check it with".to_owned(),
            );
            self.check_times(validation, &mut checks);
            self.check_claims(validation, &mut checks);
            return self.into_verification(checks);
        };
        checks.record(
            CheckName::Signature,
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
        self.into_verification(checks)
    }

    fn into_verification(self, checks: Checks) -> Verification {
        Verification {
            header: self.header,
            claims: self.claims,
            checks: checks.0,
        }
    }

    fn check_header(&self, validation: &Validation, checks: &mut Checks) {
        let alg = self.header.get("alg");
        checks.expect_value(CheckName::Alg, alg, "ES256");
        match (validation.kind, self.header.get("typ")) {
            // Apple serves API tokens without `typ`: ruby-jwt (fastlane, Apple's own sample code)
            // and PyJWT write none.
            (TokenKind::Api, None) => checks.push(
                CheckName::Typ,
                Ok("absent (optional in App Store Connect API tokens)".to_owned()),
            ),
            // RFC 7519 §5.1: "JWT" is compared case-insensitively.
            (_, Some(Value::String(typ))) if typ.eq_ignore_ascii_case("JWT") => {
                checks.push(CheckName::Typ, Ok(typ.clone()));
            }
            (_, found) => checks.expect_value(CheckName::Typ, found, "JWT"),
        }
        let kid = self.header.get("kid");
        match (validation.kind, kid) {
            (TokenKind::Marketplace, None) if validation.expected_kid.is_none() => {}
            (_, None) => checks.fail(
                CheckName::Kid,
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
                checks.push(CheckName::Kid, result.map(|()| kid.clone()));
            }
            (_, Some(other)) => checks.fail(
                CheckName::Kid,
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
                    CheckName::Iat,
                    Ok("absent (optional in App Store Connect API tokens)".to_owned()),
                );
                None
            }
            (_, found) => numeric_date(checks, CheckName::Iat, found),
        };
        let exp = numeric_date(checks, CheckName::Exp, self.claims.get("exp"));
        if let Some(iat) = iat {
            checks.record(
                CheckName::Iat,
                iat <= now.saturating_add(skew),
                || format!("issued at {iat}"),
                || {
                    format!(
                        "issued {} seconds in the future (at {iat}, now {now}, allowed clock skew {skew} s); check the signer's clock",
                        span(now, iat)
                    )
                },
            );
        }
        if let Some(exp) = exp {
            checks.record(
                CheckName::Exp,
                now < exp.saturating_add(skew),
                || format!("expires at {exp}, in {} seconds", span(now, exp)),
                || {
                    format!(
                        "expired {} seconds ago (at {exp}, now {now}, allowed clock skew {skew} s)",
                        span(exp, now)
                    )
                },
            );
        }
        let Some(exp) = exp else { return };
        let kind = validation.kind.with_article();
        let mut result = match (iat, validation.max_lifetime()) {
            (Some(iat), _) if exp <= iat => Err(format!("exp ({exp}) is not after iat ({iat})")),
            (Some(iat), Some(Limit::AtMost(max))) if span(iat, exp) > i128::from(seconds(max)) => {
                Err(format!(
                    "the token lives {} seconds (exp - iat); {kind} may live at most {} seconds",
                    span(iat, exp),
                    max.as_secs()
                ))
            }
            (Some(iat), Some(Limit::Below(limit)))
                if span(iat, exp) >= i128::from(seconds(limit)) =>
            {
                Err(format!(
                    "the token lives {} seconds (exp - iat); {kind} must live less than {} seconds",
                    span(iat, exp),
                    limit.as_secs()
                ))
            }
            (Some(iat), _) => Ok(format!("{} seconds (exp - iat)", span(iat, exp))),
            (None, _) => Ok(format!("expires in {} seconds", span(now, exp))),
        };
        // App Store Connect's own rule reads `exp` alone: "a token that expires more than 20
        // minutes in the future is not valid", whether or not `iat` is there.
        if validation.kind == TokenKind::Api
            && let Some(Limit::AtMost(max)) = validation.max_lifetime()
            && span(now, exp) > i128::from(seconds(max).saturating_add(skew))
            && result.is_ok()
        {
            result = Err(format!(
                "the token expires {} seconds from now (at {exp}, now {now}); {kind} may expire at most {} seconds in the future (allowed clock skew {skew} s)",
                span(now, exp),
                max.as_secs()
            ));
        }
        checks.push(CheckName::Lifetime, result);
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
                        checks.push(
                            CheckName::Aud,
                            Ok(Value::Array(audiences.clone()).to_string()),
                        );
                    }
                    Some(Value::Array(audiences)) => checks.fail(
                        CheckName::Aud,
                        format!(
                            "expected {API_AUDIENCE:?} or an array holding it, found {}",
                            Value::Array(audiences.clone())
                        ),
                    ),
                    found => checks.expect_value(CheckName::Aud, found, API_AUDIENCE),
                }
                match (claim("iss"), claim("sub")) {
                    (Some(iss), _) => {
                        checks.expect_string(CheckName::Iss, Some(iss), validation.expected_iss.as_deref(), |_| Ok(()))
                    }
                    (None, Some(_)) => checks.expect_value(CheckName::Sub, claim("sub"), "user"),
                    (None, None) => checks.fail(
                        CheckName::Iss,
                        "missing; a team key's token needs iss (the issuer id), an individual key's needs sub \"user\""
                            .to_owned(),
                    ),
                }
                if let Some(scope) = claim("scope") {
                    let well_formed = scope
                        .as_array()
                        .is_some_and(|entries| entries.iter().all(Value::is_string));
                    checks.record(
                        CheckName::Scope,
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
                checks.expect_value(CheckName::Aud, claim("aud"), INSTALL_AUDIENCE);
                checks.expect_string(
                    CheckName::Iss,
                    claim("iss"),
                    validation.expected_iss.as_deref(),
                    apple_id,
                );
                checks.expect_string(
                    CheckName::Bid,
                    claim("bid"),
                    validation.expected_bid.as_deref(),
                    bundle_id,
                );
                checks.expect_string(
                    CheckName::Dtype,
                    claim("dtype"),
                    None,
                    |dtype| match dtype {
                        "download" | "redownload" => Ok(()),
                        other => Err(format!(
                            "expected \"download\" or \"redownload\", found {other:?}"
                        )),
                    },
                );
                checks.expect_string(CheckName::Nonce, claim("nonce"), None, |nonce| {
                    uuid::Uuid::try_parse(nonce)
                        .map(drop)
                        .map_err(|_| format!("expected a UUID string, found {nonce:?}"))
                });
                for (name, optional) in [(CheckName::Iid, "iid"), (CheckName::Vid, "vid")] {
                    if claim(optional).is_some() {
                        checks.expect_string(name, claim(optional), None, apple_id);
                    }
                }
            }
            TokenKind::Marketplace => {
                checks.expect_value(CheckName::Aud, claim("aud"), API_AUDIENCE);
                checks.expect_string(
                    CheckName::Iss,
                    claim("iss"),
                    validation.expected_iss.as_deref(),
                    apple_id,
                );
                checks.expect_string(CheckName::Pid, claim("pid"), None, |_| Ok(()));
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::jwt::testing::{NOW, at_now, public, signer};
    use crate::jwt::{ApiTokenClaims, InstallTokenClaims, TokenSigner};
    use crate::key::PrivateKey;
    use crate::test_keys;

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
    fn a_key_lookup_names_the_key_or_says_why_there_is_none() {
        let token = signer(Some("KEY")).sign(&install_claims()).unwrap();
        let validation = at_now(TokenKind::Install);
        let detail = |verification: &Verification, name: CheckName| {
            verification.check(&name).unwrap().detail.clone()
        };
        let found = decode(&token).unwrap().verify_against(
            KeyLookup::Found {
                key: &public(),
                about: "a key of your account",
            },
            &validation,
        );
        assert!(found.is_valid(), "{:#?}", found.checks);
        assert_eq!(detail(&found, CheckName::Kid), "KEY: a key of your account");
        let missing = decode(&token).unwrap().verify_against(
            KeyLookup::NotFound {
                why: "no key with this id in your account",
            },
            &validation,
        );
        assert_eq!(failed(&missing), ["kid", "signature"]);
        assert_eq!(
            detail(&missing, CheckName::Kid),
            "KEY: no key with this id in your account"
        );
        assert_eq!(
            detail(&missing, CheckName::Signature),
            "not checked: no key to check it with"
        );
    }

    #[test]
    fn a_replay_verdict_settles_the_nonce_check() {
        use crate::jwt::NonceVerdict;
        let claims = install_claims();
        let token = signer(Some("KEY")).sign(&claims).unwrap();
        let verify = || verify(&token, &public(), &at_now(TokenKind::Install));
        let nonce_detail = |verification: &Verification| {
            let check = verification.check(&CheckName::Nonce).unwrap();
            (check.ok, check.detail.clone())
        };
        let mut fresh = verify();
        fresh.settle_nonce(NonceVerdict::Fresh {
            remembered_until: "2027-01-15T08:00:00Z".to_owned(),
        });
        assert_eq!(
            nonce_detail(&fresh),
            (
                true,
                format!(
                    "{}: first use; remembered until 2027-01-15T08:00:00Z",
                    claims.nonce
                )
            )
        );
        let mut replayed = verify();
        replayed.settle_nonce(NonceVerdict::Replayed {
            first_seen: Some(("2027-01-15T07:00:00Z".to_owned(), 42)),
        });
        assert_eq!(
            nonce_detail(&replayed),
            (
                false,
                format!(
                    "replayed: {} was first seen at 2027-01-15T07:00:00Z (42 seconds ago); every install needs a fresh nonce",
                    claims.nonce
                )
            )
        );
        let mut not_recorded = verify();
        not_recorded.settle_nonce(NonceVerdict::NotRecorded(
            "the signature did not verify".to_owned(),
        ));
        assert_eq!(
            nonce_detail(&not_recorded),
            (
                true,
                format!(
                    "{}; not checked for replay: the signature did not verify",
                    claims.nonce
                )
            )
        );
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
    fn install_token_round_trips() {
        let first = install_claims();
        let token = signer(Some("52c5cb04-1163-4a30-ad4f-a3433cd6a4f6"))
            .sign(&first)
            .unwrap();
        let validation = at_now(TokenKind::Install)
            .with_expected_bid("com.example.app")
            .with_expected_iss("6476788026");
        let verification = verify(&token, &public(), &validation);
        assert!(verification.is_valid(), "{:#?}", verification.checks);
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
        let validation = at_now(TokenKind::Install).with_expected_bid("com.other.app");
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
        let strict = at_now(TokenKind::Install).with_clock_skew(Duration::from_secs(10));
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
        let key = PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap();
        test_keys::sign_raw(&key, header, claims)
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
        let detail = |name: CheckName| verification.check(&name).map(|check| check.detail.clone());
        assert_eq!(
            detail(CheckName::Iat).as_deref(),
            Some("absent (optional in App Store Connect API tokens)")
        );
        assert_eq!(
            detail(CheckName::Lifetime).as_deref(),
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
        let iss = verification.check(&CheckName::Iss).unwrap();
        assert_eq!(iss.detail, "expected a string, found a number");
    }

    #[test]
    fn garbage_is_a_single_format_failure() {
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            let verification = verify(garbage, &public(), &at_now(TokenKind::Api));
            assert_eq!(failed(&verification), ["format"], "{garbage:?}");
        }
    }

    /// Found by the `jws_sign_verify` fuzz target: `exp` and `iat` at the ends of the i64 range
    /// (or floats that saturate to them) overflowed the differences to the clock, a panic with
    /// overflow checks and a wrong figure without.
    #[test]
    fn extreme_exp_and_iat_are_refused_without_overflow() {
        for (iat, exp) in [
            (serde_json::json!(NOW), serde_json::json!(i64::MIN)),
            (serde_json::json!(NOW), serde_json::json!(-1e300)),
            (serde_json::json!(i64::MIN), serde_json::json!(i64::MAX)),
            (serde_json::json!(i64::MAX), serde_json::json!(i64::MIN)),
        ] {
            let claims =
                serde_json::json!({"iat": iat, "exp": exp, "aud": API_AUDIENCE, "sub": "user"});
            let token = signer(Some("2X9R4HXF34")).sign(&claims).unwrap();
            for kind in [TokenKind::Api, TokenKind::Install, TokenKind::Marketplace] {
                let verification = verify(&token, &public(), &at_now(kind));
                assert!(!verification.is_valid(), "{claims}");
            }
            let at_min_now = Validation::new(TokenKind::Api).with_now(i64::MIN);
            assert!(!verify(&token, &public(), &at_min_now).is_valid());
        }
        let claims =
            serde_json::json!({"iat": NOW, "exp": i64::MIN, "aud": API_AUDIENCE, "sub": "user"});
        let token = signer(Some("2X9R4HXF34")).sign(&claims).unwrap();
        let verification = verify(&token, &public(), &at_now(TokenKind::Api));
        let expected = format!(
            "expired {} seconds ago",
            i128::from(NOW) - i128::from(i64::MIN)
        );
        let exp = verification.check(&CheckName::Exp).unwrap();
        assert!(exp.detail.starts_with(&expected), "{}", exp.detail);
    }
}
