//! The staff desk: the queue with its views, filters and search, bulk changes, and
//! tickets opened on a customer's behalf.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::accounts::users::{self, User};
use crate::domain::admin::groups::{self, Group};
use crate::domain::admin::settings::Settings;
use crate::domain::conversation::staff::{self, Changes};
use crate::domain::input::WholeNumber;
use crate::domain::organisations;
use crate::domain::tickets::queue::{self, QueueParams, Sort};
use crate::domain::tickets::{self, NewTicket};
use crate::domain::tickets::{Priority, Status, TicketNumber};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Agent, CsrfForm};
use crate::web::format::Moment;
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;
use crate::web::upload::UploadForm;
use crate::web::views::{DueView, Pager, PriorityView, StatusView, initials, query_string};

pub struct ViewLink {
    label: &'static str,
    href: String,
    count: String,
    current: bool,
}

pub struct QueueRowView {
    number: TicketNumber,
    reference: String,
    subject: String,
    customer_wrote_last: bool,
    requester_name: String,
    requester_email: String,
    group: String,
    assignee_name: Option<String>,
    assignee_initials: String,
    priority: PriorityView,
    status: StatusView,
    due: Option<DueView>,
    updated: Moment,
}

#[derive(Template)]
#[template(path = "desk/queue.html")]
pub struct QueuePage {
    ctx: PageContext,
    /// The queue's state, exactly as the query string gives it, so that every view can be
    /// bookmarked and shared.
    query: QueueParams,
    /// The organisation the queue is narrowed to, by name.
    organisation: Option<String>,
    /// The same queue for every organisation.
    all_organisations_href: String,
    view_label: &'static str,
    /// What the empty choice of the sort menu means here.
    default_sort_label: &'static str,
    views: Vec<ViewLink>,
    problems: Vec<String>,
    /// A search too common to rank lists newest first; the page says so.
    unranked: bool,
    rows: Vec<QueueRowView>,
    pager: Pager,
    total: String,
    groups: Vec<Group>,
    agents: Vec<User>,
    statuses: &'static [Status],
    priorities: &'static [Priority],
    sorts: Vec<Sort>,
    return_to: String,
}

fn count_text(count: i64) -> String {
    if count > queue::COUNT_CAP { format!("{}+", queue::COUNT_CAP) } else { count.to_string() }
}

/// The parameters that shape the list (all but the page), for links that keep them.
fn list_shaping(params: &QueueParams) -> Vec<(&'static str, &str)> {
    vec![
        ("view", params.view.trim()),
        ("status", params.status.trim()),
        ("priority", params.priority.trim()),
        ("group", params.group.trim()),
        ("organisation", params.organisation.trim()),
        ("assignee", params.assignee.trim()),
        ("q", params.q.trim()),
        ("from", params.from.trim()),
        ("to", params.to.trim()),
        ("sort", params.sort.trim()),
    ]
}

pub async fn queue(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ctx: PageContext,
    Query(raw): Query<QueueParams>,
) -> Result<Response> {
    if let Some(number) = TicketNumber::parse(&raw.q)
        && tickets::id_of(&state.db, number).await?.is_some()
    {
        return Ok(Redirect::to(&format!("/desk/tickets/{number}")).into_response());
    }
    let (query, errors) = raw.parse();
    let problems = errors.iter().map(|(_, message)| format!("Ignored: {message}")).collect();
    let now = state.now();
    let paged = queue::list(&state.db, &agent, &query, now).await?;
    let counts = queue::view_counts(&state.db, &agent, now).await?;
    let views = counts
        .into_iter()
        .map(|(view, count)| ViewLink {
            label: view.label(),
            href: format!("/desk?view={}", view.as_str()),
            count: count_text(count),
            current: view == query.view,
        })
        .collect();
    let pairs = list_shaping(&raw);
    let pager = Pager::new(&paged, "/desk", &pairs);
    let total = if paged.counted {
        count_text(paged.total_items)
    } else {
        format!("{}+", (paged.page - 1) * queue::DESK_PAGE_SIZE + paged.items.len() as i64)
    };
    let rows = paged
        .items
        .into_iter()
        .map(|row| QueueRowView {
            number: row.number,
            reference: row.reference(),
            subject: row.subject,
            customer_wrote_last: row.customer_wrote_last,
            requester_name: row.requester_name,
            requester_email: row.requester_email,
            group: row.group_name,
            assignee_initials: row.assignee_name.as_deref().map(initials).unwrap_or_default(),
            assignee_name: row.assignee_name,
            priority: row.priority.into(),
            status: row.status.into(),
            due: row.due_at.map(|due_at| DueView::new(due_at, now)),
            updated: Moment::new(row.updated_at, now),
        })
        .collect();
    // The organisation filter is reached from an organisation's page; its name says so here.
    let organisation = match query.organisation_id {
        Some(id) => match organisations::find(&state.db, id).await {
            Ok(organisation) => Some(organisation.name),
            Err(domain::Error::NotFound) => Some("an organisation that no longer exists".to_owned()),
            Err(error) => return Err(error.into()),
        },
        None => None,
    };
    let without_organisation: Vec<_> = pairs.iter().copied().filter(|(name, _)| *name != "organisation").collect();
    let page = QueuePage {
        ctx,
        organisation,
        all_organisations_href: format!("/desk?{}", query_string(&without_organisation)),
        view_label: query.view.label(),
        default_sort_label: match (query.text.is_empty(), paged.counted) {
            (true, _) => queue::default_sort(query.view).label(),
            (false, true) => "Best match",
            (false, false) => "Newest first",
        },
        views,
        problems,
        unranked: !paged.counted && raw.sort.trim().is_empty(),
        rows,
        pager,
        total,
        groups: groups::all_groups(&state.db).await?,
        agents: users::active_staff(&state.db).await?,
        statuses: Status::ALL,
        priorities: Priority::ALL,
        // The empty choice already names the default order.
        sorts: Sort::ALL
            .iter()
            .copied()
            .filter(|sort| !(query.text.is_empty() && *sort == queue::default_sort(query.view)))
            .collect(),
        return_to: format!("/desk?{}", query_string(&pairs)),
        query: raw,
    };
    ok(&page)
}

#[derive(Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    tickets: Vec<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    group: String,
    assignee: Option<String>,
    #[serde(default)]
    return_to: String,
}

impl TryFrom<&BulkForm> for Changes {
    type Error = domain::Error;

    /// The bulk bar's "(no change)" is `keep`; an empty assignee unassigns, as everywhere.
    fn try_from(form: &BulkForm) -> domain::Result<Self> {
        let assignee = form.assignee.as_deref().filter(|value| *value != "keep").map(WholeNumber::Typed);
        Changes::parse(&form.status, &form.priority, WholeNumber::Typed(&form.group), assignee)
    }
}

pub async fn bulk(
    State(state): State<AppState>,
    Agent(agent): Agent,
    session: AppSession,
    CsrfForm(form): CsrfForm<BulkForm>,
) -> Result<Response> {
    // The queue, or an account page listing a deactivated agent's tickets for reassignment.
    let back = super::auth::local_path(&form.return_to)
        .filter(|path| path.starts_with("/desk") || path.starts_with("/admin/users/"))
        .unwrap_or_else(|| "/desk".into());
    let numbers: Vec<TicketNumber> = form.tickets.iter().filter_map(|raw| TicketNumber::parse(raw)).collect();
    let message = match Changes::try_from(&form) {
        Ok(changes) if changes.is_empty() => (FlashKind::Error, "Choose a change to apply to the selected tickets.".to_string()),
        Ok(_) if numbers.is_empty() => (FlashKind::Error, "Select at least one ticket.".to_string()),
        Ok(changes) => match staff::bulk_update(&state.db, &numbers, &agent, &changes, state.now()).await {
            Ok(changed) => (FlashKind::Success, format!("Updated {changed} of {} selected tickets.", numbers.len())),
            Err(domain::Error::Invalid(errors)) => (FlashKind::Error, errors.summary()),
            Err(error) => return Err(error.into()),
        },
        Err(domain::Error::Invalid(errors)) => (FlashKind::Error, errors.iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ")),
        Err(error) => return Err(error.into()),
    };
    session.flash(message.0, message.1).await?;
    Ok(Redirect::to(&back).into_response())
}

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
}

impl OnBehalfPage {
    fn is_selected_group(&self, group: &Group) -> bool {
        self.form.group == group.id.to_string()
    }

    fn is_selected_priority(&self, priority: &Priority) -> bool {
        self.form.priority == priority.as_str() || (self.form.priority.is_empty() && *priority == Priority::default())
    }
}

pub async fn new_ticket_form(State(state): State<AppState>, Agent(_agent): Agent, ctx: PageContext) -> Result<Response> {
    let page = OnBehalfPage {
        ctx,
        form: OnBehalfForm::default(),
        errors: FieldErrors::new(),
        groups: groups::all_groups(&state.db).await?,
        priorities: Priority::ALL,
    };
    ok(&page)
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
    let mut parsed = upload.with_refusal(NewTicket::try_from(&upload.fields));
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
        Ok(OnBehalfPage { ctx, form, errors, groups: groups::all_groups(&state.db).await?, priorities: Priority::ALL })
    })
    .await
}
