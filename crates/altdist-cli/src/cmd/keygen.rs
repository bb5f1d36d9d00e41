//! `altdist keygen`

use std::path::PathBuf;
use std::process::ExitCode;

use altdist::PrivateKey;
use serde::Serialize;

use crate::output;

/// Options of `altdist keygen`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Where to write the private key.
    #[arg(long, short, default_value = "private_key.pem")]
    out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
    /// Write PKCS#8 (`BEGIN PRIVATE KEY`) instead of SEC1 (`BEGIN EC PRIVATE KEY`).
    #[arg(long)]
    pkcs8: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Generated<'a> {
    private_key_path: &'a std::path::Path,
    public_key: String,
    fingerprint: String,
}

/// Writes a new key; the private key never reaches stdout.
pub fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let key = PrivateKey::generate()?;
    let pem = if opts.pkcs8 {
        key.to_pkcs8_pem()?
    } else {
        key.to_sec1_pem()?
    };
    altdist::key::write_secret_file(&pem, &opts.out, opts.force)?;
    let generated = Generated {
        private_key_path: &opts.out,
        public_key: key.public_key().to_pem(),
        fingerprint: key.public_key().fingerprint(),
    };
    if opts.json {
        output::print_json(&generated)?;
    } else {
        println!(
            "wrote {} (mode 0600; keep it secret, never commit it)",
            opts.out.display()
        );
        println!("fingerprint {}", generated.fingerprint);
        println!(
            "next: altdist pubkey --in {} --out public_key.pem",
            opts.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
