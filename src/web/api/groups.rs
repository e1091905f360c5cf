//! `/api/v1/groups…`: staff see every group, a customer the public ones they may submit to;
//! admins create, change and delete them as on the admin pages.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminCaller, ApiError, ApiResult, Caller, JsonBody, QueryParams, created, data, id_param};
use crate::domain::accounts::users::User;
use crate::domain::admin::groups::{self, Group, GroupChanges};
use crate::web::state::AppState;

fn group_json(group: &Group, members: Option<&BTreeSet<i64>>) -> Value {
    let mut json = json!({ "id": group.id, "name": group.name, "public": group.public.0 });
    if let Some(members) = members {
        json["members"] = json!(members);
    }
    json
}

pub async fn list(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult {
    let groups =
        if caller.role.is_staff() { groups::all_groups(&state.db).await? } else { groups::public_groups(&state.db).await? };
    Ok(data(StatusCode::OK, groups.iter().map(|group| group_json(group, None)).collect::<Vec<_>>()))
}

/// The group `{id}`, if the caller may see it: a customer only a public one.
async fn visible_group(state: &AppState, caller: &User, id: i64) -> ApiResult<Group> {
    let group = groups::find(&state.db, id).await?;
    if !caller.role.is_staff() && !group.public.0 {
        return Err(ApiError::not_found());
    }
    Ok(group)
}

/// One group; staff also see its members (user ids).
async fn group_answer(state: &AppState, caller: &User, id: i64) -> ApiResult<Value> {
    let group = visible_group(state, caller, id).await?;
    let members = if caller.role.is_staff() { Some(groups::member_ids(&state.db, id).await?) } else { None };
    Ok(group_json(&group, members.as_ref()))
}

pub async fn show(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<String>) -> ApiResult {
    Ok(data(StatusCode::OK, group_answer(&state, &caller, id_param(&id)?).await?))
}

/// A group's fields; on `PATCH` each absent one stays as it is (`null` counts as absent).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    name: Option<String>,
    public: Option<bool>,
    /// User ids of agents and admins.
    members: Option<Vec<i64>>,
}

impl GroupBody {
    fn changes(&self) -> Result<GroupChanges, ApiError> {
        Ok(GroupChanges::parse(self.name.as_deref(), self.public, self.members.as_deref())?)
    }
}

pub async fn create(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    JsonBody(body): JsonBody<GroupBody>,
) -> ApiResult {
    let id = groups::create(&state.db, &body.changes()?.into_new()?, admin.id, state.now()).await?;
    Ok(created(format!("/api/v1/groups/{id}"), group_answer(&state, &admin, id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<GroupBody>,
) -> ApiResult {
    let id = id_param(&id)?;
    groups::update(&state.db, id, body.changes()?, admin.id, state.now()).await?;
    Ok(data(StatusCode::OK, group_answer(&state, &admin, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// Where the group's tickets go; required when it holds any.
    move_to: Option<i64>,
}

/// Deletes the group, moving its tickets to `move_to` as the admin page does (409 when it
/// holds tickets and no `move_to` is given, or when it is the only group).
pub async fn delete(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DeleteQuery>,
) -> ApiResult {
    let id = id_param(&id)?;
    let moved = groups::delete(&state.db, id, query.move_to, admin.id, state.now()).await?;
    Ok(data(StatusCode::OK, json!({ "id": id, "tickets_moved": moved })))
}
