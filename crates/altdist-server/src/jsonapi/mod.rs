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
