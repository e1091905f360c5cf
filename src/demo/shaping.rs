//! The demo's ticket fields and tags: a ticket type customers choose, a resolution agents
//! must give before resolving, a product, and tags from common to rare — so that filters
//! can be tried (and measured) on realistic shares.

use super::rows::{Dice, Value, insert_rows};
use crate::db::Tx;
use crate::domain::clock::Timestamp;
use crate::domain::tickets::Status;

/// (key, label, options with their weights, customer visible and editable, required to resolve)
type DemoField = (&'static str, &'static str, &'static [(&'static str, usize)], bool, bool);

const FIELDS: [DemoField; 3] = [
    ("type", "Type", &[("Question", 40), ("Incident", 30), ("Request", 25), ("Problem", 5)], true, false),
    ("product", "Product", &[("Portal", 35), ("Mobile app", 25), ("Billing", 20), ("Hardware", 15), ("Network", 5)], true, false),
    (
        "resolution",
        "Resolution",
        &[("Fixed", 50), ("Workaround", 20), ("Answered", 20), ("Duplicate", 5), ("No reply", 5)],
        false,
        true,
    ),
];

/// Tags and how many tickets in 1,000 carry each: from one in seven to one in a thousand.
const TAGS: [(&str, usize); 10] = [
    ("billing", 140),
    ("follow-up", 90),
    ("vip", 50),
    ("refund", 40),
    ("outage", 25),
    ("hardware", 20),
    ("onboarding", 15),
    ("feature-request", 10),
    ("security", 5),
    ("legal", 1),
];

/// The demo's fields, created unless they exist; answers each one's id, in `FIELDS` order.
pub async fn seed_fields(tx: &mut Tx, now: Timestamp) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(FIELDS.len());
    for (position, (key, label, options, for_customers, to_resolve)) in FIELDS.iter().enumerate() {
        let options: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
        sqlx::query(
            "INSERT INTO ticket_fields (key, label, kind, options, customer_visible, customer_editable, required_to_resolve, \
             position, created_at) VALUES ($1, $2, 'select', $3, $4, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING",
        )
        .bind(*key)
        .bind(*label)
        .bind(options.join("\n"))
        .bind(*for_customers)
        .bind(*to_resolve)
        .bind(position as i64 * 10)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        ids.push(sqlx::query_scalar("SELECT id FROM ticket_fields WHERE key = $1").bind(*key).fetch_one(&mut **tx).await?);
    }
    Ok(ids)
}

/// Field values and tags for a batch of tickets, written at once.
#[derive(Default)]
pub struct Shaping {
    values: Vec<Vec<Value>>,
    tags: Vec<Vec<Value>>,
}

impl Shaping {
    /// Every ticket has a type and a product; resolved and closed ones a resolution.
    pub fn add(&mut self, dice: &mut Dice, field_ids: &[i64], ticket_id: i64, status: Status) {
        for ((_, _, options, _, to_resolve), field_id) in FIELDS.iter().zip(field_ids) {
            if *to_resolve && !matches!(status, Status::Resolved | Status::Closed) {
                continue;
            }
            let weights: Vec<usize> = options.iter().map(|(_, weight)| *weight).collect();
            let option = options[dice.weighted(&weights)].0;
            self.values.push(vec![Value::Int(ticket_id), Value::Int(*field_id), Value::Text(option.into())]);
        }
        for (tag, per_thousand) in TAGS {
            if dice.below(1_000) < per_thousand {
                self.tags.push(vec![Value::Int(ticket_id), Value::Text(tag.into())]);
            }
        }
    }

    pub async fn write(self, tx: &mut Tx) -> sqlx::Result<()> {
        insert_rows(tx, "INSERT INTO ticket_field_values (ticket_id, field_id, value)", 3, self.values).await?;
        insert_rows(tx, "INSERT INTO ticket_tags (ticket_id, tag)", 2, self.tags).await
    }
}
