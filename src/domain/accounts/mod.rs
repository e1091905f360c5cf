//! Accounts: who someone is (users, roles, passwords), how they prove it (sign-in limits,
//! the first admin's setup, API tokens) and how admins manage them.

pub mod account_tokens;
pub mod api_tokens;
pub mod login_throttle;
pub mod password;
pub mod recovery;
pub mod registration;
pub mod role;
pub mod setup;
pub mod sign_in;
pub mod tokens;
pub mod two_factor;
pub mod user_admin;
pub mod user_input;
pub mod user_list;
pub mod users;
