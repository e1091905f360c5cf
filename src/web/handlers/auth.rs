//! Signing in and out, customer registration, and first-run setup.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::accounts::login_throttle::{self, AttemptKeys};
use crate::domain::accounts::role::Role;
use crate::domain::accounts::setup;
use crate::domain::accounts::users::{self, NewUser};
use crate::domain::{self, FieldErrors};
use crate::web::error::{AppError, Result};
use crate::web::extract::{ClientAddress, CsrfForm, NoFields};
use crate::web::page::{PageContext, ok, render};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

const WRONG_CREDENTIALS: &str = "The email or password is not right. Check both and try again.";
const LOCKED_OUT: &str = "Too many failed sign-in attempts. Wait 15 minutes, then try again.";

/// `next` is only followed to a path on this site: never to another host (`//evil`,
/// `https://…`, `/\evil`), which would make the login page an open redirect.
pub fn local_path(next: &str) -> Option<String> {
    let next = next.trim();
    let is_local =
        next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control);
    is_local.then(|| next.to_owned())
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    ctx: PageContext,
    email: String,
    next: String,
    error: Option<&'static str>,
}

pub async fn login_form(ctx: PageContext, Query(query): Query<NextQuery>) -> Result<Response> {
    if let Some(user) = &ctx.user {
        return Ok(Redirect::to(user.role.home()).into_response());
    }
    let next = query.next.as_deref().and_then(local_path).unwrap_or_default();
    ok(&LoginPage { ctx, email: String::new(), next, error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ctx: PageContext,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response> {
    let now = state.now();
    let keys = AttemptKeys::new(&form.email, address);
    let next = local_path(&form.next);
    let refuse = |status: StatusCode, error: &'static str| {
        let page = LoginPage { ctx, email: form.email.clone(), next: next.clone().unwrap_or_default(), error: Some(error) };
        render(status, &page)
    };
    let attempt = login_throttle::record_attempt(&state.db, &keys, now).await?;
    if attempt.over_limit {
        return refuse(StatusCode::TOO_MANY_REQUESTS, LOCKED_OUT);
    }
    let Some(user) = users::authenticate(&state.db, &form.email, &form.password).await? else {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, WRONG_CREDENTIALS);
    };
    login_throttle::record_success(&state.db, &keys, attempt).await?;
    session.sign_in(user.id).await?;
    Ok(Redirect::to(next.as_deref().unwrap_or(user.role.home())).into_response())
}

pub async fn logout(session: AppSession, CsrfForm(NoFields {}): CsrfForm<NoFields>) -> Result<Redirect> {
    session.sign_out().await?;
    session.flash(FlashKind::Success, "You have signed out.").await?;
    Ok(Redirect::to("/login"))
}

#[derive(Deserialize, Default)]
pub struct AccountForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

impl AccountForm {
    fn parse(&self, role: Role) -> domain::Result<NewUser> {
        NewUser::parse(&self.name, &self.email, &self.password, role)
    }
}

#[derive(Template)]
#[template(path = "auth/register.html")]
pub struct RegisterPage {
    ctx: PageContext,
    form: AccountForm,
    errors: FieldErrors,
}

pub async fn register_form(ctx: PageContext) -> Result<Response> {
    if let Some(user) = &ctx.user {
        return Ok(Redirect::to(user.role.home()).into_response());
    }
    ok(&RegisterPage { ctx, form: AccountForm::default(), errors: FieldErrors::new() })
}

pub async fn register(
    State(state): State<AppState>,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Result<Response> {
    let created = match form.parse(Role::Customer) {
        Ok(new_user) => users::create(&state.db, &new_user, None, state.now()).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(user) => {
            session.sign_in(user.id).await?;
            session.flash(FlashKind::Success, format!("Welcome, {}! Your account is ready.", user.name)).await?;
            Ok(Redirect::to(user.role.home()).into_response())
        }
        Err(domain::Error::Invalid(errors)) => render(StatusCode::UNPROCESSABLE_ENTITY, &RegisterPage { ctx, form, errors }),
        Err(error) => Err(error.into()),
    }
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
pub struct SetupPage {
    ctx: PageContext,
    form: AccountForm,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn setup_form(State(state): State<AppState>, ctx: PageContext, Query(query): Query<TokenQuery>) -> Result<Response> {
    if !setup::token_is_valid(&state.db, &query.token).await? {
        return Err(AppError::NotFound);
    }
    let form = AccountForm { token: query.token, ..AccountForm::default() };
    ok(&SetupPage { ctx, form, errors: FieldErrors::new() })
}

pub async fn setup(
    State(state): State<AppState>,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Result<Response> {
    if !setup::token_is_valid(&state.db, &form.token).await? {
        return Err(AppError::NotFound);
    }
    let created = match form.parse(Role::Admin) {
        Ok(new_admin) => setup::create_first_admin(&state.db, &form.token, &new_admin, state.now()).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(admin) => {
            session.sign_in(admin.id).await?;
            session.flash(FlashKind::Success, "Your admin account is ready. Welcome to Helpdesk!").await?;
            Ok(Redirect::to("/admin").into_response())
        }
        Err(domain::Error::Invalid(errors)) => render(StatusCode::UNPROCESSABLE_ENTITY, &SetupPage { ctx, form, errors }),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/tickets/1001").as_deref(), Some("/tickets/1001"));
        assert_eq!(local_path("/desk?view=mine").as_deref(), Some("/desk?view=mine"));
        for off_site in ["https://evil.example", "//evil.example", "/\\evil.example", "evil", "", "/a\nb", "javascript:alert(1)"]
        {
            assert_eq!(local_path(off_site), None, "{off_site:?} was accepted");
        }
    }
}
