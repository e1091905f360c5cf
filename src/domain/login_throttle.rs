//! Limits password guessing: after `MAX_FAILURES` failed sign-ins for one account or from
//! one client address within `WINDOW_SECONDS`, further attempts are refused until the
//! window has passed. Kept in the database so that every app instance counts the same.

use std::net::IpAddr;

use super::clock::Timestamp;
use crate::db::Db;

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// The two counters one sign-in attempt is charged to.
pub struct AttemptKeys {
    account: String,
    address: String,
}

impl AttemptKeys {
    /// `email` is taken as typed (trimmed, lower-cased), valid or not: guessing at a
    /// malformed address is still guessing.
    pub fn new(email: &str, address: IpAddr) -> Self {
        Self { account: format!("account:{}", email.trim().to_lowercase()), address: format!("address:{address}") }
    }
}

pub async fn is_locked(db: &Db, keys: &AttemptKeys, now: Timestamp) -> sqlx::Result<bool> {
    let failures: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_failures WHERE key IN ($1, $2) AND failed_at > $3 GROUP BY key \
         ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .bind(&keys.account)
    .bind(&keys.address)
    .bind(now - WINDOW_SECONDS)
    .fetch_optional(db.pool())
    .await?
    .unwrap_or(0);
    Ok(failures >= MAX_FAILURES)
}

pub async fn record_failure(db: &Db, keys: &AttemptKeys, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO login_failures (key, failed_at) VALUES ($1, $3), ($2, $3)")
        .bind(&keys.account)
        .bind(&keys.address)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A successful sign-in clears the account's failures; the address keeps its count, so
/// one valid account does not reset the budget for guessing at others.
pub async fn record_success(db: &Db, keys: &AttemptKeys) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(&keys.account).execute(db.pool()).await?;
    Ok(())
}

pub async fn forget_before(db: &Db, now: Timestamp) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM login_failures WHERE failed_at <= $1")
        .bind(now - WINDOW_SECONDS)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}
