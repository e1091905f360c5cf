//! `/profile`: who you are, which notification mails you receive, your password and your
//! two-factor sign-in.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::accounts::{TOO_MANY, limited};
use crate::domain::accounts::recovery;
use crate::domain::accounts::two_factor;
use crate::domain::accounts::users::User;
use crate::domain::admin::settings::Settings;
use crate::domain::mail::notification::{self, Notification};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{ClientAddress, CsrfForm, SignedIn};
use crate::web::page::{PageContext, after_post, done, ok, render};
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
#[template(path = "profile/show.html")]
pub struct ProfilePage {
    ctx: PageContext,
    user: User,
    choices: Vec<NotificationChoice>,
}

pub async fn show(State(state): State<AppState>, SignedIn(user): SignedIn, ctx: PageContext) -> Result<Response> {
    let preferences = notification::preferences(&state.db, user.id).await?;
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
    notification::set_preferences(&state.db, user.id, kinds, &enabled, state.now()).await?;
    session.flash(FlashKind::Success, "Notification settings saved.").await?;
    Ok(Redirect::to("/profile").into_response())
}

#[derive(Template)]
#[template(path = "profile/password.html")]
pub struct PasswordPage {
    ctx: PageContext,
    errors: FieldErrors,
}

pub async fn password_form(SignedIn(_user): SignedIn, ctx: PageContext) -> Result<Response> {
    ok(&PasswordPage { ctx, errors: FieldErrors::new() })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: PageContext,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response> {
    // Each try checks the current password: limited like signing in.
    if limited(&state, "password", address).await? {
        return render(
            StatusCode::TOO_MANY_REQUESTS,
            &PasswordPage { ctx, errors: FieldErrors::single("current_password", TOO_MANY) },
        );
    }
    let session_id = session.id().unwrap_or_default();
    let changed =
        recovery::change_password(&state.db, &user, &form.current_password, &form.password, &session_id, state.now()).await;
    let done = |()| done("Password changed. You are signed out everywhere else.", "/profile");
    after_post(&session, changed, done, |refused| async move { Ok(PasswordPage { ctx, errors: refused.into_form_messages().0 }) })
        .await
}

#[derive(Template)]
#[template(path = "profile/two_factor.html")]
pub struct TwoFactorPage {
    ctx: PageContext,
    user: User,
    setup: Option<two_factor::Setup>,
    /// Shown once, right after turning it on.
    recovery_codes: Option<Vec<String>>,
    continue_to: &'static str,
    /// Staff who must set it up before working (the admins' setting).
    required: bool,
    errors: FieldErrors,
}

async fn two_factor_page(state: &AppState, ctx: PageContext, user: User, errors: FieldErrors) -> Result<TwoFactorPage> {
    let settings = Settings::load(&state.db).await?;
    let setup = if user.two_factor {
        None
    } else {
        Some(two_factor::setup(&state.db, &user, &settings.organisation_name, state.now()).await?)
    };
    let continue_to = user.role.home();
    let required = user.role.is_staff() && !user.two_factor && settings.require_two_factor_staff;
    Ok(TwoFactorPage { ctx, user, setup, recovery_codes: None, continue_to, required, errors })
}

pub async fn two_factor_form(State(state): State<AppState>, SignedIn(user): SignedIn, ctx: PageContext) -> Result<Response> {
    // The page shows the key being set up: never kept by a cache.
    let mut response = ok(&two_factor_page(&state, ctx, user, FieldErrors::new()).await?)?;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Turns two-factor on. The recovery codes are shown in this answer and nowhere else (not
/// kept in the session for a redirect), so a reload shows them no more.
pub async fn enable_two_factor(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: PageContext,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response> {
    match two_factor::enable(&state.db, &user, &form.code, state.now()).await {
        Ok(codes) => {
            let user = User { two_factor: true, ..user };
            let continue_to = user.role.home();
            let page = TwoFactorPage {
                ctx,
                user,
                setup: None,
                recovery_codes: Some(codes),
                continue_to,
                required: false,
                errors: FieldErrors::new(),
            };
            let mut response = ok(&page)?;
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(domain::Error::Invalid(errors)) => {
            render(StatusCode::UNPROCESSABLE_ENTITY, &two_factor_page(&state, ctx, user, errors).await?)
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: String,
}

pub async fn disable_two_factor(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: PageContext,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<DisableForm>,
) -> Result<Response> {
    if limited(&state, "password", address).await? {
        let page = two_factor_page(&state, ctx, user, FieldErrors::single("password", TOO_MANY)).await?;
        return render(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let disabled = two_factor::disable(&state.db, &user, &form.password, state.now()).await;
    let done = |()| done("Two-factor sign-in is off.", "/profile");
    after_post(&session, disabled, done, |refused| async move {
        two_factor_page(&state, ctx, user, refused.into_form_messages().0).await
    })
    .await
}
