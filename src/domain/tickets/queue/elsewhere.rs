//! Where else a search finds tickets: its matches counted in the views that part tickets
//! by status, for the hints a search in one view shows ("2 in Closed").

use super::query::{RANK_LIMIT, View};
use crate::db::{Db, search};
use crate::domain::Result;
use crate::domain::tickets::status::Status;

/// The views that part every ticket by status, in the order the hints name them.
const BY_STATUS: [View; 3] = [View::All, View::Resolved, View::Closed];

/// The view of [`BY_STATUS`] that holds a ticket of `status`.
fn view_holding(status: Status) -> View {
    match status {
        Status::Resolved => View::Resolved,
        Status::Closed => View::Closed,
        _ => View::All,
    }
}

/// How many tickets match `text` (as typed) in each view of [`BY_STATUS`], those with none
/// left out; `None` when more than [`RANK_LIMIT`] match in all: counting those would cost
/// more than the page, and "search all tickets" says enough.
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
    Ok(Some(
        BY_STATUS
            .iter()
            .map(|view| (*view, rows.iter().filter(|(status, _)| view_holding(*status) == *view).map(|(_, count)| count).sum()))
            .filter(|(_, count)| *count > 0)
            .collect(),
    ))
}
