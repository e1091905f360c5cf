//! The WHERE clause of a queue page, built from its view and filters with numbered
//! binds, and the capped counts read through it.

use super::query::{View, end_of_day};
use crate::db::Db;
use crate::domain::Result;
use crate::domain::accounts::users::User;
use crate::domain::clock::Timestamp;

/// Open work: neither resolved nor closed (see the partial indexes in the migrations).
const ACTIVE: &str = "t.status IN ('new', 'open', 'pending', 'on_hold')";

#[derive(Clone)]
pub(super) enum Bind {
    Int(i64),
    Text(String),
}

/// A WHERE clause and its binds, numbered as they are added.
#[derive(Default)]
pub(super) struct Conditions {
    clauses: Vec<String>,
    pub(super) binds: Vec<Bind>,
}

impl Conditions {
    pub(super) fn next_parameter(&self) -> usize {
        self.binds.len() + 1
    }

    /// A clause list whose parameters are numbered after `binds` (one statement's earlier
    /// parameters), to be written beside them.
    pub(super) fn numbered_after(binds: Vec<Bind>) -> Self {
        Self { clauses: Vec::new(), binds }
    }

    /// How many clauses it holds.
    pub(super) fn len(&self) -> usize {
        self.clauses.len()
    }

    pub(super) fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    /// `clause` with `?` standing for the new parameter.
    pub(super) fn with(&mut self, clause: &str, bind: Bind) {
        let parameter = format!("${}", self.next_parameter());
        self.clauses.push(clause.replace('?', &parameter));
        self.binds.push(bind);
    }

    /// `clause` with each `?` standing for the next of `binds`, in order.
    pub(super) fn with_all(&mut self, clause: &str, binds: Vec<Bind>) {
        debug_assert_eq!(clause.matches('?').count(), binds.len());
        self.clauses.push(number_placeholders(clause, self.next_parameter()));
        self.binds.extend(binds);
    }

    pub(super) fn sql(&self) -> String {
        if self.clauses.is_empty() { "TRUE".into() } else { self.clauses.join(" AND ") }
    }
}

/// `sql` with its `?`s numbered `$first`, `$first + 1`, … in order.
pub(super) fn number_placeholders(sql: &str, first: usize) -> String {
    let mut numbered = String::with_capacity(sql.len() + 8);
    for (index, part) in sql.split('?').enumerate() {
        if index > 0 {
            numbered.push_str(&format!("${}", first + index - 1));
        }
        numbered.push_str(part);
    }
    numbered
}

pub(super) fn bind_all<'q, O>(
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

pub(super) async fn count_capped(db: &Db, sql: &str, binds: &[Bind]) -> Result<i64> {
    let (count,): (i64,) = bind_all(sqlx::query_as(sql), binds).fetch_one(db.pool()).await?;
    Ok(count)
}

/// Counts the rows of `select`, no further than `cap`.
pub(super) fn count_select_up_to(select: &str, cap: i64) -> String {
    format!("SELECT COUNT(*) FROM ({select} LIMIT {cap}) capped")
}

/// How many rows of `from` meet `conditions`, counting no further than `cap`.
pub(super) async fn count_up_to(db: &Db, from: &str, conditions: &Conditions, cap: i64) -> Result<i64> {
    let sql = count_select_up_to(&format!("SELECT 1 FROM {from} WHERE {}", conditions.sql()), cap);
    count_capped(db, &sql, &conditions.binds).await
}

pub(super) fn view_conditions(conditions: &mut Conditions, view: View, viewer: &User, now: Timestamp) {
    match view {
        View::Unassigned => {
            conditions.raw(ACTIVE);
            conditions.raw("t.assignee_id IS NULL");
        }
        View::Mine => {
            conditions.raw(ACTIVE);
            conditions.with("t.assignee_id = ?", Bind::Int(viewer.id));
        }
        // Mine, where the customer wrote last: what waits for this agent's answer.
        View::NeedsMyReply => {
            conditions.raw(ACTIVE);
            conditions.with("t.assignee_id = ?", Bind::Int(viewer.id));
            conditions.raw("t.customer_wrote_last = TRUE");
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
        View::Everything => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tickets::status::{Place, Status};

    /// A walked tag or value row's place stands in for these views' conditions (see
    /// `list::list_walked`): open work must be exactly the statuses of the open place.
    #[test]
    fn open_work_is_the_open_place() {
        for status in Status::ALL {
            let listed = ACTIVE.contains(&format!("'{}'", status.as_str()));
            assert_eq!(listed, status.place() == Place::Open, "{status:?}");
        }
    }
}
