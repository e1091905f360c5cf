//! Accounts from the outside: registering, confirming an address, and choosing a new
//! password with a mailed link. Every answer is the same whether an address has an account
//! or not, and every request that makes us send mail is limited per client address.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{AccountForm, TokenQuery};
use crate::domain::accounts::login_throttle;
use crate::domain::accounts::password::Password;
use crate::domain::accounts::recovery::{self, LINK_REFUSED};
use crate::domain::accounts::registration;
use crate::domain::accounts::role::Role;
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{ClientAddress, CsrfForm};
use crate::web::page::{PageContext, after_post, done, ok, render};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

pub(super) const TOO_MANY: &str = "Too many requests from your address. Wait 15 minutes, then try again.";

/// Refuses a request that would make us mail or register once this address has made too many.
pub(super) async fn limited(state: &AppState, action: &str, address: std::net::IpAddr) -> Result<bool> {
    Ok(login_throttle::record_request(&state.db, action, address, state.now()).await?)
}

#[derive(Template)]
#[template(path = "auth/register.html")]
pub struct RegisterPage {
    ctx: PageContext,
    form: AccountForm,
    errors: FieldErrors,
    error: Option<&'static str>,
}

pub async fn register_form(ctx: PageContext) -> Result<Response> {
    if let Some(user) = &ctx.user {
        return Ok(Redirect::to(user.role.home()).into_response());
    }
    ok(&RegisterPage { ctx, form: AccountForm::default(), errors: FieldErrors::new(), error: None })
}

pub async fn register(
    State(state): State<AppState>,
    ctx: PageContext,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Result<Response> {
    if limited(&state, "register", address).await? {
        let page = RegisterPage { ctx, form, errors: FieldErrors::new(), error: Some(TOO_MANY) };
        return render(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let registered = match form.parse(Role::Customer) {
        Ok(new_user) => registration::register(&state.db, &new_user, state.now()).await,
        Err(error) => Err(error),
    };
    let email = form.email.trim().to_lowercase();
    let message =
        format!("Check your mail: we sent a message to {email}. Open the link in it to confirm your address, then sign in here.");
    after_post(
        &session,
        registered,
        |()| done(message, "/login"),
        |refused| async move { Ok(RegisterPage { ctx, form, errors: refused.into_form_messages().0, error: None }) },
    )
    .await
}

/// `/verify?token=…`: the link in the confirmation mail. Following it is the proof.
pub async fn verify(State(state): State<AppState>, session: AppSession, Query(query): Query<TokenQuery>) -> Result<Response> {
    match registration::verify(&state.db, &query.token, state.now()).await? {
        Some(_) => session.flash(FlashKind::Success, "Your address is confirmed. Sign in to continue.").await?,
        None => {
            session
                .flash(FlashKind::Error, "That confirmation link has been used or has expired. Sign in to ask for a new one.")
                .await?
        }
    }
    Ok(Redirect::to("/login").into_response())
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// A request that makes us mail someone a link: limited per address, and answered the same
/// whoever the address belongs to.
async fn mail_a_link<F: Future<Output = domain::Result<()>>>(
    state: &AppState,
    session: &AppSession,
    address: std::net::IpAddr,
    send: impl FnOnce() -> F,
    answer: &str,
    back: &str,
) -> Result<Response> {
    if limited(state, "mail", address).await? {
        session.flash(FlashKind::Error, TOO_MANY).await?;
        return Ok(Redirect::to(back).into_response());
    }
    send().await?;
    session.flash(FlashKind::Success, answer).await?;
    Ok(Redirect::to("/login").into_response())
}

pub async fn resend_verification(
    State(state): State<AppState>,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response> {
    let answer = "If that address is waiting to be confirmed, a new link is on its way. It works for 24 hours.";
    let send = || registration::resend_verification(&state.db, &form.email, state.now());
    mail_a_link(&state, &session, address, send, answer, "/login").await
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
pub struct ForgotPage {
    ctx: PageContext,
    email: String,
}

pub async fn forgot_form(ctx: PageContext) -> Result<Response> {
    ok(&ForgotPage { ctx, email: String::new() })
}

pub async fn forgot(
    State(state): State<AppState>,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response> {
    let answer = "If that address has an account, a link to choose a new password is on its way. It works once, for an hour.";
    let send = || recovery::request_reset(&state.db, &form.email, state.now());
    mail_a_link(&state, &session, address, send, answer, "/password/forgot").await
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
pub struct ResetPage {
    ctx: PageContext,
    token: String,
    errors: FieldErrors,
}

pub async fn reset_form(State(state): State<AppState>, ctx: PageContext, Query(query): Query<TokenQuery>) -> Result<Response> {
    if recovery::link_is_good(&state.db, &query.token, state.now()).await? {
        return ok(&ResetPage { ctx, token: query.token, errors: FieldErrors::new() });
    }
    let page = ResetPage { ctx, token: String::new(), errors: FieldErrors::single("token", LINK_REFUSED) };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    ctx: PageContext,
    session: AppSession,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response> {
    // Guessing at links, or making us hash passwords for nothing, is limited too.
    if limited(&state, "reset", address).await? {
        let page = ResetPage { ctx, token: form.token, errors: FieldErrors::single("password", TOO_MANY) };
        return render(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let outcome = match Password::parse(&form.password) {
        Ok(password) => recovery::reset_password(&state.db, &form.token, &password, state.now()).await,
        Err(message) => Err(domain::Error::Invalid(FieldErrors::single("password", message))),
    };
    let done = |_| done("Your new password is set. Sign in with it.", "/login");
    after_post(&session, outcome, done, |refused| async move {
        let errors = refused.into_form_messages().0;
        Ok(ResetPage { ctx, token: form.token, errors })
    })
    .await
}
