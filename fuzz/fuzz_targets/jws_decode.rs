//! Compact JWS as anyone may send them (bearer tokens, tokens pasted into the sandbox or
//! `altdist token verify`): decoded, then checked by the verifier of each kind.
#![no_main]

use altdist::jwt::{self, CheckName, InstallTokenClaims, MarketplaceTokenClaims};
use altdist::{ApiTokenClaims, TokenKind, Validation};
use altdist_fuzz::test_public_key;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The clock when a token has no numeric `iat`; tokens that have one are checked at their
/// `iat`, so that seeds minted on any day stay valid and the other checks get exercised.
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let decoded = jwt::decode(&token);
    let now = decoded
        .as_ref()
        .ok()
        .and_then(|decoded| decoded.claims().get("iat"))
        .and_then(Value::as_i64)
        .unwrap_or(NOW);
    let mut valid_as = Vec::new();
    for kind in [TokenKind::Api, TokenKind::Install, TokenKind::Marketplace] {
        let validation = Validation::new(kind).with_now(now);
        let verification = jwt::verify(&token, test_public_key(), &validation);
        assert_eq!(
            verification.is_valid(),
            verification.failures().next().is_none()
        );
        match &decoded {
            Err(err) => {
                assert_eq!(verification.checks.len(), 1, "{err}: {verification:?}");
                assert_eq!(verification.checks[0].name, CheckName::Format);
                assert!(!verification.is_valid());
            }
            Ok(decoded) => {
                assert_eq!(&verification.header, decoded.header());
                assert_eq!(&verification.claims, decoded.claims());
                assert!(verification.check(&CheckName::Format).is_none());
                let signatures = verification
                    .checks
                    .iter()
                    .filter(|check| check.name == CheckName::Signature)
                    .count();
                assert_eq!(signatures, 1, "{verification:?}");
                // Whitespace around a token (a pasted line) changes nothing.
                let padded = jwt::verify(&format!(" {token}\r\n"), test_public_key(), &validation);
                assert_eq!(padded, verification);
                if verification.is_valid() {
                    valid_as.push(kind);
                }
            }
        }
        serde_json::to_string(&verification).expect("a verification serializes");
    }
    // The audiences differ: an install token is never also a token of the other kinds.
    assert!(
        !valid_as.contains(&TokenKind::Install) || valid_as.len() == 1,
        "valid as {valid_as:?}"
    );
    if let Ok(decoded) = &decoded {
        let _ = decoded.kid();
        let _ = decoded.claims_as::<ApiTokenClaims>();
        let _ = decoded.claims_as::<InstallTokenClaims>();
        let _ = decoded.claims_as::<MarketplaceTokenClaims>();
    }
});
