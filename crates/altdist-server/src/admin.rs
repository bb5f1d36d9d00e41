//! What `altdist admin` does, and `altdist serve` on first start: accounts, API keys and apps,
//! straight on the database. The tests set up their fixtures with the same functions.

use std::path::{Path, PathBuf};

use altdist::PrivateKey;
use altdist::credentials::CredentialsFile;
use altdist::resource::{ApiKeyId, AppId, IssuerId};
use anyhow::Context as _;

use crate::auth::Role;
use crate::db::{self, Db};

/// Creates `data_dir` if missing, opens the database and applies the migrations.
pub async fn open(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Db> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let url = database_url.map_or_else(|| Db::default_url(data_dir), str::to_owned);
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    Ok(db)
}

fn random_bytes() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

fn new_api_key_id() -> ApiKeyId {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let id = random_bytes()
        .iter()
        .take(10)
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect();
    ApiKeyId(id)
}

fn new_app_id() -> AppId {
    let bytes = random_bytes();
    let offset = u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ]) % 1_000_000_000;
    AppId((6_476_788_026 + offset).to_string())
}

/// Creates an account and returns its issuer id.
pub async fn create_account(db: &Db) -> anyhow::Result<IssuerId> {
    let id = IssuerId(uuid::Uuid::new_v4().to_string());
    db::accounts::insert(db, &id)
        .await
        .context("cannot create the account")?;
    Ok(id)
}

/// The account `issuer`, or the first account when `None`.
pub async fn account(db: &Db, issuer: Option<&str>) -> anyhow::Result<IssuerId> {
    match issuer {
        Some(issuer) => {
            let id = IssuerId(issuer.to_owned());
            anyhow::ensure!(
                db::accounts::exists(db, &id).await?,
                "there is no account with issuer id {issuer}; list them with `altdist admin account list`"
            );
            Ok(id)
        }
        None => db::accounts::list(db)
            .await?
            .into_iter()
            .next()
            .context("there is no account yet; create one with `altdist admin account create`"),
    }
}

/// A new API key and its private key, which is stored nowhere but where the caller writes it.
#[derive(Debug)]
pub struct NewApiKey {
    /// The key id, the `kid` of its tokens.
    pub id: ApiKeyId,
    /// Its account.
    pub account: IssuerId,
    /// Its role.
    pub role: Role,
    /// Whether it is an individual key.
    pub individual: bool,
    /// The private key.
    pub private_key: PrivateKey,
}

/// Creates an API key of `role` for `account`.
pub async fn create_api_key(
    db: &Db,
    account: &IssuerId,
    role: Role,
    individual: bool,
) -> anyhow::Result<NewApiKey> {
    let private_key = PrivateKey::generate()?;
    let public_key = private_key.public_key().to_pem();
    let mut attempts = 0;
    loop {
        let id = new_api_key_id();
        let row = db::api_keys::NewApiKey {
            id: &id,
            account,
            role: role.as_str(),
            individual,
            public_key: &public_key,
        };
        match db::api_keys::insert(db, &row).await {
            Ok(()) => {
                return Ok(NewApiKey {
                    id,
                    account: account.clone(),
                    role,
                    individual,
                    private_key,
                });
            }
            // 36^10 ids make a collision unlikely, not impossible.
            Err(err) if err.is_unique_violation() && attempts < 5 => attempts += 1,
            Err(err) => return Err(err).context("cannot store the API key"),
        }
    }
}

/// Writes the key's private key to `path` (mode 0600, never overwriting).
pub fn write_private_key(key: &NewApiKey, path: &Path) -> anyhow::Result<()> {
    let pem = key.private_key.to_pkcs8_pem()?;
    altdist::key::write_secret_file(&pem, path, false)?;
    Ok(())
}

/// An API key whose private key was written to a file.
#[derive(Debug)]
pub struct ApiKeyFile {
    /// The key id, the `kid` of its tokens.
    pub id: ApiKeyId,
    /// Its account.
    pub account: IssuerId,
    /// Its role.
    pub role: Role,
    /// Whether it is an individual key.
    pub individual: bool,
    /// Where its private key (PKCS#8 PEM, mode 0600) was written.
    pub private_key_path: PathBuf,
}

/// Creates an API key and writes its private key to a file.
///
/// The file is `out`, by default `<data_dir>/AuthKey_<KEYID>.p8`. The key is revoked again if the file cannot be written,
/// since a key whose private half is lost is useless.
pub async fn create_api_key_file(
    db: &Db,
    account: &IssuerId,
    role: Role,
    individual: bool,
    out: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<ApiKeyFile> {
    let key = create_api_key(db, account, role, individual).await?;
    let path = out.map_or_else(
        || data_dir.join(format!("AuthKey_{}.p8", key.id)),
        Path::to_owned,
    );
    let path = std::path::absolute(&path).unwrap_or(path);
    if let Err(err) = write_private_key(&key, &path) {
        let _ = db::api_keys::revoke(db, &key.id).await;
        return Err(err);
    }
    Ok(ApiKeyFile {
        id: key.id,
        account: key.account,
        role,
        individual,
        private_key_path: path,
    })
}

/// Revokes the API key `id`: running servers refuse its tokens within a second.
pub async fn revoke_api_key(db: &Db, id: &ApiKeyId) -> anyhow::Result<()> {
    anyhow::ensure!(
        db::api_keys::revoke(db, id).await?,
        "there is no API key {id}, or it is revoked already"
    );
    Ok(())
}

/// The issuer ids of every account, oldest first.
pub async fn list_accounts(db: &Db) -> anyhow::Result<Vec<IssuerId>> {
    Ok(db::accounts::list(db).await?)
}

/// Every app of every account, oldest first.
pub async fn list_apps(db: &Db) -> anyhow::Result<Vec<db::apps::AppRow>> {
    Ok(db::apps::list_all(db).await?)
}

/// An App Store version to create, and the files that stand in for its build.
#[derive(Debug, Clone)]
pub struct VersionSpec {
    /// Like `1.2.0`.
    pub version_string: String,
    /// `IOS`, `MAC_OS`, `TV_OS` or `VISION_OS`.
    pub platform: String,
    /// Its `appVersionState`; `READY_FOR_DISTRIBUTION` makes it packageable.
    pub app_version_state: String,
    /// The app files of its variants (one `.ipa` per variant).
    pub variants: Vec<PathBuf>,
    /// Earlier versions of the same app and platform to make deltas from: altdist diffs each
    /// of this version's variants against the earlier version's stored variant at the same
    /// position, or its first when it has fewer ([`crate::delta`]).
    pub delta_from: Vec<String>,
}

/// An earlier version a delta starts from: its version string and its variants' SHA-256s.
struct DeltaSource {
    version: String,
    variants: Vec<String>,
}

/// Checks the `--delta-from` versions of `spec` and finds their stored variants.
async fn delta_sources(
    db: &Db,
    store: &crate::package_store::PackageStore,
    app: &AppId,
    spec: &VersionSpec,
) -> anyhow::Result<Vec<DeltaSource>> {
    if spec.delta_from.is_empty() {
        return Ok(Vec::new());
    }
    let new_version = spec.version_string.trim();
    let existing = db::packages::versions_of_app(db, app, &spec.platform).await?;
    // Said before any delta is computed, which may take a while; the insert checks again.
    anyhow::ensure!(
        existing.iter().all(|row| row.version_string != new_version),
        "the app {app} has a {} version {new_version} already",
        spec.platform
    );
    let mut sources: Vec<DeltaSource> = Vec::new();
    for from in &spec.delta_from {
        let from = from.trim();
        anyhow::ensure!(
            !from.is_empty(),
            "--delta-from is empty; give an earlier version of the app, like 1.1.0"
        );
        anyhow::ensure!(
            from != new_version,
            "--delta-from {from} is the version being created; give an earlier version of the app"
        );
        anyhow::ensure!(
            sources.iter().all(|source| source.version != from),
            "--delta-from {from} is given twice"
        );
        let Some(earlier) = existing.iter().find(|row| row.version_string == from) else {
            let known: Vec<&str> = existing
                .iter()
                .map(|row| row.version_string.as_str())
                .collect();
            anyhow::bail!(
                "the app {app} has no {} version {from} to make a delta from; {}",
                spec.platform,
                if known.is_empty() {
                    format!(
                        "it has no {} version yet: create the earlier version first",
                        spec.platform
                    )
                } else {
                    format!("its {} versions: {}", spec.platform, known.join(", "))
                }
            );
        };
        let variants: Vec<String> = db::packages::version_files(db, &earlier.id)
            .await?
            .into_iter()
            .filter(|file| file.kind == db::packages::FileKind::Variant.as_str())
            .map(|file| file.sha256)
            .collect();
        anyhow::ensure!(
            !variants.is_empty(),
            "the version {from} of the app {app} has no stored package to make a delta from"
        );
        for sha256 in &variants {
            let path = store
                .file_path(sha256)
                .context("a stored checksum is not a SHA-256")?;
            anyhow::ensure!(
                tokio::fs::try_exists(&path).await.unwrap_or(false),
                "the package of version {from} of the app {app} is not in the package store: \
                 {} is missing; give the --package-dir the version was created with",
                path.display()
            );
        }
        sources.push(DeltaSource {
            version: from.to_owned(),
            variants,
        });
    }
    Ok(sources)
}

/// Creates an App Store version of the app `app_id` (in whichever account holds it), copying
/// its files into the package store.
pub async fn create_app_store_version(
    db: &Db,
    store: &crate::package_store::PackageStore,
    app_id: &str,
    spec: &VersionSpec,
) -> anyhow::Result<db::packages::AppStoreVersionRow> {
    use crate::routes::app_store_versions::{APP_VERSION_STATES, PLATFORMS};
    let app = db::apps::list_all(db)
        .await?
        .into_iter()
        .find(|app| app.id == app_id)
        .with_context(|| {
            format!("there is no app {app_id}; list them with `altdist admin app list`")
        })?;
    anyhow::ensure!(
        !spec.version_string.trim().is_empty() && spec.version_string.len() <= 64,
        "the version string is empty or longer than 64 characters"
    );
    anyhow::ensure!(
        PLATFORMS.contains(&spec.platform.as_str()),
        "'{}' is not a platform; expected one of {}",
        spec.platform,
        PLATFORMS.join(", ")
    );
    anyhow::ensure!(
        APP_VERSION_STATES.contains(&spec.app_version_state.as_str()),
        "'{}' is not an app version state; expected one of {}",
        spec.app_version_state,
        APP_VERSION_STATES.join(", ")
    );
    anyhow::ensure!(
        !spec.variants.is_empty(),
        "a version needs at least one --package file"
    );
    let app_id = AppId(app.id.clone());
    let sources = delta_sources(db, store, &app_id, spec).await?;
    let mut files = Vec::new();
    for path in &spec.variants {
        let (sha256, size) = store
            .put_file(path)
            .await
            .with_context(|| format!("cannot copy {} into the package store", path.display()))?;
        files.push(db::packages::VersionFileRow {
            kind: db::packages::FileKind::Variant.as_str().to_owned(),
            from_version: None,
            sha256,
            size: i64::try_from(size).context("the file is too large")?,
            from_sha256: None,
            to_sha256: None,
        });
    }
    let variants: Vec<String> = files.iter().map(|file| file.sha256.clone()).collect();
    for source in &sources {
        for (position, target) in variants.iter().enumerate() {
            let base = source.variants.get(position).unwrap_or(&source.variants[0]);
            let (old, new) = (
                store
                    .file_path(base)
                    .context("a stored checksum is not a SHA-256")?,
                store
                    .file_path(target)
                    .context("a stored checksum is not a SHA-256")?,
            );
            let delta = tokio::task::spawn_blocking(move || crate::delta::diff_files(&old, &new))
                .await
                .context("the delta computation failed")?
                .with_context(|| {
                    format!(
                        "cannot make the delta from version {} to {}",
                        source.version, spec.version_string
                    )
                })?;
            let sha256 = store
                .put_bytes(&delta)
                .await
                .context("cannot store the delta in the package store")?;
            files.push(db::packages::VersionFileRow {
                kind: db::packages::FileKind::Delta.as_str().to_owned(),
                from_version: Some(source.version.clone()),
                sha256,
                size: i64::try_from(delta.len()).context("the delta is too large")?,
                from_sha256: Some(base.clone()),
                to_sha256: Some(target.clone()),
            });
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let account = IssuerId(app.account_id.clone());
    let new = db::packages::NewAppStoreVersion {
        id: &id,
        account: &account,
        app: &app_id,
        platform: &spec.platform,
        version_string: spec.version_string.trim(),
        app_version_state: &spec.app_version_state,
        files: &files,
    };
    match db::packages::insert_version(db, &new).await {
        Ok(()) => {}
        Err(err) if err.is_unique_violation() => anyhow::bail!(
            "the app {app_id} has a {} version {} already",
            spec.platform,
            spec.version_string
        ),
        Err(err) => return Err(err).context("cannot store the version"),
    }
    db::packages::find_version(db, &account, &id)
        .await?
        .context("the new version vanished")
}

/// The attributes of an app to create.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// Its name.
    pub name: String,
    /// Its bundle id, like `com.example.app`.
    pub bundle_id: String,
    /// Its SKU; the bundle id when `None`.
    pub sku: Option<String>,
    /// Its primary locale.
    pub primary_locale: String,
    /// Whether it is an alternative marketplace app.
    pub marketplace: bool,
    /// Whether it is, or ever was, made for kids (`isOrEverWasMadeForKids`).
    pub made_for_kids: bool,
}

/// Creates an app in `account` and returns it.
pub async fn create_app(
    db: &Db,
    account: &IssuerId,
    spec: &AppSpec,
) -> anyhow::Result<db::apps::AppRow> {
    anyhow::ensure!(!spec.name.trim().is_empty(), "the app name is empty");
    anyhow::ensure!(
        altdist::jwt::is_bundle_id(&spec.bundle_id),
        "'{}' is not a bundle id; expected reverse-DNS like com.example.app (letters, digits, '-' and '.')",
        spec.bundle_id
    );
    let sku = spec.sku.clone().unwrap_or_else(|| spec.bundle_id.clone());
    let mut attempts = 0;
    loop {
        let id = new_app_id();
        let row = db::apps::NewApp {
            id: &id,
            account,
            name: spec.name.trim(),
            bundle_id: &spec.bundle_id,
            sku: &sku,
            primary_locale: &spec.primary_locale,
            marketplace: spec.marketplace,
            made_for_kids: spec.made_for_kids,
        };
        match db::apps::insert(db, &row).await {
            Ok(()) => {
                return db::apps::find(db, account, id.as_str())
                    .await?
                    .context("the new app vanished");
            }
            Err(err) if err.is_unique_violation() => {
                let taken = db::apps::list_all(db).await?;
                if taken.iter().any(|app| app.bundle_id == spec.bundle_id) {
                    anyhow::bail!("an app with bundle id {} exists already", spec.bundle_id);
                }
                if taken
                    .iter()
                    .any(|app| app.account_id == account.as_str() && app.sku == sku)
                {
                    anyhow::bail!("an app with SKU {sku} exists already in this account");
                }
                anyhow::ensure!(attempts < 5, "cannot find a free app id");
                attempts += 1;
            }
            Err(err) => return Err(err).context("cannot store the app"),
        }
    }
}

/// What the first start created.
#[derive(Debug)]
pub struct Bootstrap {
    /// The new account.
    pub issuer_id: IssuerId,
    /// Its `ADMIN` API key.
    pub key_id: ApiKeyId,
    /// Where the private key was written.
    pub private_key_path: PathBuf,
    /// Where `credentials.json` was written.
    pub credentials_path: PathBuf,
}

/// On an empty database: creates an account with an `ADMIN` API key, writes its private key
/// (`AuthKey_<KEYID>.p8`) and `credentials.json` into `data_dir`. `None` when accounts exist.
pub async fn bootstrap(
    db: &Db,
    data_dir: &Path,
    base_url: &str,
) -> anyhow::Result<Option<Bootstrap>> {
    let issuer_id = IssuerId(uuid::Uuid::new_v4().to_string());
    let created = db::accounts::insert_first(db, &issuer_id)
        .await
        .context("cannot create the first account")?;
    if !created {
        return Ok(None);
    }
    let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let key = create_api_key(db, &issuer_id, Role::Admin, false).await?;
    let private_key_path = data_dir.join(format!("AuthKey_{}.p8", key.id));
    write_private_key(&key, &private_key_path)?;
    let credentials_path = data_dir.join("credentials.json");
    // A credentials file left from an earlier database names a key this one does not know.
    CredentialsFile {
        issuer_id: Some(issuer_id.to_string()),
        key_id: key.id.to_string(),
        private_key_path: private_key_path.clone(),
        base_url: Some(base_url.to_owned()),
    }
    .save(&credentials_path, true)?;
    Ok(Some(Bootstrap {
        issuer_id,
        key_id: key.id,
        private_key_path,
        credentials_path,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_apples_shapes() {
        for _ in 0..100 {
            assert!(ApiKeyId::is_well_formed(new_api_key_id().as_str()));
            let app = new_app_id();
            assert!(AppId::is_well_formed(app.as_str()));
            assert_eq!(app.as_str().len(), 10);
        }
    }
}
