//! [`Outbox`]: the worker that posts due deliveries, records what happened and schedules retries.
//!
//! It claims due deliveries ([`crate::db::webhooks::claim`]) under a lease, posts each one
//! concurrently (at most [`OutboxSettings::concurrency`] at once), and records the outcomes in
//! batches ([`crate::db::webhooks::finish`]). It wakes when a delivery is queued (`LISTEN` on
//! PostgreSQL, an in-process signal on SQLite), when the next retry is due, and every
//! [`OutboxSettings::poll`] in case a signal was lost. A delivery cut short by a crash is claimed
//! again once its lease has run out (on SQLite at once on the next start, since the one server
//! that could hold a claim is gone): delivery is at least once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use super::targets::{Resolver, TargetPolicy};
use crate::db::webhooks::{self, Claimed, Outcome, Wakeups, now_ms};
use crate::db::{self, Db};

/// How much of a receiver's answer is read; the rest is not waited for.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How much of it the deliveries API shows (`response.body`).
pub const STORED_RESPONSE_BYTES: usize = 4 * 1024;
/// Deliveries claimed in one statement at most.
const BATCH: usize = 64;
/// Outcomes recorded in one transaction at most.
const RECORD_BATCH: usize = 256;
/// Redirects followed at most, to the same scheme, host and port only.
const MAX_REDIRECTS: usize = 5;

/// The contract's bound on the first retry: no later than this after a failed attempt.
///
/// It is `retry_base` (the most the jittered delay can be) plus `poll` (the longest the worker
/// sleeps before it sees a retry come due) at most.
pub const FIRST_RETRY_WITHIN: Duration = Duration::from_secs(10);

/// How the outbox delivers; [`Default`] is what `altdist serve` uses (docs/API.md, "Webhooks").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSettings {
    /// How long a connection to a receiver may take.
    pub connect_timeout: Duration,
    /// How long a whole attempt may take, answer included.
    pub request_timeout: Duration,
    /// How long a claim lasts: longer than an attempt and its recording, so that a live worker's
    /// deliveries are never taken from it.
    pub lease: Duration,
    /// Attempts per event and webhook, the first included.
    pub max_attempts: i32,
    /// The first retry's delay at most; each later one doubles it (full jitter: a random delay up
    /// to that).
    pub retry_base: Duration,
    /// The longest delay between two attempts.
    pub retry_cap: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How often the worker looks for due deliveries without being woken.
    pub poll: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            max_attempts: 10,
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(3600),
            concurrency: 64,
            poll: Duration::from_secs(1),
        }
    }
}

impl OutboxSettings {
    /// The delay before the attempt after `attempt` (1 for the first): a random duration up to
    /// `min(retry_cap, retry_base * 2^(attempt - 1))`. Full jitter spreads the retries of many
    /// deliveries that failed together (a receiver that was down) instead of sending them back
    /// in one wave.
    pub fn retry_delay(&self, attempt: i32) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        let ceiling = self
            .retry_base
            .saturating_mul(1_u32 << exponent)
            .min(self.retry_cap);
        // A v4 UUID is 122 random bits from the operating system's generator: enough for jitter,
        // without another dependency.
        let random = uuid::Uuid::new_v4().as_u128() as u64;
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(random % millis.saturating_add(1))
    }
}

/// The running worker; [`Outbox::stop`] lets it finish what is in flight.
#[derive(Debug)]
pub struct Outbox {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Outbox {
    /// Starts delivering the deliveries of `db` to the targets `policy` allows.
    pub async fn start(
        db: Db,
        policy: TargetPolicy,
        settings: OutboxSettings,
    ) -> anyhow::Result<Self> {
        if matches!(db, Db::Sqlite(_)) {
            let released = webhooks::release_claims(&db).await?;
            if released > 0 {
                tracing::info!(
                    released,
                    "webhook deliveries cut short by the last stop are due again"
                );
            }
        }
        let http = client(policy, &settings)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(db, http, policy, settings, stopped));
        Ok(Self { stop, task })
    }

    /// Stops claiming, and waits up to `grace` for the deliveries in flight to be answered and
    /// recorded; those still running then are claimed again after their lease.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}

fn client(policy: TargetPolicy, settings: &OutboxSettings) -> anyhow::Result<reqwest::Client> {
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt.previous().first().is_some_and(|first| {
            first.scheme() == attempt.url().scheme()
                && first.host_str() == attempt.url().host_str()
                && first.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("altdist-webhooks/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .redirect(redirects)
        // A proxy from the environment would connect where the resolver cannot check.
        .no_proxy()
        .dns_resolver(Arc::new(Resolver(policy)))
        .pool_max_idle_per_host(settings.concurrency);
    if !policy.private {
        builder = builder.https_only(true);
    }
    Ok(builder.build()?)
}

async fn run(
    db: Db,
    http: reqwest::Client,
    policy: TargetPolicy,
    settings: OutboxSettings,
    mut stopped: watch::Receiver<bool>,
) {
    let settings = Arc::new(settings);
    let lease_ms = i64::try_from(settings.lease.as_millis()).unwrap_or(i64::MAX);
    let poll_ms = i64::try_from(settings.poll.as_millis()).unwrap_or(1000);
    let permits = Arc::new(Semaphore::new(settings.concurrency));
    let (outcomes, finished) = mpsc::unbounded_channel::<Outcome>();
    let recorder = tokio::spawn(record(db.clone(), finished));
    let mut wakeups = Wakeups::new(&db);
    while !*stopped.borrow() {
        wakeups.seen().await;
        let free = permits.available_permits().min(BATCH);
        if free > 0 {
            let limit = i64::try_from(free).unwrap_or(1);
            match webhooks::claim(&db, now_ms(), lease_ms, limit).await {
                Ok(batch) => {
                    let full = batch.len() == free;
                    for claimed in batch {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                            break;
                        };
                        let (http, outcomes, settings) =
                            (http.clone(), outcomes.clone(), Arc::clone(&settings));
                        tokio::spawn(async move {
                            let outcome = deliver(&http, policy, &settings, claimed).await;
                            let _ = outcomes.send(outcome);
                            drop(permit);
                        });
                    }
                    if full {
                        continue;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot claim webhook deliveries; trying again");
                }
            }
        }
        let wait = if free == 0 {
            settings.poll
        } else {
            match webhooks::next_claimable(&db).await {
                Ok(Some(at)) => Duration::from_millis(
                    u64::try_from((at - now_ms()).clamp(0, poll_ms)).unwrap_or(0),
                ),
                Ok(None) | Err(_) => settings.poll,
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            () = wakeups.next() => {}
            () = tokio::time::sleep(wait) => {}
            _ = permits.acquire(), if free == 0 => {}
            changed = stopped.changed() => {
                // The `Outbox` was dropped without `stop`: nobody can stop this loop any more.
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    // Let the deliveries in flight be answered and recorded.
    let all = u32::try_from(settings.concurrency).unwrap_or(u32::MAX);
    drop(permits.acquire_many(all).await);
    drop(outcomes);
    let _ = recorder.await;
}

/// Records outcomes as they come, many per transaction when many come at once.
async fn record(db: Db, mut finished: mpsc::UnboundedReceiver<Outcome>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while finished.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        for attempt in 1_u64..=5 {
            match webhooks::finish(&db, &batch).await {
                Ok(()) => break,
                Err(err) => {
                    // Unrecorded, the deliveries stay claimed and are sent again after their
                    // lease: at least once, never lost.
                    tracing::warn!(error = %err, attempt, "cannot record webhook deliveries");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
            }
        }
        batch.clear();
    }
}

/// One attempt at `claimed`.
async fn deliver(
    http: &reqwest::Client,
    policy: TargetPolicy,
    settings: &OutboxSettings,
    claimed: Claimed,
) -> Outcome {
    let mut outcome = Outcome {
        id: claimed.id,
        webhook_id: claimed.webhook_id,
        event_id: claimed.event_id,
        attempt: claimed.attempt,
        succeeded: false,
        sent_at: db::now(),
        request_url: claimed.url.clone(),
        http_status: None,
        response_body: None,
        response_ms: None,
        error_message: None,
        retry_at: None,
    };
    let (Some(url), Some(secret), Some(payload)) = (claimed.url, claimed.secret, claimed.payload)
    else {
        outcome.error_message = Some("the webhook was deleted".to_owned());
        return outcome;
    };
    let started = Instant::now();
    match post(http, policy, settings, &url, &secret, payload).await {
        Ok((status, body)) => {
            outcome.http_status = Some(i32::from(status));
            outcome.response_body = Some(body);
            outcome.succeeded = (200..300).contains(&status);
            if !outcome.succeeded {
                outcome.error_message = Some(if (300..400).contains(&status) {
                    format!(
                        "the receiver answered {status}, a redirect to another host, which webhooks do not follow"
                    )
                } else {
                    format!("the receiver answered {status}; a 2xx acknowledges a delivery")
                });
            }
        }
        Err(err) => outcome.error_message = Some(err),
    }
    outcome.response_ms = Some(i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX));
    if !outcome.succeeded && outcome.attempt < settings.max_attempts {
        let delay = i64::try_from(settings.retry_delay(outcome.attempt).as_millis()).unwrap_or(0);
        outcome.retry_at = Some(now_ms().saturating_add(delay));
    }
    tracing::debug!(delivery = %outcome.id, webhook = %outcome.webhook_id, status = ?outcome.http_status, succeeded = outcome.succeeded, "webhook delivery");
    outcome
}

/// Posts `payload` signed with `secret`: the status and the start of the body answered.
async fn post(
    http: &reqwest::Client,
    policy: TargetPolicy,
    settings: &OutboxSettings,
    url: &str,
    secret: &str,
    payload: String,
) -> Result<(u16, String), String> {
    policy.check_literal(url)?;
    let signature = altdist::webhook::signature(secret.as_bytes(), payload.as_bytes());
    let mut response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(altdist::webhook::SIGNATURE_HEADER, signature)
        .body(payload)
        .send()
        .await
        .map_err(|err| describe(&err, settings))?;
    let status = response.status().as_u16();
    let mut body: Vec<u8> = Vec::new();
    // The status is the answer; a body that is slow, broken or too long only shortens what the
    // deliveries API shows.
    while body.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(STORED_RESPONSE_BYTES);
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// What went wrong with a request, for the deliveries API: the cause, not only "error sending
/// request".
fn describe(err: &reqwest::Error, settings: &OutboxSettings) -> String {
    if err.is_timeout() {
        return format!(
            "no answer within {} s",
            settings.request_timeout.as_secs_f32()
        );
    }
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_full_jitter() {
        let settings = OutboxSettings::default();
        for _ in 0..200 {
            assert!(settings.retry_delay(1) <= Duration::from_secs(5));
            assert!(settings.retry_delay(3) <= Duration::from_secs(20));
            assert!(settings.retry_delay(40) <= settings.retry_cap);
        }
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|_| settings.retry_delay(4)).collect();
        assert!(delays.len() > 1, "jittered: {delays:?}");
    }

    #[test]
    fn the_first_retry_comes_within_ten_seconds_of_a_failure() {
        let settings = OutboxSettings::default();
        // The retry is due at most `retry_delay(1)` after the failure, and the worker, which
        // sleeps at most `poll` at a time, picks it up by then plus `poll`.
        assert!(
            settings.retry_base + settings.poll <= FIRST_RETRY_WITHIN,
            "{settings:?}"
        );
        for _ in 0..1000 {
            let delay = settings.retry_delay(1);
            assert!(delay <= settings.retry_base, "{delay:?}");
            assert!(delay + settings.poll <= FIRST_RETRY_WITHIN, "{delay:?}");
        }
    }
}
