//! `/v1/appStoreVersions` and `/v1/apps/{id}/appStoreVersions`, reduced to what a package flow reads.
//!
//! See Apple's [App Store versions](https://developer.apple.com/documentation/appstoreconnectapi/app-store-versions).
//! Versions are created with `altdist admin app version create`; App Store Connect makes them
//! from uploaded builds, which altdist does not take.

use altdist::resource::{
    AltDistPackageType, AppStoreVersion, AppStoreVersionAttributes, AppStoreVersionRelationships,
    AppStoreVersionType, AppType, CollectionDocument, Document, DocumentLinks, Relationship,
    RelationshipLinks, ResourceIdentifier, ResourceLinks,
};
use axum::Json;
use axum::extract::State;
use axum::http::Uri;

use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::db::packages::{AppStoreVersionRow, VersionQuery};
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::jsonapi::{self, Param, Params};

/// The states of Apple's `AppVersionState`, in the document's order.
pub const APP_VERSION_STATES: &[&str] = &[
    "ACCEPTED",
    "DEVELOPER_REJECTED",
    "IN_REVIEW",
    "INVALID_BINARY",
    "METADATA_REJECTED",
    "PENDING_APPLE_RELEASE",
    "PENDING_DEVELOPER_RELEASE",
    "PREPARE_FOR_SUBMISSION",
    "PROCESSING_FOR_DISTRIBUTION",
    "READY_FOR_DISTRIBUTION",
    "READY_FOR_REVIEW",
    "REJECTED",
    "REPLACED_WITH_NEW_VERSION",
    "WAITING_FOR_EXPORT_COMPLIANCE",
    "WAITING_FOR_REVIEW",
];

/// The platforms of Apple's `Platform`.
pub const PLATFORMS: &[&str] = &["IOS", "MAC_OS", "TV_OS", "VISION_OS"];

const APP_STORE_STATES: &[&str] = &[
    "ACCEPTED",
    "DEVELOPER_REMOVED_FROM_SALE",
    "DEVELOPER_REJECTED",
    "IN_REVIEW",
    "INVALID_BINARY",
    "METADATA_REJECTED",
    "PENDING_APPLE_RELEASE",
    "PENDING_CONTRACT",
    "PENDING_DEVELOPER_RELEASE",
    "PREPARE_FOR_SUBMISSION",
    "PREORDER_READY_FOR_SALE",
    "PROCESSING_FOR_APP_STORE",
    "READY_FOR_REVIEW",
    "READY_FOR_SALE",
    "REJECTED",
    "REMOVED_FROM_SALE",
    "WAITING_FOR_EXPORT_COMPLIANCE",
    "WAITING_FOR_REVIEW",
    "REPLACED_WITH_NEW_VERSION",
    "NOT_APPLICABLE",
];

const FIELDS: Param = Param::one_of(
    "fields[appStoreVersions]",
    &[
        "platform",
        "versionString",
        "appStoreState",
        "appVersionState",
        "createdDate",
        "app",
        "alternativeDistributionPackage",
    ],
);

/// What `GET /v1/apps/{id}/appStoreVersions` takes.
pub const LIST_PARAMS: &[Param] = &[
    Param::one_of("filter[platform]", PLATFORMS),
    Param::list("filter[versionString]"),
    Param::one_of("filter[appStoreState]", APP_STORE_STATES),
    Param::one_of("filter[appVersionState]", APP_VERSION_STATES),
    Param::list("filter[id]"),
    FIELDS,
    Param::LIMIT,
    Param::CURSOR,
];
/// What `GET /v1/appStoreVersions/{id}` takes.
pub const FIND_PARAMS: &[Param] = &[FIELDS];

/// The path of the version `id`.
pub fn path(id: &str) -> String {
    format!("/v1/appStoreVersions/{id}")
}

/// The deprecated `appStoreState` Apple still reports beside `appVersionState`.
fn app_store_state(app_version_state: &str) -> &str {
    match app_version_state {
        "READY_FOR_DISTRIBUTION" => "READY_FOR_SALE",
        "PROCESSING_FOR_DISTRIBUTION" => "PROCESSING_FOR_APP_STORE",
        other => other,
    }
}

/// The `appVersionState`s an `appStoreState` filter value stands for (none for the App Store
/// states that have no app version state, such as `REMOVED_FROM_SALE`).
fn app_version_states_of(app_store_state: &str) -> Option<&'static str> {
    APP_VERSION_STATES
        .iter()
        .copied()
        .find(|state| self::app_store_state(state) == app_store_state)
}

fn resource(
    state: &AppState,
    row: AppStoreVersionRow,
    fields: Option<&[String]>,
) -> AppStoreVersion {
    let wants = |field| jsonapi::wants(fields, field);
    let attributes = AppStoreVersionAttributes {
        platform: wants("platform").then(|| row.platform.clone()),
        version_string: wants("versionString").then(|| row.version_string.clone()),
        app_store_state: wants("appStoreState")
            .then(|| app_store_state(&row.app_version_state).to_owned()),
        app_version_state: wants("appVersionState").then(|| row.app_version_state.clone()),
        created_date: wants("createdDate").then(|| row.created_at.clone()),
    };
    let version_path = path(&row.id);
    let relationships = AppStoreVersionRelationships {
        app: wants("app").then(|| Relationship {
            links: None,
            meta: None,
            data: Some(ResourceIdentifier {
                kind: AppType::Value,
                id: row.app_id.clone(),
            }),
        }),
        alternative_distribution_package: wants("alternativeDistributionPackage").then(|| {
            Relationship {
                links: Some(RelationshipLinks {
                    self_link: Some(state.url(&format!(
                        "{version_path}/relationships/alternativeDistributionPackage"
                    ))),
                    related: Some(
                        state.url(&format!("{version_path}/alternativeDistributionPackage")),
                    ),
                }),
                meta: None,
                data: row.package_id.clone().map(|id| ResourceIdentifier {
                    kind: AltDistPackageType::Value,
                    id,
                }),
            }
        }),
    };
    AppStoreVersion {
        kind: AppStoreVersionType::Value,
        id: row.id,
        attributes: jsonapi::unless_empty(attributes),
        relationships: jsonapi::unless_empty(relationships),
        links: Some(ResourceLinks {
            self_link: Some(state.url(&version_path)),
        }),
    }
}

/// `GET /v1/apps/{id}/appStoreVersions`
pub async fn list_app_store_versions(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(app): IdPath,
    uri: Uri,
) -> Result<Json<CollectionDocument<AppStoreVersion>>, ApiError> {
    let params = Params::parse(&uri, LIST_PARAMS)?;
    let page = params.page_after()?;
    let fields = params.list(FIELDS.name);
    super::apps::find_own_app(&state, &caller, &app).await?;
    let query = VersionQuery {
        platforms: params.list("filter[platform]").unwrap_or_default(),
        version_strings: params.list("filter[versionString]").unwrap_or_default(),
        app_version_states: params.list("filter[appVersionState]").unwrap_or_default(),
        ids: params.list("filter[id]").unwrap_or_default(),
        app_store_states: params.list("filter[appStoreState]").map(|wanted| {
            wanted
                .iter()
                .filter_map(|state| app_version_states_of(state))
                .map(str::to_owned)
                .collect()
        }),
    };
    let total = db::packages::count_versions(&state.db, &caller.account, &app, &query).await?;
    let (rows, next) = db::split_page(
        db::packages::list_versions(&state.db, &caller.account, &app, &query, page).await?,
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

/// The caller's version `id`, or the 404 that names it.
pub async fn find_own_version(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<AppStoreVersionRow, ApiError> {
    db::packages::find_version(&state.db, &caller.account, id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "there is no App Store version with id '{id}' in your account; list an app's versions with GET /v1/apps/{{id}}/appStoreVersions"
            ))
        })
}

/// `GET /v1/appStoreVersions/{id}`
pub async fn find_app_store_version(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<Document<AppStoreVersion>>, ApiError> {
    let params = Params::parse(&uri, FIND_PARAMS)?;
    let fields = params.list(FIELDS.name);
    let row = find_own_version(&state, &caller, &id).await?;
    Ok(Json(Document {
        data: resource(&state, row, fields.as_deref()),
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_app_store_state_maps_back() {
        for state in APP_VERSION_STATES {
            let shown = app_store_state(state);
            assert!(APP_STORE_STATES.contains(&shown), "{state} -> {shown}");
            assert_eq!(app_version_states_of(shown), Some(*state));
        }
        assert_eq!(app_version_states_of("REMOVED_FROM_SALE"), None);
    }
}
