//! Merging a duplicate into the ticket that carries on.

use serde_json::json;

use super::change::{Change, StatusEvent};
use crate::db::Db;
use crate::domain::accounts::users::User;
use crate::domain::clock::Timestamp;
use crate::domain::live;
use crate::domain::tickets::{Status, Ticket};
use crate::domain::{Error, FieldErrors, Result};

/// Merges `source` into `target`: the source is closed with a link to the survivor, the
/// survivor shows the source's messages and notes the merge. Only tickets of the same
/// requester merge, so no customer ever sees another's messages; those copied on the
/// source are copied on the survivor.
pub async fn merge(db: &Db, source: &Ticket, target: &Ticket, agent: &User, now: Timestamp) -> Result<()> {
    if source.id == target.id {
        return Err(Error::Invalid(FieldErrors::single("into", "A ticket cannot be merged into itself.")));
    }
    if source.requester_id != target.requester_id {
        return Err(Error::Invalid(FieldErrors::single("into", "Only tickets from the same requester can be merged.")));
    }
    let mut change = Change::begin(db, source.id, Some(agent.id), now).await?;
    if change.ticket.status == Status::Closed {
        return Err(Error::Conflict("This ticket is closed already; closed tickets cannot be merged.".into()));
    }
    let target_status: Option<Status> = sqlx::query_scalar(&format!(
        "SELECT status FROM tickets WHERE id = $1 AND merged_into_id IS NULL{}",
        db.backend().row_lock()
    ))
    .bind(target.id)
    .fetch_optional(&mut **change.tx())
    .await?;
    if target_status.is_none_or(|status| status == Status::Closed) {
        return Err(Error::Invalid(FieldErrors::single("into", "Merge into a ticket that is still open.")));
    }
    sqlx::query("UPDATE tickets SET merged_into_id = $1 WHERE id = $2")
        .bind(target.id)
        .bind(source.id)
        .execute(&mut **change.tx())
        .await?;
    // Those copied on the duplicate follow the survivor, whose timeline now holds it.
    sqlx::query(
        "INSERT INTO ticket_cc (ticket_id, user_id, created_at) SELECT $1, user_id, $2 FROM ticket_cc WHERE ticket_id = $3 \
         ON CONFLICT DO NOTHING",
    )
    .bind(target.id)
    .bind(now)
    .bind(source.id)
    .execute(&mut **change.tx())
    .await?;
    let survivor = target.reference();
    change.add_event("merged_into", None, Some(&survivor), true).await?;
    change.set_status(Status::Closed, StatusEvent::Changed).await?;
    change.audit("ticket.merge", json!({ "merged_into": null }), json!({ "merged_into": target.number.get() })).await?;
    sqlx::query(
        "INSERT INTO messages (ticket_id, kind, author_id, event, new_value, public, ticket_version, created_at) \
         SELECT id, 'event', $1, 'merge', $2, $3, version + 1, $4 FROM tickets WHERE id = $5",
    )
    .bind(agent.id)
    .bind(source.reference())
    .bind(true)
    .bind(now)
    .bind(target.id)
    .execute(&mut **change.tx())
    .await?;
    let survivor_version: i64 = sqlx::query_scalar(
        "UPDATE tickets SET version = version + 1, updated_at = $1, public_updated_at = $1 WHERE id = $2 RETURNING version",
    )
    .bind(now)
    .bind(target.id)
    .fetch_one(&mut **change.tx())
    .await?;
    // Those looking at the survivor hear of it too, not only those on the duplicate.
    let what = vec![format!("merged {} into it", source.reference())];
    let word = live::ticket_changed(db, change.tx(), target.number, survivor_version, Some(agent.id), what).await?;
    change.commit(None).await?;
    db.said_after_commit(word);
    Ok(())
}
