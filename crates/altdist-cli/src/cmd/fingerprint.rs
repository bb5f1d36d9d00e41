//! `altdist fingerprint`

use std::path::PathBuf;
use std::process::ExitCode;

use altdist::PublicKey;
use serde::Serialize;

use crate::output;

/// Options of `altdist fingerprint`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// A public or private key file (PEM or DER).
    path: PathBuf,
    /// Print the fingerprint as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Fingerprint<'a> {
    path: &'a std::path::Path,
    fingerprint: String,
}

/// Prints SHA-256 of the key's SubjectPublicKeyInfo DER, the same for a private key and its
/// public half: `openssl pkey -pubout -outform DER | openssl dgst -sha256` prints it too.
pub fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let fingerprint = PublicKey::load(&opts.path)?.fingerprint();
    if opts.json {
        output::print_json(&Fingerprint {
            path: &opts.path,
            fingerprint,
        })?;
    } else {
        println!("{fingerprint}");
    }
    Ok(ExitCode::SUCCESS)
}
