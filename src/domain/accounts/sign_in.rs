//! Signing in: the password (limited per client address, see `login_throttle`), then — for
//! accounts that have it — a second factor. What may sign in: an active account with a
//! verified address.

use std::net::IpAddr;

use crate::db::Db;
use crate::domain::Result;
use crate::domain::accounts::login_throttle::{self, AttemptKeys};
use crate::domain::accounts::two_factor;
use crate::domain::accounts::users::{self, User};
use crate::domain::clock::Timestamp;
use crate::domain::email::Email;
use crate::domain::mail::account_mail::{self, AccountMail};

/// What became of a sign-in attempt.
#[derive(Debug)]
pub enum Outcome {
    /// This address has used up its attempts for now; nothing was checked.
    Throttled,
    /// Unknown address, wrong password or deactivated account: the same answer for each.
    Refused,
    /// The right password, but the address is not confirmed yet.
    Unverified(User),
    /// The wait for the second factor ran out (or the password changed meanwhile).
    Expired,
    /// The right password; a second factor is still to come.
    SecondFactor(Pending),
    SignedIn(User),
}

/// Checks a password attempt from `address`.
pub async fn with_password(db: &Db, email: &str, password: &str, address: IpAddr, now: Timestamp) -> Result<Outcome> {
    let keys = AttemptKeys::new(email, address);
    let attempt = login_throttle::record_attempt(db, &keys, now).await?;
    if login_throttle::owner_to_be_told(db, &keys, &attempt, now).await? {
        warn_owner(db, email, now).await?;
    }
    if attempt.over_limit {
        return Ok(Outcome::Throttled);
    }
    let Some(user) = users::authenticate(db, email, password).await? else {
        return Ok(Outcome::Refused);
    };
    if user.verified && user.two_factor {
        // Not signed in yet: the account's failures stand until the code is right too.
        login_throttle::take_back(db, attempt).await?;
        return Ok(Outcome::SecondFactor(Pending { user_id: user.id, since: now, password: fingerprint(db, user.id).await? }));
    }
    login_throttle::record_success(db, &keys, attempt).await?;
    Ok(if user.verified { Outcome::SignedIn(user) } else { Outcome::Unverified(user) })
}

/// Between a right password and the second factor: who, since when, and which password
/// it was (so that a password changed meanwhile ends it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub user_id: i64,
    pub since: Timestamp,
    password: String,
}

/// How long the second factor may keep one waiting after the password.
pub const PENDING_SECONDS: i64 = 10 * 60;

/// A digest of the account's password hash: it changes when the password does.
async fn fingerprint(db: &Db, user_id: i64) -> Result<String> {
    let hash: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(user_id).fetch_optional(db.pool()).await?;
    Ok(crate::domain::accounts::tokens::digest(&hash.unwrap_or_default()))
}

/// Checks the second factor (a TOTP code or a recovery code) after a right password;
/// counted like a password attempt. A wait of more than [`PENDING_SECONDS`], or a password
/// changed meanwhile, is `Refused`: start again with the password.
pub async fn with_code(db: &Db, pending: &Pending, code: &str, address: IpAddr, now: Timestamp) -> Result<Outcome> {
    if now - pending.since > PENDING_SECONDS || fingerprint(db, pending.user_id).await? != pending.password {
        return Ok(Outcome::Expired);
    }
    let Some(user) = users::find_active(db, pending.user_id).await? else { return Ok(Outcome::Refused) };
    let keys = AttemptKeys::new(&user.email, address);
    let attempt = login_throttle::record_attempt(db, &keys, now).await?;
    if login_throttle::owner_to_be_told(db, &keys, &attempt, now).await? {
        warn_owner(db, &user.email, now).await?;
    }
    if attempt.over_limit {
        return Ok(Outcome::Throttled);
    }
    if !two_factor::check_sign_in_code(db, user.id, code, now).await? {
        return Ok(Outcome::Refused);
    }
    login_throttle::record_success(db, &keys, attempt).await?;
    Ok(Outcome::SignedIn(user))
}

/// Tells the owner of an account someone keeps guessing at.
async fn warn_owner(db: &Db, email: &str, now: Timestamp) -> Result<()> {
    let Ok(email) = Email::parse(email) else { return Ok(()) };
    if let Some(owner) = users::find_by_email(db, &email).await?.filter(|owner| owner.active) {
        let mut tx = db.begin_write().await?;
        account_mail::enqueue(&mut tx, AccountMail::SignInAttempts, owner.id, &owner.email, now).await?;
        tx.commit().await?;
    }
    Ok(())
}
