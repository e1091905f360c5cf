//! Helpdesk: a self-hosted, server-rendered helpdesk on SQLite or PostgreSQL.

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod files;
pub mod mail;
pub mod web;

pub use app::App;
pub use cli::run;
