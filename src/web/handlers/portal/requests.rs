//! The portal's list of a customer's own requests, and the form for a new one.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::accounts::users::User;
use crate::domain::admin::groups::{self, Group};
use crate::domain::admin::settings::Settings;
use crate::domain::conversation::cc;
use crate::domain::fields::values::{self, FieldInput, Setter};
use crate::domain::fields::{self};
use crate::domain::input::{OneOrMany, WholeNumber};
use crate::domain::organisations;
use crate::domain::tickets::{self, CustomerScope, CustomerTab, NewTicket, Ticket};
use crate::domain::tickets::{Priority, TicketNumber};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::Customer;
use crate::web::field_views::{FieldInputView, FormFor, ShownValues, field_inputs, typed_values};
use crate::web::format::Moment;
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;
use crate::web::upload::UploadForm;
use crate::web::views::{Pager, PriorityView, StatusView, page_number, query_string};

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    /// `mine` (the default) or, for an organisation's manager, `organisation`.
    #[serde(default)]
    scope: String,
    page: Option<String>,
}

pub struct TabView {
    label: String,
    href: String,
    current: bool,
}

pub struct TicketRow {
    number: TicketNumber,
    reference: String,
    subject: String,
    status: StatusView,
    priority: PriorityView,
    group: String,
    requester: String,
    updated: Moment,
}

#[derive(Template)]
#[template(path = "portal/tickets.html")]
pub struct MyTicketsPage {
    ctx: PageContext,
    tabs: Vec<TabView>,
    /// For an organisation's manager: their own requests, or the organisation's.
    scopes: Vec<TabView>,
    scope: &'static str,
    tab_label: &'static str,
    status: &'static str,
    q: String,
    /// `("2 in Closed", href)`: where else the search finds requests.
    elsewhere: Vec<(String, String)>,
    rows: Vec<TicketRow>,
    pager: Pager,
}

impl MyTicketsPage {
    /// Whether the list holds other people's requests (their organisation's, or those
    /// they are copied on), which then say whose they are.
    fn others_listed(&self) -> bool {
        matches!(self.scope, "organisation" | "cc")
    }
}

pub async fn my_tickets(
    State(state): State<AppState>,
    Customer(customer): Customer,
    ctx: PageContext,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let tab: CustomerTab = query.status.parse().unwrap_or_default();
    let scope = CustomerScope::of(&customer, &query.scope);
    let scope_name = scope.name();
    let mut choices = vec![("mine", "Mine".to_owned())];
    if matches!(scope, CustomerScope::Copied(_)) || cc::is_copied_anywhere(&state.db, customer.id).await? {
        choices.push(("cc", "Copied to me".to_owned()));
    }
    if let Some(organisation_id) = tickets::managed_organisation(&customer) {
        let organisation = organisations::find(&state.db, organisation_id).await?;
        choices.push(("organisation", format!("All of {}", organisation.name)));
    }
    // Only someone with a choice sees it; everyone else's links stay as they were.
    let scopes: Vec<TabView> = if choices.len() < 2 {
        Vec::new()
    } else {
        let tab_view = |(name, label): (&str, String)| TabView {
            label,
            href: format!("/tickets?scope={name}&status={}", tab.as_str()),
            current: name == scope_name,
        };
        choices.into_iter().map(tab_view).collect()
    };
    let scope_param = if scopes.is_empty() { "" } else { scope_name };
    let scoped = |rest: String| {
        if scope_param.is_empty() { format!("/tickets?{rest}") } else { format!("/tickets?scope={scope_param}&{rest}") }
    };
    let paged = tickets::list_for_requester(&state.db, scope, tab, &query.q, page_number(query.page.as_deref())).await?;
    let now = state.now();
    // The tabs keep a search: it goes on in the tab chosen.
    let q = query.q.trim().to_owned();
    let searched = |each: CustomerTab| match q.as_str() {
        "" => scoped(format!("status={}", each.as_str())),
        q => scoped(query_string(&[("status", each.as_str()), ("q", q)])),
    };
    let tabs = CustomerTab::ALL
        .iter()
        .map(|&each| TabView { label: each.label().to_owned(), href: searched(each), current: each == tab })
        .collect();
    let elsewhere = match tab {
        CustomerTab::All => Vec::new(),
        _ => tickets::matches_by_tab(&state.db, scope, &q)
            .await?
            .into_iter()
            .filter(|(each, _)| *each != tab)
            .map(|(each, count)| (format!("{count} in {}", each.label()), searched(each)))
            .collect(),
    };
    let pager = Pager::new(&paged, "/tickets", &[("scope", scope_param), ("status", tab.as_str()), ("q", query.q.trim())]);
    let rows = paged
        .items
        .into_iter()
        .map(|summary| (summary.group_for_customer().to_owned(), summary))
        .map(|(group, summary)| TicketRow {
            number: summary.number,
            reference: summary.reference(),
            subject: summary.subject,
            status: StatusView::for_customer(summary.status),
            priority: summary.priority.into(),
            group,
            requester: summary.requester_name,
            updated: Moment::new(summary.updated_at, now),
        })
        .collect();
    let page = MyTicketsPage {
        ctx,
        tabs,
        scopes,
        scope: scope_param,
        tab_label: tab.label(),
        status: tab.as_str(),
        q,
        elsewhere,
        rows,
        pager,
    };
    ok(&page)
}

#[derive(Deserialize, Default)]
pub struct NewTicketForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    follow_up: String,
    /// The fields, `field_{key}`.
    #[serde(flatten)]
    others: BTreeMap<String, OneOrMany>,
}

#[derive(Template)]
#[template(path = "portal/new.html")]
pub struct NewTicketPage {
    ctx: PageContext,
    field_inputs: Vec<FieldInputView>,
    field_id_prefix: &'static str,
    form: NewTicketForm,
    errors: FieldErrors,
    groups: Vec<Group>,
    priorities: &'static [Priority],
    follow_up_reference: Option<String>,
}

impl NewTicketPage {
    fn is_selected_group(&self, group: &Group) -> bool {
        self.form.group == group.id.to_string() || (self.form.group.is_empty() && self.groups.len() == 1)
    }

    fn is_selected_priority(&self, priority: &Priority) -> bool {
        self.form.priority == priority.as_str() || (self.form.priority.is_empty() && *priority == Priority::default())
    }
}

#[derive(Deserialize)]
pub struct NewTicketQuery {
    follow_up: Option<String>,
}

/// The ticket a follow-up continues, if it is the customer's own.
async fn follow_up_of(state: &AppState, customer: &User, raw: &str) -> Result<Option<Ticket>> {
    let Some(number) = TicketNumber::parse(raw) else {
        return Ok(None);
    };
    match tickets::find_for_viewer(&state.db, number, customer).await {
        Ok(ticket) => Ok(Some(ticket)),
        Err(domain::Error::NotFound) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

pub async fn new_ticket_form(
    State(state): State<AppState>,
    Customer(customer): Customer,
    ctx: PageContext,
    Query(query): Query<NewTicketQuery>,
) -> Result<Response> {
    let mut form = NewTicketForm::default();
    let previous = follow_up_of(&state, &customer, query.follow_up.as_deref().unwrap_or_default()).await?;
    if let Some(previous) = &previous {
        form.follow_up = previous.number.to_string();
        form.subject = format!("Follow-up: {}", previous.subject).chars().take(tickets::SUBJECT_MAX).collect();
        form.group = previous.group_id.to_string();
        form.message = format!("This continues {}.\n\n", previous.reference());
    }
    let page = NewTicketPage {
        field_inputs: customer_field_inputs(&state, &ShownValues::new(), &FieldErrors::new()).await?,
        field_id_prefix: "",
        ctx,
        form,
        errors: FieldErrors::new(),
        groups: groups::public_groups(&state.db).await?,
        priorities: Priority::ALL,
        follow_up_reference: previous.map(|ticket| ticket.reference()),
    };
    ok(&page)
}

impl TryFrom<&NewTicketForm> for NewTicket {
    type Error = domain::Error;

    fn try_from(form: &NewTicketForm) -> domain::Result<Self> {
        NewTicket::parse(&form.subject, WholeNumber::Typed(&form.group), &form.priority, &form.message, &form.follow_up)
    }
}

/// The fields a customer fills on a new request, holding `shown`.
async fn customer_field_inputs(state: &AppState, shown: &ShownValues, errors: &FieldErrors) -> Result<Vec<FieldInputView>> {
    let definitions = fields::all(state.db.pool()).await?;
    Ok(field_inputs(
        &definitions.iter().filter(|field| field.settable_by(Setter::Customer)).collect::<Vec<_>>(),
        shown,
        errors,
        FormFor::Customer,
    ))
}

pub async fn create_ticket(
    State(state): State<AppState>,
    Customer(customer): Customer,
    ctx: PageContext,
    session: AppSession,
    upload: UploadForm<NewTicketForm>,
) -> Result<Response> {
    let settings = Settings::load(&state.db).await?;
    let typed = FieldInput::from_form(&upload.fields.others);
    let fields = values::parse_new(&state.db, &typed, Setter::Customer).await;
    let created = match upload.with_refusal(NewTicket::with_fields(NewTicket::try_from(&upload.fields), fields)) {
        Ok(mut new_ticket) => {
            new_ticket.files = upload.keep(&state).await?;
            tickets::create(
                &state.db,
                &settings,
                &customer,
                &customer,
                &new_ticket,
                state.config.notify_email.as_deref(),
                state.now(),
            )
            .await
        }
        Err(error) => Err(error),
    };
    let done = |number| {
        let reference = format!("{}{number}", settings.ticket_prefix);
        done(format!("Request {reference} sent. We will answer here and by email."), format!("/tickets/{number}"))
    };
    let form = upload.fields;
    after_post(&session, created, done, |refused| async move {
        let (errors, _) = refused.into_form_messages();
        let follow_up_reference = follow_up_of(&state, &customer, &form.follow_up).await?.map(|t| t.reference());
        Ok(NewTicketPage {
            field_inputs: customer_field_inputs(&state, &typed_values(&typed), &errors).await?,
            field_id_prefix: "",
            ctx,
            form,
            errors,
            groups: groups::public_groups(&state.db).await?,
            priorities: Priority::ALL,
            follow_up_reference,
        })
    })
    .await
}
