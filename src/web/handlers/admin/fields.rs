//! `/admin/fields`: the ticket fields admins define (a type, a product, a resolution code…):
//! list, create, edit (key and kind stay as they were made) and delete.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::fields::{self, DefinitionForm, DefinitionInput, Deleted, FieldDefinition, FieldKind};
use crate::domain::input::WholeNumber;
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Admin, CsrfForm, IdInPath, NoFields};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub struct FieldForm {
    #[serde(default)]
    label: String,
    /// Read on creation only: on the edit page it is shown, not sent.
    #[serde(default)]
    key: String,
    /// Read on creation only, as the key.
    #[serde(default)]
    kind: String,
    /// One per line, for the selects.
    #[serde(default)]
    options: String,
    /// Checkboxes: sent only when ticked.
    required: Option<String>,
    customer_visible: Option<String>,
    customer_editable: Option<String>,
    required_to_resolve: Option<String>,
    /// Empty: last on creation, unchanged on edit.
    #[serde(default)]
    position: String,
}

impl FieldForm {
    fn parse(&self) -> domain::Result<DefinitionInput> {
        DefinitionInput::parse(DefinitionForm {
            key: &self.key,
            label: &self.label,
            kind: &self.kind,
            options: &self.options,
            required: self.required.is_some(),
            customer_visible: self.customer_visible.is_some(),
            customer_editable: self.customer_editable.is_some(),
            required_to_resolve: self.required_to_resolve.is_some(),
            position: WholeNumber::Typed(&self.position),
        })
    }

    /// What the edit form holds for a stored field.
    fn stored(field: &FieldDefinition) -> Self {
        let ticked = |flag: bool| flag.then(|| "on".to_owned());
        Self {
            label: field.label.clone(),
            key: field.key.clone(),
            kind: field.kind.as_str().to_owned(),
            options: field.options.clone(),
            required: ticked(field.required),
            customer_visible: ticked(field.customer_visible),
            customer_editable: ticked(field.customer_editable),
            required_to_resolve: ticked(field.required_to_resolve),
            position: field.position.to_string(),
        }
    }

    /// The form as posted to a field's page, with the key and kind it keeps.
    fn keeping_key_and_kind_of(self, field: &FieldDefinition) -> Self {
        Self { key: field.key.clone(), kind: field.kind.as_str().to_owned(), ..self }
    }

    fn is_kind(&self, kind: &FieldKind) -> bool {
        self.kind == kind.as_str()
    }
}

/// A field's flags in words, for the list: who fills it in, and whether resolving needs it.
fn flags(field: &FieldDefinition) -> String {
    let customers = if field.required {
        "Customers must fill it in"
    } else if field.customer_editable {
        "Customers may fill it in"
    } else if field.customer_visible {
        "Customers see it"
    } else {
        "Staff only"
    };
    if field.required_to_resolve { format!("{customers}; required to resolve") } else { customers.to_owned() }
}

pub struct FieldRow {
    field: FieldDefinition,
    flags: String,
}

#[derive(Template)]
#[template(path = "admin/fields.html")]
pub struct FieldsPage {
    ctx: PageContext,
    fields: Vec<FieldRow>,
    form: FieldForm,
    errors: FieldErrors,
    kinds: &'static [FieldKind],
}

impl FieldsPage {
    fn position_hint(&self) -> &'static str {
        "Leave it empty to put the field after the others."
    }
}

async fn list_page(state: &AppState, ctx: PageContext, form: FieldForm, errors: FieldErrors) -> Result<FieldsPage> {
    let fields = fields::all(state.db.pool()).await?.into_iter().map(|field| FieldRow { flags: flags(&field), field }).collect();
    Ok(FieldsPage { ctx, fields, form, errors, kinds: FieldKind::ALL })
}

pub async fn list(State(state): State<AppState>, Admin(_admin): Admin, ctx: PageContext) -> Result<Response> {
    ok(&list_page(&state, ctx, FieldForm::default(), FieldErrors::new()).await?)
}

pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<FieldForm>,
) -> Result<Response> {
    let created = match form.parse() {
        Ok(input) => fields::create(&state.db, &input, admin.id, state.now()).await,
        Err(error) => Err(error),
    };
    let message = format!("Field {} created.", form.label.trim());
    after_post(
        &session,
        created,
        |_| done(message, "/admin/fields"),
        |refused| async move { list_page(&state, ctx, form, refused.into_form_messages().0).await },
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/field_form.html")]
pub struct FieldPage {
    ctx: PageContext,
    field: FieldDefinition,
    form: FieldForm,
    errors: FieldErrors,
    /// What deleting the field takes away.
    tickets: i64,
}

impl FieldPage {
    /// What deleting the field takes away, and what stays.
    fn values_taken(&self) -> String {
        match self.tickets {
            0 => "No ticket has a value for it.".to_owned(),
            1 => "1 ticket has a value for it: deleting the field takes it off; the audit log keeps it.".to_owned(),
            tickets => {
                format!("{tickets} tickets have a value for it: deleting the field takes them off; the audit log keeps each one.")
            }
        }
    }

    fn position_hint(&self) -> &'static str {
        "Leave it empty to keep its place."
    }
}

async fn field_page(
    state: &AppState,
    ctx: PageContext,
    field: FieldDefinition,
    form: FieldForm,
    errors: FieldErrors,
) -> Result<FieldPage> {
    let tickets = fields::tickets_with_a_value(&state.db, field.id).await?;
    Ok(FieldPage { ctx, field, form, errors, tickets })
}

pub async fn edit_form(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
) -> Result<Response> {
    let field = fields::find(&state.db, id).await?;
    let form = FieldForm::stored(&field);
    ok(&field_page(&state, ctx, field, form, FieldErrors::new()).await?)
}

pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<FieldForm>,
) -> Result<Response> {
    let field = fields::find(&state.db, id).await?;
    let form = form.keeping_key_and_kind_of(&field);
    let updated = match form.parse() {
        Ok(input) => fields::update(&state.db, id, &input, admin.id, state.now()).await,
        Err(error) => Err(error),
    };
    after_post(
        &session,
        updated,
        |()| done("Field saved.", format!("/admin/fields/{id}")),
        |refused| async move { field_page(&state, ctx, field, form, refused.into_form_messages().0).await },
    )
    .await
}

/// Deletes the field and its values; the audit log keeps each ticket's value.
pub async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let field = fields::find(&state.db, id).await?;
    let deleted = fields::delete(&state.db, id, admin.id, state.now()).await;
    let done = |Deleted { field: deleted, tickets_with_a_value }: Deleted| {
        let message = match tickets_with_a_value {
            0 => format!("Field {} deleted.", deleted.label),
            1 => format!("Field {} deleted; the audit log keeps the value it had on 1 ticket.", deleted.label),
            tickets => format!("Field {} deleted; the audit log keeps the values it had on {tickets} tickets.", deleted.label),
        };
        done(message, "/admin/fields")
    };
    after_post(&session, deleted, done, |refused| async move {
        let form = FieldForm::stored(&field);
        field_page(&state, ctx, field, form, refused.into_form_messages().0).await
    })
    .await
}
