//! Restore and update requests, and their answers: how the device gets an app version's package.
//!
//! See "Serve a restore request", "Serve an app update request" and "Indicate app
//! unavailability" in Apple's
//! [Installing apps from an alternative marketplace](https://developer.apple.com/documentation/marketplacekit/installing-apps-from-an-alternative-marketplace).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Problem, check_https_url, required_id, required_str};
use crate::jwt::json_type_name;

/// Which of the two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppDataKind {
    /// `restore`: answers `restores`.
    Restore,
    /// `updates`: answers `updates`.
    Updates,
}

impl AppDataKind {
    /// The member of the answer that holds the packages: `restores` or `updates`.
    pub fn answer_member(self) -> &'static str {
        match self {
            Self::Restore => "restores",
            Self::Updates => "updates",
        }
    }
}

/// What the device POSTs to `restore` and to `updates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppDataRequest {
    /// The apps asked for.
    pub apps: Vec<RequestedApp>,
    /// The device's platform. Apple's example writes `"iOS"` here while the package manifest's
    /// `platforms` writes `"ios"`: compare case-insensitively.
    pub platform: String,
    /// The device's OS version, like `"17.4"`.
    pub os_version: String,
}

/// One app of an [`AppDataRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestedApp {
    /// The app's Apple item id.
    pub apple_item_id: String,
    /// The version the device has or asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple_version_id: Option<String>,
}

/// The answer of `restore` or `updates`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppDataResponse {
    /// A restore's packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restores: Vec<AppDataEntry>,
    /// An update's packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<AppDataEntry>,
    /// The apps the server cannot provide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

/// One package of a restore or update answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppDataEntry {
    /// The app's Apple item id.
    pub apple_item_id: String,
    /// The version of the package.
    pub apple_version_id: String,
    /// The assembled package's URL, on the page's host.
    pub alternative_distribution_package: String,
    /// A fresh install verification token.
    pub install_verification_token: String,
    /// `CFBundleVersion`; required in an update answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_version: Option<String>,
    /// `CFBundleShortVersionString`; required in an update answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_version_string: Option<String>,
    /// The app's landing page, for the Share Sheet.
    #[serde(
        default,
        rename = "appShareURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_share_url: Option<String>,
}

/// One app the server cannot provide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// The app's Apple item id.
    pub apple_item_id: String,
    /// The version asked for.
    pub apple_version_id: String,
    /// Why.
    pub failure: FailureDetail,
}

/// `failure` of a [`Failure`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetail {
    /// `404` for an app no longer available, the only code Apple documents.
    pub code: u16,
    /// For people.
    pub description: String,
}

/// Every problem of a restore or update answer. `failures` entries that are well formed are
/// not problems: a checker reports them as the device reads them.
pub fn validate_app_data_response(document: &Value, kind: AppDataKind) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Value::Object(object) = document else {
        problems.push(Problem::error(
            "",
            format!("expected a JSON object, found {}", json_type_name(document)),
        ));
        return problems;
    };
    let member = kind.answer_member();
    let entries = array_member(object, member, &mut problems);
    let failures = array_member(object, "failures", &mut problems);
    if entries.is_none() && failures.is_none() && !object.contains_key(member) {
        problems.push(Problem::error(
            format!("/{member}"),
            format!("required, missing: the answer holds \"{member}\", \"failures\" or both"),
        ));
    }
    for (index, entry) in entries.into_iter().flatten().enumerate() {
        let pointer = format!("/{member}/{index}");
        let Value::Object(entry) = entry else {
            problems.push(Problem::error(
                pointer,
                format!("expected an object, found {}", json_type_name(entry)),
            ));
            continue;
        };
        required_id(entry, &pointer, "appleItemId", &mut problems);
        required_id(entry, &pointer, "appleVersionId", &mut problems);
        if let Some(url) = required_str(
            entry,
            &pointer,
            "alternativeDistributionPackage",
            &mut problems,
        ) {
            problems.extend(check_https_url(
                &format!("{pointer}/alternativeDistributionPackage"),
                url,
            ));
        }
        required_str(entry, &pointer, "installVerificationToken", &mut problems);
        if kind == AppDataKind::Updates {
            required_str(entry, &pointer, "bundleVersion", &mut problems);
            required_str(entry, &pointer, "shortVersionString", &mut problems);
        }
        match entry.get("appShareURL") {
            None => {}
            Some(Value::String(url)) => {
                problems.extend(check_https_url(&format!("{pointer}/appShareURL"), url));
            }
            Some(other) => problems.push(Problem::error(
                format!("{pointer}/appShareURL"),
                format!("expected a URL string, found {}", json_type_name(other)),
            )),
        }
    }
    for (index, failure) in failures.into_iter().flatten().enumerate() {
        let pointer = format!("/failures/{index}");
        let Value::Object(failure) = failure else {
            problems.push(Problem::error(
                pointer,
                format!("expected an object, found {}", json_type_name(failure)),
            ));
            continue;
        };
        required_id(failure, &pointer, "appleItemId", &mut problems);
        required_id(failure, &pointer, "appleVersionId", &mut problems);
        match failure.get("failure") {
            Some(Value::Object(detail)) => {
                match detail.get("code").and_then(Value::as_u64) {
                    Some(404) => {}
                    Some(code) => problems.push(Problem::warning(
                        format!("{pointer}/failure/code"),
                        format!(
                            "{code}: Apple documents only 404 (app not available); what the device \
                             shows for another code is not documented"
                        ),
                    )),
                    None => problems.push(Problem::error(
                        format!("{pointer}/failure/code"),
                        "expected a numeric code such as 404",
                    )),
                }
                required_str(
                    detail,
                    &format!("{pointer}/failure"),
                    "description",
                    &mut problems,
                );
            }
            Some(other) => problems.push(Problem::error(
                format!("{pointer}/failure"),
                format!(
                    "expected an object {{\"code\", \"description\"}}, found {}",
                    json_type_name(other)
                ),
            )),
            None => problems.push(Problem::error(
                format!("{pointer}/failure"),
                "required, missing",
            )),
        }
    }
    problems
}

fn array_member<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a Vec<Value>> {
    match object.get(name)? {
        Value::Array(items) => Some(items),
        other => {
            problems.push(Problem::error(
                format!("/{name}"),
                format!("expected an array, found {}", json_type_name(other)),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry() -> Value {
        json!({
            "appleItemId": "6476788026",
            "appleVersionId": "2000000001",
            "alternativeDistributionPackage": "https://example.com/packages/6476788026/1",
            "installVerificationToken": "a.b.c",
            "bundleVersion": "1",
            "shortVersionString": "1.0"
        })
    }

    #[test]
    fn well_formed_answers_pass() {
        let restore = json!({"restores": [entry()]});
        assert_eq!(
            validate_app_data_response(&restore, AppDataKind::Restore),
            vec![]
        );
        let typed: AppDataResponse = serde_json::from_value(restore).unwrap();
        assert_eq!(typed.restores[0].apple_item_id, "6476788026");
        let updates = json!({"updates": [], "failures": [
            {"appleItemId": "1", "appleVersionId": "2", "failure": {"code": 404, "description": "App unavailable."}}
        ]});
        assert_eq!(
            validate_app_data_response(&updates, AppDataKind::Updates),
            vec![]
        );
    }

    #[test]
    fn a_missing_token_and_update_fields_are_errors() {
        let mut broken = entry();
        broken
            .as_object_mut()
            .unwrap()
            .remove("installVerificationToken");
        broken.as_object_mut().unwrap().remove("shortVersionString");
        let problems =
            validate_app_data_response(&json!({"updates": [broken]}), AppDataKind::Updates);
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/updates/0/installVerificationToken",
                "/updates/0/shortVersionString"
            ]
        );
        let problems = validate_app_data_response(&json!({}), AppDataKind::Restore);
        assert_eq!(problems[0].pointer, "/restores");
    }

    #[test]
    fn numeric_ids_and_other_failure_codes_are_warnings() {
        let mut numeric = entry();
        numeric["appleItemId"] = json!(6476788026_u64);
        let answer = json!({"restores": [numeric], "failures": [
            {"appleItemId": "1", "appleVersionId": "2", "failure": {"code": 410, "description": "gone"}}
        ]});
        let problems = validate_app_data_response(&answer, AppDataKind::Restore);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|p| !p.is_error()));
    }
}
