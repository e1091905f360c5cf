//! Groups: the departments tickets belong to.

use crate::db::{Db, Flag};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub public: Flag,
}

/// The groups a customer may submit to, by name.
pub async fn public_groups(db: &Db) -> sqlx::Result<Vec<Group>> {
    sqlx::query_as("SELECT id, name, public FROM groups WHERE public ORDER BY lower(name)")
        .fetch_all(db.pool())
        .await
}

/// Every group, public or not, by name: what staff may file a ticket under.
pub async fn all_groups(db: &Db) -> sqlx::Result<Vec<Group>> {
    sqlx::query_as("SELECT id, name, public FROM groups ORDER BY lower(name)").fetch_all(db.pool()).await
}
