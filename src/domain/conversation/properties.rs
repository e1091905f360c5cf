//! Staff changes to a ticket's own fields and tags: stored, shown on the timeline (to
//! staff), audited, and searchable.

use serde_json::{Value, json};

use super::change::Change;
use crate::domain::Result;
use crate::domain::fields::values::{self, FieldInput, Setter};
use crate::domain::fields::{self};
use crate::domain::tags::{self, TagChange};

/// Sets the fields given in `input`; answers whether any changed.
pub(super) async fn set_fields(change: &mut Change<'_>, input: &FieldInput) -> Result<bool> {
    if input.is_empty() {
        return Ok(false);
    }
    let ticket_id = change.ticket.id;
    let definitions = fields::all(&mut **change.tx()).await?;
    let current = values::of_ticket(&mut **change.tx(), ticket_id).await?;
    let set = values::parse(&definitions, input, Setter::Staff, &current)?;
    let changed = values::store(change.tx(), ticket_id, &set).await?;
    if changed.is_empty() {
        return Ok(false);
    }
    let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
    for field_change in &changed {
        let field = &field_change.field;
        let shown =
            |values: &[String]| (!values.is_empty()).then(|| format!("{}: {}", field.label, values::as_text(field, values)));
        let (old, new) = (shown(&field_change.before), shown(&field_change.after));
        change.add_event("field", old.as_deref(), new.as_deref(), false).await?;
        before.insert(field.key.clone(), stored_json(&field_change.before));
        after.insert(field.key.clone(), stored_json(&field_change.after));
    }
    change.audit("ticket.fields", json!({ "fields": before }), json!({ "fields": after })).await?;
    change.text_changed();
    Ok(true)
}

/// The audit log keeps what was stored: nothing, one value, or a list.
fn stored_json(values: &[String]) -> Value {
    match values {
        [] => Value::Null,
        [one] => json!(one),
        many => json!(many),
    }
}

/// Applies a change to the tags; answers whether they changed.
pub(super) async fn set_tags(change: &mut Change<'_>, tag_change: &TagChange) -> Result<bool> {
    let ticket_id = change.ticket.id;
    let Some((before, after)) = tags::store(change.tx(), ticket_id, tag_change).await? else {
        return Ok(false);
    };
    let shown = |tags: &[String]| (!tags.is_empty()).then(|| tags.join(", "));
    change.add_event("tags", shown(&before).as_deref(), shown(&after).as_deref(), false).await?;
    change.audit("ticket.tags", json!({ "tags": before }), json!({ "tags": after })).await?;
    change.text_changed();
    Ok(true)
}
