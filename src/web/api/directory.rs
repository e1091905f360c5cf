//! Who is asking, who can be assigned, and which groups there are.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::{ApiResult, Caller, StaffCaller, data};
use crate::domain::accounts::users::{self, User};
use crate::domain::admin::groups;
use crate::web::state::AppState;

fn user_json(user: &User) -> serde_json::Value {
    json!({ "id": user.id, "name": user.name, "email": user.email, "role": user.role.as_str() })
}

pub async fn me(Caller(caller): Caller) -> ApiResult {
    Ok(data(StatusCode::OK, user_json(&caller)))
}

/// Active agents and admins: whom a ticket can be assigned to.
pub async fn agents(State(state): State<AppState>, StaffCaller(_staff): StaffCaller) -> ApiResult {
    let agents = users::active_staff(&state.db).await?;
    Ok(data(StatusCode::OK, agents.iter().map(user_json).collect::<Vec<_>>()))
}

/// Staff see every group; a customer the public ones, which they can submit to.
pub async fn groups(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult {
    let groups =
        if caller.role.is_staff() { groups::all_groups(&state.db).await? } else { groups::public_groups(&state.db).await? };
    let groups: Vec<_> =
        groups.iter().map(|group| json!({ "id": group.id, "name": group.name, "public": group.public.0 })).collect();
    Ok(data(StatusCode::OK, groups))
}
