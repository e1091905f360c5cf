//! The agent's workspace on one ticket: the whole timeline, the reply box, and the
//! controls for status, priority, group, assignee and merging.

mod changes;
mod trail;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

pub use changes::{merge, reply, set_cc, set_tags, update};
pub use trail::FlowQuery;
use trail::{Trail, carried};

use crate::domain::accounts::users::{self, User};
use crate::domain::admin::groups::{self, Group};
use crate::domain::contacts::ContactMethod;
use crate::domain::conversation::canned::{self, CannedResponse};
use crate::domain::conversation::cc::{self, Copied};
use crate::domain::conversation::{self, Audience};
use crate::domain::fields::values::{self, FieldInput};
use crate::domain::fields::{self};
use crate::domain::tags;
use crate::domain::tickets::{self, Ticket, TicketSummary};
use crate::domain::tickets::{Priority, Status, TicketNumber};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Agent, TicketAt};
use crate::web::field_views::{FieldInputView, FormFor, field_inputs, shown_values, typed_values};
use crate::web::format::{Moment, Segment};
use crate::web::page::Done;
use crate::web::page::{PageContext, after_post, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;
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
    /// The queue the agent came from.
    trail: Option<Trail>,
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
    /// The ticket after this one in the queue the agent came from.
    next: Option<TicketNumber>,
    forms: WorkspaceForms,
}

impl WorkspacePage {
    fn assigned_to(&self, user_id: &i64) -> bool {
        self.ticket.assignee_id == Some(*user_id)
    }

    fn is_public_reply(&self) -> bool {
        self.forms.visibility != "internal" && !self.is_closed()
    }

    /// Closed is final: only internal notes are still written.
    fn is_closed(&self) -> bool {
        self.ticket.status == Status::Closed
    }

    /// Where a form of this ticket posts (`""` for the properties, `"/replies"`…),
    /// carrying the queue the agent came from and the ticket that follows there.
    fn action(&self, form: &str) -> String {
        self.action_with(form, false)
    }

    /// The same, for a "… & next" button.
    fn action_then_next(&self, form: &str) -> String {
        self.action_with(form, true)
    }

    fn action_with(&self, form: &str, then_next: bool) -> String {
        let mut extra: Vec<(&str, String)> = self.next.iter().map(|number| ("next", number.to_string())).collect();
        if then_next {
            extra.push(("then", "next".to_owned()));
        }
        carried(self.forms.trail.as_ref(), format!("/desk/tickets/{}{form}", self.ticket.number), &extra)
    }

    /// Where merging `other` into this ticket posts (it is `other`'s merge).
    fn merge_action(&self, other: &TicketNumber) -> String {
        carried(self.forms.trail.as_ref(), format!("/desk/tickets/{other}/merge"), &[])
    }

    /// Another ticket's page, in the same queue.
    fn ticket_href(&self, number: &TicketNumber) -> String {
        ticket_href(self.forms.trail.as_ref(), *number)
    }
}

fn ticket_href(trail: Option<&Trail>, number: TicketNumber) -> String {
    carried(trail, format!("/desk/tickets/{number}"), &[])
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
    let next = match &forms.trail {
        Some(trail) => trail.next_after(state, agent, ticket.number, None, &definitions).await?,
        None => None,
    };
    Ok(WorkspacePage {
        next,
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
    Query(flow): Query<FlowQuery>,
) -> Result<Response> {
    let mut forms = WorkspaceForms { trail: flow.trail(), ..WorkspaceForms::default() };
    // Without JavaScript, choosing a canned response reloads the page with it in the box.
    if let Some(id) = query.canned.as_deref().and_then(|id| id.parse().ok()) {
        forms.body = canned::find(&state.db, id).await?.body;
    }
    ok(&workspace(&state, ctx, &agent, ticket, forms).await?)
}

/// Answers a change made in the workspace: back to the ticket (in the queue the agent
/// came from) with a flash, or on to the queue's next ticket when asked, or the page
/// again, as the ticket is now, with what went wrong.
#[allow(clippy::too_many_arguments)]
async fn after_change<T>(
    state: &AppState,
    ctx: PageContext,
    session: &AppSession,
    agent: &User,
    number: TicketNumber,
    (outcome, success): (domain::Result<T>, &str),
    mut forms: WorkspaceForms,
    flow: &FlowQuery,
) -> Result<Response> {
    forms.trail = flow.trail();
    let destination = match &forms.trail {
        Some(trail) if outcome.is_ok() && flow.wants_next() => {
            let definitions = fields::all(state.db.pool()).await?;
            match trail.next_after(state, agent, number, flow.next_hint(), &definitions).await? {
                Some(next) => Done { flash: success.to_owned(), to: ticket_href(Some(trail), next) },
                None => Done { flash: format!("{success} That was the last ticket in {}.", trail.label), to: trail.href.clone() },
            }
        }
        trail => Done { flash: success.to_owned(), to: ticket_href(trail.as_ref(), number) },
    };
    after_post(
        session,
        outcome,
        |_| destination,
        |refused| async move {
            let (errors, notice) = refused.into_form_messages();
            forms.errors = errors;
            // A stale change shows what happened since instead of a message.
            if forms.conflict.is_none() {
                forms.notice = notice;
            }
            let current = tickets::find_for_viewer(&state.db, number, agent).await?;
            workspace(state, ctx, agent, current, forms).await
        },
    )
    .await
}
