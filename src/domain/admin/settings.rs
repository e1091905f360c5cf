//! Installation settings, stored in the database so that every app instance sees a change
//! at once; a missing or unreadable row means the default.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::db::Db;
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::tickets::Priority;
use crate::domain::{FieldErrors, Result, text};

pub const ORGANISATION_NAME: &str = "organisation_name";
pub const TICKET_PREFIX: &str = "ticket_prefix";
pub const AUTO_CLOSE_HOURS: &str = "auto_close_hours";
pub const REQUIRE_TWO_FACTOR_STAFF: &str = "require_two_factor_staff";

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
    /// Agents and admins must set up two-factor sign-in before they work.
    pub require_two_factor_staff: bool,
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
            require_two_factor_staff: false,
            sla: sla.into_iter().collect(),
        }
    }
}

/// The stored keys (and form fields) of each priority's first-response and resolution target.
const SLA_KEYS: [(Priority, &str, &str); 4] = [
    (Priority::Urgent, "sla_urgent_first_response_hours", "sla_urgent_resolution_hours"),
    (Priority::High, "sla_high_first_response_hours", "sla_high_resolution_hours"),
    (Priority::Medium, "sla_medium_first_response_hours", "sla_medium_resolution_hours"),
    (Priority::Low, "sla_low_first_response_hours", "sla_low_resolution_hours"),
];

pub fn sla_first_response_key(priority: Priority) -> &'static str {
    SLA_KEYS.iter().find(|(each, _, _)| *each == priority).expect("every priority has keys").1
}

pub fn sla_resolution_key(priority: Priority) -> &'static str {
    SLA_KEYS.iter().find(|(each, _, _)| *each == priority).expect("every priority has keys").2
}

/// The longest target or auto-close window accepted: a year.
const MAX_HOURS: i64 = 24 * 366;

impl Settings {
    pub async fn load(db: &Db) -> sqlx::Result<Self> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings").fetch_all(db.pool()).await?;
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
        settings.require_two_factor_staff = stored.get(REQUIRE_TWO_FACTOR_STAFF).is_some_and(|value| value == "true");
        for target in settings.sla.iter_mut() {
            let (priority, target) = target;
            target.first_response_hours = hours(sla_first_response_key(*priority), target.first_response_hours);
            target.resolution_hours = hours(sla_resolution_key(*priority), target.resolution_hours);
        }
        settings
    }

    pub fn sla(&self, priority: Priority) -> SlaTarget {
        self.sla[&priority]
    }

    /// Every setting as its stored key and text, in the order of the settings form.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            (ORGANISATION_NAME, self.organisation_name.clone()),
            (TICKET_PREFIX, self.ticket_prefix.clone()),
            (AUTO_CLOSE_HOURS, self.auto_close_hours.to_string()),
            (REQUIRE_TWO_FACTOR_STAFF, self.require_two_factor_staff.to_string()),
        ];
        for (priority, first_response_key, resolution_key) in SLA_KEYS {
            let target = self.sla(priority);
            pairs.push((first_response_key, target.first_response_hours.to_string()));
            pairs.push((resolution_key, target.resolution_hours.to_string()));
        }
        pairs
    }

    /// The settings form, each field checked and every problem reported at once. `field`
    /// gives a submitted value by its key (a missing one is empty).
    pub fn parse<'a>(field: impl Fn(&str) -> &'a str) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let organisation_name = errors.check(ORGANISATION_NAME, text::line(field(ORGANISATION_NAME), "Organisation name", 1, 80));
        let ticket_prefix = errors.check(TICKET_PREFIX, parse_prefix(field(TICKET_PREFIX)));
        let auto_close_hours = errors.check(AUTO_CLOSE_HOURS, parse_hours(field(AUTO_CLOSE_HOURS), "Auto-close"));
        let mut sla = HashMap::new();
        for (priority, first_response_key, resolution_key) in SLA_KEYS {
            let first_response =
                errors.check(first_response_key, parse_hours(field(first_response_key), "The first-response target"));
            let resolution = errors.check(resolution_key, parse_hours(field(resolution_key), "The resolution target"));
            if let (Some(first_response_hours), Some(resolution_hours)) = (first_response, resolution) {
                if first_response_hours > resolution_hours {
                    errors.add(resolution_key, "The resolution target cannot come before the first-response target.");
                }
                sla.insert(priority, SlaTarget { first_response_hours, resolution_hours });
            }
        }
        errors.into_result()?;
        Ok(Self {
            organisation_name: organisation_name.expect("checked"),
            ticket_prefix: ticket_prefix.expect("checked"),
            auto_close_hours: auto_close_hours.expect("checked"),
            // A checkbox: any value is ticked.
            require_two_factor_staff: !field(REQUIRE_TWO_FACTOR_STAFF).is_empty() && field(REQUIRE_TWO_FACTOR_STAFF) != "false",
            sla,
        })
    }

    /// Stores every setting that differs from what is stored, with one audit row of the
    /// changes. Every app instance reads settings per request, so it takes effect at once.
    pub async fn save(&self, db: &Db, actor_id: i64, now: Timestamp) -> Result<()> {
        let mut tx = db.begin_write().await?;
        let stored: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings").fetch_all(&mut *tx).await?;
        let current = Self::from_rows(stored.into_iter().collect());
        let mut before = Map::new();
        let mut after = Map::new();
        for ((key, old), (_, new)) in current.to_pairs().into_iter().zip(self.to_pairs()) {
            if old == new {
                continue;
            }
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(&new)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            before.insert(key.into(), json!(old));
            after.insert(key.into(), json!(new));
        }
        if !after.is_empty() {
            let entry = audit::Entry {
                actor_id: Some(actor_id),
                action: "settings.update",
                object_type: "settings",
                object_id: "settings".into(),
                before: Some(Value::Object(before)),
                after: Some(Value::Object(after)),
            };
            audit::record(&mut tx, entry, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// 1–10 of A–Z, 0–9 and `-`; lower-case letters are taken as capitals.
pub fn parse_prefix(input: &str) -> Result<String, String> {
    let prefix = input.trim().to_ascii_uppercase();
    if prefix.is_empty() {
        Err("Ticket prefix is required, for example TCK-.".into())
    } else if !prefix.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-') {
        Err("Use only letters A–Z, digits and hyphens, for example TCK-.".into())
    } else if prefix.len() > 10 {
        Err("Use at most 10 characters.".into())
    } else {
        Ok(prefix)
    }
}

fn parse_hours(input: &str, label: &str) -> Result<i64, String> {
    match input.trim().parse::<i64>() {
        Ok(hours) if (1..=MAX_HOURS).contains(&hours) => Ok(hours),
        _ => Err(format!("{label} takes a whole number of hours from 1 to {MAX_HOURS}.")),
    }
}

pub async fn organisation_name(db: &Db) -> sqlx::Result<String> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(ORGANISATION_NAME).fetch_optional(db.pool()).await?;
    Ok(stored.unwrap_or_else(|| Settings::default().organisation_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reports_every_bad_field() {
        let form: HashMap<&str, &str> = [
            (ORGANISATION_NAME, "Acme"),
            (TICKET_PREFIX, "bad prefix!"),
            (AUTO_CLOSE_HOURS, "0"),
            ("sla_urgent_first_response_hours", "5"),
            ("sla_urgent_resolution_hours", "4"),
        ]
        .into_iter()
        .collect();
        let Err(crate::domain::Error::Invalid(errors)) = Settings::parse(|key| form.get(key).copied().unwrap_or("")) else {
            panic!("bad settings accepted");
        };
        assert!(errors.get(TICKET_PREFIX).is_some());
        assert!(errors.get(AUTO_CLOSE_HOURS).is_some());
        assert!(errors.get("sla_urgent_resolution_hours").unwrap().contains("cannot come before"));
        assert!(errors.get("sla_low_first_response_hours").is_some(), "a missing value is reported");
        assert!(errors.get(ORGANISATION_NAME).is_none());
        assert_eq!(parse_prefix(" hd-2 "), Ok("HD-2".to_string()));
        assert!(parse_prefix("ÄÖ").is_err() && parse_prefix("ABCDEFGHIJK").is_err());
    }

    #[test]
    fn stored_values_override_defaults_and_bad_ones_are_ignored() {
        let rows = [
            (TICKET_PREFIX.to_string(), "HD-".to_string()),
            (AUTO_CLOSE_HOURS.to_string(), "not a number".to_string()),
            (sla_resolution_key(Priority::Urgent).to_string(), "2".to_string()),
        ];
        let settings = Settings::from_rows(rows.into_iter().collect());
        assert_eq!(settings.ticket_prefix, "HD-");
        assert_eq!(settings.auto_close_hours, 72);
        assert_eq!(settings.sla(Priority::Urgent), SlaTarget { first_response_hours: 1, resolution_hours: 2 });
        assert_eq!(settings.sla(Priority::Low), SlaTarget { first_response_hours: 24, resolution_hours: 168 });
    }
}
