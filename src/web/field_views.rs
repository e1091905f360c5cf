//! Ticket fields on pages: as inputs in a form (`partials/field_inputs.html`), and as
//! values to read.

use std::collections::BTreeMap;

use crate::domain::FieldErrors;
use crate::domain::fields::values::{self, FieldInput, TICKED, ValuesOf};
use crate::domain::fields::{FieldDefinition, FieldKind};

/// One field as an input, with what it holds (or what was typed) and its error.
pub struct FieldInputView {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    /// `(option, chosen)`, for the selects; a stored value no longer listed is kept first.
    pub options: Vec<(String, bool)>,
    /// For the text kinds.
    pub value: String,
    pub checked: bool,
    /// Marked "(required)": on a customer's form, for the fields they must fill.
    pub required: bool,
    pub error: Option<String>,
}

/// What the fields hold, by key: typed into a form that came back, or stored on a ticket.
pub type ShownValues = BTreeMap<String, Vec<String>>;

/// The stored values of a ticket, by key.
pub fn shown_values(definitions: &[FieldDefinition], stored: &ValuesOf) -> ShownValues {
    definitions.iter().filter_map(|field| Some((field.key.clone(), stored.get(&field.id)?.clone()))).collect()
}

/// What a refused form held for its fields.
pub fn typed_values(input: &FieldInput) -> ShownValues {
    input
        .entries
        .iter()
        .map(|(key, given)| (key.clone(), given.iter().filter(|value| !value.is_empty()).cloned().collect()))
        .collect()
}

/// Who fills a form in: "required" means something only to customers (staff fill what they
/// know).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FormFor {
    Customer,
    Staff,
}

/// `definitions` as inputs holding `shown`, each with its error from `errors`.
pub fn field_inputs(
    definitions: &[&FieldDefinition],
    shown: &ShownValues,
    errors: &FieldErrors,
    form_for: FormFor,
) -> Vec<FieldInputView> {
    definitions
        .iter()
        .map(|field| {
            let given = shown.get(&field.key).map(Vec::as_slice).unwrap_or_default();
            let mut options: Vec<(String, bool)> = given
                .iter()
                .filter(|value| field.kind.has_options() && !field.option_list().contains(&value.as_str()))
                .map(|value| (value.clone(), true))
                .collect();
            if field.kind.has_options() {
                let listed =
                    field.option_list().into_iter().map(|option| (option.to_owned(), given.iter().any(|value| value == option)));
                options.extend(listed);
            }
            let name = field.form_name();
            FieldInputView {
                error: errors.get(&name).map(str::to_owned),
                label: field.label.clone(),
                kind: field.kind.as_str(),
                options,
                value: if field.kind.has_options() { String::new() } else { given.first().cloned().unwrap_or_default() },
                checked: field.kind == FieldKind::Checkbox && given.iter().any(|value| value == TICKED),
                required: field.required && form_for == FormFor::Customer,
                name,
            }
        })
        .collect()
}

/// A field's value to read: its label and its value in words.
pub struct FieldValueView {
    pub label: String,
    pub value: String,
}

/// The fields that have a value, in order.
pub fn field_values(definitions: &[&FieldDefinition], stored: &ValuesOf) -> Vec<FieldValueView> {
    definitions
        .iter()
        .filter_map(|field| {
            let values = stored.get(&field.id).filter(|values| !values.is_empty())?;
            Some(FieldValueView { label: field.label.clone(), value: values::as_text(field, values) })
        })
        .collect()
}
