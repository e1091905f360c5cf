//! Customers registering themselves, and proving that their address is theirs.
//!
//! Registering never says whether an address has an account: a new address gets an
//! unverified account and a link to confirm it, a known one gets nothing new — its owner is
//! mailed a way in instead. Nobody can sign in with an unverified address, so registering
//! someone else's address (to catch their tickets) gains nothing; the owner takes the
//! account back by resetting its password, which also verifies it.

use serde_json::json;

use crate::db::{self, Db};
use crate::domain::Result;
use crate::domain::accounts::account_tokens::{self, Purpose};
use crate::domain::accounts::password;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, NewAccount, NewUser, User};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::email::Email;
use crate::domain::mail::account_mail::{self, AccountMail};

/// Registers a customer. Answers the same whether the address was new or not; the
/// address's owner finds out by mail. The duplicate check comes first, so no account is
/// touched by a second registration; the password is hashed either way, so that the time
/// an answer takes tells nothing either.
pub async fn register(db: &Db, new_user: &NewUser, now: Timestamp) -> Result<()> {
    debug_assert_eq!(new_user.role, Role::Customer);
    let existing = users::find_by_email(db, &new_user.email).await?;
    let password_hash = password::hash(&new_user.password).await?;
    if let Some(existing) = existing {
        return tell_owner(db, &existing, now).await;
    }
    let mut tx = db.begin_write().await?;
    let account = NewAccount {
        name: &new_user.name,
        email: &new_user.email,
        role: Role::Customer,
        password_hash: &password_hash,
        verified: false,
    };
    match users::insert(&mut tx, account, None, now).await {
        Ok(user) => {
            account_mail::enqueue(&mut tx, AccountMail::VerifyEmail, user.id, &user.email, now).await?;
            tx.commit().await?;
            Ok(())
        }
        // Registered by someone else a moment ago: the same answer as any known address.
        Err(crate::domain::Error::Invalid(errors)) if errors.get("email").is_some() => Ok(()),
        Err(error) => Err(error),
    }
}

/// Mails the owner of an address someone tried to register a way in (a reset link).
async fn tell_owner(db: &Db, owner: &User, now: Timestamp) -> Result<()> {
    if owner.active {
        let mut tx = db.begin_write().await?;
        account_mail::enqueue(&mut tx, AccountMail::AccountExists, owner.id, &owner.email, now).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Confirms an address with the link mailed to it. Answers the account when the link was
/// good; a used, expired or unknown link is `None`.
pub async fn verify(db: &Db, secret: &str, now: Timestamp) -> Result<Option<User>> {
    let mut tx = db.begin_write().await?;
    let Some(redeemed) = account_tokens::redeem(&mut tx, secret, &[Purpose::Verify], now).await? else {
        return Ok(None);
    };
    mark_verified(&mut tx, redeemed.user_id, now).await?;
    tx.commit().await?;
    users::find_active(db, redeemed.user_id).await
}

/// Marks the account's address as proven (by a link mailed to it), once.
pub(super) async fn mark_verified(tx: &mut db::Tx, user_id: i64, now: Timestamp) -> Result<()> {
    let marked = sqlx::query("UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if marked > 0 {
        let entry = audit::Entry {
            actor_id: Some(user_id),
            action: "user.verify",
            object_type: "user",
            object_id: user_id.to_string(),
            before: Some(json!({ "verified": false })),
            after: Some(json!({ "verified": true })),
        };
        audit::record(tx, entry, now).await?;
    }
    Ok(())
}

/// Sends a new confirmation link to an account waiting for one. Any other address (unknown,
/// confirmed, deactivated) is quietly left alone: the answer is the same.
pub async fn resend_verification(db: &Db, email: &str, now: Timestamp) -> Result<()> {
    let Ok(email) = Email::parse(email) else { return Ok(()) };
    match users::find_by_email(db, &email).await? {
        Some(user) if user.active && !user.verified => {
            let mut tx = db.begin_write().await?;
            account_mail::enqueue(&mut tx, AccountMail::VerifyEmail, user.id, &user.email, now).await?;
            tx.commit().await?;
            Ok(())
        }
        _ => Ok(()),
    }
}
