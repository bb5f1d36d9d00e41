//! One module per resource; `crate::router` wires them.

pub mod alt_dist_domains;
pub mod alt_dist_keys;
pub mod app_store_versions;
pub mod apps;
pub mod console;
pub mod downloads;
pub mod health;
pub mod openapi;
pub mod packages;
pub mod sandbox;
pub mod webhooks;

use crate::jsonapi::Json;
use axum::http::Method;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// 201 with `Location` and the document.
pub fn created<T: Serialize>(location: &str, document: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(document)).into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The query parameters each operation takes (none where an operation is not listed), for the
/// test that compares them with the OpenAPI documents.
pub fn declared_parameters() -> Vec<(Method, &'static str, &'static [crate::jsonapi::Param])> {
    vec![
        (
            Method::GET,
            "/v1/alternativeDistributionKeys",
            alt_dist_keys::LIST_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionKeys/{id}",
            alt_dist_keys::FIND_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionDomains",
            alt_dist_domains::LIST_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionDomains/{id}",
            alt_dist_domains::FIND_PARAMS,
        ),
        (Method::GET, "/v1/apps", apps::LIST_PARAMS),
        (Method::GET, "/v1/apps/{id}", apps::FIND_PARAMS),
        (
            Method::GET,
            "/v1/apps/{id}/alternativeDistributionKey",
            apps::KEY_PARAMS,
        ),
        (
            Method::GET,
            "/v1/apps/{id}/appStoreVersions",
            app_store_versions::LIST_PARAMS,
        ),
        (
            Method::GET,
            "/v1/appStoreVersions/{id}",
            app_store_versions::FIND_PARAMS,
        ),
        (
            Method::GET,
            "/v1/appStoreVersions/{id}/alternativeDistributionPackage",
            packages::PACKAGE_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackages/{id}",
            packages::PACKAGE_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackages/{id}/versions",
            packages::VERSIONS_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackages/{id}/relationships/versions",
            packages::LINKAGES_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackageVersions/{id}",
            packages::VERSION_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackageVersions/{id}/variants",
            packages::VARIANTS_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackageVersions/{id}/relationships/variants",
            packages::LINKAGES_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackageVersions/{id}/deltas",
            packages::DELTAS_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackageVersions/{id}/relationships/deltas",
            packages::LINKAGES_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackageVariants/{id}",
            packages::VARIANT_PARAMS,
        ),
        (
            Method::GET,
            "/v1/alternativeDistributionPackageDeltas/{id}",
            packages::DELTA_PARAMS,
        ),
        (Method::GET, "/v1/webhooks/{id}", webhooks::FIND_PARAMS),
        (
            Method::GET,
            "/v1/apps/{id}/webhooks",
            webhooks::APP_WEBHOOKS_PARAMS,
        ),
        (
            Method::GET,
            "/v1/apps/{id}/relationships/webhooks",
            webhooks::LINKAGE_PARAMS,
        ),
        (
            Method::GET,
            "/v1/webhooks/{id}/deliveries",
            webhooks::DELIVERIES_PARAMS,
        ),
        (
            Method::GET,
            "/v1/webhooks/{id}/relationships/deliveries",
            webhooks::LINKAGE_PARAMS,
        ),
    ]
}
