pub mod admin;
pub mod auth;
pub mod desk;
pub mod home;
pub mod portal;
