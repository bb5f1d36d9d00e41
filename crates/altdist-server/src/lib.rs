//! `altdist serve` and `altdist admin`: a server that App Store Connect clients can talk to
//! unchanged, for alternative distribution keys, domains and apps.
//!
//! [`Server`] runs it (`Server::new(config).run()`); [`build_router`] is the whole API, which the
//! black-box tests serve too; [`admin`] holds what `altdist admin` does, as functions.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod delta;
pub mod error;
pub mod extract;
pub mod jsonapi;
pub mod negotiation;
pub mod package_store;
pub mod rate_limit;
pub mod request_id;
pub mod router;
pub mod routes;
pub mod sandbox;
pub mod server;
pub mod webhooks;

pub use app::AppState;
pub use config::Config;
pub use db::Db;
pub use error::ApiError;
pub use router::build_router;
pub use server::Server;
