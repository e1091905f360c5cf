//! How a full-text search over a queue is run, chosen from counts that stop early.

use super::conditions::{Bind, Conditions, count_capped, count_up_to};
use super::query::{DESK_PAGE_SIZE, QueueQuery, Sort, View};
use crate::db::{Db, search};
use crate::domain::Result;

/// How a search is run. Few matches are ranked. A common word lists newest first, and
/// its cost depends on what drives the walk: in a large view the index's own order (the
/// page fills after a few dozen matches, at any size of match set), in a small one the
/// view, each ticket looked up among the matches gathered once (at most the view's size),
/// or, when they are dense and no word is a prefix, checked against the index itself
/// (see [`search::probe`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum SearchPlan {
    Ranked,
    IndexOrder,
    ViewOrder { dense: bool },
}

/// Checking one ticket against the index costs about as much as reading this many index
/// entries in order (FTS5, measured on a million tickets).
const PROBE_COST_IN_ENTRIES: i64 = 200;

/// Chooses how to run the search for `text` over the view in `conditions`, from capped
/// counts that each stop early, by what each way would read at most.
pub(super) async fn plan_search(db: &Db, query: &QueueQuery, text: &str, conditions: &Conditions) -> Result<SearchPlan> {
    let limits = query.limits;
    let backend = db.backend();
    let bound = [Bind::Text(text.into())];
    let count_matches = |cap: i64| {
        let sql = search::count_capped(backend, cap);
        let bound = &bound;
        async move { count_capped(db, &sql, bound).await }
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
        let walks_an_index = sort == Sort::Updated
            || (sort == Sort::Due && matches!(query.view, View::Overdue | View::DueToday | View::Unassigned));
        let checkable = search::probe(backend, "?", text).is_some();
        let dense = walks_an_index && checkable && count_matches(dense_cap).await? >= dense_cap;
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
