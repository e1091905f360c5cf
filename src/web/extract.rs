//! Extractors: who is asking (with the role guards, so a route cannot forget its check),
//! the client's address, and forms that carry a valid CSRF token.

use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use percent_encoding::percent_decode;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::AppError;
use super::session::AppSession;
use super::state::AppState;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, User};
use crate::domain::tickets::TicketNumber;
use crate::domain::tickets::{self, Ticket};

/// The signed-in user, if any. A session whose user has since been deactivated (or
/// deleted) is ended here, on the user's next request.
#[derive(Clone)]
pub struct Viewer(pub Option<User>);

/// Whether the admins require staff to have two-factor sign-in, read with the viewer.
#[derive(Clone, Copy)]
struct TwoFactorRequired(bool);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let session = AppSession::from_request_parts(parts, state).await?;
        let user = match session.user_id().await? {
            Some(id) => match users::find_signed_in(&state.db, id).await? {
                Some((user, two_factor_required)) => {
                    parts.extensions.insert(TwoFactorRequired(two_factor_required));
                    Some(user)
                }
                None => {
                    session.sign_out().await?;
                    None
                }
            },
            None => None,
        };
        let viewer = Viewer(user);
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// The signed-in user, if `allowed`. Staff pages also wait until two-factor is set up where
/// the admins require it (`enrolment_first`; read afresh on each request, so turning it off
/// or a change of role counts at once); the profile stays open for setting it up.
async fn require_role(
    parts: &mut Parts,
    state: &AppState,
    allowed: fn(Role) -> bool,
    enrolment_first: bool,
) -> Result<User, AppError> {
    match Viewer::from_request_parts(parts, state).await?.0 {
        Some(user) if allowed(user.role) => {
            let unenrolled = enrolment_first && user.role.is_staff() && !user.two_factor;
            if unenrolled && parts.extensions.get::<TwoFactorRequired>().is_some_and(|required| required.0) {
                return Err(AppError::TwoFactorSetUpRequired);
            }
            Ok(user)
        }
        Some(_) => Err(AppError::NotFound),
        None => {
            let next = parts.uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/").to_owned();
            Err(AppError::SignInRequired { next })
        }
    }
}

/// Declares a guard: the signed-in user, if their role is allowed. An anonymous visitor is
/// sent to sign in; a signed-in user of another role gets 404, as if the page did not exist.
macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident, $allowed:expr, $enrolment_first:expr) => {
        $(#[$doc])*
        pub struct $name(pub User);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
                require_role(parts, state, $allowed, $enrolment_first).await.map($name)
            }
        }
    };
}

role_guard!(
    /// Any signed-in user.
    SignedIn,
    |_| true,
    false
);
role_guard!(
    /// A customer: the portal is theirs alone.
    Customer,
    |role| role == Role::Customer,
    false
);
role_guard!(
    /// An agent or an admin: the desk.
    Agent,
    Role::is_staff,
    true
);
role_guard!(
    /// An admin: users, groups and settings.
    Admin,
    |role| role == Role::Admin,
    true
);

/// Whoever may fetch files: any signed-in user, staff once two-factor is set up where the
/// admins require it (as for their pages). Signed out is a 404, like a file one may not see.
pub struct FileReader(pub User);

impl FromRequestParts<AppState> for FileReader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Viewer::from_request_parts(parts, state).await?.0 {
            None => Err(AppError::NotFound),
            Some(_) => require_role(parts, state, |_| true, true).await.map(FileReader),
        }
    }
}

/// A role guard that yields its user.
pub trait RoleGuard: FromRequestParts<AppState, Rejection = AppError> {
    fn into_user(self) -> User;
}

impl RoleGuard for Customer {
    fn into_user(self) -> User {
        self.0
    }
}

impl RoleGuard for Agent {
    fn into_user(self) -> User {
        self.0
    }
}

/// The ticket named by the `{number}` in the path, as `G` may see it: staff see any
/// ticket, a customer only their own. A number that is malformed, missing or not theirs
/// is a 404, all alike.
pub struct TicketAt<G> {
    pub viewer: User,
    pub ticket: Ticket,
    guard: PhantomData<G>,
}

impl<G: RoleGuard + Send> FromRequestParts<AppState> for TicketAt<G> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let viewer = G::from_request_parts(parts, state).await?.into_user();
        let Path(number) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| AppError::NotFound)?;
        let number = TicketNumber::from_path(&number).ok_or(AppError::NotFound)?;
        let ticket = tickets::find_for_viewer(&state.db, number, &viewer).await?;
        Ok(Self { viewer, ticket, guard: PhantomData })
    }
}

/// The `{id}` in a path: a positive integer, or a 404 like an id that does not exist.
pub struct IdInPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdInPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| AppError::NotFound)?;
        raw.parse::<i64>().ok().filter(|id| *id > 0).map(IdInPath).ok_or(AppError::NotFound)
    }
}

/// The address the request came from, for the login limit: the connection's, or behind a
/// trusted proxy the client's as the proxy names it.
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(address)| address.ip());
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
        Ok(Self(client_address(peer, &forwarded.join(","), &state.config.trusted_proxies)))
    }
}

/// Each proxy appends the address it was reached from to `X-Forwarded-For`, so the list is
/// read from the right: past the trusted proxies, the first address is the client's. A
/// client can write anything at the left of the list, so nothing there is believed.
fn client_address(peer: IpAddr, forwarded_for: &str, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.rsplit(',').map(str::trim).filter(|hop| !hop.is_empty()) {
        match hop.parse::<IpAddr>() {
            Ok(address) => {
                client = address;
                if !trusted.contains(&address) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[derive(Deserialize, Default)]
struct CsrfField {
    #[serde(default)]
    csrf_token: String,
}

/// A url-encoded form whose `csrf_token` matches the session's. Unknown fields are
/// ignored and repeated fields fill `Vec`s.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = AppSession::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, super::BODY_LIMIT_BYTES).await.map_err(|_| AppError::PayloadTooLarge)?;
        if !is_utf8_form(&bytes) {
            return Err(AppError::BadRequest("The form was not sent as UTF-8 text.".into()));
        }
        let submitted: CsrfField = serde_html_form::from_bytes(&bytes).unwrap_or_default();
        if !session.csrf_matches(&submitted.csrf_token).await? {
            return Err(AppError::CsrfMismatch);
        }
        serde_html_form::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|error| AppError::BadRequest(format!("The form could not be read: {error}.")))
    }
}

/// Query parameters read as forms are: repeated names fill `Vec`s (`?tag=a&tag=b`).
pub struct HtmlQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for HtmlQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_html_form::from_str(parts.uri.query().unwrap_or_default())
            .map(HtmlQuery)
            .map_err(|error| AppError::BadRequest(format!("The address could not be read: {error}.")))
    }
}

/// A form with nothing but its CSRF token (a button: sign out, close).
#[derive(Deserialize)]
pub struct NoFields {}

/// Form decoding replaces invalid UTF-8 silently; refuse it instead, so no text is altered.
fn is_utf8_form(body: &[u8]) -> bool {
    body.split(|byte| *byte == b'&').all(|pair| {
        let spaced: Vec<u8> = pair.iter().map(|byte| if *byte == b'+' { b' ' } else { *byte }).collect();
        let decoded: Vec<u8> = percent_decode(&spaced).collect();
        std::str::from_utf8(&decoded).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::{IpAddr, client_address, is_utf8_form};

    #[test]
    fn the_client_is_the_first_address_past_the_trusted_proxies() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_address(ip("198.51.100.9"), "203.0.113.7", &proxies),
            ip("198.51.100.9"),
            "an untrusted peer is the client"
        );
        assert_eq!(client_address(ip("10.0.0.1"), "203.0.113.7", &proxies), ip("203.0.113.7"));
        assert_eq!(
            client_address(ip("10.0.0.1"), "1.2.3.4, 203.0.113.7, 10.0.0.2", &proxies),
            ip("203.0.113.7"),
            "a forged left part is ignored"
        );
        assert_eq!(client_address(ip("10.0.0.1"), "", &proxies), ip("10.0.0.1"), "no header: the proxy itself");
        assert_eq!(client_address(ip("10.0.0.1"), "garbage, 203.0.113.7", &proxies), ip("203.0.113.7"));
        assert_eq!(
            client_address(ip("10.0.0.1"), "203.0.113.7, garbage", &proxies),
            ip("10.0.0.1"),
            "an unreadable hop stops the walk"
        );
    }

    #[test]
    fn invalid_utf8_in_a_form_is_detected() {
        assert!(is_utf8_form(b"name=J%C3%BCrgen&x=a+b"));
        assert!(!is_utf8_form(b"name=%FF%FE"));
        assert!(!is_utf8_form(b"a=1&name=\xff"));
    }
}
