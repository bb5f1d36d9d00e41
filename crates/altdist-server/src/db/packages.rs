//! `app_store_versions` and the alternative distribution packages made of them.
//!
//! The tables: `alt_dist_packages`, `alt_dist_package_versions`, `alt_dist_package_files`
//! (variants and deltas). The files themselves live in the package store, named by SHA-256.

use altdist::resource::{AppId, IssuerId};
use sqlx::Connection as _;

use super::{Db, Listed, PageAfter, Result};

/// What a file of a version or a package is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The whole app for the devices it targets.
    Variant,
    /// An update from an earlier version.
    Delta,
}

impl FileKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Variant => "VARIANT",
            Self::Delta => "DELTA",
        }
    }
}

/// An App Store version as stored, with the id of its package if it has one.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppStoreVersionRow {
    /// The version's id.
    pub id: String,
    /// The app's id.
    pub app_id: String,
    /// `IOS`, ...
    pub platform: String,
    /// Like `1.2.0`.
    pub version_string: String,
    /// `READY_FOR_DISTRIBUTION`, ...
    pub app_version_state: String,
    /// RFC 3339.
    pub created_at: String,
    /// The package made of it, if any.
    pub package_id: Option<String>,
}

const VERSION_COLUMNS: &str = "v.id, v.app_id, v.platform, v.version_string, v.app_version_state, v.created_at, p.id AS package_id";
const VERSION_FROM: &str =
    "app_store_versions v LEFT JOIN alt_dist_packages p ON p.app_store_version_id = v.id";

/// A file of a version's build.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VersionFileRow {
    /// `VARIANT` or `DELTA`.
    pub kind: String,
    /// A delta's earlier version.
    pub from_version: Option<String>,
    /// The file in the package store.
    pub sha256: String,
    /// Its size in bytes.
    pub size: i64,
    /// A delta's source: the SHA-256 of the earlier version's variant it applies to.
    pub from_sha256: Option<String>,
    /// A delta's target: the SHA-256 of the variant of this version it produces.
    pub to_sha256: Option<String>,
}

/// A version to store.
#[derive(Debug, Clone)]
pub struct NewAppStoreVersion<'a> {
    /// Its id.
    pub id: &'a str,
    /// The account.
    pub account: &'a IssuerId,
    /// The app.
    pub app: &'a AppId,
    /// `IOS`, ...
    pub platform: &'a str,
    /// Like `1.2.0`.
    pub version_string: &'a str,
    /// `READY_FOR_DISTRIBUTION`, ...
    pub app_version_state: &'a str,
    /// Its build: variants and deltas, already in the package store.
    pub files: &'a [VersionFileRow],
}

/// Stores a version and its files. A unique violation means the app has that version already.
pub async fn insert_version(db: &Db, version: &NewAppStoreVersion<'_>) -> Result<()> {
    let now = super::now();
    on_pool_writing!(db, |pool| {
        async {
            let mut transaction = pool.begin().await?;
            sqlx::query(
                "INSERT INTO app_store_versions (id, account_id, app_id, platform, version_string, app_version_state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(version.id)
            .bind(version.account.as_str())
            .bind(version.app.as_str())
            .bind(version.platform)
            .bind(version.version_string)
            .bind(version.app_version_state)
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
            for file in version.files {
                sqlx::query(
                    "INSERT INTO app_store_version_files (app_store_version_id, kind, from_version, sha256, size, from_sha256, to_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(version.id)
                .bind(&file.kind)
                .bind(&file.from_version)
                .bind(&file.sha256)
                .bind(file.size)
                .bind(&file.from_sha256)
                .bind(&file.to_sha256)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await
        }
        .await
    })
}

/// The account's App Store version `id`.
pub async fn find_version(
    db: &Db,
    account: &IssuerId,
    id: &str,
) -> Result<Option<AppStoreVersionRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.id = $1 AND v.account_id = $2"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// The filters of `GET /v1/apps/{id}/appStoreVersions`; an empty list filters nothing.
#[derive(Debug, Clone, Default)]
pub struct VersionQuery {
    /// `filter[platform]`.
    pub platforms: Vec<String>,
    /// `filter[versionString]`.
    pub version_strings: Vec<String>,
    /// `filter[appVersionState]`.
    pub app_version_states: Vec<String>,
    /// `filter[id]`.
    pub ids: Vec<String>,
    /// The app version states `filter[appStoreState]` stands for; `Some` of none when it named
    /// only App Store states no version can be in, which match nothing.
    pub app_store_states: Option<Vec<String>>,
}

/// `AND column IN ($n, ...)` for each non-empty filter, numbering placeholders from `next`, and
/// the values to bind in order.
fn in_clauses<'a>(filters: &[(&str, &'a [String])], mut next: usize) -> (String, Vec<&'a str>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for (column, wanted) in filters {
        if wanted.is_empty() {
            continue;
        }
        let placeholders: Vec<String> = wanted
            .iter()
            .map(|value| {
                values.push(value.as_str());
                next += 1;
                format!("${}", next - 1)
            })
            .collect();
        sql.push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
    }
    (sql, values)
}

/// Whether no version can match `query`: a filter value with a NUL (which no row holds, and
/// which PostgreSQL would refuse to compare), or App Store states no version is in.
fn matches_nothing(query: &VersionQuery) -> bool {
    query.app_store_states.as_ref().is_some_and(Vec::is_empty)
        || !version_filters(query)
            .iter()
            .all(|(_, values)| values.iter().all(|value| super::storable(value)))
}

fn version_filters(query: &VersionQuery) -> [(&'static str, &[String]); 5] {
    [
        (
            "v.app_version_state",
            query.app_store_states.as_deref().unwrap_or_default(),
        ),
        ("v.platform", &query.platforms),
        ("v.version_string", &query.version_strings),
        ("v.app_version_state", &query.app_version_states),
        ("v.id", &query.ids),
    ]
}

/// A page of the app's versions, oldest first (see [`super::split_page`]).
pub async fn list_versions(
    db: &Db,
    account: &IssuerId,
    app: &str,
    query: &VersionQuery,
    page: PageAfter,
) -> Result<Vec<Listed<AppStoreVersionRow>>> {
    if !super::storable(app) || matches_nothing(query) {
        return Ok(Vec::new());
    }
    let (filters, values) = in_clauses(&version_filters(query), 5);
    let sql = format!(
        "SELECT v.seq, {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.account_id = $1 AND v.app_id = $2 AND v.seq > $3{filters} ORDER BY v.seq LIMIT $4"
    );
    on_pool!(db, |pool| {
        let mut statement = sqlx::query_as(&sql)
            .bind(account.as_str())
            .bind(app)
            .bind(page.after)
            .bind(page.limit.saturating_add(1));
        for value in &values {
            statement = statement.bind(*value);
        }
        statement.fetch_all(pool).await
    })
}

/// How many versions of the app match `query`.
pub async fn count_versions(
    db: &Db,
    account: &IssuerId,
    app: &str,
    query: &VersionQuery,
) -> Result<i64> {
    if !super::storable(app) || matches_nothing(query) {
        return Ok(0);
    }
    let (filters, values) = in_clauses(&version_filters(query), 3);
    let sql = format!(
        "SELECT count(*) FROM app_store_versions v WHERE v.account_id = $1 AND v.app_id = $2{filters}"
    );
    on_pool!(db, |pool| {
        let mut statement = sqlx::query_scalar(&sql).bind(account.as_str()).bind(app);
        for value in &values {
            statement = statement.bind(*value);
        }
        statement.fetch_one(pool).await
    })
}

/// Every version of the app `app` on `platform`, oldest first, whichever account holds it.
pub async fn versions_of_app(
    db: &Db,
    app: &AppId,
    platform: &str,
) -> Result<Vec<AppStoreVersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.app_id = $1 AND v.platform = $2 ORDER BY v.seq"
    );
    on_pool!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(app.as_str())
            .bind(platform)
            .fetch_all(pool)
            .await
    })
}

/// The build of the version `id`: variants first, in the order they were given.
pub async fn version_files(db: &Db, id: &str) -> Result<Vec<VersionFileRow>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT kind, from_version, sha256, size, from_sha256, to_sha256 FROM app_store_version_files WHERE app_store_version_id = $1 ORDER BY kind DESC, seq"
    )
    .bind(id)
    .fetch_all(pool)
    .await
    })
}

/// A package as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PackageRow {
    /// The package's id.
    pub id: String,
    /// The App Store version it packages.
    pub app_store_version_id: String,
    /// The SHA-256 of its source (the version's first variant).
    pub source_sha256: String,
}

const PACKAGE_COLUMNS: &str = "id, app_store_version_id, source_sha256";

/// A file of a package version to store.
#[derive(Debug, Clone)]
pub struct NewPackageFile {
    /// Its id.
    pub id: String,
    /// Variant or delta.
    pub kind: FileKind,
    /// The file in the package store.
    pub sha256: String,
    /// The key blob for the license server, base64.
    pub key_blob: String,
}

/// A package to store, with its first version.
#[derive(Debug, Clone)]
pub struct NewPackage<'a> {
    /// The package's id.
    pub id: &'a str,
    /// The account.
    pub account: &'a IssuerId,
    /// The App Store version it packages.
    pub app_store_version_id: &'a str,
    /// The SHA-256 of its source.
    pub source_sha256: &'a str,
    /// The first version's id.
    pub version_id: &'a str,
    /// The app version it packages, like `1.2.0`.
    pub version: &'a str,
    /// The SHA-256 of the version's manifest, in the package store.
    pub manifest_sha256: &'a str,
    /// The version's variants and deltas.
    pub files: &'a [NewPackageFile],
    /// The webhook events the package's creation causes, stored in the same transaction.
    pub events: &'a [super::webhooks::NewEvent],
}

/// Stores a package, its first version, that version's files and the events they cause.
///
/// All in one transaction (the outbox: an event exists exactly when its change does). A unique
/// violation means the App Store version has a package already.
pub async fn insert_package(db: &Db, package: &NewPackage<'_>) -> Result<()> {
    let now = super::now();
    on_pool_writing!(db, |pool| {
        async {
            let mut transaction = pool.begin().await?;
            sqlx::query(
                "INSERT INTO alt_dist_packages (id, account_id, app_store_version_id, source_sha256, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(package.id)
            .bind(package.account.as_str())
            .bind(package.app_store_version_id)
            .bind(package.source_sha256)
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "INSERT INTO alt_dist_package_versions (id, package_id, version, state, manifest_sha256, created_at) VALUES ($1, $2, $3, 'COMPLETED', $4, $5)",
            )
            .bind(package.version_id)
            .bind(package.id)
            .bind(package.version)
            .bind(package.manifest_sha256)
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
            for file in package.files {
                sqlx::query(
                    "INSERT INTO alt_dist_package_files (id, package_version_id, kind, sha256, key_blob) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&file.id)
                .bind(package.version_id)
                .bind(file.kind.as_str())
                .bind(&file.sha256)
                .bind(&file.key_blob)
                .execute(&mut *transaction)
                .await?;
            }
            for event in package.events {
                super::webhooks::enqueue_in(&mut *transaction, event).await?;
            }
            transaction.commit().await
        }
        .await
    })
}

/// The account's package `id`.
pub async fn find_package(db: &Db, account: &IssuerId, id: &str) -> Result<Option<PackageRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {PACKAGE_COLUMNS} FROM alt_dist_packages WHERE id = $1 AND account_id = $2"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// The package `id`, whichever account holds it: for a caller who reached it through a row of
/// their own.
pub async fn find_package_by_id(db: &Db, id: &str) -> Result<Option<PackageRow>> {
    let sql = format!("SELECT {PACKAGE_COLUMNS} FROM alt_dist_packages WHERE id = $1");
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)
}

/// A package version as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PackageVersionRow {
    /// The version's id.
    pub id: String,
    /// Its package.
    pub package_id: String,
    /// Like `1.2.0`.
    pub version: String,
    /// `COMPLETED` or `REPLACED`.
    pub state: String,
    /// Its manifest in the package store.
    pub manifest_sha256: String,
}

const PACKAGE_VERSION_COLUMNS: &str =
    "pv.id, pv.package_id, pv.version, pv.state, pv.manifest_sha256";

/// The account's package version `id`.
pub async fn find_package_version(
    db: &Db,
    account: &IssuerId,
    id: &str,
) -> Result<Option<PackageVersionRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {PACKAGE_VERSION_COLUMNS} FROM alt_dist_package_versions pv JOIN alt_dist_packages p ON p.id = pv.package_id WHERE pv.id = $1 AND p.account_id = $2"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// A page of the package's versions, oldest first, in `states` when not empty.
pub async fn list_package_versions(
    db: &Db,
    package: &str,
    states: &[String],
    page: PageAfter,
) -> Result<Vec<Listed<PackageVersionRow>>> {
    let (filters, values) = in_clauses(&[("pv.state", states)], 4);
    let sql = format!(
        "SELECT pv.seq, {PACKAGE_VERSION_COLUMNS} FROM alt_dist_package_versions pv WHERE pv.package_id = $1 AND pv.seq > $2{filters} ORDER BY pv.seq LIMIT $3"
    );
    on_pool!(db, |pool| {
        let mut statement = sqlx::query_as(&sql)
            .bind(package)
            .bind(page.after)
            .bind(page.limit.saturating_add(1));
        for value in &values {
            statement = statement.bind(*value);
        }
        statement.fetch_all(pool).await
    })
}

/// How many versions the package has in `states` (all when empty).
pub async fn count_package_versions(db: &Db, package: &str, states: &[String]) -> Result<i64> {
    let (filters, values) = in_clauses(&[("pv.state", states)], 2);
    let sql = format!(
        "SELECT count(*) FROM alt_dist_package_versions pv WHERE pv.package_id = $1{filters}"
    );
    on_pool!(db, |pool| {
        let mut statement = sqlx::query_scalar(&sql).bind(package);
        for value in &values {
            statement = statement.bind(*value);
        }
        statement.fetch_one(pool).await
    })
}

/// A variant or delta as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PackageFileRow {
    /// The file's id.
    pub id: String,
    /// The package version it belongs to.
    pub package_version_id: String,
    /// The file in the package store.
    pub sha256: String,
    /// The key blob, base64.
    pub key_blob: String,
}

const PACKAGE_FILE_COLUMNS: &str = "f.id, f.package_version_id, f.sha256, f.key_blob";

/// The account's variant or delta `id`.
pub async fn find_package_file(
    db: &Db,
    account: &IssuerId,
    kind: FileKind,
    id: &str,
) -> Result<Option<PackageFileRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {PACKAGE_FILE_COLUMNS} FROM alt_dist_package_files f JOIN alt_dist_package_versions pv ON pv.id = f.package_version_id JOIN alt_dist_packages p ON p.id = pv.package_id WHERE f.id = $1 AND f.kind = $2 AND p.account_id = $3"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(kind.as_str())
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// A page of the package version's variants or deltas, in the order they were made.
pub async fn list_package_files(
    db: &Db,
    package_version: &str,
    kind: FileKind,
    page: PageAfter,
) -> Result<Vec<Listed<PackageFileRow>>> {
    let sql = format!(
        "SELECT f.seq, {PACKAGE_FILE_COLUMNS} FROM alt_dist_package_files f WHERE f.package_version_id = $1 AND f.kind = $2 AND f.seq > $3 ORDER BY f.seq LIMIT $4"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(package_version)
        .bind(kind.as_str())
        .bind(page.after)
        .bind(page.limit.saturating_add(1))
        .fetch_all(pool)
        .await)
}

/// How many variants or deltas the package version has.
pub async fn count_package_files(db: &Db, package_version: &str, kind: FileKind) -> Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT count(*) FROM alt_dist_package_files WHERE package_version_id = $1 AND kind = $2"
    )
    .bind(package_version)
    .bind(kind.as_str())
    .fetch_one(pool)
    .await)
}

/// The secret that signs download URLs: made by the first server that asks, then the same for
/// every server on this database.
pub async fn download_url_secret(db: &Db, fresh: &str) -> Result<String> {
    on_pool_writing!(db, |pool| sqlx::query(
        "INSERT INTO download_url_secrets (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING"
    )
    .bind(fresh)
    .execute(pool)
    .await
    .map(drop))?;
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT secret FROM download_url_secrets WHERE id = 1"
    )
    .fetch_one(pool)
    .await)
}
