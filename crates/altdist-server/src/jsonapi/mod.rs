//! JSON:API conventions shared by the routes: query parameters ([`query`]), paging and links
//! ([`mod@paging`]), and create documents ([`body`]), with the contract's 400 / 422 / 409
//! distinctions.

pub mod body;
pub mod paging;
pub mod query;

pub use body::{create_document, relationship_document, update_document};
pub use paging::{paging, paging_after};
pub use query::{Param, ParamKind, Params};

/// Apple's default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 200;
/// The most values one list parameter (`filter[id]=a,b,...`) may hold.
pub const MAX_LIST_VALUES: usize = 200;

/// Whether `fields` (a sparse fieldset, `None` for all) includes `field`.
pub fn wants(fields: Option<&[String]>, field: &str) -> bool {
    fields.is_none_or(|fields| fields.iter().any(|wanted| wanted == field))
}

/// A JSON response body, like [`axum::Json`] but serialized into a buffer sized for a resource
/// document: axum's starts at 128 bytes and grows (three to four reallocations for one key).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Room for a single resource document (a key is about 520 bytes); pages grow from it.
const BODY_CAPACITY: usize = 1024;

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(BODY_CAPACITY);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(err) => crate::error::ApiError::Internal(anyhow::anyhow!(
                "cannot serialize a response: {err}"
            ))
            .into_response(),
        }
    }
}

/// `Some(members)` unless a sparse fieldset left every member out: a resource then carries no
/// `attributes` (or `relationships`) object at all.
pub fn unless_empty<T: Default + PartialEq>(members: T) -> Option<T> {
    (members != T::default()).then_some(members)
}
