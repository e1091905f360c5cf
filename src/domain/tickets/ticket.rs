//! The ticket read model, and lookups that respect who is asking.

use super::number::TicketNumber;
use super::status::{Priority, Status};
use crate::db::{Db, Flag};
use crate::domain::accounts::users::User;
use crate::domain::clock::Timestamp;
use crate::domain::contacts::ContactMethod;
use crate::domain::{Error, Result};

/// A ticket with the names a page shows beside it, read in one statement.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Ticket {
    pub id: i64,
    pub number: TicketNumber,
    pub prefix: String,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub group_id: i64,
    pub group_name: String,
    #[sqlx(try_from = "Flag")]
    pub group_public: bool,
    pub requester_id: i64,
    pub requester_name: String,
    pub requester_email: String,
    pub requester_phone: String,
    /// How the requester likes to be reached.
    pub requester_prefers: ContactMethod,
    /// The requester's organisation, when the ticket was theirs within it.
    pub organisation_id: Option<i64>,
    pub organisation_name: Option<String>,
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
        self.number.reference(&self.prefix)
    }

    /// The group as its customer may see it: an internal group's name stays inside.
    pub fn group_for_customer(&self) -> &str {
        group_for_customer(&self.group_name, self.group_public)
    }
}

/// What customers are shown for a group that is not public.
pub const INTERNAL_GROUP_FOR_CUSTOMERS: &str = "Support";

fn group_for_customer(name: &str, public: bool) -> &str {
    if public { name } else { INTERNAL_GROUP_FOR_CUSTOMERS }
}

const TICKET_SELECT: &str = "SELECT t.id, t.number, t.prefix, t.subject, t.status, t.priority, t.group_id, \
     g.name AS group_name, g.public AS group_public, t.requester_id, r.name AS requester_name, r.email AS requester_email, \
     r.phone AS requester_phone, r.preferred_contact AS requester_prefers, \
     t.organisation_id, o.name AS organisation_name, t.assignee_id, a.name AS assignee_name, t.version, t.created_at, t.updated_at, t.public_updated_at, t.due_at, \
     t.first_response_at, t.resolved_at, t.closed_at, t.time_spent_minutes, t.rating, t.rating_comment, \
     mt.number AS merged_into, ft.number AS follow_up_of \
     FROM tickets t \
     JOIN groups g ON g.id = t.group_id \
     JOIN users r ON r.id = t.requester_id \
     LEFT JOIN users a ON a.id = t.assignee_id \
     LEFT JOIN organisations o ON o.id = t.organisation_id \
     LEFT JOIN tickets mt ON mt.id = t.merged_into_id \
     LEFT JOIN tickets ft ON ft.id = t.follow_up_of_id";

/// The ticket, if `viewer` may see it: staff see every ticket, a customer those
/// [`customer_sees`] allows. Anything else is `NotFound`, exactly like a number that does
/// not exist.
pub async fn find_for_viewer(db: &Db, number: TicketNumber, viewer: &User) -> Result<Ticket> {
    let ticket: Option<Ticket> = if viewer.role.is_staff() {
        sqlx::query_as(&format!("{TICKET_SELECT} WHERE t.number = $1")).bind(number).fetch_optional(db.pool()).await?
    } else {
        sqlx::query_as(&format!("{TICKET_SELECT} WHERE t.number = $1 AND {}", customer_sees(2, 3)))
            .bind(number)
            .bind(viewer.id)
            .bind(managed_organisation(viewer))
            .fetch_optional(db.pool())
            .await?
    };
    ticket.ok_or(Error::NotFound)
}

/// The organisation whose every ticket `customer` sees and answers: their own, if they
/// manage it.
pub fn managed_organisation(customer: &User) -> Option<i64> {
    customer.organisation_id.filter(|_| customer.org_manager)
}

/// The one rule for which tickets a customer sees and answers, as a condition on `t`
/// (tickets): those they asked, those they are copied on, and every ticket of the
/// organisation they manage. `$customer` is bound to their id, `$organisation` to
/// [`managed_organisation`]. Pages, API, files, search and mail all ask through it.
pub fn customer_sees(customer: usize, organisation: usize) -> String {
    format!(
        "(t.requester_id = ${customer} OR t.organisation_id = ${organisation} \
         OR EXISTS (SELECT 1 FROM ticket_cc cc WHERE cc.ticket_id = t.id AND cc.user_id = ${customer}))"
    )
}

/// Whether [`customer_sees`] the ticket `ticket_id` (read in a transaction, or from the pool).
pub async fn customer_sees_ticket<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    ticket_id: i64,
    customer_id: i64,
    managed_organisation: Option<i64>,
) -> Result<bool> {
    let seen: Option<i64> =
        sqlx::query_scalar(&format!("SELECT t.id FROM tickets t WHERE t.id = $1 AND {}", customer_sees(2, 3)))
            .bind(ticket_id)
            .bind(customer_id)
            .bind(managed_organisation)
            .fetch_optional(executor)
            .await?;
    Ok(seen.is_some())
}

/// Whether `customer` may decide for a ticket they see (close it, rate it, change who is
/// copied): they asked it, or they manage its organisation. Those copied see and answer
/// it, and no more.
pub fn customer_may_manage(customer: &User, requester_id: i64, organisation_id: Option<i64>) -> bool {
    requester_id == customer.id || organisation_id.is_some() && organisation_id == managed_organisation(customer)
}

/// The id of the ticket with this number, for callers that check access themselves.
pub async fn id_of(db: &Db, number: TicketNumber) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM tickets WHERE number = $1").bind(number).fetch_optional(db.pool()).await?)
}

/// A row of a ticket list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TicketSummary {
    pub id: i64,
    pub number: TicketNumber,
    pub prefix: String,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub group_id: i64,
    pub group_name: String,
    #[sqlx(try_from = "Flag")]
    pub group_public: bool,
    pub requester_name: String,
    /// The last change the list's reader can see.
    pub updated_at: Timestamp,
}

impl TicketSummary {
    pub fn reference(&self) -> String {
        self.number.reference(&self.prefix)
    }

    pub fn group_for_customer(&self) -> &str {
        group_for_customer(&self.group_name, self.group_public)
    }
}

/// The columns of a [`TicketSummary`] from `t` (tickets), `g` (groups) and `r` (the
/// requester), with the moment of the last change the reader can see.
pub(super) fn summary_columns(updated_at: &str) -> String {
    format!(
        "t.id, t.number, t.prefix, t.subject, t.status, t.priority, t.group_id, g.name AS group_name, g.public AS group_public, \
         r.name AS requester_name, {updated_at} AS updated_at"
    )
}

/// The tables [`summary_columns`] reads.
pub(super) const SUMMARY_FROM: &str = "tickets t JOIN groups g ON g.id = t.group_id JOIN users r ON r.id = t.requester_id";

/// The requester's latest other tickets, for the workspace's side panel.
pub async fn others_of_requester(db: &Db, requester_id: i64, except_id: i64, limit: i64) -> Result<Vec<TicketSummary>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} FROM {SUMMARY_FROM} WHERE t.requester_id = $1 AND t.id <> $2 \
         ORDER BY t.updated_at DESC, t.id DESC LIMIT $3",
        summary_columns("t.updated_at")
    ))
    .bind(requester_id)
    .bind(except_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}
