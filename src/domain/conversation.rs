//! The timeline of a ticket and the changes made through it: replies, closing, reopening,
//! rating. Each change is one transaction that writes the timeline entry, bumps the
//! ticket's `updated_at` and `version`, and queues its notifications.

use serde_json::json;

use super::clock::Timestamp;
use super::outbox::{self, Notification, Recipient};
use super::settings::Settings;
use super::sla::Deadlines;
use super::ticket_fields::Status;
use super::tickets::{Ticket, parse_body, parse_stored};
use super::users::User;
use super::{Error, FieldErrors, Result, audit, text};
use crate::db::{Db, Flag, Tx};

/// How long after closing a customer may still change their rating.
pub const RATING_WINDOW_AFTER_CLOSE: i64 = 7 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A public message, from the customer or an agent.
    Message,
    /// An internal note: agents only.
    Note,
    /// A change recorded by the system.
    Event,
}

#[derive(Clone, Debug)]
pub struct TimelineEntry {
    pub id: i64,
    pub kind: EntryKind,
    pub author_name: Option<String>,
    pub author_is_staff: bool,
    pub body: String,
    pub event: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: Timestamp,
}

/// Who a timeline is read for: a customer sees only the public entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Customer,
    Staff,
}

pub async fn timeline(db: &Db, ticket_id: i64, audience: Audience) -> Result<Vec<TimelineEntry>> {
    let visibility = match audience {
        Audience::Customer => " AND m.public",
        Audience::Staff => "",
    };
    let rows: Vec<(i64, String, Option<String>, Option<String>, String, Option<String>, Option<String>, Option<String>, i64)> =
        sqlx::query_as(&format!(
            "SELECT m.id, m.kind, u.name, u.role, m.body, m.event, m.old_value, m.new_value, m.created_at \
             FROM messages m LEFT JOIN users u ON u.id = m.author_id \
             WHERE m.ticket_id = $1{visibility} ORDER BY m.created_at, m.id"
        ))
        .bind(ticket_id)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter()
        .map(|(id, kind, author_name, author_role, body, event, old_value, new_value, created_at)| {
            let kind = match kind.as_str() {
                "message" => EntryKind::Message,
                "note" => EntryKind::Note,
                "event" => EntryKind::Event,
                other => return Err(Error::Internal(anyhow::anyhow!("message {id} has unknown kind {other:?}"))),
            };
            let author_is_staff = author_role.as_deref().is_some_and(|role| role != "customer");
            Ok(TimelineEntry { id, kind, author_name, author_is_staff, body, event, old_value, new_value, created_at })
        })
        .collect()
}

/// The fields a change needs, read under the row lock of the ticket.
struct LockedTicket {
    id: i64,
    number: i64,
    status: Status,
    requester_id: i64,
    assignee_id: Option<i64>,
    deadlines: Deadlines,
    first_response_at: Option<Timestamp>,
    sla_paused_at: Option<Timestamp>,
    closed_at: Option<Timestamp>,
}

async fn lock(db: &Db, tx: &mut Tx, ticket_id: i64) -> Result<LockedTicket> {
    let row: Option<(i64, i64, String, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> =
        sqlx::query_as(&format!(
            "SELECT id, number, status, requester_id, assignee_id, first_response_due_at, resolution_due_at, \
             first_response_at, sla_paused_at, closed_at FROM tickets WHERE id = $1{}",
            db.backend().row_lock()
        ))
        .bind(ticket_id)
        .fetch_optional(&mut **tx)
        .await?;
    let (id, number, status, requester_id, assignee_id, first_due, resolution_due, first_response_at, sla_paused_at, closed_at) =
        row.ok_or(Error::NotFound)?;
    Ok(LockedTicket {
        id,
        number,
        status: parse_stored(&status, "status")?,
        requester_id,
        assignee_id,
        deadlines: Deadlines {
            first_response_due_at: first_due.unwrap_or(i64::MAX),
            resolution_due_at: resolution_due.unwrap_or(i64::MAX),
        },
        first_response_at,
        sla_paused_at,
        closed_at,
    })
}

/// Which timeline event a status change is recorded as.
#[derive(Clone, Copy)]
enum StatusEvent {
    Changed,
    Reopened,
}

impl StatusEvent {
    fn name(self) -> &'static str {
        match self {
            StatusEvent::Changed => "status",
            StatusEvent::Reopened => "reopen",
        }
    }
}

/// Moves the ticket to `to` with everything that entails: the SLA clock, the resolved
/// and closed times, and a public timeline event.
async fn change_status(
    tx: &mut Tx,
    ticket: &mut LockedTicket,
    to: Status,
    event: StatusEvent,
    actor_id: i64,
    now: Timestamp,
) -> Result<()> {
    let from = ticket.status;
    if from == to {
        return Ok(());
    }
    if let (Status::Pending, Some(paused_at)) = (from, ticket.sla_paused_at) {
        ticket.deadlines = ticket.deadlines.resumed(now - paused_at);
    }
    ticket.sla_paused_at = (to == Status::Pending).then_some(now);
    ticket.closed_at = (to == Status::Closed).then_some(now);
    // Closing keeps the time it was resolved; any other move sets or clears it.
    let resolved_at = (to == Status::Resolved).then_some(now);
    sqlx::query(
        "UPDATE tickets SET status = $1, sla_paused_at = $2, closed_at = $3, \
         resolved_at = CASE WHEN $4 = 'closed' THEN resolved_at ELSE $5 END, \
         first_response_due_at = $6, resolution_due_at = $7, due_at = $8 WHERE id = $9",
    )
    .bind(to.as_str())
    .bind(ticket.sla_paused_at)
    .bind(ticket.closed_at)
    .bind(to.as_str())
    .bind(resolved_at)
    .bind(ticket.deadlines.first_response_due_at)
    .bind(ticket.deadlines.resolution_due_at)
    .bind(ticket.deadlines.due_at(to, ticket.first_response_at))
    .bind(ticket.id)
    .execute(&mut **tx)
    .await?;
    insert_event(tx, ticket.id, actor_id, event.name(), Some(from.as_str()), Some(to.as_str()), true, now).await?;
    ticket.status = to;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut Tx,
    ticket_id: i64,
    actor_id: i64,
    event: &str,
    old_value: Option<&str>,
    new_value: Option<&str>,
    public: bool,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO messages (ticket_id, kind, author_id, event, old_value, new_value, public, created_at) \
         VALUES ($1, 'event', $2, $3, $4, $5, $6, $7)",
    )
    .bind(ticket_id)
    .bind(actor_id)
    .bind(event)
    .bind(old_value)
    .bind(new_value)
    .bind(public)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_public_message(tx: &mut Tx, ticket_id: i64, author_id: i64, body: &str, now: Timestamp) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO messages (ticket_id, kind, author_id, body, public, created_at) \
         VALUES ($1, 'message', $2, $3, $4, $5) RETURNING id",
    )
    .bind(ticket_id)
    .bind(author_id)
    .bind(body)
    .bind(true)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Marks the ticket changed: newer `updated_at`, next `version`.
async fn touch(tx: &mut Tx, ticket_id: i64, customer_wrote_last: Option<bool>, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET updated_at = $1, version = version + 1, \
         customer_wrote_last = COALESCE($2, customer_wrote_last) WHERE id = $3",
    )
    .bind(now)
    .bind(customer_wrote_last)
    .bind(ticket_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Tells the assignee, if there is one, that the customer wrote.
async fn notify_assignee(tx: &mut Tx, ticket: &LockedTicket, message_id: i64, now: Timestamp) -> Result<()> {
    let Some(assignee_id) = ticket.assignee_id else { return Ok(()) };
    let email: Option<(String, Flag)> = sqlx::query_as("SELECT email, active FROM users WHERE id = $1")
        .bind(assignee_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some((email, Flag(true))) = email {
        let recipient = Recipient { user_id: Some(assignee_id), email: &email };
        outbox::enqueue(tx, Notification::CustomerReplied, ticket.id, Some(message_id), recipient, now).await?;
    }
    Ok(())
}

fn audit_status(ticket: &LockedTicket, actor_id: i64, from: Status, to: Status) -> audit::Entry<'static> {
    audit::Entry {
        actor_id: Some(actor_id),
        action: "ticket.status",
        object_type: "ticket",
        object_id: ticket.number.to_string(),
        before: Some(json!({ "status": from.as_str() })),
        after: Some(json!({ "status": to.as_str() })),
    }
}

fn closed_conflict() -> Error {
    Error::Conflict("This request is closed, so it cannot take replies. Open a follow-up request instead.".into())
}

/// The customer answers on their ticket. Waiting on them (`pending`, `on_hold`) is over:
/// the ticket goes back to `open`.
pub async fn customer_reply(db: &Db, ticket: &Ticket, customer: &User, body: &str, now: Timestamp) -> Result<()> {
    let body = parse_body(body, "Your reply").map_err(|message| Error::Invalid(FieldErrors::single("body", message)))?;
    let mut tx = db.begin_write().await?;
    let mut locked = lock(db, &mut tx, ticket.id).await?;
    if locked.requester_id != customer.id {
        return Err(Error::NotFound);
    }
    match locked.status {
        Status::Closed => return Err(closed_conflict()),
        Status::Resolved => {
            return Err(Error::Conflict(
                "This request is resolved. If it is not fixed, reopen it with a reason.".into(),
            ));
        }
        _ => {}
    }
    let message_id = insert_public_message(&mut tx, locked.id, customer.id, &body, now).await?;
    let from = locked.status;
    let to = from.after_customer_reply();
    if from != to {
        change_status(&mut tx, &mut locked, to, StatusEvent::Changed, customer.id, now).await?;
        audit::record(&mut tx, audit_status(&locked, customer.id, from, to), now).await?;
    }
    touch(&mut tx, locked.id, Some(true), now).await?;
    notify_assignee(&mut tx, &locked, message_id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The customer closes their own ticket, whatever its state (but closed).
pub async fn customer_close(db: &Db, ticket: &Ticket, customer: &User, now: Timestamp) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let mut locked = lock(db, &mut tx, ticket.id).await?;
    if locked.requester_id != customer.id {
        return Err(Error::NotFound);
    }
    if !locked.status.customer_may_close() {
        return Err(Error::Conflict("This request is already closed.".into()));
    }
    let from = locked.status;
    change_status(&mut tx, &mut locked, Status::Closed, StatusEvent::Changed, customer.id, now).await?;
    audit::record(&mut tx, audit_status(&locked, customer.id, from, Status::Closed), now).await?;
    touch(&mut tx, locked.id, None, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The customer reopens a resolved ticket. The reason is posted as their message and the
/// ticket returns to `open`.
pub async fn customer_reopen(db: &Db, ticket: &Ticket, customer: &User, reason: &str, now: Timestamp) -> Result<()> {
    let reason = parse_body(reason, "A reason").map_err(|message| Error::Invalid(FieldErrors::single("reason", message)))?;
    let mut tx = db.begin_write().await?;
    let mut locked = lock(db, &mut tx, ticket.id).await?;
    if locked.requester_id != customer.id {
        return Err(Error::NotFound);
    }
    if !locked.status.customer_may_reopen() {
        return Err(match locked.status {
            Status::Closed => Error::Conflict(
                "This request is closed and cannot be reopened. Open a follow-up request instead.".into(),
            ),
            _ => Error::Conflict("This request is still open; there is nothing to reopen.".into()),
        });
    }
    let message_id = insert_public_message(&mut tx, locked.id, customer.id, &reason, now).await?;
    change_status(&mut tx, &mut locked, Status::Open, StatusEvent::Reopened, customer.id, now).await?;
    audit::record(&mut tx, audit_status(&locked, customer.id, Status::Resolved, Status::Open), now).await?;
    touch(&mut tx, locked.id, Some(true), now).await?;
    notify_assignee(&mut tx, &locked, message_id, now).await?;
    tx.commit().await?;
    Ok(())
}

pub fn parse_rating(rating: &str, comment: &str) -> Result<(i64, Option<String>)> {
    let mut errors = FieldErrors::new();
    let rating = errors.check(
        "rating",
        rating.trim().parse::<i64>().ok().filter(|r| (1..=5).contains(r)).ok_or_else(|| "Choose from 1 to 5 stars.".to_string()),
    );
    let comment = errors.check("comment", text::clean(comment.trim(), true).and_then(|comment| {
        if comment.chars().count() > 2000 { Err("Keep the comment under 2,000 characters.".into()) } else { Ok(comment) }
    }));
    errors.into_result()?;
    let comment = comment.filter(|comment| !comment.is_empty());
    Ok((rating.expect("checked"), comment))
}

/// Whether the rating may still be given or changed.
pub fn rating_open(status: Status, closed_at: Option<Timestamp>, now: Timestamp) -> bool {
    status.may_be_rated() && closed_at.is_none_or(|closed_at| now <= closed_at + RATING_WINDOW_AFTER_CLOSE)
}

/// The customer rates the resolution, once the ticket is resolved or closed; they may
/// change it until a week after it closed.
pub async fn customer_rate(
    db: &Db,
    ticket: &Ticket,
    customer: &User,
    rating: &str,
    comment: &str,
    now: Timestamp,
) -> Result<()> {
    let (rating, comment) = parse_rating(rating, comment)?;
    let mut tx = db.begin_write().await?;
    let locked = lock(db, &mut tx, ticket.id).await?;
    if locked.requester_id != customer.id {
        return Err(Error::NotFound);
    }
    if !rating_open(locked.status, locked.closed_at, now) {
        return Err(Error::Conflict(if locked.status.may_be_rated() {
            "Ratings can be changed for a week after a request closes; that week has passed.".into()
        } else {
            "You can rate a request once it is resolved.".into()
        }));
    }
    sqlx::query("UPDATE tickets SET rating = $1, rating_comment = $2, rated_at = $3 WHERE id = $4")
        .bind(rating)
        .bind(&comment)
        .bind(now)
        .bind(locked.id)
        .execute(&mut *tx)
        .await?;
    let stars = rating.to_string();
    insert_event(&mut tx, locked.id, customer.id, "rating", None, Some(&stars), false, now).await?;
    touch(&mut tx, locked.id, None, now).await?;
    tx.commit().await?;
    Ok(())
}

/// When a resolved ticket will close by itself.
pub fn auto_close_at(ticket: &Ticket, settings: &Settings) -> Option<Timestamp> {
    (ticket.status == Status::Resolved)
        .then_some(ticket.resolved_at)
        .flatten()
        .map(|resolved_at| resolved_at + settings.auto_close_hours * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five_with_an_optional_comment() {
        assert_eq!(parse_rating("5", "  Great  ").unwrap(), (5, Some("Great".into())));
        assert_eq!(parse_rating("1", "").unwrap(), (1, None));
        for bad in ["0", "6", "", "three", "4.5"] {
            assert!(parse_rating(bad, "").is_err(), "{bad:?}");
        }
        assert!(parse_rating("3", &"x".repeat(2001)).is_err());
    }

    #[test]
    fn ratings_stay_open_for_a_week_after_closing() {
        assert!(!rating_open(Status::Open, None, 0));
        assert!(rating_open(Status::Resolved, None, 0));
        assert!(rating_open(Status::Closed, Some(100), 100 + RATING_WINDOW_AFTER_CLOSE));
        assert!(!rating_open(Status::Closed, Some(100), 101 + RATING_WINDOW_AFTER_CLOSE));
    }
}
