//! What agents and admins do on a ticket.

pub use super::Visibility;
use super::{StatusEvent, audit_status, change_status, lock, touch};
use crate::db::Db;
use crate::domain::clock::Timestamp;
use crate::domain::outbox::{self, Notification, Recipient};
use crate::domain::ticket_fields::Status;
use crate::domain::tickets::{Ticket, parse_body};
use crate::domain::users::User;
use crate::domain::{Error, FieldErrors, Result, audit};

/// An agent writes on the ticket. The first public answer is the first response; any
/// agent action takes a `new` ticket to `open`.
pub async fn reply(
    db: &Db,
    ticket: &Ticket,
    agent: &User,
    body: &str,
    visibility: Visibility,
    now: Timestamp,
) -> Result<i64> {
    debug_assert!(agent.role.is_staff());
    let body = parse_body(body, "The message").map_err(|message| Error::Invalid(FieldErrors::single("body", message)))?;
    let public = visibility == Visibility::Public;
    let mut tx = db.begin_write().await?;
    let mut locked = lock(db, &mut tx, ticket.id).await?;
    if public && locked.status == Status::Closed {
        return Err(Error::Conflict(
            "This ticket is closed, so the customer cannot be answered here; add an internal note instead.".into(),
        ));
    }
    let message_id: i64 = sqlx::query_scalar(
        "INSERT INTO messages (ticket_id, kind, author_id, body, public, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(locked.id)
    .bind(if public { "message" } else { "note" })
    .bind(agent.id)
    .bind(&body)
    .bind(public)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if public && locked.first_response_at.is_none() {
        locked.first_response_at = Some(now);
        sqlx::query("UPDATE tickets SET first_response_at = $1, due_at = $2 WHERE id = $3")
            .bind(now)
            .bind(locked.deadlines.due_at(locked.status, locked.first_response_at))
            .bind(locked.id)
            .execute(&mut *tx)
            .await?;
    }
    if locked.status == Status::New {
        change_status(&mut tx, &mut locked, Status::Open, StatusEvent::Changed, agent.id, now).await?;
        audit::record(&mut tx, audit_status(&locked, agent.id, Status::New, Status::Open), now).await?;
    }
    touch(&mut tx, locked.id, visibility, public.then_some(false), now).await?;
    if public {
        let requester_email: String =
            sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(locked.requester_id).fetch_one(&mut *tx).await?;
        let recipient = Recipient { user_id: Some(locked.requester_id), email: &requester_email };
        outbox::enqueue(&mut tx, Notification::AgentReplied, locked.id, Some(message_id), recipient, now).await?;
    }
    tx.commit().await?;
    Ok(message_id)
}

/// An agent moves the ticket to another status; resolving and closing tell the requester.
pub async fn set_status(db: &Db, ticket: &Ticket, agent: &User, to: Status, now: Timestamp) -> Result<()> {
    debug_assert!(agent.role.is_staff());
    let mut tx = db.begin_write().await?;
    let mut locked = lock(db, &mut tx, ticket.id).await?;
    let from = locked.status;
    if from == to {
        return Ok(());
    }
    if from == Status::Closed {
        return Err(Error::Conflict("This ticket is closed, and closed is final: the customer can open a follow-up.".into()));
    }
    change_status(&mut tx, &mut locked, to, StatusEvent::Changed, agent.id, now).await?;
    audit::record(&mut tx, audit_status(&locked, agent.id, from, to), now).await?;
    touch(&mut tx, locked.id, Visibility::Public, None, now).await?;
    let notification = match to {
        Status::Resolved => Some(Notification::Resolved),
        Status::Closed => Some(Notification::Closed),
        _ => None,
    };
    if let Some(notification) = notification {
        let requester_email: String =
            sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(locked.requester_id).fetch_one(&mut *tx).await?;
        let recipient = Recipient { user_id: Some(locked.requester_id), email: &requester_email };
        outbox::enqueue(&mut tx, notification, locked.id, None, recipient, now).await?;
    }
    tx.commit().await?;
    Ok(())
}
