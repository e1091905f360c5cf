//! First run: while no admin exists, a one-time link printed at start lets the person who
//! installed Helpdesk create the first admin. Every link issued stays valid until then, so
//! several app instances starting at once each print a working one.

use crate::db::Db;
use crate::domain::accounts::password;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::tokens;
use crate::domain::accounts::users::{self, NewAccount, NewUser, User};
use crate::domain::clock::Timestamp;
use crate::domain::{Error, Result};

pub async fn admin_exists(db: &Db) -> sqlx::Result<bool> {
    Ok(count_admins(db.pool()).await? > 0)
}

async fn count_admins<'e>(executor: impl sqlx::Executor<'e, Database = sqlx::Any>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = $1").bind(Role::Admin.as_str()).fetch_one(executor).await
}

/// A new setup token, or `None` once an admin exists.
pub async fn issue_token(db: &Db, now: Timestamp) -> sqlx::Result<Option<String>> {
    if admin_exists(db).await? {
        return Ok(None);
    }
    let token = tokens::secret();
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
        .bind(tokens::digest(&token))
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(Some(token))
}

/// Whether the setup page may be shown for this token.
pub async fn token_is_valid(db: &Db, token: &str) -> sqlx::Result<bool> {
    if admin_exists(db).await? {
        return Ok(false);
    }
    let found: Option<String> = sqlx::query_scalar("SELECT token_hash FROM setup_tokens WHERE token_hash = $1")
        .bind(tokens::digest(token))
        .fetch_optional(db.pool())
        .await?;
    Ok(found.is_some())
}

/// Creates the first admin and spends every setup token, in one transaction. A wrong or
/// spent token, or an existing admin, is `NotFound`: the page no longer exists.
pub async fn create_first_admin(db: &Db, token: &str, new_admin: &NewUser, now: Timestamp) -> Result<User> {
    debug_assert_eq!(new_admin.role, Role::Admin);
    let password_hash = password::hash(&new_admin.password).await?;
    let mut tx = db.begin_write().await?;
    // Writing first takes the lock, so of two concurrent attempts exactly one finds the token.
    let spent = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1")
        .bind(tokens::digest(token))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if spent == 0 || count_admins(&mut *tx).await? > 0 {
        return Err(Error::NotFound);
    }
    sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
    // The person holding the printed setup link runs the installation: their word stands.
    let account = NewAccount {
        name: &new_admin.name,
        email: &new_admin.email,
        role: Role::Admin,
        password_hash: &password_hash,
        verified: true,
    };
    let admin = users::insert(&mut tx, account, None, now).await?;
    tx.commit().await?;
    Ok(admin)
}
