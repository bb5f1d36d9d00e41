//! [`PackageStore`]: the files of App Store versions and packages, and the signed URLs that
//! download them.
//!
//! Files are named by their SHA-256, so a variant shared by two versions is stored once and a
//! name never points at other bytes. Download URLs work like Apple's pre-signed ones: no bearer
//! token, an `accessKey` that carries the expiry and an HMAC-SHA-256 over the path and that
//! expiry, made with a secret all servers on the database share.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::OnceCell;

use crate::db::{self, Db};

/// Where download URLs are served: `/downloads/{sha256}/{file name}`.
pub const DOWNLOADS_PREFIX: &str = "/downloads/";

/// How long a download URL works by default (`--download-url-ttl`).
///
/// Apple does not document the lifetime of its pre-signed package URLs: its examples show only that the first field of
/// `accessKey` is the expiry in Unix seconds, equal to `urlExpirationDate`, not when the URL was
/// made (docs/API.md, "Packages"). An hour leaves a client time to fetch large variants one by
/// one.
pub const DEFAULT_URL_TTL: Duration = Duration::from_secs(3600);

/// The package files on disk and the key that signs their URLs.
#[derive(Debug)]
pub struct PackageStore {
    dir: PathBuf,
    url_ttl: Duration,
    key: OnceCell<hmac::Key>,
}

/// Why a download URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    /// No `accessKey`, or one not of the form altdist writes.
    #[error("the download URL has no valid accessKey; use the url exactly as the API returned it")]
    Malformed,
    /// The signature does not match the path and expiry.
    #[error(
        "the download URL's accessKey does not match its path; use the url exactly as the API returned it"
    )]
    Tampered,
    /// The URL expired.
    #[error(
        "the download URL expired at {0}; read the resource again (GET it from the API) for a fresh url"
    )]
    Expired(String),
}

impl PackageStore {
    /// A store in `dir`, writing URLs that live `url_ttl`.
    pub fn new(dir: impl Into<PathBuf>, url_ttl: Duration) -> Self {
        Self {
            dir: dir.into(),
            url_ttl,
            key: OnceCell::new(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file of checksum `sha256` lives; `None` unless `sha256` is 64 lower-case hex
    /// digits, so no client string becomes a path.
    pub fn file_path(&self, sha256: &str) -> Option<PathBuf> {
        let well_formed = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Copies the file at `source` into the store, streaming; returns its SHA-256 and size.
    pub async fn put_file(&self, source: &Path) -> std::io::Result<(String, u64)> {
        let mut input = tokio::fs::File::open(source).await?;
        let staging = self.staging_path();
        let mut output = create_parent_and_file(&staging).await?;
        let mut context = digest::Context::new(&digest::SHA256);
        let mut buffer = vec![0; 1 << 20];
        let mut size = 0u64;
        loop {
            let read = input.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            context.update(&buffer[..read]);
            output.write_all(&buffer[..read]).await?;
            size += read as u64;
        }
        output.sync_all().await?;
        drop(output);
        let sha256 = hex(context.finish().as_ref());
        self.commit(&staging, &sha256).await?;
        Ok((sha256, size))
    }

    /// Stores `bytes`; returns their SHA-256.
    pub async fn put_bytes(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha256 = sha256_hex(bytes);
        let staging = self.staging_path();
        let mut output = create_parent_and_file(&staging).await?;
        output.write_all(bytes).await?;
        output.sync_all().await?;
        drop(output);
        self.commit(&staging, &sha256).await?;
        Ok(sha256)
    }

    fn staging_path(&self) -> PathBuf {
        self.dir
            .join("staging")
            .join(uuid::Uuid::new_v4().to_string())
    }

    async fn commit(&self, staging: &Path, sha256: &str) -> std::io::Result<()> {
        let target = self.file_path(sha256).expect("a digest is well formed");
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // The same bytes under the same name: renaming over an existing copy is harmless.
        tokio::fs::rename(staging, &target).await
    }

    /// The HMAC key, read from (or made in) the database on first use.
    async fn key(&self, db: &Db) -> db::Result<&hmac::Key> {
        self.key
            .get_or_try_init(|| async {
                let fresh = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
                let secret = db::packages::download_url_secret(db, &fresh).await?;
                Ok(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()))
            })
            .await
    }

    /// A signed URL for the file `sha256` under `file_name`, and when it expires.
    pub async fn signed_url(
        &self,
        db: &Db,
        public_url: &str,
        sha256: &str,
        file_name: &str,
    ) -> db::Result<(String, OffsetDateTime)> {
        let key = self.key(db).await?;
        let now = OffsetDateTime::now_utc();
        let expires = (now + self.url_ttl).replace_nanosecond(0).unwrap_or(now);
        let path = format!("{DOWNLOADS_PREFIX}{sha256}/{file_name}");
        let expiry = expires.unix_timestamp();
        let tag = hmac::sign(key, signed_message(&path, expiry).as_bytes());
        let access_key = format!("{expiry}_{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        Ok((
            format!("{public_url}{path}?accessKey={access_key}"),
            expires,
        ))
    }

    /// Checks the `accessKey` of a request for `path` at `now`.
    pub async fn verify(
        &self,
        db: &Db,
        path: &str,
        access_key: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Result<(), UrlRefusal>, db::Error> {
        let key = self.key(db).await?;
        Ok(verify_access_key(key, path, access_key, now))
    }
}

fn verify_access_key(
    key: &hmac::Key,
    path: &str,
    access_key: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), UrlRefusal> {
    let (expiry, tag) = access_key
        .and_then(|value| value.split_once('_'))
        .ok_or(UrlRefusal::Malformed)?;
    let expiry: i64 = expiry.parse().map_err(|_| UrlRefusal::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| UrlRefusal::Malformed)?;
    hmac::verify(key, signed_message(path, expiry).as_bytes(), &tag)
        .map_err(|_| UrlRefusal::Tampered)?;
    if now.unix_timestamp() >= expiry {
        let expired = OffsetDateTime::from_unix_timestamp(expiry)
            .ok()
            .and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| expiry.to_string());
        return Err(UrlRefusal::Expired(expired));
    }
    Ok(())
}

fn signed_message(path: &str, expiry: i64) -> String {
    format!("GET\n{path}\n{expiry}")
}

async fn create_parent_and_file(path: &Path) -> std::io::Result<tokio::fs::File> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    tokio::fs::File::create(path).await
}

/// The SHA-256 of `bytes`, lower-case hex: the `fileChecksum` of package files.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `N` bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, b"test secret")
    }

    fn access_key(path: &str, expiry: i64) -> String {
        let tag = hmac::sign(&key(), signed_message(path, expiry).as_bytes());
        format!("{expiry}_{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    #[test]
    fn a_signed_url_works_until_it_expires() {
        let path = "/downloads/ab/x.ipa";
        let at = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let good = access_key(path, 1_060);
        assert_eq!(verify_access_key(&key(), path, Some(&good), at), Ok(()));
        let later = OffsetDateTime::from_unix_timestamp(1_060).unwrap();
        assert!(matches!(
            verify_access_key(&key(), path, Some(&good), later),
            Err(UrlRefusal::Expired(_))
        ));
    }

    #[test]
    fn a_changed_path_expiry_or_signature_is_refused() {
        let path = "/downloads/ab/x.ipa";
        let at = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let good = access_key(path, 1_060);
        assert_eq!(
            verify_access_key(&key(), "/downloads/ab/y.ipa", Some(&good), at),
            Err(UrlRefusal::Tampered)
        );
        let (_, tag) = good.split_once('_').unwrap();
        let extended = format!("9999999999_{tag}");
        assert_eq!(
            verify_access_key(&key(), path, Some(&extended), at),
            Err(UrlRefusal::Tampered)
        );
        for malformed in [None, Some(""), Some("1060"), Some("x_abc"), Some("1060_!!")] {
            assert_eq!(
                verify_access_key(&key(), path, malformed, at),
                Err(UrlRefusal::Malformed),
                "{malformed:?}"
            );
        }
    }

    #[test]
    fn only_digests_become_paths() {
        let store = PackageStore::new("/store", DEFAULT_URL_TTL);
        let digest = sha256_hex(b"abc");
        assert_eq!(
            store.file_path(&digest).unwrap(),
            Path::new("/store").join(&digest[..2]).join(&digest)
        );
        for bad in ["../../etc/passwd", "", &digest.to_uppercase(), &digest[1..]] {
            assert!(store.file_path(bad).is_none(), "{bad}");
        }
    }
}
