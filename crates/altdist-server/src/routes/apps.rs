//! `/v1/apps` and the key that signs for an app.
//!
//! See Apple's [Apps](https://developer.apple.com/documentation/appstoreconnectapi/apps) and
//! [Read an app's alternative distribution key](https://developer.apple.com/documentation/appstoreconnectapi/get-v1-apps-_id_-alternativedistributionkey).

use crate::jsonapi::Json;
use altdist::resource::{
    AltDistKey, AltDistKeyId, AltDistKeyType, App, AppAttributes, AppId, AppRelationships, AppType,
    CollectionDocument, Document, DocumentLinks, LinkageDocument, LinkageLinks, RelationshipLinks,
    ResourceIdentifier, ResourceLinks, ToOneRelationship,
};
use axum::extract::State;
use axum::http::Uri;

use super::alt_dist_keys;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::db::alt_dist_keys::AltDistKeyRow;
use crate::db::apps::{AppQuery, AppRow, SortKey};
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::jsonapi::{self, Param, Params};

const FIELDS: Param = Param::one_of(
    "fields[apps]",
    &[
        "name",
        "bundleId",
        "sku",
        "primaryLocale",
        "alternativeDistributionKey",
    ],
);
/// What `GET /v1/apps` takes.
pub const LIST_PARAMS: &[Param] = &[
    Param::list("filter[name]"),
    Param::list("filter[bundleId]"),
    Param::list("filter[sku]"),
    Param::list("filter[id]"),
    Param::one_of(
        "sort",
        &["name", "-name", "bundleId", "-bundleId", "sku", "-sku"],
    ),
    FIELDS,
    Param::LIMIT,
    Param::CURSOR,
];
/// What `GET /v1/apps/{id}` takes.
pub const FIND_PARAMS: &[Param] = &[FIELDS];
/// What `GET /v1/apps/{id}/alternativeDistributionKey` takes.
pub const KEY_PARAMS: &[Param] = &[alt_dist_keys::FIELDS];

fn path(id: &str) -> String {
    format!("/v1/apps/{id}")
}

/// A stored app as a resource, with the attributes and relationships `fields` asks for.
pub fn resource(state: &AppState, row: AppRow, fields: Option<&[String]>) -> App {
    let wants = |field| jsonapi::wants(fields, field);
    let attributes = AppAttributes {
        name: wants("name").then_some(row.name),
        bundle_id: wants("bundleId").then_some(row.bundle_id),
        sku: wants("sku").then_some(row.sku),
        primary_locale: wants("primaryLocale").then_some(row.primary_locale),
        is_or_ever_was_made_for_kids: wants("isOrEverWasMadeForKids").then_some(row.made_for_kids),
    };
    let any = attributes.name.is_some()
        || attributes.bundle_id.is_some()
        || attributes.sku.is_some()
        || attributes.primary_locale.is_some()
        || attributes.is_or_ever_was_made_for_kids.is_some();
    let app_path = path(&row.id);
    let relationships = wants("alternativeDistributionKey").then(|| AppRelationships {
        alternative_distribution_key: Some(ToOneRelationship {
            links: RelationshipLinks {
                self_link: Some(state.url(&format!(
                    "{app_path}/relationships/alternativeDistributionKey"
                ))),
                related: Some(state.url(&format!("{app_path}/alternativeDistributionKey"))),
            },
        }),
    });
    App {
        kind: AppType::Value,
        id: AppId(row.id),
        attributes: any.then_some(attributes),
        relationships,
        links: Some(ResourceLinks {
            self_link: Some(state.url(&app_path)),
        }),
    }
}

/// The `sort` keys, each checked by `Params::parse` against the declared values.
fn sort(params: &Params) -> Vec<(SortKey, bool)> {
    let keys = params.list("sort").unwrap_or_default();
    keys.iter()
        .filter_map(|key| {
            let (name, descending) = match key.strip_prefix('-') {
                Some(name) => (name, true),
                None => (key.as_str(), false),
            };
            let column = match name {
                "name" => SortKey::Name,
                "bundleId" => SortKey::BundleId,
                "sku" => SortKey::Sku,
                _ => return None,
            };
            Some((column, descending))
        })
        .collect()
}

/// `GET /v1/apps`
pub async fn list_apps(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<CollectionDocument<App>>, ApiError> {
    let params = Params::parse(&uri, LIST_PARAMS)?;
    let page = params.page()?;
    let fields = params.list(FIELDS.name);
    let query = AppQuery {
        names: params.list("filter[name]").unwrap_or_default(),
        bundle_ids: params.list("filter[bundleId]").unwrap_or_default(),
        skus: params.list("filter[sku]").unwrap_or_default(),
        ids: params.list("filter[id]").unwrap_or_default(),
        sort: sort(&params),
    };
    let total = db::apps::count(&state.db, &caller.account, &query).await?;
    let rows = db::apps::list(&state.db, &caller.account, &query, page).await?;
    let (links, meta) = jsonapi::paging(&state, uri.path(), &params, page, rows.len(), total);
    Ok(Json(CollectionDocument {
        data: rows
            .into_iter()
            .map(|row| resource(&state, row, fields.as_deref()))
            .collect(),
        links,
        meta: Some(meta),
    }))
}

async fn find_own_app(state: &AppState, caller: &Caller, id: &str) -> Result<AppRow, ApiError> {
    db::apps::find(&state.db, &caller.account, id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("there is no app with id '{id}' in your account"))
        })
}

/// `GET /v1/apps/{id}`
pub async fn find_app(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<Document<App>>, ApiError> {
    let params = Params::parse(&uri, FIND_PARAMS)?;
    let fields = params.list(FIELDS.name);
    let row = find_own_app(&state, &caller, &id).await?;
    Ok(Json(Document {
        data: resource(&state, row, fields.as_deref()),
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

/// The key that signs for the app: its app-specific key, else the account-wide key.
async fn signing_key(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<AltDistKeyRow, ApiError> {
    let app = find_own_app(state, caller, id).await?;
    db::alt_dist_keys::find_for_app(&state.db, &caller.account, &AppId(app.id))
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "the app {id} has no alternative distribution key, and your account has no account-wide one; create one with POST /v1/alternativeDistributionKeys"
            ))
        })
}

/// `GET /v1/apps/{id}/alternativeDistributionKey`
pub async fn find_app_alt_dist_key(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<Document<AltDistKey>>, ApiError> {
    let params = Params::parse(&uri, KEY_PARAMS)?;
    let fields = params.list(alt_dist_keys::FIELDS.name);
    let row = signing_key(&state, &caller, &id).await?;
    Ok(Json(Document {
        data: alt_dist_keys::resource(&state, row, fields.as_deref()),
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

/// `GET /v1/apps/{id}/relationships/alternativeDistributionKey`
pub async fn find_app_alt_dist_key_linkage(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<LinkageDocument<AltDistKeyType, AltDistKeyId>>, ApiError> {
    Params::parse(&uri, &[])?;
    let row = signing_key(&state, &caller, &id).await?;
    Ok(Json(LinkageDocument {
        data: ResourceIdentifier {
            kind: AltDistKeyType::Value,
            id: AltDistKeyId(row.id),
        },
        links: LinkageLinks {
            self_link: state.url(uri.path()),
            related: Some(state.url(&format!("{}/alternativeDistributionKey", path(&id)))),
        },
    }))
}
