//! The desk's queue: views, filters, search and sorting over all tickets, one page at a
//! time, in a fixed number of statements whatever the page holds.

use time::macros::format_description;

use super::clock::Timestamp;
use super::ticket_fields::{Priority, Status};
use super::tickets::{Paged, page_number, parse_stored};
use super::users::User;
use super::{FieldErrors, Result, ticket_fields::TicketNumber};
use crate::db::{Db, Flag, search};

pub const DESK_PAGE_SIZE: i64 = 50;
/// Counts stop here: beyond it, "1000+" says all an agent needs, and a count never has
/// to walk a million rows.
pub const COUNT_CAP: i64 = 1_000;

/// Open work: neither resolved nor closed (see the partial indexes in the migrations).
const ACTIVE: &str = "t.status IN ('new', 'open', 'pending', 'on_hold')";

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal, $label:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn parse(input: &str) -> Option<Self> {
                match input { $($text => Some($name::$variant),)* _ => None }
            }

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
        }
    };
}

named_enum!(
    /// The queues in the desk's sidebar.
    View {
        Unassigned => "unassigned", "Unassigned";
        Mine => "mine", "Mine";
        MyGroups => "my_groups", "My groups";
        All => "all", "All open";
        Overdue => "overdue", "Overdue";
        DueToday => "due_today", "Due today";
        Pending => "pending", "Pending";
        Resolved => "resolved", "Resolved";
        Closed => "closed", "Closed";
    }
);

named_enum!(
    /// How a queue is ordered.
    Sort {
        Updated => "updated", "Last update";
        Created => "created", "Created";
        Priority => "priority", "Priority";
        Due => "due", "Due";
    }
);

/// Whom a queue is filtered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    Agent(i64),
}

/// Everything a queue page is asked for; every field comes from the query string.
#[derive(Clone, Debug)]
pub struct QueueQuery {
    pub view: View,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub group_id: Option<i64>,
    pub assignee: Option<AssigneeFilter>,
    pub text: String,
    /// One ticket by its number: what a number typed into the search box means.
    pub number: Option<TicketNumber>,
    pub created_from: Option<Timestamp>,
    /// Exclusive: the start of the day after the `to` date.
    pub created_before: Option<Timestamp>,
    pub sort: Option<Sort>,
    pub page: i64,
    pub search_limits: SearchLimits,
}

impl Default for QueueQuery {
    fn default() -> Self {
        Self {
            view: View::All,
            status: None,
            priority: None,
            group_id: None,
            assignee: None,
            text: String::new(),
            number: None,
            created_from: None,
            created_before: None,
            sort: None,
            page: 1,
            search_limits: SearchLimits::default(),
        }
    }
}

/// A queue's parameters as given (a query string), before they are read.
#[derive(serde::Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct QueueParams {
    pub view: String,
    pub status: String,
    pub priority: String,
    pub group: String,
    pub assignee: String,
    pub q: String,
    pub from: String,
    pub to: String,
    pub sort: String,
    pub page: Option<String>,
}

impl QueueParams {
    /// The query these parameters ask for, and a message for each that could not be read
    /// (it is left out of the query).
    pub fn parse(&self) -> (QueueQuery, FieldErrors) {
        let mut errors = FieldErrors::new();
        let mut query = QueueQuery { page: page_number(self.page.as_deref()), ..QueueQuery::default() };
        fn choice<T>(errors: &mut FieldErrors, field: &'static str, what: &str, given: &str, parsed: Option<T>) -> Option<T> {
            if parsed.is_none() && !given.trim().is_empty() {
                errors.add(field, format!("“{}” is not a {what}.", given.trim()));
            }
            parsed
        }
        query.view = choice(&mut errors, "view", "view", &self.view, View::parse(self.view.trim())).unwrap_or(View::All);
        query.status = choice(&mut errors, "status", "status", &self.status, self.status.trim().parse().ok());
        query.priority = choice(&mut errors, "priority", "priority", &self.priority, self.priority.trim().parse().ok());
        query.group_id = choice(&mut errors, "group", "group id", &self.group, self.group.trim().parse().ok());
        let assignee = match self.assignee.trim() {
            "none" => Some(AssigneeFilter::Nobody),
            other => other.parse().ok().map(AssigneeFilter::Agent),
        };
        query.assignee = choice(&mut errors, "assignee", "user id or “none”", &self.assignee, assignee);
        query.sort = choice(&mut errors, "sort", "sort order", &self.sort, Sort::parse(self.sort.trim()));
        query.created_from = choice(&mut errors, "from", "date like 2026-01-31", &self.from, parse_date(&self.from));
        query.created_before =
            choice(&mut errors, "to", "date like 2026-01-31", &self.to, parse_date(&self.to)).map(|day| day + 86_400);
        if let Some(message) = self.page_error() {
            errors.add("page", message);
        }
        query.text = self.q.trim().chars().filter(|c| !c.is_control()).collect();
        (query, errors)
    }

    /// Why `page` cannot be read, if it is given and cannot.
    pub fn page_error(&self) -> Option<String> {
        let page = self.page.as_deref().map(str::trim).filter(|page| !page.is_empty())?;
        match page.parse::<i64>() {
            Ok(number) if number >= 1 => None,
            _ => Some(format!("“{page}” is not a page number (1, 2, …).")),
        }
    }

    /// The parameters that shape the list (all but the page), for links that keep them.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("view", self.view.trim()),
            ("status", self.status.trim()),
            ("priority", self.priority.trim()),
            ("group", self.group.trim()),
            ("assignee", self.assignee.trim()),
            ("q", self.q.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("sort", self.sort.trim()),
        ]
    }
}

/// `YYYY-MM-DD` as the unix time of that day's start (UTC).
pub fn parse_date(input: &str) -> Option<Timestamp> {
    let date = time::Date::parse(input.trim(), format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// The end of the UTC day that contains `now` (the start of the next).
pub fn end_of_day(now: Timestamp) -> Timestamp {
    now - now.rem_euclid(86_400) + 86_400
}

#[derive(Clone, Debug)]
pub struct QueueRow {
    pub number: TicketNumber,
    pub prefix: String,
    pub subject: String,
    pub requester_id: i64,
    pub requester_name: String,
    pub requester_email: String,
    pub group_id: i64,
    pub group_name: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub priority: Priority,
    pub status: Status,
    pub due_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub customer_wrote_last: bool,
}

impl QueueRow {
    /// The number as people read it: `TCK-1001`.
    pub fn reference(&self) -> String {
        format!("{}{}", self.prefix, self.number)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    number: i64,
    prefix: String,
    subject: String,
    requester_id: i64,
    requester_name: String,
    requester_email: String,
    group_id: i64,
    group_name: String,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    priority: String,
    status: String,
    due_at: Option<i64>,
    updated_at: i64,
    customer_wrote_last: Flag,
}

enum Bind {
    Int(i64),
    Text(String),
}

/// A WHERE clause and its binds, numbered as they are added.
#[derive(Default)]
struct Conditions {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    fn next_parameter(&self) -> usize {
        self.binds.len() + 1
    }

    fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    /// `clause` with `?` standing for the new parameter.
    fn with(&mut self, clause: &str, bind: Bind) {
        let parameter = format!("${}", self.next_parameter());
        self.clauses.push(clause.replace('?', &parameter));
        self.binds.push(bind);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() { "TRUE".into() } else { self.clauses.join(" AND ") }
    }
}

fn view_conditions(conditions: &mut Conditions, view: View, viewer: &User, now: Timestamp) {
    match view {
        View::Unassigned => {
            conditions.raw(ACTIVE);
            conditions.raw("t.assignee_id IS NULL");
        }
        View::Mine => {
            conditions.raw(ACTIVE);
            conditions.with("t.assignee_id = ?", Bind::Int(viewer.id));
        }
        View::MyGroups => {
            conditions.raw(ACTIVE);
            conditions.with("t.group_id IN (SELECT group_id FROM group_members WHERE user_id = ?)", Bind::Int(viewer.id));
        }
        View::All => conditions.raw(ACTIVE),
        View::Overdue => {
            conditions.raw(ACTIVE);
            conditions.with("t.due_at < ?", Bind::Int(now));
        }
        View::DueToday => {
            conditions.raw(ACTIVE);
            conditions.with("t.due_at < ?", Bind::Int(end_of_day(now)));
        }
        View::Pending => conditions.raw("t.status = 'pending'"),
        View::Resolved => conditions.raw("t.status = 'resolved'"),
        View::Closed => conditions.raw("t.status = 'closed'"),
    }
}

/// The order of a view when the agent has not chosen one: the due views put the most
/// overdue first (their index gives that order), the others the latest change.
pub fn default_sort(view: View) -> Sort {
    match view {
        View::Overdue | View::DueToday => Sort::Due,
        _ => Sort::Updated,
    }
}

fn order_by(sort: Option<Sort>, view: View) -> &'static str {
    match sort.unwrap_or(default_sort(view)) {
        // These views hold only tickets with a due date: the open-due index gives the order.
        Sort::Due if matches!(view, View::Overdue | View::DueToday) => "t.due_at, t.id",
        Sort::Updated => "t.updated_at DESC, t.id DESC",
        Sort::Created => "t.created_at DESC, t.id DESC",
        Sort::Priority => {
            "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END DESC, \
             t.updated_at DESC, t.id DESC"
        }
        Sort::Due => "t.due_at ASC NULLS LAST, t.id",
    }
}

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Int(value) => query.bind(*value),
            Bind::Text(value) => query.bind(value.as_str()),
        };
    }
    query
}

/// Searches matching more tickets than this are not ranked: they list newest first.
pub const RANK_LIMIT: i64 = 1_000;
/// A view (with its filters) holding at least this many tickets reads a common word's
/// matches straight from the index, newest first; a smaller one is walked ticket by ticket.
pub const INDEX_ORDER_MIN_VIEW: i64 = 10_000;
/// Walking a view, matches in more than one ticket in this many are checked ticket by
/// ticket rather than gathered first.
pub const DENSE_SHARE: i64 = 8;

/// Where a search switches strategy. Fixed in production; tests lower them to exercise
/// every strategy on a handful of tickets.
#[derive(Clone, Copy, Debug)]
pub struct SearchLimits {
    pub rank_limit: i64,
    pub index_order_min_view: i64,
    pub dense_share: i64,
}

impl Default for SearchLimits {
    fn default() -> Self {
        Self { rank_limit: RANK_LIMIT, index_order_min_view: INDEX_ORDER_MIN_VIEW, dense_share: DENSE_SHARE }
    }
}

/// How a search is run. Few matches are ranked. A common word lists newest first, and
/// its cost depends on what drives the walk: in a large view the index's own order (the
/// page fills after a few dozen matches, at any size of match set), in a small one the
/// view, each ticket looked up among the matches gathered once (at most the view's size),
/// or, when they are dense, checked against the index itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SearchPlan {
    Ranked,
    IndexOrder,
    ViewOrder { dense: bool },
}

async fn count_capped(db: &Db, sql: &str, binds: &[Bind]) -> Result<i64> {
    let (count,): (i64,) = bind_all(sqlx::query_as(sql), binds).fetch_one(db.pool()).await?;
    Ok(count)
}

/// How many rows of `from` meet `conditions`, counting no further than `cap`.
async fn count_up_to(db: &Db, from: &str, conditions: &Conditions, cap: i64) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from} WHERE {} LIMIT {cap}) capped", conditions.sql());
    count_capped(db, &sql, &conditions.binds).await
}

/// Checking one ticket against the index costs about as much as reading this many index
/// entries in order (FTS5, measured on a million tickets).
const PROBE_COST_IN_ENTRIES: i64 = 200;

/// Chooses how to run the search for `text` over the view in `conditions`, from capped
/// counts that each stop early, by what each way would read at most.
async fn plan_search(db: &Db, query: &QueueQuery, text: &str, conditions: &Conditions) -> Result<SearchPlan> {
    let limits = query.search_limits;
    let backend = db.backend();
    let text = [Bind::Text(text.into())];
    let count_matches = |cap: i64| {
        let sql = search::count_capped(backend, cap);
        let text = &text;
        async move { count_capped(db, &sql, text).await }
    };
    if count_matches(limits.rank_limit + 1).await? <= limits.rank_limit {
        return Ok(SearchPlan::Ranked);
    }
    if search::index_order(backend).is_none() {
        // PostgreSQL's planner weighs gathering against checking itself.
        return Ok(SearchPlan::ViewOrder { dense: false });
    }
    let (tickets,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM tickets").fetch_one(db.pool()).await?;
    let dense_cap = (tickets / limits.dense_share.max(1)).max(limits.rank_limit + 1);
    if let Some(sort) = query.sort {
        // Checking ticket by ticket pays only where the order walks an index and stops
        // once the page is full; any other order reads the whole view, so gather instead.
        let walks_an_index = sort == Sort::Updated || (sort == Sort::Due && matches!(query.view, View::Overdue | View::DueToday));
        let dense = walks_an_index && count_matches(dense_cap).await? >= dense_cap;
        return Ok(SearchPlan::ViewOrder { dense });
    }
    let view_size = count_up_to(db, "tickets t", conditions, limits.index_order_min_view).await?;
    if view_size >= limits.index_order_min_view {
        return Ok(SearchPlan::IndexOrder);
    }
    // In index order a page fills after about `page × tickets / view` entries; checking a
    // small view against dense matches costs a probe per ticket of the view.
    let dense = count_matches(dense_cap).await? >= dense_cap;
    let index_reads = (DESK_PAGE_SIZE + 1) * tickets / view_size.max(1);
    Ok(if dense && index_reads < PROBE_COST_IN_ENTRIES * view_size {
        SearchPlan::IndexOrder
    } else {
        SearchPlan::ViewOrder { dense }
    })
}

/// One page of the queue: its rows, and how many there are (up to [`COUNT_CAP`]; searches
/// for common words only say whether there is a next page).
pub async fn list(db: &Db, viewer: &User, query: &QueueQuery, now: Timestamp) -> Result<Paged<QueueRow>> {
    let mut conditions = Conditions::default();
    view_conditions(&mut conditions, query.view, viewer, now);
    if let Some(status) = query.status {
        conditions.with("t.status = ?", Bind::Text(status.as_str().into()));
    }
    if let Some(priority) = query.priority {
        conditions.with("t.priority = ?", Bind::Text(priority.as_str().into()));
    }
    if let Some(group_id) = query.group_id {
        conditions.with("t.group_id = ?", Bind::Int(group_id));
    }
    match query.assignee {
        Some(AssigneeFilter::Nobody) => conditions.raw("t.assignee_id IS NULL"),
        Some(AssigneeFilter::Agent(id)) => conditions.with("t.assignee_id = ?", Bind::Int(id)),
        None => {}
    }
    if let Some(from) = query.created_from {
        conditions.with("t.created_at >= ?", Bind::Int(from));
    }
    if let Some(before) = query.created_before {
        conditions.with("t.created_at < ?", Bind::Int(before));
    }
    if let Some(number) = query.number {
        conditions.with("t.number = ?", Bind::Int(number.get()));
    }

    let search = match search::prepare(db.backend(), &query.text) {
        Some(text) => Some((plan_search(db, query, &text, &conditions).await?, text)),
        None => None,
    };
    let mut from = "tickets t".to_owned();
    let mut order = order_by(query.sort, query.view);
    if let Some((plan, text)) = search.clone() {
        match plan {
            SearchPlan::Ranked => {
                from = format!("tickets t JOIN ({}) s ON s.ticket_id = t.id", search::matches(db.backend(), conditions.next_parameter()));
                conditions.binds.push(Bind::Text(text));
                if query.sort.is_none() {
                    order = "s.rank, t.updated_at DESC, t.id DESC";
                }
            }
            SearchPlan::IndexOrder => {
                let index = search::index_order(db.backend()).expect("chosen only where the index has an order");
                from = index.from.to_owned();
                conditions.with(index.condition, Bind::Text(text));
                order = index.order_by;
            }
            SearchPlan::ViewOrder { dense } => {
                let condition = match search::probe(db.backend(), "?") {
                    Some(probe) if dense => probe,
                    _ => search::is_match(db.backend(), "?"),
                };
                conditions.with(&condition, Bind::Text(text));
                if query.sort.is_none() {
                    order = "t.id DESC";
                }
            }
        }
    }
    let where_sql = conditions.sql();
    let page = query.page.max(1);
    let offset = (page - 1) * DESK_PAGE_SIZE;

    // Counting the matches of a common word ticket by ticket would cost more than the
    // page itself: such a search reads one row past the page instead, to know of a next.
    let counted = matches!(search, None | Some((SearchPlan::Ranked, _)));
    let total_items = if counted { Some(count_up_to(db, &from, &conditions, COUNT_CAP + 1).await?) } else { None };

    let list_sql = format!(
        "SELECT t.number, t.prefix, t.subject, t.requester_id, r.name AS requester_name, r.email AS requester_email, \
         t.group_id, g.name AS group_name, t.assignee_id, a.name AS assignee_name, t.priority, t.status, t.due_at, t.updated_at, \
         t.customer_wrote_last FROM {from} \
         JOIN users r ON r.id = t.requester_id JOIN groups g ON g.id = t.group_id \
         LEFT JOIN users a ON a.id = t.assignee_id \
         WHERE {where_sql} ORDER BY {order} LIMIT {} OFFSET {offset}",
        DESK_PAGE_SIZE + 1
    );
    let mut rows: Vec<Row> = bind_all(sqlx::query_as(&list_sql), &conditions.binds).fetch_all(db.pool()).await?;
    let has_next = rows.len() as i64 > DESK_PAGE_SIZE;
    let total_items = total_items.unwrap_or(offset + rows.len() as i64);
    rows.truncate(DESK_PAGE_SIZE as usize);
    let items = rows
        .into_iter()
        .map(|row| {
            Ok(QueueRow {
                number: TicketNumber::from_stored(row.number),
                prefix: row.prefix,
                subject: row.subject,
                requester_id: row.requester_id,
                requester_name: row.requester_name,
                requester_email: row.requester_email,
                group_id: row.group_id,
                group_name: row.group_name,
                assignee_id: row.assignee_id,
                assignee_name: row.assignee_name,
                priority: parse_stored(&row.priority, "priority")?,
                status: parse_stored(&row.status, "status")?,
                due_at: row.due_at,
                updated_at: row.updated_at,
                customer_wrote_last: row.customer_wrote_last.into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Paged { items, page, total_items, per_page: DESK_PAGE_SIZE, counted, has_next })
}

/// How many tickets each view holds, up to [`COUNT_CAP`]: one statement per view.
pub async fn view_counts(db: &Db, viewer: &User, now: Timestamp) -> Result<Vec<(View, i64)>> {
    let mut counts = Vec::with_capacity(View::ALL.len());
    for view in View::ALL {
        let mut conditions = Conditions::default();
        view_conditions(&mut conditions, *view, viewer, now);
        counts.push((*view, count_up_to(db, "tickets t", &conditions, COUNT_CAP + 1).await?));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc() {
        assert_eq!(parse_date("2026-11-23"), Some(1_795_392_000));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(end_of_day(1_795_392_000), 1_795_392_000 + 86_400);
        assert_eq!(end_of_day(1_795_392_000 + 86_399), 1_795_392_000 + 86_400);
    }

    #[test]
    fn views_and_sorts_round_trip() {
        for view in View::ALL {
            assert_eq!(View::parse(view.as_str()), Some(*view));
        }
        for sort in Sort::ALL {
            assert_eq!(Sort::parse(sort.as_str()), Some(*sort));
        }
        assert_eq!(View::parse("everything"), None);
    }
}
