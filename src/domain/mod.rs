//! The rules of the helpdesk, free of HTTP: the web pages, the JSON API, email and the
//! command line all call these functions. One folder per area of the product; shared
//! value types (time, text, email addresses, paging, errors) at the top.

pub mod accounts;
pub mod admin;
pub mod attachments;
pub mod clock;
pub mod contacts;
pub mod conversation;
pub mod email;
pub mod error;
pub mod fields;
pub mod input;
pub mod live;
pub mod mail;
pub mod organisations;
pub mod paging;
pub mod reports;
pub mod tags;
pub mod text;
pub mod tickets;

pub use error::{Error, FieldErrors, Result};
