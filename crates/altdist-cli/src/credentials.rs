//! App Store Connect API credentials: which key signs API tokens, for which account.
//!
//! Sources, strongest first: flags; a `credentials.json` given with `--credentials` (what
//! `altdist serve` writes); the `ASC_*` environment variables CI systems set.

use std::path::PathBuf;

use altdist::PrivateKey;
use altdist::credentials::CredentialsFile;
use anyhow::Context as _;

use crate::output::hinted;

/// Where the App Store Connect API key comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct CredentialArgs {
    /// A credentials.json ({"issuer_id", "key_id", "private_key_path", "base_url"}), as `altdist serve` writes.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// API key id, ten characters like 2X9R4HXF34 [env: ASC_KEY_ID].
    #[arg(long, value_name = "KEY_ID")]
    pub key_id: Option<String>,
    /// Issuer id of the team key's account, a UUID [env: ASC_ISSUER_ID].
    #[arg(long, value_name = "UUID")]
    pub issuer_id: Option<String>,
    /// The API key's private key, AuthKey_<KEY_ID>.p8 [env: ASC_PRIVATE_KEY_PATH, or the PEM itself in ASC_PRIVATE_KEY].
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// The key is an individual key: tokens carry `sub: user` instead of an issuer id.
    #[arg(long)]
    pub individual: bool,
}

/// Resolved credentials, the private key loaded.
#[derive(Debug)]
pub struct ApiCredentials {
    pub key_id: String,
    /// `None` for an individual key.
    pub issuer_id: Option<String>,
    pub key: PrivateKey,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

impl CredentialArgs {
    /// Resolves and loads the credentials, or says which piece is missing.
    pub fn resolve(&self) -> anyhow::Result<ApiCredentials> {
        let file = self
            .credentials
            .as_ref()
            .map(|path| {
                CredentialsFile::load(path).with_context(|| "cannot read the credentials file")
            })
            .transpose()?;
        let from_env = file.is_none();
        let key_id = self
            .key_id
            .clone()
            .or_else(|| file.as_ref().map(|file| file.key_id.clone()))
            .or_else(|| from_env.then(|| env("ASC_KEY_ID")).flatten())
            .ok_or_else(|| {
                hinted(
                    "no API key id given",
                    "pass --credentials altdist-data/credentials.json, or --key-id, or set ASC_KEY_ID",
                )
            })?;
        let issuer_id = if self.individual {
            None
        } else {
            self.issuer_id
                .clone()
                .or_else(|| file.as_ref().and_then(|file| file.issuer_id.clone()))
                .or_else(|| from_env.then(|| env("ASC_ISSUER_ID")).flatten())
        };
        if issuer_id.is_none() && !self.individual && file.is_none() {
            return Err(hinted(
                "no issuer id given",
                "pass --issuer-id or set ASC_ISSUER_ID (App Store Connect > Users and Access > Integrations); for an individual key pass --individual",
            ));
        }
        let key_path = self
            .private_key
            .clone()
            .or_else(|| file.as_ref().map(|file| file.private_key_path.clone()))
            .or_else(|| {
                from_env
                    .then(|| env("ASC_PRIVATE_KEY_PATH").map(PathBuf::from))
                    .flatten()
            });
        let key = match (key_path, from_env.then(|| env("ASC_PRIVATE_KEY")).flatten()) {
            (Some(path), _) => PrivateKey::load(&path)?,
            (None, Some(pem)) => PrivateKey::from_pem(&pem)
                .context("ASC_PRIVATE_KEY does not hold a usable private key")?,
            (None, None) => {
                return Err(hinted(
                    "no API private key given",
                    "pass --private-key AuthKey_XXXXXXXXXX.p8, or set ASC_PRIVATE_KEY_PATH or ASC_PRIVATE_KEY",
                ));
            }
        };
        Ok(ApiCredentials {
            key_id,
            issuer_id,
            key,
        })
    }
}
