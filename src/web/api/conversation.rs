//! `/api/v1/tickets/{id}/…`: a ticket's timeline and new messages, and the customer's
//! reopening and rating, as in the portal.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::tickets::{ticket_for, ticket_response};
use super::{ApiError, ApiResult, Caller, JsonBody, JsonUpload, created, data, moment};
use crate::domain::accounts::users::User;
use crate::domain::admin::settings::Settings;
use crate::domain::attachments::{self, Attachment};
use crate::domain::conversation::customer::{self, Rating, Reopen};
use crate::domain::conversation::staff::{self, Reply};
use crate::domain::conversation::{self, Audience, TimelineEntry};
use crate::domain::tickets::Ticket;
use crate::domain::{Error, FieldErrors};
use crate::web::state::AppState;

/// A timeline entry with its files (from `files`, which may hold other entries' too).
fn entry_json(entry: TimelineEntry, files: &[Attachment]) -> serde_json::Value {
    let author_is_staff = entry.author_is_staff();
    let attachments: Vec<serde_json::Value> = files
        .iter()
        .filter(|file| file.message_id == entry.id && !file.removed.0)
        .map(|file| {
            json!({
                "id": file.public_id,
                "filename": file.filename,
                "content_type": file.content_type,
                "size": file.size,
                "url": format!("/api/v1/attachments/{}", file.public_id),
            })
        })
        .collect();
    json!({
        "attachments": attachments,
        "id": entry.id,
        "kind": entry.kind.as_str(),
        "author": entry.author_name.map(|name| json!({ "name": name, "staff": author_is_staff })),
        "body": entry.body,
        "event": entry.event,
        "old_value": entry.old_value,
        "new_value": entry.new_value,
        "created_at": moment(entry.created_at),
    })
}

fn audience(caller: &User) -> Audience {
    if caller.role.is_staff() { Audience::Staff } else { Audience::Customer }
}

pub async fn messages(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<String>) -> ApiResult {
    let ticket = ticket_for(&state, &caller, &id).await?;
    let entries = conversation::timeline(&state.db, ticket.id, audience(&caller)).await?;
    let ids: Vec<i64> = entries.iter().map(|entry| entry.id).collect();
    let files = attachments::of_messages(&state.db, &ids).await?;
    Ok(data(StatusCode::OK, entries.into_iter().map(|entry| entry_json(entry, &files)).collect::<Vec<_>>()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    #[serde(default)]
    body: String,
    /// Staff: `public` (the default) or `internal`.
    visibility: Option<String>,
    /// Staff: a status to set in the same step.
    status: Option<String>,
    /// Staff: minutes spent.
    time_spent: Option<i64>,
}

impl TryFrom<&MessageBody> for Reply {
    type Error = Error;

    fn try_from(body: &MessageBody) -> Result<Self, Error> {
        let visibility = body.visibility.as_deref().unwrap_or("public");
        Reply::parse(&body.body, visibility, body.status.as_deref().unwrap_or_default(), body.time_spent.into())
    }
}

pub async fn add_message(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    upload: JsonUpload<MessageBody>,
) -> ApiResult {
    let ticket = ticket_for(&state, &caller, &id).await?;
    let now = state.now();
    let body = &upload.body;
    let message_id = if caller.role.is_staff() {
        let mut reply = Reply::try_from(body)?;
        reply.files = upload.keep(&state).await?;
        staff::reply(&state.db, &ticket, &caller, &reply, now).await?
    } else {
        let mut errors = FieldErrors::new();
        if body.visibility.as_deref().is_some_and(|visibility| visibility != "public") {
            errors.add("visibility", "Your messages are always public.");
        }
        for (field, given) in [("status", body.status.is_some()), ("time_spent", body.time_spent.is_some())] {
            if given {
                errors.add(field, "Only staff set this.");
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid(&errors));
        }
        let mut reply = customer::Reply::parse(&body.body)?;
        reply.files = upload.keep(&state).await?;
        customer::reply(&state.db, &ticket, &caller, &reply, now).await?
    };
    let entry = conversation::timeline(&state.db, ticket.id, audience(&caller))
        .await?
        .into_iter()
        .find(|entry| entry.id == message_id)
        .ok_or(Error::NotFound)?;
    let files = attachments::of_messages(&state.db, &[message_id]).await?;
    // A message is read as part of its ticket's timeline, which `Location` names.
    Ok(created(format!("/api/v1/tickets/{}/messages", ticket.number), entry_json(entry, &files)))
}

/// A customer's own ticket: reopening and rating are theirs alone (as in the portal).
async fn own_ticket(state: &AppState, caller: &User, id: &str) -> ApiResult<Ticket> {
    if caller.role.is_staff() {
        return Err(ApiError::not_found());
    }
    ticket_for(state, caller, id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenBody {
    #[serde(default)]
    reason: String,
}

pub async fn reopen(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReopenBody>,
) -> ApiResult {
    let ticket = own_ticket(&state, &caller, &id).await?;
    let settings = Settings::load(&state.db).await?;
    customer::reopen(&state.db, &settings, &ticket, &caller, &Reopen::parse(&body.reason)?, state.now()).await?;
    ticket_response(&state, &caller, ticket.number, StatusCode::OK).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    rating: Option<i64>,
    #[serde(default)]
    comment: String,
}

pub async fn rate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RatingBody>,
) -> ApiResult {
    let ticket = own_ticket(&state, &caller, &id).await?;
    let settings = Settings::load(&state.db).await?;
    let rating = Rating::parse(body.rating.into(), &body.comment)?;
    customer::rate(&state.db, &settings, &ticket, &caller, &rating, state.now()).await?;
    ticket_response(&state, &caller, ticket.number, StatusCode::OK).await
}
