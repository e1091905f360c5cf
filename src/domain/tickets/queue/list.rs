//! One page of the queue and the sidebar's counts, in a fixed number of statements
//! whatever the page holds.

use super::conditions::{
    Bind, Conditions, bind_all, count_capped, count_select_up_to, count_up_to, number_placeholders, view_conditions,
};
use super::planner::{SearchPlan, plan_search};
use super::query::{AssigneeFilter, COUNT_CAP, DESK_PAGE_SIZE, QueueQuery, Sort, View, default_sort};
use super::shaping::{IndexWalk, ShapingPlan, WalkedRows, shaping_conditions};
use crate::db::{Db, Flag, search};
use crate::domain::Result;
use crate::domain::accounts::users::User;
use crate::domain::clock::Timestamp;
use crate::domain::paging::Paged;
use crate::domain::tickets::number::TicketNumber;
use crate::domain::tickets::status::{Priority, Status};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct QueueRow {
    pub id: i64,
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
    #[sqlx(try_from = "Flag")]
    pub customer_wrote_last: bool,
}

impl QueueRow {
    /// The number as people read it: `TCK-1001`.
    pub fn reference(&self) -> String {
        self.number.reference(&self.prefix)
    }
}

/// What a queue row shows, of `t` and the people and group joined as [`NAMES`].
const COLUMNS: &str = "t.id, t.number, t.prefix, t.subject, t.requester_id, r.name AS requester_name, \
    r.email AS requester_email, t.group_id, g.name AS group_name, t.assignee_id, a.name AS assignee_name, t.priority, \
    t.status, t.due_at, t.updated_at, t.customer_wrote_last";
const NAMES: &str = "JOIN users r ON r.id = t.requester_id JOIN groups g ON g.id = t.group_id \
    LEFT JOIN users a ON a.id = t.assignee_id";

/// Due first, those without a due date (pending) last: the expression Unassigned's index
/// (`tickets_unassigned_due`) keeps, as SQLite's indexes keep NULLs first.
macro_rules! due_order {
    () => {
        "COALESCE(t.due_at, 9223372036854775807)"
    };
}

fn order_by(sort: Sort, view: View) -> &'static str {
    match sort {
        // These views hold only tickets with a due date: the open-due index gives the order.
        Sort::Due if matches!(view, View::Overdue | View::DueToday) => "t.due_at, t.id",
        Sort::Updated => "t.updated_at DESC, t.id DESC",
        Sort::Created => "t.created_at DESC, t.id DESC",
        Sort::Priority => {
            "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END DESC, \
             t.updated_at DESC, t.id DESC"
        }
        Sort::Due => concat!(due_order!(), ", t.id"),
    }
}

/// One page of the queue: its rows, and how many there are (up to [`COUNT_CAP`]; searches
/// for common words only say whether there is a next page).
pub async fn list(db: &Db, viewer: &User, query: &QueueQuery, now: Timestamp) -> Result<Paged<QueueRow>> {
    let mut conditions = Conditions::default();
    view_conditions(&mut conditions, query.view, viewer, now);
    let view_clauses = conditions.len();
    if let Some(status) = query.status {
        conditions.with("t.status = ?", Bind::Text(status.as_str().into()));
    }
    if let Some(priority) = query.priority {
        conditions.with("t.priority = ?", Bind::Text(priority.as_str().into()));
    }
    if let Some(group_id) = query.group_id {
        conditions.with("t.group_id = ?", Bind::Int(group_id));
    }
    if let Some(organisation_id) = query.organisation_id {
        conditions.with("t.organisation_id = ?", Bind::Int(organisation_id));
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
    // A view of one place (open, resolved, closed), newest first: its filters' indexes
    // hold that order (see `shaping`). A search orders by its own.
    let sort = query.sort.unwrap_or(default_sort(query.view));
    let place = query.view.place().filter(|_| sort == Sort::Updated && query.text.is_empty());
    // Nothing but the view narrows the page: no filter above added a condition, and no
    // field is asked to be empty (that one is added with the tags and values).
    let only_view = conditions.len() == view_clauses && query.fields.iter().all(|filter| filter.value.is_some());
    let (shaping, walk) = shaping_conditions(db, &mut conditions, query, place, only_view).await?;
    if query.view == View::Unassigned && sort == Sort::Due {
        // Always true, but a range on the index's order: without it SQLite's planner, not
        // weighing the LIMIT, reads every unassigned ticket through another index and
        // sorts them all (360 ms at a million tickets, against 0.3 ms).
        conditions.raw(concat!(due_order!(), " > -9223372036854775807"));
    }

    let search = match search::prepare(db.backend(), &query.text) {
        Some(text) => Some((plan_search(db, query, &text, &conditions).await?, text)),
        None => None,
    };
    let page = query.page.max(1);
    let (mut from, mut order) = match walk {
        Some(IndexWalk { alone: Some(rows), .. }) => {
            debug_assert_eq!(rows.counted, shaping == ShapingPlan::Gathered);
            return list_walked(db, &rows, page).await;
        }
        Some(walk) => (walk.from, walk.order_by),
        None => ("tickets t".to_owned(), order_by(sort, query.view)),
    };
    if let Some((plan, text)) = search.clone() {
        match plan {
            SearchPlan::Ranked => {
                from = format!(
                    "tickets t JOIN ({}) s ON s.ticket_id = t.id",
                    search::matches(db.backend(), conditions.next_parameter())
                );
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
                let condition = match search::probe(db.backend(), "?", &text) {
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
    let offset = (page - 1) * DESK_PAGE_SIZE;

    // Counting the matches of a common word ticket by ticket would cost more than the
    // page itself: such a search reads one row past the page instead, to know of a next.
    let counted = matches!(search, None | Some((SearchPlan::Ranked, _))) && shaping == ShapingPlan::Gathered;
    let total_items = if counted { Some(count_up_to(db, &from, &conditions, COUNT_CAP + 1).await?) } else { None };

    let list_sql = format!(
        "SELECT {COLUMNS} FROM {from} {NAMES} WHERE {where_sql} ORDER BY {order} LIMIT {} OFFSET {offset}",
        DESK_PAGE_SIZE + 1
    );
    let mut items: Vec<QueueRow> = bind_all(sqlx::query_as(&list_sql), &conditions.binds).fetch_all(db.pool()).await?;
    let has_next = items.len() as i64 > DESK_PAGE_SIZE;
    let total_items = total_items.unwrap_or(offset + items.len() as i64);
    items.truncate(DESK_PAGE_SIZE as usize);
    Ok(Paged { items, page, total_items, per_page: DESK_PAGE_SIZE, counted, has_next })
}

/// A page walked in a filter's index with nothing but the view narrowing it (see
/// `shaping`): its rows and their count in one statement, the walk read once for both, to
/// the count's cap or as far as the page if that is further (only as far as the page,
/// uncounted). The view's own condition is the walked rows' place.
async fn list_walked(db: &Db, walked: &WalkedRows, page: i64) -> Result<Paged<QueueRow>> {
    #[derive(sqlx::FromRow)]
    struct CountedRow {
        #[sqlx(flatten)]
        row: QueueRow,
        matched: i64,
    }
    let offset = (page - 1) * DESK_PAGE_SIZE;
    let through_page = offset + DESK_PAGE_SIZE + 1;
    let gathered = if walked.counted { through_page.max(COUNT_CAP + 1) } else { through_page };
    let sql = format!(
        "WITH matched AS MATERIALIZED ({} ORDER BY walked.updated_at DESC, walked.ticket_id DESC LIMIT {gathered}) \
         SELECT {COLUMNS}, (SELECT COUNT(*) FROM matched) AS matched \
         FROM (SELECT * FROM matched ORDER BY updated_at DESC, ticket_id DESC LIMIT {} OFFSET {offset}) walked \
         JOIN tickets t ON t.id = walked.ticket_id {NAMES} ORDER BY walked.updated_at DESC, walked.ticket_id DESC",
        number_placeholders(&walked.sql, 1),
        DESK_PAGE_SIZE + 1
    );
    let rows: Vec<CountedRow> = bind_all(sqlx::query_as(&sql), &walked.binds).fetch_all(db.pool()).await?;
    let has_next = rows.len() as i64 > DESK_PAGE_SIZE;
    let total_items = match rows.first() {
        // As far as this page and one more, if there is a next.
        _ if !walked.counted => offset + rows.len() as i64,
        Some(row) => row.matched.min(COUNT_CAP + 1),
        None if offset == 0 => 0,
        // A page past the last: only a count says how far the list goes.
        None => {
            let sql = count_select_up_to(&number_placeholders(&walked.sql, 1), COUNT_CAP + 1);
            count_capped(db, &sql, &walked.binds).await?
        }
    };
    let items = rows.into_iter().take(DESK_PAGE_SIZE as usize).map(|counted| counted.row).collect();
    Ok(Paged { items, page, total_items, per_page: DESK_PAGE_SIZE, counted: walked.counted, has_next })
}

/// How many tickets each view holds, up to [`COUNT_CAP`]: every view's capped count in one
/// statement (a page shows them all; eleven statements cost eleven round trips).
pub async fn view_counts(db: &Db, viewer: &User, now: Timestamp) -> Result<Vec<(View, i64)>> {
    let mut binds = Vec::new();
    let mut counts = Vec::with_capacity(View::ALL.len());
    for view in View::ALL {
        let mut conditions = Conditions::numbered_after(std::mem::take(&mut binds));
        view_conditions(&mut conditions, *view, viewer, now);
        let select = format!("SELECT 1 FROM tickets t WHERE {}", conditions.sql());
        counts.push(format!("({})", count_select_up_to(&select, COUNT_CAP + 1)));
        binds = conditions.binds;
    }
    let sql = format!("SELECT {}", counts.join(", "));
    let Counts(counts) = bind_all(sqlx::query_as(&sql), &binds).fetch_one(db.pool()).await?;
    Ok(View::ALL.iter().copied().zip(counts).collect())
}

/// A row of counts, one a column.
struct Counts(Vec<i64>);

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Counts {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        (0..row.len()).map(|index| row.try_get(index)).collect::<sqlx::Result<_>>().map(Counts)
    }
}
