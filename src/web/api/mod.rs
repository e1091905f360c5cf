//! The JSON API under `/api/v1`: bearer tokens acting with their user's role, `{"data": …}`
//! on success, `{"error": {"code", "message", "fields"}}` on failure. It calls the same
//! domain functions as the pages; only the envelope differs.

mod conversation;
mod directory;
mod events;
mod files;
mod groups;
mod json_upload;
mod organisations;
mod reports;
mod ticket_json;
mod tickets;
mod users;

pub use json_upload::JsonUpload;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;

use super::state::AppState;
use crate::domain;
use crate::domain::accounts::api_tokens;
use crate::domain::accounts::users::User;
use crate::domain::clock::Timestamp;
use crate::domain::paging::{Paged, strict_page_number};

/// The API's routes. Those that take files get `upload_limit` for their bodies (the files
/// count against their own limit, the JSON against the usual one), all others 2 MiB.
pub fn router(upload_limit: usize) -> Router<AppState> {
    let uploads = Router::new()
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/{id}/messages", get(conversation::messages).post(conversation::add_message))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(upload_limit));
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/tickets/{id}", get(tickets::show).patch(tickets::update))
        .route("/tickets/{id}/reopen", post(conversation::reopen))
        .route("/tickets/{id}/rating", post(conversation::rate))
        .route("/tickets/{id}/events", get(events::list))
        .route("/attachments/{id}", get(files::download))
        .route("/users", get(users::list).post(users::create))
        .route("/users/me", get(directory::me))
        .route("/users/{id}", get(users::show).patch(users::update))
        .route("/users/{id}/deactivate", post(users::deactivate))
        .route("/users/{id}/reactivate", post(users::reactivate))
        .route("/agents", get(directory::agents))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{id}", get(groups::show).patch(groups::update).delete(groups::delete))
        .route("/organisations", get(organisations::list).post(organisations::create))
        .route("/organisations/{id}", get(organisations::show).patch(organisations::update).delete(organisations::delete))
        .route("/states", get(directory::states))
        .route("/reports/tickets", get(reports::tickets))
        .layer(RequestBodyLimitLayer::new(super::BODY_LIMIT_BYTES))
        .merge(uploads)
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This address does not take that method.")
        })
}

/// The API's description, kept beside the routes it describes (a test holds them together).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

/// A failed request, as the API reports it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: BTreeMap<String, String>,
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), fields: BTreeMap::new() }
    }

    /// Missing, foreign and forbidden look the same, so that nothing can be probed.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is nothing here, or it is not yours to see.")
    }

    fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Send a valid API token: `Authorization: Bearer <token>`.")
    }

    /// An `If-Match` that no longer matches: the resource changed since it was read.
    pub fn precondition_failed(current: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            format!("It changed in the meantime; its ETag is now {current}. Nothing was applied."),
        )
    }

    pub fn invalid(fields: &domain::FieldErrors) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Some fields need another look.");
        error.fields = fields.iter().map(|(field, message)| (field.to_owned(), message.to_owned())).collect();
        error
    }
}

impl From<domain::Error> for ApiError {
    fn from(error: domain::Error) -> Self {
        match error {
            domain::Error::NotFound => Self::not_found(),
            domain::Error::Invalid(fields) => Self::invalid(&fields),
            domain::Error::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            domain::Error::Stale { current_version } => Self::new(
                StatusCode::CONFLICT,
                "stale",
                format!("The ticket changed in the meantime; it is now at version {current_version}. Nothing was applied."),
            ),
            domain::Error::Database(error) => internal(error.into()),
            domain::Error::Internal(error) => internal(error),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        internal(error.into())
    }
}

fn internal(cause: anyhow::Error) -> ApiError {
    tracing::error!(error = ?cause, "internal error in the API");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side; it has been logged.")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "fields": self.fields } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `{"data": …}` with a status.
pub fn data(status: StatusCode, value: impl Serialize) -> Response {
    (status, axum::Json(json!({ "data": value }))).into_response()
}

/// The user a bearer token acts for. Cookies are never read here, so a page cannot be
/// made to call the API with a visitor's session.
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            // The scheme's name is case-insensitive (RFC 9110).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret.trim())
            .ok_or_else(ApiError::unauthorized)?;
        api_tokens::authenticate(&state.db, secret, state.now()).await?.map(Caller).ok_or_else(ApiError::unauthorized)
    }
}

/// A caller who is an agent or an admin; anyone else gets 404.
pub struct StaffCaller(pub User);

impl FromRequestParts<AppState> for StaffCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        if user.role.is_staff() { Ok(Self(user)) } else { Err(ApiError::not_found()) }
    }
}

/// A caller who is an admin; anyone else gets 404, as for a page they may not see.
pub struct AdminCaller(pub User);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        if user.role == crate::domain::accounts::role::Role::Admin { Ok(Self(user)) } else { Err(ApiError::not_found()) }
    }
}

/// A page of a list, the same for every list: `data` holds the items, `meta` where the page
/// sits. `total` is null where it is not counted (searches for common words, the queue
/// beyond its cap, the audit trail).
pub fn page_json<T>(paged: Paged<T>, item: impl Fn(T) -> serde_json::Value) -> Response {
    let total = paged.counted.then_some(paged.total_items);
    let meta = json!({ "page": paged.page, "per_page": paged.per_page, "total": total, "has_more": paged.has_next });
    let items: Vec<serde_json::Value> = paged.items.into_iter().map(item).collect();
    (StatusCode::OK, axum::Json(json!({ "data": items, "meta": meta }))).into_response()
}

/// `page` of a list's query string, the same on every list: absent is 1; anything but a
/// whole number from 1 is noted in `errors` (a 422 naming it).
pub fn page_param(raw: Option<&str>, errors: &mut domain::FieldErrors) -> i64 {
    errors.check("page", strict_page_number(raw)).unwrap_or(1)
}

/// The numeric id in a path; anything else names nothing there is (404).
pub fn id_param(raw: &str) -> Result<i64, ApiError> {
    raw.trim().parse::<i64>().ok().filter(|id| *id >= 1).ok_or_else(ApiError::not_found)
}

/// A 201 for what was just made, with `Location` naming where it can be read.
pub fn created(location: String, value: impl Serialize) -> Response {
    with_location(data(StatusCode::CREATED, value), location)
}

pub fn with_location(mut response: Response, location: String) -> Response {
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A JSON body; anything unreadable is answered in the API's own error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(body_error(rejection)),
        }
    }
}

fn body_error(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        _ => "bad_request",
    };
    let detail = rejection.body_text();
    let message = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Send JSON with `Content-Type: application/json`.".to_owned(),
        _ => format!("The body could not be read: {detail}"),
    };
    let mut error = ApiError::new(status, code, message);
    if let Some((field, problem)) = field_of(&detail) {
        error.fields.insert(field, problem);
    }
    error
}

/// The field a deserialisation error names ("assignee: invalid type: …", "unknown field
/// `x`, expected …", "missing field `x`"), so that a mistyped, unknown or missing field is
/// reported by name like any other, whatever characters its name holds.
fn field_of(detail: &str) -> Option<(String, String)> {
    let detail = detail.split_once("target type: ").map_or(detail, |(_, rest)| rest);
    let detail = detail.rsplit_once(" at line ").map_or(detail, |(message, _)| message);
    if let Some(rest) = detail.strip_prefix("unknown field `") {
        let end = rest.rfind("`, expected").or_else(|| rest.rfind("`, there are no fields"))?;
        return Some((rest[..end].to_owned(), "Not a field of this request.".to_owned()));
    }
    if let Some(rest) = detail.strip_prefix("missing field `") {
        return Some((rest.strip_suffix('`')?.to_owned(), "Required.".to_owned()));
    }
    let (path, problem) = detail.split_once(": ")?;
    let is_path = !path.is_empty() && path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    is_path.then(|| (path.to_owned(), problem.to_owned()))
}

/// Query parameters; anything unreadable is answered in the API's own error format.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    /// Read as forms are, so that a repeatable parameter (`tag`) fills a list.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_html_form::from_str(parts.uri.query().unwrap_or_default()).map(Self).map_err(|error| {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("The query string could not be read: {error}"))
        })
    }
}

/// A timestamp as RFC 3339, UTC.
pub fn moment(at: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|moment| moment.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::field_of;

    fn field(detail: &str) -> Option<String> {
        field_of(detail).map(|(field, _)| field)
    }

    #[test]
    fn a_deserialisation_error_names_its_field() {
        let prefix = "Failed to deserialize the JSON body into the target type: ";
        assert_eq!(
            field(&format!("{prefix}unknown field `colour`, expected one of `status`, `priority` at line 1 column 9")).as_deref(),
            Some("colour")
        );
        assert_eq!(
            field(&format!("{prefix}unknown field `a`b c: d`, there are no fields at line 1 column 9")).as_deref(),
            Some("a`b c: d")
        );
        assert_eq!(field(&format!("{prefix}unknown field ``, expected `reason` at line 1 column 3")).as_deref(), Some(""));
        assert_eq!(field(&format!("{prefix}missing field `subject` at line 1 column 2")).as_deref(), Some("subject"));
        assert_eq!(
            field_of(&format!("{prefix}assignee: invalid type: string \"x\", expected i64 at line 1 column 17")),
            Some(("assignee".to_owned(), "invalid type: string \"x\", expected i64".to_owned()))
        );
        assert_eq!(field(&format!("{prefix}invalid type: sequence, expected struct NewTicket at line 1 column 0")), None);
    }
}
