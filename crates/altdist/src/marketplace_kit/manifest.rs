//! An assembled alternative distribution package: `manifest.json`, `signature`, `variant/`,
//! `delta/` under one base URL.
//!
//! See Apple's [Ingesting an alternative distribution package](https://developer.apple.com/documentation/marketplacekit/ingesting-an-alternative-distribution-package).

use serde_json::Value;

use super::{Problem, required_id, required_str};
use crate::jwt::json_type_name;

/// The manifest's file name under the package's base URL.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The signature's file name under the package's base URL.
pub const SIGNATURE_FILE: &str = "signature";

/// The manifest's URL for a package URL.
///
/// With it, a warning when the package URL names the manifest itself: Apple says the device reads the folder "according to the
/// alternativeDistributionPackage parameter" without saying whether it points at the folder
/// or the file.
pub fn manifest_url(package_url: &str) -> (String, Option<Problem>) {
    if package_url.ends_with(&format!("/{MANIFEST_FILE}")) {
        return (
            package_url.to_owned(),
            Some(Problem::warning(
                "alternativeDistributionPackage",
                "names manifest.json itself; Apple's examples give the package's base URL (the \
                 folder holding manifest.json, signature, variant/ and delta/)",
            )),
        );
    }
    (
        format!("{}/{MANIFEST_FILE}", package_url.trim_end_matches('/')),
        None,
    )
}

/// Every problem of a package manifest, and the asset paths it names (relative to the
/// package's base URL), for a checker to fetch.
pub fn validate_manifest(manifest: &Value) -> (Vec<Problem>, Vec<String>) {
    let mut problems = Vec::new();
    let mut assets = Vec::new();
    let Value::Object(object) = manifest else {
        problems.push(Problem::error(
            "",
            format!("expected a JSON object, found {}", json_type_name(manifest)),
        ));
        return (problems, assets);
    };
    if !object
        .get("distributionPackageRevision")
        .is_some_and(Value::is_u64)
    {
        problems.push(Problem::error(
            "/distributionPackageRevision",
            "expected a whole number (1 in Apple's example)",
        ));
    }
    required_id(object, "", "appleItemId", &mut problems);
    required_id(object, "", "appleVersionId", &mut problems);
    for name in ["bundleId", "shortVersionString", "bundleVersion"] {
        required_str(object, "", name, &mut problems);
    }
    match object.get("platforms") {
        Some(Value::Array(platforms))
            if !platforms.is_empty() && platforms.iter().all(Value::is_string) => {}
        _ => problems.push(Problem::error(
            "/platforms",
            "expected a non-empty array of platform names such as \"ios\"",
        )),
    }
    if !object
        .get("minimumSystemVersions")
        .is_some_and(Value::is_object)
    {
        problems.push(Problem::error(
            "/minimumSystemVersions",
            "expected an object of minimum OS versions by platform, like {\"ios\": \"17.2\"}",
        ));
    }
    for (member, folder, required) in [("variants", "variant/", true), ("deltas", "delta/", false)]
    {
        let items = match object.get(member) {
            Some(Value::Array(items)) => items,
            None if !required => continue,
            _ => {
                problems.push(Problem::error(
                    format!("/{member}"),
                    "expected an array of assets (publicId, assetPath)",
                ));
                continue;
            }
        };
        if required && items.is_empty() {
            problems.push(Problem::error(
                format!("/{member}"),
                "empty: a package needs at least one variant to install",
            ));
        }
        for (index, item) in items.iter().enumerate() {
            let pointer = format!("/{member}/{index}");
            let Value::Object(item) = item else {
                problems.push(Problem::error(pointer, "expected an object"));
                continue;
            };
            required_str(item, &pointer, "publicId", &mut problems);
            let Some(path) = required_str(item, &pointer, "assetPath", &mut problems) else {
                continue;
            };
            if path.starts_with('/')
                || path.split('/').any(|part| part == "..")
                || path.contains("://")
            {
                problems.push(Problem::error(
                    format!("{pointer}/assetPath"),
                    format!("expected a path relative to the package's base URL, found {path:?}"),
                ));
            } else {
                if !path.starts_with(folder) {
                    problems.push(Problem::warning(
                        format!("{pointer}/assetPath"),
                        format!(
                            "{path:?} is not under {folder}, where Apple's layout puts {member}"
                        ),
                    ));
                }
                assets.push(path.to_owned());
            }
        }
    }
    (problems, assets)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn manifest() -> Value {
        json!({
            "distributionPackageRevision": 1,
            "appleItemId": "10738181399",
            "bundleId": "com.example.birds",
            "shortVersionString": "1.5",
            "bundleVersion": "1",
            "appleVersionId": "2000013060",
            "platforms": ["ios"],
            "minimumSystemVersions": {"ios": "17.2"},
            "requiredDeviceCapabilities": ["arm64"],
            "variants": [{"publicId": "2197", "assetPath": "variant/2197.ipa"}],
            "deltas": [{"publicId": "ffbc", "assetPath": "delta/ffbc.ipa"}]
        })
    }

    #[test]
    fn apples_example_passes() {
        let (problems, assets) = validate_manifest(&manifest());
        assert_eq!(problems, vec![]);
        assert_eq!(assets, ["variant/2197.ipa", "delta/ffbc.ipa"]);
    }

    #[test]
    fn every_problem_is_reported() {
        let mut broken = manifest();
        broken["variants"] = json!([{"publicId": "1", "assetPath": "../etc/passwd"}]);
        broken.as_object_mut().unwrap().remove("bundleId");
        let (problems, assets) = validate_manifest(&broken);
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/bundleId", "/variants/0/assetPath"]);
        assert_eq!(assets, ["delta/ffbc.ipa"]);
    }

    #[test]
    fn manifest_urls() {
        assert_eq!(
            manifest_url("https://a.com/packages/1/").0,
            "https://a.com/packages/1/manifest.json"
        );
        let (url, warning) = manifest_url("https://a.com/p/manifest.json");
        assert_eq!(url, "https://a.com/p/manifest.json");
        assert!(warning.is_some());
    }
}
