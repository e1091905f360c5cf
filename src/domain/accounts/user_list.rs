//! The admins' list of accounts: searched, filtered and paged, with each one's groups.

use crate::db::{Db, id_list};
use crate::domain::Result;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, User};
use crate::domain::clock::Timestamp;
use crate::domain::paging::{Paged, like_pattern};

pub const USERS_PAGE_SIZE: i64 = 50;

/// What the user list is narrowed to; every field comes from the query string.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Part of a name or an email address.
    pub text: String,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub page: i64,
}

/// A row of the user list.
#[derive(Clone, Debug)]
pub struct UserListRow {
    pub user: User,
    pub created_at: Timestamp,
    pub group_names: Vec<String>,
    /// The same groups' ids, in the same order.
    pub group_ids: Vec<i64>,
}

pub async fn list(db: &Db, filter: &UserFilter) -> Result<Paged<UserListRow>> {
    let mut condition = String::from("1 = 1");
    let mut binds: Vec<String> = Vec::new();
    if !filter.text.trim().is_empty() {
        binds.push(like_pattern(filter.text.trim()));
        condition.push_str(&format!(" AND (lower(name) LIKE ${0} ESCAPE '\\' OR email LIKE ${0} ESCAPE '\\')", binds.len()));
    }
    if let Some(role) = filter.role {
        binds.push(role.as_str().to_owned());
        condition.push_str(&format!(" AND role = ${}", binds.len()));
    }
    if let Some(active) = filter.active {
        // A literal: the Any driver binds booleans as integers on SQLite and booleans on PostgreSQL.
        condition.push_str(if active { " AND active = TRUE" } else { " AND active = FALSE" });
    }
    let count_sql = format!("SELECT COUNT(*) FROM users WHERE {condition}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for bind in &binds {
        count = count.bind(bind);
    }
    let total_items = count.fetch_one(db.pool()).await?;

    let offset = (filter.page.max(1) - 1) * USERS_PAGE_SIZE;
    let rows_sql = format!(
        "SELECT {} , created_at FROM users WHERE {condition} ORDER BY lower(name), id LIMIT {USERS_PAGE_SIZE} OFFSET {offset}",
        users::USER_COLUMNS
    );
    let mut rows = sqlx::query_as::<_, ListedUser>(&rows_sql);
    for bind in &binds {
        rows = rows.bind(bind);
    }
    let rows: Vec<(User, Timestamp)> =
        rows.fetch_all(db.pool()).await?.into_iter().map(|row| (row.user, row.created_at)).collect();

    let ids: Vec<i64> = rows.iter().map(|(user, _)| user.id).collect();
    let memberships = memberships_of(db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|(user, created_at)| {
            let groups: Vec<&Membership> = memberships.iter().filter(|each| each.user_id == user.id).collect();
            let group_names = groups.iter().map(|each| each.group_name.clone()).collect();
            let group_ids = groups.iter().map(|each| each.group_id).collect();
            UserListRow { user, created_at, group_names, group_ids }
        })
        .collect();
    Ok(Paged::counted(items, filter.page.max(1), total_items, USERS_PAGE_SIZE))
}

#[derive(sqlx::FromRow)]
struct ListedUser {
    #[sqlx(flatten)]
    user: User,
    created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct Membership {
    user_id: i64,
    group_id: i64,
    group_name: String,
}

/// Each membership of these users, by group name.
async fn memberships_of(db: &Db, user_ids: &[i64]) -> Result<Vec<Membership>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&format!(
        "SELECT m.user_id, m.group_id, g.name AS group_name FROM group_members m JOIN groups g ON g.id = m.group_id \
         WHERE m.user_id IN ({}) ORDER BY lower(g.name)",
        id_list(user_ids)
    ))
    .fetch_all(db.pool())
    .await?)
}
