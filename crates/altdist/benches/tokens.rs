//! Token issue and verify next to raw ECDSA P-256 sign and verify of the same backend (aws-lc-rs).
//!
//! `scripts/bench-tokens.sh` runs this and prints the ratios the README reports.

use std::hint::black_box;
use std::time::Duration;

use altdist::jwt::{self, unix_now};
use altdist::{InstallTokenClaims, PrivateKey, TokenKind, TokenSigner, Validation};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, ParsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};

fn claims() -> InstallTokenClaims {
    let mut claims = InstallTokenClaims::new(
        "6476788026",
        "com.example.app",
        unix_now(),
        Duration::from_secs(600),
    );
    claims.iid = Some("6476788026".into());
    claims
}

fn sign(c: &mut Criterion) {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let rng = SystemRandom::new();
    let signer = TokenSigner::new(
        PrivateKey::generate().unwrap(),
        Some("52c5cb04-1163-4a30-ad4f-a3433cd6a4f6"),
    );
    let claims = claims();
    // The raw baseline signs a message as long as the token's signing input.
    let token = signer.sign(&claims).unwrap();
    let message = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();

    let mut group = c.benchmark_group("es256");
    group.bench_function("raw_sign", |b| {
        b.iter(|| pair.sign(&rng, black_box(&message)).unwrap())
    });
    group.bench_function("token_issue", |b| {
        b.iter(|| signer.sign(black_box(&claims)).unwrap())
    });

    let raw_signature = pair.sign(&rng, &message).unwrap();
    let raw_key = ParsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref(),
    )
    .unwrap();
    group.bench_function("raw_verify", |b| {
        b.iter(|| {
            raw_key
                .verify_sig(black_box(&message), black_box(raw_signature.as_ref()))
                .unwrap()
        });
    });
    let public = signer.key().public_key().clone();
    let validation = Validation::new(TokenKind::Install);
    group.bench_function("token_verify", |b| {
        b.iter(|| assert!(jwt::verify(black_box(&token), &public, &validation).is_valid()));
    });
    group.finish();
}

criterion_group!(benches, sign);
criterion_main!(benches);
