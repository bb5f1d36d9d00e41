//! Black-box tests of the API: the real router on a real socket, driven over HTTP.

// First: its `backend_test!` macro is used by the modules after it.
#[macro_use]
mod common;
mod apps;
mod auth;
mod concurrency;
mod console;
mod domains;
mod errors;
mod keys;
mod packages;
mod rate_limit;
mod sandbox;
mod schema;
mod webhooks;
