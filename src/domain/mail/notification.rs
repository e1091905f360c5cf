//! Ticket notifications: who is told what about a ticket, queued in the transaction of
//! the change that causes them (so a change and its mail commit or vanish together), and
//! each user's choice of the kinds they receive.

use serde_json::json;

use super::outbox::{self, Queued};
use crate::db::{Db, Tx, stored_enum};
use crate::domain::Result;
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;

stored_enum!(
    /// A kind of mail, and what it is for on the profile page.
    pub enum Notification {
        /// To the requester: we have your ticket.
        TicketCreated => "ticket_created", "Confirmation when I send a new request";
        /// To `NOTIFY_EMAIL`: a new ticket arrived.
        NewTicketAlert => "new_ticket_alert", "A new ticket arrived";
        /// To the requester: an agent answered.
        AgentReplied => "agent_replied", "A reply from the support team";
        /// To the requester and those copied: someone else on their side wrote.
        ParticipantReplied => "participant_replied", "A reply from someone else on a request I follow";
        /// To a customer copied on a ticket.
        Copied => "cc_added", "Someone copied me on a request";
        /// To the assignee: the customer wrote.
        CustomerReplied => "customer_replied", "The customer wrote on a ticket assigned to me";
        /// To the agent given the ticket.
        Assigned => "assigned", "A ticket was assigned to me";
        /// To the requester and those copied.
        Resolved => "resolved", "My request was resolved";
        /// To the requester and those copied.
        Closed => "closed", "My request was closed";
    } else "Choose a kind of notification."
);

impl Notification {
    /// The kinds a customer can receive, and those staff can, each of which they may turn off.
    pub const FOR_CUSTOMERS: [Notification; 6] = [
        Notification::TicketCreated,
        Notification::AgentReplied,
        Notification::ParticipantReplied,
        Notification::Copied,
        Notification::Resolved,
        Notification::Closed,
    ];
    pub const FOR_STAFF: [Notification; 2] = [Notification::Assigned, Notification::CustomerReplied];
}

pub struct Recipient<'a> {
    pub user_id: Option<i64>,
    pub email: &'a str,
}

/// Queues a notification, unless the recipient turned this kind off.
pub async fn enqueue(
    tx: &mut Tx,
    notification: Notification,
    ticket_id: i64,
    message_id: Option<i64>,
    recipient: Recipient<'_>,
    now: Timestamp,
) -> sqlx::Result<()> {
    let queued = Queued { kind: notification.as_str(), ticket_id: Some(ticket_id), message_id, recipient_id: recipient.user_id };
    outbox::enqueue(tx, queued, recipient.email, now).await
}

/// Whether each kind is on for the user (a kind never set is on).
pub async fn preferences(db: &Db, user_id: i64) -> Result<Vec<(Notification, bool)>> {
    let off: Vec<String> = sqlx::query_scalar("SELECT kind FROM notification_preferences WHERE user_id = $1 AND enabled = FALSE")
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    Ok(Notification::ALL.iter().map(|&kind| (kind, !off.iter().any(|each| each == kind.as_str()))).collect())
}

/// Stores the user's choice for each of `kinds`: on when it is in `enabled`.
pub async fn set_preferences(
    db: &Db,
    user_id: i64,
    kinds: &[Notification],
    enabled: &[Notification],
    now: Timestamp,
) -> Result<()> {
    let mut tx = db.begin_write().await?;
    for kind in kinds {
        sqlx::query(
            "INSERT INTO notification_preferences (user_id, kind, enabled) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, kind) DO UPDATE SET enabled = excluded.enabled",
        )
        .bind(user_id)
        .bind(kind)
        .bind(enabled.contains(kind))
        .execute(&mut *tx)
        .await?;
    }
    let after: serde_json::Map<String, serde_json::Value> =
        kinds.iter().map(|kind| (kind.as_str().to_owned(), json!(enabled.contains(kind)))).collect();
    let entry = audit::Entry {
        actor_id: Some(user_id),
        action: "user.notifications",
        object_type: "user",
        object_id: user_id.to_string(),
        before: None,
        after: Some(serde_json::Value::Object(after)),
    };
    audit::record(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}
