//! Canned responses: saved replies every agent can insert into the reply box.

use serde_json::json;

use crate::db::Db;
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::tickets::parse_body;
use crate::domain::{Error, FieldErrors, Result, text};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CannedResponse {
    pub id: i64,
    pub title: String,
    pub body: String,
}

/// A canned response's fields, parsed.
pub struct CannedInput {
    pub title: String,
    pub body: String,
}

impl CannedInput {
    pub fn parse(title: &str, body: &str) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let title = errors.check("title", text::line(title, "Title", 1, 100));
        let body = errors.check("body", parse_body(body, "The text"));
        errors.into_result()?;
        Ok(Self { title: title.expect("checked"), body: body.expect("checked") })
    }
}

pub async fn all(db: &Db) -> Result<Vec<CannedResponse>> {
    Ok(sqlx::query_as("SELECT id, title, body FROM canned_responses ORDER BY lower(title), id").fetch_all(db.pool()).await?)
}

pub async fn find(db: &Db, id: i64) -> Result<CannedResponse> {
    let found: Option<CannedResponse> =
        sqlx::query_as("SELECT id, title, body FROM canned_responses WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    found.ok_or(Error::NotFound)
}

fn entry(
    action: &'static str,
    id: i64,
    actor_id: i64,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> audit::Entry<'static> {
    audit::Entry { actor_id: Some(actor_id), action, object_type: "canned_response", object_id: id.to_string(), before, after }
}

pub async fn create(db: &Db, input: &CannedInput, actor_id: i64, now: Timestamp) -> Result<i64> {
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO canned_responses (title, body, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(&input.title)
    .bind(&input.body)
    .bind(actor_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx, entry("canned.create", id, actor_id, None, Some(json!({ "title": input.title }))), now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(db: &Db, id: i64, input: &CannedInput, actor_id: i64, now: Timestamp) -> Result<()> {
    let before = find(db, id).await?;
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query("UPDATE canned_responses SET title = $1, body = $2, updated_at = $3 WHERE id = $4")
        .bind(&input.title)
        .bind(&input.body)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(Error::NotFound);
    }
    let audit_entry =
        entry("canned.update", id, actor_id, Some(json!({ "title": before.title })), Some(json!({ "title": input.title })));
    audit::record(&mut tx, audit_entry, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete(db: &Db, id: i64, actor_id: i64, now: Timestamp) -> Result<()> {
    let before = find(db, id).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM canned_responses WHERE id = $1").bind(id).execute(&mut *tx).await?;
    audit::record(&mut tx, entry("canned.delete", id, actor_id, Some(json!({ "title": before.title })), None), now).await?;
    tx.commit().await?;
    Ok(())
}
