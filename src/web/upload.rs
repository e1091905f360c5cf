//! Forms that may carry files. A `multipart/form-data` post has its text fields read as the
//! urlencoded form would be (CSRF-checked the same way), and its `attachments` file parts
//! staged one by one; an urlencoded post still works and carries none. A file over the
//! limit, or one too many, does not end the post: the rest is read so the form can be shown
//! again with what was typed and a message on `attachments`.

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::AppError;
use super::extract::CsrfForm;
use super::session::AppSession;
use super::state::AppState;
use crate::domain::accounts::tokens;
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

/// What a multipart post carried: its text parts in order, and its files (none when
/// `refused` says why they were not taken).
pub struct Received {
    pub text: Vec<(String, String)>,
    pub files: Vec<Staged>,
    pub refused: Option<String>,
}

/// Whether a request's body is `multipart/form-data` (and so may carry files).
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// How many parts one post may have, files and text together.
const MAX_PARTS: usize = 200;
/// What each part counts against the text limit besides its bytes (its headers).
const PART_OVERHEAD_BYTES: usize = 256;

#[derive(Debug)]
pub enum ReceiveError {
    /// A page's form must carry its CSRF token before any file: without it, nothing is staged.
    NoToken,
    /// A cut-off or malformed body, or text that is not UTF-8.
    Unreadable(String),
    /// The text parts together are over the usual body limit, or there are too many parts.
    TooMuchText,
    Io(std::io::Error),
}

/// Reads a multipart post to its end: text parts (together at most the usual 2 MiB, read
/// chunk by chunk), and `attachments` file parts staged one by one within the limits. With
/// `csrf_token` (a page's form), its token must have come, and matched, before any file.
pub async fn receive(mut multipart: Multipart, state: &AppState, csrf_token: Option<&str>) -> Result<Received, ReceiveError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| ReceiveError::Unreadable(error.body_text());
    let mut received = Received { text: Vec::new(), files: Vec::new(), refused: None };
    let (mut text_bytes, mut parts) = (0, 0);
    let mut token_seen = csrf_token.is_none();
    let max_mb = state.files.max_file_bytes / (1024 * 1024);
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        parts += 1;
        text_bytes += PART_OVERHEAD_BYTES;
        if parts > MAX_PARTS || text_bytes > super::BODY_LIMIT_BYTES {
            return Err(ReceiveError::TooMuchText);
        }
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(_) if name == FILE_FIELD && !token_seen => return Err(ReceiveError::NoToken),
            // A file input left empty still sends a part, with no name and no bytes.
            Some(filename) if name == FILE_FIELD && !filename.is_empty() => {
                if received.files.len() == MAX_FILES_PER_MESSAGE {
                    received.refused = Some(format!("At most {MAX_FILES_PER_MESSAGE} files can go with one message."));
                    while field.chunk().await.map_err(unreadable)?.is_some() {}
                    continue;
                }
                match state.files.stage(&mut field, &filename).await {
                    Ok(staged) => received.files.push(staged),
                    Err(StagingError::TooBig) => {
                        received.refused = Some(format!("“{filename}” is larger than {max_mb} MB, the most a file may be."));
                    }
                    Err(StagingError::Unreadable(why)) => return Err(ReceiveError::Unreadable(why)),
                    Err(StagingError::Io(error)) => return Err(ReceiveError::Io(error)),
                }
            }
            Some(_) => while field.chunk().await.map_err(unreadable)?.is_some() {},
            None => {
                let mut value = Vec::new();
                text_bytes += name.len();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    text_bytes += chunk.len();
                    if text_bytes > super::BODY_LIMIT_BYTES {
                        return Err(ReceiveError::TooMuchText);
                    }
                    value.extend_from_slice(&chunk);
                }
                let value =
                    String::from_utf8(value).map_err(|_| ReceiveError::Unreadable(format!("“{name}” is not UTF-8 text.")))?;
                if let Some(expected) = csrf_token.filter(|_| name == "csrf_token") {
                    token_seen = tokens::constant_time_eq(expected, &value);
                }
                received.text.push((name, value));
            }
        }
    }
    if received.refused.is_some() {
        received.files.clear(); // dropped: their temporary files are deleted
    }
    Ok(received)
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
        if !is_multipart(request.headers()) {
            let CsrfForm(fields) = CsrfForm::from_request(request, state).await?;
            return Ok(Self { fields, files: Vec::new(), refused: None });
        }
        let (mut parts, body) = request.into_parts();
        let session = AppSession::from_request_parts(&mut parts, state).await?;
        let multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|error| AppError::BadRequest(error.body_text()))?;
        let expected = session.expected_csrf().await?.ok_or(AppError::CsrfMismatch)?;
        let Received { text, files, refused } =
            receive(multipart, state, Some(&expected)).await.map_err(|error| match error {
                ReceiveError::NoToken => AppError::CsrfMismatch,
                ReceiveError::Unreadable(why) => AppError::BadRequest(why),
                ReceiveError::TooMuchText => AppError::PayloadTooLarge,
                ReceiveError::Io(error) => AppError::Internal(error.into()),
            })?;
        // A post without files has not shown its token yet: compared here, as for any form.
        let submitted = text.iter().find(|(name, _)| name == "csrf_token").map_or("", |(_, value)| value.as_str());
        if !tokens::constant_time_eq(&expected, submitted) {
            return Err(AppError::CsrfMismatch);
        }
        let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&text).finish();
        let fields = serde_html_form::from_str(&encoded)
            .map_err(|error| AppError::BadRequest(format!("The form could not be read: {error}.")))?;
        Ok(Self { fields, files, refused })
    }
}
