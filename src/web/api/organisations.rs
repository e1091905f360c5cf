//! `/api/v1/organisations…` for staff: the companies customers belong to, as on the desk's
//! organisation pages — list and search, create, change, delete (contacts and tickets stay,
//! belonging to none).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, JsonBody, QueryParams, StaffCaller, created, data, id_param, page_json, page_param};
use crate::domain::FieldErrors;
use crate::domain::organisations::{self, Organisation, OrganisationInput};
use crate::web::state::AppState;

fn organisation_json(organisation: &Organisation) -> Value {
    json!({
        "id": organisation.id,
        "name": organisation.name,
        "domains": organisation.domains,
        "notes": organisation.notes,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Part of a name or of a domain.
    #[serde(default)]
    q: String,
    page: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    StaffCaller(_staff): StaffCaller,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult {
    let mut errors = FieldErrors::new();
    let page = page_param(query.page.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let paged = organisations::list(&state.db, &query.q, page).await?;
    Ok(page_json(paged, |row| {
        let domains: Vec<&str> = row.domains.split(", ").filter(|domain| !domain.is_empty()).collect();
        json!({ "id": row.id, "name": row.name, "domains": domains, "contacts": row.contacts })
    }))
}

pub async fn show(State(state): State<AppState>, StaffCaller(_staff): StaffCaller, Path(id): Path<String>) -> ApiResult {
    let organisation = organisations::find(&state.db, id_param(&id)?).await?;
    Ok(data(StatusCode::OK, organisation_json(&organisation)))
}

/// An organisation's fields. `name` is required on `POST`; on `PATCH` each absent one
/// (or `null`) stays as it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationBody {
    name: Option<String>,
    /// Mail domains: a new customer at one joins the organisation.
    domains: Option<Vec<String>>,
    notes: Option<String>,
}

impl OrganisationBody {
    /// The fields given, over `current` ones.
    fn over(&self, current: Option<&Organisation>) -> Result<OrganisationInput, ApiError> {
        let name = self.name.as_deref().or(current.map(|current| current.name.as_str())).unwrap_or_default();
        let domains = match (&self.domains, current) {
            (Some(domains), _) => domains.join("\n"),
            (None, Some(current)) => current.domains.join("\n"),
            (None, None) => String::new(),
        };
        let notes = self.notes.as_deref().or(current.map(|current| current.notes.as_str())).unwrap_or_default();
        Ok(OrganisationInput::parse(name, &domains, notes)?)
    }
}

pub async fn create(
    State(state): State<AppState>,
    StaffCaller(staff): StaffCaller,
    JsonBody(body): JsonBody<OrganisationBody>,
) -> ApiResult {
    let id = organisations::create(&state.db, &body.over(None)?, staff.id, state.now()).await?;
    let organisation = organisations::find(&state.db, id).await?;
    Ok(created(format!("/api/v1/organisations/{id}"), organisation_json(&organisation)))
}

pub async fn update(
    State(state): State<AppState>,
    StaffCaller(staff): StaffCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OrganisationBody>,
) -> ApiResult {
    let current = organisations::find(&state.db, id_param(&id)?).await?;
    organisations::update(&state.db, current.id, &body.over(Some(&current))?, staff.id, state.now()).await?;
    let organisation = organisations::find(&state.db, current.id).await?;
    Ok(data(StatusCode::OK, organisation_json(&organisation)))
}

/// Deletes the organisation and answers what it was; its contacts and tickets stay.
pub async fn delete(State(state): State<AppState>, StaffCaller(staff): StaffCaller, Path(id): Path<String>) -> ApiResult {
    let deleted = organisations::delete(&state.db, id_param(&id)?, staff.id, state.now()).await?;
    Ok(data(StatusCode::OK, organisation_json(&deleted)))
}
