//! Tickets: creation (with numbering), lookups that respect who is asking, and lists.

use serde_json::json;

use super::clock::Timestamp;
use super::outbox::{self, Notification, Recipient};
use super::role::Role;
use super::settings::Settings;
use super::ticket_fields::{Priority, Status, TicketNumber};
use super::email::Email;
use super::users::{self, User};
use super::{Error, FieldErrors, Result, audit, sla, text};
use crate::db::{self, Db, Flag, search};

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
    /// The Message-ID of the mail it came in, when it was sent by mail.
    pub mail: Option<String>,
}

impl NewTicket {
    pub fn parse(subject: &str, group: &str, priority: &str, message: &str, follow_up_of: &str) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let subject = errors.check("subject", parse_subject(subject));
        let group_id = errors.check("group", group.trim().parse::<i64>().map_err(|_| "Choose a group.".to_string()));
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
            }),
            _ => Err(Error::Invalid(errors)),
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
    let group_public: Option<Flag> = sqlx::query_scalar("SELECT public FROM groups WHERE id = $1")
        .bind(new_ticket.group_id)
        .fetch_optional(&mut *tx)
        .await?;
    let may_use_group = match group_public {
        Some(Flag(public)) => public || actor.role.is_staff(),
        None => false,
    };
    if !may_use_group {
        return Err(Error::Invalid(FieldErrors::single("group", "Choose one of the listed groups.")));
    }
    let follow_up_of_id: Option<i64> = match new_ticket.follow_up_of {
        Some(number) => {
            sqlx::query_scalar("SELECT id FROM tickets WHERE number = $1 AND requester_id = $2")
                .bind(number.get())
                .bind(requester.id)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    let number: i64 = sqlx::query_scalar(
        "UPDATE counters SET next_value = next_value + 1 WHERE name = 'ticket_number' RETURNING next_value - 1",
    )
    .fetch_one(&mut *tx)
    .await?;
    let deadlines = sla::Deadlines::start(settings.sla(new_ticket.priority), now);
    let ticket_id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, prefix, subject, requester_id, group_id, priority, status, version, \
         created_at, updated_at, public_updated_at, first_response_due_at, resolution_due_at, due_at, follow_up_of_id, \
         customer_wrote_last) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $8, $9, $10, $11, $12, $13) RETURNING id",
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
        "INSERT INTO messages (ticket_id, kind, author_id, body, public, ticket_version, created_at, source, email_message_id) \
         VALUES ($1, 'message', $2, $3, $4, 1, $5, $6, $7) RETURNING id",
    )
    .bind(ticket_id)
    .bind(requester.id)
    .bind(&new_ticket.message)
    .bind(true)
    .bind(now)
    .bind(if new_ticket.mail.is_some() { "email" } else { "web" })
    .bind(new_ticket.mail.as_deref())
    .fetch_one(&mut *tx)
    .await;
    let message_id: i64 = match inserted {
        Err(error) if db::is_unique_violation(&error) => return Err(Error::Conflict(ALREADY_RECEIVED.into())),
        other => other?,
    };
    let requester_recipient = Recipient { user_id: Some(requester.id), email: &requester.email };
    outbox::enqueue(&mut tx, Notification::TicketCreated, ticket_id, Some(message_id), requester_recipient, now).await?;
    if let Some(email) = notify_email {
        let alert = Recipient { user_id: None, email };
        outbox::enqueue(&mut tx, Notification::NewTicketAlert, ticket_id, Some(message_id), alert, now).await?;
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
            })),
        },
        now,
    )
    .await?;
    search::reindex(&mut tx, db.backend(), search::Documents::Ticket(ticket_id)).await?;
    tx.commit().await?;
    Ok(TicketNumber::from_stored(number))
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
            let customer = users::find_or_create_customer(db, &email, agent.id, now).await?;
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

/// A ticket with the names a page shows beside it.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub id: i64,
    pub number: TicketNumber,
    pub prefix: String,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub group_id: i64,
    pub group_name: String,
    pub requester_id: i64,
    pub requester_name: String,
    pub requester_email: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The last change a customer can see (internal notes leave it alone).
    pub public_updated_at: Timestamp,
    pub due_at: Option<Timestamp>,
    pub first_response_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub time_spent_minutes: i64,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub merged_into: Option<TicketNumber>,
    pub follow_up_of: Option<TicketNumber>,
}

impl Ticket {
    /// The number as people read it: `TCK-1001`.
    pub fn reference(&self) -> String {
        format!("{}{}", self.prefix, self.number)
    }
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: i64,
    number: i64,
    prefix: String,
    subject: String,
    status: String,
    priority: String,
    group_id: i64,
    group_name: String,
    requester_id: i64,
    requester_name: String,
    requester_email: String,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    public_updated_at: i64,
    due_at: Option<i64>,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    closed_at: Option<i64>,
    time_spent_minutes: i64,
    rating: Option<i64>,
    rating_comment: Option<String>,
    merged_into_number: Option<i64>,
    follow_up_of_number: Option<i64>,
}

pub(super) fn parse_stored<T: std::str::FromStr>(value: &str, what: &str) -> Result<T> {
    value.parse().map_err(|_| Error::Internal(anyhow::anyhow!("stored {what} {value:?} is not valid")))
}

impl TryFrom<TicketRow> for Ticket {
    type Error = Error;

    fn try_from(row: TicketRow) -> Result<Self> {
        Ok(Ticket {
            id: row.id,
            number: TicketNumber::from_stored(row.number),
            prefix: row.prefix,
            subject: row.subject,
            status: parse_stored(&row.status, "status")?,
            priority: parse_stored(&row.priority, "priority")?,
            group_id: row.group_id,
            group_name: row.group_name,
            requester_id: row.requester_id,
            requester_name: row.requester_name,
            requester_email: row.requester_email,
            assignee_id: row.assignee_id,
            assignee_name: row.assignee_name,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            public_updated_at: row.public_updated_at,
            due_at: row.due_at,
            first_response_at: row.first_response_at,
            resolved_at: row.resolved_at,
            closed_at: row.closed_at,
            time_spent_minutes: row.time_spent_minutes,
            rating: row.rating,
            rating_comment: row.rating_comment,
            merged_into: row.merged_into_number.map(TicketNumber::from_stored),
            follow_up_of: row.follow_up_of_number.map(TicketNumber::from_stored),
        })
    }
}

const TICKET_SELECT: &str = "SELECT t.id, t.number, t.prefix, t.subject, t.status, t.priority, t.group_id, \
     g.name AS group_name, t.requester_id, r.name AS requester_name, r.email AS requester_email, \
     t.assignee_id, a.name AS assignee_name, t.version, t.created_at, t.updated_at, t.public_updated_at, t.due_at, \
     t.first_response_at, t.resolved_at, t.closed_at, t.time_spent_minutes, t.rating, t.rating_comment, \
     mt.number AS merged_into_number, ft.number AS follow_up_of_number \
     FROM tickets t \
     JOIN groups g ON g.id = t.group_id \
     JOIN users r ON r.id = t.requester_id \
     LEFT JOIN users a ON a.id = t.assignee_id \
     LEFT JOIN tickets mt ON mt.id = t.merged_into_id \
     LEFT JOIN tickets ft ON ft.id = t.follow_up_of_id";

/// The ticket, if `viewer` may see it: staff see every ticket, a customer only their own.
/// Anything else is `NotFound`, exactly like a number that does not exist.
pub async fn find_for_viewer(db: &Db, number: TicketNumber, viewer: &User) -> Result<Ticket> {
    let row: Option<TicketRow> = if viewer.role.is_staff() {
        sqlx::query_as(&format!("{TICKET_SELECT} WHERE t.number = $1"))
            .bind(number.get())
            .fetch_optional(db.pool())
            .await?
    } else {
        sqlx::query_as(&format!("{TICKET_SELECT} WHERE t.number = $1 AND t.requester_id = $2"))
            .bind(number.get())
            .bind(viewer.id)
            .fetch_optional(db.pool())
            .await?
    };
    row.ok_or(Error::NotFound)?.try_into()
}

/// The id of the ticket with this number, for callers that check access themselves.
pub async fn id_of(db: &Db, number: TicketNumber) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM tickets WHERE number = $1").bind(number.get()).fetch_optional(db.pool()).await?)
}

/// The requester's latest other tickets, for the workspace's side panel.
pub async fn others_of_requester(db: &Db, requester_id: i64, except_id: i64, limit: i64) -> Result<Vec<TicketSummary>> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT t.number, t.prefix, t.subject, t.status, t.priority, g.id, g.name, t.updated_at \
         FROM tickets t JOIN groups g ON g.id = t.group_id WHERE t.requester_id = $1 AND t.id <> $2 \
         ORDER BY t.updated_at DESC, t.id DESC LIMIT $3",
    )
    .bind(requester_id)
    .bind(except_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(summary_from_row).collect()
}

type SummaryRow = (i64, String, String, String, String, i64, String, i64);

fn summary_from_row((number, prefix, subject, status, priority, group_id, group_name, updated_at): SummaryRow) -> Result<TicketSummary> {
    Ok(TicketSummary {
        number: TicketNumber::from_stored(number),
        prefix,
        subject,
        status: parse_stored(&status, "status")?,
        priority: parse_stored(&priority, "priority")?,
        group_id,
        group_name,
        updated_at,
    })
}

/// One page of a list, and where it sits among the others.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: i64,
    /// All items, or — when `counted` is false — those up to this page and one more if
    /// there is a next page.
    pub total_items: i64,
    pub per_page: i64,
    pub counted: bool,
    /// Whether a page follows: known from the rows read, also where a count stops at its cap.
    pub has_next: bool,
}

impl<T> Paged<T> {
    /// A page of a list whose every item was counted: whether a page follows is known.
    pub fn counted(items: Vec<T>, page: i64, total_items: i64, per_page: i64) -> Self {
        Self { items, page, total_items, per_page, counted: true, has_next: page * per_page < total_items }
    }

    pub fn total_pages(&self) -> i64 {
        ((self.total_items + self.per_page - 1) / self.per_page).max(1)
    }
}

/// The `?page=` of a list: a number from 1 (the default, also for anything unreadable) up to a
/// bound no list reaches.
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|page| page.trim().parse::<i64>().ok()).filter(|page| *page >= 1).map_or(1, |page| page.min(100_000))
}

/// A row of a ticket list.
#[derive(Clone, Debug)]
pub struct TicketSummary {
    pub number: TicketNumber,
    pub prefix: String,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub group_id: i64,
    pub group_name: String,
    pub updated_at: Timestamp,
}

impl TicketSummary {
    pub fn reference(&self) -> String {
        format!("{}{}", self.prefix, self.number)
    }
}

/// The tabs of the customer's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CustomerTab {
    #[default]
    Active,
    Resolved,
    Closed,
    All,
}

impl CustomerTab {
    pub const ALL: [CustomerTab; 4] = [CustomerTab::Active, CustomerTab::Resolved, CustomerTab::Closed, CustomerTab::All];

    pub fn parse(input: &str) -> Self {
        match input {
            "resolved" => Self::Resolved,
            "closed" => Self::Closed,
            "all" => Self::All,
            _ => Self::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Open",
            Self::Resolved => "Resolved",
            Self::Closed => "Closed",
            Self::All => "All",
        }
    }

    fn condition(self) -> &'static str {
        match self {
            Self::Active => " AND t.status IN ('new', 'open', 'pending', 'on_hold')",
            Self::Resolved => " AND t.status = 'resolved'",
            Self::Closed => " AND t.status = 'closed'",
            Self::All => "",
        }
    }
}

pub const CUSTOMER_PAGE_SIZE: i64 = 25;

/// `%text%` for LIKE, with LIKE's own wildcards escaped.
pub fn like_pattern(text: &str) -> String {
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The customer's own tickets, newest visible activity first. `q` matches the number, words of
/// the subject, and the public messages.
pub async fn list_for_requester(
    db: &Db,
    requester_id: i64,
    tab: CustomerTab,
    query: &str,
    page: i64,
) -> Result<Paged<TicketSummary>> {
    // Control characters cannot be in any stored text, and Postgres refuses NUL outright.
    let query: String = query.trim().chars().filter(|c| !c.is_control()).collect();
    let query = query.as_str();
    let mut condition = String::from("t.requester_id = $1");
    condition.push_str(tab.condition());
    if !query.is_empty() {
        condition.push_str(
            " AND (t.number = $2 OR lower(t.subject) LIKE $3 ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
             WHERE m.ticket_id = t.id AND m.public AND m.kind = 'message' AND lower(m.body) LIKE $3 ESCAPE '\\'))",
        );
    }
    let number = TicketNumber::parse(query).map_or(0, TicketNumber::get);
    let pattern = like_pattern(query);
    let page = page.max(1);

    let count_sql = format!("SELECT COUNT(*) FROM tickets t WHERE {condition}");
    let mut count = sqlx::query_scalar(&count_sql).bind(requester_id);
    if !query.is_empty() {
        count = count.bind(number).bind(&pattern);
    }
    let total_items: i64 = count.fetch_one(db.pool()).await?;

    let list_sql = format!(
        "SELECT t.number, t.prefix, t.subject, t.status, t.priority, g.id, g.name, t.public_updated_at \
         FROM tickets t JOIN groups g ON g.id = t.group_id WHERE {condition} \
         ORDER BY t.public_updated_at DESC, t.id DESC LIMIT {CUSTOMER_PAGE_SIZE} OFFSET {}",
        (page - 1) * CUSTOMER_PAGE_SIZE
    );
    let mut list = sqlx::query_as::<_, SummaryRow>(&list_sql).bind(requester_id);
    if !query.is_empty() {
        list = list.bind(number).bind(&pattern);
    }
    let rows = list.fetch_all(db.pool()).await?;
    let items = rows.into_iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
    Ok(Paged::counted(items, page, total_items, CUSTOMER_PAGE_SIZE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_ticket_reports_every_bad_field() {
        let Err(Error::Invalid(errors)) = NewTicket::parse(" ", "x", "extreme", "\u{0}", "") else {
            panic!("accepted");
        };
        assert_eq!(errors.get("subject"), Some("Subject is required."));
        assert_eq!(errors.get("group"), Some("Choose a group."));
        assert_eq!(errors.get("priority"), Some("Choose low, medium, high or urgent."));
        assert_eq!(errors.get("message"), Some("Must not contain control characters."));
    }

    #[test]
    fn a_new_ticket_defaults_to_medium_priority() {
        let ticket = NewTicket::parse("Printer", "1", "", "It jams.\r\nOften.", "TCK-1001").unwrap();
        assert_eq!(ticket.priority, Priority::Medium);
        assert_eq!(ticket.message, "It jams.\nOften.");
        assert_eq!(ticket.follow_up_of.map(TicketNumber::get), Some(1001));
        assert!(NewTicket::parse(&"s".repeat(201), "1", "low", "m", "").is_err());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }
}
