//! The timeline of a ticket and the changes made through it, by the customer
//! ([`customer`]) and by staff ([`staff`]). Every change is a [`Change`]: one
//! transaction that locks the ticket, writes the timeline entries, the audit rows and the
//! notifications, bumps the ticket's `updated_at` and `version`, and keeps the search
//! index current.

mod change;
pub mod customer;
pub mod staff;

pub use change::{StatusEvent, Visibility};

use super::clock::Timestamp;
use super::settings::Settings;
use super::ticket_fields::Status;
use super::tickets::Ticket;
use super::{Error, Result};
use crate::db::Db;

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
    /// The ticket's version this entry produced: what changed since version `v` is every
    /// entry above it.
    pub ticket_version: i64,
}

/// Who a timeline is read for: a customer sees only the public entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Customer,
    Staff,
}

/// The ticket's timeline in time order, with the entries of tickets merged into it. (The
/// ids are a subquery rather than an OR so that PostgreSQL, too, reads them by index.)
pub async fn timeline(db: &Db, ticket_id: i64, audience: Audience) -> Result<Vec<TimelineEntry>> {
    let visibility = match audience {
        Audience::Customer => " AND m.public",
        Audience::Staff => "",
    };
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, Option<String>, Option<String>, String, Option<String>, Option<String>, Option<String>, i64, i64)> =
        sqlx::query_as(&format!(
            "SELECT m.id, m.kind, u.name, u.role, m.body, m.event, m.old_value, m.new_value, m.created_at, m.ticket_version \
             FROM messages m LEFT JOIN users u ON u.id = m.author_id \
             WHERE m.ticket_id IN (SELECT $1 UNION ALL SELECT id FROM tickets WHERE merged_into_id = $1){visibility} \
             ORDER BY m.created_at, m.id"
        ))
        .bind(ticket_id)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter()
        .map(|(id, kind, author_name, author_role, body, event, old_value, new_value, created_at, ticket_version)| {
            let kind = match kind.as_str() {
                "message" => EntryKind::Message,
                "note" => EntryKind::Note,
                "event" => EntryKind::Event,
                other => return Err(Error::Internal(anyhow::anyhow!("message {id} has unknown kind {other:?}"))),
            };
            let author_is_staff = author_role.as_deref().is_some_and(|role| role != "customer");
            Ok(TimelineEntry {
                id,
                kind,
                author_name,
                author_is_staff,
                body,
                event,
                old_value,
                new_value,
                created_at,
                ticket_version,
            })
        })
        .collect()
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

/// When a resolved ticket will close by itself.
pub fn auto_close_at(ticket: &Ticket, settings: &Settings) -> Option<Timestamp> {
    (ticket.status == Status::Resolved)
        .then_some(ticket.resolved_at)
        .flatten()
        .map(|resolved_at| resolved_at + settings.auto_close_hours * 3600)
}

