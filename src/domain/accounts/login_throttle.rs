//! Limits password guessing without handing anyone a way to lock the owner out: after
//! `MAX_FAILURES` failed attempts from one client address within `WINDOW_SECONDS`, that
//! address is refused until the window has passed — whichever accounts it tried. An account
//! that many addresses guess at is never locked: its owner, signing in from their own
//! address, still gets in, and is mailed once per window that someone is guessing. The same
//! counters limit what anyone can make us mail (registrations, reset links) per address.
//! Kept in the database so that every app instance counts the same.

use std::net::IpAddr;

use crate::db::Db;
use crate::domain::clock::Timestamp;

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// The two counters one sign-in attempt is charged to.
pub struct AttemptKeys {
    account: String,
    address: String,
}

/// The client an address stands for: one IPv4 address, or an IPv6 /64 — what one
/// subscriber is handed, and can spread its requests over at will.
fn client(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

impl AttemptKeys {
    /// `email` is taken as typed (trimmed, lower-cased), valid or not: guessing at a
    /// malformed address is still guessing.
    pub fn new(email: &str, address: IpAddr) -> Self {
        // A digest keeps the key short and storable whatever was typed (Postgres refuses NUL).
        let account = crate::domain::accounts::tokens::digest(&email.trim().to_lowercase());
        Self { account: format!("account:{account}"), address: format!("address:{}", client(address)) }
    }
}

/// Counts this attempt against both keys before the password is checked — so a burst of
/// parallel guesses is counted as it arrives — and answers whether the attempt is over
/// the limit. The rows are the attempt's until [`record_success`] takes them back.
pub async fn record_attempt(db: &Db, keys: &AttemptKeys, now: Timestamp) -> sqlx::Result<Attempt> {
    let mut ids = Vec::with_capacity(2);
    for key in [&keys.account, &keys.address] {
        let id: i64 = sqlx::query_scalar("INSERT INTO login_failures (key, failed_at) VALUES ($1, $2) RETURNING id")
            .bind(key)
            .bind(now)
            .fetch_one(db.pool())
            .await?;
        ids.push(id);
    }
    // Each attempt counts only those that came before it, so of a burst exactly the
    // first ones within the limit go on to the password check.
    let over_limit = count_up_to(db, &keys.address, ids[1], now).await? > MAX_FAILURES;
    let under_attack = count_up_to(db, &keys.account, ids[0], now).await? > MAX_FAILURES;
    Ok(Attempt { ids, over_limit, under_attack })
}

pub struct Attempt {
    ids: Vec<i64>,
    /// This address has used up its attempts: refuse before checking anything.
    pub over_limit: bool,
    /// The account has failed more than the limit, from wherever: its owner should know.
    under_attack: bool,
}

impl AttemptKeys {
    fn alerted(&self) -> String {
        format!("alerted:{}", self.account)
    }
}

/// Whether the owner of an account under attack is to be mailed now: once per window.
pub async fn owner_to_be_told(db: &Db, keys: &AttemptKeys, attempt: &Attempt, now: Timestamp) -> sqlx::Result<bool> {
    if !attempt.under_attack {
        return Ok(false);
    }
    // One statement, so that of attempts at once only one finds the owner untold.
    let told = sqlx::query(
        "INSERT INTO login_failures (key, failed_at) SELECT $1, $2 WHERE NOT EXISTS \
         (SELECT 1 FROM login_failures WHERE key = $1 AND failed_at > $3)",
    )
    .bind(keys.alerted())
    .bind(now)
    .bind(now - WINDOW_SECONDS)
    .execute(db.pool())
    .await?;
    Ok(told.rows_affected() == 1)
}

/// Counts a request that makes us send mail or create an account (`action`: "register",
/// "mail") from this address, and answers whether the address is over the limit.
pub async fn record_request(db: &Db, action: &str, address: IpAddr, now: Timestamp) -> sqlx::Result<bool> {
    let key = format!("{action}:{}", client(address));
    let id: i64 = sqlx::query_scalar("INSERT INTO login_failures (key, failed_at) VALUES ($1, $2) RETURNING id")
        .bind(&key)
        .bind(now)
        .fetch_one(db.pool())
        .await?;
    Ok(count_up_to(db, &key, id, now).await? > MAX_FAILURES)
}

async fn count_up_to(db: &Db, key: &str, id: i64, now: Timestamp) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND id <= $2 AND failed_at > $3")
        .bind(key)
        .bind(id)
        .bind(now - WINDOW_SECONDS)
        .fetch_one(db.pool())
        .await
}

/// A successful sign-in clears the account's failures and takes back its own attempt; the
/// address keeps its earlier failures, so one valid account does not reset the budget for
/// guessing at others.
pub async fn record_success(db: &Db, keys: &AttemptKeys, attempt: Attempt) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(&keys.account).execute(db.pool()).await?;
    for id in attempt.ids {
        sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(db.pool()).await?;
    }
    Ok(())
}

/// A right password that still awaits its second factor takes back its own attempt only:
/// the account's earlier failures stand until the sign-in is complete.
pub async fn take_back(db: &Db, attempt: Attempt) -> sqlx::Result<()> {
    for id in attempt.ids {
        sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(db.pool()).await?;
    }
    Ok(())
}

pub async fn forget_before(db: &Db, now: Timestamp) -> sqlx::Result<u64> {
    let result =
        sqlx::query("DELETE FROM login_failures WHERE failed_at <= $1").bind(now - WINDOW_SECONDS).execute(db.pool()).await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_is_one_client() {
        let one = client("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(one, client("2001:db8:1:2:ffff::9".parse().unwrap()));
        assert_ne!(one, client("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(client("::ffff:203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(client("203.0.113.7".parse().unwrap()), "203.0.113.7");
    }
}
