//! [`Params`]: a request's query parameters, checked against the ones its endpoint takes.

use axum::http::Uri;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::paging::CursorKind;
use super::{DEFAULT_LIMIT, MAX_LIMIT, MAX_LIST_VALUES};
use crate::app::AppState;
use crate::db::{Page, PageAfter};
use crate::error::ApiError;

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
    pub(super) fn encode(&self, replace_cursor: Option<&str>) -> String {
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

pub(super) fn with_query(mut url: String, query: &str) -> String {
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str, allowed: &[&str]) -> Result<Params, ApiError> {
        Params::parse(&format!("/x?{query}").parse().unwrap(), allowed)
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
