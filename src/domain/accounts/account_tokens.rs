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

/// Makes a link's secret for `user_id` and stores its digest. The secret goes into the
/// mail and nowhere else.
pub async fn issue(db: &Db, user_id: i64, purpose: Purpose, now: Timestamp) -> Result<String> {
    let secret = tokens::secret();
    sqlx::query("INSERT INTO account_tokens (user_id, purpose, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(user_id)
        .bind(purpose)
        .bind(tokens::digest(&secret))
        .bind(now)
        .bind(now + purpose.lifetime())
        .execute(db.pool())
        .await?;
    Ok(secret)
}

/// A link that was good when it was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub user_id: i64,
    pub purpose: Purpose,
}

/// Spends the link with this secret, if it is one of `purposes`, unused and unexpired,
/// inside the caller's transaction (so that it is spent only if what it allows is done).
/// Two uses at once: one wins, the other finds it spent.
pub async fn redeem(tx: &mut Tx, secret: &str, purposes: &[Purpose], now: Timestamp) -> Result<Option<Redeemed>> {
    let (first, second) = match purposes {
        [one] => (*one, *one),
        [one, two] => (*one, *two),
        _ => unreachable!("a link serves one or two purposes"),
    };
    let spent: Option<(i64, Purpose)> = sqlx::query_as(
        "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         AND purpose IN ($3, $4) RETURNING user_id, purpose",
    )
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
    let purpose: Option<Purpose> =
        sqlx::query_scalar("SELECT purpose FROM account_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(tokens::digest(secret.trim()))
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(purpose.is_some_and(|purpose| purposes.contains(&purpose)))
}
