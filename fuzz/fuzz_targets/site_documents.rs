//! The JSON documents the website check fetches from a site: `/.well-known/marketplace-kit`
//! above all, and the OAuth metadata, package manifests and restore/updates answers. The
//! validators report, never panic; a well-known document they pass reads as the library's type
//! and writes back the same; every URL handed to the checker is where its pointer says.
#![no_main]

use altdist::marketplace_kit::{
    AppDataKind, MarketplaceKitConfig, manifest_url, validate_app_data_response, validate_manifest,
    validate_oauth_metadata, validate_well_known, well_known_urls,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        // The checker reports a body that is not JSON before any validator sees it.
        return;
    };
    let problems = validate_well_known(&document);
    let typed = serde_json::from_value::<MarketplaceKitConfig>(document.clone());
    if !problems.iter().any(|problem| problem.is_error()) {
        assert!(
            typed.is_ok(),
            "passes validation but is no MarketplaceKitConfig ({:?}): {document}",
            typed.err()
        );
    }
    if let Ok(config) = typed {
        let written = serde_json::to_value(&config).expect("a config serializes");
        let again: MarketplaceKitConfig =
            serde_json::from_value(written.clone()).expect("a written config reads back");
        assert_eq!(again, config, "{written}");
    }
    for (pointer, url) in well_known_urls(&document) {
        assert_eq!(
            document.pointer(&pointer).and_then(Value::as_str),
            Some(url.as_str()),
            "{pointer} in {document}"
        );
    }
    let _ = validate_oauth_metadata(&document);
    let (_, assets) = validate_manifest(&document);
    for asset in assets {
        let _ = manifest_url(&asset);
    }
    for kind in [AppDataKind::Restore, AppDataKind::Updates] {
        let _ = validate_app_data_response(&document, kind);
    }
    if let Value::String(url) = &document {
        let _ = manifest_url(url);
    }
});
