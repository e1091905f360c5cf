//! When a ticket is final: closed, or resolved long enough to close by itself, and the
//! background sweep that closes those.

use super::change::{Change, StatusEvent};
use crate::db::Db;
use crate::domain::Result;
use crate::domain::admin::settings::Settings;
use crate::domain::clock::Timestamp;
use crate::domain::mail::notification::Notification;
use crate::domain::tickets::{Status, Ticket};

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

/// Closes every ticket that has been resolved for `auto_close_hours`, each with a
/// timeline event and a mail to the requester. Answers how many closed.
pub async fn auto_close(db: &Db, settings: &Settings, now: Timestamp) -> Result<usize> {
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at <= $1 ORDER BY resolved_at LIMIT 500",
    )
    .bind(now - settings.auto_close_hours * 3600)
    .fetch_all(db.pool())
    .await?;
    let mut closed = 0;
    for id in due {
        let mut change = Change::begin(db, id, None, now).await?;
        // Someone may have reopened it since the list was read.
        if change.ticket.status != Status::Resolved {
            continue;
        }
        change.set_status(Status::Closed, StatusEvent::AutoClosed).await?;
        change.notify_customers(Notification::Closed, None).await?;
        change.commit(None).await?;
        closed += 1;
    }
    Ok(closed)
}
