//! Integration tests: the real application over HTTP, on SQLite and on PostgreSQL.

mod harness;

mod accounts;
mod admin;
mod desk;
mod portal;
mod security;
