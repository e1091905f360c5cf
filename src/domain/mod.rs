//! The rules of the helpdesk, free of HTTP: the web pages, the JSON API, email and the
//! command line all call these functions.

pub mod api_tokens;
pub mod audit;
pub mod canned;
pub mod clock;
pub mod conversation;
pub mod email;
pub mod groups;
pub mod error;
pub mod login_throttle;
pub mod mail_in;
pub mod outbox;
pub mod password;
pub mod queue;
pub mod reports;
pub mod role;
pub mod settings;
pub mod setup;
pub mod sla;
pub mod text;
pub mod ticket_fields;
pub mod tickets;
pub mod tokens;
pub mod user_admin;
pub mod users;

pub use error::{Error, FieldErrors, Result};
