//! What every page shares: the layout's context (organisation, who is signed in, the CSRF
//! token, flash messages) and rendering with a status code.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::assets;
use super::error::AppError;
use super::extract::Viewer;
use super::session::{AppSession, Flash, FlashKind};
use super::state::AppState;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::User;
use crate::domain::admin::settings;
use crate::domain::{self, FieldErrors};

pub struct PageContext {
    pub organisation: String,
    pub user: Option<User>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    pub path: String,
    pub asset_version: &'static str,
    /// The largest attachment taken, for the hint beside file inputs.
    pub max_attachment_mb: u64,
    /// Error pages show a bare header: they may be rendered without a session or database.
    pub bare: bool,
}

impl PageContext {
    /// Whether the page is shown to the account `user_id` itself.
    pub fn is_signed_in_as(&self, user_id: i64) -> bool {
        self.user.as_ref().is_some_and(|user| user.id == user_id)
    }

    pub fn for_error() -> Self {
        Self {
            organisation: settings::Settings::default().organisation_name,
            user: None,
            csrf_token: String::new(),
            flashes: Vec::new(),
            path: String::new(),
            asset_version: assets::version(),
            max_attachment_mb: 0,
            bare: true,
        }
    }

    /// Whether the navigation link to `prefix` is the current section.
    pub fn is_current(&self, prefix: &str) -> bool {
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.role == Role::Admin)
    }

    pub fn is_staff(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.role.is_staff())
    }
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Viewer(user) = Viewer::from_request_parts(parts, state).await?;
        let session = AppSession::from_request_parts(parts, state).await?;
        Ok(Self {
            organisation: settings::organisation_name(&state.db).await?,
            user,
            csrf_token: session.csrf_token().await?,
            flashes: session.take_flashes().await?,
            path: parts.uri.path().to_owned(),
            asset_version: assets::version(),
            max_attachment_mb: state.config.max_attachment_mb,
            bare: false,
        })
    }
}

pub fn render(status: StatusCode, template: &impl Template) -> Result<Response, AppError> {
    Ok((status, Html(template.render()?)).into_response())
}

pub fn ok(template: &impl Template) -> Result<Response, AppError> {
    render(StatusCode::OK, template)
}

/// Why a change posted from a page was not made, when the page is to be shown again
/// with the reason beside the form.
pub enum Refusal {
    /// Some fields are wrong (422).
    Invalid(FieldErrors),
    /// The ticket's state forbids it (409).
    Conflict(String),
    /// It was made against an older version of the ticket (409).
    Stale,
}

impl Refusal {
    /// What a form shows: a message by each bad field, or one about the whole change.
    pub fn into_form_messages(self) -> (FieldErrors, Option<String>) {
        match self {
            Refusal::Invalid(errors) => (errors, None),
            Refusal::Conflict(message) => (FieldErrors::new(), Some(message)),
            Refusal::Stale => (FieldErrors::new(), Some("Someone changed this in the meantime. Nothing was applied.".into())),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::Conflict(_) | Refusal::Stale => StatusCode::CONFLICT,
        }
    }
}

/// Where a change that was made leads: a flash message, and the page to go to.
pub struct Done {
    pub flash: String,
    pub to: String,
}

pub fn done(flash: impl Into<String>, to: impl Into<String>) -> Done {
    Done { flash: flash.into(), to: to.into() }
}

/// Answers a posted change, the one way every form does: made, it flashes and answers 303
/// (so a reload posts nothing twice); refused for a reason the form shows, the page comes
/// again from `again` with that reason (422 for bad fields, 409 for the state); any other
/// error goes to the error page.
pub async fn after_post<T, P, Again>(
    session: &AppSession,
    outcome: domain::Result<T>,
    done: impl FnOnce(T) -> Done,
    again: impl FnOnce(Refusal) -> Again,
) -> Result<Response, AppError>
where
    P: Template,
    Again: Future<Output = Result<P, AppError>>,
{
    let refused = match outcome {
        Ok(made) => {
            let Done { flash, to } = done(made);
            session.flash(FlashKind::Success, flash).await?;
            return Ok(Redirect::to(&to).into_response());
        }
        Err(domain::Error::Invalid(errors)) => Refusal::Invalid(errors),
        Err(domain::Error::Conflict(message)) => Refusal::Conflict(message),
        Err(domain::Error::Stale { .. }) => Refusal::Stale,
        Err(error) => return Err(error.into()),
    };
    let status = refused.status();
    render(status, &again(refused).await?)
}
