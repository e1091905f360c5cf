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
use crate::domain::fields::{self, FieldDefinition};
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

/// A ticket field as a client builds its forms from it.
fn field_json(field: &FieldDefinition) -> Value {
    json!({
        "key": field.key,
        "label": field.label,
        "kind": field.kind.as_str(),
        "options": field.option_list(),
        "required": field.required,
        "customer_visible": field.customer_visible,
        "customer_editable": field.customer_editable,
        "required_to_resolve": field.required_to_resolve,
    })
}

/// `GET /states`: every word a client may send in a fixed-choice field, with its label, by
/// field: `status` and `priority` for everyone, `visibility` for staff, `role` for admins;
/// and the ticket fields an admin defined (`fields`: every one for staff, those shown to
/// customers for a customer), in the order forms show them. `?type=priority` answers that
/// one alone.
pub async fn states(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(query): QueryParams<StatesQuery>,
) -> ApiResult {
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
    // The fields are read only when they are asked for; the other lists are fixed words.
    let shown_fields = if wanted.is_none_or(|kind| kind == "fields") {
        let definitions = fields::all(state.db.pool()).await?;
        definitions.iter().filter(|field| field.visible_to(caller.role)).map(field_json).collect()
    } else {
        Value::Array(Vec::new())
    };
    kinds.push(("fields", shown_fields));
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
