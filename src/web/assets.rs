//! The stylesheet, script and icons, compiled into the binary so it runs from any directory,
//! and the security headers every response carries.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::state::AppState;

const STYLESHEET: &str = include_str!("../../static/style.css");
const SCRIPT: &str = include_str!("../../static/app.js");
/// The desk's keyboard shortcuts, loaded on staff pages only.
const KEYS: &str = include_str!("../../static/keys.js");
/// The desk's live updates, loaded on staff pages only.
const LIVE: &str = include_str!("../../static/live.js");
const ICON: &str = include_str!("../../static/favicon.svg");
/// Stands in for a picture no thumbnail can be made of.
const PICTURE: &str = include_str!("../../static/picture.svg");

/// A fingerprint of the assets, appended to their URLs so they can be cached for a year
/// and still change with every release.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hasher = DefaultHasher::new();
        (STYLESHEET, SCRIPT, KEYS, LIVE, ICON, PICTURE).hash(&mut hasher);
        format!("{:x}", hasher.finish())
    })
}

pub async fn serve(Path(file): Path<String>) -> Result<Response, AppError> {
    let (content_type, body) = match file.as_str() {
        "style.css" => ("text/css; charset=utf-8", STYLESHEET),
        "app.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "keys.js" => ("text/javascript; charset=utf-8", KEYS),
        "live.js" => ("text/javascript; charset=utf-8", LIVE),
        "favicon.svg" => ("image/svg+xml", ICON),
        "picture.svg" => ("image/svg+xml", PICTURE),
        _ => return Err(AppError::NotFound),
    };
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], body)
        .into_response())
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), payment=()"),
    ];
    for (name, value) in fixed {
        // A stricter policy set by the handler (files are sandboxed) stays.
        if name == header::CONTENT_SECURITY_POLICY && headers.contains_key(&name) {
            continue;
        }
        headers.insert(name, HeaderValue::from_static(value));
    }
    if state.config.secure_cookies() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    // Pages carry per-user data and CSRF tokens: never store them in shared caches.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
