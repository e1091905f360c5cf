//! What admins do to accounts: find them, create and edit them with their group
//! memberships, deactivate and reactivate them — and the rule that an installation always
//! keeps one active admin, whoever or whatever asks.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::db::{self, Db, Tx, search};
use crate::domain::accounts::account_tokens;
use crate::domain::accounts::password;
use crate::domain::accounts::role::Role;
pub use crate::domain::accounts::user_input::{UserChanges, UserInput};
use crate::domain::accounts::users::{self, NewAccount, User};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::conversation::staff;
use crate::domain::live::LiveWord;
use crate::domain::mail::account_mail::{self, AccountMail};
use crate::domain::mail::notification::Notification;
use crate::domain::{Error, FieldErrors, Result};

/// Active staff and active customers.
pub async fn active_head_counts(db: &Db) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN role <> 'customer' THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN role = 'customer' THEN 1 ELSE 0 END), 0) \
         FROM users WHERE active = TRUE",
    )
    .fetch_one(db.pool())
    .await?)
}

/// Any account, active or not.
pub async fn find(db: &Db, id: i64) -> Result<User> {
    let user: Option<User> = sqlx::query_as(&format!("SELECT {} FROM users WHERE id = $1", users::USER_COLUMNS))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    user.ok_or(Error::NotFound)
}

pub async fn group_ids_of(db: &Db, user_id: i64) -> Result<BTreeSet<i64>> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT group_id FROM group_members WHERE user_id = $1").bind(user_id).fetch_all(db.pool()).await?;
    Ok(ids.into_iter().collect())
}

/// Creates an account with its memberships, its address taken on the admin's word. Without
/// a password, its owner is mailed an invitation to choose one: no password is ever shown
/// to the admin or kept anywhere but as a hash.
pub async fn create(db: &Db, input: UserInput, actor: &User, now: Timestamp) -> Result<User> {
    let password_hash = match &input.password {
        Some(password) => password::hash(password).await?,
        None => String::new(),
    };
    let mut tx = db.begin_write().await?;
    let account =
        NewAccount { name: &input.name, email: &input.email, role: input.role, password_hash: &password_hash, verified: true };
    let user = users::insert(&mut tx, account, Some(actor.id), now).await?;
    if !input.group_ids.is_empty() {
        set_groups(&mut tx, user.id, &BTreeSet::new(), &input.group_ids).await?;
        let entry = user_entry("user.groups", user.id, actor.id, json!({ "groups": [] }), json!({ "groups": input.group_ids }));
        audit::record(&mut tx, entry, now).await?;
    }
    if input.password.is_none() {
        account_mail::enqueue(&mut tx, AccountMail::Invitation, user.id, &user.email, now).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Changes an account's fields, memberships and (when given) password. A new password
/// set by someone else ends the user's sessions, as a reset after a leak should.
pub async fn update(db: &Db, id: i64, changes: UserChanges, actor: &User, now: Timestamp) -> Result<()> {
    let password_hash = match &changes.password {
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    let mut tx = db.begin_write().await?;
    let before = lock_with_admins(&mut tx, db, id).await?;
    let user = before.user;
    let groups_before: BTreeSet<i64> = sqlx::query_scalar("SELECT group_id FROM group_members WHERE user_id = $1")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let role = changes.role.unwrap_or(user.role);
    let group_ids = if role.is_staff() { changes.group_ids.unwrap_or_else(|| groups_before.clone()) } else { BTreeSet::new() };
    let name = changes.name.unwrap_or_else(|| user.name.clone());
    let email = changes.email.map_or_else(|| user.email.clone(), |email| email.as_str().to_owned());
    if user.role == Role::Admin && user.active && role != Role::Admin && before.other_active_admins == 0 {
        return Err(last_admin(&user));
    }
    let updated = sqlx::query(
        "UPDATE users SET name = $1, email = $2, role = $3, password_hash = COALESCE($4, password_hash), updated_at = $5, \
         email_verified_at = CASE WHEN $7 THEN COALESCE(email_verified_at, $5) ELSE email_verified_at END WHERE id = $6",
    )
    .bind(&name)
    .bind(&email)
    .bind(role)
    .bind(password_hash.as_deref())
    .bind(now)
    .bind(id)
    .bind(changes.verified)
    .execute(&mut *tx)
    .await;
    match updated {
        Err(error) if db::is_unique_violation(&error) => {
            return Err(Error::Invalid(FieldErrors::single("email", "An account with this email already exists.")));
        }
        other => other?,
    };
    if user.name != name || user.email != email.as_str() {
        // Tickets are found by their requester's name and email.
        search::reindex(&mut tx, db.backend(), search::Documents::OfRequester(id)).await?;
    }
    set_groups(&mut tx, id, &groups_before, &group_ids).await?;
    if password_hash.is_some() && id != actor.id {
        users::sign_out_everywhere(&mut tx, id, None).await?;
    }
    if password_hash.is_some() || user.email != email.as_str() {
        // Links already mailed must not reset the new password, nor reach the old address.
        account_tokens::revoke_open(&mut tx, id, now).await?;
    }
    // Live words to pass on once committed: each ticket unassigned, and the streams ended.
    let mut words = Vec::new();
    if user.role.is_staff() && !role.is_staff() {
        // No longer staff: no ticket of anyone's stays theirs, and no staff mail reaches them.
        (tx, words) = staff::unassign_all(db, tx, id, actor.id, now).await?;
        words.push(revoke(db, &mut tx, id).await?);
        sqlx::query("DELETE FROM outbox WHERE recipient_id = $1 AND status = 'pending' AND kind IN ($2, $3)")
            .bind(id)
            .bind(Notification::Assigned)
            .bind(Notification::CustomerReplied)
            .execute(&mut *tx)
            .await?;
    }

    let mut old = Map::new();
    let mut new = Map::new();
    let mut compare = |field: &str, was: Value, is: Value| {
        if was != is {
            old.insert(field.into(), was);
            new.insert(field.into(), is);
        }
    };
    compare("name", json!(user.name), json!(name));
    compare("email", json!(user.email), json!(email.as_str()));
    compare("role", json!(user.role.as_str()), json!(role.as_str()));
    compare("groups", json!(groups_before), json!(group_ids));
    compare("verified", json!(user.verified), json!(user.verified || changes.verified));
    if password_hash.is_some() {
        // Only the fact: a hash in the audit log would help nobody but an attacker.
        compare("password", json!("(unchanged)"), json!("(changed)"));
    }
    if !new.is_empty() {
        audit::record(&mut tx, user_entry("user.update", id, actor.id, Value::Object(old), Value::Object(new)), now).await?;
    }
    tx.commit().await?;
    words.into_iter().for_each(|word| db.said_after_commit(word));
    Ok(())
}

/// Deactivates or reactivates an account. Deactivation ends every session of the user in
/// the same transaction, so the next request they make is anonymous; their tickets stay
/// assigned to them until someone reassigns them.
pub async fn set_active(db: &Db, id: i64, active: bool, actor_id: Option<i64>, now: Timestamp) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let before = lock_with_admins(&mut tx, db, id).await?;
    if before.user.active == active {
        return Ok(());
    }
    if !active && before.user.role == Role::Admin && before.other_active_admins == 0 {
        return Err(last_admin(&before.user));
    }
    sqlx::query("UPDATE users SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(active)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut revoked = None;
    if !active {
        users::sign_out_everywhere(&mut tx, id, None).await?;
        revoked = Some(revoke(db, &mut tx, id).await?);
    }
    let entry = audit::Entry {
        actor_id,
        action: if active { "user.reactivate" } else { "user.deactivate" },
        object_type: "user",
        object_id: id.to_string(),
        before: Some(json!({ "active": !active })),
        after: Some(json!({ "active": active })),
    };
    audit::record(&mut tx, entry, now).await?;
    tx.commit().await?;
    revoked.into_iter().for_each(|word| db.said_after_commit(word));
    Ok(())
}

/// Ends the live streams of `user`, no longer staff, once `tx` commits: the word to pass
/// to `Db::said_after_commit` then.
async fn revoke(db: &Db, tx: &mut Tx, user: i64) -> Result<String> {
    let word = LiveWord::Revoked { user }.to_json();
    db.say_within(tx, &word).await?;
    Ok(word)
}

struct Locked {
    user: User,
    other_active_admins: usize,
}

/// Locks the account and every active admin, in id order so that two admins demoting each
/// other at once cannot deadlock: the second waits for the first and then sees its
/// outcome. (SQLite's write transactions are serial already.)
async fn lock_with_admins(tx: &mut Tx, db: &Db, id: i64) -> Result<Locked> {
    let rows: Vec<User> = sqlx::query_as(&format!(
        "SELECT {} FROM users WHERE id = $1 OR (role = 'admin' AND active = $2) ORDER BY id{}",
        users::USER_COLUMNS,
        db.backend().row_lock()
    ))
    .bind(id)
    .bind(true)
    .fetch_all(&mut **tx)
    .await?;
    let mut user = None;
    let mut other_active_admins = 0;
    for row in rows {
        if row.id == id {
            user = Some(row);
        } else if row.role == Role::Admin && row.active {
            other_active_admins += 1;
        }
    }
    Ok(Locked { user: user.ok_or(Error::NotFound)?, other_active_admins })
}

fn last_admin(user: &User) -> Error {
    Error::Conflict(format!(
        "{} is the last active admin. Make another user an admin first, so that someone can still manage this helpdesk.",
        user.name
    ))
}

/// Brings the memberships from `before` to `after`; unknown groups are refused.
async fn set_groups(tx: &mut Tx, user_id: i64, before: &BTreeSet<i64>, after: &BTreeSet<i64>) -> Result<()> {
    for removed in before.difference(after) {
        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(removed)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    for added in after.difference(before) {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM groups WHERE id = $1").bind(added).fetch_optional(&mut **tx).await?;
        if exists.is_none() {
            return Err(Error::Invalid(FieldErrors::single("groups", "Choose groups from the list.")));
        }
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(added)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn user_entry(action: &'static str, id: i64, actor_id: i64, before: Value, after: Value) -> audit::Entry<'static> {
    audit::Entry {
        actor_id: Some(actor_id),
        action,
        object_type: "user",
        object_id: id.to_string(),
        before: Some(before),
        after: Some(after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_reported_and_customers_keep_no_groups() {
        let Err(Error::Invalid(errors)) = UserInput::parse(" ", "nope", "boss", "short", &["x".into()], true) else {
            panic!("invalid input accepted");
        };
        for field in ["name", "email", "role", "password", "groups"] {
            assert!(errors.get(field).is_some(), "{field} not reported");
        }
        let customer = UserInput::parse("Cy", "cy@example.com", "customer", "", &["1".into()], false).unwrap();
        assert!(customer.group_ids.is_empty() && customer.password.is_none());
        let agent = UserInput::parse("Ag", "ag@example.com", "agent", "", &["2".into(), "1".into()], true).unwrap();
        assert_eq!(agent.group_ids.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    }
}
