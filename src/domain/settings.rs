//! Installation settings, stored in the database so that every app instance sees a change
//! at once; a missing or unreadable row means the default.

use std::collections::HashMap;

use super::ticket_fields::Priority;
use crate::db::Db;

pub const ORGANISATION_NAME: &str = "organisation_name";
pub const TICKET_PREFIX: &str = "ticket_prefix";
pub const AUTO_CLOSE_HOURS: &str = "auto_close_hours";

/// Hours allowed for the first answer and for the resolution of a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaTarget {
    pub first_response_hours: i64,
    pub resolution_hours: i64,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub organisation_name: String,
    pub ticket_prefix: String,
    pub auto_close_hours: i64,
    sla: HashMap<Priority, SlaTarget>,
}

impl Default for Settings {
    fn default() -> Self {
        let sla = [
            (Priority::Urgent, SlaTarget { first_response_hours: 1, resolution_hours: 4 }),
            (Priority::High, SlaTarget { first_response_hours: 4, resolution_hours: 24 }),
            (Priority::Medium, SlaTarget { first_response_hours: 8, resolution_hours: 72 }),
            (Priority::Low, SlaTarget { first_response_hours: 24, resolution_hours: 168 }),
        ];
        Self {
            organisation_name: "Helpdesk".into(),
            ticket_prefix: "TCK-".into(),
            auto_close_hours: 72,
            sla: sla.into_iter().collect(),
        }
    }
}

pub fn sla_first_response_key(priority: Priority) -> String {
    format!("sla_{priority}_first_response_hours")
}

pub fn sla_resolution_key(priority: Priority) -> String {
    format!("sla_{priority}_resolution_hours")
}

impl Settings {
    pub async fn load(db: &Db) -> sqlx::Result<Self> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM settings").fetch_all(db.pool()).await?;
        Ok(Self::from_rows(rows.into_iter().collect()))
    }

    fn from_rows(mut stored: HashMap<String, String>) -> Self {
        let mut settings = Self::default();
        if let Some(name) = stored.remove(ORGANISATION_NAME) {
            settings.organisation_name = name;
        }
        if let Some(prefix) = stored.remove(TICKET_PREFIX) {
            settings.ticket_prefix = prefix;
        }
        let hours = |key: &str, default: i64| stored.get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
        settings.auto_close_hours = hours(AUTO_CLOSE_HOURS, settings.auto_close_hours);
        for target in settings.sla.iter_mut() {
            let (priority, target) = target;
            target.first_response_hours = hours(&sla_first_response_key(*priority), target.first_response_hours);
            target.resolution_hours = hours(&sla_resolution_key(*priority), target.resolution_hours);
        }
        settings
    }

    pub fn sla(&self, priority: Priority) -> SlaTarget {
        self.sla[&priority]
    }
}

pub async fn organisation_name(db: &Db) -> sqlx::Result<String> {
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(ORGANISATION_NAME)
        .fetch_optional(db.pool())
        .await?;
    Ok(stored.unwrap_or_else(|| Settings::default().organisation_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_override_defaults_and_bad_ones_are_ignored() {
        let rows = [
            (TICKET_PREFIX.to_string(), "HD-".to_string()),
            (AUTO_CLOSE_HOURS.to_string(), "not a number".to_string()),
            (sla_resolution_key(Priority::Urgent), "2".to_string()),
        ];
        let settings = Settings::from_rows(rows.into_iter().collect());
        assert_eq!(settings.ticket_prefix, "HD-");
        assert_eq!(settings.auto_close_hours, 72);
        assert_eq!(settings.sla(Priority::Urgent), SlaTarget { first_response_hours: 1, resolution_hours: 2 });
        assert_eq!(settings.sla(Priority::Low), SlaTarget { first_response_hours: 24, resolution_hours: 168 });
    }
}
