//! A JSON body that may come with files (`multipart/form-data`: the JSON in a part `data`,
//! files in parts `attachments`), for the API's ticket and message creation.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::{ApiError, ApiResult, JsonBody, field_of, internal};
use crate::domain;
use crate::domain::attachments::{self, KeptFile};
use crate::files::Staged;
use crate::web::state::AppState;
use crate::web::upload::{self, ReceiveError};

/// A JSON body that may come with files: `multipart/form-data` with the JSON in a part
/// `data` and files in parts `attachments`, or plain JSON with none.
pub struct JsonUpload<T> {
    pub body: T,
    pub files: Vec<Staged>,
    /// Why the files were refused (too big, too many): a 422 on `attachments`.
    pub refused: Option<String>,
}

impl<T> JsonUpload<T> {
    /// Keeps the files, once the rest of the request is known to be good; their refusal,
    /// if any, is a 422 like a bad field.
    pub async fn keep(&self, state: &AppState) -> ApiResult<Vec<KeptFile>> {
        if let Some(why) = &self.refused {
            return Err(ApiError::invalid(&domain::FieldErrors::single("attachments", why.clone())));
        }
        Ok(attachments::keep(&state.db, &state.files, &self.files, state.now()).await?)
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonUpload<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !upload::is_multipart(request.headers()) {
            let JsonBody(body) = JsonBody::from_request(request, state).await?;
            return Ok(Self { body, files: Vec::new(), refused: None });
        }
        let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message);
        let multipart = axum::extract::Multipart::from_request(request, state).await.map_err(|error| bad(error.body_text()))?;
        let received = upload::receive(multipart, state, None).await.map_err(|error| match error {
            // The API asks for no CSRF token: this cannot happen.
            ReceiveError::NoToken => internal(anyhow::anyhow!("a CSRF token was asked for in the API")),
            ReceiveError::Unreadable(why) => bad(why),
            ReceiveError::TooMuchText => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The text parts are over 2 MiB.")
            }
            ReceiveError::Io(error) => internal(error.into()),
        })?;
        let mut data = None;
        for (name, value) in received.text {
            if name != "data" || data.is_some() {
                return Err(ApiError::invalid(&domain::FieldErrors::single(
                    "multipart",
                    "Send one part `data` with the JSON, and files as parts `attachments`.",
                )));
            }
            data = Some(value);
        }
        let data = data.unwrap_or_else(|| "{}".to_owned());
        let body = serde_json::from_str(&data).map_err(|error| {
            let mut refused = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "The part `data` could not be read.");
            if let Some((field, problem)) = field_of(&error.to_string()) {
                refused.fields.insert(field, problem);
            }
            refused
        })?;
        Ok(Self { body, files: received.files, refused: received.refused })
    }
}
