//! `/api/v1/tickets…`: the queue and the customer's list, one ticket, its changes and its
//! timeline. Staff see and change every ticket; a customer only their own, and only what
//! the portal lets them do.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Deserializer};

use super::ticket_json::{self, PageExtras, TicketJson, field_input, queue_row_json, summary_json};
use super::{ApiError, ApiResult, Caller, JsonBody, JsonUpload, QueryParams, data, page_json, page_param, with_location};
use crate::domain::accounts::users::User;
use crate::domain::admin::settings::Settings;
use crate::domain::conversation::cc::CcList;
use crate::domain::conversation::customer::{self};
use crate::domain::conversation::staff::{self, Changes};
use crate::domain::fields;
use crate::domain::fields::values::{self, Setter};
use crate::domain::input::WholeNumber;
use crate::domain::tags::{TagChange, TagSet};
use crate::domain::tickets::TicketNumber;
use crate::domain::tickets::queue::{self, QueueParams};
use crate::domain::tickets::{self, CustomerScope, CustomerTab, NewTicket, Ticket};
use crate::domain::{Error, FieldErrors};
use crate::web::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<QueueParams>,
) -> ApiResult {
    let definitions = fields::all(state.db.pool()).await?;
    if caller.role.is_staff() {
        let (mut query, mut errors) = params.parse();
        if !params.scope.trim().is_empty() {
            errors.add("scope", "Only customers choose a scope; staff filter the queue.");
        }
        errors.extend(queue::check_field_filters(&definitions, &mut query));
        if !errors.is_empty() {
            return Err(ApiError::invalid(&errors));
        }
        // A ticket number finds that ticket (the desk jumps to it).
        if let Some(number) = TicketNumber::parse(&query.text)
            && tickets::id_of(&state.db, number).await?.is_some()
        {
            query.number = Some(number);
            query.text.clear();
        }
        let mut paged = queue::list(&state.db, &caller, &query, state.now()).await?;
        // Counts stop at the cap: beyond it the desk says "1000+", and the API no number.
        paged.counted &= paged.total_items <= queue::COUNT_CAP;
        let ids: Vec<i64> = paged.items.iter().map(|row| row.id).collect();
        let extras = PageExtras::read(&state.db, &ids, &caller, definitions).await?;
        return Ok(page_json(paged, |row| queue_row_json(row, &extras)));
    }
    let staff_filters = [
        ("view", &params.view),
        ("priority", &params.priority),
        ("group", &params.group),
        ("organisation", &params.organisation),
        ("assignee", &params.assignee),
        ("from", &params.from),
        ("to", &params.to),
        ("sort", &params.sort),
    ];
    let mut errors = FieldErrors::new();
    for (field, given) in staff_filters {
        if !given.trim().is_empty() {
            errors.add(field, "Only staff filter on this.");
        }
    }
    if params.tag.iter().any(|tag| !tag.trim().is_empty()) {
        errors.add("tag", "Only staff filter on this.");
    }
    for (name, _) in params.field_pairs() {
        errors.add(name.to_owned(), "Only staff filter on this.");
    }
    let page = page_param(params.page.as_deref(), &mut errors);
    let scope = errors.check("scope", CustomerScope::parse(&caller, &params.scope)).unwrap_or(CustomerScope::Mine(caller.id));
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let tab = match params.status.trim() {
        "" => CustomerTab::Active,
        given => given.parse::<CustomerTab>().map_err(|_| {
            ApiError::invalid(&FieldErrors::single("status", format!("“{given}” is not active, resolved, closed or all.")))
        })?,
    };
    let paged = tickets::list_for_requester(&state.db, scope, tab, &params.q, page).await?;
    let ids: Vec<i64> = paged.items.iter().map(|summary| summary.id).collect();
    let extras = PageExtras::read(&state.db, &ids, &caller, definitions).await?;
    Ok(page_json(paged, |summary| summary_json(summary, &extras)))
}

/// The ticket `{id}` (`1001`, or with its own prefix: `TCK-1001`) names, if the caller may
/// see it.
pub(super) async fn ticket_for(state: &AppState, caller: &User, id: &str) -> ApiResult<Ticket> {
    let number = TicketNumber::parse(id).ok_or_else(ApiError::not_found)?;
    let ticket = tickets::find_for_viewer(&state.db, number, caller).await?;
    let prefix = id.trim().trim_end_matches(|c: char| c.is_ascii_digit());
    if !prefix.is_empty() && !prefix.eq_ignore_ascii_case(&ticket.prefix) {
        return Err(ApiError::not_found());
    }
    Ok(ticket)
}

pub(super) async fn ticket_response(state: &AppState, caller: &User, number: TicketNumber, status: StatusCode) -> ApiResult {
    let ticket = tickets::find_for_viewer(&state.db, number, caller).await?;
    Ok(with_etag(ticket_json::ticket_json(&state.db, ticket, caller).await?, caller, status))
}

/// The ticket, with its version as an `ETag` for staff (customers are not shown versions):
/// `If-Match` with it makes a `PATCH` conditional, as `version` in the body does.
fn with_etag(ticket: TicketJson, caller: &User, status: StatusCode) -> Response {
    let etag = ticket.staff.as_ref().map(|facts| etag(facts.version));
    let mut response = data(status, ticket);
    if let Some(etag) = etag.and_then(|etag| HeaderValue::from_str(&etag).ok())
        && caller.role.is_staff()
    {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The versions an `If-Match` header accepts (it may list several): `None` without one
/// (or with `*`, any version); `Err` when no entry is an ETag of ours, which matches nothing.
fn if_match(headers: &HeaderMap) -> Option<Result<Vec<i64>, ()>> {
    let value = headers.get(header::IF_MATCH)?.to_str().unwrap_or_default();
    let entries: Vec<&str> = value.split(',').map(str::trim).collect();
    if entries.contains(&"*") {
        return None;
    }
    let versions: Vec<i64> =
        entries.iter().filter_map(|entry| entry.strip_prefix("\"v")?.strip_suffix('"')?.parse().ok()).collect();
    Some(if versions.is_empty() { Err(()) } else { Ok(versions) })
}

pub async fn show(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<String>) -> ApiResult {
    let ticket = ticket_for(&state, &caller, &id).await?;
    Ok(with_etag(ticket_json::ticket_json(&state.db, ticket, &caller).await?, &caller, StatusCode::OK))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTicketBody {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    message: String,
    group: Option<i64>,
    #[serde(default)]
    priority: String,
    /// Staff only: the customer's email address.
    requester: Option<String>,
    /// By key (see [`field_input`]): staff set any field, a customer those they may edit,
    /// and must fill the required ones.
    #[serde(default)]
    fields: BTreeMap<String, serde_json::Value>,
}

impl TryFrom<&NewTicketBody> for NewTicket {
    type Error = Error;

    fn try_from(body: &NewTicketBody) -> Result<Self, Error> {
        NewTicket::parse(&body.subject, body.group.into(), &body.priority, &body.message, "")
    }
}

pub async fn create(State(state): State<AppState>, Caller(caller): Caller, upload: JsonUpload<NewTicketBody>) -> ApiResult {
    let now = state.now();
    let settings = Settings::load(&state.db).await?;
    let body = &upload.body;
    let setter = if caller.role.is_staff() { Setter::Staff } else { Setter::Customer };
    let fields = match field_input(&body.fields) {
        Ok(input) => values::parse_new(&state.db, &input, setter).await,
        Err(error) => Err(error),
    };
    let mut parsed = NewTicket::with_fields(NewTicket::try_from(body), fields);
    if let Ok(new_ticket) = &mut parsed {
        new_ticket.files = upload.keep(&state).await?;
    }
    let notify_email = state.config.notify_email.as_deref();
    let number = if caller.role.is_staff() {
        let requester = body.requester.clone().unwrap_or_default();
        tickets::create_on_behalf(&state.db, &settings, &caller, &requester, parsed, notify_email, now).await?
    } else {
        if body.requester.is_some() {
            return Err(ApiError::invalid(&FieldErrors::single("requester", "Only staff open tickets for someone else.")));
        }
        tickets::create(&state.db, &settings, &caller, &caller, &parsed?, notify_email, now).await?
    };
    let response = ticket_response(&state, &caller, number, StatusCode::CREATED).await?;
    Ok(with_location(response, format!("/api/v1/tickets/{number}")))
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketChanges {
    status: Option<String>,
    priority: Option<String>,
    group: Option<i64>,
    /// An agent's user id, or `null` for nobody.
    #[serde(default, deserialize_with = "present")]
    assignee: Option<Option<i64>>,
    /// Who is copied (addresses), replacing the list; `[]` clears it.
    cc: Option<Vec<String>>,
    /// Staff: fields by key (see [`field_input`]); those not sent stay as they are.
    fields: Option<BTreeMap<String, serde_json::Value>>,
    /// Staff: the tags, replacing the set; `[]` clears it.
    tags: Option<Vec<String>>,
    /// The version the change was made against; a stale one is refused.
    version: Option<i64>,
}

/// Adds the field errors of `result` to `errors`; answers its value, or `None` when it had
/// field errors. Any other error ends the request.
fn gather<T>(errors: &mut FieldErrors, result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::Invalid(more)) => {
            errors.extend(more);
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

impl TryFrom<&TicketChanges> for Changes {
    type Error = Error;

    /// The desk's form rules: absent is "no change", an assignee of null is nobody. Every
    /// bad field is reported at once (field values are checked by kind when applied).
    fn try_from(body: &TicketChanges) -> Result<Self, Error> {
        let status = body.status.as_deref().unwrap_or_default();
        let priority = body.priority.as_deref().unwrap_or_default();
        let mut errors = FieldErrors::new();
        let changes =
            gather(&mut errors, Changes::parse(status, priority, body.group.into(), body.assignee.map(WholeNumber::from)))?;
        let cc = gather(&mut errors, body.cc.as_deref().map(CcList::from_addresses).transpose())?.flatten();
        let fields = gather(&mut errors, body.fields.as_ref().map(field_input).transpose())?.flatten();
        let tags = body.tags.as_ref().map(|words| TagSet::from_words(words.iter().map(String::as_str), "tags"));
        let tags = gather(&mut errors, tags.transpose())?.flatten();
        let Some(changes) = changes.filter(|_| errors.is_empty()) else {
            return Err(Error::Invalid(errors));
        };
        Ok(Changes { cc, fields: fields.unwrap_or_default(), tags: tags.map(TagChange::Replace), ..changes })
    }
}

pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TicketChanges>,
) -> ApiResult {
    let ticket = ticket_for(&state, &caller, &id).await?;
    let now = state.now();
    let precondition = if_match(&headers);
    if caller.role.is_staff() {
        let changes = Changes::try_from(&body)?;
        let version = match &precondition {
            None => body.version,
            Some(Ok(versions)) if body.version.is_none_or(|given| versions.contains(&given)) => {
                // The one it names as the ticket stands; checked again under the ticket's lock.
                Some(if versions.contains(&ticket.version) { ticket.version } else { versions[0] })
            }
            Some(Ok(_)) => {
                return Err(ApiError::invalid(&FieldErrors::single("version", "Differs from the versions If-Match names.")));
            }
            Some(Err(())) => return Err(ApiError::precondition_failed(&etag(ticket.version))),
        };
        match staff::update(&state.db, &ticket, &caller, &changes, version, now).await {
            // Asked through `If-Match`, a stale version is HTTP's own 412.
            Err(Error::Stale { current_version }) if precondition.is_some() => {
                return Err(ApiError::precondition_failed(&etag(current_version)));
            }
            outcome => outcome?,
        }
    } else {
        if precondition.is_some() {
            return Err(ApiError::invalid(&FieldErrors::single("If-Match", "Only staff make conditional changes.")));
        }
        let mut errors = FieldErrors::new();
        let staff_fields = [
            ("priority", body.priority.is_some()),
            ("group", body.group.is_some()),
            ("assignee", body.assignee.is_some()),
            ("fields", body.fields.is_some()),
            ("tags", body.tags.is_some()),
            ("version", body.version.is_some()),
        ];
        for (field, given) in staff_fields {
            if given {
                errors.add(field, "Only staff change this.");
            }
        }
        let close = match body.status.as_deref().map(str::trim) {
            Some("closed") => true,
            Some(_) => {
                errors.add("status", "You can only close your ticket (status “closed”).");
                false
            }
            None if body.cc.is_none() => {
                errors.add("status", "Give the status “closed” to close your ticket, or `cc` to change who is copied.");
                false
            }
            None => false,
        };
        let cc = match body.cc.as_deref().map(CcList::from_addresses).transpose() {
            Ok(cc) => cc,
            Err(Error::Invalid(more)) => {
                errors.extend(more);
                None
            }
            Err(error) => return Err(error.into()),
        };
        if !errors.is_empty() {
            return Err(ApiError::invalid(&errors));
        }
        customer::decide(&state.db, &ticket, &caller, cc.as_ref(), close, now).await?;
    }
    ticket_response(&state, &caller, ticket.number, StatusCode::OK).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tickets::Status;

    #[test]
    fn assignee_tells_absent_from_null() {
        let absent: TicketChanges = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.assignee, None);
        let nobody: TicketChanges = serde_json::from_str(r#"{"assignee": null}"#).unwrap();
        assert_eq!(nobody.assignee, Some(None));
        let agent: TicketChanges = serde_json::from_str(r#"{"assignee": 7, "status": "open"}"#).unwrap();
        assert_eq!(agent.assignee, Some(Some(7)));
        assert_eq!(agent.status.as_deref().map(str::parse::<Status>), Some(Ok(Status::Open)));
    }
}
