//! Every route, and the layers around them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use altdist::sandbox::{INSTALL_VERIFY_PATH, MARKETPLACE_VERIFY_PATH};
use altdist::site_check::SITE_CHECK_PATH;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::package_store::DOWNLOADS_PREFIX;
use crate::rate_limit::{self, RateDecision};
use crate::request_id::RequestIds;
use crate::routes::{
    alt_dist_domains, alt_dist_keys, app_store_versions, apps, console, downloads, health, openapi,
    packages, sandbox, webhooks,
};

/// The request id header: set (when the client sent none) and echoed by the outermost layers.
const REQUEST_ID: &str = "x-request-id";

/// The target of the access log's lines (`RUST_LOG=altdist_server::access=off` silences them).
pub const ACCESS_LOG: &str = "altdist_server::access";

/// The whole API: what `altdist serve` and the tests run.
pub fn build_router(state: AppState) -> Router {
    let v1 = Router::new()
        .route(
            "/v1/alternativeDistributionKeys",
            get(alt_dist_keys::list_alt_dist_keys).post(alt_dist_keys::create_alt_dist_key),
        )
        .route(
            "/v1/alternativeDistributionKeys/{id}",
            get(alt_dist_keys::find_alt_dist_key).delete(alt_dist_keys::delete_alt_dist_key),
        )
        .route(
            "/v1/alternativeDistributionDomains",
            get(alt_dist_domains::list_alt_dist_domains)
                .post(alt_dist_domains::create_alt_dist_domain),
        )
        .route(
            "/v1/alternativeDistributionDomains/{id}",
            get(alt_dist_domains::find_alt_dist_domain)
                .delete(alt_dist_domains::delete_alt_dist_domain),
        )
        .route("/v1/apps", get(apps::list_apps))
        .route("/v1/apps/{id}", get(apps::find_app))
        .route(
            "/v1/apps/{id}/alternativeDistributionKey",
            get(apps::find_app_alt_dist_key),
        )
        .route(
            "/v1/apps/{id}/relationships/alternativeDistributionKey",
            get(apps::find_app_alt_dist_key_linkage),
        )
        .route(
            "/v1/apps/{id}/appStoreVersions",
            get(app_store_versions::list_app_store_versions),
        )
        .route(
            "/v1/appStoreVersions/{id}",
            get(app_store_versions::find_app_store_version),
        )
        .route(
            "/v1/appStoreVersions/{id}/alternativeDistributionPackage",
            get(packages::find_version_package),
        )
        .route(
            "/v1/appStoreVersions/{id}/relationships/alternativeDistributionPackage",
            get(packages::find_version_package_linkage),
        )
        .route(
            "/v1/alternativeDistributionPackages",
            post(packages::create_package),
        )
        .route(
            "/v1/alternativeDistributionPackages/{id}",
            get(packages::find_package),
        )
        .route(
            "/v1/alternativeDistributionPackages/{id}/versions",
            get(packages::list_package_versions),
        )
        .route(
            "/v1/alternativeDistributionPackages/{id}/relationships/versions",
            get(packages::list_package_version_linkages),
        )
        .route(
            "/v1/alternativeDistributionPackageVersions/{id}",
            get(packages::find_package_version),
        )
        .route(
            "/v1/alternativeDistributionPackageVersions/{id}/variants",
            get(packages::list_variants),
        )
        .route(
            "/v1/alternativeDistributionPackageVersions/{id}/relationships/variants",
            get(packages::list_variant_linkages),
        )
        .route(
            "/v1/alternativeDistributionPackageVersions/{id}/deltas",
            get(packages::list_deltas),
        )
        .route(
            "/v1/alternativeDistributionPackageVersions/{id}/relationships/deltas",
            get(packages::list_delta_linkages),
        )
        .route(
            "/v1/alternativeDistributionPackageVariants/{id}",
            get(packages::find_variant),
        )
        .route(
            "/v1/alternativeDistributionPackageDeltas/{id}",
            get(packages::find_delta),
        )
        .route("/v1/webhooks", post(webhooks::create_webhook))
        .route(
            "/v1/webhooks/{id}",
            get(webhooks::find_webhook)
                .patch(webhooks::update_webhook)
                .delete(webhooks::delete_webhook),
        )
        .route("/v1/apps/{id}/webhooks", get(webhooks::list_app_webhooks))
        .route(
            "/v1/apps/{id}/relationships/webhooks",
            get(webhooks::list_app_webhook_linkages),
        )
        .route(
            "/v1/webhooks/{id}/deliveries",
            get(webhooks::list_webhook_deliveries),
        )
        .route(
            "/v1/webhooks/{id}/relationships/deliveries",
            get(webhooks::list_webhook_delivery_linkages),
        )
        .route(
            "/v1/webhookDeliveries",
            post(webhooks::create_webhook_delivery),
        )
        .route("/v1/webhookPings", post(webhooks::create_webhook_ping))
        .route(INSTALL_VERIFY_PATH, post(sandbox::verify_install_token))
        .route(SITE_CHECK_PATH, post(sandbox::check_site))
        .route(
            MARKETPLACE_VERIFY_PATH,
            post(sandbox::verify_marketplace_token),
        )
        // route_layer: only requests that matched a route and method are authenticated, so an
        // unknown path is a PATH_ERROR and a wrong method a 405 whether or not a token came.
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state.auth),
            auth::authenticate,
        ));

    let envelope = Envelope {
        request_ids: RequestIds::new(),
        rate_limit: state.auth.rate_limiter().limit(),
    };
    let api = Router::new()
        .merge(v1)
        .route("/health", get(health::find_health))
        // Outside the authenticated routes: a download URL carries its own credential.
        .route("/downloads/{sha256}/{name}", get(downloads::download))
        .route("/openapi.json", get(openapi::find_openapi))
        // The web console: files for a browser, outside the JSON API and its authentication.
        .route(console::CONSOLE_PATH, get(console::find_console))
        .route("/console/", get(console::find_console))
        .route("/console/{*path}", get(console::find_console_asset))
        .fallback(path_not_found)
        .with_state(state);
    // The layers wrap the finished router as one service rather than going through
    // `Router::layer`, which wraps each route: there a 405 would pass through them before the
    // method router adds its `Allow` header.
    let service = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(envelope, envelope_layer))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
        }))
        .service(api);
    Router::new().fallback_service(service)
}

/// What every request and response goes through, around the routes.
#[derive(Debug, Clone)]
struct Envelope {
    request_ids: RequestIds,
    /// Requests per key per hour, for the `X-Rate-Limit` of responses no key was charged for.
    rate_limit: u32,
}

/// Around every request, in one layer (each layer costs a boxed future and its moves on every
/// request: docs/PERFORMANCE.md, "One layer"):
///
/// * its `x-request-id`, made when the client sent none, and echoed on the response;
/// * 406 when the `Accept` header rules out JSON, the only thing the API writes (downloads aside,
///   which answer with the file);
/// * the bodiless 405 axum writes itself turned into the contract's JSON error, its `Allow`
///   header kept;
/// * `X-Rate-Limit` on every response: those no key was charged for show the full budget;
/// * the access log: one line per answered request, with its request id, method, path (never the
///   query, which may be long, nor a header: they carry the bearer token), status and latency.
///
/// The access log is one event and no span: a span per request cost the server about as much as
/// the line itself (its fields formatted on creation, entered and left at every poll). Lines
/// logged while handling a request do not carry its id; an unexpected error's line carries the
/// error id its response shows.
async fn envelope_layer(
    State(envelope): State<Envelope>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = match request.headers().get(REQUEST_ID) {
        Some(id) => id.clone(),
        None => {
            let id = envelope.request_ids.next_header_value();
            request.headers_mut().insert(REQUEST_ID, id.clone());
            id
        }
    };
    // Clones share the request's buffer: no copy, no allocation.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let mut response = if accepts_json_response(&request) {
        let response = next.run(request).await;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED
            && !response.headers().contains_key(header::CONTENT_TYPE)
        {
            method_not_allowed_as_json(&method, &uri, &response)
        } else {
            response
        }
    } else {
        (
            StatusCode::NOT_ACCEPTABLE,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            "Not Acceptable: this API answers only with application/json; send Accept: application/json\n",
        )
            .into_response()
    };
    let headers = response.headers_mut();
    if !headers.contains_key(rate_limit::HEADER) {
        headers.insert(
            rate_limit::HEADER,
            RateDecision::unmetered(envelope.rate_limit).header_value(),
        );
    }
    if !headers.contains_key(REQUEST_ID) {
        headers.insert(REQUEST_ID, request_id.clone());
    }
    tracing::info!(
        target: ACCESS_LOG,
        request_id = request_id.to_str().unwrap_or("-"),
        method = %method,
        path = uri.path(),
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "response"
    );
    response
}

async fn path_not_found(uri: Uri) -> ApiError {
    ApiError::PathNotFound(format!(
        "the path {} is not part of the API; see docs/API.md for the endpoints",
        uri.path()
    ))
}

/// The bodiless 405 axum writes itself as the contract's JSON error, with its headers (`Allow`).
fn method_not_allowed_as_json(method: &Method, uri: &Uri, response: &Response) -> Response {
    let allow = response
        .headers()
        .get(header::ALLOW)
        .and_then(|allow| allow.to_str().ok())
        .unwrap_or("")
        .to_owned();
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
        allow,
    }
    .into_response()
}

/// Whether the request's `Accept` headers let the API answer with JSON (always for downloads,
/// which answer with the file, and the console, which answers a browser).
fn accepts_json_response(request: &Request) -> bool {
    let path = request.uri().path();
    if path.starts_with(DOWNLOADS_PREFIX) || console::is_console_path(path) {
        return true;
    }
    let mut accept = request.headers().get_all(header::ACCEPT).iter().peekable();
    if accept.peek().is_none() {
        return true;
    }
    // A header that is not text refuses everything, as if nothing in it were acceptable.
    let mut any_json = false;
    for value in accept {
        match value.to_str() {
            Ok(value) => any_json |= accepts_json(value),
            Err(_) => return false,
        }
    }
    any_json
}

fn accepts_json(accept: &str) -> bool {
    crate::negotiation::accepted(accept).any(|media_type| {
        matches!(
            media_type.as_str(),
            "application/json" | "application/*" | "*/*" | "application/vnd.api+json"
        )
    })
}

/// How long `altdist serve` waits for requests in flight when told to stop.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::accepts_json;

    #[test]
    fn accept_headers() {
        assert!(accepts_json("application/json"));
        assert!(accepts_json("text/html, */*;q=0.1"));
        assert!(accepts_json("application/vnd.api+json"));
        assert!(!accepts_json("text/html"));
        assert!(!accepts_json("application/json;q=0"));
        assert!(!accepts_json("application/xml, text/plain"));
    }
}
