//! `alternativeDistributionDomains`: see Apple's
//! [Add an alternative distribution domain](https://developer.apple.com/documentation/appstoreconnectapi/post-v1-alternativedistributiondomains).

use serde::{Deserialize, Serialize};

use super::document::ResourceLinks;
use super::ids::AltDistDomainId;
use super::resource_type;

resource_type!(
    /// The `type` of an alternative distribution domain.
    AltDistDomainType,
    "alternativeDistributionDomains"
);

/// A domain web distribution may install from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistDomain {
    /// Always `alternativeDistributionDomains`.
    #[serde(rename = "type")]
    pub kind: AltDistDomainType,
    /// The domain's id.
    pub id: AltDistDomainId,
    /// Absent when a sparse fieldset leaves out every attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<AltDistDomainAttributes>,
    /// `self`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ResourceLinks>,
}

/// The attributes of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistDomainAttributes {
    /// The domain name, like `example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// A name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_name: Option<String>,
    /// When it was created, RFC 3339 in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
}

/// The body of `POST /v1/alternativeDistributionDomains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistDomainCreateRequest {
    /// The domain to create.
    pub data: AltDistDomainCreateData,
}

/// `data` of a domain create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltDistDomainCreateData {
    /// Always `alternativeDistributionDomains`.
    #[serde(rename = "type")]
    pub kind: AltDistDomainType,
    /// Both attributes are required.
    pub attributes: AltDistDomainCreateAttributes,
}

/// The attributes of a domain create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AltDistDomainCreateAttributes {
    /// The domain name, like `example.com`.
    pub domain: String,
    /// A name for people.
    pub reference_name: String,
}

impl AltDistDomainCreateRequest {
    /// A request for `domain` named `reference_name`.
    pub fn new(domain: impl Into<String>, reference_name: impl Into<String>) -> Self {
        Self {
            data: AltDistDomainCreateData {
                kind: AltDistDomainType::Value,
                attributes: AltDistDomainCreateAttributes {
                    domain: domain.into(),
                    reference_name: reference_name.into(),
                },
            },
        }
    }
}
