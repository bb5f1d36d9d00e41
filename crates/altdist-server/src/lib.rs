//! `altdist serve` and `altdist admin`: a server that App Store Connect clients can talk to
//! unchanged, for alternative distribution keys, domains and apps.
//!
//! [`build_router`] is the whole API; the binary and the black-box tests both call it.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod jsonapi;
pub mod rate_limit;
pub mod replay;
pub mod router;
pub mod routes;
pub mod sandbox;

pub use app::AppState;
pub use config::Config;
pub use db::Db;
pub use error::ApiError;
pub use router::build_router;
