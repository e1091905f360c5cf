//! `POST /mail/inbound`: raw RFC 5322 mail from a mail service, guarded by the
//! `MAIL_INGEST_TOKEN` secret. The same ingest as `helpdesk mail ingest`, answered in JSON.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::accounts::tokens;
use crate::domain::admin::settings::Settings;
use crate::domain::mail::intake::{self, Inbox, IngestError, Ingested};
use crate::web::error::{AppError, Result};
use crate::web::state::AppState;

/// The largest mail taken: more than the common mail services send (25 to 35 MB); the files
/// in it then keep to `MAX_ATTACHMENT_MB` each.
pub const INBOUND_MAIL_LIMIT_BYTES: usize = 64 * 1024 * 1024;

pub async fn receive(State(state): State<AppState>, request: Request) -> Result<Response> {
    let Some(secret) = state.config.mail_ingest_token() else {
        return Err(AppError::NotFound);
    };
    // The token first: nobody without it makes the server read 64 MiB.
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !presented.is_some_and(|presented| tokens::constant_time_eq(presented.trim(), secret)) {
        let error =
            json!({ "error": { "code": "unauthorized", "message": "Present the ingest token as `Authorization: Bearer …`." } });
        return Ok((StatusCode::UNAUTHORIZED, axum::Json(error)).into_response());
    }
    let Ok(raw) = axum::body::to_bytes(request.into_body(), INBOUND_MAIL_LIMIT_BYTES).await else {
        let error = json!({ "error": { "code": "payload_too_large", "message": "The mail is over 64 MiB, or was cut off." } });
        return Ok((StatusCode::PAYLOAD_TOO_LARGE, axum::Json(error)).into_response());
    };
    let settings = Settings::load(&state.db).await?;
    let own = state.mailer.own_mail(&state.config);
    let inbox =
        Inbox { db: &state.db, settings: &settings, files: &state.files, notify_email: state.config.notify_email.as_deref() };
    let outcome = intake::ingest(&inbox, &own, &raw, state.now()).await;
    let (status, body) = match outcome {
        Ok(Ingested::Added(number)) => (StatusCode::OK, json!({ "data": { "outcome": "added", "ticket": number.get() } })),
        Ok(Ingested::Opened(number)) => (StatusCode::CREATED, json!({ "data": { "outcome": "opened", "ticket": number.get() } })),
        Ok(Ingested::AlreadyReceived) => (StatusCode::OK, json!({ "data": { "outcome": "already_received" } })),
        Err(IngestError::Refused(reason)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": { "code": "refused", "message": reason } }))
        }
        Err(IngestError::Failed(error)) => return Err(error.into()),
    };
    Ok((status, axum::Json(body)).into_response())
}
