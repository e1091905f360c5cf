//! Notifications waiting to be mailed. Rows are written in the transaction of the change
//! that causes them, so a change and its notifications commit or vanish together.

use serde_json::json;

use crate::db::{Db, Tx, stored_enum};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::{Error, Result};

stored_enum!(
    /// A kind of mail, and what it is for on the profile page.
    pub enum Notification {
        /// To the requester: we have your ticket.
        TicketCreated => "ticket_created", "Confirmation when I send a new request";
        /// To `NOTIFY_EMAIL`: a new ticket arrived.
        NewTicketAlert => "new_ticket_alert", "A new ticket arrived";
        /// To the requester: an agent answered.
        AgentReplied => "agent_replied", "A reply from the support team";
        /// To the assignee: the customer wrote.
        CustomerReplied => "customer_replied", "The customer wrote on a ticket assigned to me";
        /// To the agent given the ticket.
        Assigned => "assigned", "A ticket was assigned to me";
        /// To the requester.
        Resolved => "resolved", "My request was resolved";
        /// To the requester.
        Closed => "closed", "My request was closed";
    } else "Choose a kind of notification."
);

impl Notification {
    /// The kinds a customer can receive, and those staff can, each of which they may turn off.
    pub const FOR_CUSTOMERS: [Notification; 4] =
        [Notification::TicketCreated, Notification::AgentReplied, Notification::Resolved, Notification::Closed];
    pub const FOR_STAFF: [Notification; 2] = [Notification::Assigned, Notification::CustomerReplied];
}

pub struct Recipient<'a> {
    pub user_id: Option<i64>,
    pub email: &'a str,
}

/// Queues a notification, unless the recipient turned this kind off.
pub async fn enqueue(
    tx: &mut Tx,
    notification: Notification,
    ticket_id: i64,
    message_id: Option<i64>,
    recipient: Recipient<'_>,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, ticket_id, message_id, recipient_id, recipient_email, next_attempt_at, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $6 WHERE NOT EXISTS \
         (SELECT 1 FROM notification_preferences p WHERE p.user_id = $4 AND p.kind = $1 AND p.enabled = FALSE)",
    )
    .bind(notification)
    .bind(ticket_id)
    .bind(message_id)
    .bind(recipient.user_id)
    .bind(recipient.email)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How long a worker may hold a claimed mail before another may take it over.
pub const LEASE_SECONDS: i64 = 120;
/// Deliveries tried before a mail is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait before the next try after `attempts` failed ones: 30 s, doubling, at most 1 h.
pub fn backoff_seconds(attempts: i64) -> i64 {
    (30_i64 << attempts.clamp(1, 8).saturating_sub(1)).min(3600)
}

/// A mail one worker has claimed for delivery.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub message_id: Option<i64>,
    pub recipient_id: Option<i64>,
    pub recipient_email: String,
    pub rfc_message_id: String,
    pub attempts: i64,
}

/// Claims the oldest mail that is due and not held by another worker, giving it its
/// Message-ID on the first claim (kept for every retry). One statement: on PostgreSQL the
/// row is locked and skipped by concurrent claims, and the outer conditions are checked
/// again after any wait, so two workers never hold the same mail; SQLite runs one write
/// at a time.
pub async fn claim_next(db: &Db, worker: &str, new_message_id: &str, now: Timestamp) -> Result<Option<Claimed>> {
    let skip_locked = match db.backend() {
        crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        crate::db::Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET locked_by = $1, locked_until = $2, rfc_message_id = COALESCE(rfc_message_id, $3) \
         WHERE id = (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $4 \
                     AND (locked_until IS NULL OR locked_until < $4) ORDER BY next_attempt_at, id LIMIT 1{skip_locked}) \
           AND status = 'pending' AND (locked_until IS NULL OR locked_until < $4) \
         RETURNING id, kind, ticket_id, message_id, recipient_id, recipient_email, rfc_message_id, attempts"
    );
    Ok(sqlx::query_as(&sql)
        .bind(worker)
        .bind(now + LEASE_SECONDS)
        .bind(new_message_id)
        .bind(now)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn mark_sent(db: &Db, id: i64, worker: &str, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, locked_until = NULL, last_error = NULL \
         WHERE id = $2 AND locked_by = $3",
    )
    .bind(now)
    .bind(id)
    .bind(worker)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed delivery: tried again after a backoff, or — when the server refused
/// for good or the attempts are used up — marked failed for an admin to look at.
pub async fn mark_attempt_failed(
    db: &Db,
    mail: &Claimed,
    worker: &str,
    error: &str,
    permanent: bool,
    now: Timestamp,
) -> Result<()> {
    let attempts = mail.attempts + 1;
    let failed = permanent || attempts >= MAX_ATTEMPTS;
    sqlx::query(
        "UPDATE outbox SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4, locked_until = NULL \
         WHERE id = $5 AND locked_by = $6",
    )
    .bind(if failed { "failed" } else { "pending" })
    .bind(attempts)
    .bind(now + backoff_seconds(attempts))
    .bind(error)
    .bind(mail.id)
    .bind(worker)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A mail that could not be delivered, for the admins' list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FailedMail {
    pub id: i64,
    pub kind: String,
    pub recipient_email: String,
    pub ticket_number: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

pub async fn failed(db: &Db) -> Result<Vec<FailedMail>> {
    Ok(sqlx::query_as(
        "SELECT o.id, o.kind, o.recipient_email, t.number AS ticket_number, o.attempts, o.last_error, o.created_at \
         FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id WHERE o.status = 'failed' ORDER BY o.id DESC LIMIT 200",
    )
    .fetch_all(db.pool())
    .await?)
}

pub async fn failed_count(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'failed'").fetch_one(db.pool()).await?)
}

/// Puts a failed mail back in the queue, due now, with a fresh set of attempts.
pub async fn retry(db: &Db, id: i64, actor_id: i64, now: Timestamp) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let retried = sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = NULL \
         WHERE id = $2 AND status = 'failed'",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if retried == 0 {
        return Err(Error::NotFound);
    }
    let entry = audit::Entry {
        actor_id: Some(actor_id),
        action: "mail.retry",
        object_type: "mail",
        object_id: id.to_string(),
        before: Some(json!({ "status": "failed" })),
        after: Some(json!({ "status": "pending" })),
    };
    audit::record(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether each kind is on for the user (a kind never set is on).
pub async fn preferences(db: &Db, user_id: i64) -> Result<Vec<(Notification, bool)>> {
    let off: Vec<String> = sqlx::query_scalar("SELECT kind FROM notification_preferences WHERE user_id = $1 AND enabled = FALSE")
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    Ok(Notification::ALL.iter().map(|&kind| (kind, !off.iter().any(|each| each == kind.as_str()))).collect())
}

/// Stores the user's choice for each of `kinds`: on when it is in `enabled`.
pub async fn set_preferences(
    db: &Db,
    user_id: i64,
    kinds: &[Notification],
    enabled: &[Notification],
    now: Timestamp,
) -> Result<()> {
    let mut tx = db.begin_write().await?;
    for kind in kinds {
        sqlx::query(
            "INSERT INTO notification_preferences (user_id, kind, enabled) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, kind) DO UPDATE SET enabled = excluded.enabled",
        )
        .bind(user_id)
        .bind(kind)
        .bind(enabled.contains(kind))
        .execute(&mut *tx)
        .await?;
    }
    let after: serde_json::Map<String, serde_json::Value> =
        kinds.iter().map(|kind| (kind.as_str().to_owned(), json!(enabled.contains(kind)))).collect();
    let entry = audit::Entry {
        actor_id: Some(user_id),
        action: "user.notifications",
        object_type: "user",
        object_id: user_id.to_string(),
        before: None,
        after: Some(serde_json::Value::Object(after)),
    };
    audit::record(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// What a notification mail says, read when it is sent.
#[derive(Clone, Debug)]
pub struct MailContent {
    pub kind: Notification,
    pub ticket_number: i64,
    pub ticket_prefix: String,
    pub ticket_subject: String,
    pub requester_name: String,
    /// Whether the recipient works the desk (links go to the workspace) or is the customer.
    pub recipient_is_staff: bool,
    pub recipient_name: Option<String>,
    /// The public message the mail is about, with its author — never an internal note.
    pub message: Option<(String, String)>,
}

/// Reads what `mail` is about. `None` when its ticket or kind no longer exists.
pub async fn content(db: &Db, mail: &Claimed) -> Result<Option<MailContent>> {
    let Ok(kind) = mail.kind.parse::<Notification>() else {
        return Ok(None);
    };
    let Some(ticket_id) = mail.ticket_id else {
        return Ok(None);
    };
    #[derive(sqlx::FromRow)]
    struct Row {
        number: i64,
        prefix: String,
        subject: String,
        requester_name: String,
        recipient_role: Option<String>,
        recipient_name: Option<String>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT t.number, t.prefix, t.subject, r.name AS requester_name, u.role AS recipient_role, u.name AS recipient_name \
         FROM tickets t JOIN users r ON r.id = t.requester_id LEFT JOIN users u ON u.id = $2 WHERE t.id = $1",
    )
    .bind(ticket_id)
    .bind(mail.recipient_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    // A mail without a user account behind it goes to the team address: staff.
    let recipient_is_staff = row.recipient_role.as_deref().is_none_or(|role| role != "customer");
    let message: Option<(String, String)> = match mail.message_id {
        Some(message_id) => {
            sqlx::query_as(
                "SELECT COALESCE(a.name, ''), m.body FROM messages m LEFT JOIN users a ON a.id = m.author_id \
                 WHERE m.id = $1 AND m.kind = 'message' AND m.public = TRUE",
            )
            .bind(message_id)
            .fetch_optional(db.pool())
            .await?
        }
        None => None,
    };
    Ok(Some(MailContent {
        kind,
        ticket_number: row.number,
        ticket_prefix: row.prefix,
        ticket_subject: row.subject,
        requester_name: row.requester_name,
        recipient_is_staff,
        recipient_name: row.recipient_name,
        message,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(backoff_seconds).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
