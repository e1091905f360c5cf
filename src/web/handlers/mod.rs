pub mod admin;
pub mod auth;
pub mod canned;
pub mod desk;
pub mod home;
pub mod portal;
pub mod profile;
pub mod workspace;
