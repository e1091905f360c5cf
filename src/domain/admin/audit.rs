//! The audit log: who did what to which object, before → after. Rows are only ever
//! inserted, inside the transaction of the change they describe; the database refuses
//! to update or delete them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::db::{Db, Tx, id_list};
use crate::domain::Result;
use crate::domain::clock::Timestamp;
use crate::domain::paging::{Paged, like_pattern};

pub struct Entry<'a> {
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(tx: &mut Tx, entry: Entry<'_>, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, object_type, object_id, before_state, after_state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.actor_id)
    .bind(entry.action)
    .bind(entry.object_type)
    .bind(entry.object_id)
    .bind(entry.before.map(|value| value.to_string()))
    .bind(entry.after.map(|value| value.to_string()))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub const AUDIT_PAGE_SIZE: i64 = 50;

/// What the audit log is narrowed to; every field comes from the query string.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Part of the actor's name or email address.
    pub actor: String,
    /// One of `OBJECT_TYPES`.
    pub object_type: Option<String>,
    /// A ticket number, user id, … — only together with `object_type`.
    pub object_id: String,
    pub from: Option<Timestamp>,
    /// Exclusive: the start of the day after the `to` date.
    pub before: Option<Timestamp>,
    pub page: i64,
}

pub const OBJECT_TYPES: [&str; 8] =
    ["ticket", "user", "group", "organisation", "ticket_field", "settings", "canned_response", "mail"];

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub created_at: Timestamp,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
}

/// Newest first. The log grows with every change, so pages are not counted: a page says
/// only whether another follows, and every filter reads an index in date order.
pub async fn list(db: &Db, filter: &AuditFilter) -> Result<Paged<AuditRow>> {
    let mut condition = String::from("1 = 1");
    let mut texts: Vec<String> = Vec::new();
    if !filter.actor.trim().is_empty() {
        texts.push(like_pattern(filter.actor.trim()));
        condition.push_str(&format!(
            " AND a.actor_id IN (SELECT id FROM users WHERE lower(name) LIKE ${0} ESCAPE '\\' OR email LIKE ${0} ESCAPE '\\')",
            texts.len()
        ));
    }
    if let Some(object_type) = &filter.object_type {
        texts.push(object_type.clone());
        condition.push_str(&format!(" AND a.object_type = ${}", texts.len()));
        if !filter.object_id.trim().is_empty() {
            texts.push(filter.object_id.trim().to_owned());
            condition.push_str(&format!(" AND a.object_id = ${}", texts.len()));
        }
    }
    let mut times = Vec::new();
    for (bound, operator) in [(filter.from, ">="), (filter.before, "<")] {
        if let Some(at) = bound {
            times.push(at);
            condition.push_str(&format!(" AND a.created_at {operator} ${}", texts.len() + times.len()));
        }
    }
    let page = filter.page.max(1);
    let sql = format!(
        "SELECT a.id, a.created_at, a.actor_id, u.name AS actor_name, a.action, a.object_type, a.object_id, \
                a.before_state, a.after_state \
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
         WHERE {condition} ORDER BY a.created_at DESC, a.id DESC LIMIT {} OFFSET {}",
        AUDIT_PAGE_SIZE + 1,
        (page - 1) * AUDIT_PAGE_SIZE
    );
    let mut query = sqlx::query_as::<_, AuditRow>(&sql);
    for text in &texts {
        query = query.bind(text);
    }
    for at in times {
        query = query.bind(at);
    }
    let mut items = query.fetch_all(db.pool()).await?;
    let has_next = items.len() as i64 > AUDIT_PAGE_SIZE;
    items.truncate(AUDIT_PAGE_SIZE as usize);
    let total_items = (page - 1) * AUDIT_PAGE_SIZE + items.len() as i64 + i64::from(has_next);
    Ok(Paged { items, page, total_items, per_page: AUDIT_PAGE_SIZE, counted: false, has_next })
}

/// Fields of the recorded states that hold user ids (one, or a list).
pub const USER_FIELDS: [&str; 2] = ["assignee_id", "members"];
/// Fields of the recorded states that hold group ids (one, or a list).
pub const GROUP_FIELDS: [&str; 3] = ["group_id", "groups", "moved_to"];

/// The names of the users and groups that entries refer to by id, so the log can say
/// "Ann" where it recorded `3`. Two statements for a whole page.
#[derive(Debug, Default)]
pub struct ReferencedNames {
    pub users: BTreeMap<i64, String>,
    pub groups: BTreeMap<i64, String>,
}

fn ids_in(rows: &[AuditRow], fields: &[&str]) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    for state in rows.iter().flat_map(|row| [row.before_state.as_deref(), row.after_state.as_deref()]).flatten() {
        let Ok(Value::Object(state)) = serde_json::from_str::<Value>(state) else {
            continue;
        };
        for field in fields {
            match state.get(*field) {
                Some(Value::Number(id)) => ids.extend(id.as_i64()),
                Some(Value::Array(list)) => ids.extend(list.iter().filter_map(Value::as_i64)),
                _ => {}
            }
        }
    }
    ids
}

async fn names_of(db: &Db, table: &str, ids: &BTreeSet<i64>) -> Result<BTreeMap<i64, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!("SELECT id, name FROM {table} WHERE id IN ({})", id_list(ids));
    Ok(sqlx::query_as::<_, (i64, String)>(&sql).fetch_all(db.pool()).await?.into_iter().collect())
}

pub async fn referenced_names(db: &Db, rows: &[AuditRow]) -> Result<ReferencedNames> {
    Ok(ReferencedNames {
        users: names_of(db, "users", &ids_in(rows, &USER_FIELDS)).await?,
        groups: names_of(db, "groups", &ids_in(rows, &GROUP_FIELDS)).await?,
    })
}
