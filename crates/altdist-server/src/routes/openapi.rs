//! `GET /openapi.json`: the API this server implements, as an OpenAPI 3 document.

use axum::http::header;
use axum::response::IntoResponse;

/// Apple's alternative distribution subset (unchanged) plus the sandbox and `/health`. Its server
/// URL is relative (`/`), so the document is right whatever address or public URL serves it.
pub const DOCUMENT: &str = include_str!("../../openapi/altdist.openapi.json");

/// `GET /openapi.json`
pub async fn find_openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_openapi_3_with_every_route() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        assert!(document["openapi"].as_str().unwrap().starts_with("3."));
        for path in [
            "/v1/alternativeDistributionKeys",
            "/v1/alternativeDistributionKeys/{id}",
            "/v1/alternativeDistributionDomains",
            "/v1/alternativeDistributionDomains/{id}",
            "/v1/apps",
            "/v1/apps/{id}",
            "/v1/apps/{id}/alternativeDistributionKey",
            "/v1/apps/{id}/relationships/alternativeDistributionKey",
            "/sandbox/v1/installVerificationTokens/verify",
            "/sandbox/v1/marketplaceTokens/verify",
            "/health",
        ] {
            assert!(document["paths"].get(path).is_some(), "{path}");
        }
    }

    /// Apple's part must stay exactly Apple's: the operations and schemas of Apple's document
    /// (the repository's copy of the slice altdist implements) appear unchanged in ours.
    #[test]
    fn apples_part_is_unchanged() {
        let text = include_str!("../../openapi/app-store-connect-subset.openapi.json");
        let apple: serde_json::Value = serde_json::from_str(text).unwrap();
        let ours: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        for (path, item) in apple["paths"].as_object().unwrap() {
            assert_eq!(&ours["paths"][path], item, "{path} differs from Apple's");
        }
        for (name, schema) in apple["components"]["schemas"].as_object().unwrap() {
            assert_eq!(
                &ours["components"]["schemas"][name], schema,
                "schema {name} differs from Apple's"
            );
        }
        assert_eq!(
            ours["components"]["securitySchemes"],
            apple["components"]["securitySchemes"]
        );
    }
}
