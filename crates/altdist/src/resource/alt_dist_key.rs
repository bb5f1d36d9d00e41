//! `alternativeDistributionKeys`: see Apple's
//! [Add an alternative distribution key](https://developer.apple.com/documentation/appstoreconnectapi/post-v1-alternativedistributionkeys).

use serde::{Deserialize, Serialize};

use super::app::AppType;
use super::document::{ResourceIdentifier, ResourceLinks};
use super::ids::{AltDistKeyId, AppId};
use super::resource_type;

resource_type!(
    /// The `type` of an alternative distribution key.
    AltDistKeyType,
    "alternativeDistributionKeys"
);

/// An alternative distribution key as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistKey {
    /// Always `alternativeDistributionKeys`.
    #[serde(rename = "type")]
    pub kind: AltDistKeyType,
    /// The key id: the `kid` of install verification tokens.
    pub id: AltDistKeyId,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AltDistKeyAttributes>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of an alternative distribution key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistKeyAttributes {
    /// The SubjectPublicKeyInfo PEM, in canonical spelling (64-column base64, `\n` line ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// The body of `POST /v1/alternativeDistributionKeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistKeyCreateRequest {
    /// The key to create.
    pub data: AltDistKeyCreateData,
}

/// `data` of a key create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistKeyCreateData {
    /// Always `alternativeDistributionKeys`.
    #[serde(rename = "type")]
    pub kind: AltDistKeyType,
    /// Must be absent or `null`: the server chooses key ids. Apple's own example sends `null`.
    #[serde(default)]
    pub id: Option<String>,
    /// The public key.
    pub attributes: AltDistKeyCreateAttributes,
    /// Present to make the key app-specific.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<AltDistKeyCreateRelationships>,
}

/// The attributes of a key create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistKeyCreateAttributes {
    /// A `-----BEGIN PUBLIC KEY-----` PEM of a P-256 key, in any of the spellings clients send.
    pub public_key: String,
}

/// The relationships of a key create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistKeyCreateRelationships {
    /// The app the key signs for; absent, `{}` or `{"data": null}` for none (Apple's document
    /// makes `data` optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppLinkage>,
}

/// `{"data": {"type": "apps", "id": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppLinkage {
    /// The app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ResourceIdentifier<AppType, AppId>>,
}

impl AltDistKeyCreateRequest {
    /// A request for a key with this public key PEM, for one app when `app` is given.
    pub fn new(public_key: impl Into<String>, app: Option<AppId>) -> Self {
        Self {
            data: AltDistKeyCreateData {
                kind: AltDistKeyType::Value,
                id: None,
                attributes: AltDistKeyCreateAttributes {
                    public_key: public_key.into(),
                },
                relationships: app.map(|id| AltDistKeyCreateRelationships {
                    app: Some(AppLinkage {
                        data: Some(ResourceIdentifier {
                            kind: AppType::Value,
                            id,
                        }),
                    }),
                }),
            },
        }
    }

    /// The app the key is to be specific to, if the request names one.
    pub fn app_id(&self) -> Option<&AppId> {
        let linkage = self.data.relationships.as_ref()?.app.as_ref()?;
        linkage.data.as_ref().map(|app| &app.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_matches_apples_example() {
        let request = AltDistKeyCreateRequest::new("PEM", Some(AppId("6476788026".into())));
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"data": {
                "type": "alternativeDistributionKeys",
                "id": null,
                "attributes": {"publicKey": "PEM"},
                "relationships": {"app": {"data": {"type": "apps", "id": "6476788026"}}}
            }})
        );
    }

    #[test]
    fn a_sparse_key_has_no_attributes_member() {
        let key = AltDistKey {
            kind: AltDistKeyType::Value,
            id: AltDistKeyId("52c5cb04-1163-4a30-ad4f-a3433cd6a4f6".into()),
            attributes: None,
            links: None,
        };
        assert_eq!(
            serde_json::to_string(&key).unwrap(),
            r#"{"type":"alternativeDistributionKeys","id":"52c5cb04-1163-4a30-ad4f-a3433cd6a4f6"}"#
        );
    }
}
