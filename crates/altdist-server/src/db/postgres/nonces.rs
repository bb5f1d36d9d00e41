//! PostgreSQL's replay guard: the database decides.
//!
//! `install_nonces` has the primary key
//! `(account_id, nonce)`; `record_batch` inserts with `ON CONFLICT DO NOTHING RETURNING`, so of
//! several concurrent uses of a nonce, on one server or several sharing the database, exactly
//! one is fresh.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use altdist::resource::IssuerId;
use tokio::sync::mpsc;

use crate::db::nonces::{MAX_BATCH, NewNonce, NonceKey, NonceRequest, NonceUse, PruneClock, reply};
use crate::db::{Db, Result};

const FIRST_SEEN: &str =
    "SELECT first_seen FROM install_nonces WHERE account_id = $1 AND nonce = $2";

/// This process's writer of nonces, which batches concurrent verifications into one statement.
#[derive(Debug, Default)]
pub struct Nonces {
    writer: OnceLock<mpsc::Sender<NonceRequest>>,
    prune_clock: PruneClock,
}

impl Nonces {
    /// Inserts `entry`'s nonce; the database says whether it was fresh.
    pub(crate) async fn record(&self, db: &Db, entry: NewNonce) -> Result<NonceUse> {
        let (account, key) = (entry.account.clone(), entry.key.clone());
        // The writer is a task on the server's runtime, because the pool's connections belong
        // to it.
        let writer = self.writer.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
            tokio::spawn(write_database(db.clone(), receiver));
            sender
        });
        if NonceRequest::send(writer, entry).await? {
            Ok(NonceUse::Fresh)
        } else {
            Ok(NonceUse::Replayed {
                first_seen: first_seen(db, &account, &key).await?,
            })
        }
    }

    pub(crate) fn prune_clock(&self) -> &PruneClock {
        &self.prune_clock
    }
}

/// Inserts the nonces sent into PostgreSQL, which says which were fresh.
async fn write_database(db: Db, mut requests: mpsc::Receiver<NonceRequest>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while requests.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let entries: Vec<NewNonce> = batch
            .iter()
            .map(|request| request.entry().clone())
            .collect();
        let written = record_batch(&db, &entries)
            .await
            .map_err(|err| err.to_string());
        reply(batch.drain(..), written);
    }
}

/// The row counts of PostgreSQL's insert statements: the powers of two up to [`MAX_BATCH`]. A
/// batch is padded up to the next one, so there are nine statements, which each connection's
/// statement cache keeps prepared; a statement per batch size would be parsed again for most
/// batches, 1,024 parameters at a time.
fn padded_rows(rows: usize) -> usize {
    rows.next_power_of_two().min(MAX_BATCH)
}

/// PostgreSQL's `INSERT ... VALUES ($1, $2, $3, $4), ... ON CONFLICT DO NOTHING RETURNING ...`
/// for `rows` rows, a power of two up to [`MAX_BATCH`].
fn insert_statement(rows: usize) -> &'static str {
    static STATEMENTS: OnceLock<Vec<String>> = OnceLock::new();
    let statements = STATEMENTS.get_or_init(|| {
        (0..=MAX_BATCH.trailing_zeros())
            .map(|power| {
                let mut sql = String::from(
                    "INSERT INTO install_nonces (account_id, nonce, first_seen, expires_at) VALUES ",
                );
                for row in 0..1_usize << power {
                    if row > 0 {
                        sql.push_str(", ");
                    }
                    let first = row * 4 + 1;
                    let _ = write!(
                        sql,
                        "(${first}, ${}, ${}, ${})",
                        first + 1,
                        first + 2,
                        first + 3
                    );
                }
                sql.push_str(
                    " ON CONFLICT (account_id, nonce) DO NOTHING RETURNING account_id, nonce",
                );
                sql
            })
            .collect()
    });
    &statements[rows.trailing_zeros() as usize]
}

/// Records nonces, [`MAX_BATCH`] to a statement; returns for each whether it
/// was fresh.
///
/// One statement is one commit (one fsync with `synchronous=FULL`), however many nonces it
/// carries. Of equal entries in `batch`, the first is the one that counts; the others are
/// replays.
async fn record_batch(db: &Db, batch: &[NewNonce]) -> Result<Vec<bool>> {
    // The index of the first entry naming each (account, nonce).
    let mut first = HashMap::with_capacity(batch.len());
    let mut unique: Vec<(&NewNonce, &[u8])> = Vec::with_capacity(batch.len());
    for (at, entry) in batch.iter().enumerate() {
        first
            .entry((entry.account.as_str(), entry.key.as_bytes()))
            .or_insert_with(|| {
                unique.push((entry, entry.key.as_bytes()));
                at
            });
    }
    let mut fresh = vec![false; batch.len()];
    for chunk in unique.chunks(MAX_BATCH) {
        let rows = padded_rows(chunk.len());
        let sql = insert_statement(rows);
        // Padding repeats the last entry: a row equal to one inserted by the same statement is
        // a conflict, so it does nothing and returns nothing.
        let padded = chunk.iter().chain(std::iter::repeat_n(
            chunk.last().expect("chunks are never empty"),
            rows - chunk.len(),
        ));
        let inserted: Vec<(String, Vec<u8>)> = on_pool_writing!(db, |pool| {
            let mut query = sqlx::query_as(sql);
            for (entry, key) in padded {
                query = query
                    .bind(entry.account.as_str())
                    .bind(*key)
                    .bind(entry.now)
                    .bind(entry.expires_at);
            }
            query.fetch_all(pool).await
        })?;
        // Each inserted row is fresh for the first entry that names it.
        for (account, nonce) in &inserted {
            if let Some(&at) = first.get(&(account.as_str(), nonce.as_slice())) {
                fresh[at] = true;
            }
        }
    }
    Ok(fresh)
}

/// When `nonce` was first seen in `account`, unix seconds.
async fn first_seen(db: &Db, account: &IssuerId, key: &NonceKey) -> Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(FIRST_SEEN)
            .bind(account.as_str())
            .bind(key.as_bytes())
            .fetch_optional(pool)
            .await
    })
}

#[cfg(test)]
mod tests {
    use altdist::resource::IssuerId;

    use super::*;
    use crate::db::test_db::{TestDatabase, server_url};

    /// The database decides which use of a nonce is the first, within one statement as across
    /// statements (and so across servers).
    #[tokio::test]
    async fn the_first_use_in_a_batch_is_the_fresh_one() {
        let Some(server) = server_url() else { return };
        let database = TestDatabase::create(&server).await.unwrap();
        let db = Db::connect(database.url()).await.unwrap();
        db.migrate().await.unwrap();
        for account in ["a", "b"] {
            crate::db::accounts::insert(&db, &IssuerId(account.to_owned()))
                .await
                .unwrap();
        }
        let now = altdist::jwt::unix_now();
        let entry = |account: &str, nonce: &str| NewNonce {
            account: IssuerId(account.to_owned()),
            key: NonceKey::of(nonce),
            now,
            expires_at: now + 60,
        };
        let batch = [
            entry("a", "x"),
            entry("a", "y"),
            entry("a", "x"),
            entry("b", "x"),
        ];
        assert_eq!(
            record_batch(&db, &batch).await.unwrap(),
            [true, true, false, true]
        );
        assert_eq!(
            record_batch(&db, &batch[..2]).await.unwrap(),
            [false, false]
        );
        db.close().await;
    }
}
