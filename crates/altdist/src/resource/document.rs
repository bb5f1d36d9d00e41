//! Documents, links, paging and errors: the JSON:API frame around every resource.

use serde::{Deserialize, Serialize};

/// A document holding one resource (`*Response` in Apple's OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document<T> {
    /// The resource.
    pub data: T,
    /// `self`: the URL this document was read from.
    pub links: DocumentLinks,
}

/// A page of a collection (`*sResponse` in Apple's OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionDocument<T> {
    /// The resources of this page.
    pub data: Vec<T>,
    /// `self`, and `next` exactly when there is a next page.
    pub links: PagedDocumentLinks,
    /// The paging counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<PagingInformation>,
}

/// A document holding one resource and the related resources `include` asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompoundDocument<T, I> {
    /// The resource.
    pub data: T,
    /// The related resources `include` named; absent when it named none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<I>>,
    /// `self`: the URL this document was read from.
    pub links: DocumentLinks,
}

/// A page of a collection and the related resources `include` asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompoundCollectionDocument<T, I> {
    /// The resources of this page.
    pub data: Vec<T>,
    /// The related resources `include` named; absent when it named none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<I>>,
    /// `self`, and `next` exactly when there is a next page.
    pub links: PagedDocumentLinks,
    /// The paging counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<PagingInformation>,
}

/// A to-many relationship document: a page of `{type, id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkagesDocument<T, I> {
    /// The related resources of this page.
    pub data: Vec<ResourceIdentifier<T, I>>,
    /// `self`, and `next` exactly when there is a next page.
    pub links: PagedDocumentLinks,
    /// The paging counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<PagingInformation>,
}

/// The `links` of a single-resource document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentLinks {
    /// The document's own URL.
    #[serde(rename = "self")]
    pub self_link: String,
}

/// The `links` of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagedDocumentLinks {
    /// This page's URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// The first page's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// The next page's URL; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `meta` of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagingInformation {
    /// The counts.
    pub paging: Paging,
}

/// How many resources there are and how many a page holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    /// Resources in the whole collection (after filters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The page size asked for (or the default).
    pub limit: u32,
    /// The opaque cursor of the next page, also in `links.next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `links` of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLinks {
    /// The resource's own URL.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
}

/// `links` of a relationship inside a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationshipLinks {
    /// The relationship endpoint (`.../relationships/x`).
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    /// The related resource endpoint (`.../x`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<String>,
}

/// `{type, id}`: a reference to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceIdentifier<T, I> {
    /// The resource type.
    #[serde(rename = "type")]
    pub kind: T,
    /// The resource id.
    pub id: I,
}

/// A to-one relationship document: `{data: {type, id}, links: {self, related}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkageDocument<T, I> {
    /// The related resource.
    pub data: ResourceIdentifier<T, I>,
    /// The relationship's URLs.
    pub links: LinkageLinks,
}

/// The `links` of a relationship document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkageLinks {
    /// The relationship endpoint.
    #[serde(rename = "self")]
    pub self_link: String,
    /// The related resource endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<String>,
}

/// Every error response: `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// One or more errors.
    pub errors: Vec<ResponseError>,
}

/// One error. Clients match `code` by prefix: it is hierarchical (`ENTITY_ERROR.ATTRIBUTE.INVALID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseError {
    /// A unique id for this occurrence, to quote in a bug report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// The machine-readable code.
    pub code: String,
    /// A short summary of the kind of error.
    pub title: String,
    /// What exactly was wrong and what would be accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The part of the request to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
    /// Where to read more, and the resource the error is about (for a duplicate, the existing
    /// one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ErrorLinks>,
}

impl ResponseError {
    /// The JSON pointer of `source`, when the error blames a member of the request body.
    pub fn pointer(&self) -> Option<&str> {
        match &self.source {
            Some(ErrorSource::Pointer { pointer }) => Some(pointer),
            _ => None,
        }
    }

    /// The id of the resource `links.associated` names, when that is a URL ending in
    /// `/{resource_type}/{id}` (like `.../v1/alternativeDistributionKeys/{id}`).
    pub fn associated_id(&self, resource_type: &str) -> Option<&str> {
        let href = self.links.as_ref()?.associated.as_ref()?.href()?;
        let path = href.split(['?', '#']).next()?;
        let (rest, id) = path.rsplit_once('/')?;
        (rest.rsplit('/').next() == Some(resource_type) && !id.is_empty()).then_some(id)
    }
}

/// `links` of an error (`ErrorLinks` in Apple's OpenAPI document).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorLinks {
    /// A page explaining the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// The resource the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated: Option<AssociatedLink>,
}

/// `links.associated` of an error: a URL, or an object with the URL in `href`; Apple's OpenAPI
/// document allows both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AssociatedLink {
    /// The resource's URL.
    Url(String),
    /// `{href, meta}`.
    Link {
        /// The resource's URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        href: Option<String>,
        /// `{source}`: which part of the request the association comes from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        meta: Option<serde_json::Value>,
    },
}

impl AssociatedLink {
    /// The URL, in either form.
    pub fn href(&self) -> Option<&str> {
        match self {
            Self::Url(url) => Some(url),
            Self::Link { href, .. } => href.as_deref(),
        }
    }
}

/// The part of a request an error blames: a JSON pointer into the body or a query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorSource {
    /// A member of the request body, like `/data/attributes/publicKey`.
    Pointer {
        /// The JSON pointer.
        pointer: String,
    },
    /// A query parameter, like `limit`.
    Parameter {
        /// The parameter name.
        parameter: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_sources_serialize_as_one_member() {
        let pointer = ErrorSource::Pointer {
            pointer: "/data/type".into(),
        };
        assert_eq!(
            serde_json::to_string(&pointer).unwrap(),
            r#"{"pointer":"/data/type"}"#
        );
        let parameter: ErrorSource = serde_json::from_str(r#"{"parameter":"limit"}"#).unwrap();
        assert_eq!(
            parameter,
            ErrorSource::Parameter {
                parameter: "limit".into()
            }
        );
    }

    #[test]
    fn the_associated_link_names_the_resource_in_either_form() {
        let url = "http://127.0.0.1:8080/v1/alternativeDistributionKeys/6f06a6a4-0000";
        for links in [
            serde_json::json!({"associated": url}),
            serde_json::json!({"associated": {"href": url, "meta": {"source": "x"}}}),
        ] {
            let error: ResponseError = serde_json::from_value(serde_json::json!({
                "status": "409", "code": "ENTITY_ERROR", "title": "t", "links": links,
            }))
            .unwrap();
            assert_eq!(
                error.associated_id("alternativeDistributionKeys"),
                Some("6f06a6a4-0000")
            );
            assert_eq!(error.associated_id("apps"), None);
        }
        let bare: ResponseError = serde_json::from_value(
            serde_json::json!({"status": "409", "code": "ENTITY_ERROR", "title": "t"}),
        )
        .unwrap();
        assert_eq!(bare.links, None);
        assert_eq!(bare.associated_id("alternativeDistributionKeys"), None);
        assert!(!serde_json::to_string(&bare).unwrap().contains("links"));
    }

    #[test]
    fn paging_is_camel_case_and_skips_absent_members() {
        let paging = Paging {
            total: Some(3),
            limit: 50,
            next_cursor: None,
        };
        assert_eq!(
            serde_json::to_string(&paging).unwrap(),
            r#"{"total":3,"limit":50}"#
        );
    }
}
