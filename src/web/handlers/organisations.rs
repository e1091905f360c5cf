//! `/desk/organisations`: the companies customers belong to — list and search, create, edit
//! (with its contacts and tickets), delete (contacts and tickets stay, belonging to none).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::contacts::{self, ContactRow};
use crate::domain::organisations::{self, Organisation, OrganisationInput, OrganisationRow};
use crate::domain::paging::page_number;
use crate::domain::tickets::{self, CustomerScope, CustomerTab, TicketSummary};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Agent, CsrfForm, IdInPath, NoFields};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;
use crate::web::views::Pager;

#[derive(Deserialize, Default)]
pub struct OrganisationForm {
    #[serde(default)]
    name: String,
    /// One per line.
    #[serde(default)]
    domains: String,
    #[serde(default)]
    notes: String,
}

impl OrganisationForm {
    fn parse(&self) -> domain::Result<OrganisationInput> {
        OrganisationInput::parse(&self.name, &self.domains, &self.notes)
    }

    fn of(organisation: &Organisation) -> Self {
        Self { name: organisation.name.clone(), domains: organisation.domains.join("\n"), notes: organisation.notes.clone() }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "desk/organisations.html")]
pub struct OrganisationsPage {
    ctx: PageContext,
    q: String,
    organisations: Vec<OrganisationRow>,
    pager: Pager,
    form: OrganisationForm,
    errors: FieldErrors,
}

async fn list_page(
    state: &AppState,
    ctx: PageContext,
    query: &ListQuery,
    form: OrganisationForm,
    errors: FieldErrors,
) -> Result<OrganisationsPage> {
    let q = query.q.trim();
    let paged = organisations::list(&state.db, q, page_number(query.page.as_deref())).await?;
    let pager = Pager::new(&paged, "/desk/organisations", &[("q", q)]);
    Ok(OrganisationsPage { ctx, q: q.to_owned(), organisations: paged.items, pager, form, errors })
}

pub async fn list(
    State(state): State<AppState>,
    Agent(_agent): Agent,
    ctx: PageContext,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    ok(&list_page(&state, ctx, &query, OrganisationForm::default(), FieldErrors::new()).await?)
}

pub async fn create(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<OrganisationForm>,
) -> Result<Response> {
    let created = match form.parse() {
        Ok(input) => organisations::create(&state.db, &input, agent.id, state.now()).await,
        Err(error) => Err(error),
    };
    let message = format!("Organisation {} created.", form.name.trim());
    after_post(
        &session,
        created,
        |id| done(message, format!("/desk/organisations/{id}")),
        |refused| async move {
            let errors = refused.into_form_messages().0;
            list_page(&state, ctx, &ListQuery { q: String::new(), page: None }, form, errors).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "desk/organisation.html")]
pub struct OrganisationPage {
    ctx: PageContext,
    organisation: Organisation,
    form: OrganisationForm,
    errors: FieldErrors,
    contacts: Vec<ContactRow>,
    /// The list stopped at its limit: the rest are found from the customers list.
    more_contacts: bool,
    tickets: Vec<TicketSummary>,
    ticket_count: i64,
}

async fn organisation_page(
    state: &AppState,
    ctx: PageContext,
    organisation: Organisation,
    form: OrganisationForm,
    errors: FieldErrors,
) -> Result<OrganisationPage> {
    let contacts = contacts::list(&state.db, "", Some(organisation.id)).await?;
    let more_contacts = contacts.len() as i64 == contacts::LIST_LIMIT;
    let recent =
        tickets::list_for_requester(&state.db, CustomerScope::Organisation(organisation.id), CustomerTab::All, "", 1).await?;
    Ok(OrganisationPage {
        ctx,
        organisation,
        form,
        errors,
        contacts,
        more_contacts,
        ticket_count: recent.total_items,
        tickets: recent.items,
    })
}

pub async fn show(
    State(state): State<AppState>,
    Agent(_agent): Agent,
    IdInPath(id): IdInPath,
    ctx: PageContext,
) -> Result<Response> {
    let organisation = organisations::find(&state.db, id).await?;
    let form = OrganisationForm::of(&organisation);
    ok(&organisation_page(&state, ctx, organisation, form, FieldErrors::new()).await?)
}

pub async fn update(
    State(state): State<AppState>,
    Agent(agent): Agent,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<OrganisationForm>,
) -> Result<Response> {
    let organisation = organisations::find(&state.db, id).await?;
    let updated = match form.parse() {
        Ok(input) => organisations::update(&state.db, id, &input, agent.id, state.now()).await,
        Err(error) => Err(error),
    };
    after_post(
        &session,
        updated,
        |()| done("Organisation saved.", format!("/desk/organisations/{id}")),
        |refused| async move {
            let errors = refused.into_form_messages().0;
            organisation_page(&state, ctx, organisation, form, errors).await
        },
    )
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    Agent(agent): Agent,
    IdInPath(id): IdInPath,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let organisation = organisations::delete(&state.db, id, agent.id, state.now()).await?;
    session.flash(FlashKind::Success, format!("Organisation {} deleted.", organisation.name)).await?;
    Ok(Redirect::to("/desk/organisations").into_response())
}
