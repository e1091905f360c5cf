//! `/admin/audit`: who did what, when — newest first, filtered by actor, object and dates.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::admin::audit::{self, AuditFilter, AuditRow, GROUP_FIELDS, OBJECT_TYPES, ReferencedNames, USER_FIELDS};
use crate::domain::tickets::queue::parse_date;
use crate::domain::tickets::{Priority, Status, TicketNumber};
use crate::web::error::Result;
use crate::web::extract::Admin;
use crate::web::format::Moment;
use crate::web::page::{PageContext, ok};
use crate::web::state::AppState;
use crate::web::views::{Pager, page_number};

const DAY: i64 = 24 * 3600;

#[derive(Deserialize, Default)]
pub struct AuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    object_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<String>,
}

/// One field an entry changed: before → after, as text.
pub struct FieldChange {
    field: String,
    before: String,
    after: String,
}

pub struct AuditEntryView {
    moment: Moment,
    actor: String,
    /// The action in words ("Changed the priority"), and as recorded (`ticket.priority`).
    action_words: String,
    action: String,
    object: String,
    /// Where the object can be looked at, if anywhere.
    object_href: Option<String>,
    changes: Vec<FieldChange>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    ctx: PageContext,
    params: AuditParams,
    /// Each kind of object as its value and label.
    object_types: Vec<(&'static str, String)>,
    entries: Vec<AuditEntryView>,
    pager: Pager,
}

pub async fn list(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ctx: PageContext,
    Query(params): Query<AuditParams>,
) -> Result<Response> {
    let filter = AuditFilter {
        actor: params.actor.clone(),
        object_type: OBJECT_TYPES.iter().find(|kind| **kind == params.object).map(|kind| (*kind).to_owned()),
        // Tickets are recorded by number: `TCK-1001` finds what `1001` does.
        object_id: match TicketNumber::parse(&params.object_id) {
            Some(number) if params.object == "ticket" => number.get().to_string(),
            _ => params.object_id.clone(),
        },
        from: parse_date(&params.from),
        before: parse_date(&params.to).map(|day| day + DAY),
        page: page_number(params.page.as_deref()),
    };
    let paged = audit::list(&state.db, &filter).await?;
    let query = [
        ("actor", params.actor.as_str()),
        ("object", params.object.as_str()),
        ("object_id", params.object_id.as_str()),
        ("from", params.from.as_str()),
        ("to", params.to.as_str()),
    ];
    let pager = Pager::new(&paged, "/admin/audit", &query);
    let now = state.now();
    let names = audit::referenced_names(&state.db, &paged.items).await?;
    let entries = paged.items.into_iter().map(|row| entry_view(row, &names, now)).collect();
    let object_types = OBJECT_TYPES.iter().map(|kind| (*kind, kind.replace('_', " "))).collect();
    ok(&AuditPage { ctx, params, object_types, entries, pager })
}

fn entry_view(row: AuditRow, names: &ReferencedNames, now: i64) -> AuditEntryView {
    let object_href = match row.object_type.as_str() {
        "ticket" => Some(format!("/desk/tickets/{}", row.object_id)),
        "user" => Some(format!("/admin/users/{}", row.object_id)),
        "group" => Some(format!("/admin/groups/{}", row.object_id)),
        "organisation" => Some(format!("/desk/organisations/{}", row.object_id)),
        "ticket_field" => Some(format!("/admin/fields/{}", row.object_id)),
        "settings" => Some("/admin/settings".to_owned()),
        "canned_response" => Some(format!("/desk/canned/{}", row.object_id)),
        "mail" => Some("/admin/mail".to_owned()),
        _ => None,
    };
    AuditEntryView {
        moment: Moment::new(row.created_at, now),
        actor: match (row.actor_name, row.actor_id) {
            (Some(name), _) => name,
            (None, Some(id)) => format!("user {id}"),
            (None, None) => "System".to_owned(),
        },
        object: object_words(&row.object_type, &row.object_id),
        action_words: action_words(&row.action),
        action: row.action,
        object_href,
        changes: changes(row.before_state.as_deref(), row.after_state.as_deref(), names),
    }
}

/// What was done, as people say it; an action without words of its own is read from its
/// key (`group.create` → "Created the group", `user.two_factor` → "User: two factor").
fn action_words(action: &str) -> String {
    let words = match action {
        "ticket.create" => "Opened the ticket",
        "ticket.message" => "Replied",
        "ticket.note" => "Added an internal note",
        "ticket.status" => "Changed the status",
        "ticket.priority" => "Changed the priority",
        "ticket.group" => "Moved to another group",
        "ticket.assignee" => "Changed the assignee",
        "ticket.merge" => "Merged into another ticket",
        "ticket.fields" => "Changed fields",
        "ticket.tags" => "Changed the tags",
        "ticket.cc" => "Changed who is copied",
        "ticket.file_removed" => "Removed a file",
        "settings.update" => "Changed the settings",
        "user.create" => "Created the account",
        "user.update" => "Changed the account",
        "user.deactivate" => "Deactivated the account",
        "user.reactivate" => "Reactivated the account",
        "user.password" => "Set a new password",
        "user.groups" => "Changed the groups",
        "mail.retry" => "Sent a failed mail again",
        "user.verify" => "Vouched for the address",
        "api_token.create" => "Made an API token",
        "api_token.revoke" => "Revoked an API token",
        _ => {
            let (object, verb) = action.split_once('.').unwrap_or(("", action));
            let object = object.replace('_', " ");
            return match verb {
                "create" => format!("Created the {object}"),
                "update" => format!("Changed the {object}"),
                "delete" => format!("Deleted the {object}"),
                _ if object.is_empty() => capitalised(&verb.replace('_', " ")),
                _ => capitalised(&format!("{object}: {}", verb.replace('_', " "))),
            };
        }
    };
    words.to_owned()
}

/// The object an entry is about: "Ticket 1001", "User 7", "Settings".
fn object_words(kind: &str, id: &str) -> String {
    let kind = capitalised(&kind.replace('_', " "));
    if id.is_empty() || id.eq_ignore_ascii_case(&kind) { kind } else { format!("{kind} {id}") }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A recorded value as text; ids of users and groups by name (and id, as names change);
/// statuses and priorities by their labels.
fn show(field: &str, value: Option<&Value>, names: &ReferencedNames) -> String {
    let table = if USER_FIELDS.contains(&field) {
        Some(&names.users)
    } else if GROUP_FIELDS.contains(&field) {
        Some(&names.groups)
    } else {
        None
    };
    let named = |id: i64| match table.and_then(|table| table.get(&id)) {
        Some(name) => format!("{name} (#{id})"),
        None => format!("#{id}"),
    };
    match value {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(text)) if field == "status" => {
            text.parse::<Status>().map_or_else(|_| text.clone(), |s| s.label().to_owned())
        }
        Some(Value::String(text)) if field == "priority" => {
            text.parse::<Priority>().map_or_else(|_| text.clone(), |p| p.label().to_owned())
        }
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(id)) if table.is_some() && id.is_i64() => named(id.as_i64().unwrap_or_default()),
        Some(Value::Array(list)) if table.is_some() => {
            if list.is_empty() {
                "none".to_owned()
            } else {
                list.iter().map(|id| id.as_i64().map_or_else(|| id.to_string(), named)).collect::<Vec<_>>().join(", ")
            }
        }
        Some(other) => other.to_string(),
    }
}

/// The fields of the before and after states, side by side.
fn changes(before: Option<&str>, after: Option<&str>, names: &ReferencedNames) -> Vec<FieldChange> {
    let parse = |state: Option<&str>| -> Map<String, Value> {
        state.and_then(|text| serde_json::from_str::<Map<String, Value>>(text).ok()).unwrap_or_default()
    };
    let (before, after) = (parse(before), parse(after));
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        // A state may repeat a field that stayed as it was (a group's name when only its
        // members changed); only what changed is worth a line.
        .filter(|field| !(before.contains_key(*field) && after.contains_key(*field) && before.get(*field) == after.get(*field)))
        .map(|field| FieldChange {
            field: field.trim_end_matches("_id").replace('_', " "),
            before: show(field, before.get(field), names),
            after: show(field, after.get(field), names),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_line_up_fields_of_both_states() {
        let names = ReferencedNames {
            users: [(3, "Ann".to_owned())].into_iter().collect(),
            groups: [(1, "Sales".to_owned())].into_iter().collect(),
        };
        let listed = changes(
            Some(r#"{"status":"new","group_id":1,"assignee_id":null,"members":[3,9],"name":"Same"}"#),
            Some(r#"{"status":"open","assignee_id":3,"members":[],"name":"Same"}"#),
            &names,
        );
        let rows: Vec<(&str, &str, &str)> =
            listed.iter().map(|change| (change.field.as_str(), change.before.as_str(), change.after.as_str())).collect();
        assert_eq!(
            rows,
            vec![
                ("assignee", "—", "Ann (#3)"),
                ("group", "Sales (#1)", "—"),
                ("members", "Ann (#3), #9", "none"),
                ("status", "New", "Open")
            ]
        );
    }

    #[test]
    fn actions_and_objects_read_as_words() {
        assert_eq!(action_words("ticket.priority"), "Changed the priority");
        assert_eq!(action_words("ticket.note"), "Added an internal note");
        assert_eq!(action_words("user.two_factor"), "User: two factor");
        assert_eq!(action_words("ticket_field.delete"), "Deleted the ticket field");
        assert_eq!(object_words("settings", "settings"), "Settings");
        assert_eq!(object_words("ticket", "1001"), "Ticket 1001");
        assert_eq!(object_words("ticket_field", "4"), "Ticket field 4");
    }
}
