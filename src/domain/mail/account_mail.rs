//! Mail about an account rather than a ticket: confirming an address, resetting or setting a
//! password, and warnings to the owner. Queued like notifications (so nothing is lost while
//! the mail server is away); the one-time link in it is made when it is sent.

use super::outbox::{self, Queued};
use crate::db::{Tx, stored_enum};
use crate::domain::accounts::account_tokens::Purpose;
use crate::domain::clock::Timestamp;

stored_enum!(
    /// A kind of account mail.
    pub enum AccountMail {
        /// After registering: confirm the address.
        VerifyEmail => "verify_email", "Confirm your email address";
        /// Someone asked to reset the password.
        PasswordReset => "password_reset", "Reset your password";
        /// An account made for you (staff by an admin): set a password.
        Invitation => "invitation", "Your account is ready";
        /// Someone tried to register an address that already has an account.
        AccountExists => "account_exists", "You already have an account";
        /// Someone keeps failing to sign in to the account.
        SignInAttempts => "sign_in_attempts", "Failed sign-in attempts on your account";
        /// An admin turned the account's two-factor sign-in off.
        TwoFactorReset => "two_factor_reset", "Two-factor sign-in was turned off";
    } else "Choose a kind of account mail."
);

impl AccountMail {
    /// The one-time link the mail carries, if any.
    pub fn link_purpose(self) -> Option<Purpose> {
        match self {
            AccountMail::VerifyEmail => Some(Purpose::Verify),
            AccountMail::PasswordReset | AccountMail::AccountExists => Some(Purpose::Reset),
            AccountMail::Invitation => Some(Purpose::Invite),
            AccountMail::SignInAttempts | AccountMail::TwoFactorReset => None,
        }
    }
}

/// Queues an account mail to the user at `email`, in the caller's transaction.
pub async fn enqueue(tx: &mut Tx, kind: AccountMail, user_id: i64, email: &str, now: Timestamp) -> sqlx::Result<()> {
    let queued = Queued { kind: kind.as_str(), ticket_id: None, message_id: None, recipient_id: Some(user_id) };
    outbox::enqueue(tx, queued, email, now).await
}
