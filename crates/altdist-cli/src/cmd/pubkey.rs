//! `altdist pubkey`

use std::path::PathBuf;
use std::process::ExitCode;

use altdist::PublicKey;
use anyhow::Context as _;
use serde::Serialize;

use crate::output;

/// Options of `altdist pubkey`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The private key (SEC1 or PKCS#8, PEM or DER), or a public key to rewrite canonically.
    #[arg(long = "in", short, default_value = "private_key.pem")]
    input: PathBuf,
    /// Write the public key here instead of printing it.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Print the public key and its fingerprint as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Public {
    public_key: String,
    fingerprint: String,
}

/// Prints or writes the SubjectPublicKeyInfo PEM.
pub fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let key = PublicKey::load(&opts.input)?;
    let pem = key.to_pem();
    if let Some(out) = &opts.out {
        std::fs::write(out, &pem).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if opts.json {
        output::print_json(&Public {
            public_key: pem,
            fingerprint: key.fingerprint(),
        })?;
    } else if opts.out.is_none() {
        print!("{pem}");
    }
    Ok(ExitCode::SUCCESS)
}
