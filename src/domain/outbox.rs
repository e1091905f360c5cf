//! Notifications waiting to be mailed. Rows are written in the transaction of the change
//! that causes them, so a change and its notifications commit or vanish together.

use super::clock::Timestamp;
use crate::db::Tx;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification {
    /// To the requester: we have your ticket.
    TicketCreated,
    /// To `NOTIFY_EMAIL`: a new ticket arrived.
    NewTicketAlert,
    /// To the requester: an agent answered.
    AgentReplied,
    /// To the assignee: the customer wrote.
    CustomerReplied,
    /// To the agent given the ticket.
    Assigned,
    /// To the requester.
    Resolved,
    /// To the requester.
    Closed,
}

impl Notification {
    pub fn as_str(self) -> &'static str {
        match self {
            Notification::TicketCreated => "ticket_created",
            Notification::NewTicketAlert => "new_ticket_alert",
            Notification::AgentReplied => "agent_replied",
            Notification::CustomerReplied => "customer_replied",
            Notification::Assigned => "assigned",
            Notification::Resolved => "resolved",
            Notification::Closed => "closed",
        }
    }
}

pub struct Recipient<'a> {
    pub user_id: Option<i64>,
    pub email: &'a str,
}

pub async fn enqueue(
    tx: &mut Tx,
    notification: Notification,
    ticket_id: i64,
    message_id: Option<i64>,
    recipient: Recipient<'_>,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, ticket_id, message_id, recipient_id, recipient_email, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(notification.as_str())
    .bind(ticket_id)
    .bind(message_id)
    .bind(recipient.user_id)
    .bind(recipient.email)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
