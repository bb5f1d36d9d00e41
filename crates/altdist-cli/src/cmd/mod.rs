//! One module per subcommand: clap options whose doc comments are the help text, and `run`.

pub mod admin;
pub mod apps;
pub mod connection;
pub mod domains;
pub mod fingerprint;
pub mod keygen;
pub mod keys;
pub mod login;
pub mod packages;
pub mod pubkey;
pub mod serve;
pub mod setup;
pub mod site;
pub mod token;
pub mod webhooks;
