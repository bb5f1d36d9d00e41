//! An app version's alternative distribution package, downloaded into a directory ready to host.
//!
//! This is the glue of Apple's
//! [Ingesting an alternative distribution package](https://developer.apple.com/documentation/marketplacekit/ingesting-an-alternative-distribution-package),
//! against App Store Connect or `altdist serve` alike.
//!
//! The directory holds the version's file (`manifest.json`), every variant and delta where the
//! manifest places them (`variants/ID.ipa`, `deltas/ID.ipa` when it names no place), each key
//! blob in `keys/ID.keyblob` for the license server, and `package.json`, which lists them all.
//!
//! * Files download side by side, each streamed to `NAME.part` and hashed on the way; a file is
//!   renamed into place only once its checksum matches (SHA-256, or MD5 for a 32-digit one).
//! * A `.part` left by an interrupted run is resumed with a `Range` request; a file already in
//!   place with the right checksum is skipped, so running again is safe.
//! * Download URLs are pre-signed and expire: one that is refused (401, 403, 410) or about to
//!   expire is read again from the API for a fresh one. The API's bearer token is never sent
//!   to a download URL.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use md5::Digest as _;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::resource::{AltDistPackageFileAttributes, AppId, AppStoreVersion};

/// How many times a file's URL is read again after it was refused or expired.
const URL_REFRESHES: u32 = 3;
/// A URL that expires sooner than this is read again before it is used.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// What to fetch, and where.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The app.
    pub app: AppId,
    /// The App Store version string, like `1.2.0`; `None` for the newest version with a package.
    pub version: Option<String>,
    /// The directory to lay the package out in; created if missing.
    pub out: PathBuf,
    /// Files downloaded at once.
    pub parallel: usize,
}

/// What happened during a fetch, for a progress display.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FetchEvent {
    /// The files are known: how many, and their total size when the API gave it.
    Planned {
        /// Files to have in place.
        files: usize,
    },
    /// A file's size became known (from the server's answer).
    Sized {
        /// Bytes.
        bytes: u64,
    },
    /// Bytes arrived (or were found already on disk).
    Progress {
        /// Bytes.
        bytes: u64,
    },
    /// A URL was refused or about to expire and was read again from the API.
    UrlRefreshed {
        /// The file.
        path: PathBuf,
    },
    /// A file is in place and verified.
    Done {
        /// The file, relative to the output directory.
        path: PathBuf,
        /// Whether it was already there, verified, and so not downloaded.
        skipped: bool,
    },
}

/// A file of the fetched package, as `package.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchedFile {
    /// `manifest`, `variant` or `delta`.
    pub kind: String,
    /// The resource id (the package version's for the manifest).
    pub id: String,
    /// Where it is, relative to the output directory.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The checksum the API gave, which the bytes match.
    pub file_checksum: String,
    /// Its key blob file, for variants and deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_blob: Option<String>,
    /// Whether this run found it in place already.
    #[serde(skip)]
    pub skipped: bool,
}

/// `package.json`: what was fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchReport {
    /// The app.
    pub app: String,
    /// The App Store version's id.
    pub app_store_version: String,
    /// Its version string.
    pub version: String,
    /// The package.
    pub alternative_distribution_package: String,
    /// The package version fetched.
    pub alternative_distribution_package_version: String,
    /// Every file.
    pub files: Vec<FetchedFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Manifest,
    Variant,
    Delta,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Variant => "variant",
            Self::Delta => "delta",
        }
    }
}

#[derive(Debug, Clone)]
struct Planned {
    kind: Kind,
    id: String,
    path: PathBuf,
    url: String,
    expires: Option<String>,
    checksum: String,
    key_blob: Option<String>,
}

fn error(message: String) -> Error {
    Error::new(ErrorKind::UnexpectedResponse(message))
}

fn io_error(what: &str, path: &Path, err: &std::io::Error) -> Error {
    Error::new(ErrorKind::Http(format!(
        "cannot {what} {}: {err}",
        path.display()
    )))
}

/// Fetches the package of `options.version` (or of the newest version that has one) into
/// `options.out`; `on_event` sees the progress.
pub async fn fetch(
    client: &Client,
    options: &FetchOptions,
    on_event: Arc<dyn Fn(FetchEvent) + Send + Sync>,
) -> Result<FetchReport, Error> {
    let version = find_version(client, options).await?;
    let version_string = version
        .attributes
        .as_ref()
        .and_then(|attributes| attributes.version_string.clone())
        .unwrap_or_default();
    let package = client
        .app_store_version_package(&version.id)
        .await
        .map_err(|err| {
            error(format!(
                "cannot read the alternative distribution package of App Store version {version_string} ({}): {err}",
                version.id
            ))
        })?
        .value
        .data;
    let mut page = client.package_versions(&package.id).await?.value;
    let mut package_versions = std::mem::take(&mut page.data);
    while let Some(next) = client.next_page(&page).await? {
        page = next.value;
        package_versions.append(&mut page.data);
    }
    let package_version = package_versions.pop().ok_or_else(|| {
        error(format!(
            "the package {} has no completed version yet; App Store Connect is still processing it",
            package.id
        ))
    })?;
    let attributes = package_version.attributes.clone().unwrap_or_default();
    let url = attributes
        .url
        .ok_or_else(|| error("the package version has no url".to_owned()))?;
    let manifest = Planned {
        kind: Kind::Manifest,
        id: package_version.id.clone(),
        path: version_file_name(&url),
        url,
        expires: attributes.url_expiration_date,
        checksum: attributes
            .file_checksum
            .ok_or_else(|| error("the package version has no fileChecksum".to_owned()))?,
        key_blob: None,
    };

    tokio::fs::create_dir_all(&options.out)
        .await
        .map_err(|err| io_error("create", &options.out, &err))?;
    let downloads = reqwest::Client::builder()
        .user_agent(concat!("altdist/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|err| error(format!("cannot build the HTTP client: {err}")))?;

    // The manifest first: it says where the variants and deltas go.
    let manifest_file = download(client, &downloads, &options.out, manifest, &on_event).await?;
    let places = manifest_places(&options.out.join(&manifest_file.path)).await;

    let mut planned = Vec::new();
    let mut variants = client
        .package_version_variants(&package_version.id)
        .await?
        .value;
    loop {
        for variant in std::mem::take(&mut variants.data) {
            planned.push(plan(
                Kind::Variant,
                variant.id,
                variant.attributes,
                &places,
            )?);
        }
        match client.next_page(&variants).await? {
            Some(next) => variants = next.value,
            None => break,
        }
    }
    let mut deltas = client
        .package_version_deltas(&package_version.id)
        .await?
        .value;
    loop {
        for delta in std::mem::take(&mut deltas.data) {
            planned.push(plan(Kind::Delta, delta.id, delta.attributes, &places)?);
        }
        match client.next_page(&deltas).await? {
            Some(next) => deltas = next.value,
            None => break,
        }
    }
    on_event(FetchEvent::Planned {
        files: planned.len() + 1,
    });

    let semaphore = Arc::new(tokio::sync::Semaphore::new(options.parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, item) in planned.into_iter().enumerate() {
        let (client, downloads, out, on_event, semaphore) = (
            client.clone(),
            downloads.clone(),
            options.out.clone(),
            Arc::clone(&on_event),
            Arc::clone(&semaphore),
        );
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let file = download(&client, &downloads, &out, item, &on_event).await;
            (index, file)
        });
    }
    let mut files = Vec::new();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, Ok(file))) => files.push((index, file)),
            Ok((_, Err(err))) => {
                first_error.get_or_insert(err);
            }
            Err(err) => {
                first_error.get_or_insert(error(format!("a download task failed: {err}")));
            }
        }
    }
    if let Some(err) = first_error {
        return Err(err);
    }
    files.sort_by_key(|(index, _)| *index);
    let mut all = vec![manifest_file];
    all.extend(files.into_iter().map(|(_, file)| file));

    let report = FetchReport {
        app: options.app.to_string(),
        app_store_version: version.id,
        version: version_string,
        alternative_distribution_package: package.id,
        alternative_distribution_package_version: package_version.id,
        files: all,
    };
    let summary = serde_json::to_vec_pretty(&report)
        .map_err(|err| error(format!("cannot write package.json: {err}")))?;
    let summary_path = options.out.join("package.json");
    tokio::fs::write(&summary_path, summary)
        .await
        .map_err(|err| io_error("write", &summary_path, &err))?;
    Ok(report)
}

async fn find_version(client: &Client, options: &FetchOptions) -> Result<AppStoreVersion, Error> {
    let mut page = client
        .list_app_store_versions(&options.app, options.version.as_deref())
        .await?
        .value;
    let mut versions = std::mem::take(&mut page.data);
    while let Some(next) = client.next_page(&page).await? {
        page = next.value;
        versions.append(&mut page.data);
    }
    match &options.version {
        Some(wanted) => versions.into_iter().next().ok_or_else(|| {
            error(format!(
                "the app {} has no App Store version {wanted}",
                options.app
            ))
        }),
        // The newest version whose package exists: the relationship's linkage says so where
        // the server gives it; otherwise the newest version.
        None => {
            let has_package = |version: &AppStoreVersion| {
                version
                    .relationships
                    .as_ref()
                    .and_then(|r| r.alternative_distribution_package.as_ref())
                    .is_some_and(|package| package.data.is_some())
            };
            let newest_packaged = versions.iter().rposition(has_package);
            let index = newest_packaged.or(versions.len().checked_sub(1));
            index
                .map(|index| versions.swap_remove(index))
                .ok_or_else(|| {
                    error(format!(
                        "the app {} has no App Store version yet",
                        options.app
                    ))
                })
        }
    }
}

/// Where the manifest places each file, by id: `{"variants"|"deltas": [{"id", "path"}]}` as
/// altdist writes it. A manifest of another shape places nothing, and the default layout holds.
async fn manifest_places(manifest: &Path) -> Vec<(String, PathBuf)> {
    #[derive(Deserialize)]
    struct Entry {
        id: String,
        path: String,
    }
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(default)]
        variants: Vec<Entry>,
        #[serde(default)]
        deltas: Vec<Entry>,
    }
    let Ok(bytes) = tokio::fs::read(manifest).await else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Vec::new();
    };
    manifest
        .variants
        .into_iter()
        .chain(manifest.deltas)
        .filter_map(|entry| Some((entry.id, safe_relative(&entry.path)?)))
        .collect()
}

/// The name the version's file is kept under: the last segment of its URL (altdist's is
/// `manifest.json`), or `manifest.json` when that is no plain file name.
fn version_file_name(url: &str) -> PathBuf {
    url::Url::parse(url)
        .ok()
        .and_then(|url| {
            url.path_segments()
                .and_then(|mut segments| segments.next_back().map(str::to_owned))
        })
        .filter(|name| name.contains('.') && !name.starts_with('.') && !name.contains('%'))
        .and_then(|name| safe_relative(&name).filter(|path| path.components().count() == 1))
        .unwrap_or_else(|| PathBuf::from("manifest.json"))
}

/// `path` when it stays inside the output directory: relative, no `..`.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let path = PathBuf::from(path);
    let normal = path
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    (normal && path.components().next().is_some()).then_some(path)
}

/// A file name made of an id: refused unless it is one plain path segment.
fn id_file(folder: &str, id: &str, extension: &str) -> Result<PathBuf, Error> {
    let name = format!("{id}.{extension}");
    match safe_relative(&name) {
        Some(name) if name.components().count() == 1 => Ok(Path::new(folder).join(name)),
        _ => Err(error(format!("the id {id:?} cannot name a file"))),
    }
}

fn plan(
    kind: Kind,
    id: String,
    attributes: Option<AltDistPackageFileAttributes>,
    places: &[(String, PathBuf)],
) -> Result<Planned, Error> {
    let attributes =
        attributes.ok_or_else(|| error(format!("the {} {id} has no attributes", kind.name())))?;
    let folder = if kind == Kind::Delta {
        "deltas"
    } else {
        "variants"
    };
    let path = match places.iter().find(|(placed, _)| *placed == id) {
        Some((_, path)) => path.clone(),
        None => id_file(folder, &id, "ipa")?,
    };
    Ok(Planned {
        kind,
        url: attributes
            .url
            .ok_or_else(|| error(format!("the {} {id} has no url", kind.name())))?,
        expires: attributes.url_expiration_date,
        checksum: attributes
            .file_checksum
            .ok_or_else(|| error(format!("the {} {id} has no fileChecksum", kind.name())))?,
        key_blob: attributes.alternative_distribution_key_blob,
        path,
        id,
    })
}

/// A running checksum of the algorithm a `fileChecksum` implies by its length.
enum Hasher {
    Sha256(digest::Context),
    Md5(md5::Md5),
}

impl Hasher {
    fn for_checksum(checksum: &str) -> Result<Self, Error> {
        let hex = checksum.bytes().all(|b| b.is_ascii_hexdigit());
        match checksum.len() {
            64 if hex => Ok(Self::Sha256(digest::Context::new(&digest::SHA256))),
            32 if hex => Ok(Self::Md5(md5::Md5::new())),
            _ => Err(error(format!(
                "the fileChecksum {checksum:?} is neither a SHA-256 nor an MD5 in hex"
            ))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(context) => context.update(bytes),
            Self::Md5(context) => context.update(bytes),
        }
    }

    fn finish(self) -> String {
        let bytes: Vec<u8> = match self {
            Self::Sha256(context) => context.finish().as_ref().to_vec(),
            Self::Md5(context) => context.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Hashes the file at `path` (all of it), reporting its bytes as progress.
async fn hash_file(
    path: &Path,
    hasher: &mut Hasher,
    on_event: &Arc<dyn Fn(FetchEvent) + Send + Sync>,
) -> std::io::Result<u64> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut buffer = vec![0; 1 << 20];
    let mut size = 0;
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(size);
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
        on_event(FetchEvent::Progress { bytes: read as u64 });
    }
}

fn expires_soon(expires: Option<&str>) -> bool {
    let Some(expires) = expires else {
        return false;
    };
    time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
        .is_ok_and(|at| at - time::OffsetDateTime::now_utc() < EXPIRY_MARGIN)
}

/// A variant's or delta's `url` and `urlExpirationDate`.
fn file_url(attributes: Option<AltDistPackageFileAttributes>) -> (Option<String>, Option<String>) {
    let attributes = attributes.unwrap_or_default();
    (attributes.url, attributes.url_expiration_date)
}

/// A fresh URL for the file, read again from the API.
async fn refresh(client: &Client, item: &mut Planned) -> Result<(), Error> {
    let (url, expires) = match item.kind {
        Kind::Manifest => {
            let version = client.get_package_version(&item.id).await?.value.data;
            let attributes = version.attributes.unwrap_or_default();
            (attributes.url, attributes.url_expiration_date)
        }
        Kind::Variant => file_url(
            client
                .get_package_variant(&item.id)
                .await?
                .value
                .data
                .attributes,
        ),
        Kind::Delta => file_url(
            client
                .get_package_delta(&item.id)
                .await?
                .value
                .data
                .attributes,
        ),
    };
    item.url =
        url.ok_or_else(|| error(format!("the {} {} has no url", item.kind.name(), item.id)))?;
    item.expires = expires;
    Ok(())
}

/// Puts one file in place, verified: skips it when it is there already, resumes a `.part`,
/// refreshes an expired URL.
async fn download(
    client: &Client,
    downloads: &reqwest::Client,
    out: &Path,
    mut item: Planned,
    on_event: &Arc<dyn Fn(FetchEvent) + Send + Sync>,
) -> Result<FetchedFile, Error> {
    let target = out.join(&item.path);
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|err| io_error("create", parent, &err))?;
    }
    let key_blob = match &item.key_blob {
        Some(blob) => {
            let path = id_file("keys", &item.id, "keyblob")?;
            write_private(&out.join(&path), blob.as_bytes()).await?;
            Some(path.to_string_lossy().into_owned())
        }
        None => None,
    };
    let fetched = {
        let (kind, id, path, checksum) = (
            item.kind.name().to_owned(),
            item.id.clone(),
            item.path.to_string_lossy().into_owned(),
            item.checksum.to_ascii_lowercase(),
        );
        move |size, skipped| FetchedFile {
            kind,
            id,
            path,
            size,
            file_checksum: checksum,
            key_blob,
            skipped,
        }
    };
    let wanted = item.checksum.to_ascii_lowercase();

    if tokio::fs::try_exists(&target).await.unwrap_or(false) {
        let mut hasher = Hasher::for_checksum(&wanted)?;
        let size = hash_file(&target, &mut hasher, on_event)
            .await
            .map_err(|err| io_error("read", &target, &err))?;
        on_event(FetchEvent::Sized { bytes: size });
        if hasher.finish() == wanted {
            on_event(FetchEvent::Done {
                path: item.path.clone(),
                skipped: true,
            });
            return Ok(fetched(size, true));
        }
        // Not the file the API describes (an older version, a damaged copy): fetch it again.
        on_event(FetchEvent::Progress { bytes: 0 });
    }

    let part = target.with_extension(target.extension().map_or("part".to_owned(), |ext| {
        format!("{}.part", ext.to_string_lossy())
    }));
    let mut refreshes = 0;
    if expires_soon(item.expires.as_deref()) {
        refreshes += 1;
        refresh(client, &mut item).await?;
        on_event(FetchEvent::UrlRefreshed {
            path: item.path.clone(),
        });
    }
    loop {
        let mut hasher = Hasher::for_checksum(&wanted)?;
        let mut have = if tokio::fs::try_exists(&part).await.unwrap_or(false) {
            hash_file(&part, &mut hasher, on_event)
                .await
                .map_err(|err| io_error("read", &part, &err))?
        } else {
            0
        };
        let mut request = downloads.get(&item.url);
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut response = request
            .send()
            .await
            .map_err(|err| error(format!("cannot download {}: {err}", item.path.display())))?;
        let status = response.status();
        if matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::GONE
        ) && refreshes < URL_REFRESHES
        {
            refreshes += 1;
            refresh(client, &mut item).await?;
            on_event(FetchEvent::UrlRefreshed {
                path: item.path.clone(),
            });
            continue;
        }
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            // The part is as long as the file or longer: start over.
            let _ = tokio::fs::remove_file(&part).await;
            continue;
        }
        let append = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => true,
            StatusCode::OK => {
                // The server sent the whole file: whatever the part held is replaced.
                if have > 0 {
                    hasher = Hasher::for_checksum(&wanted)?;
                    have = 0;
                }
                false
            }
            other => {
                return Err(error(format!(
                    "downloading {} answered {other}",
                    item.path.display()
                )));
            }
        };
        if let Some(length) = response.content_length() {
            on_event(FetchEvent::Sized {
                bytes: length + have,
            });
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&part)
            .await
            .map_err(|err| io_error("write", &part, &err))?;
        let mut writer = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut size = have;
        while let Some(chunk) = response.chunk().await.map_err(|err| {
            error(format!(
                "the download of {} broke off: {err}; run the command again to resume",
                item.path.display()
            ))
        })? {
            hasher.update(&chunk);
            writer
                .write_all(&chunk)
                .await
                .map_err(|err| io_error("write", &part, &err))?;
            size += chunk.len() as u64;
            on_event(FetchEvent::Progress {
                bytes: chunk.len() as u64,
            });
        }
        // No fsync: a file a crash left short or garbled fails its checksum on the next run,
        // which fetches it again; syncing every file would only slow the common case.
        writer
            .flush()
            .await
            .map_err(|err| io_error("write", &part, &err))?;
        let got = hasher.finish();
        if got != wanted {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(error(format!(
                "{} does not match its checksum: expected {wanted}, got {got}; run the command again to fetch it anew",
                item.path.display()
            )));
        }
        tokio::fs::rename(&part, &target)
            .await
            .map_err(|err| io_error("move into place", &target, &err))?;
        on_event(FetchEvent::Done {
            path: item.path.clone(),
            skipped: false,
        });
        return Ok(fetched(size, false));
    }
}

/// Writes a key blob readable by its owner only: it unlocks the app for devices.
async fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|err| io_error("create", parent, &err))?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .await
        .map_err(|err| io_error("write", path, &err))?;
    file.write_all(bytes)
        .await
        .map_err(|err| io_error("write", path, &err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_stay_inside_the_directory() {
        assert_eq!(
            safe_relative("variants/a.ipa"),
            Some(PathBuf::from("variants/a.ipa"))
        );
        for bad in ["/etc/passwd", "../up.ipa", "a/../../b", "", "./"] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
        assert!(id_file("variants", "../x", "ipa").is_err());
        assert!(id_file("variants", "a/b", "ipa").is_err());
        assert_eq!(
            id_file("keys", "abc", "keyblob").unwrap(),
            PathBuf::from("keys/abc.keyblob")
        );
    }

    #[test]
    fn the_version_file_is_named_by_its_url() {
        assert_eq!(
            version_file_name("http://127.0.0.1:8080/downloads/ab/manifest.json?accessKey=1_x"),
            PathBuf::from("manifest.json")
        );
        assert_eq!(
            version_file_name("https://cdn.example/a/b/mzpse.123.zip?accessKey=1_x"),
            PathBuf::from("mzpse.123.zip")
        );
        for odd in [
            "https://cdn.example/a/",
            "https://cdn.example/..",
            "not a url",
        ] {
            assert_eq!(
                version_file_name(odd),
                PathBuf::from("manifest.json"),
                "{odd}"
            );
        }
    }

    #[test]
    fn the_checksum_length_picks_the_algorithm() {
        let mut sha = Hasher::for_checksum(&"0".repeat(64)).unwrap();
        sha.update(b"abc");
        assert_eq!(
            sha.finish(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut md5 = Hasher::for_checksum(&"A".repeat(32)).unwrap();
        md5.update(b"abc");
        assert_eq!(md5.finish(), "900150983cd24fb0d6963f7d28e17f72");
        assert!(Hasher::for_checksum("xyz").is_err());
    }
}
