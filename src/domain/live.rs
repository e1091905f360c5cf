//! What pages kept open on the desk are told as it happens (see `db/live.rs` for how the
//! word travels between instances). Only staff are told, and only what staff may see:
//! ticket numbers, versions, names and what was done, never text.

use serde::{Deserialize, Serialize};

use crate::db::Tx;
use crate::domain::Result;
use crate::domain::accounts::users;
use crate::domain::tickets::{Status, TicketNumber};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveWord {
    /// A ticket changed and is now at `version` (1: it was just opened), by `by` (none:
    /// the system), who did `what` ("replied", "set Resolved").
    Ticket { number: TicketNumber, version: i64, by: Option<i64>, by_name: Option<String>, what: Vec<String> },
    /// Someone opened a ticket's page (`Arrived`: asking who else is there), is still on
    /// it (`Present`: the answer), is writing in its reply box, or left it. `page` tells
    /// one open page from another (the same person may have the ticket open twice).
    Viewer {
        number: TicketNumber,
        user: i64,
        name: String,
        #[serde(default)]
        page: String,
        state: ViewerState,
    },
    /// `user` is no longer staff (demoted or deactivated): their open streams end, so that
    /// nothing more reaches them before their next request is refused.
    Revoked { user: i64 },
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ViewerState {
    Arrived,
    Present,
    Replying,
    Left,
}

impl LiveWord {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a live word is plain data")
    }

    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// What a change did, in a few words, for someone else looking at the same ticket.
pub fn what_happened(event: &str, new_value: Option<&str>) -> String {
    match (event, new_value.and_then(|value| value.parse::<Status>().ok())) {
        // The events a change of status is recorded under (`StatusEvent::name`).
        ("status", Some(status)) => format!("set {}", status.label()),
        ("reopen", _) => "reopened it".to_owned(),
        ("auto_close", _) => "closed it automatically".to_owned(),
        ("field", _) => "changed a field".to_owned(),
        ("cc", _) => "changed who is copied".to_owned(),
        ("merged_into", _) => "merged it into another ticket".to_owned(),
        ("file_removed", _) => "removed a file".to_owned(),
        ("rating", _) => "rated it".to_owned(),
        (other, _) => format!("changed the {}", other.replace('_', " ")),
    }
}

/// The ticket's change, said within `tx` (see `Db::say_within`): the word to pass back
/// after the commit on SQLite.
pub async fn ticket_changed(
    db: &crate::db::Db,
    tx: &mut Tx,
    number: TicketNumber,
    version: i64,
    by: Option<i64>,
    what: Vec<String>,
) -> Result<String> {
    let by_name = users::name_of(tx, by).await?;
    let word = LiveWord::Ticket { number, version, by, by_name, what }.to_json();
    db.say_within(tx, &word).await?;
    Ok(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_recorded_event_reads_as_words() {
        assert_eq!(what_happened("status", Some("resolved")), "set Resolved");
        assert_eq!(what_happened("reopen", Some("open")), "reopened it");
        assert_eq!(what_happened("auto_close", Some("closed")), "closed it automatically");
        assert_eq!(what_happened("priority", Some("high")), "changed the priority");
        assert_eq!(what_happened("merged_into", Some("TCK-1001")), "merged it into another ticket");
    }
}
