//! The audit log: who did what to which object, before → after. Rows are only ever
//! inserted, inside the transaction of the change they describe.

use serde_json::Value;

use super::clock::Timestamp;
use crate::db::Tx;

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
