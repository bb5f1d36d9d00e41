//! `/.well-known/marketplace-kit`: where the device finds the license, restore and updates
//! endpoints of a domain.
//!
//! The shape comes from two articles: the `license` member from
//! [Licensing alternative distribution apps](https://developer.apple.com/documentation/applicensedeliverysdk/licensing-alternative-distribution-apps),
//! `restore`, `updates` and `overridesByAppleItemID` from
//! [Installing apps from an alternative marketplace](https://developer.apple.com/documentation/marketplacekit/installing-apps-from-an-alternative-marketplace).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Problem, check_https_url, pointer_segment};
use crate::jwt::json_type_name;

/// The path the device reads, on the registered domain.
pub const WELL_KNOWN_PATH: &str = "/.well-known/marketplace-kit";

/// The system calls `updates` at most once a day whatever `pollingInterval` says.
const MINIMUM_POLLING_HOURS: u64 = 24;

/// The `/.well-known/marketplace-kit` document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceKitConfig {
    /// The license server's endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<LicenseConfig>,
    /// The endpoint that answers restore requests: the URL of one app version's package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
    /// The endpoint that answers update requests, and how often the device may ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updates: Option<UpdatesConfig>,
    /// A whole configuration per Apple item id, for apps handled differently.
    #[serde(
        default,
        rename = "overridesByAppleItemID",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub overrides_by_apple_item_id: BTreeMap<String, MarketplaceKitConfig>,
}

/// `license`: the App License Delivery SDK's endpoints and certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseConfig {
    /// Makes licenses for apps and versions new to a device.
    #[serde(rename = "dynamicLicenseURL")]
    pub dynamic_license_url: String,
    /// Renews the licenses of installed apps.
    #[serde(rename = "licenseRenewalURL")]
    pub license_renewal_url: String,
    /// A web page about an expired license.
    #[serde(rename = "licenseResolutionURL")]
    pub license_resolution_url: String,
    /// The certificate that signs licenses.
    #[serde(rename = "signingCertificateURL")]
    pub signing_certificate_url: String,
    /// The certificate the device encrypts license requests with.
    #[serde(rename = "encryptionCertificateURL")]
    pub encryption_certificate_url: String,
}

/// `updates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatesConfig {
    /// The endpoint that answers update requests.
    pub url: String,
    /// The fewest hours between two update requests (at least 24 in effect).
    pub polling_interval: u64,
}

const LICENSE_MEMBERS: [&str; 5] = [
    "dynamicLicenseURL",
    "licenseRenewalURL",
    "licenseResolutionURL",
    "signingCertificateURL",
    "encryptionCertificateURL",
];

/// Every problem of a `/.well-known/marketplace-kit` document, overrides included.
pub fn validate_well_known(document: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    match document {
        Value::Object(object) => validate_config(object, "", true, &mut problems),
        other => problems.push(Problem::error(
            "",
            format!("expected a JSON object, found {}", json_type_name(other)),
        )),
    }
    problems
}

fn validate_config(
    object: &Map<String, Value>,
    parent: &str,
    top: bool,
    problems: &mut Vec<Problem>,
) {
    for name in object.keys() {
        let known = ["license", "restore", "updates"].contains(&name.as_str())
            || (top && name == "overridesByAppleItemID");
        if !known {
            problems.push(Problem::warning(
                format!("{parent}/{}", pointer_segment(name)),
                "not a member Apple documents; the device ignores it at best (a misspelling?)",
            ));
        }
    }
    match object.get("license") {
        Some(Value::Object(license)) => {
            for name in LICENSE_MEMBERS {
                url_member(license, &format!("{parent}/license"), name, problems);
            }
        }
        Some(other) => problems.push(Problem::error(
            format!("{parent}/license"),
            format!(
                "expected an object of the five license URLs, found {}",
                json_type_name(other)
            ),
        )),
        None => problems.push(Problem::error(
            format!("{parent}/license"),
            "required, missing: the device asks the license server before installing \
             (Licensing alternative distribution apps)",
        )),
    }
    url_member(object, parent, "restore", problems);
    match object.get("updates") {
        Some(Value::Object(updates)) => {
            let pointer = format!("{parent}/updates");
            url_member(updates, &pointer, "url", problems);
            match updates.get("pollingInterval") {
                Some(Value::Number(hours)) => match hours.as_u64() {
                    Some(hours) if hours < MINIMUM_POLLING_HOURS => problems.push(Problem::warning(
                        format!("{pointer}/pollingInterval"),
                        format!(
                            "{hours} hours: the system asks at most once every 24 hours whatever \
                             this says, so {hours} means 24"
                        ),
                    )),
                    Some(_) => {}
                    None => problems.push(Problem::error(
                        format!("{pointer}/pollingInterval"),
                        format!("expected a whole number of hours, found {hours}"),
                    )),
                },
                Some(other) => problems.push(Problem::error(
                    format!("{pointer}/pollingInterval"),
                    format!(
                        "expected a whole number of hours, found {}",
                        json_type_name(other)
                    ),
                )),
                None => problems.push(Problem::error(
                    format!("{pointer}/pollingInterval"),
                    "required, missing (hours between update requests)",
                )),
            }
        }
        Some(other) => problems.push(Problem::error(
            format!("{parent}/updates"),
            format!(
                "expected an object {{\"url\", \"pollingInterval\"}}, found {}",
                json_type_name(other)
            ),
        )),
        None => problems.push(Problem::error(
            format!("{parent}/updates"),
            "required, missing: Apple requires a value for restore and updates",
        )),
    }
    if !top {
        return;
    }
    match object.get("overridesByAppleItemID") {
        None => {}
        Some(Value::Object(overrides)) => {
            for (id, config) in overrides {
                let pointer = format!("/overridesByAppleItemID/{}", pointer_segment(id));
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    problems.push(Problem::error(
                        &pointer,
                        format!("expected an Apple item id (digits) as the key, found {id:?}"),
                    ));
                }
                match config {
                    Value::Object(config) => validate_config(config, &pointer, false, problems),
                    other => problems.push(Problem::error(
                        pointer,
                        format!(
                            "expected a whole configuration object, found {}",
                            json_type_name(other)
                        ),
                    )),
                }
            }
        }
        Some(other) => problems.push(Problem::error(
            "/overridesByAppleItemID",
            format!(
                "expected an object keyed by Apple item id, found {}",
                json_type_name(other)
            ),
        )),
    }
}

fn url_member(object: &Map<String, Value>, parent: &str, name: &str, problems: &mut Vec<Problem>) {
    if let Some(url) = super::required_str(object, parent, name, problems) {
        problems.extend(check_https_url(&format!("{parent}/{name}"), url));
    }
}

/// Every URL in the document with its JSON pointer, in document order (overrides last), for
/// a checker to fetch. Members of the wrong type are left out: validation reports them.
pub fn well_known_urls(document: &Value) -> Vec<(String, String)> {
    let mut urls = Vec::new();
    collect(document, "", &mut urls);
    urls
}

fn collect(config: &Value, parent: &str, urls: &mut Vec<(String, String)>) {
    let mut push = |pointer: String, value: Option<&Value>| {
        if let Some(Value::String(url)) = value {
            urls.push((pointer, url.clone()));
        }
    };
    for name in LICENSE_MEMBERS {
        push(
            format!("{parent}/license/{name}"),
            config.pointer(&format!("/license/{name}")),
        );
    }
    push(format!("{parent}/restore"), config.get("restore"));
    push(
        format!("{parent}/updates/url"),
        config.pointer("/updates/url"),
    );
    if let Some(Value::Object(overrides)) = config.get("overridesByAppleItemID") {
        for (id, config) in overrides {
            collect(
                config,
                &format!("/overridesByAppleItemID/{}", pointer_segment(id)),
                urls,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn good() -> Value {
        json!({
            "license": {
                "dynamicLicenseURL": "https://example.com/license",
                "licenseRenewalURL": "https://example.com/renew",
                "licenseResolutionURL": "https://example.com/expired",
                "signingCertificateURL": "https://example.com/signing.cer",
                "encryptionCertificateURL": "https://example.com/encryption.cer"
            },
            "restore": "https://example.com/restore",
            "updates": {"url": "https://example.com/updates", "pollingInterval": 24}
        })
    }

    #[test]
    fn a_complete_document_passes_and_round_trips() {
        assert_eq!(validate_well_known(&good()), vec![]);
        let typed: MarketplaceKitConfig = serde_json::from_value(good()).unwrap();
        assert_eq!(typed.updates.as_ref().unwrap().polling_interval, 24);
        assert_eq!(serde_json::to_value(&typed).unwrap(), good());
        assert_eq!(well_known_urls(&good()).len(), 7);
    }

    #[test]
    fn every_problem_is_reported() {
        let mut document = good();
        document["restore"] = json!("http://example.com/restore");
        document["updates"] = json!({"url": 7});
        document["license"]
            .as_object_mut()
            .unwrap()
            .remove("licenseRenewalURL");
        let problems = validate_well_known(&document);
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/license/licenseRenewalURL",
                "/restore",
                "/updates/url",
                "/updates/pollingInterval"
            ]
        );
        assert!(problems.iter().all(Problem::is_error));
        assert!(problems[1].detail.contains("https://"));
    }

    #[test]
    fn short_polling_and_unknown_members_are_warnings() {
        let mut document = good();
        document["updates"]["pollingInterval"] = json!(1);
        document["restor"] = json!("https://example.com/r");
        let problems = validate_well_known(&document);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|p| !p.is_error()));
    }

    #[test]
    fn overrides_are_whole_configurations() {
        let mut document = good();
        document["overridesByAppleItemID"] =
            json!({"6476788026": {"restore": "https://example.com/r2"}, "x": good()});
        let problems = validate_well_known(&document);
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/overridesByAppleItemID/6476788026/license",
                "/overridesByAppleItemID/6476788026/updates",
                "/overridesByAppleItemID/x"
            ]
        );
        assert!(validate_well_known(&json!([]))[0].detail.contains("array"));
    }

    /// Found by the `site_documents` fuzz target: an item id or member name holding `/` or `~`
    /// gave pointers that led elsewhere in the document.
    #[test]
    fn pointers_escape_slash_and_tilde_in_member_names() {
        let mut document = good();
        document["overridesByAppleItemID"] = json!({"64/76~": good()});
        document["a/b"] = json!(1);
        for (pointer, url) in well_known_urls(&document) {
            assert_eq!(document.pointer(&pointer), Some(&json!(url)), "{pointer}");
        }
        let mut pointers: Vec<String> = validate_well_known(&document)
            .into_iter()
            .map(|problem| problem.pointer)
            .collect();
        pointers.sort();
        assert_eq!(pointers, ["/a~1b", "/overridesByAppleItemID/64~176~0"]);
        assert!(
            document
                .pointer("/overridesByAppleItemID/64~176~0")
                .is_some()
        );
    }
}
