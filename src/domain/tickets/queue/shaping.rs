//! Filters on tags and field values: each an index range (`ticket_tags_filter`,
//! `ticket_field_values_filter`), checked ticket by ticket as the view is walked in its
//! own order, so a page stops reading once it is full.

use super::conditions::{Bind, Conditions};
use super::query::QueueQuery;
use crate::db::Db;
use crate::domain::fields::{self, values};
use crate::domain::{FieldErrors, Result};

/// Reads the field filters against the fields' definitions: each value spelled as it is
/// stored; a filter on a field that does not exist, or with a value the field cannot
/// hold, is dropped with a message.
pub async fn check_field_filters(db: &Db, query: &mut QueueQuery) -> Result<FieldErrors> {
    let mut errors = FieldErrors::new();
    if query.fields.is_empty() {
        return Ok(errors);
    }
    let definitions = fields::all(db.pool()).await?;
    let mut kept = Vec::with_capacity(query.fields.len());
    for mut filter in std::mem::take(&mut query.fields) {
        let name = format!("field_{}", filter.key);
        let Some(field) = definitions.iter().find(|field| field.key == filter.key) else {
            errors.add(name, format!("There is no field “{}”.", filter.key));
            continue;
        };
        match values::filter_value(field, filter.value.as_deref().unwrap_or_default()) {
            Ok(value) => {
                filter.value = value;
                kept.push(filter);
            }
            Err(message) => errors.add(name, message),
        }
    }
    query.fields = kept;
    Ok(errors)
}

/// The conditions for the query's tags and field values.
pub(super) fn shaping_conditions(conditions: &mut Conditions, query: &QueueQuery) {
    for tag in &query.tags {
        conditions.with(
            "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ?)",
            Bind::Text(tag.as_str().to_owned()),
        );
    }
    for filter in &query.fields {
        let field = "(SELECT f.id FROM ticket_fields f WHERE f.key = ?)";
        match &filter.value {
            Some(value) => conditions.with_all(
                &format!(
                    "EXISTS (SELECT 1 FROM ticket_field_values v WHERE v.ticket_id = t.id AND v.field_id = {field} \
                     AND v.value = ?)"
                ),
                vec![Bind::Text(filter.key.clone()), Bind::Text(value.clone())],
            ),
            None => conditions.with(
                &format!("NOT EXISTS (SELECT 1 FROM ticket_field_values v WHERE v.ticket_id = t.id AND v.field_id = {field})"),
                Bind::Text(filter.key.clone()),
            ),
        }
    }
}
