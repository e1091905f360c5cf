//! `GET /api/v1/tickets/{id}/events` (staff): what happened to a ticket and which mail it
//! caused, with each mail's delivery.

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tickets::ticket_for;
use super::{ApiError, ApiResult, QueryParams, StaffCaller, moment, page_json, page_param};
use crate::domain::FieldErrors;
use crate::domain::tickets::events::{self, EventSource, TicketEvent};
use crate::web::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    page: Option<String>,
}

/// A state the audit log recorded as JSON; one that cannot be read (never written so) is
/// logged and shown as null rather than failing the whole trail.
fn stored_json(state: Option<String>) -> Value {
    let text = match state {
        Some(text) => text,
        None => return Value::Null,
    };
    serde_json::from_str(&text).unwrap_or_else(|error| {
        tracing::warn!(%error, "an audited state is not JSON");
        Value::Null
    })
}

fn event_json(event: TicketEvent) -> Value {
    if event.source == EventSource::Notification {
        let delivery = match event.delivery.as_deref() {
            Some("pending") => "queued",
            Some(other) => other,
            None => "queued",
        };
        return json!({
            "type": "notification",
            "at": moment(event.at),
            "kind": event.name,
            "recipient": event.recipient,
            "delivery": delivery,
            "attempts": event.attempts.unwrap_or(0),
            "sent_at": event.sent_at.map(moment),
            "last_error": event.last_error,
        });
    }
    json!({
        "type": "change",
        "at": moment(event.at),
        "action": event.name,
        "actor": event.actor_id.map(|id| json!({ "id": id, "name": event.actor_name })),
        "before": stored_json(event.before_state),
        "after": stored_json(event.after_state),
    })
}

pub async fn list(
    State(state): State<AppState>,
    StaffCaller(staff): StaffCaller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<EventsQuery>,
) -> ApiResult {
    let mut errors = FieldErrors::new();
    let page = page_param(query.page.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let ticket = ticket_for(&state, &staff, &id).await?;
    Ok(page_json(events::list(&state.db, &ticket, page).await?, event_json))
}
