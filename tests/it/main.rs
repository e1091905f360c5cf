//! Integration tests: the real application over HTTP, on SQLite and on PostgreSQL.

mod harness;

mod accounts;
mod admin;
mod api;
mod attachments;
mod binary;
mod browser;
mod cc;
mod desk;
mod desk_flow;
mod fields;
mod fields_admin;
mod finding;
mod identity;
mod lifecycle;
mod live;
mod mail;
mod mail_files;
mod mail_in;
mod mail_tls;
mod mail_trust;
mod organisations;
mod portal;
mod portal_words;
mod postgres;
mod promises;
mod routes;
mod s3;
mod security;
mod shaping_order;
mod smtp;
mod statements;
mod two_factor;
