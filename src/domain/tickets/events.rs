//! A ticket's trail, for staff: every audited change and every notification queued about
//! it with where its delivery stands, oldest first, from two indexes.

use crate::db::{Db, stored_enum};
use crate::domain::Result;
use crate::domain::clock::Timestamp;
use crate::domain::paging::Paged;
use crate::domain::tickets::Ticket;

pub const EVENTS_PAGE_SIZE: i64 = 50;

stored_enum!(
    /// Where an entry of the trail comes from.
    pub enum EventSource {
        Change => "change", "Change";
        Notification => "notification", "Notification";
    } else "Not a source of ticket events."
);

/// One entry of the trail: a change (`action`, its actor and the states before and after)
/// or a notification (`kind`, its recipient and delivery).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TicketEvent {
    pub source: EventSource,
    pub id: i64,
    pub at: Timestamp,
    /// The audited action (`ticket.status`) or the notification's kind (`agent_replied`).
    pub name: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub recipient: Option<String>,
    /// The outbox's `pending`, `sent` or `failed`.
    pub delivery: Option<String>,
    pub attempts: Option<i64>,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// A page of the trail. Pages are not counted: they say whether another follows.
pub async fn list(db: &Db, ticket: &Ticket, page: i64) -> Result<Paged<TicketEvent>> {
    let page = page.max(1);
    let sql = format!(
        "SELECT 'change' AS source, a.id, a.created_at AS at, a.action AS name, a.actor_id, u.name AS actor_name, \
                a.before_state, a.after_state, CAST(NULL AS TEXT) AS recipient, CAST(NULL AS TEXT) AS delivery, \
                CAST(NULL AS BIGINT) AS attempts, CAST(NULL AS BIGINT) AS sent_at, CAST(NULL AS TEXT) AS last_error \
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
         WHERE a.object_type = 'ticket' AND a.object_id = $1 \
         UNION ALL \
         SELECT 'notification', o.id, o.created_at, o.kind, NULL, NULL, NULL, NULL, o.recipient_email, o.status, \
                CAST(o.attempts AS BIGINT), o.sent_at, o.last_error \
         FROM outbox o WHERE o.ticket_id = $2 \
         ORDER BY at, source, id LIMIT {} OFFSET {}",
        EVENTS_PAGE_SIZE + 1,
        (page - 1) * EVENTS_PAGE_SIZE
    );
    let mut items: Vec<TicketEvent> =
        sqlx::query_as(&sql).bind(ticket.number.to_string()).bind(ticket.id).fetch_all(db.pool()).await?;
    let has_next = items.len() as i64 > EVENTS_PAGE_SIZE;
    items.truncate(EVENTS_PAGE_SIZE as usize);
    let total_items = (page - 1) * EVENTS_PAGE_SIZE + items.len() as i64 + i64::from(has_next);
    Ok(Paged { items, page, total_items, per_page: EVENTS_PAGE_SIZE, counted: false, has_next })
}
