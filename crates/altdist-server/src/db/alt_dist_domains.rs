//! `alt_dist_domains`: the domains web distribution installs from.

use altdist::resource::{AltDistDomainId, IssuerId};

use super::{Db, Listed, PageAfter, Result};

/// A domain as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AltDistDomainRow {
    /// The domain's id.
    pub id: String,
    /// The domain name.
    pub domain: String,
    /// Its name for people.
    pub reference_name: String,
    /// When it was created, RFC 3339.
    pub created_at: String,
}

const COLUMNS: &str = "id, domain, reference_name, created_at";

/// Stores a domain and returns it. A unique violation means the account has it already.
pub async fn insert(
    db: &Db,
    id: &AltDistDomainId,
    account: &IssuerId,
    domain: &str,
    reference_name: &str,
) -> Result<AltDistDomainRow> {
    let created_at = super::now();
    on_pool_writing!(db, |pool| {
        sqlx::query(
        "INSERT INTO alt_dist_domains (id, account_id, domain, reference_name, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.as_str())
    .bind(account.as_str())
    .bind(domain)
    .bind(reference_name)
    .bind(&created_at)
    .execute(pool)
    .await
    .map(drop)
    })?;
    Ok(AltDistDomainRow {
        id: id.to_string(),
        domain: domain.to_owned(),
        reference_name: reference_name.to_owned(),
        created_at,
    })
}

/// The account's domain `id`.
pub async fn find(db: &Db, account: &IssuerId, id: &str) -> Result<Option<AltDistDomainRow>> {
    if !super::storable(id) {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM alt_dist_domains WHERE id = $1 AND account_id = $2");
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// The account's domain named `domain`.
pub async fn find_by_domain(
    db: &Db,
    account: &IssuerId,
    domain: &str,
) -> Result<Option<AltDistDomainRow>> {
    if !super::storable(domain) {
        return Ok(None);
    }
    let sql =
        format!("SELECT {COLUMNS} FROM alt_dist_domains WHERE domain = $1 AND account_id = $2");
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(domain)
        .bind(account.as_str())
        .fetch_optional(pool)
        .await)
}

/// A page of the account's domains, oldest first. Returns one row more than the page's limit
/// when there is a next page (see [`super::split_page`]).
pub async fn list(
    db: &Db,
    account: &IssuerId,
    page: PageAfter,
) -> Result<Vec<Listed<AltDistDomainRow>>> {
    let sql = format!(
        "SELECT seq, {COLUMNS} FROM alt_dist_domains WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(account.as_str())
        .bind(page.after)
        .bind(page.limit.saturating_add(1))
        .fetch_all(pool)
        .await)
}

/// How many domains the account has.
pub async fn count(db: &Db, account: &IssuerId) -> Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT count(*) FROM alt_dist_domains WHERE account_id = $1"
    )
    .bind(account.as_str())
    .fetch_one(pool)
    .await)
}

/// Deletes the account's domain `id`; `false` when there is none.
pub async fn delete(db: &Db, account: &IssuerId, id: &str) -> Result<bool> {
    if !super::storable(id) {
        return Ok(false);
    }
    on_pool_writing!(db, |pool| sqlx::query(
        "DELETE FROM alt_dist_domains WHERE id = $1 AND account_id = $2"
    )
    .bind(id)
    .bind(account.as_str())
    .execute(pool)
    .await
    .map(|done| done.rows_affected() > 0))
}
