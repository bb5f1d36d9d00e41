//! `apps`.

use altdist::resource::{AppId, IssuerId};
use sqlx::QueryBuilder;

use super::{Db, Page, Result};

/// An app as stored.
///
/// Apps are never changed nor deleted once inserted, which lets [`super::read_cache`] keep them
/// with no invalidation: a statement that changes one must empty that cache the way
/// `alt_dist_keys` changes do.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppRow {
    /// The Apple id.
    pub id: String,
    /// The issuer id of its account.
    pub account_id: String,
    /// Its name.
    pub name: String,
    /// Its bundle id.
    pub bundle_id: String,
    /// Its SKU.
    pub sku: String,
    /// Its primary locale.
    pub primary_locale: String,
    /// Whether it is an alternative marketplace app.
    pub marketplace: bool,
    /// Whether it is, or ever was, made for kids.
    pub made_for_kids: bool,
}

/// A column `GET /v1/apps` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `name`.
    Name,
    /// `bundleId`.
    BundleId,
    /// `sku`.
    Sku,
}

impl SortKey {
    fn column(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::BundleId => "bundle_id",
            Self::Sku => "sku",
        }
    }
}

/// The filters and order of `GET /v1/apps`. An empty list does not filter.
#[derive(Debug, Clone, Default)]
pub struct AppQuery {
    /// `filter[name]`.
    pub names: Vec<String>,
    /// `filter[bundleId]`.
    pub bundle_ids: Vec<String>,
    /// `filter[sku]`.
    pub skus: Vec<String>,
    /// `filter[id]`.
    pub ids: Vec<String>,
    /// `sort`: keys and whether descending, most significant first.
    pub sort: Vec<(SortKey, bool)>,
}

/// The `WHERE` clause of `query`; the builder writes each backend's placeholders.
fn push_filters<'a, DB>(
    builder: &mut QueryBuilder<'a, DB>,
    account: &'a IssuerId,
    query: &'a AppQuery,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    builder
        .push(" WHERE account_id = ")
        .push_bind(account.as_str());
    for (column, values) in [
        ("name", &query.names),
        ("bundle_id", &query.bundle_ids),
        ("sku", &query.skus),
        ("id", &query.ids),
    ] {
        if values.is_empty() {
            continue;
        }
        let values: Vec<&str> = values
            .iter()
            .map(String::as_str)
            .filter(|value| super::storable(value))
            .collect();
        if values.is_empty() {
            // Only values no row can hold: nothing matches.
            builder.push(" AND 1 = 0");
            continue;
        }
        builder.push(format_args!(" AND {column} IN ("));
        let mut list = builder.separated(", ");
        for value in values {
            list.push_bind(value);
        }
        builder.push(")");
    }
}

/// A page of the account's apps matching `query`.
pub async fn list(
    db: &Db,
    account: &IssuerId,
    query: &AppQuery,
    page: Page,
) -> Result<Vec<AppRow>> {
    on_pool!(db, |pool| {
        let mut builder = QueryBuilder::new(
            "SELECT id, account_id, name, bundle_id, sku, primary_locale, marketplace, made_for_kids FROM apps",
        );
        push_filters(&mut builder, account, query);
        builder.push(" ORDER BY ");
        for (key, descending) in &query.sort {
            builder.push(format_args!(
                "{} {}, ",
                key.column(),
                if *descending { "DESC" } else { "ASC" }
            ));
        }
        builder
            .push("seq LIMIT ")
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        builder.build_query_as().fetch_all(pool).await
    })
}

/// How many of the account's apps match `query`.
pub async fn count(db: &Db, account: &IssuerId, query: &AppQuery) -> Result<i64> {
    on_pool!(db, |pool| {
        let mut builder = QueryBuilder::new("SELECT count(*) FROM apps");
        push_filters(&mut builder, account, query);
        builder.build_query_scalar().fetch_one(pool).await
    })
}

/// The account's app `id`.
pub async fn find(db: &Db, account: &IssuerId, id: &str) -> Result<Option<AppRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let cache = db.read_cache();
    if let Some(app) = cache.app(account, id) {
        return Ok(Some(app));
    }
    let app: Option<AppRow> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT id, account_id, name, bundle_id, sku, primary_locale, marketplace, made_for_kids FROM apps WHERE id = $1 AND account_id = $2",
    )
    .bind(id)
    .bind(account.as_str())
    .fetch_optional(pool)
    .await
    })?;
    if let Some(app) = &app {
        cache.keep_app(app);
    }
    Ok(app)
}

/// Every app of every account, for `altdist admin app list`.
pub async fn list_all(db: &Db) -> Result<Vec<AppRow>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT id, account_id, name, bundle_id, sku, primary_locale, marketplace, made_for_kids FROM apps ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    })
}

/// An app to store.
#[derive(Debug, Clone)]
pub struct NewApp<'a> {
    /// The Apple id.
    pub id: &'a AppId,
    /// Its account.
    pub account: &'a IssuerId,
    /// Its name.
    pub name: &'a str,
    /// Its bundle id.
    pub bundle_id: &'a str,
    /// Its SKU.
    pub sku: &'a str,
    /// Its primary locale.
    pub primary_locale: &'a str,
    /// Whether it is a marketplace app.
    pub marketplace: bool,
    /// Whether it is, or ever was, made for kids.
    pub made_for_kids: bool,
}

/// Stores a new app.
pub async fn insert(db: &Db, app: &NewApp<'_>) -> Result<()> {
    on_pool_writing!(db, |pool| {
        sqlx::query(
        "INSERT INTO apps (id, account_id, name, bundle_id, sku, primary_locale, marketplace, made_for_kids, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(app.id.as_str())
    .bind(app.account.as_str())
    .bind(app.name)
    .bind(app.bundle_id)
    .bind(app.sku)
    .bind(app.primary_locale)
    .bind(app.marketplace)
    .bind(app.made_for_kids)
    .bind(super::now())
    .execute(pool)
    .await
    .map(drop)
    })
}
