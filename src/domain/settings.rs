//! Installation settings, stored in the database so that every app instance sees a change
//! at once; a missing row means the default.

use std::collections::HashMap;

use crate::db::Db;

pub const ORGANISATION_NAME: &str = "organisation_name";
pub const TICKET_PREFIX: &str = "ticket_prefix";

#[derive(Clone, Debug)]
pub struct Settings {
    pub organisation_name: String,
    pub ticket_prefix: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self { organisation_name: "Helpdesk".into(), ticket_prefix: "TCK-".into() }
    }
}

impl Settings {
    pub async fn load(db: &Db) -> sqlx::Result<Self> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM settings").fetch_all(db.pool()).await?;
        let mut stored: HashMap<String, String> = rows.into_iter().collect();
        let defaults = Self::default();
        Ok(Self {
            organisation_name: stored.remove(ORGANISATION_NAME).unwrap_or(defaults.organisation_name),
            ticket_prefix: stored.remove(TICKET_PREFIX).unwrap_or(defaults.ticket_prefix),
        })
    }
}

pub async fn organisation_name(db: &Db) -> sqlx::Result<String> {
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(ORGANISATION_NAME)
        .fetch_optional(db.pool())
        .await?;
    Ok(stored.unwrap_or_else(|| Settings::default().organisation_name))
}
