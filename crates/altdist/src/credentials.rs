//! `credentials.json`: where an App Store Connect API key lives and which server it is for.
//!
//! `altdist serve` writes one on first start; the client commands and `altdist token api` read it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The contents of a `credentials.json` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsFile {
    /// The account's issuer id; `null` for an individual key.
    pub issuer_id: Option<String>,
    /// The API key id, the `kid` of every token.
    pub key_id: String,
    /// The `.p8` private key; a relative path is relative to the credentials file.
    pub private_key_path: PathBuf,
    /// The API's base URL, e.g. `http://127.0.0.1:8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl CredentialsFile {
    /// Reads a credentials file, resolving `private_key_path` against the file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let io_err = |source| {
            Error::new(ErrorKind::Io {
                path: path.to_owned(),
                source,
            })
        };
        let text = std::fs::read_to_string(path).map_err(io_err)?;
        let mut credentials: Self = serde_json::from_str(&text).map_err(|err| {
            io_err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a credentials file ({err}); expected {{\"issuer_id\", \"key_id\", \"private_key_path\", \"base_url\"}}"),
            ))
        })?;
        if credentials.private_key_path.is_relative()
            && let Some(dir) = path.parent()
        {
            credentials.private_key_path = dir.join(&credentials.private_key_path);
        }
        Ok(credentials)
    }

    /// Writes the file as pretty JSON, readable only by its owner.
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<(), Error> {
        let mut json = serde_json::to_string_pretty(self).map_err(|err| {
            Error::new(ErrorKind::Token(format!(
                "cannot encode credentials: {err}"
            )))
        })?;
        json.push('\n');
        crate::key::write_secret_file(&json, path, overwrite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_key_paths_resolve_next_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let credentials = CredentialsFile {
            issuer_id: Some("57246542-96fe-1a63-e053-0824d011072a".into()),
            key_id: "2X9R4HXF34".into(),
            private_key_path: "AuthKey_2X9R4HXF34.p8".into(),
            base_url: Some("http://127.0.0.1:8080".into()),
        };
        credentials.save(&path, false).unwrap();
        let loaded = CredentialsFile::load(&path).unwrap();
        assert_eq!(
            loaded.private_key_path,
            dir.path().join("AuthKey_2X9R4HXF34.p8")
        );
        assert_eq!(loaded.key_id, credentials.key_id);
    }
}
