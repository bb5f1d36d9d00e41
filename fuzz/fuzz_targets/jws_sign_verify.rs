//! Tokens altdist mints, from every minting path (the claims constructors and `TokenSigner`, and
//! `test_keys::sign_raw` for shapes third-party libraries write): what altdist signs verifies
//! exactly when its values are well-formed, and one flipped byte never verifies.
#![no_main]

use std::time::Duration;

use altdist::jwt::{self, CheckName, InstallTokenClaims, MarketplaceTokenClaims};
use altdist::resource::{ApiKeyId, AppId, BundleId};
use altdist::{ApiTokenClaims, DownloadType, TokenKind, TokenSigner, Validation, test_keys};
use altdist_fuzz::{test_key, test_public_key};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Debug, Arbitrary)]
struct Input {
    mint: Mint,
    iat: i64,
    lifetime: u32,
    /// Where to flip a byte of the token (modulo its length), and with what (0 means 1).
    flip_at: usize,
    flip_with: u8,
}

#[derive(Debug, Arbitrary)]
enum Mint {
    Api {
        kid: String,
        issuer: Option<String>,
        scope: Vec<String>,
    },
    Install {
        kid: String,
        iss: String,
        bid: String,
        redownload: bool,
        iid: Option<String>,
        vid: Option<String>,
    },
    Marketplace {
        kid: Option<String>,
        iss: String,
        pid: String,
    },
    /// Any header and claims, as JSON text (not JSON: the text as a string).
    Raw {
        kind: u8,
        header: String,
        claims: String,
    },
}

fuzz_target!(|input: Input| {
    let Input {
        mint,
        iat,
        lifetime,
        flip_at,
        flip_with,
    } = input;
    let lifetime_secs = u64::from(lifetime);
    // The constructors saturate `exp` at i64::MAX: the token lives as long as `exp` is after `iat`.
    let lives = iat.saturating_add(i64::from(lifetime)) > iat;
    let signer = |kid: Option<&str>| TokenSigner::new(clone_test_key(), kid);
    let (token, kind, well_formed) = match mint {
        Mint::Api { kid, issuer, scope } => {
            let Ok(claims) = (match &issuer {
                Some(issuer) => {
                    ApiTokenClaims::team(issuer.as_str(), iat, Duration::from_secs(lifetime_secs))
                }
                None => ApiTokenClaims::individual(iat, Duration::from_secs(lifetime_secs)),
            }) else {
                assert!(
                    lifetime > 1200,
                    "the constructor refuses only long lifetimes"
                );
                return;
            };
            let token = signer(Some(&kid))
                .sign(&claims.with_scope(scope))
                .expect("claims encode");
            (
                token,
                TokenKind::Api,
                lives && ApiKeyId::is_well_formed(&kid),
            )
        }
        Mint::Install {
            kid,
            iss,
            bid,
            redownload,
            iid,
            vid,
        } => {
            let mut claims = InstallTokenClaims::new(
                iss.as_str(),
                bid.as_str(),
                iat,
                Duration::from_secs(lifetime_secs),
            );
            if redownload {
                claims.dtype = DownloadType::Redownload;
            }
            claims.iid.clone_from(&iid);
            claims.vid.clone_from(&vid);
            let token = signer(Some(&kid)).sign(&claims).expect("claims encode");
            let well_formed = lives
                && !kid.is_empty()
                && AppId::is_well_formed(&iss)
                && BundleId::is_well_formed(&bid)
                && [iid, vid]
                    .iter()
                    .flatten()
                    .all(|id| AppId::is_well_formed(id));
            (token, TokenKind::Install, well_formed)
        }
        Mint::Marketplace { kid, iss, pid } => {
            let Ok(claims) = MarketplaceTokenClaims::new(
                iss.as_str(),
                pid,
                iat,
                Duration::from_secs(lifetime_secs),
            ) else {
                assert!(
                    lifetime_secs >= 7 * 24 * 3600,
                    "the constructor refuses only long lifetimes"
                );
                return;
            };
            let token = signer(kid.as_deref()).sign(&claims).expect("claims encode");
            let well_formed = lives
                && kid.as_ref().is_none_or(|kid| !kid.is_empty())
                && AppId::is_well_formed(&iss);
            (token, TokenKind::Marketplace, well_formed)
        }
        Mint::Raw {
            kind,
            header,
            claims,
        } => {
            let json = |text: String| serde_json::from_str(&text).unwrap_or(Value::String(text));
            let (header, claims) = (json(header), json(claims));
            let token = test_keys::sign_raw(test_key(), &header, &claims);
            let kind =
                [TokenKind::Api, TokenKind::Install, TokenKind::Marketplace][usize::from(kind) % 3];
            let validation = Validation::new(kind).with_now(iat);
            let verification = jwt::verify(&token, test_public_key(), &validation);
            if header.is_object() && claims.is_object() {
                let signature = verification.check(&CheckName::Signature).expect("checked");
                assert!(signature.ok, "{verification:?}");
            } else {
                assert_eq!(verification.checks[0].name, CheckName::Format);
            }
            check_flipped(&token, &validation, flip_at, flip_with);
            return;
        }
    };
    let validation = Validation::new(kind).with_now(iat);
    let verification = jwt::verify(&token, test_public_key(), &validation);
    assert_eq!(
        verification.is_valid(),
        well_formed,
        "{token}: {verification:#?}"
    );
    check_flipped(&token, &validation, flip_at, flip_with);
});

/// One byte of the token changed: the signature no longer matches, or the token no longer
/// decodes; either way it is not valid.
fn check_flipped(token: &str, validation: &Validation, flip_at: usize, flip_with: u8) {
    let mut bytes = token.as_bytes().to_vec();
    let at = flip_at % bytes.len();
    bytes[at] ^= flip_with.max(1);
    let flipped = String::from_utf8_lossy(&bytes);
    let verification = jwt::verify(&flipped, test_public_key(), validation);
    assert!(
        !verification.is_valid(),
        "{token} with byte {at} flipped still verifies: {flipped}"
    );
}

fn clone_test_key() -> altdist::PrivateKey {
    altdist::PrivateKey::from_pem(test_keys::SEC1_PRIVATE).expect("the test key loads")
}
