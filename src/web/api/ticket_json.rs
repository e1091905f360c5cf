//! How the API shows tickets — one ticket, a queue row, a customer's list item — each
//! with its fields (a customer: the ones shown to customers) and, for staff, its tags;
//! and how it reads the `fields` a client sends.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ApiResult, moment};
use crate::db::Db;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::User;
use crate::domain::conversation::cc;
use crate::domain::fields::values::{self, FieldInput, TICKED, Unknown, ValuesOf};
use crate::domain::fields::{self, FieldDefinition};
use crate::domain::tags;
use crate::domain::tickets::queue::QueueRow;
use crate::domain::tickets::{Ticket, TicketNumber, TicketSummary};
use crate::domain::{Error, FieldErrors, Result};

#[derive(Serialize)]
struct Named {
    id: i64,
    name: String,
}

#[derive(Serialize)]
struct Person {
    id: i64,
    name: String,
    email: String,
}

/// What only staff are shown of a ticket.
#[derive(Serialize)]
pub(super) struct StaffFacts {
    assignee: Option<Named>,
    pub(super) version: i64,
    due_at: Option<String>,
    first_response_at: Option<String>,
    time_spent_minutes: i64,
    tags: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct TicketJson {
    id: i64,
    reference: String,
    subject: String,
    status: &'static str,
    priority: &'static str,
    group: Named,
    requester: Person,
    organisation: Option<Named>,
    /// The addresses of those copied.
    cc: Vec<String>,
    created_at: String,
    updated_at: String,
    resolved_at: Option<String>,
    closed_at: Option<String>,
    rating: Option<i64>,
    rating_comment: Option<String>,
    merged_into: Option<i64>,
    follow_up_of: Option<i64>,
    /// By key: every field for staff, those shown to customers for a customer.
    fields: Map<String, Value>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(super) staff: Option<StaffFacts>,
}

/// The fields the caller sees (`definitions`, read through [`visible_fields`]), by key,
/// each value as [`values::as_json`] gives it (an unset field is null).
fn fields_json(definitions: &[FieldDefinition], values: Option<&ValuesOf>) -> Map<String, Value> {
    definitions
        .iter()
        .map(|field| {
            let given = values.and_then(|values| values.get(&field.id)).map(Vec::as_slice).unwrap_or_default();
            (field.key.clone(), values::as_json(field, given))
        })
        .collect()
}

/// The fields `role` sees, in order.
async fn visible_fields(db: &Db, role: Role) -> Result<Vec<FieldDefinition>> {
    Ok(fields::all(db.pool()).await?.into_iter().filter(|field| field.visible_to(role)).collect())
}

/// The ticket as the API shows it to `viewer`, with who is copied on it, its fields and
/// (staff) its tags.
pub(super) async fn ticket_json(db: &Db, ticket: Ticket, viewer: &User) -> ApiResult<TicketJson> {
    let cc = cc::of_ticket(db, ticket.id).await?.into_iter().map(|copied| copied.email).collect();
    let staff = viewer.role.is_staff();
    let definitions = visible_fields(db, viewer.role).await?;
    let values = values::of_ticket(db.pool(), ticket.id).await?;
    let tags = if staff { tags::of_ticket(db.pool(), ticket.id).await? } else { Vec::new() };
    let group_name = if staff { ticket.group_name.clone() } else { ticket.group_for_customer().to_owned() };
    Ok(TicketJson {
        id: ticket.number.get(),
        reference: ticket.reference(),
        subject: ticket.subject,
        status: ticket.status.as_str(),
        priority: ticket.priority.as_str(),
        group: Named { id: ticket.group_id, name: group_name },
        requester: Person { id: ticket.requester_id, name: ticket.requester_name, email: ticket.requester_email },
        organisation: ticket.organisation_id.zip(ticket.organisation_name).map(|(id, name)| Named { id, name }),
        cc,
        created_at: moment(ticket.created_at),
        // Internal notes move `updated_at`; a customer sees only what they can see change.
        updated_at: moment(if staff { ticket.updated_at } else { ticket.public_updated_at }),
        resolved_at: ticket.resolved_at.map(moment),
        closed_at: ticket.closed_at.map(moment),
        rating: ticket.rating,
        rating_comment: ticket.rating_comment,
        merged_into: ticket.merged_into.map(TicketNumber::get),
        follow_up_of: ticket.follow_up_of.map(TicketNumber::get),
        fields: fields_json(&definitions, Some(&values)),
        staff: staff.then(|| StaffFacts {
            assignee: ticket.assignee_id.zip(ticket.assignee_name).map(|(id, name)| Named { id, name }),
            version: ticket.version,
            due_at: ticket.due_at.map(moment),
            first_response_at: ticket.first_response_at.map(moment),
            time_spent_minutes: ticket.time_spent_minutes,
            tags,
        }),
    })
}

/// What a page of tickets shows beside its rows: their fields and (staff) tags, read in a
/// fixed number of statements however many rows the page holds.
pub(super) struct PageExtras {
    definitions: Vec<FieldDefinition>,
    values: BTreeMap<i64, ValuesOf>,
    tags: BTreeMap<i64, Vec<String>>,
}

impl PageExtras {
    /// `definitions`: every field; the viewer's are kept.
    pub(super) async fn read(db: &Db, ticket_ids: &[i64], viewer: &User, definitions: Vec<FieldDefinition>) -> Result<Self> {
        let definitions: Vec<_> = definitions.into_iter().filter(|field| field.visible_to(viewer.role)).collect();
        let values = if definitions.is_empty() { BTreeMap::new() } else { values::of_tickets(db, ticket_ids).await? };
        let tags = if viewer.role.is_staff() { tags::of_tickets(db, ticket_ids).await? } else { BTreeMap::new() };
        Ok(Self { definitions, values, tags })
    }

    fn fields(&self, ticket_id: i64) -> Map<String, Value> {
        fields_json(&self.definitions, self.values.get(&ticket_id))
    }

    fn tags(&self, ticket_id: i64) -> Vec<String> {
        self.tags.get(&ticket_id).cloned().unwrap_or_default()
    }
}

/// A row of the staff's queue.
pub(super) fn queue_row_json(row: QueueRow, extras: &PageExtras) -> Value {
    json!({
        "id": row.number.get(),
        "reference": row.reference(),
        "subject": row.subject,
        "status": row.status.as_str(),
        "priority": row.priority.as_str(),
        "group": Named { id: row.group_id, name: row.group_name },
        "requester": Person { id: row.requester_id, name: row.requester_name, email: row.requester_email },
        "assignee": row.assignee_id.zip(row.assignee_name).map(|(id, name)| Named { id, name }),
        "due_at": row.due_at.map(moment),
        "updated_at": moment(row.updated_at),
        "fields": extras.fields(row.id),
        "tags": extras.tags(row.id),
    })
}

/// An item of a customer's list.
pub(super) fn summary_json(summary: TicketSummary, extras: &PageExtras) -> Value {
    json!({
        "id": summary.number.get(),
        "reference": summary.reference(),
        "subject": summary.subject,
        "status": summary.status.as_str(),
        "priority": summary.priority.as_str(),
        "group": Named { id: summary.group_id, name: summary.group_for_customer().to_owned() },
        "updated_at": moment(summary.updated_at),
        "fields": extras.fields(summary.id),
    })
}

/// The `fields` a client sent, by key, as the fields' input: a text, a number, `true` or
/// `false`, a list of texts, or `null`. `null`, `false`, `""` and `[]` clear a field. A key
/// naming no field the caller may set is refused when the values are checked.
pub(super) fn field_input(given: &BTreeMap<String, Value>) -> Result<FieldInput> {
    let mut errors = FieldErrors::new();
    let mut entries = BTreeMap::new();
    for (key, value) in given {
        let values = match value {
            Value::Null | Value::Bool(false) => Vec::new(),
            Value::Bool(true) => vec![TICKED.to_owned()],
            Value::String(text) => vec![text.clone()],
            Value::Number(number) => vec![number.to_string()],
            Value::Array(items) => match items.iter().map(|item| item.as_str().map(str::to_owned)).collect() {
                Some(texts) => texts,
                None => {
                    errors.add(format!("field_{key}"), "A list of values holds texts only.");
                    continue;
                }
            },
            Value::Object(_) => {
                errors.add(format!("field_{key}"), "Give a text, a number, true or false, a list of texts, or null.");
                continue;
            }
        };
        entries.insert(key.clone(), values);
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(FieldInput { entries, unknown: Unknown::Refuse })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_json_value_is_read_as_the_forms_would_send_it() {
        let given: BTreeMap<String, Value> = serde_json::from_value(json!({
            "code": "A1", "count": 12, "share": 0.5, "urgent": true, "quiet": false, "gone": null, "tags": ["a", "b"], "none": [],
        }))
        .unwrap();
        let input = field_input(&given).unwrap();
        assert_eq!(input.unknown, Unknown::Refuse);
        let entry = |key: &str| input.entries[key].clone();
        assert_eq!((entry("code"), entry("count"), entry("share")), (vec!["A1".into()], vec!["12".into()], vec!["0.5".into()]));
        assert_eq!(entry("urgent"), [TICKED]);
        for cleared in ["quiet", "gone", "none"] {
            assert!(entry(cleared).is_empty(), "{cleared}");
        }
        assert_eq!(entry("tags"), ["a", "b"]);
        let bad: BTreeMap<String, Value> = serde_json::from_value(json!({ "list": [1], "object": {} })).unwrap();
        let Err(Error::Invalid(errors)) = field_input(&bad) else { panic!("accepted") };
        assert!(errors.get("field_list").is_some() && errors.get("field_object").is_some());
    }
}
