//! `webhooks`, `webhook_events` and `webhook_deliveries`: Apple's webhooks and the durable outbox
//! that delivers their events.
//!
//! # The outbox
//!
//! An event is stored in the same transaction as the change that causes it, so that a change is
//! never committed without its event nor an event without its change: [`enqueue_in`] takes the
//! transaction's connection, on either backend. The event fans out at once into one `PENDING`
//! delivery per enabled webhook of its app that subscribes to its type. A worker
//! (`crate::webhooks::Outbox`) [`claim`]s due deliveries under a lease, posts them, and
//! [`finish`]es each with what happened; a failed attempt schedules the next one as a new
//! delivery row, so every attempt shows in the deliveries API. A worker that dies mid-delivery
//! leaves its claims to expire: they are claimed again, so delivery is at least once.
//!
//! ```ignore
//! // Inside a table module, in the transaction that creates a package version:
//! let event = crate::webhooks::events::package_version_created(&public_url, &account, &app, &version_id);
//! on_pool_writing!(db, |pool| {
//!     async {
//!         let mut transaction = pool.begin().await?;
//!         sqlx::query("INSERT INTO ...").execute(&mut *transaction).await?;
//!         super::webhooks::enqueue_in(&mut *transaction, &event).await?;
//!         transaction.commit().await
//!     }
//!     .await
//! })
//! ```

use std::future::Future;
use std::sync::LazyLock;

use altdist::resource::{AppId, IssuerId, WebhookEventType};
use sqlx::{Connection as _, QueryBuilder};
use tokio::sync::watch;

use super::{Db, Listed, PageAfter, Result};

/// The channel the PostgreSQL outbox is notified on, when a delivery becomes due.
pub const PG_CHANNEL: &str = "altdist_webhooks";

/// Wakes the SQLite outbox workers of this process when a delivery becomes due: a counter each
/// new delivery bumps, which a worker's receiver sees as changed however late it looks. A SQLite
/// database is served by one process ([`super::SqliteDb::lock_for_serving`]), so in-process is
/// enough; servers sharing a process (tests) only wake each other for nothing.
static SQLITE_WAKE: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

fn wake_sqlite_workers() {
    SQLITE_WAKE.send_modify(|generation| *generation = generation.wrapping_add(1));
}

/// How an outbox worker learns that a delivery became due, besides its clock: on PostgreSQL a
/// `LISTEN` on [`PG_CHANNEL`] (any server's commit wakes every server), on SQLite this process's
/// signal.
#[derive(Debug)]
pub struct Wakeups {
    sqlite: Option<watch::Receiver<u64>>,
    postgres: Option<sqlx::postgres::PgPool>,
    listener: Option<sqlx::postgres::PgListener>,
    last_connect: Option<std::time::Instant>,
}

/// How often a lost `LISTEN` connection is tried again; the worker polls meanwhile.
const RELISTEN_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl Wakeups {
    /// The wake-ups of `db`.
    pub fn new(db: &Db) -> Self {
        match db {
            Db::Sqlite(_) => Self {
                sqlite: Some(SQLITE_WAKE.subscribe()),
                postgres: None,
                listener: None,
                last_connect: None,
            },
            Db::Postgres(postgres) => Self {
                sqlite: None,
                // A connection of its own, outside the server's pool: a listener holds its
                // connection for good, and one of the pool's would be missed by the statements
                // that count on having all of them (`super::lending`).
                postgres: Some(
                    sqlx::postgres::PgPoolOptions::new()
                        .max_connections(1)
                        .connect_lazy_with(postgres.pool().connect_options().as_ref().clone()),
                ),
                listener: None,
                last_connect: None,
            },
        }
    }

    /// Marks every signal so far as seen: call before looking for due deliveries, so that
    /// [`Self::next`] completes for any that comes after.
    pub async fn seen(&mut self) {
        if let Some(receiver) = &mut self.sqlite {
            receiver.borrow_and_update();
        }
        if self.listener.is_none()
            && let Some(pool) = &self.postgres
            && self
                .last_connect
                .is_none_or(|at| at.elapsed() >= RELISTEN_EVERY)
        {
            self.last_connect = Some(std::time::Instant::now());
            match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut listener) => match listener.listen(PG_CHANNEL).await {
                    Ok(()) => self.listener = Some(listener),
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot LISTEN for webhook deliveries; polling")
                    }
                },
                Err(err) => {
                    tracing::warn!(error = %err, "cannot LISTEN for webhook deliveries; polling")
                }
            }
        }
        // PostgreSQL queues notifications on the listening connection; those that arrived
        // before now are about deliveries the coming claim will see anyway.
        if let Some(listener) = &mut self.listener {
            // A timeout of zero polls once: it takes what has arrived and never waits.
            for _ in 0..10_000 {
                match tokio::time::timeout(std::time::Duration::ZERO, listener.try_recv()).await {
                    Ok(Ok(Some(_))) => {}
                    Ok(Ok(None) | Err(_)) | Err(_) => break,
                }
            }
        }
    }

    /// Completes at the next signal since [`Self::seen`]; never, when there is none to wait for.
    pub async fn next(&mut self) {
        if let Some(receiver) = &mut self.sqlite {
            if receiver.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            return;
        }
        match &mut self.listener {
            Some(listener) => {
                if let Err(err) = listener.recv().await {
                    tracing::warn!(error = %err, "lost the LISTEN connection for webhook deliveries");
                    self.listener = None;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}

/// A webhook as stored, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    /// Its id.
    pub id: String,
    /// Its app.
    pub app_id: String,
    /// Its name.
    pub name: String,
    /// Where events go.
    pub url: String,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Comma-separated `WebhookEventType` names.
    pub event_types: String,
}

impl WebhookRow {
    /// The event types it subscribes to.
    pub fn event_types(&self) -> Vec<WebhookEventType> {
        parse_event_types(&self.event_types)
    }
}

fn parse_event_types(stored: &str) -> Vec<WebhookEventType> {
    stored
        .split(',')
        .filter_map(WebhookEventType::parse)
        .collect()
}

/// The stored form of a list of event types.
pub fn store_event_types(types: &[WebhookEventType]) -> String {
    let mut names: Vec<&str> = types.iter().map(|kind| kind.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

const WEBHOOK_COLUMNS: &str = "id, app_id, name, url, enabled, event_types";

/// A webhook to store.
#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its account.
    pub account: &'a IssuerId,
    /// Its app, of that account.
    pub app: &'a AppId,
    /// Its name.
    pub name: &'a str,
    /// Where events go.
    pub url: &'a str,
    /// The HMAC key.
    pub secret: &'a str,
    /// Whether events are delivered.
    pub enabled: bool,
    /// What it subscribes to.
    pub event_types: &'a [WebhookEventType],
}

/// Stores a webhook.
pub async fn insert(db: &Db, webhook: &NewWebhook<'_>) -> Result<()> {
    on_pool_writing!(db, |pool| {
        sqlx::query(
        "INSERT INTO webhooks (id, account_id, app_id, name, url, secret, enabled, event_types, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(webhook.id)
    .bind(webhook.account.as_str())
    .bind(webhook.app.as_str())
    .bind(webhook.name)
    .bind(webhook.url)
    .bind(webhook.secret)
    .bind(webhook.enabled)
    .bind(store_event_types(webhook.event_types))
    .bind(super::now())
    .execute(pool)
    .await
    .map(drop)
    })
}

/// The account's webhook `id`.
pub async fn find(db: &Db, account: &IssuerId, id: &str) -> Result<Option<WebhookRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND account_id = $2");
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// A page of the app's webhooks, oldest first, one more than the limit when there is a next
/// page ([`super::split_page`]).
pub async fn list_for_app(
    db: &Db,
    account: &IssuerId,
    app: &str,
    page: PageAfter,
) -> Result<Vec<Listed<WebhookRow>>> {
    let sql = format!(
        "SELECT seq, {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 AND app_id = $2 AND seq > $3 ORDER BY seq LIMIT $4"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(account.as_str())
        .bind(app)
        .bind(page.after)
        .bind(page.limit.saturating_add(1))
        .fetch_all(pool)
        .await)
}

/// How many webhooks the app has.
pub async fn count_for_app(db: &Db, account: &IssuerId, app: &str) -> Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT count(*) FROM webhooks WHERE account_id = $1 AND app_id = $2"
    )
    .bind(account.as_str())
    .bind(app)
    .fetch_one(pool)
    .await)
}

/// What an update changes; `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges<'a> {
    /// A new name.
    pub name: Option<&'a str>,
    /// A new URL.
    pub url: Option<&'a str>,
    /// A new secret.
    pub secret: Option<&'a str>,
    /// Enabled or not.
    pub enabled: Option<bool>,
    /// New event types.
    pub event_types: Option<&'a [WebhookEventType]>,
}

/// Applies `changes` to the account's webhook `id`; `false` when there is none.
pub async fn update(
    db: &Db,
    account: &IssuerId,
    id: &str,
    changes: &WebhookChanges<'_>,
) -> Result<bool> {
    if !super::storable(id) {
        return Ok(false);
    }
    // COALESCE keeps what the request leaves out, in one statement on both backends.
    on_pool_writing!(db, |pool| sqlx::query(
        "UPDATE webhooks SET name = COALESCE($3, name), url = COALESCE($4, url), \
         secret = COALESCE($5, secret), enabled = COALESCE($6, enabled), \
         event_types = COALESCE($7, event_types) WHERE id = $1 AND account_id = $2"
    )
    .bind(id)
    .bind(account.as_str())
    .bind(changes.name)
    .bind(changes.url)
    .bind(changes.secret)
    .bind(changes.enabled)
    .bind(changes.event_types.map(store_event_types))
    .execute(pool)
    .await
    .map(|done| done.rows_affected() > 0))
}

/// Deletes the account's webhook `id` and its deliveries; `false` when there is none.
pub async fn delete(db: &Db, account: &IssuerId, id: &str) -> Result<bool> {
    if !super::storable(id) {
        return Ok(false);
    }
    on_pool_writing!(db, |pool| sqlx::query(
        "DELETE FROM webhooks WHERE id = $1 AND account_id = $2"
    )
    .bind(id)
    .bind(account.as_str())
    .execute(pool)
    .await
    .map(|done| done.rows_affected() > 0))
}

// ---- events and the outbox

/// An event to deliver: its payload is the exact body each webhook receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Its id, a UUID: `data.id` of the payload.
    pub id: String,
    /// The account of the app.
    pub account: IssuerId,
    /// The app whose webhooks receive it.
    pub app: AppId,
    /// Its type; `None` for a ping, which goes to one webhook ([`enqueue_ping`]).
    pub event_type: Option<WebhookEventType>,
    /// The body: Apple's payload JSON (`crate::webhooks::events` writes it).
    pub payload: String,
}

/// A connection an event can be stored on, inside the caller's transaction: SQLite's or
/// PostgreSQL's (a `Transaction` dereferences to one: `enqueue_in(&mut *transaction, ...)`).
pub trait OutboxConnection: Send {
    /// See [`enqueue_in`].
    fn enqueue_event<'a>(
        &'a mut self,
        event: &'a NewEvent,
        only_webhook: Option<&'a str>,
    ) -> impl Future<Output = sqlx::Result<usize>> + Send + 'a;
}

/// Stores `event` on `connection`, in the transaction of the change it reports.
///
/// Both commit, or neither. One `PENDING` delivery is queued for each enabled webhook of the
/// event's app that subscribes to its type; returns how many.
///
/// On SQLite, run the transaction in the write turn (`on_pool_writing!`), as every write:
/// the outbox's claim takes the turn too, so it sees the event once the transaction has
/// committed. On PostgreSQL the workers are woken by a `NOTIFY` that the commit sends.
pub async fn enqueue_in<C: OutboxConnection + ?Sized>(
    connection: &mut C,
    event: &NewEvent,
) -> sqlx::Result<usize> {
    connection.enqueue_event(event, None).await
}

/// Stores `event` (a ping) and one delivery of it to the webhook `webhook`, enabled or not.
pub async fn enqueue_ping(db: &Db, event: &NewEvent, webhook: &str) -> Result<usize> {
    on_pool_writing!(db, |pool| {
        async {
            let mut transaction = pool.begin().await?;
            let queued = transaction.enqueue_event(event, Some(webhook)).await?;
            transaction.commit().await?;
            Ok(queued)
        }
        .await
    })
}

/// Stores `event` in a transaction of its own ([`enqueue_in`]): for events no other change
/// goes with, and for benchmarks.
pub async fn enqueue(db: &Db, event: &NewEvent) -> Result<usize> {
    on_pool_writing!(db, |pool| {
        async {
            let mut transaction = pool.begin().await?;
            let queued = enqueue_in(&mut *transaction, event).await?;
            transaction.commit().await?;
            Ok(queued)
        }
        .await
    })
}

/// The current time in Unix milliseconds, the outbox's clock.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

macro_rules! outbox_connection {
    ($connection:ty, $wake:expr) => {
        impl OutboxConnection for $connection {
            fn enqueue_event<'a>(
                &'a mut self,
                event: &'a NewEvent,
                only_webhook: Option<&'a str>,
            ) -> impl Future<Output = sqlx::Result<usize>> + Send + 'a {
                async move {
                    let created_at = super::now();
                    sqlx::query(
                        "INSERT INTO webhook_events (id, account_id, app_id, event_type, ping, payload, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&event.id)
                    .bind(event.account.as_str())
                    .bind(event.app.as_str())
                    .bind(event.event_type.map(WebhookEventType::as_str))
                    .bind(event.event_type.is_none())
                    .bind(&event.payload)
                    .bind(&created_at)
                    .execute(&mut *self)
                    .await?;
                    let targets: Vec<String> = match only_webhook {
                        Some(webhook) => vec![webhook.to_owned()],
                        None => {
                            let candidates: Vec<(String, String)> = sqlx::query_as(
                                "SELECT id, event_types FROM webhooks WHERE account_id = $1 AND app_id = $2 AND enabled ORDER BY seq",
                            )
                            .bind(event.account.as_str())
                            .bind(event.app.as_str())
                            .fetch_all(&mut *self)
                            .await?;
                            candidates
                                .into_iter()
                                .filter(|(_, types)| {
                                    event
                                        .event_type
                                        .is_some_and(|kind| parse_event_types(types).contains(&kind))
                                })
                                .map(|(id, _)| id)
                                .collect()
                        }
                    };
                    let now = now_ms();
                    for webhook in &targets {
                        sqlx::query(INSERT_DELIVERY)
                            .bind(uuid::Uuid::new_v4().to_string())
                            .bind(webhook)
                            .bind(&event.id)
                            .bind(1_i32)
                            .bind(false)
                            .bind(now)
                            .bind(&created_at)
                            .execute(&mut *self)
                            .await?;
                    }
                    if !targets.is_empty() {
                        $wake(&mut *self).await?;
                    }
                    Ok(targets.len())
                }
            }
        }
    };
}

const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries \
     (id, webhook_id, event_id, attempt, redelivery, state, due_ms, created_ms, created_at) \
     VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $6, $7)";

async fn wake_sqlite(_connection: &mut sqlx::SqliteConnection) -> sqlx::Result<()> {
    // Before the commit: the worker's claim waits for this write turn, so it runs after it.
    wake_sqlite_workers();
    Ok(())
}

const PG_NOTIFY: &str = "SELECT pg_notify($1, '')";

async fn wake_postgres(connection: &mut sqlx::PgConnection) -> sqlx::Result<()> {
    // Delivered when (and only if) the transaction commits.
    sqlx::query(PG_NOTIFY)
        .bind(PG_CHANNEL)
        .execute(connection)
        .await
        .map(drop)
}

outbox_connection!(sqlx::SqliteConnection, wake_sqlite);
outbox_connection!(sqlx::PgConnection, wake_postgres);

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    /// Its id.
    pub id: String,
    /// Its type; `None` for a ping.
    pub event_type: Option<String>,
    /// Whether it is a ping.
    pub ping: bool,
    /// The body delivered.
    pub payload: String,
    /// When it was stored.
    pub created_at: String,
}

/// The events `ids`.
pub async fn events(db: &Db, ids: &[String]) -> Result<Vec<EventRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    on_pool!(db, |pool| {
        let mut builder = QueryBuilder::new(
            "SELECT id, event_type, ping, payload, created_at FROM webhook_events WHERE id IN (",
        );
        let mut list = builder.separated(", ");
        for id in ids {
            list.push_bind(id.as_str());
        }
        builder.push(") ORDER BY seq");
        builder.build_query_as().fetch_all(pool).await
    })
}

// ---- deliveries

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Its id.
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event.
    pub event_id: String,
    /// Whether a client asked for it.
    pub redelivery: bool,
    /// `PENDING`, `SUCCEEDED` or `FAILED`.
    pub state: String,
    /// When it was queued.
    pub created_at: String,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// Where it was sent.
    pub request_url: Option<String>,
    /// The status answered.
    pub http_status: Option<i32>,
    /// The start of the body answered.
    pub response_body: Option<String>,
    /// Why it failed.
    pub error_message: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, redelivery, state, created_at, sent_at, request_url, http_status, response_body, error_message";

/// Which deliveries of a webhook to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// `filter[deliveryState]`; empty for all.
    pub states: Vec<String>,
    /// `filter[createdDateGreaterThanOrEqualTo]`, Unix ms.
    pub created_from_ms: Option<i64>,
    /// `filter[createdDateLessThan]`, Unix ms.
    pub created_before_ms: Option<i64>,
}

fn push_delivery_filters<'a, DB>(
    builder: &mut QueryBuilder<'a, DB>,
    webhook: &'a str,
    filter: &'a DeliveryFilter,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    builder.push(" WHERE webhook_id = ").push_bind(webhook);
    if !filter.states.is_empty() {
        builder.push(" AND state IN (");
        let mut list = builder.separated(", ");
        for state in &filter.states {
            list.push_bind(state.as_str());
        }
        builder.push(")");
    }
    if let Some(from) = filter.created_from_ms {
        builder.push(" AND created_ms >= ").push_bind(from);
    }
    if let Some(before) = filter.created_before_ms {
        builder.push(" AND created_ms < ").push_bind(before);
    }
}

/// A page of the deliveries of `webhook` (whose account the caller checked), oldest first.
pub async fn list_deliveries(
    db: &Db,
    webhook: &str,
    filter: &DeliveryFilter,
    page: PageAfter,
) -> Result<Vec<Listed<DeliveryRow>>> {
    on_pool!(db, |pool| {
        let mut builder = QueryBuilder::new(format!(
            "SELECT seq, {DELIVERY_COLUMNS} FROM webhook_deliveries"
        ));
        push_delivery_filters(&mut builder, webhook, filter);
        builder
            .push(" AND seq > ")
            .push_bind(page.after)
            .push(" ORDER BY seq LIMIT ")
            .push_bind(page.limit.saturating_add(1));
        builder.build_query_as().fetch_all(pool).await
    })
}

/// How many deliveries of `webhook` match `filter`.
pub async fn count_deliveries(db: &Db, webhook: &str, filter: &DeliveryFilter) -> Result<i64> {
    on_pool!(db, |pool| {
        let mut builder = QueryBuilder::new("SELECT count(*) FROM webhook_deliveries");
        push_delivery_filters(&mut builder, webhook, filter);
        builder.build_query_scalar().fetch_one(pool).await
    })
}

/// The account's delivery `id`.
pub async fn find_delivery(db: &Db, account: &IssuerId, id: &str) -> Result<Option<DeliveryRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND webhook_id IN (SELECT id FROM webhooks WHERE account_id = $2)"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// Queues a new delivery of the event of `template` to its webhook, marked as a redelivery.
pub async fn redeliver(db: &Db, template: &DeliveryRow) -> Result<DeliveryRow> {
    let id = uuid::Uuid::new_v4().to_string();
    let created_at = super::now();
    let now = now_ms();
    let queued = match db {
        Db::Sqlite(_) => {
            let queued = on_pool_writing!(db, |pool| sqlx::query(INSERT_DELIVERY)
                .bind(&id)
                .bind(&template.webhook_id)
                .bind(&template.event_id)
                .bind(1_i32)
                .bind(true)
                .bind(now)
                .bind(&created_at)
                .execute(pool)
                .await
                .map(drop));
            wake_sqlite_workers();
            queued
        }
        Db::Postgres(_) => on_pool!(db, |pool| {
            async {
                let mut transaction = pool.begin().await?;
                sqlx::query(INSERT_DELIVERY)
                    .bind(&id)
                    .bind(&template.webhook_id)
                    .bind(&template.event_id)
                    .bind(1_i32)
                    .bind(true)
                    .bind(now)
                    .bind(&created_at)
                    .execute(&mut *transaction)
                    .await?;
                // Only run on PostgreSQL, but compiled for both backends by `on_pool!`.
                sqlx::query(PG_NOTIFY)
                    .bind(PG_CHANNEL)
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await
            }
            .await
        }),
    };
    queued?;
    Ok(DeliveryRow {
        id,
        webhook_id: template.webhook_id.clone(),
        event_id: template.event_id.clone(),
        redelivery: true,
        state: "PENDING".to_owned(),
        created_at,
        sent_at: None,
        request_url: None,
        http_status: None,
        response_body: None,
        error_message: None,
    })
}

/// A delivery a worker has claimed: what to send, where, signed with what.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    /// The delivery.
    pub id: String,
    /// Its webhook.
    pub webhook_id: String,
    /// Its event.
    pub event_id: String,
    /// Which attempt at the event this is (1 first).
    pub attempt: i32,
    /// The webhook's URL now.
    pub url: Option<String>,
    /// The webhook's secret now.
    pub secret: Option<String>,
    /// The body.
    pub payload: Option<String>,
}

/// Claims up to `limit` due deliveries until `now + lease_ms`.
///
/// Due, pending, and not claimed by a worker whose lease still runs. On PostgreSQL concurrent
/// claims skip each other's rows (`FOR UPDATE SKIP LOCKED`), so several servers share the work
/// without sending an event twice.
pub async fn claim(db: &Db, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Claimed>> {
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_ms = $2 WHERE seq IN (\
           SELECT seq FROM webhook_deliveries WHERE state = 'PENDING' AND due_ms <= $1 \
           AND (lease_ms IS NULL OR lease_ms <= $1) ORDER BY due_ms LIMIT $3{lock}) \
         RETURNING id, webhook_id, event_id, attempt, \
           (SELECT url FROM webhooks WHERE webhooks.id = webhook_deliveries.webhook_id) AS url, \
           (SELECT secret FROM webhooks WHERE webhooks.id = webhook_deliveries.webhook_id) AS secret, \
           (SELECT payload FROM webhook_events WHERE webhook_events.id = webhook_deliveries.event_id) AS payload"
    );
    on_pool_writing!(db, |pool| sqlx::query_as(&sql)
        .bind(now)
        .bind(now.saturating_add(lease_ms))
        .bind(limit)
        .fetch_all(pool)
        .await)
}

/// When the next delivery may be claimed (Unix ms): the earliest moment a pending delivery is
/// due and unclaimed; `None` when none is pending.
pub async fn next_claimable(db: &Db) -> Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT min(CASE WHEN lease_ms IS NOT NULL AND lease_ms > due_ms THEN lease_ms ELSE due_ms END) \
         FROM webhook_deliveries WHERE state = 'PENDING'"
    )
    .fetch_one(pool)
    .await
    })
}

/// Lets every claim go: for a SQLite database at start, whose previous server (the only one
/// that could have claimed) is gone.
pub async fn release_claims(db: &Db) -> Result<u64> {
    on_pool_writing!(db, |pool| {
        sqlx::query(
        "UPDATE webhook_deliveries SET lease_ms = NULL WHERE state = 'PENDING' AND lease_ms IS NOT NULL"
    )
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The delivery.
    pub id: String,
    /// Its webhook and event, for the retry.
    pub webhook_id: String,
    /// Its event.
    pub event_id: String,
    /// Which attempt it was.
    pub attempt: i32,
    /// Whether the receiver answered 2xx.
    pub succeeded: bool,
    /// When it was sent, RFC 3339.
    pub sent_at: String,
    /// Where.
    pub request_url: Option<String>,
    /// The status answered.
    pub http_status: Option<i32>,
    /// The start of the body answered.
    pub response_body: Option<String>,
    /// How long the answer took, ms.
    pub response_ms: Option<i32>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// When to try again (Unix ms), after a failure within the retry limit.
    pub retry_at: Option<i64>,
}

/// Records `outcomes` in one transaction, each with its retry when it has one.
///
/// A delivery that is no longer pending (another worker finished it after this one's lease ran
/// out) is left as it is, and gets no second retry.
pub async fn finish(db: &Db, outcomes: &[Outcome]) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let created_at = super::now();
    let now = now_ms();
    macro_rules! record {
        ($transaction:expr) => {{
            let mut retried = false;
            for outcome in outcomes {
                let done = sqlx::query(
                    "UPDATE webhook_deliveries SET state = $2, sent_at = $3, request_url = $4, \
                     http_status = $5, response_body = $6, response_ms = $7, error_message = $8, \
                     lease_ms = NULL WHERE id = $1 AND state = 'PENDING'",
                )
                .bind(&outcome.id)
                .bind(if outcome.succeeded { "SUCCEEDED" } else { "FAILED" })
                .bind(&outcome.sent_at)
                .bind(outcome.request_url.as_deref())
                .bind(outcome.http_status)
                .bind(outcome.response_body.as_deref())
                .bind(outcome.response_ms)
                .bind(outcome.error_message.as_deref())
                .execute(&mut *$transaction)
                .await?;
                if let Some(retry_at) = outcome.retry_at
                    && done.rows_affected() == 1
                {
                    // Selected from the webhook, so a webhook deleted meanwhile gets no retry.
                    sqlx::query(
                        "INSERT INTO webhook_deliveries \
                         (id, webhook_id, event_id, attempt, redelivery, state, due_ms, created_ms, created_at) \
                         SELECT $1, id, $3, $4, $5, 'PENDING', $6, $7, $8 FROM webhooks WHERE id = $2",
                    )
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(&outcome.webhook_id)
                    .bind(&outcome.event_id)
                    .bind(outcome.attempt.saturating_add(1))
                    .bind(false)
                    .bind(retry_at)
                    .bind(now)
                    .bind(&created_at)
                    .execute(&mut *$transaction)
                    .await?;
                    retried = true;
                }
            }
            retried
        }};
    }
    match db {
        Db::Sqlite(_) => {
            on_pool_writing!(db, |pool| {
                async {
                    let mut transaction = pool.begin().await?;
                    record!(transaction);
                    transaction.commit().await
                }
                .await
            })
        }
        Db::Postgres(_) => on_pool!(db, |pool| {
            async {
                let mut transaction = pool.begin().await?;
                if record!(transaction) {
                    // Only run on PostgreSQL, but compiled for both backends by `on_pool!`.
                    sqlx::query(PG_NOTIFY)
                        .bind(PG_CHANNEL)
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await
            }
            .await
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_stored_sorted_once() {
        let stored = store_event_types(&[
            WebhookEventType::BuildUploadStateUpdated,
            WebhookEventType::AlternativeDistributionPackageVersionCreated,
            WebhookEventType::BuildUploadStateUpdated,
        ]);
        assert_eq!(
            stored,
            "ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED,BUILD_UPLOAD_STATE_UPDATED"
        );
        assert_eq!(parse_event_types(&stored).len(), 2);
        assert!(parse_event_types("").is_empty());
    }
}
