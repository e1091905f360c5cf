//! The outbox: mail waiting to be sent. Rows are written in the transaction of the change
//! that causes them; workers on every app instance claim one due row at a time with a
//! lease, and retry with backoff until it is sent or fails for good.

use serde_json::json;

use crate::db::{Db, Tx};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::{Error, Result};

/// A row to queue: its kind, what it is about, and whom (the address is given apart).
pub struct Queued<'a> {
    pub kind: &'a str,
    pub ticket_id: Option<i64>,
    pub message_id: Option<i64>,
    pub recipient_id: Option<i64>,
}

/// Queues a mail, unless the recipient turned this kind off (only ticket notifications
/// can be turned off; other kinds have no preference row).
pub async fn enqueue(tx: &mut Tx, queued: Queued<'_>, email: &str, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, ticket_id, message_id, recipient_id, recipient_email, next_attempt_at, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $6 WHERE NOT EXISTS \
         (SELECT 1 FROM notification_preferences p WHERE p.user_id = $4 AND p.kind = $1 AND p.enabled = FALSE)",
    )
    .bind(queued.kind)
    .bind(queued.ticket_id)
    .bind(queued.message_id)
    .bind(queued.recipient_id)
    .bind(email)
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
    /// Given on the first delivery attempt and kept for every retry.
    pub rfc_message_id: Option<String>,
    pub attempts: i64,
}

/// Claims the oldest mail that is due and not held by another worker. One statement: on
/// PostgreSQL the row is locked and skipped by concurrent claims, and the outer conditions
/// are checked again after any wait, so two workers never hold the same mail; SQLite runs
/// one write at a time.
pub async fn claim_next(db: &Db, worker: &str, now: Timestamp) -> Result<Option<Claimed>> {
    let skip_locked = match db.backend() {
        crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        crate::db::Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET locked_by = $1, locked_until = $2 \
         WHERE id = (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $3 \
                     AND (locked_until IS NULL OR locked_until < $3) ORDER BY next_attempt_at, id LIMIT 1{skip_locked}) \
           AND status = 'pending' AND (locked_until IS NULL OR locked_until < $3) \
         RETURNING id, kind, ticket_id, message_id, recipient_id, recipient_email, rfc_message_id, attempts"
    );
    Ok(sqlx::query_as(&sql).bind(worker).bind(now + LEASE_SECONDS).bind(now).fetch_optional(db.pool()).await?)
}

/// Gives a claimed mail its Message-ID on its first delivery attempt, and answers the one
/// it has (another worker's, should one have set it first).
pub async fn set_message_id(db: &Db, id: i64, message_id: &str) -> Result<String> {
    Ok(sqlx::query_scalar(
        "UPDATE outbox SET rfc_message_id = COALESCE(rfc_message_id, $1) WHERE id = $2 RETURNING rfc_message_id",
    )
    .bind(message_id)
    .bind(id)
    .fetch_one(db.pool())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(backoff_seconds).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
