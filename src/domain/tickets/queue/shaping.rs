//! Filters on tags and field values: each an index range (`ticket_tags_filter`,
//! `ticket_field_values_filter`, keyed by tag or value, then the ticket's place and latest
//! change). In a view by status listed newest first, the rarest is walked in that index's
//! order, which is the page's; elsewhere it is read first (a rare tag) or checked ticket
//! by ticket as the view is walked in its own order (a common one), so that a page reads
//! about what it shows either way.

use super::conditions::{Bind, Conditions, count_capped, count_select_up_to, number_placeholders};
use super::query::QueueQuery;
use crate::db::{Backend, Db};
use crate::domain::fields::{FieldDefinition, values};
use crate::domain::tickets::status::Place;
use crate::domain::{FieldErrors, Result};

/// Reads the field filters against the fields' `definitions` (which the page reads anyway,
/// for its filter bar or its rows): each value spelled as it is stored; a filter on a
/// field that does not exist, or with a value the field cannot hold, is dropped with a
/// message.
pub fn check_field_filters(definitions: &[FieldDefinition], query: &mut QueueQuery) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut kept = Vec::with_capacity(query.fields.len());
    for mut filter in std::mem::take(&mut query.fields) {
        let name = format!("field_{}", filter.key);
        let Some(field) = definitions.iter().find(|field| field.key == filter.key) else {
            errors.add(name, format!("There is no field “{}”.", filter.key));
            continue;
        };
        match values::filter_value(field, filter.value.as_deref().unwrap_or_default()) {
            Ok(value) => {
                filter.value = value;
                kept.push(filter);
            }
            Err(message) => errors.add(name, message),
        }
    }
    query.fields = kept;
    errors
}

/// A set of tickets named by one filter: the tickets with a tag, or with a field's value:
/// the rows of `table` (as `member`) that meet `condition`, with `?` for its binds.
struct TicketSet {
    table: &'static str,
    condition: &'static str,
    binds: Vec<Bind>,
    /// A statement reading how many tickets the set holds, exactly, from a count kept as
    /// rows change (tags have one); a set without counts them, up to a cap.
    kept_size: Option<&'static str>,
}

impl TicketSet {
    /// How many tickets the set holds: exactly where a count is kept, else up to `cap`
    /// (`cap` itself meaning "at least that many"); `(how many, exact)`.
    async fn size(&self, db: &Db, cap: i64) -> Result<(i64, bool)> {
        Ok(match self.kept_size {
            Some(sql) => (count_capped(db, &number_placeholders(sql, 1), &self.binds).await?, true),
            None => {
                let sql = count_select_up_to(&number_placeholders(&self.select(), 1), cap);
                let counted = count_capped(db, &sql, &self.binds).await?;
                (counted, counted < cap)
            }
        })
    }

    /// The set as a subquery of `member.ticket_id`s.
    fn select(&self) -> String {
        format!("SELECT member.ticket_id FROM {} member WHERE {}", self.table, self.condition)
    }

    /// Whether the ticket of a row walked from another filter's index is in this set: one
    /// seek by the walked row's key (place, latest change and ticket, which both rows keep
    /// alike), so a row that fails is dropped before its ticket is read.
    fn holds_walked(&self, backend: Backend) -> String {
        format!(
            "EXISTS ({} AND member.place = walked.place AND member.updated_at = walked.updated_at \
             AND member.ticket_id = walked.ticket_id{})",
            self.select(),
            lookup_fence(backend)
        )
    }

    /// Whether the ticket `t` is in this set: one lookup.
    fn holds_ticket(&self, backend: Backend) -> String {
        format!("EXISTS ({} AND member.ticket_id = t.id{})", self.select(), lookup_fence(backend))
    }
}

/// Ends a correlated check so it stays one lookup per row. Without it PostgreSQL turns the
/// check into a join and reads the whole set first, merging or hashing it (a type with a
/// rare tag read 25,000 index rows to list 33 tickets).
fn lookup_fence(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " OFFSET 0",
        Backend::Sqlite => "",
    }
}

const TAGGED: TicketSet = TicketSet {
    table: "ticket_tags",
    condition: "member.tag = ?",
    binds: Vec::new(),
    kept_size: Some("SELECT COALESCE((SELECT c.tickets FROM tag_counts c WHERE c.tag = ?), 0)"),
};
const WITH_VALUE: TicketSet = TicketSet {
    table: "ticket_field_values",
    condition: "member.field_id = (SELECT f.id FROM ticket_fields f WHERE f.key = ?) AND member.value = ?",
    binds: Vec::new(),
    kept_size: None,
};

/// A page walked in the order of a filter's index: what replaces `tickets t` in its FROM
/// clause, and its order (the view's own: the latest change first).
pub(super) struct IndexWalk {
    pub(super) from: String,
    pub(super) order_by: &'static str,
    /// When nothing but the view narrows the page: the walked rows alone, read without
    /// their tickets (see `list::list_walked`).
    pub(super) alone: Option<WalkedRows>,
}

/// `SELECT walked.ticket_id, walked.updated_at …` over a filter's index, the other filters
/// checked by the walked rows' keys, with `?` for its binds; in no order yet.
pub(super) struct WalkedRows {
    pub(super) sql: String,
    pub(super) binds: Vec<Bind>,
    /// Whether the page counts them (see [`ShapingPlan`]).
    pub(super) counted: bool,
}

/// How the query's tag and field filters are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ShapingPlan {
    /// No such filters, one set small enough to read first, or the rarest walked in a
    /// view of one place while it or all but it are under the gathering limit: counting
    /// the page's tickets costs at most that set, or the cap.
    Gathered,
    /// Every set is large: the view is walked and each ticket checked. The page fills
    /// after a few checks, but counting to the cap would check thousands, so the page
    /// only says whether there is a next (as a common word's search does).
    Checked,
}

/// Adds the query's tags and field values to `conditions`. The rarest set drives: in a
/// view of one `place` (open, resolved, closed) listed newest first, its index is walked
/// in that order, each other filter checked by the walked row's key (the page reads about
/// what it shows, and the count stops at the cap); elsewhere, under [`super::query::GATHER_BELOW`], its
/// tickets are looked up one by one and sorted, and every other filter is checked ticket
/// by ticket: a rare tag costs what it holds, a common one a few rows more than the page.
/// Sizes come from the tags' kept counts and capped counts of values.
pub(super) async fn shaping_conditions(
    db: &Db,
    conditions: &mut Conditions,
    query: &QueueQuery,
    place: Option<Place>,
    only_view: bool,
) -> Result<(ShapingPlan, Option<IndexWalk>)> {
    let mut sets: Vec<TicketSet> = Vec::new();
    for tag in &query.tags {
        sets.push(TicketSet { binds: vec![Bind::Text(tag.as_str().to_owned())], ..TAGGED });
    }
    for filter in &query.fields {
        match &filter.value {
            Some(value) => {
                sets.push(TicketSet { binds: vec![Bind::Text(filter.key.clone()), Bind::Text(value.clone())], ..WITH_VALUE })
            }
            // "No value" is never a small set to start from.
            None => conditions.with(
                "NOT EXISTS (SELECT 1 FROM ticket_field_values v WHERE v.ticket_id = t.id \
                 AND v.field_id = (SELECT f.id FROM ticket_fields f WHERE f.key = ?))",
                Bind::Text(filter.key.clone()),
            ),
        }
    }
    // The rarest set and how many it holds. Tags come first, their sizes known exactly; a
    // value is counted only as far as the rarest so far (beyond, it cannot be rarer) and
    // the gathering limit, and one that reaches its cap is taken only if nothing was known before.
    // A lone filter in a view of one place is walked whatever it holds: nothing to count.
    let gather_below = query.limits.gather_below;
    let mut rarest: Option<(usize, i64)> = None;
    let lone_walk = place.is_some() && sets.len() == 1;
    for (index, set) in sets.iter().enumerate().filter(|_| !lone_walk) {
        let so_far = rarest.map_or(i64::MAX, |(_, size)| size);
        let (size, exact) = set.size(db, so_far.min(gather_below)).await?;
        if (exact && size < so_far) || rarest.is_none() {
            rarest = Some((index, size));
        }
    }
    let rarest = rarest.unwrap_or((0, gather_below));
    let mut driver = (rarest.1 < gather_below).then_some(rarest.0);
    let mut walk = None;
    // Counting a large walked set against other filters would check thousands of rows
    // (two common tags, rare together): such a page only says whether there is a next.
    let mut walk_counted = true;
    if let Some(place) = place.filter(|_| !sets.is_empty()) {
        let set = sets.remove(rarest.0);
        walk_counted = rarest.1 < gather_below || sets.is_empty();
        let condition = format!("{} AND walked.place = '{}'", set.condition.replace("member.", "walked."), place.as_str());
        // Where only the view (the place) narrows the tickets, they need not be read to be
        // counted: the walked index and the other filters' keys say which are listed.
        let alone = only_view.then(|| {
            let mut binds = set.binds.clone();
            let mut sql = format!("SELECT walked.ticket_id, walked.updated_at FROM {} walked WHERE {condition}", set.table);
            for other in &sets {
                sql.push_str(&format!(" AND {}", other.holds_walked(db.backend())));
                binds.extend(other.binds.iter().cloned());
            }
            WalkedRows { sql, binds, counted: walk_counted }
        });
        // SQLite joins in the order written after CROSS JOIN: the index outside.
        let join = if db.backend() == Backend::Sqlite { "CROSS JOIN" } else { "JOIN" };
        walk = Some(IndexWalk {
            from: format!("{} walked {join} tickets t ON t.id = walked.ticket_id", set.table),
            order_by: "walked.updated_at DESC, walked.ticket_id DESC",
            alone,
        });
        conditions.with_all(&condition, set.binds);
        for other in sets.drain(..) {
            conditions.with_all(&other.holds_walked(db.backend()), other.binds);
        }
        driver = None;
    }
    for (index, set) in sets.into_iter().enumerate() {
        let clause = if Some(index) == driver {
            match db.backend() {
                Backend::Sqlite => format!("t.id IN ({})", set.select()),
                // An array is read once, before the walk: the planner cannot turn it
                // into a check per ticket of a large view, as it may a subquery.
                Backend::Postgres => format!("t.id = ANY(ARRAY({}))", set.select()),
            }
        } else {
            // Correlated, so the planner cannot drive the walk from it.
            set.holds_ticket(db.backend())
        };
        conditions.with_all(&clause, set.binds);
    }
    let plan = if driver.is_some() || (walk.is_some() && walk_counted) || query.tags.is_empty() && query.fields.is_empty() {
        ShapingPlan::Gathered
    } else {
        ShapingPlan::Checked
    };
    Ok((plan, walk))
}
