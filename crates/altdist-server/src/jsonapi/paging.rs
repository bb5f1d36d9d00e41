//! Paging: opaque cursors, and the `links` and `meta.paging` of a page.

use altdist::resource::{PagedDocumentLinks, Paging, PagingInformation};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::DEFAULT_LIMIT;
use super::query::{Params, with_query};
use crate::app::AppState;
use crate::db::{Page, PageAfter};

/// What a cursor holds: a position (`{"offset":N}`), or the `seq` of the last row shown
/// (`{"after":N}`); base64url JSON, opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKind {
    /// A position in a list sorted as the client chose.
    Offset,
    /// The `seq` of the last row shown, for a list in insertion order.
    After,
}

impl CursorKind {
    fn name(self) -> &'static str {
        match self {
            Self::Offset => "offset",
            Self::After => "after",
        }
    }

    /// The cursor for `value`.
    pub fn encode(self, value: i64) -> String {
        URL_SAFE_NO_PAD.encode(format!("{{\"{}\":{value}}}", self.name()))
    }

    /// The value of a cursor of this kind; `None` for anything else (another kind's, a negative
    /// value, garbage).
    pub fn decode(self, cursor: &str) -> Option<i64> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn params(query: &str) -> Result<Params, ApiError> {
        let takes = [super::super::Param::LIMIT, super::super::Param::CURSOR];
        Params::parse(&format!("/x?{query}").parse().unwrap(), &takes)
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
            params(&format!("cursor={}", CursorKind::Offset.encode(3)))
                .unwrap()
                .page_after(),
            Err(ApiError::ParameterInvalid { .. })
        ));
    }
}
