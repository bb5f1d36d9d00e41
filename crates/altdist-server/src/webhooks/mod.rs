//! Webhook delivery: the events altdist reports ([`events`]), where deliveries may go
//! ([`targets`]), and the worker that posts them ([`Outbox`]).
//!
//! Storage, the outbox table included, is in [`crate::db::webhooks`]; the API in
//! [`crate::routes::webhooks`].

pub mod events;
mod outbox;
pub mod targets;

pub use outbox::{FIRST_RETRY_WITHIN, Outbox, OutboxSettings};
pub use targets::TargetPolicy;
