//! Integration tests: the real application over HTTP, on SQLite and on PostgreSQL.

mod harness;

mod accounts;
mod portal;
mod security;
