//! The two verifications: the token's own checks (the library's), given the key, the app and
//! the replay verdict that only the server knows.

use altdist::jwt::{self, DecodedToken, KeyLookup, NonceVerdict};
use altdist::resource::{AppId, IssuerId};
use altdist::sandbox::VerifyTokenRequest;
use altdist::{CheckName, TokenKind, Validation, Verification};

use super::keys::{CachedKey, find_key, find_key_for_app};
use super::signer::{Signer, describe_signer, find_signer};
use super::{MAX_INSTALL_TOKEN_LIFETIME, Sandbox, SandboxError, seconds};
use crate::db::nonces::{NewNonce, NonceKey, NonceUse};
use crate::db::{self, Db};

/// Runs the library's checks with the key found (or every check but the signature without
/// one), the `kid` check naming what the key is.
fn verify_with(
    decoded: DecodedToken<'_>,
    key: Option<&CachedKey>,
    validation: &Validation,
) -> Verification {
    let lookup = match key {
        Some(key) => KeyLookup::Found {
            key: &key.public_key,
            about: "an alternative distribution key of your account",
        },
        None => KeyLookup::NotFound {
            why: "no alternative distribution key with this id in your account; list yours with GET /v1/alternativeDistributionKeys",
        },
    };
    decoded.verify_against(lookup, validation)
}

fn passed(verification: &Verification, name: &CheckName) -> bool {
    verification
        .checks
        .iter()
        .filter(|check| check.name == *name)
        .all(|check| check.ok)
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Checks an install verification token as Apple would, and records its nonce.
///
/// The nonce is recorded only when the signature verified (so nobody without the key can burn
/// a developer's nonces) and the token is within its validity (so every recorded nonce can be
/// pruned after [`nonce_retention`]). A token refused for another reason, a wrong `bid` say, is
/// still recorded: a second use of it is reported as a replay as well.
pub(super) async fn verify_install(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    request: &VerifyTokenRequest,
) -> Result<Verification, SandboxError> {
    let decoded = match jwt::decode(&request.token) {
        Ok(decoded) => decoded,
        Err(err) => return Ok(Verification::malformed(&err)),
    };
    let now = jwt::unix_now();
    let key = match decoded.kid() {
        Some(kid) => find_key(sandbox, db, account, kid, now).await?,
        None => None,
    };
    let (signer, app_id_problem) = find_signer(
        db,
        account,
        key.as_deref(),
        request.app_id.as_deref(),
        decoded.claim_str("iss"),
        TokenKind::Install,
    )
    .await?;
    let mut validation = Validation::new(TokenKind::Install)
        .with_now(now)
        .with_max_lifetime(MAX_INSTALL_TOKEN_LIFETIME);
    validation.expected_iss = signer.app().map(|app| app.id.clone());
    validation.expected_bid = match &signer {
        Signer::Web(app) => Some(app.bundle_id.clone()),
        _ => None,
    };
    let exp = decoded
        .claims()
        .get("exp")
        .and_then(serde_json::Value::as_i64);
    let mut verification = verify_with(decoded, key.as_deref(), &validation);
    verification.push(CheckName::App, describe_signer(&signer, key.as_deref()));
    if let Some(problem) = app_id_problem {
        verification.push(CheckName::AppId, Err(problem));
    }
    let recordable = key.is_some()
        && [
            CheckName::Signature,
            CheckName::Iat,
            CheckName::Exp,
            CheckName::Lifetime,
            CheckName::Nonce,
        ]
        .iter()
        .all(|name| passed(&verification, name));
    let nonce = verification
        .claims
        .get("nonce")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    match (recordable, exp, nonce) {
        (true, Some(exp), Some(nonce)) => {
            let expires_at = exp.saturating_add(seconds(validation.clock_skew));
            let entry = NewNonce {
                account: account.clone(),
                key: NonceKey::of(&nonce),
                now,
                expires_at,
            };
            let verdict = match db::nonces::record(db, entry).await? {
                NonceUse::Fresh => NonceVerdict::Fresh {
                    remembered_until: rfc3339(expires_at),
                },
                NonceUse::Replayed { first_seen } => NonceVerdict::Replayed {
                    first_seen: first_seen.map(|first| (rfc3339(first), now - first)),
                },
            };
            verification.settle_nonce(verdict);
        }
        _ => verification.settle_nonce(NonceVerdict::NotRecorded(
            "only tokens with a valid signature, within their validity, are recorded".to_owned(),
        )),
    }
    Ok(verification)
}

/// Checks a marketplace token as Apple would.
///
/// Apple's marketplace tokens carry no `kid`; the key is then the one that signs for the
/// marketplace app the token's `iss` (or `appId`) names: its app-specific key, else the
/// account-wide key.
pub(super) async fn verify_marketplace(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    request: &VerifyTokenRequest,
) -> Result<Verification, SandboxError> {
    let decoded = match jwt::decode(&request.token) {
        Ok(decoded) => decoded,
        Err(err) => return Ok(Verification::malformed(&err)),
    };
    let now = jwt::unix_now();
    let iss = decoded.claim_str("iss");
    let mut key_found_through_app = None;
    let key = match decoded.kid() {
        Some(kid) => find_key(sandbox, db, account, kid, now).await?,
        None => {
            let app = request
                .app_id
                .as_deref()
                .or(iss)
                .filter(|id| AppId::is_well_formed(id));
            let key = match app {
                Some(app) => find_key_for_app(sandbox, db, account, app, now).await?,
                None => None,
            };
            key_found_through_app = Some(match (&key, app) {
                (Some(key), Some(app)) => Ok(format!(
                    "the token has no kid; the key that signs for app {app} is {}",
                    key.id
                )),
                (None, Some(app)) => Err(format!(
                    "the token has no kid, and app {app} has no key in your account (no app-specific key, no account-wide key)"
                )),
                (_, None) => Err(
                    "the token has no kid and no iss of digits to find the marketplace app's key by"
                        .to_owned(),
                ),
            });
            key
        }
    };
    let (signer, app_id_problem) = find_signer(
        db,
        account,
        key.as_deref(),
        request.app_id.as_deref(),
        iss,
        TokenKind::Marketplace,
    )
    .await?;
    let mut validation = Validation::new(TokenKind::Marketplace).with_now(now);
    validation.expected_iss = signer.app().map(|app| app.id.clone());
    let mut verification = verify_with(decoded, key.as_deref(), &validation);
    if let Some(found) = key_found_through_app {
        verification.push(CheckName::Key, found);
    }
    verification.push(CheckName::App, describe_signer(&signer, key.as_deref()));
    if let Some(problem) = app_id_problem {
        verification.push(CheckName::AppId, Err(problem));
    }
    Ok(verification)
}
