//! Removing a file from a ticket: a change to the ticket like any other (locked, versioned,
//! on the timeline, audited).

use serde_json::json;

use super::change::Change;
use crate::db::Db;
use crate::domain::Result;
use crate::domain::accounts::users::User;
use crate::domain::attachments;
use crate::domain::clock::Timestamp;
use crate::domain::tickets::{self, TicketNumber};

/// Staff remove a file: it is served no more, the timeline says who removed which file
/// (where the file's message could be seen), and its content goes once nothing else uses it.
pub async fn remove_attachment(db: &Db, public_id: &str, staff: &User, now: Timestamp) -> Result<TicketNumber> {
    debug_assert!(staff.role.is_staff());
    let (attachment, place) = attachments::find_for_viewer(db, public_id, staff).await?;
    let ticket_id = tickets::id_of(db, place.ticket).await?.ok_or(crate::domain::Error::NotFound)?;
    let mut change = Change::begin(db, ticket_id, Some(staff.id), now).await?;
    let removed =
        sqlx::query("UPDATE attachments SET removed_at = $1, removed_by = $2 WHERE public_id = $3 AND removed_at IS NULL")
            .bind(now)
            .bind(staff.id)
            .bind(public_id)
            .execute(&mut **change.tx())
            .await?;
    if removed.rows_affected() == 0 {
        return Err(crate::domain::Error::NotFound);
    }
    change.add_event("file_removed", Some(&attachment.filename), None, place.public).await?;
    change.text_changed(); // its name no longer finds the ticket
    change.audit("ticket.file_removed", json!({ "file": attachment.filename }), json!({ "file": null })).await?;
    change.commit(None).await?;
    Ok(place.ticket)
}
