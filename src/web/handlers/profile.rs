//! `/profile`: who you are, and which notification mails you receive.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::accounts::users::User;
use crate::domain::mail::outbox::{self, Notification};
use crate::web::error::Result;
use crate::web::extract::{CsrfForm, SignedIn};
use crate::web::page::{PageContext, ok};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

/// The notification kinds a user of this role can receive and turn off.
fn kinds_for(user: &User) -> &'static [Notification] {
    if user.role.is_staff() { &Notification::FOR_STAFF } else { &Notification::FOR_CUSTOMERS }
}

pub struct NotificationChoice {
    kind: &'static str,
    description: &'static str,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    ctx: PageContext,
    user: User,
    choices: Vec<NotificationChoice>,
}

pub async fn show(State(state): State<AppState>, SignedIn(user): SignedIn, ctx: PageContext) -> Result<Response> {
    let preferences = outbox::preferences(&state.db, user.id).await?;
    let choices = kinds_for(&user)
        .iter()
        .map(|kind| NotificationChoice {
            kind: kind.as_str(),
            description: kind.label(),
            enabled: preferences.iter().any(|(each, enabled)| each == kind && *enabled),
        })
        .collect();
    ok(&ProfilePage { ctx, user, choices })
}

#[derive(Deserialize)]
pub struct NotificationsForm {
    /// The kinds left on (checkboxes: the unticked ones are not sent).
    #[serde(default)]
    notify: Vec<String>,
}

pub async fn update(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    session: AppSession,
    CsrfForm(form): CsrfForm<NotificationsForm>,
) -> Result<Response> {
    let kinds = kinds_for(&user);
    let enabled: Vec<Notification> =
        form.notify.iter().filter_map(|kind| kind.parse::<Notification>().ok()).filter(|kind| kinds.contains(kind)).collect();
    outbox::set_preferences(&state.db, user.id, kinds, &enabled, state.now()).await?;
    session.flash(FlashKind::Success, "Notification settings saved.").await?;
    Ok(Redirect::to("/profile").into_response())
}
