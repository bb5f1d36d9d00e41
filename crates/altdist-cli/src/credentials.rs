//! App Store Connect API credentials: which key signs API tokens, for which account, at which URL.
//!
//! One base record is chosen, then flags override single fields:
//! 1. `--credentials FILE` (what `altdist serve` writes);
//! 2. `--profile NAME` (or `ALTDIST_PROFILE`), recorded by `altdist login`;
//! 3. the `ASC_*` environment variables CI systems set;
//! 4. the profile named `default`, if there is one.
//!
//! Profiles record paths and ids, never the key itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use altdist::PrivateKey;
use altdist::credentials::CredentialsFile;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::output::hinted;

/// Where the App Store Connect API key comes from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CredentialArgs {
    /// A credentials.json ({"issuer_id", "key_id", "private_key_path", "base_url"}), as `altdist serve` writes.
    #[arg(long, global = true, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// A profile recorded with `altdist login` [env: ALTDIST_PROFILE].
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// API key id, ten characters like 2X9R4HXF34 [env: ASC_KEY_ID].
    #[arg(long, global = true, value_name = "KEY_ID")]
    pub key_id: Option<String>,
    /// Issuer id of the team key's account, a UUID [env: ASC_ISSUER_ID].
    #[arg(long, global = true, value_name = "UUID")]
    pub issuer_id: Option<String>,
    /// The API key's private key, AuthKey_<KEY_ID>.p8 [env: ASC_PRIVATE_KEY_PATH, or the PEM itself in ASC_PRIVATE_KEY].
    #[arg(long, global = true, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// The key is an individual key: tokens carry `sub: user` instead of an issuer id.
    #[arg(long, global = true)]
    pub individual: bool,
}

/// The same sources for commands whose `--private-key` is the alternative distribution key.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ApiKeyArgs {
    /// A credentials.json ({"issuer_id", "key_id", "private_key_path", "base_url"}), as `altdist serve` writes.
    #[arg(long, global = true, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// A profile recorded with `altdist login` [env: ALTDIST_PROFILE].
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// API key id [env: ASC_KEY_ID].
    #[arg(long, global = true, value_name = "KEY_ID")]
    pub key_id: Option<String>,
    /// Issuer id of the team key's account [env: ASC_ISSUER_ID].
    #[arg(long, global = true, value_name = "UUID")]
    pub issuer_id: Option<String>,
    /// The API key's private key, AuthKey_<KEY_ID>.p8 [env: ASC_PRIVATE_KEY_PATH or ASC_PRIVATE_KEY].
    #[arg(long, global = true, value_name = "FILE")]
    pub api_private_key: Option<PathBuf>,
    /// The key is an individual key.
    #[arg(long, global = true)]
    pub individual: bool,
}

impl From<ApiKeyArgs> for CredentialArgs {
    fn from(args: ApiKeyArgs) -> Self {
        Self {
            credentials: args.credentials,
            profile: args.profile,
            key_id: args.key_id,
            issuer_id: args.issuer_id,
            private_key: args.api_private_key,
            individual: args.individual,
        }
    }
}

/// Resolved credentials, the private key loaded.
#[derive(Debug)]
pub struct ApiCredentials {
    pub key_id: String,
    /// `None` for an individual key.
    pub issuer_id: Option<String>,
    pub key: PrivateKey,
    /// The API's base URL, when a credentials file or profile names one.
    pub base_url: Option<String>,
}

/// One source's view of the credentials, before flags override it.
#[derive(Debug, Default)]
struct Record {
    key_id: Option<String>,
    issuer_id: Option<String>,
    key_path: Option<PathBuf>,
    key_pem: Option<String>,
    base_url: Option<String>,
}

impl From<CredentialsFile> for Record {
    fn from(file: CredentialsFile) -> Self {
        Self {
            key_id: Some(file.key_id),
            issuer_id: file.issuer_id,
            key_path: Some(file.private_key_path),
            key_pem: None,
            base_url: file.base_url,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

impl CredentialArgs {
    /// Resolves and loads the credentials, or says which piece is missing.
    pub fn resolve(&self) -> anyhow::Result<ApiCredentials> {
        let mut record = self.base_record()?;
        if let Some(key_id) = &self.key_id {
            record.key_id = Some(key_id.clone());
        }
        if let Some(issuer_id) = &self.issuer_id {
            record.issuer_id = Some(issuer_id.clone());
        }
        if let Some(path) = &self.private_key {
            record.key_path = Some(path.clone());
            record.key_pem = None;
        }
        if self.individual {
            record.issuer_id = None;
        }
        let key_id = record.key_id.ok_or_else(|| {
            hinted(
                "no App Store Connect API key given",
                "pass --credentials altdist-data/credentials.json, or --profile NAME (see `altdist login`), or --key-id/--issuer-id/--private-key, or set ASC_KEY_ID, ASC_ISSUER_ID and ASC_PRIVATE_KEY_PATH",
            )
        })?;
        let key = match (record.key_path, record.key_pem) {
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
            issuer_id: record.issuer_id,
            key,
            base_url: record.base_url,
        })
    }

    fn base_record(&self) -> anyhow::Result<Record> {
        if let Some(path) = &self.credentials {
            return Ok(CredentialsFile::load(path)
                .context("cannot read the credentials file")?
                .into());
        }
        let profile = self.profile.clone().or_else(|| env("ALTDIST_PROFILE"));
        if let Some(name) = profile {
            let mut config = Config::load()?;
            return config.profiles.remove(&name).map(Record::from).ok_or_else(|| {
                hinted(
                    format!("no profile named {name:?} in {}", Config::path().display()),
                    format!(
                        "record it with `altdist login --profile {name} --key-id ... --issuer-id ... --private-key ...`"
                    ),
                )
            });
        }
        let from_env = Record {
            key_id: env("ASC_KEY_ID"),
            issuer_id: env("ASC_ISSUER_ID"),
            key_path: env("ASC_PRIVATE_KEY_PATH").map(PathBuf::from),
            key_pem: env("ASC_PRIVATE_KEY"),
            base_url: None,
        };
        if from_env.key_id.is_some() || self.key_id.is_some() {
            return Ok(from_env);
        }
        Ok(Config::load()?
            .profiles
            .remove(DEFAULT_PROFILE)
            .map(Record::from)
            .unwrap_or_default())
    }
}

/// The profile used when no other source is given.
pub const DEFAULT_PROFILE: &str = "default";

/// The user's altdist configuration: named credential profiles.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, CredentialsFile>,
}

impl Config {
    /// `$ALTDIST_CONFIG`, else `$XDG_CONFIG_HOME/altdist/config.json`, else
    /// `~/.config/altdist/config.json`.
    pub fn path() -> PathBuf {
        if let Some(path) = env("ALTDIST_CONFIG") {
            return PathBuf::from(path);
        }
        let base = env("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("altdist").join("config.json")
    }

    /// Reads the configuration; a missing file is an empty one.
    pub fn load() -> anyhow::Result<Self> {
        let path = Self::path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the configuration, readable only by its owner.
    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        altdist::key::write_secret_file(&json, &path, true)?;
        Ok(path)
    }
}
