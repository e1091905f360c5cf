//! What a queued mail says, read when it is sent: a ticket notification with the public
//! message it is about and its files (never an internal note), or a mail about the
//! recipient's account.

use super::account_mail::AccountMail;
use super::notification::Notification;
use super::outbox::Claimed;
use crate::db::{Db, Flag};
use crate::domain::Result;
use crate::domain::accounts::role::Role;
use crate::domain::attachments::{self, Attachment};
use crate::domain::tickets::{self, TicketNumber};

pub enum Content {
    Ticket(MailContent),
    Account(AccountContent),
}

/// What a notification mail says.
#[derive(Clone, Debug)]
pub struct MailContent {
    pub kind: Notification,
    pub ticket_id: i64,
    pub ticket_number: TicketNumber,
    pub ticket_prefix: String,
    pub ticket_subject: String,
    pub requester_name: String,
    /// Whether the recipient works the desk (links go to the workspace) or is the customer.
    pub recipient_is_staff: bool,
    /// Whether the recipient asked the ticket (rather than being copied, or staff).
    pub recipient_is_requester: bool,
    pub recipient_name: Option<String>,
    /// A customer whose account was made for them and who has set no password yet: the
    /// mail carries a link to set one.
    pub recipient_needs_password: bool,
    /// The public message the mail is about, with its author — never an internal note.
    pub message: Option<(String, String)>,
    /// That message's files (none removed).
    pub files: Vec<Attachment>,
    /// Whether they go along (or are only listed): nobody gets their own files back.
    pub attach_files: bool,
}

/// What an account mail says.
#[derive(Clone, Debug)]
pub struct AccountContent {
    pub kind: AccountMail,
    pub user_id: i64,
    pub recipient_name: String,
}

/// Reads what `mail` is about. `None` when its ticket, account or kind no longer exists, or
/// the ticket is no longer the recipient's to see.
pub async fn content(db: &Db, mail: &Claimed) -> Result<Option<Content>> {
    if let Ok(kind) = mail.kind.parse::<AccountMail>() {
        let Some(user_id) = mail.recipient_id else { return Ok(None) };
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = $1 AND active = TRUE")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
        return Ok(name.map(|recipient_name| Content::Account(AccountContent { kind, user_id, recipient_name })));
    }
    let (Ok(kind), Some(ticket_id)) = (mail.kind.parse::<Notification>(), mail.ticket_id) else {
        return Ok(None);
    };
    #[derive(sqlx::FromRow)]
    struct Row {
        number: TicketNumber,
        prefix: String,
        subject: String,
        requester_name: String,
        requester_id: i64,
        recipient_role: Option<Role>,
        recipient_name: Option<String>,
        recipient_needs_password: Option<Flag>,
        /// The organisation the recipient manages, if any.
        recipient_manages: Option<i64>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT t.number, t.prefix, t.subject, r.name AS requester_name, t.requester_id, u.role AS recipient_role, u.name AS recipient_name, \
         (u.password_hash = '' AND u.active = TRUE) AS recipient_needs_password, \
         CASE WHEN u.org_manager THEN u.organisation_id END AS recipient_manages \
         FROM tickets t JOIN users r ON r.id = t.requester_id LEFT JOIN users u ON u.id = $2 WHERE t.id = $1",
    )
    .bind(ticket_id)
    .bind(mail.recipient_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    // A customer hears only of what they may still see: someone removed from the copy
    // after this mail was queued is not sent it.
    if let (Some(Role::Customer), Some(recipient_id)) = (row.recipient_role, mail.recipient_id)
        && !tickets::customer_sees_ticket(db.pool(), ticket_id, recipient_id, row.recipient_manages).await?
    {
        return Ok(None);
    }
    // A mail without a user account behind it goes to the team address: staff.
    let recipient_is_staff = row.recipient_role.is_none_or(Role::is_staff);
    let message: Option<(String, String, Option<i64>)> = match mail.message_id {
        Some(message_id) => {
            sqlx::query_as(
                "SELECT COALESCE(a.name, ''), m.body, m.author_id FROM messages m LEFT JOIN users a ON a.id = m.author_id \
                 WHERE m.id = $1 AND m.kind = 'message' AND m.public = TRUE",
            )
            .bind(message_id)
            .fetch_optional(db.pool())
            .await?
        }
        None => None,
    };
    let files = match (&message, mail.message_id) {
        (Some(_), Some(message_id)) => {
            attachments::of_messages(db, &[message_id]).await?.into_iter().filter(|file| !file.removed.0).collect()
        }
        _ => Vec::new(),
    };
    let attach_files = message.as_ref().is_some_and(|(_, _, author_id)| *author_id != mail.recipient_id);
    let message = message.map(|(author, body, _)| (author, body));
    Ok(Some(Content::Ticket(MailContent {
        kind,
        ticket_id,
        ticket_number: row.number,
        ticket_prefix: row.prefix,
        ticket_subject: row.subject,
        requester_name: row.requester_name,
        recipient_is_staff,
        recipient_is_requester: mail.recipient_id == Some(row.requester_id),
        recipient_name: row.recipient_name,
        recipient_needs_password: !recipient_is_staff && row.recipient_needs_password.is_some_and(|Flag(needs)| needs),
        message,
        files,
        attach_files,
    })))
}
