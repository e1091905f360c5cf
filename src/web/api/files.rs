//! `GET /api/v1/attachments/{id}`: a file, for whoever may see its message (404 otherwise),
//! served as the pages serve it.

use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::{ApiResult, Caller, internal};
use crate::domain::attachments;
use crate::web::handlers::attachments::file_response;
use crate::web::state::AppState;

pub async fn download(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let (attachment, _) = attachments::find_for_viewer(&state.db, &id, &caller).await?;
    file_response(&state, &attachment, &headers).await.map_err(internal)
}
