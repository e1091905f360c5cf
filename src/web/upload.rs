//! Forms that may carry files. A `multipart/form-data` post has its text fields read as the
//! urlencoded form would be (CSRF-checked the same way), and its `attachments` file parts
//! staged one by one; an urlencoded post still works and carries none. A file over the
//! limit, or one too many, does not end the post: the rest is read so the form can be shown
//! again with what was typed and a message on `attachments`.

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::error::AppError;
use super::extract::CsrfForm;
use super::session::AppSession;
use super::state::AppState;
use crate::domain::attachments::{self, KeptFile, MAX_FILES_PER_MESSAGE};
use crate::domain::{self, FieldErrors};
use crate::files::{Staged, StagingError};

/// The name of the file parts.
pub const FILE_FIELD: &str = "attachments";

pub struct UploadForm<T> {
    pub fields: T,
    pub files: Vec<Staged>,
    /// Why the files were refused (too big, too many); nothing of them is kept then.
    pub refused: Option<String>,
}

impl<T> UploadForm<T> {
    /// `parsed`, with the files' refusal (if any) among its field errors, so that every
    /// problem of the form is shown at once.
    pub fn with_refusal<X>(&self, parsed: domain::Result<X>) -> domain::Result<X> {
        let Some(why) = &self.refused else { return parsed };
        let mut errors = match parsed {
            Err(domain::Error::Invalid(errors)) => errors,
            Err(other) => return Err(other),
            Ok(_) => FieldErrors::new(),
        };
        errors.add(FILE_FIELD, why.clone());
        Err(domain::Error::Invalid(errors))
    }

    /// Keeps the files in the store, once the rest of the form is known to be good.
    pub async fn keep(&self, state: &AppState) -> domain::Result<Vec<KeptFile>> {
        attachments::keep(&state.db, &state.files, &self.files, state.now()).await
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for UploadForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().starts_with("multipart/form-data"));
        if !is_multipart {
            let CsrfForm(fields) = CsrfForm::from_request(request, state).await?;
            return Ok(Self { fields, files: Vec::new(), refused: None });
        }
        let (mut parts, body) = request.into_parts();
        let session = AppSession::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let mut multipart =
            Multipart::from_request(request, state).await.map_err(|error| AppError::BadRequest(error.body_text()))?;
        let mut text: Vec<(String, String)> = Vec::new();
        let mut text_bytes = 0;
        let mut files = Vec::new();
        let mut refused = None;
        let max_mb = state.files.max_file_bytes / (1024 * 1024);
        while let Some(mut field) = multipart.next_field().await.map_err(|error| AppError::BadRequest(error.body_text()))? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                // A file input left empty still sends a part, with no name and no bytes.
                Some(filename) if name == FILE_FIELD && !filename.is_empty() => {
                    match state.files.stage(&mut field, &filename).await {
                        Ok(_) if files.len() == MAX_FILES_PER_MESSAGE => {
                            refused = Some(format!("At most {MAX_FILES_PER_MESSAGE} files can go with one message."));
                        }
                        Ok(staged) => files.push(staged),
                        Err(StagingError::TooBig) => {
                            refused = Some(format!("“{filename}” is larger than {max_mb} MB, the most a file may be."));
                        }
                        Err(StagingError::Unreadable(why)) => return Err(AppError::BadRequest(why)),
                        Err(StagingError::Io(error)) => return Err(AppError::Internal(error.into())),
                    }
                }
                Some(_) => while field.chunk().await.map_err(|error| AppError::BadRequest(error.body_text()))?.is_some() {},
                None => {
                    let value = field.text().await.map_err(|error| AppError::BadRequest(error.body_text()))?;
                    text_bytes += name.len() + value.len();
                    if text_bytes > super::BODY_LIMIT_BYTES {
                        return Err(AppError::PayloadTooLarge);
                    }
                    text.push((name, value));
                }
            }
        }
        let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&text).finish();
        let token: super::extract::CsrfField = serde_html_form::from_str(&encoded).unwrap_or_default();
        if !session.csrf_matches(&token.csrf_token).await? {
            return Err(AppError::CsrfMismatch);
        }
        let fields = serde_html_form::from_str(&encoded)
            .map_err(|error| AppError::BadRequest(format!("The form could not be read: {error}.")))?;
        if refused.is_some() {
            files.clear(); // dropped: their temporary files are deleted
        }
        Ok(Self { fields, files, refused })
    }
}
