//! Integration tests: the real application over HTTP, on SQLite and on PostgreSQL.

mod harness;

mod accounts;
mod admin;
mod desk;
mod mail;
mod portal;
mod security;
mod smtp;
