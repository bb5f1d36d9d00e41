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

    /// The parameters each handler takes (`routes::declared_parameters`) are exactly the query
    /// parameters both documents declare for its operation, of the same kind, with the same
    /// values; `cursor` aside, which the documents leave to `links.next`.
    #[test]
    fn declared_parameters_match_both_documents() {
        use crate::jsonapi::ParamKind;
        let declared = super::super::declared_parameters();
        let apple: serde_json::Value = serde_json::from_str(include_str!(
            "../../openapi/app-store-connect-subset.openapi.json"
        ))
        .unwrap();
        let ours: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        for document in [&apple, &ours] {
            for (path, item) in document["paths"].as_object().unwrap() {
                for (method, operation) in item.as_object().unwrap() {
                    let Some(parameters) = operation["parameters"].as_array() else {
                        continue;
                    };
                    let mut in_document: Vec<String> = Vec::new();
                    for parameter in parameters.iter().filter(|p| p["in"] == "query") {
                        let schema = &parameter["schema"];
                        let kind = match schema["type"].as_str() {
                            Some("integer") => {
                                format!("integer {}..{}", schema["minimum"], schema["maximum"])
                            }
                            Some("boolean") => "boolean".to_owned(),
                            Some("array") => match schema["items"]["enum"].as_array() {
                                Some(values) => format!("enum {values:?}"),
                                None => "list".to_owned(),
                            },
                            other => panic!("{method} {path}: a parameter of type {other:?}"),
                        };
                        in_document.push(format!("{} {kind}", parameter["name"].as_str().unwrap()));
                    }
                    let takes = declared
                        .iter()
                        .find(|(m, p, _)| m.as_str().eq_ignore_ascii_case(method) && p == path)
                        .map_or(&[][..], |(_, _, takes)| takes);
                    let mut in_code: Vec<String> = takes
                        .iter()
                        .filter_map(|param| {
                            let kind = match param.kind {
                                ParamKind::Integer { min, max } => format!("integer {min}..{max}"),
                                ParamKind::Boolean => "boolean".to_owned(),
                                ParamKind::List => "list".to_owned(),
                                ParamKind::Enum(values) => format!(
                                    "enum {:?}",
                                    values
                                        .iter()
                                        .map(|value| serde_json::Value::from(*value))
                                        .collect::<Vec<_>>()
                                ),
                                ParamKind::Cursor => return None,
                            };
                            Some(format!("{} {kind}", param.name))
                        })
                        .collect();
                    in_document.sort();
                    in_code.sort();
                    assert_eq!(in_code, in_document, "{method} {path}");
                }
            }
        }
        // Every declared operation is in the document (a typo in a path would hide a drift).
        for (method, path, _) in &declared {
            assert!(
                ours["paths"][path][method.as_str().to_ascii_lowercase()].is_object(),
                "{method} {path}"
            );
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
