//! `rate_limit_counts`: requests charged to each API key, per minute, shared by every server on
//! the database. See [`crate::rate_limit::RateLimiter`].

use sqlx::QueryBuilder;

use super::{Db, Result};

/// Rows per statement: far below either backend's limit on bound values (three per row).
const CHUNK: usize = 500;

/// Adds `counts` (API key id, requests) to the minute `minute`.
pub async fn add(db: &Db, minute: i64, counts: &[(String, i64)]) -> Result<()> {
    for chunk in counts.chunks(CHUNK) {
        // One upsert for many keys; `excluded` is the row that did not go in, in both dialects.
        on_pool_writing!(db, |pool| {
            let mut builder =
                QueryBuilder::new("INSERT INTO rate_limit_counts (api_key_id, minute, count) ");
            builder.push_values(chunk, |mut row, (key, count)| {
                row.push_bind(key.as_str())
                    .push_bind(minute)
                    .push_bind(*count);
            });
            builder.push(
                " ON CONFLICT (api_key_id, minute) DO UPDATE SET count = rate_limit_counts.count + excluded.count",
            );
            builder.build().execute(pool).await.map(drop)
        })?;
    }
    Ok(())
}

/// The requests charged to each of `keys` in the minutes after `since` (exclusive); keys
/// without any are left out.
pub async fn sums(db: &Db, since: i64, keys: &[String]) -> Result<Vec<(String, i64)>> {
    let mut sums = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        // PostgreSQL sums BIGINT into NUMERIC; the cast keeps one Rust type for both.
        let rows: Vec<(String, i64)> = on_pool!(db, |pool| {
            let mut builder = QueryBuilder::new(
                "SELECT api_key_id, CAST(sum(count) AS BIGINT) FROM rate_limit_counts WHERE minute > ",
            );
            builder.push_bind(since).push(" AND api_key_id IN (");
            let mut list = builder.separated(", ");
            for key in chunk {
                list.push_bind(key.as_str());
            }
            builder.push(") GROUP BY api_key_id");
            builder.build_query_as().fetch_all(pool).await
        })?;
        sums.extend(rows);
    }
    Ok(sums)
}

/// Deletes the counts of minutes up to `until` (inclusive); returns how many rows went.
pub async fn prune(db: &Db, until: i64) -> Result<u64> {
    on_pool_writing!(db, |pool| sqlx::query(
        "DELETE FROM rate_limit_counts WHERE minute <= $1"
    )
    .bind(until)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
}
