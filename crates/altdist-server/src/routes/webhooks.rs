//! `/v1/webhooks`, `/v1/apps/{id}/webhooks`, deliveries, redeliveries and pings: see Apple's
//! [Webhook notifications](https://developer.apple.com/documentation/appstoreconnectapi/webhook-notifications).
//!
//! Apple has no account-wide list of webhooks: they are listed per app. The secret is write-only:
//! no response carries it. Delivery itself is `crate::webhooks`.

use altdist::resource::{
    App, AppId, AppType, CollectionDocument, DeliveryRequest, DeliveryResponse, DeliveryState,
    DocumentLinks, IncludedCollection, IncludedDocument, LinksOnly, OptionalLinkage,
    RelationshipLinks, ResourceIdentifier, ResourceLinks, Webhook, WebhookAttributes,
    WebhookCreateRequest, WebhookDelivery, WebhookDeliveryAttributes, WebhookDeliveryCreateRequest,
    WebhookDeliveryRelationships, WebhookDeliveryType, WebhookEvent, WebhookEventAttributes,
    WebhookEventResourceType, WebhookEventType, WebhookPing, WebhookPingCreateRequest,
    WebhookPingType, WebhookRelationships, WebhookType, WebhookUpdateRequest,
};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{apps, created};
use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::db::webhooks::{
    DeliveryFilter, DeliveryRow, EventRow, NewWebhook, WebhookChanges, WebhookRow,
};
use crate::error::ApiError;
use crate::extract::{IdPath, JsonBody};
use crate::jsonapi::{self, Param, Params};
use crate::webhooks::events;

const FIELDS: Param = Param::one_of(
    "fields[webhooks]",
    &["enabled", "eventTypes", "name", "url", "app", "deliveries"],
);
const INCLUDE_APP: Param = Param::one_of("include", &["app"]);
/// `fields[apps]` of `GET /v1/apps/{id}/webhooks`: Apple's whole list; fields altdist does not
/// keep are simply never shown.
const APP_FIELDS: Param = Param::one_of(
    "fields[apps]",
    &[
        "accessibilityUrl",
        "name",
        "bundleId",
        "sku",
        "primaryLocale",
        "isOrEverWasMadeForKids",
        "subscriptionStatusUrl",
        "subscriptionStatusUrlVersion",
        "subscriptionStatusUrlForSandbox",
        "subscriptionStatusUrlVersionForSandbox",
        "contentRightsDeclaration",
        "streamlinedPurchasingEnabled",
        "accessibilityDeclarations",
        "appEncryptionDeclarations",
        "appStoreIcon",
        "ciProduct",
        "betaTesters",
        "betaGroups",
        "appStoreVersions",
        "appTags",
        "preReleaseVersions",
        "betaAppLocalizations",
        "builds",
        "betaLicenseAgreement",
        "betaAppReviewDetail",
        "appInfos",
        "appClips",
        "appPricePoints",
        "endUserLicenseAgreement",
        "appPriceSchedule",
        "appAvailabilityV2",
        "inAppPurchases",
        "subscriptionGroups",
        "gameCenterEnabledVersions",
        "perfPowerMetrics",
        "appCustomProductPages",
        "inAppPurchasesV2",
        "promotedPurchases",
        "appEvents",
        "reviewSubmissions",
        "subscriptionGracePeriod",
        "customerReviews",
        "customerReviewSummarizations",
        "gameCenterDetail",
        "appStoreVersionExperimentsV2",
        "alternativeDistributionKey",
        "analyticsReportRequests",
        "marketplaceSearchDetail",
        "buildUploads",
        "backgroundAssets",
        "betaFeedbackScreenshotSubmissions",
        "betaFeedbackCrashSubmissions",
        "searchKeywords",
        "webhooks",
        "androidToIosAppMappingDetails",
    ],
);
const DELIVERY_FIELDS: Param = Param::one_of(
    "fields[webhookDeliveries]",
    &[
        "createdDate",
        "deliveryState",
        "errorMessage",
        "redelivery",
        "sentDate",
        "request",
        "response",
        "event",
    ],
);
const EVENT_FIELDS: Param = Param::one_of(
    "fields[webhookEvents]",
    &["eventType", "payload", "ping", "createdDate"],
);
const CREATED_FROM: &str = "filter[createdDateGreaterThanOrEqualTo]";
const CREATED_BEFORE: &str = "filter[createdDateLessThan]";

/// What `GET /v1/webhooks/{id}` takes.
pub const FIND_PARAMS: &[Param] = &[FIELDS, INCLUDE_APP];
/// What `GET /v1/apps/{id}/webhooks` takes.
pub const APP_WEBHOOKS_PARAMS: &[Param] =
    &[FIELDS, APP_FIELDS, Param::LIMIT, INCLUDE_APP, Param::CURSOR];
/// What the linkage lists (`.../relationships/...`) take.
pub const LINKAGE_PARAMS: &[Param] = &[Param::LIMIT, Param::CURSOR];
/// What `GET /v1/webhooks/{id}/deliveries` takes.
pub const DELIVERIES_PARAMS: &[Param] = &[
    Param::one_of("filter[deliveryState]", &["SUCCEEDED", "FAILED", "PENDING"]),
    Param::list(CREATED_FROM),
    Param::list(CREATED_BEFORE),
    DELIVERY_FIELDS,
    EVENT_FIELDS,
    Param::LIMIT,
    Param::one_of("include", &["event"]),
    Param::CURSOR,
];

/// The most bytes a webhook's URL may have.
const MAX_URL: usize = 2048;
/// The most bytes a secret may have.
const MAX_SECRET: usize = 1024;

/// The path of the webhook `id`.
pub fn path(id: &str) -> String {
    format!("/v1/webhooks/{id}")
}

/// A stored webhook as a resource, with the members `fields` asks for. Never the secret.
pub fn resource(state: &AppState, row: WebhookRow, fields: Option<&[String]>) -> Webhook {
    let wants = |field| jsonapi::wants(fields, field);
    let self_path = path(&row.id);
    let attributes = WebhookAttributes {
        enabled: wants("enabled").then_some(row.enabled),
        event_types: wants("eventTypes").then(|| row.event_types()),
        name: wants("name").then(|| row.name.clone()),
        url: wants("url").then(|| row.url.clone()),
    };
    let any_attribute = attributes.enabled.is_some()
        || attributes.event_types.is_some()
        || attributes.name.is_some()
        || attributes.url.is_some();
    let relationships = WebhookRelationships {
        app: wants("app").then(|| OptionalLinkage {
            data: Some(ResourceIdentifier {
                kind: AppType::Value,
                id: AppId(row.app_id.clone()),
            }),
        }),
        deliveries: wants("deliveries").then(|| LinksOnly {
            links: Some(RelationshipLinks {
                self_link: Some(state.url(&format!("{self_path}/relationships/deliveries"))),
                related: Some(state.url(&format!("{self_path}/deliveries"))),
            }),
        }),
    };
    let any_relationship = relationships.app.is_some() || relationships.deliveries.is_some();
    Webhook {
        kind: WebhookType::Value,
        id: row.id,
        attributes: any_attribute.then_some(attributes),
        relationships: any_relationship.then_some(relationships),
        links: Some(ResourceLinks {
            self_link: Some(state.url(&self_path)),
        }),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "there is no webhook with id '{id}' in your account; list an app's webhooks with GET /v1/apps/{{id}}/webhooks"
    ))
}

async fn find_own(state: &AppState, caller: &Caller, id: &str) -> Result<WebhookRow, ApiError> {
    db::webhooks::find(&state.db, &caller.account, id)
        .await?
        .ok_or_else(|| not_found(id))
}

async fn included_app(
    state: &AppState,
    caller: &Caller,
    app: &str,
    fields: Option<&[String]>,
) -> Result<Vec<App>, ApiError> {
    Ok(db::apps::find(&state.db, &caller.account, app)
        .await?
        .map(|row| apps::resource(state, row, fields))
        .into_iter()
        .collect())
}

fn invalid(pointer: &str, detail: String) -> ApiError {
    ApiError::invalid_attribute(pointer, detail)
}

async fn check_url(state: &AppState, url: &str) -> Result<(), ApiError> {
    const POINTER: &str = "/data/attributes/url";
    check_no_nul(POINTER, url)?;
    if url.len() > MAX_URL {
        return Err(invalid(
            POINTER,
            format!(
                "the url is {} bytes long; give at most {MAX_URL}",
                url.len()
            ),
        ));
    }
    state
        .webhook_targets
        .check_url(url)
        .await
        .map(drop)
        .map_err(|detail| invalid(POINTER, detail))
}

/// PostgreSQL's text cannot hold NUL: refused on both backends alike, before it reaches one.
fn check_no_nul(pointer: &str, value: &str) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(invalid(
            pointer,
            format!("{pointer} contains a NUL character (U+0000); remove it"),
        ));
    }
    Ok(())
}

fn check_secret(secret: &str) -> Result<(), ApiError> {
    const POINTER: &str = "/data/attributes/secret";
    check_no_nul(POINTER, secret)?;
    if secret.is_empty() {
        return Err(invalid(
            POINTER,
            "the secret is empty; give the key your receiver checks x-apple-signature with"
                .to_owned(),
        ));
    }
    if secret.len() > MAX_SECRET {
        return Err(invalid(
            POINTER,
            format!(
                "the secret is {} bytes long; give at most {MAX_SECRET}",
                secret.len()
            ),
        ));
    }
    Ok(())
}

fn check_event_types(types: &[WebhookEventType]) -> Result<(), ApiError> {
    if types.is_empty() {
        return Err(invalid(
            "/data/attributes/eventTypes",
            format!(
                "eventTypes is empty; give at least one of {}",
                WebhookEventType::ALL
                    .map(WebhookEventType::as_str)
                    .join(", ")
            ),
        ));
    }
    Ok(())
}

fn relationship_error(name: &str, detail: String) -> ApiError {
    ApiError::Conflict {
        code: "ENTITY_ERROR.RELATIONSHIP.INVALID",
        detail,
        pointer: Some(format!("/data/relationships/{name}")),
    }
}

/// `POST /v1/webhooks`
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("creating a webhook")?;
    let request: WebhookCreateRequest = jsonapi::create_document(body, WebhookType::NAME)?;
    let attributes = &request.data.attributes;
    let app = &request.data.relationships.app.data.id;
    if !AppId::is_well_formed(app.as_str()) {
        return Err(relationship_error(
            "app",
            format!("the app id '{app}' is not an Apple id (digits, like 6476788026)"),
        ));
    }
    if db::apps::find(&state.db, &caller.account, app.as_str())
        .await?
        .is_none()
    {
        return Err(relationship_error(
            "app",
            format!("there is no app {app} in your account; list your apps with GET /v1/apps"),
        ));
    }
    check_event_types(&attributes.event_types)?;
    check_no_nul("/data/attributes/name", &attributes.name)?;
    check_secret(&attributes.secret)?;
    check_url(&state, &attributes.url).await?;
    let id = uuid::Uuid::new_v4().to_string();
    db::webhooks::insert(
        &state.db,
        &NewWebhook {
            id: &id,
            account: &caller.account,
            app,
            name: &attributes.name,
            url: &attributes.url,
            secret: &attributes.secret,
            enabled: attributes.enabled,
            event_types: &attributes.event_types,
        },
    )
    .await?;
    tracing::info!(webhook = %id, app = %app, "created a webhook");
    let row = find_own(&state, &caller, &id).await?;
    let location = state.url(&path(&id));
    Ok(created(
        &location,
        IncludedDocument::<Webhook, App> {
            data: resource(&state, row, None),
            included: None,
            links: DocumentLinks {
                self_link: location.clone(),
            },
        },
    ))
}

/// `GET /v1/webhooks/{id}`
pub async fn find_webhook(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<IncludedDocument<Webhook, App>>, ApiError> {
    let params = Params::parse(&uri, FIND_PARAMS)?;
    let fields = params.list(FIELDS.name);
    let row = find_own(&state, &caller, &id).await?;
    let included = match params.get(INCLUDE_APP.name) {
        Some(_) => Some(included_app(&state, &caller, &row.app_id, None).await?),
        None => None,
    };
    Ok(Json(IncludedDocument {
        data: resource(&state, row, fields.as_deref()),
        included,
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

/// `PATCH /v1/webhooks/{id}`
pub async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Json<IncludedDocument<Webhook, App>>, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("changing a webhook")?;
    let request: WebhookUpdateRequest = jsonapi::update_document(body, WebhookType::NAME, &id)?;
    let attributes = request.data.attributes.unwrap_or_default();
    // Whether it exists first: a stranger's id is a 404 before anything about the body.
    find_own(&state, &caller, &id).await?;
    if let Some(types) = &attributes.event_types {
        check_event_types(types)?;
    }
    if let Some(name) = &attributes.name {
        check_no_nul("/data/attributes/name", name)?;
    }
    if let Some(secret) = &attributes.secret {
        check_secret(secret)?;
    }
    if let Some(url) = &attributes.url {
        check_url(&state, url).await?;
    }
    let changes = WebhookChanges {
        name: attributes.name.as_deref(),
        url: attributes.url.as_deref(),
        secret: attributes.secret.as_deref(),
        enabled: attributes.enabled,
        event_types: attributes.event_types.as_deref(),
    };
    if !db::webhooks::update(&state.db, &caller.account, &id, &changes).await? {
        return Err(not_found(&id));
    }
    tracing::info!(webhook = %id, "changed a webhook");
    let row = find_own(&state, &caller, &id).await?;
    Ok(Json(IncludedDocument {
        data: resource(&state, row, None),
        included: None,
        links: DocumentLinks {
            self_link: state.url(uri.path()),
        },
    }))
}

/// `DELETE /v1/webhooks/{id}`
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("deleting a webhook")?;
    if db::webhooks::delete(&state.db, &caller.account, &id).await? {
        tracing::info!(webhook = %id, "deleted a webhook");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

async fn own_app(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    match db::apps::find(&state.db, &caller.account, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!(
            "there is no app with id '{id}' in your account"
        ))),
    }
}

/// `GET /v1/apps/{id}/webhooks`
pub async fn list_app_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(app): IdPath,
    uri: Uri,
) -> Result<Json<IncludedCollection<Webhook, App>>, ApiError> {
    let params = Params::parse(&uri, APP_WEBHOOKS_PARAMS)?;
    let page = params.page_after()?;
    let fields = params.list(FIELDS.name);
    own_app(&state, &caller, &app).await?;
    let total = db::webhooks::count_for_app(&state.db, &caller.account, &app).await?;
    let (rows, next) = db::split_page(
        db::webhooks::list_for_app(&state.db, &caller.account, &app, page).await?,
        page,
    );
    let included = match params.get(INCLUDE_APP.name) {
        Some(_) if !rows.is_empty() => {
            let app_fields = params.list(APP_FIELDS.name);
            Some(included_app(&state, &caller, &app, app_fields.as_deref()).await?)
        }
        Some(_) => Some(Vec::new()),
        None => None,
    };
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(IncludedCollection {
        data: rows
            .into_iter()
            .map(|row| resource(&state, row, fields.as_deref()))
            .collect(),
        included,
        links,
        meta: Some(meta),
    }))
}

/// `GET /v1/apps/{id}/relationships/webhooks`
pub async fn list_app_webhook_linkages(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(app): IdPath,
    uri: Uri,
) -> Result<Json<CollectionDocument<ResourceIdentifier<WebhookType, String>>>, ApiError> {
    let params = Params::parse(&uri, LINKAGE_PARAMS)?;
    let page = params.page_after()?;
    own_app(&state, &caller, &app).await?;
    let total = db::webhooks::count_for_app(&state.db, &caller.account, &app).await?;
    let (rows, next) = db::split_page(
        db::webhooks::list_for_app(&state.db, &caller.account, &app, page).await?,
        page,
    );
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(CollectionDocument {
        data: rows
            .into_iter()
            .map(|row| ResourceIdentifier {
                kind: WebhookType::Value,
                id: row.id,
            })
            .collect(),
        links,
        meta: Some(meta),
    }))
}

/// A stored delivery as a resource, with the members `fields` asks for.
pub fn delivery_resource(row: DeliveryRow, fields: Option<&[String]>) -> WebhookDelivery {
    let wants = |field| jsonapi::wants(fields, field);
    let response =
        (row.http_status.is_some() || row.response_body.is_some()).then(|| DeliveryResponse {
            http_status_code: row.http_status,
            body: row.response_body.clone(),
        });
    let attributes = WebhookDeliveryAttributes {
        created_date: wants("createdDate").then(|| row.created_at.clone()),
        delivery_state: wants("deliveryState")
            .then(|| DeliveryState::parse(&row.state))
            .flatten(),
        error_message: wants("errorMessage")
            .then(|| row.error_message.clone())
            .flatten(),
        redelivery: wants("redelivery").then_some(row.redelivery),
        sent_date: wants("sentDate").then(|| row.sent_at.clone()).flatten(),
        request: wants("request")
            .then(|| {
                row.request_url
                    .clone()
                    .map(|url| DeliveryRequest { url: Some(url) })
            })
            .flatten(),
        response: wants("response").then_some(response).flatten(),
    };
    let any = attributes
        != WebhookDeliveryAttributes {
            created_date: None,
            delivery_state: None,
            error_message: None,
            redelivery: None,
            sent_date: None,
            request: None,
            response: None,
        };
    WebhookDelivery {
        kind: WebhookDeliveryType::Value,
        id: row.id,
        attributes: any.then_some(attributes),
        relationships: wants("event").then_some(WebhookDeliveryRelationships {
            event: Some(OptionalLinkage {
                data: Some(ResourceIdentifier {
                    kind: WebhookEventResourceType::Value,
                    id: row.event_id,
                }),
            }),
        }),
        links: None,
    }
}

fn event_resource(row: EventRow, fields: Option<&[String]>) -> WebhookEvent {
    let wants = |field| jsonapi::wants(fields, field);
    let attributes = WebhookEventAttributes {
        event_type: wants("eventType")
            .then(|| row.event_type.as_deref().and_then(WebhookEventType::parse))
            .flatten(),
        payload: wants("payload").then_some(row.payload),
        ping: wants("ping").then_some(row.ping),
        created_date: wants("createdDate").then_some(row.created_at),
    };
    let any = attributes.event_type.is_some()
        || attributes.payload.is_some()
        || attributes.ping.is_some()
        || attributes.created_date.is_some();
    WebhookEvent {
        kind: WebhookEventResourceType::Value,
        id: row.id,
        attributes: any.then_some(attributes),
        links: None,
    }
}

/// A date filter's values (RFC 3339 date-times) as Unix milliseconds.
fn date_filter(params: &Params, name: &str) -> Result<Vec<i64>, ApiError> {
    let values = params.list(name).unwrap_or_default();
    values
        .iter()
        .map(|value| {
            let parsed =
                time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| {
                        ApiError::invalid_parameter(
                            name,
                            format!(
                                "'{name}' has '{value}', not an RFC 3339 date-time like 2026-12-03T06:00:00Z"
                            ),
                        )
                    })?;
            Ok(i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
        })
        .collect()
}

fn delivery_filter(params: &Params) -> Result<DeliveryFilter, ApiError> {
    // Several bounds of a kind hold together: the latest lower one and the earliest upper one.
    Ok(DeliveryFilter {
        states: params.list("filter[deliveryState]").unwrap_or_default(),
        created_from_ms: date_filter(params, CREATED_FROM)?.into_iter().max(),
        created_before_ms: date_filter(params, CREATED_BEFORE)?.into_iter().min(),
    })
}

/// `GET /v1/webhooks/{id}/deliveries`: every attempt, oldest first.
pub async fn list_webhook_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<IncludedCollection<WebhookDelivery, WebhookEvent>>, ApiError> {
    let params = Params::parse(&uri, DELIVERIES_PARAMS)?;
    let page = params.page_after()?;
    let filter = delivery_filter(&params)?;
    let fields = params.list(DELIVERY_FIELDS.name);
    let webhook = find_own(&state, &caller, &id).await?;
    let total = db::webhooks::count_deliveries(&state.db, &webhook.id, &filter).await?;
    let (rows, next) = db::split_page(
        db::webhooks::list_deliveries(&state.db, &webhook.id, &filter, page).await?,
        page,
    );
    let included = match params.get("include") {
        Some(_) => {
            let mut ids: Vec<String> = rows.iter().map(|row| row.event_id.clone()).collect();
            ids.sort();
            ids.dedup();
            let event_fields = params.list(EVENT_FIELDS.name);
            Some(
                db::webhooks::events(&state.db, &ids)
                    .await?
                    .into_iter()
                    .map(|row| event_resource(row, event_fields.as_deref()))
                    .collect(),
            )
        }
        None => None,
    };
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(IncludedCollection {
        data: rows
            .into_iter()
            .map(|row| delivery_resource(row, fields.as_deref()))
            .collect(),
        included,
        links,
        meta: Some(meta),
    }))
}

/// `GET /v1/webhooks/{id}/relationships/deliveries`
pub async fn list_webhook_delivery_linkages(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<CollectionDocument<ResourceIdentifier<WebhookDeliveryType, String>>>, ApiError> {
    let params = Params::parse(&uri, LINKAGE_PARAMS)?;
    let page = params.page_after()?;
    let webhook = find_own(&state, &caller, &id).await?;
    let filter = DeliveryFilter::default();
    let total = db::webhooks::count_deliveries(&state.db, &webhook.id, &filter).await?;
    let (rows, next) = db::split_page(
        db::webhooks::list_deliveries(&state.db, &webhook.id, &filter, page).await?,
        page,
    );
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(CollectionDocument {
        data: rows
            .into_iter()
            .map(|row| ResourceIdentifier {
                kind: WebhookDeliveryType::Value,
                id: row.id,
            })
            .collect(),
        links,
        meta: Some(meta),
    }))
}

/// `POST /v1/webhookDeliveries`: delivers the event of `template` again, to its webhook.
pub async fn create_webhook_delivery(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("redelivering a webhook event")?;
    let request: WebhookDeliveryCreateRequest =
        jsonapi::relationship_document(body, WebhookDeliveryType::NAME)?;
    let template_id = &request.data.relationships.template.data.id;
    let template = db::webhooks::find_delivery(&state.db, &caller.account, template_id)
        .await?
        .ok_or_else(|| {
            relationship_error(
                "template",
                format!(
                    "there is no webhook delivery '{template_id}' in your account; list a webhook's deliveries with GET /v1/webhooks/{{id}}/deliveries"
                ),
            )
        })?;
    let delivery = db::webhooks::redeliver(&state.db, &template).await?;
    tracing::info!(delivery = %delivery.id, webhook = %delivery.webhook_id, "queued a redelivery");
    Ok((
        StatusCode::CREATED,
        Json(IncludedDocument::<WebhookDelivery, WebhookEvent> {
            data: delivery_resource(delivery, None),
            included: None,
            links: DocumentLinks {
                self_link: state.url(uri.path()),
            },
        }),
    )
        .into_response())
}

/// `POST /v1/webhookPings`: sends the webhook a `webhookPingCreated` event, enabled or not.
pub async fn create_webhook_ping(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("pinging a webhook")?;
    let request: WebhookPingCreateRequest =
        jsonapi::relationship_document(body, WebhookPingType::NAME)?;
    let webhook_id = &request.data.relationships.webhook.data.id;
    let webhook = db::webhooks::find(&state.db, &caller.account, webhook_id)
        .await?
        .ok_or_else(|| {
            relationship_error(
                "webhook",
                format!(
                    "there is no webhook '{webhook_id}' in your account; list an app's webhooks with GET /v1/apps/{{id}}/webhooks"
                ),
            )
        })?;
    let event = events::ping(&caller.account, &AppId(webhook.app_id.clone()));
    db::webhooks::enqueue_ping(&state.db, &event, &webhook.id).await?;
    tracing::info!(webhook = %webhook.id, ping = %event.id, "queued a ping");
    Ok((
        StatusCode::CREATED,
        Json(altdist::resource::Document {
            data: WebhookPing {
                kind: WebhookPingType::Value,
                id: event.id,
                links: None,
            },
            links: DocumentLinks {
                self_link: state.url(uri.path()),
            },
        }),
    )
        .into_response())
}
