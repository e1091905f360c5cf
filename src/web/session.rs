//! The typed view of a visitor's session: who is signed in, the CSRF token, and flash
//! messages waiting to be shown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::error::AppError;
use crate::domain::accounts::sign_in::Pending;
use crate::domain::accounts::tokens;

pub const USER_ID_KEY: &str = "user_id";
const CSRF_KEY: &str = "csrf_token";
const FLASH_KEY: &str = "flash";
/// Set between a right password and the second factor: who, and where to go after.
const SECOND_FACTOR_KEY: &str = "second_factor";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Error,
}

impl FlashKind {
    pub fn css_class(self) -> &'static str {
        match self {
            FlashKind::Success => "flash-success",
            FlashKind::Error => "flash-error",
        }
    }
}

/// The cookie that carries an anonymous visitor's form token: visitors who only look at a
/// page with a form (the sign-in page) get no session stored for it.
pub const FORM_COOKIE: &str = "helpdesk_form";
/// Its name over https: a `__Host-` cookie, which no other host (a sibling subdomain) can
/// set for us.
const SECURE_FORM_COOKIE: &str = "__Host-helpdesk_form";

/// This request's form token: from its cookie, or made now (`fresh`), in which case the
/// answer sets the cookie if a page used it.
#[derive(Clone)]
pub struct FormToken {
    value: String,
    fresh: bool,
    used: Arc<AtomicBool>,
}

/// Reads the form cookie, or makes a token for the answer to set.
pub async fn form_token(request: Request, next: Next, secure: bool) -> Response {
    let cookie_name = if secure { SECURE_FORM_COOKIE } else { FORM_COOKIE };
    let mut request = request;
    let existing = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == cookie_name && value.len() == tokens::SECRET_LENGTH)
        .map(|(_, value)| value.to_owned());
    let token = FormToken { fresh: existing.is_none(), value: existing.unwrap_or_else(tokens::secret), used: Arc::default() };
    request.extensions_mut().insert(token.clone());
    let mut response = next.run(request).await;
    if token.fresh && token.used.load(Ordering::Relaxed) {
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!("{cookie_name}={}; Path=/; HttpOnly; SameSite=Lax{secure}", token.value);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Clone)]
pub struct AppSession {
    session: Session,
    form: Option<FormToken>,
}

impl<S: Send + Sync> FromRequestParts<S> for AppSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| AppError::Internal(anyhow::anyhow!("session layer missing: {message}")))?;
        Ok(Self { session, form: parts.extensions.get::<FormToken>().cloned() })
    }
}

impl AppSession {
    pub async fn user_id(&self) -> Result<Option<i64>, AppError> {
        Ok(self.session.get(USER_ID_KEY).await?)
    }

    /// The CSRF token every form of this visitor carries: the session's (made at sign-in, one
    /// for every form, new at each sign-in), or for an anonymous visitor the form cookie's,
    /// which the form must repeat (a page elsewhere can neither read nor set it).
    pub async fn csrf_token(&self) -> Result<String, AppError> {
        if let Some(token) = self.session.get::<String>(CSRF_KEY).await? {
            return Ok(token);
        }
        if self.user_id().await?.is_none()
            && let Some(form) = &self.form
        {
            form.used.store(true, Ordering::Relaxed);
            return Ok(form.value.clone());
        }
        let token = tokens::secret();
        self.session.insert(CSRF_KEY, &token).await?;
        Ok(token)
    }

    pub async fn csrf_matches(&self, submitted: &str) -> Result<bool, AppError> {
        let expected = self.expected_csrf().await?;
        Ok(expected.is_some_and(|expected| tokens::constant_time_eq(&expected, submitted)))
    }

    /// The token a form of this session must carry, if any can be right.
    pub async fn expected_csrf(&self) -> Result<Option<String>, AppError> {
        Ok(match self.session.get::<String>(CSRF_KEY).await? {
            Some(token) => Some(token),
            // Only for anonymous visitors; a cookie made for this very request was never
            // shown in a form.
            None if self.user_id().await?.is_none() => {
                self.form.as_ref().filter(|form| !form.fresh).map(|form| form.value.clone())
            }
            None => None,
        })
    }

    /// Signs the user in under a new session id (so an id planted before sign-in is
    /// worthless) with a new CSRF token.
    pub async fn sign_in(&self, user_id: i64) -> Result<(), AppError> {
        self.session.cycle_id().await?;
        self.session.remove_value(SECOND_FACTOR_KEY).await?;
        self.session.insert(USER_ID_KEY, user_id).await?;
        self.session.insert(CSRF_KEY, tokens::secret()).await?;
        Ok(())
    }

    /// The session's id as stored (to keep it when other sessions of the user end).
    pub fn id(&self) -> Option<String> {
        self.session.id().map(|id| id.to_string())
    }

    /// The password was right; the second factor is still to come. Not signed in yet.
    pub async fn await_second_factor(&self, pending: &Pending, next: &str) -> Result<(), AppError> {
        self.session.cycle_id().await?;
        self.session.insert(SECOND_FACTOR_KEY, (pending, next.to_owned())).await?;
        Ok(())
    }

    /// Who is between their password and their second factor, and where they were going.
    pub async fn awaiting_second_factor(&self) -> Result<Option<(Pending, String)>, AppError> {
        Ok(self.session.get(SECOND_FACTOR_KEY).await?)
    }

    /// Ends the session: its data is deleted, and whatever the visitor does next happens
    /// under a new id (tower-sessions' `flush` alone would reuse the old one).
    pub async fn sign_out(&self) -> Result<(), AppError> {
        self.session.flush().await?;
        self.session.cycle_id().await?;
        Ok(())
    }

    pub async fn flash(&self, kind: FlashKind, message: impl Into<String>) -> Result<(), AppError> {
        let mut waiting: Vec<Flash> = self.session.get(FLASH_KEY).await?.unwrap_or_default();
        waiting.push(Flash { kind, message: message.into() });
        self.session.insert(FLASH_KEY, waiting).await?;
        Ok(())
    }

    pub async fn take_flashes(&self) -> Result<Vec<Flash>, AppError> {
        // Removing marks the session modified, which costs a write: only do it when needed.
        let Some(waiting) = self.session.get::<Vec<Flash>>(FLASH_KEY).await? else {
            return Ok(Vec::new());
        };
        self.session.remove_value(FLASH_KEY).await?;
        Ok(waiting)
    }
}
