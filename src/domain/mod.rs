//! The rules of the helpdesk, free of HTTP: the web pages, the JSON API, email and the
//! command line all call these functions.

pub mod audit;
pub mod clock;
pub mod email;
pub mod error;
pub mod login_throttle;
pub mod password;
pub mod role;
pub mod settings;
pub mod setup;
pub mod text;
pub mod tokens;
pub mod users;

pub use error::{Error, FieldErrors, Result};
