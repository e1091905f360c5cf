//! Opening a ticket: its fields parsed, its number spent, its first message, in one transaction.

use serde_json::json;

use super::number::TicketNumber;
use super::sla;
use super::status::{Priority, Status};
use super::ticket::{customer_sees, managed_organisation};
use crate::db::{self, Db, Flag, search};
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, User};
use crate::domain::admin::audit;
use crate::domain::admin::settings::Settings;
use crate::domain::attachments::{self, KeptFile};
use crate::domain::clock::Timestamp;
use crate::domain::conversation::cc;
use crate::domain::email::Email;
use crate::domain::fields::SetValue;
use crate::domain::fields::values;
use crate::domain::input::WholeNumber;
use crate::domain::live;
use crate::domain::mail::notification::{self, Notification, Recipient};
use crate::domain::mail::received::ReceivedMail;
use crate::domain::{Error, FieldErrors, Result, text};

pub const SUBJECT_MAX: usize = 200;
pub const BODY_MAX: usize = 50_000;

/// Why a mail is not added a second time.
pub const ALREADY_RECEIVED: &str = "This mail was received before; it is on the ticket already.";

pub fn parse_subject(input: &str) -> Result<String, String> {
    text::line(input, "Subject", 1, SUBJECT_MAX)
}

/// A message body: any text with line breaks, trimmed, not empty.
pub fn parse_body(input: &str, label: &str) -> Result<String, String> {
    let cleaned = text::clean(input, true)?;
    let trimmed = cleaned.trim();
    let length = trimmed.chars().count();
    if length == 0 {
        Err(format!("{label} is required."))
    } else if length > BODY_MAX {
        Err(format!("{label} must be at most {BODY_MAX} characters (it has {length})."))
    } else {
        Ok(trimmed.to_owned())
    }
}

/// A ticket as submitted, every field parsed.
#[derive(Debug)]
pub struct NewTicket {
    pub subject: String,
    pub group_id: i64,
    pub priority: Priority,
    pub message: String,
    pub follow_up_of: Option<TicketNumber>,
    /// The mail it came in, when it was sent by mail.
    pub mail: Option<ReceivedMail>,
    /// Files on its first message, kept in the store already.
    pub files: Vec<KeptFile>,
    /// Its fields, checked (see [`NewTicket::with_fields`]).
    pub fields: Vec<SetValue>,
}

impl NewTicket {
    pub fn parse(subject: &str, group: WholeNumber, priority: &str, message: &str, follow_up_of: &str) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let subject = errors.check("subject", parse_subject(subject));
        let group_id = errors.check("group", group.required("Choose a group."));
        let priority = match priority.trim() {
            "" => Some(Priority::default()),
            given => errors.check("priority", given.parse()),
        };
        let message = errors.check("message", parse_body(message, "Message"));
        match (subject, group_id, priority, message) {
            (Some(subject), Some(group_id), Some(priority), Some(message)) => Ok(Self {
                subject,
                group_id,
                priority,
                message,
                follow_up_of: TicketNumber::parse(follow_up_of),
                mail: None,
                files: Vec::new(),
                fields: Vec::new(),
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }

    /// Adds the fields, checked apart (they need their definitions), reporting every bad
    /// field of both at once.
    pub fn with_fields(parsed: Result<Self>, fields: Result<Vec<SetValue>>) -> Result<Self> {
        match (parsed, fields) {
            (Ok(mut new_ticket), Ok(fields)) => {
                new_ticket.fields = fields;
                Ok(new_ticket)
            }
            (Err(Error::Invalid(mut errors)), Err(Error::Invalid(more))) => {
                errors.extend(more);
                Err(Error::Invalid(errors))
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        }
    }
}

/// Creates a ticket for `requester`, by `actor` (the requester, or an agent taking a call),
/// with the next number and the prefix in force, its first message and the notifications,
/// in one transaction: a number is spent only by a ticket that exists.
pub async fn create(
    db: &Db,
    settings: &Settings,
    requester: &User,
    actor: &User,
    new_ticket: &NewTicket,
    notify_email: Option<&str>,
    now: Timestamp,
) -> Result<TicketNumber> {
    let mut tx = db.begin_write().await?;
    let group_public: Option<Flag> =
        sqlx::query_scalar("SELECT public FROM groups WHERE id = $1").bind(new_ticket.group_id).fetch_optional(&mut *tx).await?;
    let may_use_group = match group_public {
        Some(Flag(public)) => public || actor.role.is_staff(),
        None => false,
    };
    if !may_use_group {
        return Err(Error::Invalid(FieldErrors::single("group", "Choose one of the listed groups.")));
    }
    let follow_up_of_id: Option<i64> = match new_ticket.follow_up_of {
        Some(number) => {
            // Any ticket the requester sees: theirs, their organisation's, one they are copied on.
            sqlx::query_scalar(&format!("SELECT t.id FROM tickets t WHERE t.number = $1 AND {}", customer_sees(2, 3)))
                .bind(number.get())
                .bind(requester.id)
                .bind(managed_organisation(requester))
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    let number: TicketNumber = sqlx::query_scalar(
        "UPDATE counters SET next_value = next_value + 1 WHERE name = 'ticket_number' RETURNING next_value - 1",
    )
    .fetch_one(&mut *tx)
    .await?;
    let deadlines = sla::Deadlines::start(settings.sla(new_ticket.priority), now);
    let ticket_id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, prefix, subject, requester_id, group_id, priority, status, version, \
         created_at, updated_at, public_updated_at, first_response_due_at, resolution_due_at, due_at, follow_up_of_id, \
         customer_wrote_last, organisation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $8, $9, $10, $11, $12, $13, \
         (SELECT organisation_id FROM users WHERE id = $4)) RETURNING id",
    )
    .bind(number)
    .bind(&settings.ticket_prefix)
    .bind(&new_ticket.subject)
    .bind(requester.id)
    .bind(new_ticket.group_id)
    .bind(new_ticket.priority.as_str())
    .bind(Status::New.as_str())
    .bind(now)
    .bind(deadlines.first_response_due_at)
    .bind(deadlines.resolution_due_at)
    .bind(deadlines.due_at(Status::New, None))
    .bind(follow_up_of_id)
    .bind(requester.role == Role::Customer)
    .fetch_one(&mut *tx)
    .await?;
    let inserted = sqlx::query_scalar(
        "INSERT INTO messages (ticket_id, kind, author_id, body, public, ticket_version, created_at, source, email_message_id, \
         sender_verified) VALUES ($1, 'message', $2, $3, $4, 1, $5, $6, $7, $8) RETURNING id",
    )
    .bind(ticket_id)
    .bind(requester.id)
    .bind(&new_ticket.message)
    .bind(true)
    .bind(now)
    .bind(if new_ticket.mail.is_some() { "email" } else { "web" })
    .bind(new_ticket.mail.as_ref().and_then(|mail| mail.message_id.as_deref()))
    .bind(new_ticket.mail.as_ref().is_none_or(|mail| mail.sender_verified))
    .fetch_one(&mut *tx)
    .await;
    let message_id: i64 = match inserted {
        Err(error) if db::is_unique_violation(&error) => {
            return Err(Error::Conflict(ALREADY_RECEIVED.into()));
        }
        other => other?,
    };
    attachments::attach(&mut tx, ticket_id, message_id, &new_ticket.files, now).await?;
    let fields = values::store(&mut tx, ticket_id, &new_ticket.fields).await?;
    let requester_recipient = Recipient { user_id: Some(requester.id), email: &requester.email };
    notification::enqueue(&mut tx, Notification::TicketCreated, ticket_id, Some(message_id), requester_recipient, now).await?;
    if let Some(email) = notify_email {
        let alert = Recipient { user_id: None, email };
        notification::enqueue(&mut tx, Notification::NewTicketAlert, ticket_id, Some(message_id), alert, now).await?;
    }
    audit::record(
        &mut tx,
        audit::Entry {
            actor_id: Some(actor.id),
            action: "ticket.create",
            object_type: "ticket",
            object_id: number.to_string(),
            before: None,
            after: Some(json!({
                "subject": new_ticket.subject,
                "group_id": new_ticket.group_id,
                "priority": new_ticket.priority.as_str(),
                "status": Status::New.as_str(),
                "fields": fields.iter().map(|set| (set.field.key.clone(), json!(set.after))).collect::<serde_json::Map<_, _>>(),
            })),
        },
        now,
    )
    .await?;
    search::reindex(&mut tx, db.backend(), search::Documents::Ticket(ticket_id)).await?;
    let mut words = vec![live::ticket_changed(db, &mut tx, number, 1, Some(actor.id), vec!["opened it".to_owned()]).await?];
    if let Some(mail) = new_ticket.mail.as_ref().filter(|mail| !mail.copied.is_empty()) {
        let word;
        (tx, word) = cc::copy_on_new_ticket(db, tx, ticket_id, requester, mail, now).await?;
        words.push(word);
    }
    tx.commit().await?;
    words.into_iter().for_each(|word| db.said_after_commit(word));
    Ok(number)
}

/// Staff open a ticket for the customer at `requester` (taking a call, or through the
/// API), creating the customer's account if it is new. `parsed` is the rest of the form,
/// so that every bad field is reported at once.
pub async fn create_on_behalf(
    db: &Db,
    settings: &Settings,
    agent: &User,
    requester: &str,
    parsed: Result<NewTicket>,
    notify_email: Option<&str>,
    now: Timestamp,
) -> Result<TicketNumber> {
    debug_assert!(agent.role.is_staff());
    match (Email::parse(requester), parsed) {
        (Ok(email), Ok(new_ticket)) => {
            let customer = users::find_or_create_customer(db, &email, Some(agent.id), now).await?;
            create(db, settings, &customer, agent, &new_ticket, notify_email, now).await
        }
        (requester, parsed) => {
            let mut errors = match parsed {
                Err(Error::Invalid(errors)) => errors,
                Err(other) => return Err(other),
                Ok(_) => FieldErrors::new(),
            };
            if let Err(message) = requester {
                errors.add("requester", message);
            }
            Err(Error::Invalid(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_ticket_reports_every_bad_field() {
        let Err(Error::Invalid(errors)) = NewTicket::parse(" ", WholeNumber::Typed("x"), "extreme", "\u{0}", "") else {
            panic!("accepted");
        };
        assert_eq!(errors.get("subject"), Some("Subject is required."));
        assert_eq!(errors.get("group"), Some("Choose a group."));
        assert_eq!(errors.get("priority"), Some("Choose low, medium, high or urgent."));
        assert_eq!(errors.get("message"), Some("Must not contain control characters."));
    }

    #[test]
    fn a_new_ticket_defaults_to_medium_priority() {
        let ticket = NewTicket::parse("Printer", WholeNumber::Typed("1"), "", "It jams.\r\nOften.", "TCK-1001").unwrap();
        assert_eq!(ticket.priority, Priority::Medium);
        assert_eq!(ticket.message, "It jams.\nOften.");
        assert_eq!(ticket.follow_up_of.map(TicketNumber::get), Some(1001));
        assert!(NewTicket::parse(&"s".repeat(201), WholeNumber::Sent(1), "low", "m", "").is_err());
    }
}
