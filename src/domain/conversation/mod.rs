//! The timeline of a ticket and the changes made through it, by the customer
//! ([`customer`]) and by staff ([`staff`]). Each change is one transaction that writes
//! the timeline entry, bumps the ticket's `updated_at` and `version`, writes the audit
//! row and queues its notifications.

pub mod customer;
pub mod staff;

use serde_json::json;

use super::clock::Timestamp;
use super::outbox::{self, Notification, Recipient};
use super::settings::Settings;
use super::sla::Deadlines;
use super::ticket_fields::Status;
use super::tickets::{Ticket, parse_stored};
use super::{Error, Result, audit};
use crate::db::{Db, Flag, Tx};

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
    resolved_at: Option<Timestamp>,
    closed_at: Option<Timestamp>,
}

/// Since when the ticket is final for its customer: closed, or resolved for longer than
/// `auto_close_hours` — closed in effect even before the background sweep gets to it.
pub fn closed_since(
    status: Status,
    resolved_at: Option<Timestamp>,
    closed_at: Option<Timestamp>,
    auto_close_hours: i64,
    now: Timestamp,
) -> Option<Timestamp> {
    match status {
        Status::Closed => closed_at,
        Status::Resolved => resolved_at.map(|at| at + auto_close_hours * 3600).filter(|at| *at <= now),
        _ => None,
    }
}

async fn lock(db: &Db, tx: &mut Tx, ticket_id: i64) -> Result<LockedTicket> {
    #[allow(clippy::type_complexity)]
    let row: Option<(i64, i64, String, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> =
        sqlx::query_as(&format!(
            "SELECT id, number, status, requester_id, assignee_id, first_response_due_at, resolution_due_at, \
             first_response_at, sla_paused_at, resolved_at, closed_at FROM tickets WHERE id = $1{}",
            db.backend().row_lock()
        ))
        .bind(ticket_id)
        .fetch_optional(&mut **tx)
        .await?;
    let (id, number, status, requester_id, assignee_id, first_due, resolution_due, first_response_at, sla_paused_at, resolved_at, closed_at) =
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
        resolved_at,
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

/// Who may read a timeline entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// The customer sees it (and is mailed a public reply).
    Public,
    /// Staff only: never in a customer's page, API answer or email.
    Internal,
}

/// Marks the ticket changed: newer `updated_at`, next `version`. A change the customer
/// cannot see leaves the time they are shown alone, so a note does not even reveal that
/// something happened.
async fn touch(
    tx: &mut Tx,
    ticket_id: i64,
    visibility: Visibility,
    customer_wrote_last: Option<bool>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET updated_at = $1, version = version + 1, \
         public_updated_at = CASE WHEN $2 THEN $1 ELSE public_updated_at END, \
         customer_wrote_last = COALESCE($3, customer_wrote_last) WHERE id = $4",
    )
    .bind(now)
    .bind(visibility == Visibility::Public)
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

/// When a resolved ticket will close by itself.
pub fn auto_close_at(ticket: &Ticket, settings: &Settings) -> Option<Timestamp> {
    (ticket.status == Status::Resolved)
        .then_some(ticket.resolved_at)
        .flatten()
        .map(|resolved_at| resolved_at + settings.auto_close_hours * 3600)
}

