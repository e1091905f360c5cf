//! Downloading a file or a picture's thumbnail, for whoever may see its message (404 for
//! everyone else, signed in or not), and staff removing one.
//!
//! A file is served so that it can do no harm in the browser: its type is the one its
//! bytes tell (never the sender's claim), `nosniff`, a sandboxing CSP, and shown in the page
//! only for PNG, JPEG, GIF and WebP — everything else, HTML and SVG included, downloads.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::domain::attachments::{self, Attachment};
use crate::domain::conversation::files;
use crate::web::assets;
use crate::web::error::{AppError, Result};
use crate::web::extract::{Agent, CsrfForm, FileReader, NoFields};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

/// Files cannot run anything, load anything, or be framed.
const FILE_POLICY: &str = "sandbox; default-src 'none'";

/// `GET /attachments/{id}/{filename}`. The name in the path is for the browser's sake; the
/// id alone (random, unguessable) names the file.
pub async fn download(
    State(state): State<AppState>,
    FileReader(viewer): FileReader,
    Path((id, _filename)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let (attachment, _) = attachments::find_for_viewer(&state.db, &id, &viewer).await?;
    Ok(file_response(&state, &attachment, &headers).await?)
}

/// `GET /thumbnails/{id}`: a small PNG of a picture, for whoever may see the picture. One
/// that cannot be made small (too many pixels to unpack safely, unreadable) shows as an icon.
pub async fn thumbnail(
    State(state): State<AppState>,
    FileReader(viewer): FileReader,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let (attachment, _) = attachments::find_for_viewer(&state.db, &id, &viewer).await?;
    if !attachment.is_inline_image() {
        return Err(AppError::NotFound);
    }
    let etag = format!("\"thumbnail-{}\"", attachment.sha256);
    if unchanged_for(&headers, &etag) {
        return Ok(harmless(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    Ok(match state.files.thumbnail(&attachment.sha256).await? {
        Some(png) => harmless(([(header::CONTENT_TYPE, "image/png")], png).into_response(), &etag),
        None => Redirect::to(&format!("/static/picture.svg?v={}", assets::version())).into_response(),
    })
}

/// Whether the client holds this version already (`If-None-Match`).
fn unchanged_for(headers: &HeaderMap, etag: &str) -> bool {
    headers.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()) == Some(etag)
}

/// What every served file and thumbnail carries: it runs nothing, and is kept by the browser
/// only, asked about again each time (access can end).
fn harmless(mut response: Response, etag: &str) -> Response {
    insert(&mut response, header::CONTENT_SECURITY_POLICY, FILE_POLICY);
    insert(&mut response, header::ETAG, etag);
    insert(&mut response, header::CACHE_CONTROL, "private, no-cache");
    response
}

/// The file itself, whole or the range asked for, with the headers that keep it harmless
/// (for the pages and the API alike; the caller has checked who may have it).
pub async fn file_response(state: &AppState, attachment: &Attachment, headers: &HeaderMap) -> anyhow::Result<Response> {
    let etag = format!("\"{}\"", attachment.sha256);
    if unchanged_for(headers, &etag) {
        return Ok(with_file_headers(StatusCode::NOT_MODIFIED.into_response(), attachment, &etag));
    }
    let size = u64::try_from(attachment.size).unwrap_or_default();
    // RFC 9110: a Range that cannot be read (another unit, several ranges) is ignored; one
    // that asks for nothing the file has is a 416.
    let asked = headers.get(header::RANGE).and_then(|value| value.to_str().ok()).filter(|asked| readable_range(asked));
    let range = match asked {
        None => None,
        Some(asked) => match byte_range(asked, size) {
            Some(range) => Some(range),
            None => {
                let mut refused = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                insert(&mut refused, header::CONTENT_RANGE, &format!("bytes */{size}"));
                return Ok(refused);
            }
        },
    };
    let body = state.files.read(&attachment.sha256, range.clone()).await?;
    let mut response = match &range {
        Some(range) => {
            let mut partial = (StatusCode::PARTIAL_CONTENT, body).into_response();
            insert(&mut partial, header::CONTENT_RANGE, &format!("bytes {}-{}/{size}", range.start, range.end - 1));
            insert(&mut partial, header::CONTENT_LENGTH, &(range.end - range.start).to_string());
            partial
        }
        None => {
            let mut whole = (StatusCode::OK, body).into_response();
            insert(&mut whole, header::CONTENT_LENGTH, &size.to_string());
            whole
        }
    };
    insert(&mut response, header::CONTENT_TYPE, &attachment.content_type);
    Ok(with_file_headers(response, attachment, &etag))
}

fn with_file_headers(mut response: Response, attachment: &Attachment, etag: &str) -> Response {
    let disposition = if attachment.is_inline_image() { "inline" } else { "attachment" };
    insert(&mut response, header::CONTENT_DISPOSITION, &content_disposition(disposition, &attachment.filename));
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    harmless(response, etag)
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// RFC 6266: an ASCII stand-in for old clients, and the exact name as `filename*`.
fn content_disposition(kind: &str, filename: &str) -> String {
    let fallback: String =
        filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let exact: String = percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC).collect();
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

/// Whether `Range` is one `bytes=` range in a form we read (`a-b`, `a-`, `-n`).
fn readable_range(asked: &str) -> bool {
    asked.trim().strip_prefix("bytes=").is_some_and(|spec| {
        let Some((start, end)) = spec.split_once('-') else { return false };
        !spec.contains(',')
            && (start.trim().is_empty() || start.trim().parse::<u64>().is_ok())
            && (end.trim().is_empty() || end.trim().parse::<u64>().is_ok())
            && !(start.trim().is_empty() && end.trim().is_empty())
    })
}

/// One `bytes=` range of a file of `size` bytes (`a-b`, `a-` or `-n`), as a half-open range;
/// `None` when it asks for nothing the file has (or for several ranges at once).
fn byte_range(asked: &str, size: u64) -> Option<std::ops::Range<u64>> {
    let spec = asked.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let length: u64 = suffix.parse().ok()?;
            (size.saturating_sub(length), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some(start..end + 1)
}

/// `POST /desk/attachments/{id}/delete`: staff remove a file; the timeline says so.
pub async fn remove(
    State(state): State<AppState>,
    Agent(agent): Agent,
    session: AppSession,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let number = files::remove_attachment(&state.db, &id, &agent, state.now()).await?;
    session.flash(FlashKind::Success, "File removed.").await?;
    Ok(Redirect::to(&format!("/desk/tickets/{number}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::{byte_range, content_disposition};

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some(0..100));
        assert_eq!(byte_range("bytes=900-", 1000), Some(900..1000));
        assert_eq!(byte_range("bytes=-100", 1000), Some(900..1000));
        assert_eq!(byte_range("bytes=990-2000", 1000), Some(990..1000));
        assert_eq!(byte_range("bytes=1000-", 1000), None);
        assert_eq!(byte_range("bytes=5-1", 1000), None);
        assert_eq!(byte_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(byte_range("items=0-1", 1000), None);
    }

    #[test]
    fn names_are_given_exactly_and_safely() {
        assert_eq!(
            content_disposition("attachment", "Résumé \"final\".pdf"),
            "attachment; filename=\"R_sum_ _final_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%2Epdf"
        );
    }
}
