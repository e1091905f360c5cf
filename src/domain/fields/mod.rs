//! Ticket fields an admin defines (a ticket type, a resolution code, a product, a due
//! date…): their definitions here, their values on tickets in [`values`]. A field keyed
//! `type` is an ordinary select; reports call it the ticket type.

pub mod values;

use serde_json::{Value, json};

use crate::db::search::{self, Documents};
use crate::db::{self, Backend, Db, Flag, stored_enum};
use crate::domain::accounts::role::Role;
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::input::WholeNumber;
use crate::domain::{Error, FieldErrors, Result, text};

pub use values::{FieldInput, SetValue, Setter, Unknown, ValuesOf};

stored_enum!(
    /// What a field holds, and so how its value is entered and checked.
    pub enum FieldKind {
        Text => "text", "Text";
        Textarea => "textarea", "Text, several lines";
        Number => "number", "Number";
        Date => "date", "Date";
        Select => "select", "One of a list";
        Multiselect => "multiselect", "Several of a list";
        Checkbox => "checkbox", "Checkbox";
    } else "Choose text, textarea, number, date, select, multiselect or checkbox."
);

impl FieldKind {
    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::Select | FieldKind::Multiselect)
    }
}

pub const OPTIONS_MAX: usize = 200;
pub const OPTION_LENGTH_MAX: usize = 100;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FieldDefinition {
    pub id: i64,
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// One per line, for the selects.
    pub options: String,
    #[sqlx(try_from = "Flag")]
    pub required: bool,
    #[sqlx(try_from = "Flag")]
    pub customer_visible: bool,
    #[sqlx(try_from = "Flag")]
    pub customer_editable: bool,
    #[sqlx(try_from = "Flag")]
    pub required_to_resolve: bool,
    pub position: i64,
}

impl FieldDefinition {
    pub fn option_list(&self) -> Vec<&str> {
        self.options.lines().collect()
    }

    /// The one rule for who sees a field, on pages and in the API alike: staff every one,
    /// customers those shown to them.
    pub fn visible_to(&self, role: Role) -> bool {
        role.is_staff() || self.customer_visible
    }

    /// Whether `setter` may set the field: staff any, a customer (opening a ticket) those
    /// they may fill in.
    pub fn settable_by(&self, setter: Setter) -> bool {
        setter == Setter::Staff || self.customer_editable
    }

    /// The name of its form field, and of its errors.
    pub fn form_name(&self) -> String {
        format!("field_{}", self.key)
    }

    fn as_json(&self) -> Value {
        json!({
            "key": self.key, "label": self.label, "kind": self.kind.as_str(), "options": self.option_list(),
            "required": self.required, "customer_visible": self.customer_visible,
            "customer_editable": self.customer_editable, "required_to_resolve": self.required_to_resolve,
            "position": self.position,
        })
    }
}

const COLUMNS: &str =
    "id, key, label, kind, options, required, customer_visible, customer_editable, required_to_resolve, position";

/// Every field, in the order forms show them (in a transaction, or from the pool).
pub async fn all<'c>(executor: impl sqlx::Executor<'c, Database = sqlx::Any>) -> Result<Vec<FieldDefinition>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM ticket_fields ORDER BY position, lower(label), id"))
        .fetch_all(executor)
        .await?)
}

pub async fn find(db: &Db, id: i64) -> Result<FieldDefinition> {
    let found: Option<FieldDefinition> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM ticket_fields WHERE id = $1")).bind(id).fetch_optional(db.pool()).await?;
    found.ok_or(Error::NotFound)
}

/// A field as an admin defines it, every part checked. The key is read only on creation:
/// it is fixed after.
#[derive(Debug)]
pub struct DefinitionInput {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub required: bool,
    pub customer_visible: bool,
    pub customer_editable: bool,
    pub required_to_resolve: bool,
    pub position: Option<i64>,
}

/// What an admin sent, before it is read.
pub struct DefinitionForm<'a> {
    pub key: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub options: &'a str,
    pub required: bool,
    pub customer_visible: bool,
    pub customer_editable: bool,
    pub required_to_resolve: bool,
    pub position: WholeNumber<'a>,
}

impl DefinitionInput {
    /// A field customers must fill is one they can edit, and one they can edit is one they
    /// see: ticking the stronger box implies the weaker ones.
    pub fn parse(form: DefinitionForm<'_>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let key = errors.check("key", parse_key(form.key));
        let label = errors.check("label", text::line(form.label, "Label", 1, 80));
        let kind = errors.check("kind", form.kind.trim().parse::<FieldKind>());
        let options = match kind {
            Some(kind) if kind.has_options() => errors.check("options", parse_options(form.options)),
            _ => Some(Vec::new()),
        };
        let position = match form.position.read() {
            None => Some(None),
            Some(Ok(position)) if (0..=10_000).contains(&position) => Some(Some(position)),
            Some(_) => errors.check("position", Err("Enter a whole number from 0 to 10000.".to_owned())),
        };
        errors.into_result()?;
        let customer_editable = form.customer_editable || form.required;
        Ok(Self {
            key: key.expect("checked"),
            label: label.expect("checked"),
            kind: kind.expect("checked"),
            options: options.expect("checked"),
            required: form.required,
            customer_visible: form.customer_visible || customer_editable,
            customer_editable,
            required_to_resolve: form.required_to_resolve,
            position: position.expect("checked"),
        })
    }
}

/// `[a-z][a-z0-9_]{0,39}`: it names the form field `field_{key}` and the API's key.
pub fn parse_key(input: &str) -> std::result::Result<String, String> {
    let key = input.trim();
    let well_formed = (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if well_formed {
        Ok(key.to_owned())
    } else {
        Err("Use 1 to 40 lower-case letters, digits or underscores, starting with a letter (like resolution_code).".into())
    }
}

fn parse_options(input: &str) -> std::result::Result<Vec<String>, String> {
    let mut options: Vec<String> = Vec::new();
    for line in input.lines() {
        let option = text::line(line, "An option", 0, OPTION_LENGTH_MAX)?;
        if option.is_empty() {
            continue;
        }
        if options.iter().any(|known| known.to_lowercase() == option.to_lowercase()) {
            return Err(format!("“{option}” is listed twice."));
        }
        options.push(option);
    }
    match options.len() {
        0 => Err("List the options, one per line.".into()),
        count if count > OPTIONS_MAX => Err(format!("At most {OPTIONS_MAX} options.")),
        _ => Ok(options),
    }
}

fn entry(action: &'static str, id: i64, actor_id: i64, before: Option<Value>, after: Option<Value>) -> audit::Entry<'static> {
    audit::Entry { actor_id: Some(actor_id), action, object_type: "ticket_field", object_id: id.to_string(), before, after }
}

impl DefinitionInput {
    fn as_json(&self, key: &str, position: i64) -> Value {
        json!({
            "key": key, "label": self.label, "kind": self.kind.as_str(), "options": self.options,
            "required": self.required, "customer_visible": self.customer_visible,
            "customer_editable": self.customer_editable, "required_to_resolve": self.required_to_resolve,
            "position": position,
        })
    }
}

pub async fn create(db: &Db, input: &DefinitionInput, actor_id: i64, now: Timestamp) -> Result<i64> {
    let mut tx = db.begin_write().await?;
    let position = match input.position {
        Some(position) => position,
        None => sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 10 FROM ticket_fields").fetch_one(&mut *tx).await?,
    };
    let inserted = sqlx::query_scalar(
        "INSERT INTO ticket_fields (key, label, kind, options, required, customer_visible, customer_editable, \
         required_to_resolve, position, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&input.key)
    .bind(&input.label)
    .bind(input.kind)
    .bind(input.options.join("\n"))
    .bind(input.required)
    .bind(input.customer_visible)
    .bind(input.customer_editable)
    .bind(input.required_to_resolve)
    .bind(position)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Err(error) if db::is_unique_violation(&error) => {
            return Err(Error::Invalid(FieldErrors::single("key", "Another field has this key already.")));
        }
        other => other?,
    };
    audit::record(&mut tx, entry("ticket_field.create", id, actor_id, None, Some(input.as_json(&input.key, position))), now)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a field; its key and kind stay (values already stored are of that kind). A
/// select's options may change: values no longer listed stay on their tickets.
pub async fn update(db: &Db, id: i64, input: &DefinitionInput, actor_id: i64, now: Timestamp) -> Result<()> {
    let before = find(db, id).await?;
    if input.kind != before.kind {
        return Err(Error::Invalid(FieldErrors::single("kind", "A field keeps its kind; add a new field for another.")));
    }
    let position = input.position.unwrap_or(before.position);
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE ticket_fields SET label = $1, options = $2, required = $3, customer_visible = $4, customer_editable = $5, \
         required_to_resolve = $6, position = $7 WHERE id = $8",
    )
    .bind(&input.label)
    .bind(input.options.join("\n"))
    .bind(input.required)
    .bind(input.customer_visible)
    .bind(input.customer_editable)
    .bind(input.required_to_resolve)
    .bind(position)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let after = input.as_json(&before.key, position);
    audit::record(&mut tx, entry("ticket_field.update", id, actor_id, Some(before.as_json()), Some(after)), now).await?;
    tx.commit().await?;
    Ok(())
}

/// A field deleted: what it was, and how many tickets had a value for it.
pub struct Deleted {
    pub field: FieldDefinition,
    pub tickets_with_a_value: u64,
}

/// Deletes a field and its values. Nothing is lost without a trace: every ticket that had
/// a value gets an audit row with it, and the definition is audited with their number.
pub async fn delete(db: &Db, id: i64, actor_id: i64, now: Timestamp) -> Result<Deleted> {
    let mut tx = db.begin_write().await?;
    // Locked, so no value is written between the audit rows and the deletion (a value's
    // insert waits on this row, and then finds its field gone).
    let found: Option<FieldDefinition> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM ticket_fields WHERE id = $1{}", db.backend().row_lock()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let before = found.ok_or(Error::NotFound)?;
    let values_json = match db.backend() {
        Backend::Sqlite if before.kind == FieldKind::Multiselect => "json_group_array(v.value ORDER BY v.value)",
        Backend::Sqlite => "json_quote(MIN(v.value))",
        Backend::Postgres if before.kind == FieldKind::Multiselect => "json_agg(v.value ORDER BY v.value)",
        Backend::Postgres => "to_json(MIN(v.value))",
    };
    let object = match db.backend() {
        Backend::Sqlite => "json_object",
        Backend::Postgres => "json_build_object",
    };
    let kept = sqlx::query(&format!(
        "INSERT INTO audit_log (actor_id, action, object_type, object_id, before_state, after_state, created_at) \
         SELECT $1, 'ticket.fields', 'ticket', CAST(t.number AS TEXT), \
                CAST({object}('fields', {object}($2, {values_json})) AS TEXT), \
                CAST({object}('fields', {object}($2, NULL)) AS TEXT), $3 \
         FROM ticket_field_values v JOIN tickets t ON t.id = v.ticket_id WHERE v.field_id = $4 GROUP BY t.id, t.number"
    ))
    .bind(actor_id)
    .bind(&before.key)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    search::reindex(&mut tx, db.backend(), Documents::LeavingField(id)).await?;
    sqlx::query("DELETE FROM ticket_field_values WHERE field_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM ticket_fields WHERE id = $1").bind(id).execute(&mut *tx).await?;
    let mut state = before.as_json();
    state["tickets_with_a_value"] = json!(kept.rows_affected());
    audit::record(&mut tx, entry("ticket_field.delete", id, actor_id, Some(state), None), now).await?;
    tx.commit().await?;
    Ok(Deleted { field: before, tickets_with_a_value: kept.rows_affected() })
}

/// How many tickets have a value for the field: what deleting it would take away.
pub async fn tickets_with_a_value(db: &Db, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(DISTINCT ticket_id) FROM ticket_field_values WHERE field_id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(key: &'a str, kind: &'a str, options: &'a str) -> DefinitionForm<'a> {
        DefinitionForm {
            key,
            label: "Type",
            kind,
            options,
            required: true,
            customer_visible: false,
            customer_editable: false,
            required_to_resolve: false,
            position: WholeNumber::Typed(""),
        }
    }

    #[test]
    fn keys_are_lower_case_words() {
        for good in ["type", "resolution_code", "a1", &"k".repeat(40)] {
            assert!(parse_key(good).is_ok(), "{good}");
        }
        for bad in ["", "Type", "1st", "_x", "a-b", "ä", &"k".repeat(41)] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_required_field_is_one_customers_see_and_edit() {
        let input = DefinitionInput::parse(form("type", "select", "Question\n\n Incident \nRequest")).unwrap();
        assert_eq!(input.options, ["Question", "Incident", "Request"]);
        assert!(input.customer_editable && input.customer_visible);
        assert!(DefinitionInput::parse(form("type", "text", "")).unwrap().options.is_empty());
    }

    #[test]
    fn selects_need_distinct_options() {
        let Err(Error::Invalid(errors)) = DefinitionInput::parse(form("type", "select", " \n")) else { panic!("accepted") };
        assert!(errors.get("options").is_some());
        assert!(DefinitionInput::parse(form("type", "multiselect", "A\na")).is_err());
        let Err(Error::Invalid(errors)) = DefinitionInput::parse(form("Bad", "list", "")) else { panic!("accepted") };
        assert!(errors.get("key").is_some() && errors.get("kind").is_some());
    }
}
