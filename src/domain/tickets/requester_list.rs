//! A customer's own tickets, as the portal and the API list them.

use super::number::TicketNumber;
use super::ticket::{SUMMARY_FROM, TicketSummary, summary_columns};
use crate::db::{Db, stored_enum};
use crate::domain::Result;
use crate::domain::accounts::users::User;
use crate::domain::paging::{Paged, like_pattern};

stored_enum!(
    /// The tabs of the customer's list.
    #[derive(Default)]
    pub enum CustomerTab {
        #[default]
        Active => "active", "Open";
        Resolved => "resolved", "Resolved";
        Closed => "closed", "Closed";
        All => "all", "All";
    } else "Choose active, resolved, closed or all."
);

impl CustomerTab {
    fn condition(self) -> &'static str {
        match self {
            Self::Active => " AND t.status IN ('new', 'open', 'pending', 'on_hold')",
            Self::Resolved => " AND t.status = 'resolved'",
            Self::Closed => " AND t.status = 'closed'",
            Self::All => "",
        }
    }
}

/// Whose tickets a customer's list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerScope {
    /// Those they asked.
    Mine(i64),
    /// Every ticket of the organisation they manage.
    Organisation(i64),
    /// Those they are copied on.
    Copied(i64),
}

impl CustomerScope {
    /// `scope` as asked: `mine` (also when empty), `cc`, or `organisation` for its manager.
    pub fn parse(customer: &User, asked: &str) -> Result<Self, String> {
        match (asked.trim(), super::ticket::managed_organisation(customer)) {
            ("" | "mine", _) => Ok(Self::Mine(customer.id)),
            ("cc", _) => Ok(Self::Copied(customer.id)),
            ("organisation", Some(organisation_id)) => Ok(Self::Organisation(organisation_id)),
            ("organisation", None) => Err("Only an organisation's manager lists its tickets.".into()),
            (other, _) => Err(format!("“{other}” is not mine, organisation or cc.")),
        }
    }

    /// As [`CustomerScope::parse`], where anything it refuses lists their own (the portal).
    pub fn of(customer: &User, asked: &str) -> Self {
        Self::parse(customer, asked).unwrap_or(Self::Mine(customer.id))
    }

    /// The value of `scope` that asks for this list.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mine(_) => "mine",
            Self::Organisation(_) => "organisation",
            Self::Copied(_) => "cc",
        }
    }

    fn condition(self) -> (&'static str, i64) {
        match self {
            Self::Mine(requester_id) => ("t.requester_id = $1", requester_id),
            Self::Organisation(organisation_id) => ("t.organisation_id = $1", organisation_id),
            Self::Copied(customer_id) => ("t.id IN (SELECT ticket_id FROM ticket_cc WHERE user_id = $1)", customer_id),
        }
    }
}

pub const CUSTOMER_PAGE_SIZE: i64 = 25;
/// What a customer's search reads of what was typed.
pub const SEARCH_MAX_CHARS: usize = 200;

/// A customer's tickets (their own, or their organisation's), newest visible activity first.
/// `q` matches the number, words of the subject, and the public messages.
pub async fn list_for_requester(
    db: &Db,
    scope: CustomerScope,
    tab: CustomerTab,
    query: &str,
    page: i64,
) -> Result<Paged<TicketSummary>> {
    // Control characters cannot be in any stored text, and Postgres refuses NUL outright. A
    // search is a few words: beyond that SQLite refuses the LIKE pattern as too complex.
    let query: String = query.trim().chars().filter(|c| !c.is_control()).take(SEARCH_MAX_CHARS).collect();
    let query = query.as_str();
    let (scope_condition, scope_id) = scope.condition();
    let mut condition = String::from(scope_condition);
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
    let mut count = sqlx::query_scalar(&count_sql).bind(scope_id);
    if !query.is_empty() {
        count = count.bind(number).bind(&pattern);
    }
    let total_items: i64 = count.fetch_one(db.pool()).await?;

    let list_sql = format!(
        "SELECT {} FROM {SUMMARY_FROM} WHERE {condition} \
         ORDER BY t.public_updated_at DESC, t.id DESC LIMIT {CUSTOMER_PAGE_SIZE} OFFSET {}",
        summary_columns("t.public_updated_at"),
        (page - 1) * CUSTOMER_PAGE_SIZE
    );
    let mut list = sqlx::query_as::<_, TicketSummary>(&list_sql).bind(scope_id);
    if !query.is_empty() {
        list = list.bind(number).bind(&pattern);
    }
    let items = list.fetch_all(db.pool()).await?;
    Ok(Paged::counted(items, page, total_items, CUSTOMER_PAGE_SIZE))
}
