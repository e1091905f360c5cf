//! API tokens on a user's page: made by an admin (the secret shown once, in the answer
//! itself) and revoked.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::users::stored_page;
use crate::domain::accounts::api_tokens;
use crate::domain::accounts::user_admin;
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Admin, CsrfForm, IdInPath, NoFields};
use crate::web::page::{PageContext, ok, render};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

/// A token just made, for the page that shows its secret this once.
pub struct NewToken {
    pub name: String,
    pub secret: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token_name: String,
}

/// Creates an API token for the user; its secret is shown once, in the answer itself.
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response> {
    let user = user_admin::find(&state.db, id).await?;
    let user_id = user.id;
    let page = |errors| stored_page(&state, ctx, user, errors, None);
    match api_tokens::create(&state.db, user_id, &form.token_name, Some(admin.id), state.now()).await {
        // Shown in this answer only: kept in no session for a redirect, and not cached.
        Ok(secret) => {
            let mut page = page(FieldErrors::new()).await?;
            page.new_token = Some(NewToken { name: form.token_name.trim().to_owned(), secret });
            let mut response = ok(&page)?;
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(domain::Error::Invalid(errors)) => {
            let mut page = page(FieldErrors::single("token_name", errors.summary())).await?;
            page.token_name = form.token_name;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(token_id): IdInPath,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let user_id = api_tokens::revoke(&state.db, token_id, admin.id, state.now()).await?;
    session.flash(FlashKind::Success, "Token revoked: it no longer works.").await?;
    Ok(Redirect::to(&format!("/admin/users/{user_id}")).into_response())
}
