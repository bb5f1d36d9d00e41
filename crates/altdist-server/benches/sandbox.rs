//! The sandbox's install token verification next to raw ECDSA P-256 verify of the same backend
//! (aws-lc-rs), in the same run.
//!
//! `sandbox/verify_install` is the whole service minus HTTP: key lookup (warm cache), the
//! library's checks, the app checks and the nonce insert into a real SQLite file (WAL,
//! `synchronous=FULL`, as `altdist serve` opens it). The `_xN` variants keep N verifications in
//! flight on a two-thread runtime (N clients, each sending its next request when the previous
//! one is answered) and compare with raw verify on two threads.
//! Run: `cargo bench -p altdist-server --bench sandbox`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use altdist::jwt::unix_now;
use altdist::resource::{AltDistKeyId, AppId, IssuerId};
use altdist::sandbox::VerifyTokenRequest;
use altdist::{InstallTokenClaims, PrivateKey, TokenSigner};
use altdist_server::admin::{self, AppSpec};
use altdist_server::{AppState, db};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, ParsedPublicKey};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Verifications kept in flight by the concurrent variants.
const IN_FLIGHT: [usize; 2] = [64, 256];

struct Fixture {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    account: IssuerId,
    app: AppId,
    signer: TokenSigner,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (state, account, app, signer) = runtime.block_on(async {
            let db = admin::open(dir.path(), None).await.unwrap();
            let account = admin::create_account(&db).await.unwrap();
            let spec = AppSpec {
                name: "Bench".to_owned(),
                bundle_id: "com.example.bench".to_owned(),
                sku: None,
                primary_locale: "en-US".to_owned(),
                marketplace: false,
                made_for_kids: false,
            };
            let app = AppId(admin::create_app(&db, &account, &spec).await.unwrap().id);
            let key = PrivateKey::generate().unwrap();
            let kid = AltDistKeyId(uuid::Uuid::new_v4().to_string());
            db::alt_dist_keys::insert(&db, &kid, &account, Some(&app), &key.public_key().to_pem())
                .await
                .unwrap();
            let state = AppState::new(db, "http://bench", u32::MAX);
            (
                state,
                account,
                app,
                TokenSigner::new(key, Some(kid.as_str())),
            )
        });
        Self {
            runtime,
            state,
            account,
            app,
            signer,
            _dir: dir,
        }
    }

    /// A fresh token: every verification must see a new nonce, as real installs do.
    fn request(&self) -> VerifyTokenRequest {
        let claims = InstallTokenClaims::new(
            self.app.as_str(),
            "com.example.bench",
            unix_now(),
            Duration::from_secs(600),
        );
        VerifyTokenRequest {
            token: self.signer.sign(&claims).unwrap(),
            app_id: None,
        }
    }
}

fn raw_verifier(message_len: usize) -> (ParsedPublicKey, Vec<u8>, Vec<u8>) {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let message = vec![b'a'; message_len];
    let signature = pair
        .sign(&SystemRandom::new(), &message)
        .unwrap()
        .as_ref()
        .to_vec();
    let key = ParsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref(),
    )
    .unwrap();
    (key, message, signature)
}

fn bench(c: &mut Criterion) {
    let fixture = Fixture::new();
    let sample = fixture.request();
    // The raw baseline verifies a message as long as a token's signing input.
    let (raw_key, message, raw_signature) =
        raw_verifier(sample.token.rsplit_once('.').unwrap().0.len());

    let mut group = c.benchmark_group("sandbox");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_verify", |b| {
        b.iter(|| {
            raw_key
                .verify_sig(black_box(&message), black_box(&raw_signature))
                .unwrap();
        });
    });
    group.bench_function("verify_install", |b| {
        b.iter_batched(
            || fixture.request(),
            |request| {
                let verification = fixture
                    .runtime
                    .block_on(fixture.state.sandbox.verify_install(
                        &fixture.state.db,
                        &fixture.account,
                        &request,
                    ));
                assert!(verification.unwrap().is_valid());
            },
            BatchSize::SmallInput,
        );
    });

    for in_flight in IN_FLIGHT {
        group.throughput(Throughput::Elements(in_flight as u64));
        group.bench_function(format!("raw_verify_x{in_flight}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..2 {
                        scope.spawn(|| {
                            for _ in 0..iters * in_flight as u64 / 2 {
                                raw_key
                                    .verify_sig(black_box(&message), black_box(&raw_signature))
                                    .unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
        group.bench_function(format!("verify_install_x{in_flight}"), |b| {
            b.iter_custom(|iters| {
                // Signed beforehand: only the verifications are timed.
                let requests: Vec<_> = (0..iters * in_flight as u64)
                    .map(|_| fixture.request())
                    .collect();
                let (state, account) = (fixture.state.clone(), fixture.account.clone());
                let start = Instant::now();
                // On a worker, like a server's accept loop: the runtime's two threads do all.
                fixture
                    .runtime
                    .block_on(fixture.runtime.spawn(async move {
                        verify_all(&state, &account, requests, in_flight).await;
                    }))
                    .unwrap();
                start.elapsed()
            });
        });
    }
    group.finish();
}

/// Verifies every request with `in_flight` clients: each sends its next request as soon as its
/// previous one is answered, the way a server sees `in_flight` busy keep-alive connections.
/// Requests are handed out in order from one shared list, so the clients finish together.
async fn verify_all(
    state: &AppState,
    account: &IssuerId,
    requests: Vec<VerifyTokenRequest>,
    in_flight: usize,
) {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (state, account) = (state.clone(), account.clone());
        let (requests, next) = (Arc::clone(&requests), Arc::clone(&next));
        clients.spawn(async move {
            while let Some(request) = requests.get(next.fetch_add(1, Ordering::Relaxed)) {
                let verification = state
                    .sandbox
                    .verify_install(&state.db, &account, request)
                    .await;
                assert!(verification.unwrap().is_valid());
            }
        });
    }
    // Panics if a client did: an invalid verification fails the benchmark.
    clients.join_all().await;
}

criterion_group!(benches, bench);
criterion_main!(benches);
