//! A customer's own tickets, as the portal and the API list them.

use super::number::TicketNumber;
use super::status::{Place, Status};
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
    fn of_place(place: Place) -> CustomerTab {
        match place {
            Place::Open => Self::Active,
            Place::Resolved => Self::Resolved,
            Place::Closed => Self::Closed,
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
/// Words of a customer's search that must each match; those after are ignored.
const SEARCH_MAX_WORDS: usize = 8;

/// A customer's search, read once: the ticket number it may be, and its words as LIKE
/// patterns, each of which must match the subject or a public message.
struct Search {
    number: i64,
    patterns: Vec<String>,
}

impl Search {
    fn read(typed: &str) -> Option<Self> {
        // Control characters cannot be in any stored text, and Postgres refuses NUL
        // outright. A search is a few words: SQLite refuses longer LIKE patterns as too complex.
        let typed: String = typed.trim().chars().filter(|c| !c.is_control()).take(SEARCH_MAX_CHARS).collect();
        let patterns: Vec<String> = typed.split_whitespace().take(SEARCH_MAX_WORDS).map(like_pattern).collect();
        (!patterns.is_empty()).then(|| Self { number: TicketNumber::parse(&typed).map_or(0, TicketNumber::get), patterns })
    }

    /// The condition, its binds numbered from `$2` (`$1` is the scope's).
    fn condition(&self) -> String {
        let words: Vec<String> = (0..self.patterns.len())
            .map(|index| {
                let parameter = index + 3;
                format!(
                    "(lower(t.subject) LIKE ${parameter} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id \
                     AND m.public AND m.kind = 'message' AND lower(m.body) LIKE ${parameter} ESCAPE '\\'))"
                )
            })
            .collect();
        format!(" AND (t.number = $2 OR ({}))", words.join(" AND "))
    }

    /// `query` with the binds of `search`'s condition, if any.
    fn bind<'q, O>(
        search: Option<&'q Self>,
        query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        match search {
            Some(search) => search.patterns.iter().fold(query.bind(search.number), |query, pattern| query.bind(pattern.as_str())),
            None => query,
        }
    }
}

/// A customer's tickets (their own, or their organisation's), newest visible activity first.
/// `q` matches the number, or words of the subject and the public messages (all of them).
pub async fn list_for_requester(
    db: &Db,
    scope: CustomerScope,
    tab: CustomerTab,
    query: &str,
    page: i64,
) -> Result<Paged<TicketSummary>> {
    let search = Search::read(query);
    let (scope_condition, scope_id) = scope.condition();
    let mut condition = String::from(scope_condition);
    condition.push_str(tab.condition());
    if let Some(search) = &search {
        condition.push_str(&search.condition());
    }
    let page = page.max(1);
    let search = search.as_ref();
    let count_sql = format!("SELECT COUNT(*) FROM tickets t WHERE {condition}");
    let (total_items,): (i64,) = Search::bind(search, sqlx::query_as(&count_sql).bind(scope_id)).fetch_one(db.pool()).await?;
    let list_sql = format!(
        "SELECT {} FROM {SUMMARY_FROM} WHERE {condition} \
         ORDER BY t.public_updated_at DESC, t.id DESC LIMIT {CUSTOMER_PAGE_SIZE} OFFSET {}",
        summary_columns("t.public_updated_at"),
        (page - 1) * CUSTOMER_PAGE_SIZE
    );
    let items = Search::bind(search, sqlx::query_as(&list_sql).bind(scope_id)).fetch_all(db.pool()).await?;
    Ok(Paged::counted(items, page, total_items, CUSTOMER_PAGE_SIZE))
}

/// How many of a customer's tickets match `query` in each tab that parts them by status
/// (Open, Resolved, Closed), those with none left out: where else a search finds them.
pub async fn matches_by_tab(db: &Db, scope: CustomerScope, query: &str) -> Result<Vec<(CustomerTab, i64)>> {
    let Some(search) = Search::read(query) else {
        return Ok(Vec::new());
    };
    let (scope_condition, scope_id) = scope.condition();
    let sql = format!("SELECT t.status, COUNT(*) FROM tickets t WHERE {scope_condition}{} GROUP BY t.status", search.condition());
    let rows: Vec<(Status, i64)> = Search::bind(Some(&search), sqlx::query_as(&sql).bind(scope_id)).fetch_all(db.pool()).await?;
    Ok(Place::tally(&rows).into_iter().map(|(place, count)| (CustomerTab::of_place(place), count)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each tab of a place lists exactly the statuses of that place, as the hints count them.
    #[test]
    fn tabs_hold_their_places() {
        for status in Status::ALL {
            let tab = CustomerTab::of_place(status.place());
            for other in [CustomerTab::Active, CustomerTab::Resolved, CustomerTab::Closed] {
                let listed = other.condition().contains(&format!("'{}'", status.as_str()));
                assert_eq!(listed, other == tab, "{status:?} in {other:?}");
            }
        }
    }
}
