//! A ticket's timeline as each side may read it.

use crate::db::{Db, Flag, stored_enum};
use crate::domain::Result;
use crate::domain::accounts::role::Role;
use crate::domain::clock::Timestamp;

stored_enum!(
    /// What a timeline entry is (the `kind` column of `messages`).
    pub enum EntryKind {
        /// A public message, from the customer or an agent.
        Message => "message", "Message";
        /// An internal note: agents only.
        Note => "note", "Internal note";
        /// A change recorded by the system.
        Event => "event", "Event";
    } else "Choose message, note or event."
);

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TimelineEntry {
    pub id: i64,
    pub kind: EntryKind,
    pub author_name: Option<String>,
    /// The author's role now; `None` for the system.
    pub author_role: Option<Role>,
    pub body: String,
    pub event: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: Timestamp,
    /// The ticket's version this entry produced: what changed since version `v` is every
    /// entry above it.
    pub ticket_version: i64,
    /// False for a mailed-in message whose sender did not prove who they are.
    #[sqlx(try_from = "Flag")]
    pub sender_verified: bool,
}

impl TimelineEntry {
    pub fn author_is_staff(&self) -> bool {
        self.author_role.is_some_and(Role::is_staff)
    }
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
    Ok(sqlx::query_as(&format!(
        "SELECT m.id, m.kind, u.name AS author_name, u.role AS author_role, m.body, m.event, m.old_value, m.new_value, \
         m.created_at, m.ticket_version, m.sender_verified \
         FROM messages m LEFT JOIN users u ON u.id = m.author_id \
         WHERE m.ticket_id IN (SELECT $1 UNION ALL SELECT id FROM tickets WHERE merged_into_id = $1){visibility} \
         ORDER BY m.created_at, m.id"
    ))
    .bind(ticket_id)
    .fetch_all(db.pool())
    .await?)
}
