//! The web application: the route map, and the layers every request passes through.

mod api;
pub mod assets;
pub mod error;
pub mod extract;
pub mod field_views;
pub mod format;
pub(crate) mod handlers;
pub mod page;
pub mod session;
pub mod session_store;
pub mod state;
pub(crate) mod upload;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use handlers::{
    accounts, admin, attachments, auth, canned, customers, desk, home, inbound_mail, live, on_behalf, organisations, portal,
    profile, workspace,
};
use session_store::DbSessionStore;
pub use state::AppState;

use crate::domain::attachments::MAX_FILES_PER_MESSAGE;

/// Request bodies above this answer 413.
pub const BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;
pub const SESSION_COOKIE: &str = "helpdesk_session";
const SESSION_LIFETIME: Duration = Duration::days(14);

pub fn router(state: AppState) -> Router {
    let secure_cookies = state.config.secure_cookies();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(SESSION_LIFETIME));

    // Forms that take files: a larger body (files count against their own limit, the text
    // against the usual one, in `upload`), everything else the usual 2 MiB.
    let upload_limit = (MAX_FILES_PER_MESSAGE as u64 + 1) * state.files.max_file_bytes + 2 * BODY_LIMIT_BYTES as u64;
    let upload_limit = usize::try_from(upload_limit).unwrap_or(usize::MAX);
    let uploads = Router::new()
        .route("/tickets", get(portal::my_tickets).post(portal::create_ticket))
        .route("/tickets/{number}/replies", post(portal::reply))
        .route("/desk/tickets", post(on_behalf::create_ticket))
        .route("/desk/tickets/{number}/replies", post(workspace::reply))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(upload_limit))
        // mail from a mail service, with its files inside (its own limit, read after its token)
        .merge(Router::new().route("/mail/inbound", post(inbound_mail::receive)).layer(DefaultBodyLimit::disable()));

    Router::new()
        .route("/", get(home::start))
        .route("/healthz", get(home::healthz))
        .route("/static/{file}", get(assets::serve))
        // accounts
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/login/two-factor", get(auth::second_factor_form).post(auth::second_factor))
        .route("/register", get(accounts::register_form).post(accounts::register))
        .route("/verify", get(accounts::verify))
        .route("/verify/resend", post(accounts::resend_verification))
        .route("/password/forgot", get(accounts::forgot_form).post(accounts::forgot))
        .route("/password/reset", get(accounts::reset_form).post(accounts::reset))
        .route("/setup", get(auth::setup_form).post(auth::setup))
        // customer portal
        .route("/tickets/new", get(portal::new_ticket_form))
        .route("/tickets/{number}", get(portal::show_ticket))
        .route("/attachments/{id}/{filename}", get(attachments::download))
        .route("/thumbnails/{id}", get(attachments::thumbnail))
        .route("/tickets/{number}/close", post(portal::close))
        .route("/tickets/{number}/reopen", post(portal::reopen))
        .route("/tickets/{number}/rating", post(portal::rate))
        .route("/tickets/{number}/cc", post(portal::set_cc))
        // staff desk
        .route("/desk", get(desk::queue))
        .route("/desk/counts", get(desk::counts))
        .route("/desk/live", get(live::events))
        .route("/desk/live/replying", post(live::replying))
        .route("/desk/tickets/new", get(on_behalf::new_ticket_form))
        .route("/desk/tickets/bulk", post(desk::bulk))
        .route("/desk/tickets/{number}", get(workspace::show).post(workspace::update))
        .route("/desk/tickets/{number}/merge", post(workspace::merge))
        .route("/desk/tickets/{number}/cc", post(workspace::set_cc))
        .route("/desk/tickets/{number}/tags", post(workspace::set_tags))
        .route("/desk/attachments/{id}/delete", post(attachments::remove))
        .route("/desk/organisations", get(organisations::list).post(organisations::create))
        .route("/desk/organisations/{id}", get(organisations::show).post(organisations::update))
        .route("/desk/organisations/{id}/delete", post(organisations::delete))
        .route("/desk/customers", get(customers::list))
        .route("/desk/customers/{id}", get(customers::show).post(customers::update))
        .route("/desk/canned", get(canned::list).post(canned::create))
        .route("/desk/canned/{id}", get(canned::edit_form).post(canned::update))
        .route("/desk/canned/{id}/delete", post(canned::delete))
        // administration
        .route("/admin", get(admin::overview))
        .route("/admin/users", get(admin::users::list).post(admin::users::create))
        .route("/admin/users/new", get(admin::users::new_form))
        .route("/admin/users/{id}", get(admin::users::edit_form).post(admin::users::update))
        .route("/admin/users/{id}/deactivate", post(admin::users::deactivate))
        .route("/admin/users/{id}/reactivate", post(admin::users::reactivate))
        .route("/admin/users/{id}/two-factor/reset", post(admin::users::reset_two_factor))
        .route("/admin/users/{id}/tokens", post(admin::tokens::create))
        .route("/admin/tokens/{id}/revoke", post(admin::tokens::revoke))
        .route("/admin/groups", get(admin::groups::list).post(admin::groups::create))
        .route("/admin/groups/{id}", get(admin::groups::edit_form).post(admin::groups::update))
        .route("/admin/groups/{id}/delete", post(admin::groups::delete))
        .route("/admin/fields", get(admin::fields::list).post(admin::fields::create))
        .route("/admin/fields/{id}", get(admin::fields::edit_form).post(admin::fields::update))
        .route("/admin/fields/{id}/delete", post(admin::fields::delete))
        .route("/admin/settings", get(admin::settings::show).post(admin::settings::update))
        .route("/admin/audit", get(admin::audit::list))
        .route("/admin/mail", get(admin::mail::failed))
        .route("/admin/mail/{id}/retry", post(admin::mail::retry))
        // everyone signed in
        .route("/profile", get(profile::show).post(profile::update))
        .route("/profile/password", get(profile::password_form).post(profile::change_password))
        .route("/profile/two-factor", get(profile::two_factor_form).post(profile::enable_two_factor))
        .route("/profile/two-factor/disable", post(profile::disable_two_factor))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .merge(uploads)
        // the JSON API, with limits of its own
        .nest("/api/v1", api::router(upload_limit))
        .fallback(error::not_found)
        .layer(sessions)
        .layer(middleware::from_fn(move |request, next| session::form_token(request, next, secure_cookies)))
        .layer(CatchPanicLayer::custom(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Try again in a moment.").into_response()
        }))
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(not_a_file)))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(state.clone(), assets::security_headers))
        .with_state(state)
}

/// Files go out as they are stored: compressed, one would lose its ranges and share its
/// ETag with a different body.
fn not_a_file(_: StatusCode, _: axum::http::Version, headers: &axum::http::HeaderMap, _: &axum::http::Extensions) -> bool {
    !headers.contains_key(axum::http::header::CONTENT_DISPOSITION)
}
