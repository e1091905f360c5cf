//! One change to one ticket, as one transaction.

use serde_json::{Value, json};

use super::timeline::EntryKind;
use crate::db::{self, Db, Flag, Tx, search, stored_enum};
use crate::domain::admin::audit;
use crate::domain::attachments::{self, KeptFile};
use crate::domain::clock::Timestamp;
use crate::domain::live;
use crate::domain::mail::notification::{self, Notification, Recipient};
use crate::domain::mail::received::ReceivedMail;
use crate::domain::tickets::sla::Deadlines;
use crate::domain::tickets::{ALREADY_RECEIVED, Priority, Status, TicketNumber};
use crate::domain::{Error, Result};

stored_enum!(
    /// Who may read a timeline entry.
    pub enum Visibility {
        /// The customer sees it (and is mailed a public reply).
        Public => "public", "Public reply";
        /// Staff only: never in a customer's page, API answer or email.
        Internal => "internal", "Internal note";
    } else "Choose whether the customer sees this (public) or not (internal)."
);

/// Which timeline event a status change is recorded as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusEvent {
    Changed,
    Reopened,
    AutoClosed,
}

impl StatusEvent {
    fn name(self) -> &'static str {
        match self {
            StatusEvent::Changed => "status",
            StatusEvent::Reopened => "reopen",
            StatusEvent::AutoClosed => "auto_close",
        }
    }
}

/// The ticket's fields a change reads and writes, as locked at its start.
#[derive(sqlx::FromRow)]
pub(super) struct LockedTicket {
    pub id: i64,
    pub number: TicketNumber,
    pub status: Status,
    pub priority: Priority,
    pub group_id: i64,
    pub requester_id: i64,
    pub organisation_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub version: i64,
    #[sqlx(flatten)]
    pub deadlines: Deadlines,
    pub first_response_at: Option<Timestamp>,
    pub sla_paused_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

pub(super) struct Change<'a> {
    db: &'a Db,
    tx: Tx,
    pub ticket: LockedTicket,
    actor_id: Option<i64>,
    pub now: Timestamp,
    seen_by_customer: bool,
    text_changed: bool,
    /// The mail the next message arrived in, if it came by mail.
    received_mail: Option<ReceivedMail>,
    /// Files (kept in the store already) for the next message.
    files: Vec<KeptFile>,
    /// Those the message's mail was copied to: they have it already, and are not mailed it
    /// again.
    have_the_mail: Vec<String>,
    /// What was done, in a few words, for the live pages of others.
    what: Vec<String>,
}

impl<'a> Change<'a> {
    /// Starts a change by `actor_id` (`None`: the system) with the ticket locked until commit.
    pub async fn begin(db: &'a Db, ticket_id: i64, actor_id: Option<i64>, now: Timestamp) -> Result<Self> {
        let tx = db.begin_write().await?;
        Self::within(db, tx, ticket_id, actor_id, now).await
    }

    /// Starts a change inside a transaction that does more than change this ticket (see
    /// [`Change::finish`]).
    pub async fn within(db: &'a Db, mut tx: Tx, ticket_id: i64, actor_id: Option<i64>, now: Timestamp) -> Result<Self> {
        let ticket: Option<LockedTicket> = sqlx::query_as(&format!(
            "SELECT id, number, status, priority, group_id, requester_id, organisation_id, assignee_id, version, first_response_due_at, \
             resolution_due_at, first_response_at, sla_paused_at, resolved_at, closed_at FROM tickets WHERE id = $1{}",
            db.backend().row_lock()
        ))
        .bind(ticket_id)
        .fetch_optional(&mut *tx)
        .await?;
        let ticket = ticket.ok_or(Error::NotFound)?;
        Ok(Self {
            db,
            tx,
            ticket,
            actor_id,
            now,
            seen_by_customer: false,
            text_changed: false,
            received_mail: None,
            files: Vec::new(),
            have_the_mail: Vec::new(),
            what: Vec::new(),
        })
    }

    /// Who makes the change (`None`: the system).
    pub fn actor_id(&self) -> Option<i64> {
        self.actor_id
    }

    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Marks the next message as having arrived in this mail.
    pub fn received_by_mail(&mut self, mail: Option<&ReceivedMail>) {
        self.received_mail = mail.cloned();
    }

    /// The ticket's searchable text changed other than by a message (a file went).
    pub fn text_changed(&mut self) {
        self.text_changed = true;
    }

    /// Attaches these files to the next message.
    pub fn with_files(&mut self, files: &[KeptFile]) {
        self.files = files.to_vec();
    }

    /// A message or note on the timeline. A mail already received once is refused, so an
    /// MTA delivering it twice adds nothing.
    pub async fn add_message(&mut self, author_id: i64, body: &str, visibility: Visibility, time_spent: i64) -> Result<i64> {
        let public = visibility == Visibility::Public;
        let mail = self.received_mail.take();
        if let Some(mail) = &mail {
            self.have_the_mail = mail.copied.iter().map(|address| address.as_str().to_owned()).collect();
        }
        let inserted = sqlx::query_scalar(
            "INSERT INTO messages (ticket_id, kind, author_id, body, public, time_spent_minutes, ticket_version, created_at, \
             source, email_message_id, sender_verified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(self.ticket.id)
        .bind(if public { EntryKind::Message } else { EntryKind::Note })
        .bind(author_id)
        .bind(body)
        .bind(public)
        .bind(time_spent)
        .bind(self.ticket.version + 1)
        .bind(self.now)
        .bind(if mail.is_some() { "email" } else { "web" })
        .bind(mail.as_ref().and_then(|mail| mail.message_id.as_deref()))
        .bind(mail.as_ref().is_none_or(|mail| mail.sender_verified))
        .fetch_one(&mut *self.tx)
        .await;
        let id = match inserted {
            Err(error) if db::is_unique_violation(&error) => {
                return Err(Error::Conflict(ALREADY_RECEIVED.into()));
            }
            other => other?,
        };
        let files = std::mem::take(&mut self.files);
        attachments::attach(&mut self.tx, self.ticket.id, id, &files, self.now).await?;
        // The trail names the message, never its text: that stays on the timeline.
        let action = if public { "ticket.message" } else { "ticket.note" };
        self.audit(action, Value::Null, json!({ "message_id": id, "files": files.len() })).await?;
        self.what.push(if public { "replied" } else { "added an internal note" }.to_owned());
        self.seen_by_customer |= public;
        self.text_changed = true;
        Ok(id)
    }

    /// A system event on the timeline; `public` ones are shown to the customer.
    pub async fn add_event(&mut self, event: &str, old_value: Option<&str>, new_value: Option<&str>, public: bool) -> Result<()> {
        sqlx::query(
            "INSERT INTO messages (ticket_id, kind, author_id, event, old_value, new_value, public, ticket_version, created_at) \
             VALUES ($1, 'event', $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(self.ticket.id)
        .bind(self.actor_id)
        .bind(event)
        .bind(old_value)
        .bind(new_value)
        .bind(public)
        .bind(self.ticket.version + 1)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        self.what.push(live::what_happened(event, new_value));
        self.seen_by_customer |= public;
        Ok(())
    }

    pub async fn audit(&mut self, action: &str, before: Value, after: Value) -> Result<()> {
        let entry = audit::Entry {
            actor_id: self.actor_id,
            action,
            object_type: "ticket",
            object_id: self.ticket.number.to_string(),
            before: Some(before),
            after: Some(after),
        };
        audit::record(&mut self.tx, entry, self.now).await?;
        Ok(())
    }

    /// Moves the ticket to `to` with everything that entails: the SLA clock, the resolved
    /// and closed times, a public timeline event and the audit row.
    pub async fn set_status(&mut self, to: Status, event: StatusEvent) -> Result<()> {
        let from = self.ticket.status;
        if from == to {
            return Ok(());
        }
        let now = self.now;
        let ticket = &mut self.ticket;
        if let (Status::Pending, Some(paused_at)) = (from, ticket.sla_paused_at) {
            ticket.deadlines = ticket.deadlines.resumed(now - paused_at);
        }
        ticket.sla_paused_at = (to == Status::Pending).then_some(now);
        ticket.closed_at = (to == Status::Closed).then_some(now);
        // Closing keeps the time it was resolved; any other move sets or clears it.
        if to != Status::Closed {
            ticket.resolved_at = (to == Status::Resolved).then_some(now);
        }
        ticket.status = to;
        sqlx::query(
            "UPDATE tickets SET status = $1, sla_paused_at = $2, closed_at = $3, resolved_at = $4, \
             first_response_due_at = $5, resolution_due_at = $6, due_at = $7 WHERE id = $8",
        )
        .bind(to)
        .bind(ticket.sla_paused_at)
        .bind(ticket.closed_at)
        .bind(ticket.resolved_at)
        .bind(ticket.deadlines.first_response_due_at)
        .bind(ticket.deadlines.resolution_due_at)
        .bind(ticket.deadlines.due_at(to, ticket.first_response_at))
        .bind(ticket.id)
        .execute(&mut *self.tx)
        .await?;
        self.add_event(event.name(), Some(from.as_str()), Some(to.as_str()), true).await?;
        self.audit("ticket.status", json!({ "status": from.as_str() }), json!({ "status": to.as_str() })).await
    }

    /// Records the first public answer and the due date that follows from it.
    pub async fn mark_first_response(&mut self) -> Result<()> {
        if self.ticket.first_response_at.is_some() {
            return Ok(());
        }
        self.ticket.first_response_at = Some(self.now);
        sqlx::query("UPDATE tickets SET first_response_at = $1, due_at = $2 WHERE id = $3")
            .bind(self.now)
            .bind(self.ticket.deadlines.due_at(self.ticket.status, self.ticket.first_response_at))
            .bind(self.ticket.id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Queues a mail to a user, if they are still active — and not the one acting (nobody
    /// is mailed about what they did themselves), nor copied on the mail the change came in.
    pub async fn notify_user(&mut self, notification: Notification, user_id: i64, message_id: Option<i64>) -> Result<()> {
        if self.actor_id == Some(user_id) {
            return Ok(());
        }
        let account: Option<(String, Flag)> =
            sqlx::query_as("SELECT email, active FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *self.tx).await?;
        if let Some((email, Flag(true))) = account.filter(|(email, _)| !self.have_the_mail.contains(email)) {
            let recipient = Recipient { user_id: Some(user_id), email: &email };
            notification::enqueue(&mut self.tx, notification, self.ticket.id, message_id, recipient, self.now).await?;
        }
        Ok(())
    }

    /// Queues a mail to everyone on the customer's side of the ticket (its requester and
    /// those copied on it) but the one acting.
    pub async fn notify_customers(&mut self, notification: Notification, message_id: Option<i64>) -> Result<()> {
        let copied: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM ticket_cc WHERE ticket_id = $1 ORDER BY user_id")
            .bind(self.ticket.id)
            .fetch_all(&mut *self.tx)
            .await?;
        for user_id in std::iter::once(self.ticket.requester_id).chain(copied) {
            self.notify_user(notification, user_id, message_id).await?;
        }
        Ok(())
    }

    /// Ends the change: `updated_at` and `version` move on (and the time the customer is
    /// shown, if they can see any of it), the search document follows new text, and it
    /// all commits. Returns the new version.
    pub async fn commit(self, customer_wrote_last: Option<bool>) -> Result<i64> {
        let (version, db) = (self.ticket.version + 1, self.db);
        let (tx, word) = self.finish(customer_wrote_last).await?;
        tx.commit().await?;
        db.said_after_commit(word);
        Ok(version)
    }

    /// Like [`Change::commit`], but hands the transaction back uncommitted, with the word
    /// of the change for live pages: the caller passes it to `Db::said_after_commit` once
    /// it has committed.
    pub async fn finish(mut self, customer_wrote_last: Option<bool>) -> Result<(Tx, String)> {
        sqlx::query(
            "UPDATE tickets SET updated_at = $1, version = version + 1, \
             public_updated_at = CASE WHEN $2 THEN $1 ELSE public_updated_at END, \
             customer_wrote_last = COALESCE($3, customer_wrote_last) WHERE id = $4",
        )
        .bind(self.now)
        .bind(self.seen_by_customer)
        .bind(customer_wrote_last)
        .bind(self.ticket.id)
        .execute(&mut *self.tx)
        .await?;
        if self.text_changed {
            search::reindex(&mut self.tx, self.db.backend(), search::Documents::Ticket(self.ticket.id)).await?;
        }
        let (number, version) = (self.ticket.number, self.ticket.version + 1);
        let word = live::ticket_changed(self.db, &mut self.tx, number, version, self.actor_id, self.what).await?;
        Ok((self.tx, word))
    }
}
