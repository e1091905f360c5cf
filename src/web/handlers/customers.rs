//! `/desk/customers`: customers as contacts — found by name or address, of an organisation
//! — and `/desk/customers/{id}`: their phone, organisation, whether they manage it, and
//! their tickets.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::contacts::{self, Contact, ContactInput, ContactMethod, ContactRow};
use crate::domain::organisations::{self, OrganisationName};
use crate::domain::tickets::{self, CustomerScope, CustomerTab, TicketSummary};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Agent, CsrfForm, IdInPath};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub struct ContactForm {
    #[serde(default)]
    phone: String,
    /// `email` or `phone`.
    #[serde(default)]
    preferred_contact: String,
    /// An organisation's id, or empty for none.
    #[serde(default)]
    organisation: String,
    /// A checkbox: sent only when ticked.
    org_manager: Option<String>,
}

impl ContactForm {
    fn parse(&self) -> domain::Result<ContactInput> {
        ContactInput::parse(&self.phone, &self.preferred_contact, &self.organisation, self.org_manager.is_some())
    }

    fn of(contact: &Contact) -> Self {
        Self {
            phone: contact.phone.clone(),
            preferred_contact: contact.preferred_contact.as_str().to_owned(),
            organisation: contact.organisation_id.map(|id| id.to_string()).unwrap_or_default(),
            org_manager: contact.org_manager.0.then(|| "on".into()),
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// An organisation's id, or empty for all.
    #[serde(default)]
    organisation: String,
}

#[derive(Template)]
#[template(path = "desk/customers.html")]
pub struct CustomersPage {
    ctx: PageContext,
    q: String,
    organisation: String,
    organisations: Vec<OrganisationName>,
    customers: Vec<ContactRow>,
    /// The list stopped at its limit: the search is to be narrowed.
    more: bool,
}

pub async fn list(
    State(state): State<AppState>,
    Agent(_agent): Agent,
    ctx: PageContext,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    // An organisation that cannot be read is no filter (the menu shows "Any").
    let organisation_id = query.organisation.trim().parse().ok();
    let customers = contacts::list(&state.db, &query.q, organisation_id).await?;
    let more = customers.len() as i64 == contacts::LIST_LIMIT;
    let organisations = organisations::names(&state.db).await?;
    let organisation = organisation_id.map(|id: i64| id.to_string()).unwrap_or_default();
    ok(&CustomersPage { ctx, q: query.q.trim().to_owned(), organisation, organisations, customers, more })
}

#[derive(Template)]
#[template(path = "desk/customer.html")]
pub struct CustomerPage {
    ctx: PageContext,
    contact: Contact,
    form: ContactForm,
    errors: FieldErrors,
    organisations: Vec<OrganisationName>,
    tickets: Vec<TicketSummary>,
}

async fn customer_page(
    state: &AppState,
    ctx: PageContext,
    contact: Contact,
    form: ContactForm,
    errors: FieldErrors,
) -> Result<CustomerPage> {
    let organisations = organisations::names(&state.db).await?;
    let tickets = tickets::list_for_requester(&state.db, CustomerScope::Mine(contact.id), CustomerTab::All, "", 1).await?.items;
    Ok(CustomerPage { ctx, contact, form, errors, organisations, tickets })
}

pub async fn show(
    State(state): State<AppState>,
    Agent(_agent): Agent,
    IdInPath(id): IdInPath,
    ctx: PageContext,
) -> Result<Response> {
    let contact = contacts::find(&state.db, id).await?;
    let form = ContactForm::of(&contact);
    ok(&customer_page(&state, ctx, contact, form, FieldErrors::new()).await?)
}

pub async fn update(
    State(state): State<AppState>,
    Agent(agent): Agent,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<ContactForm>,
) -> Result<Response> {
    let contact = contacts::find(&state.db, id).await?;
    let updated = match form.parse() {
        Ok(input) => contacts::update(&state.db, id, &input, agent.id, state.now()).await,
        Err(error) => Err(error),
    };
    after_post(
        &session,
        updated,
        |()| done("Contact saved.", format!("/desk/customers/{id}")),
        |refused| async move {
            let errors = refused.into_form_messages().0;
            customer_page(&state, ctx, contact, form, errors).await
        },
    )
    .await
}
