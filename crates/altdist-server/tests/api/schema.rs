//! Checks every response body the suite sees against `app-store-connect-subset.openapi.json`.
//!
//! The response schema is the one the OpenAPI document gives for the operation and status;
//! errors of paths or methods the document does not list are checked as `ErrorResponse`.
//! `$ref`s resolve inside the document, and `format`s (`uri-reference`, `date-time`) are checked.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Apple's OpenAPI document, the slice altdist implements (version 4.4.1), kept in the repository
/// so that every clone validates against it.
pub fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/app-store-connect-subset.openapi.json")
}

/// The OpenAPI document.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(spec_path())
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", spec_path().display()));
        serde_json::from_str(&text).expect("the OpenAPI subset is not JSON")
    })
}

fn validator(spec: &Value, schema: &str) -> &'static jsonschema::Validator {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let mut validators = VALIDATORS.get_or_init(Default::default).lock().unwrap();
    validators.entry(schema.to_owned()).or_insert_with(|| {
        // The whole document is the root, so "#/components/schemas/..." refs resolve; its other
        // members are unknown keywords to JSON Schema and ignored.
        let mut root = spec.clone();
        root["$ref"] = Value::String(schema.to_owned());
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|err| panic!("cannot compile {schema}: {err}"));
        Box::leak(Box::new(validator))
    })
}

/// Validates `instance` against the component schema `name` (like `ErrorResponse`).
pub fn validate(name: &str, instance: &Value) -> Result<(), Vec<String>> {
    let validator = validator(spec(), &format!("#/components/schemas/{name}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|err| format!("{} at {}", err, err.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// The schema the document gives for this response, if it names one.
fn response_schema(
    spec: &Value,
    method: &Method,
    path: &str,
    status: StatusCode,
) -> Option<String> {
    let paths = spec["paths"].as_object()?;
    let operation = paths
        .iter()
        .find(|(template, _)| template_matches(template, path))
        .map(|(_, item)| &item[method.as_str().to_ascii_lowercase()])?;
    let reference =
        operation["responses"][status.as_str()]["content"]["application/json"]["schema"]["$ref"]
            .as_str()?;
    Some(
        reference
            .trim_start_matches("#/components/schemas/")
            .to_owned(),
    )
}

pub static CHECKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Panics unless the response body is what the document says for this response.
pub fn check(method: &Method, path: &str, status: StatusCode, headers: &HeaderMap, body: &str) {
    if status == StatusCode::NO_CONTENT || method == Method::HEAD {
        assert!(
            body.is_empty(),
            "{method} {path}: {status} with a body: {body}"
        );
        return;
    }
    if status == StatusCode::NOT_ACCEPTABLE {
        // The contract answers 406 in plain text: the client said it cannot read JSON.
        return;
    }
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{method} {path}: {status} with Content-Type {content_type:?}: {body}"
    );
    let instance: Value = serde_json::from_str(body)
        .unwrap_or_else(|err| panic!("{method} {path}: {status} body is not JSON ({err}): {body}"));
    if path == "/health" && (status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE)
    {
        assert!(
            instance["status"].is_string() && instance["version"].is_string(),
            "{body}"
        );
        return;
    }
    let schema = match response_schema(spec(), method, path, status) {
        Some(schema) => schema,
        None if status.is_client_error() || status.is_server_error() => "ErrorResponse".to_owned(),
        None => panic!("{method} {path}: the OpenAPI subset has no {status} response"),
    };
    if let Err(errors) = validate(&schema, &instance) {
        panic!(
            "{method} {path}: the {status} body does not validate against {schema}:\n  {}\n{body}",
            errors.join("\n  ")
        );
    }
    if schema == "ErrorResponse" {
        // The OpenAPI document makes `errors` optional; the contract does not.
        assert!(
            instance["errors"]
                .as_array()
                .is_some_and(|errors| !errors.is_empty()),
            "{method} {path}: an error response without errors: {body}"
        );
    }
    CHECKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

#[test]
fn the_validator_refuses_bodies_that_break_the_schema() {
    let bad_status =
        serde_json::json!({"errors": [{"status": 404, "code": "NOT_FOUND", "title": "x"}]});
    assert!(validate("ErrorResponse", &bad_status).is_err());
    let bracket_link =
        serde_json::json!({"data": [], "links": {"self": "http://x/v1/apps?fields[apps]=name"}});
    assert!(
        validate("AppsResponse", &bracket_link).is_err(),
        "unencoded brackets are not a URI reference"
    );
    let good = serde_json::json!({"data": [], "links": {"self": "http://x/v1/apps?fields%5Bapps%5D=name"}, "meta": {"paging": {"total": 0, "limit": 50}}});
    assert!(validate("AppsResponse", &good).is_ok());
}
