//! API tokens: created by an admin for a user, acting with that user's role. The secret is
//! shown once; only its digest is stored. A token stops working when it is revoked or its
//! user is deactivated.

use serde_json::json;

use crate::db::Db;
use crate::domain::accounts::tokens;
use crate::domain::accounts::users::{USER_COLUMNS, User};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::text;
use crate::domain::{Error, FieldErrors, Result};

/// Every token starts with this, so that a leaked one is recognisable in logs and scans.
pub const TOKEN_PREFIX: &str = "hd_";
/// `last_used_at` is written at most this often per token: reads must not all write.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

pub fn parse_name(input: &str) -> Result<String> {
    text::line(input, "Name", 1, 100).map_err(|message| Error::Invalid(FieldErrors::single("name", message)))
}

/// Creates a token for `user_id` and answers its secret, which is not stored anywhere.
/// `actor_id` is who made it; `None` from the command line.
pub async fn create(db: &Db, user_id: i64, name: &str, actor_id: Option<i64>, now: Timestamp) -> Result<String> {
    let name = parse_name(name)?;
    let secret = format!("{TOKEN_PREFIX}{}", tokens::secret());
    let mut tx = db.begin_write().await?;
    let user_exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *tx).await?;
    if user_exists.is_none() {
        return Err(Error::NotFound);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(&name)
    .bind(tokens::digest(&secret))
    .bind(actor_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let entry = audit::Entry {
        actor_id,
        action: "api_token.create",
        object_type: "user",
        object_id: user_id.to_string(),
        before: None,
        after: Some(json!({ "token_id": id, "name": name })),
    };
    audit::record(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(secret)
}

/// The user's tokens, newest first, revoked ones included (they say when).
pub async fn list_for_user(db: &Db, user_id: i64) -> Result<Vec<ApiToken>> {
    Ok(sqlx::query_as(
        "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?)
}

/// Revokes a token (again: no change) and answers whose it was.
pub async fn revoke(db: &Db, token_id: i64, actor_id: i64, now: Timestamp) -> Result<i64> {
    let mut tx = db.begin_write().await?;
    let token: Option<(i64, String, Option<i64>)> =
        sqlx::query_as("SELECT user_id, name, revoked_at FROM api_tokens WHERE id = $1")
            .bind(token_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((user_id, name, revoked_at)) = token else {
        return Err(Error::NotFound);
    };
    if revoked_at.is_some() {
        return Ok(user_id);
    }
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2").bind(now).bind(token_id).execute(&mut *tx).await?;
    let entry = audit::Entry {
        actor_id: Some(actor_id),
        action: "api_token.revoke",
        object_type: "user",
        object_id: user_id.to_string(),
        before: Some(json!({ "token_id": token_id, "name": name })),
        after: None,
    };
    audit::record(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// The active user a presented secret belongs to, if it is a live token.
pub async fn authenticate(db: &Db, secret: &str, now: Timestamp) -> Result<Option<User>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let digest = tokens::digest(secret);
    let user: Option<User> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE active = $1 AND id = \
         (SELECT user_id FROM api_tokens WHERE token_hash = $2 AND revoked_at IS NULL)"
    ))
    .bind(true)
    .bind(&digest)
    .fetch_optional(db.pool())
    .await?;
    let Some(user) = user else { return Ok(None) };
    let noted = sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(&digest)
    .bind(now - LAST_USED_RESOLUTION_SECONDS)
    .execute(db.pool())
    .await;
    // When the token was last used is for the admin's information: a request does not
    // fail because it could not be noted (the database busy with a long write, say).
    if let Err(error) = noted {
        tracing::warn!(%error, "could not note when an API token was used");
    }
    Ok(Some(user))
}
