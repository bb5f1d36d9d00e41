//! `/v1/alternativeDistributionKeys`: see Apple's
//! [Alternative distribution keys](https://developer.apple.com/documentation/appstoreconnectapi/alternative-distribution-keys).

use crate::jsonapi::Json;
use altdist::PublicKey;
use altdist::resource::{
    AltDistKey, AltDistKeyAttributes, AltDistKeyCreateRequest, AltDistKeyId, AltDistKeyType, AppId,
    CollectionDocument, Document, DocumentLinks, ResourceLinks,
};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

use super::created;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::db::alt_dist_keys::AltDistKeyRow;
use crate::error::ApiError;
use crate::extract::{IdPath, JsonBody};
use crate::jsonapi::{self, Param, Params};

/// `fields[alternativeDistributionKeys]`, which `GET /v1/apps/{id}/alternativeDistributionKey`
/// takes too.
pub const FIELDS: Param = Param::one_of("fields[alternativeDistributionKeys]", &["publicKey"]);
/// What `GET /v1/alternativeDistributionKeys` takes.
pub const LIST_PARAMS: &[Param] = &[
    Param::boolean("exists[app]"),
    FIELDS,
    Param::LIMIT,
    Param::CURSOR,
];
/// What `GET /v1/alternativeDistributionKeys/{id}` takes.
pub const FIND_PARAMS: &[Param] = &[FIELDS];

/// The path of the key `id`.
pub fn path(id: &str) -> String {
    format!("/v1/alternativeDistributionKeys/{id}")
}

/// A stored key as a resource, with the attributes `fields` asks for.
pub fn resource(state: &AppState, row: AltDistKeyRow, fields: Option<&[String]>) -> AltDistKey {
    let links = Some(ResourceLinks {
        self_link: Some(state.url(&path(&row.id))),
    });
    AltDistKey {
        kind: AltDistKeyType::Value,
        attributes: jsonapi::wants(fields, "publicKey").then_some(AltDistKeyAttributes {
            public_key: Some(row.public_key),
        }),
        id: AltDistKeyId(row.id),
        links,
    }
}

/// `GET /v1/alternativeDistributionKeys`
pub async fn list_alt_dist_keys(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<CollectionDocument<AltDistKey>>, ApiError> {
    let params = Params::parse(&uri, LIST_PARAMS)?;
    let page = params.page_after()?;
    let has_app = params.bool("exists[app]");
    let fields = params.list(FIELDS.name);
    let total = db::alt_dist_keys::count(&state.db, &caller.account, has_app).await?;
    let (rows, next) = db::split_page(
        db::alt_dist_keys::list(&state.db, &caller.account, has_app, page).await?,
        page,
    );
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(CollectionDocument {
        data: rows
            .into_iter()
            .map(|row| resource(&state, row, fields.as_deref()))
            .collect(),
        links,
        meta: Some(meta),
    }))
}

/// `GET /v1/alternativeDistributionKeys/{id}`
pub async fn find_alt_dist_key(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<Document<AltDistKey>>, ApiError> {
    let params = Params::parse(&uri, FIND_PARAMS)?;
    let fields = params.list(FIELDS.name);
    let row = db::alt_dist_keys::find(&state.db, &caller.account, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(Document {
        data: resource(&state, row, fields.as_deref()),
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

/// `POST /v1/alternativeDistributionKeys`
pub async fn create_alt_dist_key(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("creating an alternative distribution key")?;
    let (public_key, app) = read_create_request(body)?;
    if let Some(app_id) = &app
        && db::apps::find(&state.db, &caller.account, app_id.as_str())
            .await?
            .is_none()
    {
        return Err(app_relationship_error(format!(
            "there is no app {app_id} in your account; list your apps with GET /v1/apps"
        )));
    }
    let id = AltDistKeyId(uuid::Uuid::new_v4().to_string());
    let canonical = public_key.to_pem();
    match db::alt_dist_keys::insert(&state.db, &id, &caller.account, app.as_ref(), &canonical).await
    {
        Ok(()) => {}
        Err(err) if err.is_unique_violation() => {
            return Err(duplicate(&state, &caller, app.as_ref()).await);
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(key_id = %id, app = ?app.as_ref().map(AppId::as_str), "created an alternative distribution key");
    let location = state.url(&path(id.as_str()));
    let row = AltDistKeyRow {
        id: id.0,
        app_id: app.map(|app| app.0),
        public_key: canonical,
    };
    Ok(created(
        &location,
        Document {
            data: resource(&state, row, None),
            links: DocumentLinks {
                self_link: location.clone(),
            },
        },
    ))
}

/// Reads a key create document: the public key, and the app it is for when it names one. All a
/// body alone can tell; whether the app is the caller's is the handler's question.
pub fn read_create_request(body: Value) -> Result<(PublicKey, Option<AppId>), ApiError> {
    let request: AltDistKeyCreateRequest = jsonapi::create_document(body, AltDistKeyType::NAME)?;
    // The library's messages say what was found (another curve, RSA, a private key, a
    // certificate) without quoting the input, so a pasted private key never reaches a response
    // or a log.
    let public_key = PublicKey::from_pem(&request.data.attributes.public_key).map_err(|err| {
        ApiError::invalid_attribute(
            "/data/attributes/publicKey",
            format!("publicKey is not an ECDSA P-256 public key PEM: {err}"),
        )
    })?;
    let app = request.app_id().cloned();
    if let Some(app_id) = &app
        && !AppId::is_well_formed(app_id.as_str())
    {
        return Err(app_relationship_error(format!(
            "the app id '{app_id}' is not an Apple id (digits, like 6476788026)"
        )));
    }
    Ok((public_key, app))
}

fn app_relationship_error(detail: String) -> ApiError {
    ApiError::Conflict {
        code: "ENTITY_ERROR.RELATIONSHIP.INVALID",
        detail,
        pointer: Some("/data/relationships/app".to_owned()),
    }
}

async fn duplicate(state: &AppState, caller: &Caller, app: Option<&AppId>) -> ApiError {
    let holder = match db::alt_dist_keys::find_holder(&state.db, &caller.account, app).await {
        Ok(holder) => holder,
        Err(err) => return err.into(),
    };
    let existing_url = holder.as_ref().map(|row| state.url(&path(&row.id)));
    let existing = holder.map_or_else(
        || "another key".to_owned(),
        |row| format!("the key {}", row.id),
    );
    let detail = match app {
        Some(app) => format!(
            "the app {app} already has an alternative distribution key, {existing}; delete it first (DELETE /v1/alternativeDistributionKeys/{{id}})"
        ),
        None => format!(
            "your account already has an account-wide alternative distribution key, {existing}; delete it first (DELETE /v1/alternativeDistributionKeys/{{id}}) or create an app-specific key"
        ),
    };
    ApiError::Duplicate {
        detail,
        existing: existing_url,
    }
}

/// `DELETE /v1/alternativeDistributionKeys/{id}`
pub async fn delete_alt_dist_key(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("deleting an alternative distribution key")?;
    if db::alt_dist_keys::delete(&state.db, &caller.account, &id).await? {
        tracing::info!(key_id = %id, "deleted an alternative distribution key");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

/// The 404 for a key that is not in the caller's account.
pub fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "there is no alternative distribution key with id '{id}' in your account"
    ))
}
