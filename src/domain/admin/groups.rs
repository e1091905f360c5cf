//! Groups: the departments tickets belong to, and the staff who work them.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::db::{self, Db, Flag, Tx};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::{Error, FieldErrors, Result, text};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub public: Flag,
}

/// The groups a customer may submit to, by name.
pub async fn public_groups(db: &Db) -> sqlx::Result<Vec<Group>> {
    sqlx::query_as("SELECT id, name, public FROM groups WHERE public ORDER BY lower(name)").fetch_all(db.pool()).await
}

/// Every group, public or not, by name: what staff may file a ticket under.
pub async fn all_groups(db: &Db) -> sqlx::Result<Vec<Group>> {
    sqlx::query_as("SELECT id, name, public FROM groups ORDER BY lower(name)").fetch_all(db.pool()).await
}

/// A row of the admin's group list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GroupOverview {
    pub id: i64,
    pub name: String,
    pub public: Flag,
    pub members: i64,
    pub tickets: i64,
}

/// Every group with its number of members and tickets, in one statement.
pub async fn overview(db: &Db) -> Result<Vec<GroupOverview>> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, g.public, \
                (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS members, \
                (SELECT COUNT(*) FROM tickets t WHERE t.group_id = g.id) AS tickets \
         FROM groups g ORDER BY lower(g.name)",
    )
    .fetch_all(db.pool())
    .await?)
}

pub async fn find(db: &Db, id: i64) -> Result<Group> {
    let group: Option<Group> =
        sqlx::query_as("SELECT id, name, public FROM groups WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    group.ok_or(Error::NotFound)
}

pub async fn member_ids(db: &Db, group_id: i64) -> Result<BTreeSet<i64>> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1").bind(group_id).fetch_all(db.pool()).await?;
    Ok(ids.into_iter().collect())
}

pub async fn ticket_count(db: &Db, group_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE group_id = $1").bind(group_id).fetch_one(db.pool()).await?)
}

/// A group's fields as an admin edits them.
#[derive(Debug)]
pub struct GroupInput {
    pub name: String,
    pub public: bool,
    pub member_ids: BTreeSet<i64>,
}

impl GroupInput {
    /// `public` is a checkbox: present (any value) means ticked.
    pub fn parse(name: &str, public: bool, member_ids: &[String]) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", parse_name(name));
        let member_ids: Option<BTreeSet<i64>> = errors.check(
            "members",
            member_ids
                .iter()
                .map(|id| id.trim().parse::<i64>().map_err(|_| "Choose members from the list.".to_string()))
                .collect(),
        );
        errors.into_result()?;
        Ok(Self { name: name.expect("checked"), public, member_ids: member_ids.expect("checked") })
    }
}

/// A group's name: one line, 1 to 60 characters.
fn parse_name(name: &str) -> std::result::Result<String, String> {
    text::line(name, "Name", 1, 60)
}

/// What a group update changes. `None` keeps a field as it is — read under the group's
/// lock, so that concurrent changes of different fields both stay.
#[derive(Debug, Default)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub public: Option<bool>,
    pub member_ids: Option<BTreeSet<i64>>,
}

impl GroupChanges {
    pub fn parse(name: Option<&str>, public: Option<bool>, member_ids: Option<&[i64]>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let name = name.and_then(|name| errors.check("name", parse_name(name)));
        errors.into_result()?;
        Ok(Self { name, public, member_ids: member_ids.map(|ids| ids.iter().copied().collect()) })
    }

    /// A new group's fields: the name is required.
    pub fn into_new(self) -> Result<GroupInput> {
        let name = self.name.ok_or_else(|| Error::Invalid(FieldErrors::single("name", "Required.")))?;
        Ok(GroupInput { name, public: self.public.unwrap_or(false), member_ids: self.member_ids.unwrap_or_default() })
    }
}

impl From<GroupInput> for GroupChanges {
    fn from(input: GroupInput) -> Self {
        Self { name: Some(input.name), public: Some(input.public), member_ids: Some(input.member_ids) }
    }
}

fn entry(action: &'static str, id: i64, actor_id: i64, before: Option<Value>, after: Option<Value>) -> audit::Entry<'static> {
    audit::Entry { actor_id: Some(actor_id), action, object_type: "group", object_id: id.to_string(), before, after }
}

fn duplicate_name(error: &sqlx::Error) -> Option<Error> {
    db::is_unique_violation(error).then(|| Error::Invalid(FieldErrors::single("name", "A group with this name already exists.")))
}

pub async fn create(db: &Db, input: &GroupInput, actor_id: i64, now: Timestamp) -> Result<i64> {
    let mut tx = db.begin_write().await?;
    let inserted =
        sqlx::query_scalar("INSERT INTO groups (name, public, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id")
            .bind(&input.name)
            .bind(input.public)
            .bind(now)
            .fetch_one(&mut *tx)
            .await;
    let id: i64 = match inserted {
        Err(error) => return Err(duplicate_name(&error).unwrap_or(error.into())),
        Ok(id) => id,
    };
    set_members(&mut tx, id, &BTreeSet::new(), &input.member_ids).await?;
    let after = json!({ "name": input.name, "public": input.public, "members": input.member_ids });
    audit::record(&mut tx, entry("group.create", id, actor_id, None, Some(after)), now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(db: &Db, id: i64, changes: GroupChanges, actor_id: i64, now: Timestamp) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let before: Option<Group> =
        sqlx::query_as(&format!("SELECT id, name, public FROM groups WHERE id = $1{}", db.backend().row_lock()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let before = before.ok_or(Error::NotFound)?;
    let members_before: BTreeSet<i64> = sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let input = GroupInput {
        name: changes.name.unwrap_or_else(|| before.name.clone()),
        public: changes.public.unwrap_or(before.public.0),
        member_ids: changes.member_ids.unwrap_or_else(|| members_before.clone()),
    };
    let updated = sqlx::query("UPDATE groups SET name = $1, public = $2, updated_at = $3 WHERE id = $4")
        .bind(&input.name)
        .bind(input.public)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await;
    if let Err(error) = updated {
        return Err(duplicate_name(&error).unwrap_or(error.into()));
    }
    set_members(&mut tx, id, &members_before, &input.member_ids).await?;
    let was = json!({ "name": before.name, "public": bool::from(before.public), "members": members_before });
    let is = json!({ "name": input.name, "public": input.public, "members": input.member_ids });
    if was != is {
        audit::record(&mut tx, entry("group.update", id, actor_id, Some(was), Some(is)), now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Brings the members from `before` to `after`; only active staff can be members.
async fn set_members(tx: &mut Tx, group_id: i64, before: &BTreeSet<i64>, after: &BTreeSet<i64>) -> Result<()> {
    for removed in before.difference(after) {
        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(removed)
            .execute(&mut **tx)
            .await?;
    }
    for added in after.difference(before) {
        let staff: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND role IN ('agent', 'admin')")
            .bind(added)
            .fetch_optional(&mut **tx)
            .await?;
        if staff.is_none() {
            return Err(Error::Invalid(FieldErrors::single("members", "Choose members from the list of agents and admins.")));
        }
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(added)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Deletes a group. One that still holds tickets is deleted only together with moving
/// them to `move_to`, in one transaction: each moved ticket gets its timeline event, audit
/// row and new version, as if an agent had changed its group.
pub async fn delete(db: &Db, id: i64, move_to: Option<i64>, actor_id: i64, now: Timestamp) -> Result<i64> {
    let mut tx = db.begin_write().await?;
    let lock = db.backend().row_lock();
    let groups: Vec<Group> =
        sqlx::query_as(&format!("SELECT id, name, public FROM groups ORDER BY id{lock}")).fetch_all(&mut *tx).await?;
    let group = groups.iter().find(|group| group.id == id).ok_or(Error::NotFound)?;
    if groups.len() == 1 {
        return Err(Error::Conflict("This is the only group. Every ticket needs a group, so create another one first.".into()));
    }
    let tickets: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE group_id = $1").bind(id).fetch_one(&mut *tx).await?;
    if tickets > 0 {
        let target = match move_to {
            None => {
                return Err(Error::Conflict(format!(
                    "{} still holds {}. Choose a group to move {} to, then delete.",
                    group.name,
                    if tickets == 1 { "1 ticket".to_owned() } else { format!("{tickets} tickets") },
                    if tickets == 1 { "it" } else { "them" },
                )));
            }
            Some(target) => groups
                .iter()
                .find(|each| each.id == target && each.id != id)
                .ok_or_else(|| Error::Invalid(FieldErrors::single("move_to", "Choose another group to move the tickets to.")))?,
        };
        move_tickets(&mut tx, group, target, actor_id, now).await?;
    }
    sqlx::query("DELETE FROM groups WHERE id = $1").bind(id).execute(&mut *tx).await?;
    let before = json!({ "name": group.name, "public": bool::from(group.public) });
    let after = (tickets > 0).then(|| json!({ "tickets_moved": tickets, "moved_to": move_to }));
    audit::record(&mut tx, entry("group.delete", id, actor_id, Some(before), after), now).await?;
    tx.commit().await?;
    Ok(tickets)
}

async fn move_tickets(tx: &mut Tx, from: &Group, to: &Group, actor_id: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO messages (ticket_id, kind, author_id, event, old_value, new_value, public, ticket_version, created_at) \
         SELECT id, 'event', $1, 'group', $2, $3, $4, version + 1, $5 FROM tickets WHERE group_id = $6",
    )
    .bind(actor_id)
    .bind(&from.name)
    .bind(&to.name)
    .bind(false)
    .bind(now)
    .bind(from.id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, object_type, object_id, before_state, after_state, created_at) \
         SELECT $1, 'ticket.group', 'ticket', CAST(number AS TEXT), $2, $3, $4 FROM tickets WHERE group_id = $5",
    )
    .bind(actor_id)
    .bind(json!({ "group_id": from.id }).to_string())
    .bind(json!({ "group_id": to.id }).to_string())
    .bind(now)
    .bind(from.id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE tickets SET group_id = $1, version = version + 1, updated_at = $2 WHERE group_id = $3")
        .bind(to.id)
        .bind(now)
        .bind(from.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
