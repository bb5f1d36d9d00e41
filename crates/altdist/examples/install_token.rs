//! Mints an install verification token and verifies it, as a web-distribution server would.
//!
//! Run with `cargo run -p altdist --example install_token [PRIVATE_KEY_PEM]`. Without a key file
//! it makes a throwaway key; in production the key is the one whose public half was uploaded to
//! App Store Connect (`POST /v1/alternativeDistributionKeys`).

use std::time::Duration;

use altdist::jwt::{self, unix_now};
use altdist::{InstallTokenClaims, PrivateKey, TokenKind, TokenSigner, Validation};

fn main() -> Result<(), altdist::Error> {
    // The alternative distribution key: SEC1 or PKCS#8 PEM, or DER, as openssl writes them.
    let key = match std::env::args_os().nth(1) {
        Some(path) => PrivateKey::load(path)?,
        None => PrivateKey::generate()?,
    };
    let public_key = key.public_key().clone();

    // `kid` is the id App Store Connect gave the uploaded public key; `iss` the app's Apple id.
    let signer = TokenSigner::new(key, Some("52c5cb04-1163-4a30-ad4f-a3433cd6a4f6"));
    let claims = InstallTokenClaims::new(
        "6476788026",
        "com.example.app",
        unix_now(),
        Duration::from_secs(600),
    );
    let token = signer.sign(&claims)?;
    println!("{token}\n");

    // Verify it the way Apple does: signature, header, times, and the claims this app expects.
    let validation = Validation::new(TokenKind::Install)
        .with_expected_iss("6476788026")
        .with_expected_bid("com.example.app");
    let verification = jwt::verify(&token, &public_key, &validation);
    for check in &verification.checks {
        let outcome = if check.ok { "ok  " } else { "FAIL" };
        println!("{outcome} {:<9} {}", check.name, check.detail);
    }
    assert!(verification.is_valid());
    Ok(())
}
