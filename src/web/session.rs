//! The typed view of a visitor's session: who is signed in, the CSRF token, and flash
//! messages waiting to be shown.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::error::AppError;
use crate::domain::accounts::tokens;

pub const USER_ID_KEY: &str = "user_id";
const CSRF_KEY: &str = "csrf_token";
const FLASH_KEY: &str = "flash";

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

#[derive(Clone)]
pub struct AppSession(Session);

impl<S: Send + Sync> FromRequestParts<S> for AppSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| AppError::Internal(anyhow::anyhow!("session layer missing: {message}")))?;
        Ok(Self(session))
    }
}

impl AppSession {
    pub async fn user_id(&self) -> Result<Option<i64>, AppError> {
        Ok(self.0.get(USER_ID_KEY).await?)
    }

    /// The session's CSRF token, created on first use. One token serves every form of the
    /// session; it changes when the user signs in.
    pub async fn csrf_token(&self) -> Result<String, AppError> {
        if let Some(token) = self.0.get::<String>(CSRF_KEY).await? {
            return Ok(token);
        }
        let token = tokens::secret();
        self.0.insert(CSRF_KEY, &token).await?;
        Ok(token)
    }

    pub async fn csrf_matches(&self, submitted: &str) -> Result<bool, AppError> {
        let expected: Option<String> = self.0.get(CSRF_KEY).await?;
        Ok(expected.is_some_and(|expected| tokens::constant_time_eq(&expected, submitted)))
    }

    /// Signs the user in under a new session id (so an id planted before sign-in is
    /// worthless) with a new CSRF token.
    pub async fn sign_in(&self, user_id: i64) -> Result<(), AppError> {
        self.0.cycle_id().await?;
        self.0.insert(USER_ID_KEY, user_id).await?;
        self.0.insert(CSRF_KEY, tokens::secret()).await?;
        Ok(())
    }

    /// Ends the session: its data is deleted, and whatever the visitor does next happens
    /// under a new id (tower-sessions' `flush` alone would reuse the old one).
    pub async fn sign_out(&self) -> Result<(), AppError> {
        self.0.flush().await?;
        self.0.cycle_id().await?;
        Ok(())
    }

    pub async fn flash(&self, kind: FlashKind, message: impl Into<String>) -> Result<(), AppError> {
        let mut waiting: Vec<Flash> = self.0.get(FLASH_KEY).await?.unwrap_or_default();
        waiting.push(Flash { kind, message: message.into() });
        self.0.insert(FLASH_KEY, waiting).await?;
        Ok(())
    }

    pub async fn take_flashes(&self) -> Result<Vec<Flash>, AppError> {
        // Removing marks the session modified, which costs a write: only do it when needed.
        let Some(waiting) = self.0.get::<Vec<Flash>>(FLASH_KEY).await? else {
            return Ok(Vec::new());
        };
        self.0.remove_value(FLASH_KEY).await?;
        Ok(waiting)
    }
}
