//! One error type for every page. The cause of an internal error is logged; the visitor
//! sees a plain page that says what to do next, never the cause.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{PageContext, render};
use crate::domain;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("CSRF token missing or wrong")]
    CsrfMismatch,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("too many requests")]
    TooManyRequests(String),
    /// Not an error to show: an anonymous visitor asked for a page that needs an account.
    #[error("sign-in required")]
    SignInRequired { next: String },
    /// Not an error to show either: staff who must set up two-factor before working.
    #[error("two-factor set-up required")]
    TwoFactorSetUpRequired,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(error.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::Internal(anyhow::anyhow!("rendering a template: {error}"))
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        Self::Internal(anyhow::anyhow!("session store: {error}"))
    }
}

impl From<domain::Error> for AppError {
    fn from(error: domain::Error) -> Self {
        match error {
            domain::Error::NotFound => Self::NotFound,
            domain::Error::Conflict(message) => Self::Conflict(message),
            domain::Error::Stale { .. } => {
                Self::Conflict("Someone changed this ticket while you were working on it. Nothing was applied.".into())
            }
            domain::Error::Invalid(errors) => Self::Unprocessable(errors.summary()),
            domain::Error::Database(error) => error.into(),
            domain::Error::Internal(error) => Self::Internal(error),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub ctx: PageContext,
    pub status: u16,
    pub title: &'static str,
    pub message: String,
    pub hint: &'static str,
}

impl AppError {
    fn describe(&self) -> (StatusCode, &'static str, String, &'static str) {
        match self {
            Self::NotFound | Self::SignInRequired { .. } | Self::TwoFactorSetUpRequired => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here, or it is not yours to see.".into(),
                "Check the address, or go back to your start page.",
            ),
            Self::CsrfMismatch => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety every form is tied to your session, and this one no longer matches it \
                 (perhaps you signed in or out in another tab)."
                    .into(),
                "Go back, reload the page, and submit the form again. Nothing was changed.",
            ),
            Self::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "That request could not be read",
                message.clone(),
                "Go back and try again. Nothing was changed.",
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "That was too much at once",
                "The request was larger than the 2 MiB this server accepts.".into(),
                "Go back, shorten the text, and try again. Nothing was changed.",
            ),
            Self::Conflict(message) => (
                StatusCode::CONFLICT,
                "That cannot be done now",
                message.clone(),
                "Reload the page to see the current state. Nothing was changed.",
            ),
            Self::Unprocessable(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Some details need another look",
                message.clone(),
                "Go back, correct the form, and submit it again. Nothing was changed.",
            ),
            Self::TooManyRequests(message) => {
                (StatusCode::TOO_MANY_REQUESTS, "Too many attempts", message.clone(), "Wait a few minutes, then try again.")
            }
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side",
                "The problem has been logged.".into(),
                "Try again in a moment. If it keeps happening, tell your administrator the time it happened.",
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::SignInRequired { next } = &self {
            return Redirect::to(&format!("/login?next={}", encode_query_value(next))).into_response();
        }
        if let Self::TwoFactorSetUpRequired = &self {
            return Redirect::to("/profile/two-factor").into_response();
        }
        if let Self::Internal(cause) = &self {
            tracing::error!(error = ?cause, "internal error");
        }
        let (status, title, message, hint) = self.describe();
        let page = ErrorPage { ctx: PageContext::for_error(), status: status.as_u16(), title, message, hint };
        render(status, &page).unwrap_or_else(|_| (status, title).into_response())
    }
}

/// Percent-encodes a query value (everything but unreserved characters and `/`).
pub fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
