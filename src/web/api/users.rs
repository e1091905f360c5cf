//! `/api/v1/users…` for admins: the accounts list, creating and changing accounts with
//! their groups, deactivating and reactivating — the admin pages' rules, the last-admin
//! rule among them (409).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminCaller, ApiError, ApiResult, JsonBody, QueryParams, created, data, id_param, page_json, page_param};
use crate::domain::FieldErrors;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::user_admin::{self, UserChanges};
use crate::domain::accounts::user_list::{self, UserFilter};
use crate::domain::accounts::users::User;
use crate::web::state::AppState;

fn account_json(user: &User, group_ids: impl IntoIterator<Item = i64>) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role.as_str(),
        "active": user.active,
        "verified": user.verified,
        "two_factor": user.two_factor,
        "groups": group_ids.into_iter().collect::<std::collections::BTreeSet<_>>(),
    })
}

async fn account_answer(state: &AppState, id: i64) -> ApiResult<Value> {
    let user = user_admin::find(&state.db, id).await?;
    let groups = user_admin::group_ids_of(&state.db, id).await?;
    Ok(account_json(&user, groups))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// Part of a name or an email address.
    #[serde(default)]
    q: String,
    role: Option<String>,
    active: Option<String>,
    page: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    AdminCaller(_admin): AdminCaller,
    QueryParams(query): QueryParams<UsersQuery>,
) -> ApiResult {
    let mut errors = FieldErrors::new();
    let role = match query.role.as_deref().map(str::trim).filter(|role| !role.is_empty()) {
        Some(role) => errors.check("role", role.parse()),
        None => None,
    };
    let active = match query.active.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            errors.add("active", format!("“{other}” is neither true nor false."));
            None
        }
    };
    let page = page_param(query.page.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let filter = UserFilter { text: query.q, role, active, page };
    let paged = user_list::list(&state.db, &filter).await?;
    Ok(page_json(paged, |row| account_json(&row.user, row.group_ids)))
}

pub async fn show(State(state): State<AppState>, AdminCaller(_admin): AdminCaller, Path(id): Path<String>) -> ApiResult {
    Ok(data(StatusCode::OK, account_answer(&state, id_param(&id)?).await?))
}

/// An account's fields. On `POST`, `name`, `email` and `role` are required, and without a
/// `password` the owner is mailed an invitation to choose one; on `PATCH` each absent field
/// stays as it is (`null` counts as absent).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    password: Option<String>,
    /// Group ids (staff only).
    groups: Option<Vec<i64>>,
    /// `true` vouches for the address; `false` is refused (an address is not unverified).
    verified: Option<bool>,
}

impl AccountBody {
    /// What the body changes. `role_now` is the account's role, `None` for a new account
    /// (whose name, email and role are then required).
    fn changes(&self, role_now: Option<Role>) -> Result<UserChanges, ApiError> {
        let mut errors = FieldErrors::new();
        if self.password.as_deref() == Some("") {
            errors.add("password", "Give a password of at least 8 characters, or leave the field out.");
        }
        if self.verified == Some(false) {
            errors.add("verified", "A confirmed address cannot be unconfirmed; leave the field out.");
        }
        if role_now.is_none() {
            // A new account: every missing field is named with the other problems at once.
            for (field, given) in [("name", &self.name), ("email", &self.email), ("role", &self.role)] {
                if given.is_none() {
                    errors.add(field, "Required.");
                }
            }
        }
        let changes = UserChanges::parse(
            self.name.as_deref(),
            self.email.as_deref(),
            self.role.as_deref(),
            self.password.as_deref().filter(|password| !password.is_empty()),
            self.groups.as_deref(),
            self.verified.unwrap_or(false),
        );
        let changes = match changes {
            Ok(changes) => Some(changes),
            Err(crate::domain::Error::Invalid(fields)) => {
                errors.extend(fields);
                None
            }
            Err(other) => return Err(other.into()),
        };
        let role = changes.as_ref().and_then(|changes| changes.role).or(role_now);
        if self.groups.as_ref().is_some_and(|groups| !groups.is_empty()) && role == Some(Role::Customer) {
            errors.add("groups", "Only agents and admins belong to groups.");
        }
        errors.into_result()?;
        Ok(changes.expect("no errors"))
    }
}

pub async fn create(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    JsonBody(body): JsonBody<AccountBody>,
) -> ApiResult {
    let input = body.changes(None)?.into_new()?;
    let user = user_admin::create(&state.db, input, &admin, state.now()).await?;
    Ok(created(format!("/api/v1/users/{}", user.id), account_answer(&state, user.id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AccountBody>,
) -> ApiResult {
    let id = id_param(&id)?;
    let user = user_admin::find(&state.db, id).await?;
    user_admin::update(&state.db, id, body.changes(Some(user.role))?, &admin, state.now()).await?;
    Ok(data(StatusCode::OK, account_answer(&state, id).await?))
}

pub async fn deactivate(state: State<AppState>, admin: AdminCaller, id: Path<String>) -> ApiResult {
    set_active(state, admin, id, false).await
}

pub async fn reactivate(state: State<AppState>, admin: AdminCaller, id: Path<String>) -> ApiResult {
    set_active(state, admin, id, true).await
}

async fn set_active(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(id): Path<String>,
    active: bool,
) -> ApiResult {
    let id = id_param(&id)?;
    user_admin::set_active(&state.db, id, active, Some(admin.id), state.now()).await?;
    Ok(data(StatusCode::OK, account_answer(&state, id).await?))
}
