//! Black-box tests of the API: the real router on a real socket, driven over HTTP.

mod apps;
mod auth;
mod common;
mod concurrency;
mod domains;
mod errors;
mod keys;
mod sandbox;
mod schema;
