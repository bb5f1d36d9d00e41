//! One module per subcommand: clap options whose doc comments are the help text, and `run`.

pub mod fingerprint;
pub mod keygen;
pub mod pubkey;
pub mod token;
