//! The agent's workspace on one ticket: the whole timeline, the reply box, and the
//! controls for status, priority, group, assignee and merging.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::accounts::users::{self, User};
use crate::domain::admin::groups::{self, Group};
use crate::domain::contacts::ContactMethod;
use crate::domain::conversation::canned::{self, CannedResponse};
use crate::domain::conversation::cc::{self, CcList, Copied};
use crate::domain::conversation::staff::{self, Changes, Reply, Visibility};
use crate::domain::conversation::{self, Audience};
use crate::domain::fields::values::{self, FieldInput};
use crate::domain::fields::{self};
use crate::domain::input::{OneOrMany, WholeNumber};
use crate::domain::tags::{self, TagChange, TagSet};
use crate::domain::tickets::{self, Ticket, TicketSummary};
use crate::domain::tickets::{Priority, Status, TicketNumber};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Agent, CsrfForm, TicketAt};
use crate::web::field_views::{FieldInputView, FormFor, field_inputs, shown_values, typed_values};
use crate::web::format::{Moment, Segment};
use crate::web::handlers::portal::CcForm;
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;
use crate::web::upload::UploadForm;
use crate::web::views::{DueView, EntryView, PriorityView, StatusView, cc_box, entry_views};

type DeskTicket = TicketAt<Agent>;

/// What the agent typed or chose, kept when the page has to be shown again.
#[derive(Default)]
pub struct WorkspaceForms {
    body: String,
    visibility: String,
    reply_status: String,
    time_spent: String,
    into: String,
    /// The CC as typed, when it was refused.
    cc: Option<String>,
    /// The fields and tags as typed, when they were refused.
    fields: Option<FieldInput>,
    tags: Option<String>,
    errors: FieldErrors,
    notice: Option<String>,
    /// Set when a change was refused as stale: what happened since, and the change to
    /// apply again.
    conflict: Option<Conflict>,
}

pub struct Conflict {
    since: Vec<EntryView>,
    status: String,
    priority: String,
    group: String,
    assignee: Option<String>,
    /// The fields' entries, `(form name, value)`.
    fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "desk/ticket.html")]
pub struct WorkspacePage {
    ctx: PageContext,
    ticket: Ticket,
    status: StatusView,
    priority: PriorityView,
    created: Moment,
    updated: Moment,
    due: Option<DueView>,
    entries: Vec<EntryView>,
    groups: Vec<Group>,
    agents: Vec<User>,
    statuses: &'static [Status],
    priorities: &'static [Priority],
    canned: Vec<CannedResponse>,
    others: Vec<TicketSummary>,
    copied: Vec<Copied>,
    /// What the CC box shows.
    cc_box: String,
    field_inputs: Vec<FieldInputView>,
    /// Problems with fields that stopped a change (a field required to resolve).
    field_problems: Vec<String>,
    tags: Vec<String>,
    /// What the tags box shows: as typed when refused, else the tags.
    tags_box: String,
    field_id_prefix: &'static str,
    me: i64,
    forms: WorkspaceForms,
}

impl WorkspacePage {
    fn assigned_to(&self, user_id: &i64) -> bool {
        self.ticket.assignee_id == Some(*user_id)
    }

    fn is_public_reply(&self) -> bool {
        self.forms.visibility != "internal"
    }
}

async fn workspace(
    state: &AppState,
    ctx: PageContext,
    agent: &User,
    ticket: Ticket,
    forms: WorkspaceForms,
) -> Result<WorkspacePage> {
    let now = state.now();
    let entries = conversation::timeline(&state.db, ticket.id, Audience::Staff).await?;
    let copied = cc::of_ticket(&state.db, ticket.id).await?;
    let definitions = fields::all(state.db.pool()).await?;
    let shown = match &forms.fields {
        Some(typed) => typed_values(typed),
        None => shown_values(&definitions, &values::of_ticket(state.db.pool(), ticket.id).await?),
    };
    let tags = tags::of_ticket(state.db.pool(), ticket.id).await?;
    Ok(WorkspacePage {
        field_inputs: field_inputs(&definitions.iter().collect::<Vec<_>>(), &shown, &forms.errors, FormFor::Staff),
        field_problems: forms.errors.iter().filter(|(name, _)| name.starts_with("field_")).map(|(_, m)| m.to_owned()).collect(),
        tags_box: forms.tags.clone().unwrap_or_else(|| tags.join(", ")),
        tags,
        field_id_prefix: "p-",
        status: ticket.status.into(),
        priority: ticket.priority.into(),
        created: Moment::new(ticket.created_at, now),
        updated: Moment::new(ticket.updated_at, now),
        due: ticket.due_at.map(|due_at| DueView::new(due_at, now)),
        entries: entry_views(&state.db, &entries, Audience::Staff, now).await?,
        groups: groups::all_groups(&state.db).await?,
        agents: users::active_staff(&state.db).await?,
        statuses: Status::ALL,
        priorities: Priority::ALL,
        canned: canned::all(&state.db).await?,
        others: tickets::others_of_requester(&state.db, ticket.requester_id, ticket.id, 5).await?,
        cc_box: cc_box(&forms.cc, &copied),
        copied,
        me: agent.id,
        ctx,
        ticket,
        forms,
    })
}

#[derive(Deserialize)]
pub struct ShowQuery {
    canned: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    Query(query): Query<ShowQuery>,
) -> Result<Response> {
    let mut forms = WorkspaceForms::default();
    // Without JavaScript, choosing a canned response reloads the page with it in the box.
    if let Some(id) = query.canned.as_deref().and_then(|id| id.parse().ok()) {
        forms.body = canned::find(&state.db, id).await?.body;
    }
    ok(&workspace(&state, ctx, &agent, ticket, forms).await?)
}

/// Answers a change made in the workspace: back to the ticket with a flash, or the page
/// again, as the ticket is now, with what went wrong.
#[allow(clippy::too_many_arguments)]
async fn after_change<T>(
    state: &AppState,
    ctx: PageContext,
    session: &AppSession,
    agent: &User,
    number: TicketNumber,
    outcome: domain::Result<T>,
    success: &str,
    mut forms: WorkspaceForms,
) -> Result<Response> {
    let done = |_| done(success, format!("/desk/tickets/{number}"));
    after_post(session, outcome, done, |refused| async move {
        let (errors, notice) = refused.into_form_messages();
        forms.errors = errors;
        // A stale change shows what happened since instead of a message.
        if forms.conflict.is_none() {
            forms.notice = notice;
        }
        let current = tickets::find_for_viewer(&state.db, number, agent).await?;
        workspace(state, ctx, agent, current, forms).await
    })
    .await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    time_spent: String,
}

impl TryFrom<&ReplyForm> for Reply {
    type Error = domain::Error;

    fn try_from(form: &ReplyForm) -> domain::Result<Self> {
        Reply::parse(&form.body, &form.visibility, &form.status, WholeNumber::Typed(&form.time_spent))
    }
}

pub async fn reply(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    session: AppSession,
    upload: UploadForm<ReplyForm>,
) -> Result<Response> {
    let outcome = match upload.with_refusal(Reply::try_from(&upload.fields)) {
        Ok(mut reply) => {
            reply.files = upload.keep(&state).await?;
            staff::reply(&state.db, &ticket, &agent, &reply, state.now()).await.map(|_| reply.visibility)
        }
        Err(error) => Err(error),
    };
    let form = upload.fields;
    let success = match &outcome {
        Ok(Visibility::Internal) => "Internal note added.",
        _ => "Reply sent.",
    };
    let forms = WorkspaceForms {
        body: form.body,
        visibility: form.visibility,
        reply_status: form.status,
        time_spent: form.time_spent,
        ..WorkspaceForms::default()
    };
    after_change(&state, ctx, &session, &agent, ticket.number, outcome, success, forms).await
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    group: String,
    assignee: Option<String>,
    #[serde(default)]
    version: String,
    /// The fields, `field_{key}`.
    #[serde(flatten)]
    others: BTreeMap<String, OneOrMany>,
}

impl TryFrom<&UpdateForm> for Changes {
    type Error = domain::Error;

    fn try_from(form: &UpdateForm) -> domain::Result<Self> {
        let mut changes = Changes::parse(
            &form.status,
            &form.priority,
            WholeNumber::Typed(&form.group),
            form.assignee.as_deref().map(WholeNumber::Typed),
        )?;
        changes.fields = FieldInput::from_form(&form.others);
        Ok(changes)
    }
}

pub async fn update(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response> {
    let expected_version = form.version.trim().parse::<i64>().ok();
    let outcome = match Changes::try_from(&form) {
        Ok(changes) => staff::update(&state.db, &ticket, &agent, &changes, expected_version, state.now()).await,
        Err(error) => Err(error),
    };
    let typed = FieldInput::from_form(&form.others);
    let mut forms = WorkspaceForms::default();
    if matches!(outcome, Err(domain::Error::Invalid(_))) && !typed.is_empty() {
        forms.fields = Some(typed.clone());
    }
    if let Err(domain::Error::Stale { .. }) = outcome {
        let since_version = expected_version.unwrap_or_default();
        let now = state.now();
        let entries = conversation::timeline(&state.db, ticket.id, Audience::Staff).await?;
        forms.conflict = Some(Conflict {
            since: entries
                .iter()
                .filter(|entry| entry.ticket_version > since_version)
                .map(|entry| EntryView::new(entry, now))
                .collect(),
            status: form.status,
            priority: form.priority,
            group: form.group,
            assignee: form.assignee,
            fields: typed
                .entries
                .iter()
                .flat_map(|(key, given)| given.iter().map(move |value| (format!("field_{key}"), value.clone())))
                .collect(),
        });
    }
    after_change(&state, ctx, &session, &agent, ticket.number, outcome, "Ticket updated.", forms).await
}

#[derive(Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    into: String,
}

pub async fn merge(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<MergeForm>,
) -> Result<Response> {
    let target = match TicketNumber::parse(&form.into) {
        Some(number) => match tickets::find_for_viewer(&state.db, number, &agent).await {
            Ok(target) => Some(target),
            Err(domain::Error::NotFound) => None,
            Err(error) => return Err(error.into()),
        },
        None => None,
    };
    let outcome = match &target {
        Some(target) => staff::merge(&state.db, &ticket, target, &agent, state.now()).await,
        None => Err(domain::Error::Invalid(FieldErrors::single("into", "Enter the number of an existing ticket."))),
    };
    let success = match &target {
        Some(target) => format!("Merged into {}.", target.reference()),
        None => String::new(),
    };
    let forms = WorkspaceForms { into: form.into, ..WorkspaceForms::default() };
    after_change(&state, ctx, &session, &agent, ticket.number, outcome, &success, forms).await
}

/// Staff change who is copied (one address per line; empty clears).
pub async fn set_cc(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<CcForm>,
) -> Result<Response> {
    let outcome = match CcList::parse(&form.cc) {
        Ok(list) => cc::set(&state.db, &ticket, &agent, &list, state.now()).await,
        Err(error) => Err(error),
    };
    let forms = WorkspaceForms { cc: Some(form.cc), ..WorkspaceForms::default() };
    after_change(&state, ctx, &session, &agent, ticket.number, outcome, "Saved who is copied.", forms).await
}

#[derive(Deserialize)]
pub struct TagsForm {
    #[serde(default)]
    tags: String,
    #[serde(default)]
    version: String,
}

/// Staff set a ticket's tags (comma-separated; empty clears).
pub async fn set_tags(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<TagsForm>,
) -> Result<Response> {
    let outcome = match TagSet::parse(&form.tags) {
        Ok(set) => {
            // The set replaces the ticket's: one it has not seen (a bulk tag since) is
            // refused as stale rather than dropped.
            let changes = Changes { tags: Some(TagChange::Replace(set)), ..Changes::default() };
            let expected_version = form.version.trim().parse::<i64>().ok();
            staff::update(&state.db, &ticket, &agent, &changes, expected_version, state.now()).await
        }
        Err(error) => Err(error),
    };
    let forms = WorkspaceForms { tags: Some(form.tags), ..WorkspaceForms::default() };
    after_change(&state, ctx, &session, &agent, ticket.number, outcome, "Tags saved.", forms).await
}
