//! Choosing a password without the old one: a reset link for someone who forgot theirs, or
//! the invitation link of an account someone else made. Either proves the address, ends the
//! account's sessions, and works once. Also the signed-in user's own password change.

use serde_json::json;

use super::registration::mark_verified;
use crate::db::{Db, Tx};
use crate::domain::accounts::account_tokens::{self, Purpose};
use crate::domain::accounts::password::{self, Password};
use crate::domain::accounts::users::{self, User};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::email::Email;
use crate::domain::mail::account_mail::{self, AccountMail};
use crate::domain::{Error, FieldErrors, Result};

/// Mails a reset link to the account at `email`, if it is known and active. The answer is
/// the same either way.
pub async fn request_reset(db: &Db, email: &str, now: Timestamp) -> Result<()> {
    let Ok(email) = Email::parse(email) else { return Ok(()) };
    if let Some(user) = users::find_by_email(db, &email).await?.filter(|user| user.active) {
        let mut tx = db.begin_write().await?;
        account_mail::enqueue(&mut tx, AccountMail::PasswordReset, user.id, &user.email, now).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Whether a reset or invitation link is still good (to show its form).
pub async fn link_is_good(db: &Db, secret: &str, now: Timestamp) -> Result<bool> {
    account_tokens::is_good(db, secret, &[Purpose::Reset, Purpose::Invite], now).await
}

/// Why a link could not be used: spent, expired, or never ours.
pub const LINK_REFUSED: &str = "This link has been used or has expired. Ask for a new one below.";

/// Sets the password chosen through a reset or invitation link: the link is spent, the
/// address counts as verified, and every session of the account ends.
pub async fn reset_password(db: &Db, secret: &str, new_password: &Password, now: Timestamp) -> Result<User> {
    // A bad link costs no hashing.
    if !link_is_good(db, secret, now).await? {
        return Err(Error::Invalid(FieldErrors::single("token", LINK_REFUSED)));
    }
    let hash = password::hash(new_password).await?;
    let mut tx = db.begin_write().await?;
    let Some(redeemed) = account_tokens::redeem(&mut tx, secret, &[Purpose::Reset, Purpose::Invite], now).await? else {
        return Err(Error::Invalid(FieldErrors::single("token", LINK_REFUSED)));
    };
    let user_id = redeemed.user_id;
    let active: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND active = TRUE").bind(user_id).fetch_optional(&mut *tx).await?;
    if active.is_none() {
        return Err(Error::Invalid(FieldErrors::single("token", LINK_REFUSED)));
    }
    store_password(&mut tx, user_id, &hash, None, now).await?;
    mark_verified(&mut tx, user_id, now).await?;
    tx.commit().await?;
    users::find_active(db, user_id).await?.ok_or(Error::NotFound)
}

/// The signed-in user changes their own password, knowing the current one; every other
/// session of theirs ends.
pub async fn change_password(
    db: &Db,
    user: &User,
    current: &str,
    new_password: &str,
    session_id: &str,
    now: Timestamp,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    let new_password = errors.check("password", Password::parse(new_password));
    if users::authenticate(db, &user.email, current).await?.is_none() {
        errors.add("current_password", "That is not your current password.");
    }
    errors.into_result()?;
    let hash = password::hash(&new_password.expect("checked")).await?;
    let mut tx = db.begin_write().await?;
    store_password(&mut tx, user.id, &hash, Some(session_id), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Stores a new password hash and ends the account's sessions but `keep` (the one that
/// changed it), audited.
async fn store_password(tx: &mut Tx, user_id: i64, hash: &str, keep: Option<&str>, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    users::sign_out_everywhere(tx, user_id, keep).await?;
    // Links mailed before now must not set it again.
    account_tokens::revoke_open(tx, user_id, now).await?;
    let entry = audit::Entry {
        actor_id: Some(user_id),
        action: "user.password",
        object_type: "user",
        object_id: user_id.to_string(),
        before: Some(json!({ "password": "(unchanged)" })),
        after: Some(json!({ "password": "(changed)" })),
    };
    audit::record(tx, entry, now).await?;
    Ok(())
}
