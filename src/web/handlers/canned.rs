//! Canned responses: list, create, edit, delete.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::FieldErrors;
use crate::domain::conversation::canned::{self, CannedInput, CannedResponse};
use crate::web::error::Result;
use crate::web::extract::{Agent, CsrfForm, IdInPath, NoFields};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub struct CannedForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

#[derive(Template)]
#[template(path = "desk/canned.html")]
pub struct CannedPage {
    ctx: PageContext,
    responses: Vec<CannedResponse>,
    form: CannedForm,
    errors: FieldErrors,
    /// The response being edited, if any.
    editing: Option<i64>,
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    form: CannedForm,
    errors: FieldErrors,
    editing: Option<i64>,
) -> Result<CannedPage> {
    Ok(CannedPage { ctx, responses: canned::all(&state.db).await?, form, errors, editing })
}

pub async fn list(State(state): State<AppState>, Agent(_agent): Agent, ctx: PageContext) -> Result<Response> {
    ok(&page(&state, ctx, CannedForm::default(), FieldErrors::new(), None).await?)
}

pub async fn edit_form(
    State(state): State<AppState>,
    Agent(_agent): Agent,
    ctx: PageContext,
    IdInPath(id): IdInPath,
) -> Result<Response> {
    let response = canned::find(&state.db, id).await?;
    let form = CannedForm { title: response.title, body: response.body };
    ok(&page(&state, ctx, form, FieldErrors::new(), Some(response.id)).await?)
}

/// Saves a new response (`editing` is `None`) or changes one.
async fn save(
    state: &AppState,
    agent_id: i64,
    ctx: PageContext,
    session: &AppSession,
    form: CannedForm,
    editing: Option<i64>,
) -> Result<Response> {
    let now = state.now();
    let saved = match CannedInput::parse(&form.title, &form.body) {
        Ok(input) => match editing {
            Some(id) => canned::update(&state.db, id, &input, agent_id, now).await,
            None => canned::create(&state.db, &input, agent_id, now).await.map(|_| ()),
        },
        Err(error) => Err(error),
    };
    let done = |()| done("Canned response saved.", "/desk/canned");
    after_post(
        session,
        saved,
        done,
        |refused| async move { page(state, ctx, form, refused.into_form_messages().0, editing).await },
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<CannedForm>,
) -> Result<Response> {
    save(&state, agent.id, ctx, &session, form, None).await
}

pub async fn update(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ctx: PageContext,
    session: AppSession,
    IdInPath(id): IdInPath,
    CsrfForm(form): CsrfForm<CannedForm>,
) -> Result<Response> {
    let id = canned::find(&state.db, id).await?.id;
    save(&state, agent.id, ctx, &session, form, Some(id)).await
}

pub async fn delete(
    State(state): State<AppState>,
    Agent(agent): Agent,
    session: AppSession,
    IdInPath(id): IdInPath,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    canned::delete(&state.db, id, agent.id, state.now()).await?;
    session.flash(FlashKind::Success, "Canned response deleted.").await?;
    Ok(Redirect::to("/desk/canned").into_response())
}
