//! Where else a search finds tickets: its matches counted in the views that part tickets
//! by status, for the hints a search in one view shows ("2 in Closed").

use super::query::{RANK_LIMIT, View};
use crate::db::{Db, search};
use crate::domain::Result;
use crate::domain::tickets::status::{Place, Status};

/// How many tickets match `text` (as typed) in each view of a place (All open, Resolved,
/// Closed), those with none left out; `None` when more than [`RANK_LIMIT`] match in all:
/// counting those would cost more than the page, and "search all tickets" says enough.
pub async fn matches_by_status(db: &Db, text: &str) -> Result<Option<Vec<(View, i64)>>> {
    let Some(prepared) = search::prepare(db.backend(), text) else {
        return Ok(Some(Vec::new()));
    };
    let sql = format!(
        "SELECT t.status, COUNT(*) FROM tickets t JOIN ({} LIMIT {}) s ON s.ticket_id = t.id GROUP BY t.status",
        search::matching_ids(db.backend(), "$1"),
        RANK_LIMIT + 1
    );
    let rows: Vec<(Status, i64)> = sqlx::query_as(&sql).bind(prepared).fetch_all(db.pool()).await?;
    if rows.iter().map(|(_, count)| count).sum::<i64>() > RANK_LIMIT {
        return Ok(None);
    }
    Ok(Some(Place::tally(&rows).into_iter().map(|(place, count)| (View::of_place(place), count)).collect()))
}
