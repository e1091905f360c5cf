//! Who is asking, who can be assigned, and the words a client builds its forms from.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Caller, QueryParams, StaffCaller, data};
use crate::domain::FieldErrors;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, User};
use crate::domain::conversation::Visibility;
use crate::domain::tickets::{Priority, Status};
use crate::web::state::AppState;

pub fn user_json(user: &User) -> Value {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatesQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /states`: every word a client may send in a fixed-choice field, with its label, by
/// field: `status` and `priority` for everyone, `visibility` for staff, `role` for admins.
/// `?type=priority` answers that one alone.
pub async fn states(Caller(caller): Caller, QueryParams(query): QueryParams<StatesQuery>) -> ApiResult {
    fn choices<T: Copy>(all: &[T], word: fn(T) -> &'static str, label: fn(T) -> &'static str) -> Value {
        all.iter().map(|each| json!({ "value": word(*each), "label": label(*each) })).collect()
    }
    let mut kinds = vec![
        ("status", choices(Status::ALL, Status::as_str, Status::label)),
        ("priority", choices(Priority::ALL, Priority::as_str, Priority::label)),
    ];
    if caller.role.is_staff() {
        kinds.push(("visibility", choices(Visibility::ALL, Visibility::as_str, Visibility::label)));
    }
    if caller.role == Role::Admin {
        kinds.push(("role", choices(Role::ALL, Role::as_str, Role::label)));
    }
    let wanted = query.kind.as_deref().map(str::trim).filter(|kind| !kind.is_empty());
    if let Some(kind) = wanted
        && !kinds.iter().any(|(name, _)| *name == kind)
    {
        let known: Vec<&str> = kinds.iter().map(|(name, _)| *name).collect();
        let message = format!("“{kind}” is none of {}.", known.join(", "));
        return Err(ApiError::invalid(&FieldErrors::single("type", message)));
    }
    let answer: serde_json::Map<String, Value> = kinds
        .into_iter()
        .filter(|(name, _)| wanted.is_none_or(|kind| kind == *name))
        .map(|(name, list)| (name.into(), list))
        .collect();
    Ok(data(StatusCode::OK, answer))
}
