//! Signing in (password, then a second factor where set up) and out, and first-run setup.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::accounts::role::Role;
use crate::domain::accounts::setup;
use crate::domain::accounts::sign_in::{self, Outcome};
use crate::domain::accounts::users::{NewUser, User};
use crate::domain::admin::settings::Settings;
use crate::domain::{self, FieldErrors};
use crate::web::error::{AppError, Result};
use crate::web::extract::{ClientAddress, CsrfForm, NoFields};
use crate::web::page::{PageContext, ok, render};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

const WRONG_CREDENTIALS: &str = "The email or password is not right. Check both and try again.";
const LOCKED_OUT: &str = "Too many failed sign-in attempts. Wait 15 minutes, then try again.";
const UNVERIFIED: &str = "Confirm your email address first: open the link we mailed you when you registered.";
const WRONG_CODE: &str = "That code is not right. Enter the 6 digits your app shows now, or one of your recovery codes.";

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
    /// The password was right but the address is unconfirmed: offer a new link.
    unverified: bool,
}

pub async fn login_form(ctx: PageContext, Query(query): Query<NextQuery>) -> Result<Response> {
    if let Some(user) = &ctx.user {
        return Ok(Redirect::to(user.role.home()).into_response());
    }
    let next = query.next.as_deref().and_then(local_path).unwrap_or_default();
    ok(&LoginPage { ctx, email: String::new(), next, error: None, unverified: false })
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
    let next = local_path(&form.next);
    let refuse = |status: StatusCode, error: &'static str, unverified: bool| {
        let page =
            LoginPage { ctx, email: form.email.clone(), next: next.clone().unwrap_or_default(), error: Some(error), unverified };
        render(status, &page)
    };
    match sign_in::with_password(&state.db, &form.email, &form.password, address, state.now()).await? {
        Outcome::Throttled => refuse(StatusCode::TOO_MANY_REQUESTS, LOCKED_OUT, false),
        Outcome::Refused => refuse(StatusCode::UNPROCESSABLE_ENTITY, WRONG_CREDENTIALS, false),
        Outcome::Unverified(_) => refuse(StatusCode::UNPROCESSABLE_ENTITY, UNVERIFIED, true),
        Outcome::SecondFactor(pending) => {
            session.await_second_factor(&pending, next.as_deref().unwrap_or_default()).await?;
            Ok(Redirect::to("/login/two-factor").into_response())
        }
        Outcome::Expired => refuse(StatusCode::UNPROCESSABLE_ENTITY, WRONG_CREDENTIALS, false),
        Outcome::SignedIn(user) => signed_in(&state, &session, &user, next.as_deref()).await,
    }
}

/// Where a completed sign-in leads: the page asked for, or the role's start page — or, for
/// staff who must set up two-factor and have not, its set-up page first.
async fn signed_in(state: &AppState, session: &AppSession, user: &User, next: Option<&str>) -> Result<Response> {
    session.sign_in(user.id).await?;
    let must_enrol = user.role.is_staff() && !user.two_factor && Settings::load(&state.db).await?.require_two_factor_staff;
    if must_enrol {
        session.flash(FlashKind::Error, "Set up two-factor sign-in to continue: it is required for staff here.").await?;
        return Ok(Redirect::to("/profile/two-factor").into_response());
    }
    Ok(Redirect::to(next.filter(|next| !next.is_empty()).unwrap_or(user.role.home())).into_response())
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
pub struct SecondFactorPage {
    ctx: PageContext,
    error: Option<&'static str>,
}

pub async fn second_factor_form(session: AppSession, ctx: PageContext) -> Result<Response> {
    if session.awaiting_second_factor().await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    ok(&SecondFactorPage { ctx, error: None })
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn second_factor(
    State(state): State<AppState>,
    ctx: PageContext,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response> {
    let Some((pending, next)) = session.awaiting_second_factor().await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let refuse = |status: StatusCode, error: &'static str| render(status, &SecondFactorPage { ctx, error: Some(error) });
    match sign_in::with_code(&state.db, &pending, &form.code, address, state.now()).await? {
        Outcome::Throttled => refuse(StatusCode::TOO_MANY_REQUESTS, LOCKED_OUT),
        Outcome::Expired => {
            session.sign_out().await?;
            session.flash(FlashKind::Error, "That took too long, or your password changed: sign in again.").await?;
            Ok(Redirect::to("/login").into_response())
        }
        Outcome::SignedIn(user) => signed_in(&state, &session, &user, Some(&next)).await,
        _ => refuse(StatusCode::UNPROCESSABLE_ENTITY, WRONG_CODE),
    }
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
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    password: String,
}

impl AccountForm {
    pub fn parse(&self, role: Role) -> domain::Result<NewUser> {
        NewUser::parse(&self.name, &self.email, &self.password, role)
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
    pub token: String,
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
