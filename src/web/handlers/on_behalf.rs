//! Tickets staff open on a customer's behalf: a phone call, a walk-in.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::admin::groups::{self, Group};
use crate::domain::admin::settings::Settings;
use crate::domain::fields::values::{self, FieldInput, Setter};
use crate::domain::fields::{self};
use crate::domain::input::{OneOrMany, WholeNumber};
use crate::domain::tickets::{self, NewTicket, Priority};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::Agent;
use crate::web::field_views::{FieldInputView, FormFor, field_inputs, typed_values};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;
use crate::web::upload::UploadForm;

#[derive(Deserialize, Default)]
pub struct OnBehalfForm {
    #[serde(default)]
    requester: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    message: String,
    /// The fields, `field_{key}`.
    #[serde(flatten)]
    others: BTreeMap<String, OneOrMany>,
}

impl TryFrom<&OnBehalfForm> for NewTicket {
    type Error = domain::Error;

    fn try_from(form: &OnBehalfForm) -> domain::Result<Self> {
        NewTicket::parse(&form.subject, WholeNumber::Typed(&form.group), &form.priority, &form.message, "")
    }
}

#[derive(Template)]
#[template(path = "desk/new.html")]
pub struct OnBehalfPage {
    ctx: PageContext,
    form: OnBehalfForm,
    errors: FieldErrors,
    groups: Vec<Group>,
    priorities: &'static [Priority],
    field_inputs: Vec<FieldInputView>,
    field_id_prefix: &'static str,
}

impl OnBehalfPage {
    async fn new(state: &AppState, ctx: PageContext, form: OnBehalfForm, errors: FieldErrors) -> Result<Self> {
        let definitions = fields::all(state.db.pool()).await?;
        let shown = typed_values(&FieldInput::from_form(&form.others));
        Ok(Self {
            field_inputs: field_inputs(&definitions.iter().collect::<Vec<_>>(), &shown, &errors, FormFor::Staff),
            field_id_prefix: "",
            groups: groups::all_groups(&state.db).await?,
            priorities: Priority::ALL,
            ctx,
            form,
            errors,
        })
    }

    fn is_selected_group(&self, group: &Group) -> bool {
        self.form.group == group.id.to_string()
    }

    fn is_selected_priority(&self, priority: &Priority) -> bool {
        self.form.priority == priority.as_str() || (self.form.priority.is_empty() && *priority == Priority::default())
    }
}

pub async fn new_ticket_form(State(state): State<AppState>, Agent(_agent): Agent, ctx: PageContext) -> Result<Response> {
    ok(&OnBehalfPage::new(&state, ctx, OnBehalfForm::default(), FieldErrors::new()).await?)
}

pub async fn create_ticket(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ctx: PageContext,
    session: AppSession,
    upload: UploadForm<OnBehalfForm>,
) -> Result<Response> {
    let now = state.now();
    let settings = Settings::load(&state.db).await?;
    let fields = values::parse_new(&state.db, &FieldInput::from_form(&upload.fields.others), Setter::Staff).await;
    let mut parsed = upload.with_refusal(NewTicket::with_fields(NewTicket::try_from(&upload.fields), fields));
    if let Ok(new_ticket) = &mut parsed {
        // Kept before the requester is checked: if they refuse it, background work deletes
        // the unused files within the hour.
        new_ticket.files = upload.keep(&state).await?;
    }
    let form = upload.fields;
    let notify_email = state.config.notify_email.as_deref();
    let created = tickets::create_on_behalf(&state.db, &settings, &agent, &form.requester, parsed, notify_email, now).await;
    let done = |number| done(format!("Ticket {}{number} created.", settings.ticket_prefix), format!("/desk/tickets/{number}"));
    after_post(&session, created, done, |refused| async move {
        let (errors, _) = refused.into_form_messages();
        OnBehalfPage::new(&state, ctx, form, errors).await
    })
    .await
}
