//! JSON:API conventions shared by the routes: query parameters, sparse fieldsets, paging, links,
//! and reading create documents with the contract's 400 / 422 / 409 distinctions.

use altdist::resource::{PagedDocumentLinks, Paging, PagingInformation};
use axum::http::Uri;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::db::{Page, PageAfter};
use crate::error::ApiError;

/// Apple's default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 200;
/// The most values one list parameter (`filter[id]=a,b,...`) may hold.
pub const MAX_LIST_VALUES: usize = 200;

/// What a link leaves unencoded: RFC 3986 unreserved characters, and `,` which separates list
/// values. `[` and `]` are encoded, as strict URI references require.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b',');

/// The query parameters of a request, checked against the ones its endpoint takes.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses the query; a parameter the endpoint does not take is a 400
    /// `PARAMETER_ERROR.ILLEGAL`, one given twice a 400 `PARAMETER_ERROR.INVALID`.
    pub fn parse(uri: &Uri, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            if name.is_empty() && value.is_empty() {
                continue;
            }
            if !allowed.contains(&name.as_ref()) {
                let detail = if allowed.is_empty() {
                    format!(
                        "the parameter '{name}' is not allowed; this request takes no query parameters"
                    )
                } else {
                    format!(
                        "the parameter '{name}' is not allowed; this request takes {}",
                        allowed.join(", ")
                    )
                };
                return Err(ApiError::ParameterIllegal {
                    parameter: name.into_owned(),
                    detail,
                });
            }
            if pairs.iter().any(|(seen, _)| seen == &name) {
                return Err(ApiError::invalid_parameter(
                    &name,
                    format!(
                        "the parameter '{name}' is given more than once; give it once, with comma-separated values"
                    ),
                ));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { pairs })
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(seen, _)| seen == name)
            .map(|(_, value)| value.as_str())
    }

    /// A comma-separated list; `None` when absent, an error when too long.
    ///
    /// An empty value is an empty list: `fields[apps]=` asks for no attributes (JSON:API), and an
    /// empty filter or sort does nothing. Apple's OpenAPI document declares these parameters as
    /// arrays without `minItems`, so an empty one is a valid request.
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let values: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect();
        if values.len() > MAX_LIST_VALUES {
            return Err(ApiError::invalid_parameter(
                name,
                format!(
                    "the parameter '{name}' has {} values; give at most {MAX_LIST_VALUES}",
                    values.len()
                ),
            ));
        }
        Ok(Some(values))
    }

    /// A sparse fieldset `fields[<type>]`: `None` means every field.
    pub fn fields(
        &self,
        resource_type: &str,
        known: &[&str],
    ) -> Result<Option<Vec<String>>, ApiError> {
        let name = format!("fields[{resource_type}]");
        let Some(fields) = self.list(&name)? else {
            return Ok(None);
        };
        if let Some(unknown) = fields.iter().find(|field| !known.contains(&field.as_str())) {
            return Err(ApiError::invalid_parameter(
                &name,
                format!(
                    "'{unknown}' is not a field of {resource_type}; the fields are {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(Some(fields))
    }

    /// A boolean parameter, `true` or `false`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid_parameter(
                name,
                format!("the parameter '{name}' is '{other}'; expected true or false"),
            )),
        }
    }

    /// `limit` and `cursor` as a page by position, for a list sorted as the client chose.
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page {
            offset: self.cursor(CursorKind::Offset)?,
            limit: self.limit()?,
        })
    }

    /// `limit` and `cursor` as the page after a row, for a list in insertion order.
    pub fn page_after(&self) -> Result<PageAfter, ApiError> {
        Ok(PageAfter {
            after: self.cursor(CursorKind::After)?,
            limit: self.limit()?,
        })
    }

    fn limit(&self) -> Result<i64, ApiError> {
        let limit = match self.get("limit") {
            None => DEFAULT_LIMIT,
            Some(value) => value
                .parse::<u32>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "limit",
                        format!("the limit '{value}' is not a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        Ok(i64::from(limit))
    }

    /// The cursor's value; 0, the start of the list, without one.
    fn cursor(&self, kind: CursorKind) -> Result<i64, ApiError> {
        match self.get("cursor") {
            None => Ok(0),
            Some(cursor) => kind.decode(cursor).ok_or_else(|| {
                ApiError::invalid_parameter(
                    "cursor",
                    "the cursor is not one this endpoint wrote; use the links.next URL of the previous page, or start again from the first page",
                )
            }),
        }
    }

    /// The query string as the server writes it in links: percent-encoded, brackets included.
    fn encode(&self, replace_cursor: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|(name, _)| replace_cursor.is_none() || name != "cursor")
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        if let Some(cursor) = replace_cursor {
            pairs.push(("cursor", cursor));
        }
        pairs
            .iter()
            .map(|(name, value)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(name, QUERY_VALUE),
                    utf8_percent_encode(value, QUERY_VALUE)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The absolute URL of `path` with these parameters.
    pub fn self_link(&self, state: &AppState, path: &str) -> String {
        with_query(state.url(path), &self.encode(None))
    }
}

fn with_query(mut url: String, query: &str) -> String {
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// What a cursor holds: a position (`{"offset":N}`), or the `seq` of the last row shown
/// (`{"after":N}`); base64url JSON, opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CursorKind {
    Offset,
    After,
}

impl CursorKind {
    fn name(self) -> &'static str {
        match self {
            Self::Offset => "offset",
            Self::After => "after",
        }
    }

    fn encode(self, value: i64) -> String {
        URL_SAFE_NO_PAD.encode(format!("{{\"{}\":{value}}}", self.name()))
    }

    fn decode(self, cursor: &str) -> Option<i64> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        value.get(self.name())?.as_i64().filter(|value| *value >= 0)
    }
}

/// `links` and `meta` of a page by position: `shown` resources from `page.offset`, of `total`.
pub fn paging(
    state: &AppState,
    path: &str,
    params: &Params,
    page: Page,
    shown: usize,
    total: i64,
) -> (PagedDocumentLinks, PagingInformation) {
    let end = page
        .offset
        .saturating_add(i64::try_from(shown).unwrap_or(i64::MAX));
    let next_cursor = (shown > 0 && end < total).then(|| CursorKind::Offset.encode(end));
    paging_links(state, path, params, page.limit, next_cursor, total)
}

/// `links` and `meta` of a page in insertion order: `next` is the page after it, if any
/// ([`crate::db::split_page`]), of `total`.
pub fn paging_after(
    state: &AppState,
    path: &str,
    params: &Params,
    page: PageAfter,
    next: Option<PageAfter>,
    total: i64,
) -> (PagedDocumentLinks, PagingInformation) {
    let next_cursor = next.map(|next| CursorKind::After.encode(next.after));
    paging_links(state, path, params, page.limit, next_cursor, total)
}

fn paging_links(
    state: &AppState,
    path: &str,
    params: &Params,
    limit: i64,
    next_cursor: Option<String>,
    total: i64,
) -> (PagedDocumentLinks, PagingInformation) {
    let next = next_cursor
        .as_deref()
        .map(|cursor| with_query(state.url(path), &params.encode(Some(cursor))));
    (
        PagedDocumentLinks {
            self_link: params.self_link(state, path),
            first: None,
            next,
        },
        PagingInformation {
            paging: Paging {
                total: Some(u64::try_from(total).unwrap_or(0)),
                limit: u32::try_from(limit).unwrap_or(DEFAULT_LIMIT),
                next_cursor,
            },
        },
    )
}

/// Reads the `data` of a create document for resources of `resource_type`.
///
/// No `data`, `data` not an object, or no `attributes` (as when it is misspelled) are a 422: not
/// a document of the expected shape. A wrong `type` or a client-chosen `id` is a 409: a
/// well-formed entity with unacceptable data.
pub fn create_data<'a>(
    body: &'a Value,
    resource_type: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    let document = body.as_object().ok_or_else(|| ApiError::Unprocessable {
        detail: "the body is not a JSON object; send {\"data\": {...}}".to_owned(),
        pointer: Some(String::new()),
    })?;
    let data = document
        .get("data")
        .ok_or_else(|| ApiError::Unprocessable {
            detail: "the document has no 'data' member".to_owned(),
            pointer: Some("/data".to_owned()),
        })?;
    let data = data.as_object().ok_or_else(|| ApiError::Unprocessable {
        detail: format!(
            "'data' is {}, expected an object",
            altdist::jwt::json_type_name(data)
        ),
        pointer: Some("/data".to_owned()),
    })?;
    // Members this endpoint does not know are ignored, as JSON:API requires ("implementations
    // MUST ignore members not recognized") and Apple's OpenAPI document allows (no
    // `additionalProperties: false`). A misspelled required member is still caught: it is missing.
    if !data.contains_key("attributes") {
        return Err(ApiError::Unprocessable {
            detail: "'data' has no 'attributes' member".to_owned(),
            pointer: Some("/data/attributes".to_owned()),
        });
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
    match data.get("id") {
        None | Some(Value::Null) => {}
        Some(found) => {
            return Err(ApiError::invalid_attribute(
                "/data/id",
                format!("'id' is {found}; the server chooses ids, send null or leave it out"),
            ));
        }
    }
    Ok(data)
}

/// The `attributes` object of `data`; attributes the endpoint does not know are ignored.
pub fn attributes(data: &Map<String, Value>) -> Result<&Map<String, Value>, ApiError> {
    let attributes = data.get("attributes").unwrap_or(&Value::Null);
    let attributes = attributes
        .as_object()
        .ok_or_else(|| ApiError::Unprocessable {
            detail: format!(
                "'attributes' is {}, expected an object",
                altdist::jwt::json_type_name(attributes)
            ),
            pointer: Some("/data/attributes".to_owned()),
        })?;
    Ok(attributes)
}

/// A required string attribute.
pub fn required_string<'a>(
    attributes: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a str, ApiError> {
    let pointer = format!("/data/attributes/{name}");
    match attributes.get(name) {
        Some(Value::String(value)) => Ok(value),
        None | Some(Value::Null) => Err(ApiError::Conflict {
            code: "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
            detail: format!("the attribute '{name}' is required"),
            pointer: Some(pointer),
        }),
        Some(other) => Err(ApiError::invalid_attribute(
            &pointer,
            format!(
                "'{name}' is {}, expected a string",
                altdist::jwt::json_type_name(other)
            ),
        )),
    }
}

/// The id of a to-one relationship `name` to resources of `resource_type`, if given.
pub fn to_one(
    data: &Map<String, Value>,
    name: &str,
    resource_type: &str,
) -> Result<Option<String>, ApiError> {
    let Some(relationships) = data.get("relationships") else {
        return Ok(None);
    };
    let pointer = format!("/data/relationships/{name}");
    let invalid = |detail: String| ApiError::Conflict {
        code: "ENTITY_ERROR.RELATIONSHIP.INVALID",
        detail,
        pointer: Some(pointer.clone()),
    };
    let relationships = relationships
        .as_object()
        .ok_or_else(|| ApiError::Conflict {
            code: "ENTITY_ERROR.RELATIONSHIP.INVALID",
            detail: format!(
                "'relationships' is {}, expected an object",
                altdist::jwt::json_type_name(relationships)
            ),
            pointer: Some("/data/relationships".to_owned()),
        })?;
    // Other relationships are ignored like any unknown member. Apple's OpenAPI document makes
    // `data` optional inside the relationship, so `{}` and `{"data": null}` both mean "none".
    let Some(relationship) = relationships.get(name) else {
        return Ok(None);
    };
    let relationship = relationship.as_object().ok_or_else(|| {
        invalid(format!(
            "'{name}' must be {{\"data\": {{\"type\": \"{resource_type}\", \"id\": ...}}}}"
        ))
    })?;
    let Some(linkage) = relationship.get("data") else {
        return Ok(None);
    };
    if linkage.is_null() {
        return Ok(None);
    }
    let (Some(Value::String(kind)), Some(Value::String(id))) =
        (linkage.get("type"), linkage.get("id"))
    else {
        return Err(invalid(format!(
            "'{name}.data' must be {{\"type\": \"{resource_type}\", \"id\": \"...\"}} with string members"
        )));
    };
    if kind != resource_type {
        return Err(invalid(format!(
            "'{name}.data.type' is \"{kind}\", expected \"{resource_type}\""
        )));
    }
    Ok(Some(id.clone()))
}

/// Whether `fields` (a sparse fieldset, `None` for all) includes `field`.
pub fn wants(fields: Option<&[String]>, field: &str) -> bool {
    fields.is_none_or(|fields| fields.iter().any(|wanted| wanted == field))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str, allowed: &[&str]) -> Result<Params, ApiError> {
        Params::parse(&format!("/x?{query}").parse().unwrap(), allowed)
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for kind in [CursorKind::Offset, CursorKind::After] {
            assert_eq!(kind.decode(&kind.encode(150)), Some(150));
            assert_eq!(kind.decode("not a cursor"), None);
            let negative = URL_SAFE_NO_PAD.encode(format!("{{\"{}\":-1}}", kind.name()));
            assert_eq!(kind.decode(&negative), None);
        }
        // A cursor of one kind is no cursor of the other: each list reads only its own.
        assert_eq!(
            CursorKind::After.decode(&CursorKind::Offset.encode(3)),
            None
        );
        assert!(matches!(
            params(
                &format!("cursor={}", CursorKind::Offset.encode(3)),
                &["cursor"]
            )
            .unwrap()
            .page_after(),
            Err(ApiError::ParameterInvalid { .. })
        ));
    }

    #[test]
    fn links_encode_brackets() {
        let params = params(
            "fields%5Bapps%5D=name,sku&filter[name]=A%20B",
            &["fields[apps]", "filter[name]"],
        )
        .unwrap();
        assert_eq!(
            params.encode(None),
            "fields%5Bapps%5D=name,sku&filter%5Bname%5D=A%20B"
        );
    }

    #[test]
    fn limits_and_unknown_parameters() {
        assert!(matches!(
            params("limit=0", &["limit"]).unwrap().page(),
            Err(ApiError::ParameterInvalid { .. })
        ));
        assert!(matches!(
            params("limit=201", &["limit"]).unwrap().page(),
            Err(ApiError::ParameterInvalid { .. })
        ));
        assert!(matches!(
            params("limit=99999999999999999999999", &["limit"])
                .unwrap()
                .page(),
            Err(ApiError::ParameterInvalid { .. })
        ));
        assert_eq!(
            params("limit=200", &["limit"])
                .unwrap()
                .page()
                .unwrap()
                .limit,
            200
        );
        assert!(matches!(
            params("sort=name", &["limit"]),
            Err(ApiError::ParameterIllegal { .. })
        ));
        assert!(matches!(
            params("limit=1&limit=2", &["limit"]),
            Err(ApiError::ParameterInvalid { .. })
        ));
    }
}
