//! `/admin/mail`: notifications that could not be delivered, each with a retry.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use crate::domain::mail::outbox::{self, FailedMail};
use crate::web::error::Result;
use crate::web::extract::{Admin, CsrfForm, IdInPath, NoFields};
use crate::web::format::Moment;
use crate::web::page::{PageContext, ok};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "admin/mail.html")]
pub struct MailPage {
    ctx: PageContext,
    failed: Vec<(FailedMail, Moment)>,
    delivering_to_log: bool,
}

pub async fn failed(State(state): State<AppState>, Admin(_admin): Admin, ctx: PageContext) -> Result<Response> {
    let now = state.now();
    let failed = outbox::failed(&state.db).await?.into_iter().map(|mail| {
        let moment = Moment::new(mail.created_at, now);
        (mail, moment)
    });
    ok(&MailPage { ctx, failed: failed.collect(), delivering_to_log: state.config.smtp_url.is_none() })
}

pub async fn retry(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    outbox::retry(&state.db, id, admin.id, state.now()).await?;
    session.flash(FlashKind::Success, "The mail is queued again.").await?;
    Ok(Redirect::to("/admin/mail").into_response())
}
