//! The body of every POST the server takes: read as the extractor reads it (present, a JSON
//! media type, JSON), then as each endpoint reads it before it touches the database. Every
//! refusal is the contract's 4xx; what is accepted, written back canonically, reads back the same.
#![no_main]

use altdist_fuzz::assert_client_error;
use altdist_server::ApiError;
use altdist_server::extract::json_body;
use altdist_server::routes::{alt_dist_domains, alt_dist_keys, sandbox};
use arbitrary::Arbitrary;
use axum::http::HeaderValue;
use axum::response::IntoResponse as _;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    endpoint: Endpoint,
    content_type: ContentType<'a>,
    body: &'a [u8],
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Endpoint {
    /// `POST /v1/alternativeDistributionKeys`
    Key,
    /// `POST /v1/alternativeDistributionDomains`
    Domain,
    /// `POST /sandbox/v1/{installVerificationTokens,marketplaceTokens}/verify`
    VerifyToken,
    /// `POST /sandbox/v1/sites/check`
    SiteCheck,
}

#[derive(Debug, Arbitrary)]
enum ContentType<'a> {
    Json,
    JsonApiWithCharset,
    Missing,
    Other(&'a str),
}

fuzz_target!(|input: Input<'_>| {
    let content_type = match input.content_type {
        ContentType::Json => Some(HeaderValue::from_static("application/json")),
        ContentType::JsonApiWithCharset => Some(HeaderValue::from_static(
            "application/vnd.api+json; charset=utf-8",
        )),
        ContentType::Missing => None,
        // A value hyper would not pass on is no request.
        ContentType::Other(value) => match HeaderValue::from_str(value) {
            Ok(value) => Some(value),
            Err(_) => return,
        },
    };
    let body = match json_body(input.body, content_type.as_ref()) {
        Ok(body) => body,
        Err(err) => return refused(err, &["ENTITY_INVALID", "UNSUPPORTED_MEDIA_TYPE"]),
    };
    match input.endpoint {
        Endpoint::Key => match alt_dist_keys::read_create_request(body) {
            Ok((key, app)) => {
                let mut data = json!({
                    "type": "alternativeDistributionKeys",
                    "attributes": {"publicKey": key.to_pem()},
                });
                if let Some(app) = &app {
                    data["relationships"] = json!({"app": {"data": {"type": "apps", "id": app}}});
                }
                let (again, app_again) = alt_dist_keys::read_create_request(json!({"data": data}))
                    .expect("the canonical document of an accepted key is accepted");
                assert_eq!((again, app_again), (key, app));
            }
            Err(err) => refused(err, &["ENTITY_UNPROCESSABLE", "ENTITY_ERROR"]),
        },
        Endpoint::Domain => match alt_dist_domains::read_create_request(body) {
            Ok((domain, name)) => {
                assert!(
                    domain.len() <= 253 && !domain.bytes().any(|b| b.is_ascii_uppercase()),
                    "{domain:?}"
                );
                let document = json!({"data": {
                    "type": "alternativeDistributionDomains",
                    "attributes": {"domain": domain, "referenceName": name},
                }});
                let again = alt_dist_domains::read_create_request(document)
                    .expect("a normalized domain is accepted");
                assert_eq!(again, (domain, name), "normalizing twice changes nothing");
            }
            Err(err) => refused(err, &["ENTITY_UNPROCESSABLE", "ENTITY_ERROR"]),
        },
        Endpoint::VerifyToken => match sandbox::verify_request(&body) {
            Ok(request) => {
                let document = serde_json::to_value(&request).expect("a request serializes");
                let again = sandbox::verify_request(&document).expect("it reads back");
                assert_eq!(again, request);
            }
            Err(err) => refused(err, &["ENTITY_UNPROCESSABLE"]),
        },
        Endpoint::SiteCheck => match sandbox::site_check_request(&body) {
            Ok(options) => {
                let document =
                    json!({"url": options.url, "appId": options.app, "page": options.page});
                let again = sandbox::site_check_request(&document).expect("it reads back");
                assert_eq!(
                    (again.url, again.app, again.page),
                    (options.url, options.app, options.page)
                );
            }
            Err(err) => refused(err, &["ENTITY_UNPROCESSABLE"]),
        },
    }
});

/// A refusal: one of `codes`, and a response the one error writer builds with its status.
fn refused(err: ApiError, codes: &[&str]) {
    assert_client_error(&err, codes);
    let (status, _, _) = err.status_code_title();
    assert_eq!(err.into_response().status(), status);
}
