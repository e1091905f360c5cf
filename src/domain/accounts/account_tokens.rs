//! One-time links mailed to an account's owner: confirm the address, reset the password,
//! or set a first one (an invitation). The secret is made when the mail is composed and
//! only its digest is stored; a link works once, and only until it expires.

use crate::db::{Db, Tx, stored_enum};
use crate::domain::Result;
use crate::domain::accounts::tokens;
use crate::domain::clock::Timestamp;

stored_enum!(
    /// What a link is for.
    pub enum Purpose {
        /// Confirms that the address is the account owner's.
        Verify => "verify", "Confirm your address";
        /// Sets a new password for someone who forgot theirs.
        Reset => "reset", "Reset your password";
        /// Sets a first password on an account someone else made.
        Invite => "invite", "Set your password";
    } else "Choose verify, reset or invite."
);

impl Purpose {
    /// How long a link stays good: a day to confirm, an hour to reset, a week to accept an
    /// invitation.
    pub fn lifetime(self) -> i64 {
        match self {
            Purpose::Verify => 24 * 3600,
            Purpose::Reset => 3600,
            Purpose::Invite => 7 * 24 * 3600,
        }
    }

    /// The page the link opens.
    pub fn path(self) -> &'static str {
        match self {
            Purpose::Verify => "/verify",
            Purpose::Reset | Purpose::Invite => "/password/reset",
        }
    }
}

/// Makes a link's secret for `user_id`, to be mailed to `email`, and stores its digest. The
/// secret goes into the mail and nowhere else. `None` when the account no longer has that
/// address (a mail queued before an admin changed it), or — for an invitation — when it has
/// a password already or a live invitation (an invitation rides on the first mail only).
pub async fn issue(db: &Db, user_id: i64, email: &str, purpose: Purpose, now: Timestamp) -> Result<Option<String>> {
    let secret = tokens::secret();
    let issued = sqlx::query(
        "INSERT INTO account_tokens (user_id, purpose, email, token_hash, created_at, expires_at) \
         SELECT u.id, $2, u.email, $4, $5, $6 FROM users u WHERE u.id = $1 AND u.email = $3 AND u.active = TRUE \
         AND ($2 <> 'invite' OR (u.password_hash = '' AND NOT EXISTS (SELECT 1 FROM account_tokens o \
             WHERE o.user_id = u.id AND o.purpose = 'invite' AND o.used_at IS NULL AND o.expires_at > $5)))",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(email)
    .bind(tokens::digest(&secret))
    .bind(now)
    .bind(now + purpose.lifetime())
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok((issued == 1).then_some(secret))
}

/// Ends every open link of an account: its password was just set, or its address changed.
pub async fn revoke_open(tx: &mut Tx, user_id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Purges links that can no longer be used, a day after they stopped being usable.
pub async fn forget_spent(db: &Db, now: Timestamp) -> Result<u64> {
    let gone = sqlx::query("DELETE FROM account_tokens WHERE expires_at < $1 OR used_at < $1")
        .bind(now - 24 * 3600)
        .execute(db.pool())
        .await?;
    Ok(gone.rows_affected())
}

/// A link that was good when it was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub user_id: i64,
    pub purpose: Purpose,
}

/// What makes an unexpired, unused link of `t` good: its account still has the address it
/// was mailed to, and an invitation is for an account without a password.
const STILL_GOOD: &str = "EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.email = t.email \
     AND (t.purpose <> 'invite' OR u.password_hash = ''))";

/// Spends the link with this secret, if it is one of `purposes` and still good, inside the
/// caller's transaction (so that it is spent only if what it allows is done). Two uses at
/// once: one wins, the other finds it spent.
pub async fn redeem(tx: &mut Tx, secret: &str, purposes: &[Purpose], now: Timestamp) -> Result<Option<Redeemed>> {
    let (first, second) = match purposes {
        [one] => (*one, *one),
        [one, two] => (*one, *two),
        _ => unreachable!("a link serves one or two purposes"),
    };
    let spent: Option<(i64, Purpose)> = sqlx::query_as(&format!(
        "UPDATE account_tokens AS t SET used_at = $1 WHERE t.token_hash = $2 AND t.used_at IS NULL AND t.expires_at > $1 \
         AND t.purpose IN ($3, $4) AND {STILL_GOOD} RETURNING user_id, purpose"
    ))
    .bind(now)
    .bind(tokens::digest(secret.trim()))
    .bind(first)
    .bind(second)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(spent.map(|(user_id, purpose)| Redeemed { user_id, purpose }))
}

/// Whether the secret names a link of one of `purposes` that is still good, without
/// spending it (for showing the form it leads to).
pub async fn is_good(db: &Db, secret: &str, purposes: &[Purpose], now: Timestamp) -> Result<bool> {
    let purpose: Option<Purpose> = sqlx::query_scalar(&format!(
        "SELECT t.purpose FROM account_tokens t WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 \
         AND {STILL_GOOD}"
    ))
    .bind(tokens::digest(secret.trim()))
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(purpose.is_some_and(|purpose| purposes.contains(&purpose)))
}
