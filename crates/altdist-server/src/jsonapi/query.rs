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

/// A query parameter an endpoint takes, as Apple's OpenAPI document declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name, like `fields[apps]`.
    pub name: &'static str,
    /// What its value may be.
    pub kind: ParamKind,
}

/// What a parameter's value may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A whole number in `min..=max`.
    Integer {
        /// The smallest value.
        min: u32,
        /// The largest value.
        max: u32,
    },
    /// A comma-separated list of these values (`fields[...]`, `sort`).
    Enum(&'static [&'static str]),
    /// A comma-separated list of free text (`filter[...]`).
    List,
    /// `true` or `false`.
    Boolean,
    /// An opaque cursor this server wrote in a `links.next`.
    Cursor,
}

impl Param {
    /// `limit`, 1 to [`MAX_LIMIT`].
    pub const LIMIT: Self = Self {
        name: "limit",
        kind: ParamKind::Integer {
            min: 1,
            max: MAX_LIMIT,
        },
    };
    /// `cursor`, which Apple's document leaves out: clients follow `links.next`, which carries it.
    pub const CURSOR: Self = Self {
        name: "cursor",
        kind: ParamKind::Cursor,
    };

    /// A comma-separated list of `values`.
    pub const fn one_of(name: &'static str, values: &'static [&'static str]) -> Self {
        Self {
            name,
            kind: ParamKind::Enum(values),
        }
    }

    /// A comma-separated list of free text.
    pub const fn list(name: &'static str) -> Self {
        Self {
            name,
            kind: ParamKind::List,
        }
    }

    /// `true` or `false`.
    pub const fn boolean(name: &'static str) -> Self {
        Self {
            name,
            kind: ParamKind::Boolean,
        }
    }

    /// Refuses a value this parameter cannot take, naming the parameter (`source.parameter`).
    fn check(&self, value: &str) -> Result<(), ApiError> {
        let name = self.name;
        let invalid = |detail: String| Err(ApiError::invalid_parameter(name, detail));
        if value.is_empty() {
            return invalid(format!(
                "the parameter '{name}' is empty; give it a value or leave it out"
            ));
        }
        match self.kind {
            ParamKind::Integer { min, max } => match value.parse::<u32>() {
                Ok(number) if (min..=max).contains(&number) => Ok(()),
                _ => invalid(format!(
                    "'{name}' is '{value}', not a whole number from {min} to {max}"
                )),
            },
            ParamKind::Boolean if value == "true" || value == "false" => Ok(()),
            ParamKind::Boolean => invalid(format!("'{name}' is '{value}'; expected true or false")),
            ParamKind::Cursor => Ok(()),
            ParamKind::List | ParamKind::Enum(_) => {
                let items: Vec<&str> = value.split(',').collect();
                if items.iter().any(|item| item.is_empty()) {
                    return invalid(format!(
                        "'{name}' has an empty item ('{value}'); separate the values with single commas"
                    ));
                }
                if items.len() > MAX_LIST_VALUES {
                    return invalid(format!(
                        "'{name}' has {} values; give at most {MAX_LIST_VALUES}",
                        items.len()
                    ));
                }
                if let ParamKind::Enum(known) = self.kind
                    && let Some(unknown) = items.iter().find(|item| !known.contains(item))
                {
                    return invalid(format!(
                        "'{unknown}' is not a value of '{name}'; the values are {}",
                        known.join(", ")
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The query parameters of a request, checked against the ones its endpoint takes.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses and checks the query against the parameters the endpoint `takes`: one it does not
    /// take is a 400 `PARAMETER_ERROR.ILLEGAL`; one given twice, empty, with an empty item, or
    /// with a value its declaration does not allow, a 400 `PARAMETER_ERROR.INVALID`.
    pub fn parse(uri: &Uri, takes: &[Param]) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            if name.is_empty() && value.is_empty() {
                continue;
            }
            let Some(param) = takes.iter().find(|param| param.name == name) else {
                let names: Vec<&str> = takes.iter().map(|param| param.name).collect();
                let detail = if names.is_empty() {
                    format!(
                        "the parameter '{name}' is not allowed; this request takes no query parameters"
                    )
                } else {
                    format!(
                        "the parameter '{name}' is not allowed; this request takes {}",
                        names.join(", ")
                    )
                };
                return Err(ApiError::ParameterIllegal {
                    parameter: name.into_owned(),
                    detail,
                });
            };
            if pairs.iter().any(|(seen, _)| seen == &name) {
                return Err(ApiError::invalid_parameter(
                    &name,
                    format!(
                        "the parameter '{name}' is given more than once; give it once, with comma-separated values"
                    ),
                ));
            }
            param.check(&value)?;
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

    /// The items of a list parameter (checked by [`Self::parse`]); `None` when absent.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name)
            .map(|value| value.split(',').map(str::to_owned).collect())
    }

    /// A boolean parameter (checked by [`Self::parse`]); `None` when absent.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).map(|value| value == "true")
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
        // Checked by `parse` when the endpoint takes `limit`.
        let limit = match self.get("limit").map(str::parse::<u32>) {
            None => DEFAULT_LIMIT,
            Some(Ok(limit)) => limit,
            Some(Err(_)) => {
                return Err(ApiError::invalid_parameter(
                    "limit",
                    format!("'limit' is not a whole number from 1 to {MAX_LIMIT}"),
                ));
            }
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

    /// The query string as the server writes it in links: percent-encoded, brackets included;
    /// with `replace_cursor`, that cursor instead of the request's.
    pub fn encode(&self, replace_cursor: Option<&str>) -> String {
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

    const TAKES: &[Param] = &[
        Param::LIMIT,
        Param::CURSOR,
        Param::boolean("exists[app]"),
        Param::list("filter[name]"),
        Param::one_of("fields[apps]", &["name", "sku"]),
    ];

    fn params(query: &str) -> Result<Params, ApiError> {
        Params::parse(&format!("/x?{query}").parse().unwrap(), TAKES)
    }

    fn refused(query: &str) -> (&'static str, String) {
        match params(query).unwrap_err() {
            ApiError::ParameterInvalid { parameter, .. } => ("INVALID", parameter),
            ApiError::ParameterIllegal { parameter, .. } => ("ILLEGAL", parameter),
            other => panic!("{query}: unexpected {other:?}"),
        }
    }

    #[test]
    fn links_encode_brackets() {
        let params = params("fields%5Bapps%5D=name,sku&filter[name]=A%20B").unwrap();
        assert_eq!(
            params.encode(None),
            "fields%5Bapps%5D=name,sku&filter%5Bname%5D=A%20B"
        );
    }

    #[test]
    fn every_declared_kind_refuses_what_it_cannot_take() {
        for (query, parameter) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=99999999999999999999999", "limit"),
            ("limit=", "limit"),
            ("limit=1&limit=2", "limit"),
            ("exists[app]=maybe", "exists[app]"),
            ("exists[app]=", "exists[app]"),
            ("cursor=", "cursor"),
            ("filter[name]=", "filter[name]"),
            ("filter[name]=a,,b", "filter[name]"),
            ("filter[name]=a,", "filter[name]"),
            ("fields[apps]=", "fields[apps]"),
            ("fields[apps]=name,,sku", "fields[apps]"),
            ("fields[apps]=price", "fields[apps]"),
            ("fields[apps]=name,%20sku", "fields[apps]"),
        ] {
            assert_eq!(refused(query), ("INVALID", parameter.to_owned()), "{query}");
        }
        assert_eq!(refused("sort=name"), ("ILLEGAL", "sort".to_owned()));
    }

    #[test]
    fn valid_values_read_back() {
        let params =
            params("limit=200&exists[app]=false&filter[name]=A,B%20C&fields[apps]=sku").unwrap();
        assert_eq!(params.page().unwrap().limit, 200);
        assert_eq!(params.bool("exists[app]"), Some(false));
        assert_eq!(params.list("filter[name]").unwrap(), ["A", "B C"]);
        assert_eq!(params.list("fields[apps]").unwrap(), ["sku"]);
        assert_eq!(params.list("absent"), None);
    }
}
