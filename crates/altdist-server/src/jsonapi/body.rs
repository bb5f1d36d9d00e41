//! Create documents, read into the library's request types (the ones its client sends), with
//! the contract's distinctions:
//!
//! * 422 `ENTITY_UNPROCESSABLE`: not a document of the expected shape (no `data`, `data` not an
//!   object, no `attributes` object, as when it is misspelled);
//! * 409 `ENTITY_ERROR.ATTRIBUTE.REQUIRED` / `.INVALID`: a well-formed entity with a missing or
//!   unacceptable member (a wrong `type`, a client-chosen `id`, an attribute of the wrong type);
//! * 409 `ENTITY_ERROR.RELATIONSHIP.INVALID`: a malformed relationship.
//!
//! Members a request type does not know are ignored, as JSON:API requires ("implementations MUST
//! ignore members not recognized") and Apple's OpenAPI document allows (no
//! `additionalProperties: false`); a misspelled required member is still caught: it is missing.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// Reads `body` as a create document for resources of `resource_type` into `T`.
pub fn create_document<T: DeserializeOwned>(
    body: Value,
    resource_type: &str,
) -> Result<T, ApiError> {
    check_envelope(&body, resource_type, Attributes::Required)?;
    check_no_id(&body)?;
    serde_path_to_error::deserialize(body).map_err(|err| member_error(&err))
}

/// Reads `body` as a create document that names only relationships (`webhookPings`,
/// `webhookDeliveries`): `attributes` may be left out.
pub fn relationship_document<T: DeserializeOwned>(
    body: Value,
    resource_type: &str,
) -> Result<T, ApiError> {
    check_envelope(&body, resource_type, Attributes::Optional)?;
    check_no_id(&body)?;
    serde_path_to_error::deserialize(body).map_err(|err| member_error(&err))
}

/// Reads `body` as an update document (`PATCH`) of the resource `id`: `data.id` must be `id`,
/// and `attributes` may be left out.
pub fn update_document<T: DeserializeOwned>(
    body: Value,
    resource_type: &str,
    id: &str,
) -> Result<T, ApiError> {
    check_envelope(&body, resource_type, Attributes::Optional)?;
    match body.pointer("/data/id") {
        Some(Value::String(found)) if found == id => {}
        None | Some(Value::Null) => {
            return Err(ApiError::Conflict {
                code: "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
                detail: format!("'id' is missing; it must be \"{id}\", the id in the path"),
                pointer: Some("/data/id".to_owned()),
            });
        }
        Some(found) => {
            return Err(ApiError::invalid_attribute(
                "/data/id",
                format!("'id' is {found}; it must be \"{id}\", the id in the path"),
            ));
        }
    }
    serde_path_to_error::deserialize(body).map_err(|err| member_error(&err))
}

/// Whether a document's `data.attributes` must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attributes {
    Required,
    Optional,
}

/// A create document's `data.id`: absent or `null`, since the server chooses ids.
fn check_no_id(body: &Value) -> Result<(), ApiError> {
    match body.pointer("/data/id") {
        None | Some(Value::Null) => Ok(()),
        Some(found) => Err(ApiError::invalid_attribute(
            "/data/id",
            format!("'id' is {found}; the server chooses ids, send null or leave it out"),
        )),
    }
}

/// The 422s, and the `type` of `data`, which every document shares.
fn check_envelope(
    body: &Value,
    resource_type: &str,
    attributes: Attributes,
) -> Result<(), ApiError> {
    let unprocessable = |detail: String, pointer: &str| ApiError::Unprocessable {
        detail,
        pointer: Some(pointer.to_owned()),
    };
    let document = body.as_object().ok_or_else(|| {
        unprocessable(
            "the body is not a JSON object; send {\"data\": {...}}".to_owned(),
            "",
        )
    })?;
    let data = document
        .get("data")
        .ok_or_else(|| unprocessable("the document has no 'data' member".to_owned(), "/data"))?;
    let data = data.as_object().ok_or_else(|| {
        unprocessable(
            format!("'data' is {}, expected an object", type_name(data)),
            "/data",
        )
    })?;
    match data.get("attributes") {
        Some(Value::Object(_)) => {}
        None if attributes == Attributes::Optional => {}
        None => {
            return Err(unprocessable(
                "'data' has no 'attributes' member".to_owned(),
                "/data/attributes",
            ));
        }
        Some(other) => {
            return Err(unprocessable(
                format!("'attributes' is {}, expected an object", type_name(other)),
                "/data/attributes",
            ));
        }
    }
    match data.get("type") {
        Some(Value::String(found)) if found == resource_type => {}
        Some(found) => {
            return Err(ApiError::invalid_attribute(
                "/data/type",
                format!("'type' is {found}, expected \"{resource_type}\""),
            ));
        }
        None => {
            return Err(ApiError::Conflict {
                code: "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
                detail: format!("'type' is missing; it must be \"{resource_type}\""),
                pointer: Some("/data/type".to_owned()),
            });
        }
    }
    Ok(())
}

/// The 409 for a member the request type refused: the pointer is where serde stopped.
fn member_error(err: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let mut pointer = String::new();
    for segment in err.path().iter() {
        pointer.push('/');
        match segment {
            serde_path_to_error::Segment::Seq { index } => pointer.push_str(&index.to_string()),
            serde_path_to_error::Segment::Map { key } => pointer.push_str(key),
            serde_path_to_error::Segment::Enum { variant } => pointer.push_str(variant),
            serde_path_to_error::Segment::Unknown => pointer.push('?'),
        }
    }
    let message = err.inner().to_string();
    if let Some(rest) = pointer.strip_prefix("/data/relationships/") {
        // The relationship as a whole is what is wrong, wherever inside it serde stopped.
        let name = rest.split('/').next().unwrap_or(rest);
        return ApiError::Conflict {
            code: "ENTITY_ERROR.RELATIONSHIP.INVALID",
            detail: format!(
                "the relationship '{name}' is not {{\"data\": {{\"type\": ..., \"id\": \"...\"}}}}: {message}"
            ),
            pointer: Some(format!("/data/relationships/{name}")),
        };
    }
    if pointer == "/data/relationships" {
        return ApiError::Conflict {
            code: "ENTITY_ERROR.RELATIONSHIP.INVALID",
            detail: format!("'relationships' is not an object of relationships: {message}"),
            pointer: Some(pointer),
        };
    }
    match missing_field(&message) {
        Some(field) => ApiError::Conflict {
            code: "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
            detail: format!("the attribute '{field}' is required"),
            pointer: Some(format!("{pointer}/{field}")),
        },
        None => ApiError::invalid_attribute(&pointer, format!("{pointer}: {message}")),
    }
}

/// The field of serde's "missing field `x`" error. serde reports a missing field at the object
/// that lacks it, and names the field only in this message (`de::Error::missing_field`).
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split_once('`')
        .map(|(field, _)| field)
}

fn type_name(value: &Value) -> &'static str {
    altdist::jwt::json_type_name(value)
}

#[cfg(test)]
mod tests {
    use altdist::resource::AltDistKeyCreateRequest;
    use serde_json::json;

    use super::*;

    fn read(body: Value) -> Result<AltDistKeyCreateRequest, ApiError> {
        create_document(body, "alternativeDistributionKeys")
    }

    fn refusal(body: Value) -> (u16, String, String) {
        match read(body).unwrap_err() {
            ApiError::Unprocessable { pointer, .. } => {
                (422, "ENTITY_UNPROCESSABLE".into(), pointer.unwrap())
            }
            ApiError::Conflict { code, pointer, .. } => (409, code.into(), pointer.unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn serdes_missing_field_message_names_the_field() {
        let err = serde_json::from_value::<AltDistKeyCreateRequest>(
            json!({"data": {"type": "alternativeDistributionKeys", "attributes": {}}}),
        )
        .unwrap_err();
        assert_eq!(missing_field(&err.to_string()), Some("publicKey"));
    }

    #[test]
    fn each_refusal_points_at_its_member() {
        let key = |attributes: Value, extra: Value| {
            let mut data = json!({"type": "alternativeDistributionKeys", "attributes": attributes});
            if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
                data.extend(extra.clone());
            }
            json!({ "data": data })
        };
        assert_eq!(
            refusal(key(json!({}), json!({}))),
            (
                409,
                "ENTITY_ERROR.ATTRIBUTE.REQUIRED".into(),
                "/data/attributes/publicKey".into()
            )
        );
        assert_eq!(
            refusal(key(json!({"publicKey": 42}), json!({}))),
            (
                409,
                "ENTITY_ERROR.ATTRIBUTE.INVALID".into(),
                "/data/attributes/publicKey".into()
            )
        );
        for relationships in [
            json!("x"),
            json!({"app": "x"}),
            json!({"app": {"data": {"type": "users", "id": "1"}}}),
            json!({"app": {"data": {"type": "apps", "id": 1}}}),
        ] {
            let (status, code, pointer) = refusal(key(
                json!({"publicKey": "PEM"}),
                json!({"relationships": relationships}),
            ));
            assert_eq!(
                (status, code.as_str()),
                (409, "ENTITY_ERROR.RELATIONSHIP.INVALID")
            );
            assert!(pointer.starts_with("/data/relationships"), "{pointer}");
        }
        assert_eq!(
            refusal(json!({"data": {"type": "alternativeDistributionKeys", "attributes": "x"}})).0,
            422
        );
    }

    #[test]
    fn empty_relationships_and_unknown_members_are_no_relationship() {
        for relationships in [
            json!({}),
            json!({"app": {}}),
            json!({"app": {"data": null}}),
        ] {
            let request = read(json!({"data": {
                "type": "alternativeDistributionKeys", "id": null,
                "attributes": {"publicKey": "PEM", "color": "red"},
                "relationships": relationships, "extra": 1,
            }}))
            .unwrap();
            assert_eq!(request.app_id(), None);
        }
    }
}
