use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::web::error::Result;
use crate::web::extract::Viewer;
use crate::web::state::AppState;

/// Sends each visitor to their own start page.
pub async fn start(Viewer(user): Viewer) -> Redirect {
    Redirect::to(user.map_or("/login", |user| user.role.home()))
}

pub async fn healthz(State(state): State<AppState>) -> Result<Response> {
    Ok(match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    })
}
