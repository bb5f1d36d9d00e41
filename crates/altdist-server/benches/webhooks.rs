//! The webhook outbox against a receiver on 127.0.0.1, on SQLite and on PostgreSQL.
//!
//! * **throughput**: a backlog of events is committed, then the outbox (as `altdist serve` runs
//!   it, default settings) is started and timed until the receiver has every event and every
//!   delivery is recorded as `SUCCEEDED`;
//! * **latency**: events are committed one per transaction at a steady rate (100/s by default)
//!   while the outbox runs; each one's time from its commit returning to its arrival at the
//!   receiver is measured.
//!
//! Run: `cargo bench -p altdist-server --bench webhooks` (PostgreSQL at `TEST_DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`, skipped when it does not answer).
//! Env: `BENCH_EVENTS` (backlog, default 5000), `BENCH_RATE` (events/s, default 100),
//! `BENCH_SECONDS` (latency run, default 10).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use altdist::resource::{AppId, IssuerId, WebhookEventType};
use altdist_server::admin::{self, AppSpec};
use altdist_server::db::test_db::TestDatabase;
use altdist_server::db::webhooks::{self as outbox_db, DeliveryFilter, NewWebhook};
use altdist_server::webhooks::{Outbox, OutboxSettings, TargetPolicy, events};
use altdist_server::{Db, db};
use axum::body::Bytes;
use tokio::sync::Notify;

/// When each event arrived at the receiver, by event id.
#[derive(Default)]
struct Arrivals {
    at: Mutex<HashMap<String, Instant>>,
    changed: Notify,
}

impl Arrivals {
    fn count(&self) -> usize {
        self.at.lock().unwrap().len()
    }

    async fn wait_for(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while self.count() < count {
            assert!(
                Instant::now() < deadline,
                "only {} of {count} arrived",
                self.count()
            );
            let _ = tokio::time::timeout(Duration::from_millis(50), self.changed.notified()).await;
        }
    }
}

async fn receiver(arrivals: Arc<Arrivals>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let arrivals = Arc::clone(&arrivals);
            async move {
                let now = Instant::now();
                let payload: altdist::webhook::Payload = serde_json::from_slice(&body).unwrap();
                arrivals
                    .at
                    .lock()
                    .unwrap()
                    .entry(payload.data.id)
                    .or_insert(now);
                arrivals.changed.notify_waiters();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/hook")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

struct Setup {
    db: Db,
    account: IssuerId,
    app: AppId,
    webhook: String,
}

async fn setup(db: Db, url: &str) -> Setup {
    let account = admin::create_account(&db).await.unwrap();
    let spec = AppSpec {
        name: "Bench".to_owned(),
        bundle_id: format!("com.example.bench{}", uuid::Uuid::new_v4().simple()),
        sku: None,
        primary_locale: "en-US".to_owned(),
        marketplace: false,
        made_for_kids: false,
    };
    let app = AppId(admin::create_app(&db, &account, &spec).await.unwrap().id);
    let webhook = uuid::Uuid::new_v4().to_string();
    outbox_db::insert(
        &db,
        &NewWebhook {
            id: &webhook,
            account: &account,
            app: &app,
            name: "bench",
            url,
            secret: "bench secret",
            enabled: true,
            event_types: &[WebhookEventType::AlternativeDistributionPackageVersionCreated],
        },
    )
    .await
    .unwrap();
    Setup {
        db,
        account,
        app,
        webhook,
    }
}

async fn commit_backlog(setup: &Setup, events: usize) {
    const PER_TRANSACTION: usize = 500;
    let mut left = events;
    while left > 0 {
        let batch: Vec<_> = (0..left.min(PER_TRANSACTION))
            .map(|n| {
                events::package_version_created(
                    "http://127.0.0.1",
                    &setup.account,
                    &setup.app,
                    &format!("v{n}"),
                )
            })
            .collect();
        left -= batch.len();
        match &setup.db {
            Db::Sqlite(sqlite) => {
                let mut transaction = sqlite.pool().begin().await.unwrap();
                for event in &batch {
                    outbox_db::enqueue_in(&mut *transaction, event)
                        .await
                        .unwrap();
                }
                transaction.commit().await.unwrap();
            }
            Db::Postgres(postgres) => {
                let mut transaction = postgres.pool().begin().await.unwrap();
                for event in &batch {
                    outbox_db::enqueue_in(&mut *transaction, event)
                        .await
                        .unwrap();
                }
                transaction.commit().await.unwrap();
            }
        }
    }
}

/// As `altdist serve --allow-private-targets`: the receiver is on loopback.
fn policy() -> TargetPolicy {
    TargetPolicy { private: true }
}

async fn throughput(name: &str, db: Db, events: usize) {
    let arrivals = Arc::new(Arrivals::default());
    let url = receiver(Arc::clone(&arrivals)).await;
    let setup = setup(db, &url).await;
    commit_backlog(&setup, events).await;
    let started = Instant::now();
    let outbox = Outbox::start(setup.db.clone(), policy(), OutboxSettings::default())
        .await
        .unwrap();
    arrivals.wait_for(events).await;
    let delivered = started.elapsed();
    let succeeded = DeliveryFilter {
        states: vec!["SUCCEEDED".to_owned()],
        ..DeliveryFilter::default()
    };
    loop {
        let recorded = outbox_db::count_deliveries(&setup.db, &setup.webhook, &succeeded)
            .await
            .unwrap();
        if recorded >= i64::try_from(events).unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recorded = started.elapsed();
    outbox.stop(Duration::from_secs(10)).await;
    println!(
        "{name:<10} throughput  {events} events: all received in {:.2} s = {:.0} events/s; all recorded SUCCEEDED in {:.2} s = {:.0} events/s",
        delivered.as_secs_f64(),
        events as f64 / delivered.as_secs_f64(),
        recorded.as_secs_f64(),
        events as f64 / recorded.as_secs_f64(),
    );
}

async fn latency(name: &str, db: Db, rate: u64, seconds: u64) {
    let arrivals = Arc::new(Arrivals::default());
    let url = receiver(Arc::clone(&arrivals)).await;
    let setup = setup(db, &url).await;
    let outbox = Outbox::start(setup.db.clone(), policy(), OutboxSettings::default())
        .await
        .unwrap();
    let total = usize::try_from(rate * seconds).unwrap();
    let mut committed: HashMap<String, Instant> = HashMap::with_capacity(total);
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    for n in 0..total {
        ticks.tick().await;
        let event = events::package_version_created(
            "http://127.0.0.1",
            &setup.account,
            &setup.app,
            &format!("v{n}"),
        );
        outbox_db::enqueue(&setup.db, &event).await.unwrap();
        committed.insert(event.id, Instant::now());
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    arrivals.wait_for(total).await;
    outbox.stop(Duration::from_secs(10)).await;
    let at = arrivals.at.lock().unwrap();
    let mut latencies: Vec<Duration> = committed
        .iter()
        .map(|(id, commit)| at[id].saturating_duration_since(*commit))
        .collect();
    latencies.sort();
    let percentile = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    println!(
        "{name:<10} latency     {total} events at {offered:.0}/s, commit → received: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this too, without it: then
    // a short run checks that the bench works, and measures nothing worth printing as a figure.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (events, rate, seconds) = if measuring {
        (
            usize::try_from(env_number("BENCH_EVENTS", 5000)).unwrap(),
            env_number("BENCH_RATE", 100),
            env_number("BENCH_SECONDS", 10),
        )
    } else {
        (200, 50, 1)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = || async {
            let dir = dir.path().join(uuid::Uuid::new_v4().to_string());
            std::fs::create_dir_all(&dir).unwrap();
            admin::open(&dir, None).await.unwrap()
        };
        throughput("sqlite", sqlite().await, events).await;
        latency("sqlite", sqlite().await, rate, seconds).await;

        let server = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let Ok(first) = TestDatabase::create(&server).await else {
            println!(
                "postgres   skipped: no PostgreSQL at {}",
                db::redact_url(&server)
            );
            return;
        };
        let second = TestDatabase::create(&server).await.unwrap();
        let pg_dir = dir.path().join("pg");
        std::fs::create_dir_all(&pg_dir).unwrap();
        throughput(
            "postgres",
            admin::open(&pg_dir, Some(first.url())).await.unwrap(),
            events,
        )
        .await;
        latency(
            "postgres",
            admin::open(&pg_dir, Some(second.url())).await.unwrap(),
            rate,
            seconds,
        )
        .await;
    });
}
