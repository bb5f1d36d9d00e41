//! `altdist login`: record a named credential profile.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use altdist::PrivateKey;
use altdist::credentials::CredentialsFile;
use anyhow::Context as _;
use serde::Serialize;

use crate::credentials::{Config, DEFAULT_PROFILE};
use crate::output::{self, hinted};

/// Options of `altdist login`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The profile's name; `default` is used when a command names no credentials.
    #[arg(long, default_value = DEFAULT_PROFILE)]
    profile: String,
    /// Take the ids, key path and base URL from this credentials.json.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key_id", "issuer_id", "private_key"])]
    credentials: Option<PathBuf>,
    /// API key id.
    #[arg(long, value_name = "KEY_ID", required_unless_present = "credentials")]
    key_id: Option<String>,
    /// Issuer id of the team key's account.
    #[arg(long, value_name = "UUID", required_unless_present_any = ["credentials", "individual"])]
    issuer_id: Option<String>,
    /// The API key's private key file (the path is recorded, never the key).
    #[arg(long, value_name = "FILE", required_unless_present = "credentials")]
    private_key: Option<PathBuf>,
    /// The key is an individual key.
    #[arg(long, conflicts_with = "issuer_id")]
    individual: bool,
    /// The API's base URL [default: App Store Connect's].
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Saved<'a> {
    profile: &'a str,
    config_path: &'a Path,
    #[serde(flatten)]
    credentials: &'a CredentialsFile,
}

/// Checks the key loads, then records absolute paths and ids in the config file.
pub fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let mut credentials = match &opts.credentials {
        Some(path) => CredentialsFile::load(path).context("cannot read the credentials file")?,
        None => CredentialsFile {
            issuer_id: if opts.individual {
                None
            } else {
                opts.issuer_id.clone()
            },
            key_id: opts.key_id.clone().unwrap_or_default(),
            private_key_path: opts.private_key.clone().unwrap_or_default(),
            base_url: None,
        },
    };
    if opts.base_url.is_some() {
        credentials.base_url = opts.base_url.clone();
    }
    let key_path = &credentials.private_key_path;
    PrivateKey::load(key_path).map_err(|err| {
        hinted(
            format!("{err:#}"),
            "login records the path of the API key's .p8 file; check that it exists and is readable",
        )
    })?;
    credentials.private_key_path = std::path::absolute(key_path)
        .with_context(|| format!("cannot resolve {}", key_path.display()))?;
    let mut config = Config::load()?;
    config
        .profiles
        .insert(opts.profile.clone(), credentials.clone());
    let path = config.save()?;
    if opts.json {
        output::print_json(&Saved {
            profile: &opts.profile,
            config_path: &path,
            credentials: &credentials,
        })?;
    } else {
        println!(
            "saved profile {:?} in {} (key {}; the key file stays where it is)",
            opts.profile,
            path.display(),
            credentials.key_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
