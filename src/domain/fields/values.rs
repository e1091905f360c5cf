//! A ticket's field values: read from what was sent, checked by kind against the field's
//! definition, stored one row per value, and shown.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{FieldDefinition, FieldKind};
use crate::db::{Db, Tx, id_list};
use crate::domain::input::OneOrMany;
use crate::domain::tickets::parse_date;
use crate::domain::{FieldErrors, Result, text};

const TEXT_MAX: usize = 500;
const TEXTAREA_MAX: usize = 5_000;
/// A checkbox's stored value; an unticked box has none.
pub const TICKED: &str = "true";

/// What was sent for the fields, by key, before it is checked: the form fields
/// `field_{key}` (a multiselect repeats its name; the forms add an empty entry so that a
/// multiselect with nothing chosen or an unticked box still says "set to nothing"), or the
/// API's `fields` object. A key not sent leaves its field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldInput {
    pub entries: BTreeMap<String, Vec<String>>,
    pub unknown: Unknown,
}

impl FieldInput {
    /// The `field_{key}` entries among a form's pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in pairs {
            if let Some(key) = name.strip_prefix("field_") {
                entries.entry(key.to_owned()).or_default().push(value.to_owned());
            }
        }
        Self { entries, unknown: Unknown::Ignore }
    }

    /// The `field_{key}` entries among a form's parameters, blanks kept.
    pub fn from_form(parameters: &BTreeMap<String, OneOrMany>) -> Self {
        Self::from_pairs(
            parameters.iter().flat_map(|(name, given)| given.values().iter().map(move |value| (name.as_str(), value.as_str()))),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What to do with a key that names no field the setter may set: a form ignores it, as
/// it ignores every field it does not show; the API refuses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unknown {
    #[default]
    Ignore,
    Refuse,
}

/// Who sets the values, which decides the fields they may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setter {
    /// Any field, at any time.
    Staff,
    /// A customer opening a ticket: the fields they may edit, the required ones filled.
    Customer,
}

/// One field's new values; none clears it.
#[derive(Clone, Debug)]
pub struct SetValue {
    pub field: FieldDefinition,
    pub values: Vec<String>,
}

/// A ticket's values, by field id.
pub type ValuesOf = BTreeMap<i64, Vec<String>>;

/// Checks `input` against `definitions`, every field at once (errors under `field_{key}`).
/// A select keeps a value no longer among its options if the ticket has it already.
pub fn parse(definitions: &[FieldDefinition], input: &FieldInput, setter: Setter, current: &ValuesOf) -> Result<Vec<SetValue>> {
    let mut errors = FieldErrors::new();
    let settable = |field: &&FieldDefinition| field.settable_by(setter);
    if input.unknown == Unknown::Refuse {
        for key in input.entries.keys() {
            if !definitions.iter().filter(settable).any(|field| &field.key == key) {
                errors.add(format!("field_{key}"), format!("There is no field “{key}” to set here."));
            }
        }
    }
    let mut parsed = Vec::new();
    for field in definitions.iter().filter(settable) {
        let given = input.entries.get(&field.key);
        let values = match given {
            Some(given) => {
                let kept = current.get(&field.id).map(Vec::as_slice).unwrap_or_default();
                match parse_values(field, given, kept) {
                    Ok(values) => values,
                    Err(message) => {
                        errors.add(field.form_name(), message);
                        continue;
                    }
                }
            }
            None => Vec::new(),
        };
        if setter == Setter::Customer && field.required && values.is_empty() {
            errors.add(field.form_name(), format!("{} is required.", field.label));
            continue;
        }
        if given.is_some() {
            parsed.push(SetValue { field: field.clone(), values });
        }
    }
    errors.into_result()?;
    Ok(parsed)
}

/// The fields of a new ticket, checked against every field's definition.
pub async fn parse_new(db: &Db, input: &FieldInput, setter: Setter) -> Result<Vec<SetValue>> {
    let definitions = super::all(db.pool()).await?;
    parse(&definitions, input, setter, &ValuesOf::new())
}

/// One field's values as given, blanks dropped, each checked by kind.
fn parse_values(field: &FieldDefinition, given: &[String], kept: &[String]) -> std::result::Result<Vec<String>, String> {
    let given: Vec<&str> = given.iter().map(|value| value.trim()).filter(|value| !value.is_empty()).collect();
    if field.kind != FieldKind::Multiselect && given.len() > 1 {
        return Err(format!("{} takes one value.", field.label));
    }
    let mut values: Vec<String> = Vec::new();
    for value in given {
        let parsed = parse_one(field, value, kept)?;
        if let Some(parsed) = parsed.filter(|parsed| !values.contains(parsed)) {
            values.push(parsed);
        }
    }
    if field.kind == FieldKind::Multiselect {
        let options = field.option_list();
        values.sort_by_key(|value| options.iter().position(|option| option == value).unwrap_or(usize::MAX));
    }
    Ok(values)
}

fn parse_one(field: &FieldDefinition, value: &str, kept: &[String]) -> std::result::Result<Option<String>, String> {
    let label = &field.label;
    Ok(Some(match field.kind {
        FieldKind::Text => text::line(value, label, 0, TEXT_MAX)?,
        FieldKind::Textarea => {
            let cleaned = text::clean(value, true)?;
            if cleaned.chars().count() > TEXTAREA_MAX {
                return Err(format!("{label} must be at most {TEXTAREA_MAX} characters."));
            }
            cleaned
        }
        FieldKind::Number => normalise_number(value).ok_or_else(|| format!("{label} takes a number, like 12 or 3.5."))?,
        FieldKind::Date => {
            parse_date(value).ok_or_else(|| format!("{label} takes a date like 2026-01-31."))?;
            value.to_owned()
        }
        FieldKind::Select | FieldKind::Multiselect => {
            let option = field.option_list().into_iter().find(|option| option.to_lowercase() == value.to_lowercase());
            match option {
                Some(option) => option.to_owned(),
                None if kept.iter().any(|kept| kept == value) => value.to_owned(),
                None => return Err(format!("“{value}” is not one of the options of {label}.")),
            }
        }
        FieldKind::Checkbox => match value.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => TICKED.to_owned(),
            "false" | "off" | "no" | "0" => return Ok(None),
            _ => return Err(format!("{label} is ticked (true) or not (false).")),
        },
    }))
}

/// A value to filter on, spelled as it is stored (`None`: an unticked box): a select
/// filters on its options.
pub fn filter_value(field: &FieldDefinition, given: &str) -> std::result::Result<Option<String>, String> {
    parse_one(field, given.trim(), &[])
}

/// A number in one spelling, so that a filter on `12` finds `12.0`: whole numbers without
/// a point, others as Rust writes them.
fn normalise_number(value: &str) -> Option<String> {
    let number: f64 = value.parse().ok().filter(|number: &f64| number.is_finite())?;
    if number.fract() == 0.0 && number.abs() < 1e15 { Some(format!("{}", number as i64)) } else { Some(format!("{number}")) }
}

/// The values of one ticket (in a transaction, or from the pool).
pub async fn of_ticket<'c>(executor: impl sqlx::Executor<'c, Database = sqlx::Any>, ticket_id: i64) -> Result<ValuesOf> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT field_id, value FROM ticket_field_values WHERE ticket_id = $1 ORDER BY field_id")
            .bind(ticket_id)
            .fetch_all(executor)
            .await?;
    let mut values = ValuesOf::new();
    for (field_id, value) in rows {
        values.entry(field_id).or_default().push(value);
    }
    Ok(values)
}

/// The values of many tickets in one statement, by ticket id.
pub async fn of_tickets(db: &Db, ticket_ids: &[i64]) -> Result<BTreeMap<i64, ValuesOf>> {
    let mut by_ticket: BTreeMap<i64, ValuesOf> = BTreeMap::new();
    if ticket_ids.is_empty() {
        return Ok(by_ticket);
    }
    let sql = format!("SELECT ticket_id, field_id, value FROM ticket_field_values WHERE ticket_id IN ({})", id_list(ticket_ids));
    for (ticket_id, field_id, value) in sqlx::query_as::<_, (i64, i64, String)>(&sql).fetch_all(db.pool()).await? {
        by_ticket.entry(ticket_id).or_default().entry(field_id).or_default().push(value);
    }
    Ok(by_ticket)
}

/// A field's change on one ticket, as stored.
pub struct Changed {
    pub field: FieldDefinition,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// Writes the values that differ from what the ticket has; answers what changed.
pub async fn store(tx: &mut Tx, ticket_id: i64, set: &[SetValue]) -> Result<Vec<Changed>> {
    let current = of_ticket(&mut **tx, ticket_id).await?;
    let mut changed = Vec::new();
    for SetValue { field, values } in set {
        let before = current.get(&field.id).cloned().unwrap_or_default();
        if &before == values {
            continue;
        }
        sqlx::query("DELETE FROM ticket_field_values WHERE ticket_id = $1 AND field_id = $2")
            .bind(ticket_id)
            .bind(field.id)
            .execute(&mut **tx)
            .await?;
        for value in values {
            sqlx::query("INSERT INTO ticket_field_values (ticket_id, field_id, value) VALUES ($1, $2, $3)")
                .bind(ticket_id)
                .bind(field.id)
                .bind(value)
                .execute(&mut **tx)
                .await?;
        }
        changed.push(Changed { field: field.clone(), before, after: values.clone() });
    }
    Ok(changed)
}

/// The fields required to resolve that the ticket has no value for, as a refusal naming
/// each, or nothing.
pub async fn check_resolvable(tx: &mut Tx, ticket_id: i64, to: &str) -> Result<()> {
    let missing: Vec<(String, String)> = sqlx::query_as(
        "SELECT f.key, f.label FROM ticket_fields f WHERE f.required_to_resolve \
         AND NOT EXISTS (SELECT 1 FROM ticket_field_values v WHERE v.field_id = f.id AND v.ticket_id = $1) \
         ORDER BY f.position, f.id",
    )
    .bind(ticket_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut errors = FieldErrors::new();
    for (key, label) in missing {
        errors.add(format!("field_{key}"), format!("Fill in {label} before the ticket is {to}."));
    }
    errors.into_result()
}

/// A value as JSON: a checkbox is true or false, a multiselect a list, a number a number,
/// anything else text (`null` when unset).
pub fn as_json(field: &FieldDefinition, values: &[String]) -> Value {
    match field.kind {
        FieldKind::Checkbox => json!(values.iter().any(|value| value == TICKED)),
        FieldKind::Multiselect => json!(values),
        FieldKind::Number => match values.first() {
            Some(value) => {
                value.parse::<i64>().map(Value::from).or_else(|_| value.parse::<f64>().map(Value::from)).unwrap_or(Value::Null)
            }
            None => Value::Null,
        },
        _ => values.first().map_or(Value::Null, |value| json!(value)),
    }
}

/// A value as people read it ("Yes" for a ticked box, a list joined by commas).
pub fn as_text(field: &FieldDefinition, values: &[String]) -> String {
    match field.kind {
        FieldKind::Checkbox if values.iter().any(|value| value == TICKED) => "Yes".into(),
        FieldKind::Checkbox => "No".into(),
        _ => values.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind, options: &str) -> FieldDefinition {
        FieldDefinition {
            id: 1,
            key: "f".into(),
            label: "F".into(),
            kind,
            options: options.into(),
            required: false,
            customer_visible: true,
            customer_editable: true,
            required_to_resolve: false,
            position: 0,
        }
    }

    fn values(kind: FieldKind, options: &str, given: &[&str]) -> std::result::Result<Vec<String>, String> {
        let given: Vec<String> = given.iter().map(|value| value.to_string()).collect();
        parse_values(&field(kind, options), &given, &[])
    }

    use crate::domain::Error;

    #[test]
    fn each_kind_checks_its_values() {
        assert_eq!(values(FieldKind::Number, "", &[" 12.0 "]).unwrap(), ["12"]);
        assert_eq!(values(FieldKind::Number, "", &["-3.5"]).unwrap(), ["-3.5"]);
        assert!(values(FieldKind::Number, "", &["twelve"]).is_err());
        assert!(values(FieldKind::Number, "", &["NaN"]).is_err());
        assert_eq!(values(FieldKind::Date, "", &["2026-12-01"]).unwrap(), ["2026-12-01"]);
        assert!(values(FieldKind::Date, "", &["2026-02-30"]).is_err());
        assert_eq!(values(FieldKind::Select, "Question\nIncident", &["incident"]).unwrap(), ["Incident"]);
        assert!(values(FieldKind::Select, "Question\nIncident", &["Other"]).is_err());
        assert!(values(FieldKind::Select, "Question\nIncident", &["Question", "Incident"]).is_err());
        assert_eq!(values(FieldKind::Multiselect, "A\nB\nC", &["", "C", "a", "C"]).unwrap(), ["A", "C"]);
        assert_eq!(values(FieldKind::Checkbox, "", &["", "true"]).unwrap(), ["true"]);
        assert!(values(FieldKind::Checkbox, "", &[""]).unwrap().is_empty());
        assert!(values(FieldKind::Text, "", &["a\u{7}"]).is_err());
        assert!(values(FieldKind::Text, "", &[&"x".repeat(501)]).is_err());
        assert_eq!(values(FieldKind::Textarea, "", &["two\r\nlines"]).unwrap(), ["two\nlines"]);
    }

    #[test]
    fn a_value_no_longer_an_option_stays_where_it_is() {
        let kept = vec!["Legacy".to_owned()];
        assert_eq!(parse_values(&field(FieldKind::Select, "New"), &kept, &kept).unwrap(), ["Legacy"]);
    }

    #[test]
    fn customers_set_only_editable_fields_and_fill_required_ones() {
        let mut hidden = field(FieldKind::Text, "");
        hidden.customer_editable = false;
        hidden.key = "internal".into();
        let mut required = field(FieldKind::Text, "");
        required.id = 2;
        required.required = true;
        let definitions = [hidden, required];
        let mut input = FieldInput::from_pairs([("field_internal", "x"), ("subject", "y")]);
        input.unknown = Unknown::Refuse;
        let Err(Error::Invalid(errors)) = parse(&definitions, &input, Setter::Customer, &ValuesOf::new()) else {
            panic!("accepted")
        };
        assert!(errors.get("field_internal").is_some() && errors.get("field_f").is_some());
        let input = FieldInput::from_pairs([("field_internal", "x"), ("field_f", "filled")]);
        let set = parse(&definitions, &input, Setter::Customer, &ValuesOf::new()).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].values, ["filled"]);
    }
}
