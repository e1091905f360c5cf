//! `/api/v1/tickets…`: the queue and the customer's list, one ticket, its changes and its
//! timeline. Staff see and change every ticket; a customer only their own, and only what
//! the portal lets them do.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use super::{ApiError, ApiResult, Caller, JsonBody, JsonUpload, QueryParams, data, moment, page_json, page_param, with_location};
use crate::domain::accounts::users::User;
use crate::domain::admin::settings::Settings;
use crate::domain::conversation::cc::{self, CcList};
use crate::domain::conversation::customer::{self};
use crate::domain::conversation::staff::{self, Changes};
use crate::domain::input::WholeNumber;
use crate::domain::tickets::TicketNumber;
use crate::domain::tickets::queue::{self, QueueParams, QueueRow};
use crate::domain::tickets::{self, CustomerScope, CustomerTab, NewTicket, Ticket, TicketSummary};
use crate::domain::{Error, FieldErrors};
use crate::web::state::AppState;

#[derive(Serialize)]
struct Named {
    id: i64,
    name: String,
}

#[derive(Serialize)]
struct Person {
    id: i64,
    name: String,
    email: String,
}

/// What only staff are shown of a ticket.
#[derive(Serialize)]
struct StaffFacts {
    assignee: Option<Named>,
    version: i64,
    due_at: Option<String>,
    first_response_at: Option<String>,
    time_spent_minutes: i64,
}

#[derive(Serialize)]
struct TicketJson {
    id: i64,
    reference: String,
    subject: String,
    status: &'static str,
    priority: &'static str,
    group: Named,
    requester: Person,
    organisation: Option<Named>,
    /// The addresses of those copied.
    cc: Vec<String>,
    created_at: String,
    updated_at: String,
    resolved_at: Option<String>,
    closed_at: Option<String>,
    rating: Option<i64>,
    rating_comment: Option<String>,
    merged_into: Option<i64>,
    follow_up_of: Option<i64>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    staff: Option<StaffFacts>,
}

/// The ticket as the API shows it to `viewer`, with who is copied on it.
async fn ticket_json(state: &AppState, ticket: Ticket, viewer: &User) -> ApiResult<TicketJson> {
    let cc = cc::of_ticket(&state.db, ticket.id).await?.into_iter().map(|copied| copied.email).collect();
    let staff = viewer.role.is_staff();
    let group_name = if staff { ticket.group_name.clone() } else { ticket.group_for_customer().to_owned() };
    Ok(TicketJson {
        id: ticket.number.get(),
        reference: ticket.reference(),
        subject: ticket.subject,
        status: ticket.status.as_str(),
        priority: ticket.priority.as_str(),
        group: Named { id: ticket.group_id, name: group_name },
        requester: Person { id: ticket.requester_id, name: ticket.requester_name, email: ticket.requester_email },
        organisation: ticket.organisation_id.zip(ticket.organisation_name).map(|(id, name)| Named { id, name }),
        cc,
        created_at: moment(ticket.created_at),
        // Internal notes move `updated_at`; a customer sees only what they can see change.
        updated_at: moment(if staff { ticket.updated_at } else { ticket.public_updated_at }),
        resolved_at: ticket.resolved_at.map(moment),
        closed_at: ticket.closed_at.map(moment),
        rating: ticket.rating,
        rating_comment: ticket.rating_comment,
        merged_into: ticket.merged_into.map(TicketNumber::get),
        follow_up_of: ticket.follow_up_of.map(TicketNumber::get),
        staff: staff.then(|| StaffFacts {
            assignee: ticket.assignee_id.zip(ticket.assignee_name).map(|(id, name)| Named { id, name }),
            version: ticket.version,
            due_at: ticket.due_at.map(moment),
            first_response_at: ticket.first_response_at.map(moment),
            time_spent_minutes: ticket.time_spent_minutes,
        }),
    })
}

fn queue_row_json(row: QueueRow) -> serde_json::Value {
    json!({
        "id": row.number.get(),
        "reference": row.reference(),
        "subject": row.subject,
        "status": row.status.as_str(),
        "priority": row.priority.as_str(),
        "group": Named { id: row.group_id, name: row.group_name },
        "requester": Person { id: row.requester_id, name: row.requester_name, email: row.requester_email },
        "assignee": row.assignee_id.zip(row.assignee_name).map(|(id, name)| Named { id, name }),
        "due_at": row.due_at.map(moment),
        "updated_at": moment(row.updated_at),
    })
}

fn summary_json(summary: TicketSummary) -> serde_json::Value {
    json!({
        "id": summary.number.get(),
        "reference": summary.reference(),
        "subject": summary.subject,
        "status": summary.status.as_str(),
        "priority": summary.priority.as_str(),
        "group": Named { id: summary.group_id, name: summary.group_for_customer().to_owned() },
        "updated_at": moment(summary.updated_at),
    })
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<QueueParams>,
) -> ApiResult {
    if caller.role.is_staff() {
        let (mut query, mut errors) = params.parse();
        if !params.scope.trim().is_empty() {
            errors.add("scope", "Only customers choose a scope; staff filter the queue.");
        }
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
        return Ok(page_json(paged, queue_row_json));
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
    Ok(page_json(paged, summary_json))
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
    Ok(with_etag(ticket_json(state, ticket, caller).await?, caller, status))
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
    Ok(with_etag(ticket_json(&state, ticket, &caller).await?, &caller, StatusCode::OK))
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
    let mut parsed = NewTicket::try_from(body);
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
    /// The version the change was made against; a stale one is refused.
    version: Option<i64>,
}

impl TryFrom<&TicketChanges> for Changes {
    type Error = Error;

    /// The desk's form rules: absent is "no change", an assignee of null is nobody.
    fn try_from(body: &TicketChanges) -> Result<Self, Error> {
        let status = body.status.as_deref().unwrap_or_default();
        let priority = body.priority.as_deref().unwrap_or_default();
        let changes = Changes::parse(status, priority, body.group.into(), body.assignee.map(WholeNumber::from));
        match (changes, body.cc.as_deref().map(CcList::from_addresses).transpose()) {
            (Ok(changes), Ok(cc)) => Ok(Changes { cc, ..changes }),
            (Err(Error::Invalid(mut errors)), Err(Error::Invalid(more))) => {
                errors.extend(more);
                Err(Error::Invalid(errors))
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        }
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
