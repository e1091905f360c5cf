//! The workspace's forms: a reply or note (with the properties it may set in the same
//! step), the side panel's properties, merging, who is copied, and tags.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Conflict, DeskTicket, FlowQuery, WorkspaceForms, after_change};
use crate::domain::conversation::cc::{self, CcList};
use crate::domain::conversation::staff::{self, Changes, Reply, Visibility};
use crate::domain::conversation::{self, Audience};
use crate::domain::fields::values::FieldInput;
use crate::domain::input::{OneOrMany, WholeNumber};
use crate::domain::tags::{TagChange, TagSet};
use crate::domain::tickets::{self, TicketNumber};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::CsrfForm;
use crate::web::handlers::portal::CcForm;
use crate::web::page::PageContext;
use crate::web::session::AppSession;
use crate::web::state::AppState;
use crate::web::upload::UploadForm;
use crate::web::views::EntryView;

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
    /// The properties as the reply box shows them; only those that differ from the ticket
    /// change it.
    #[serde(default)]
    priority: String,
    #[serde(default)]
    group: String,
    assignee: Option<String>,
    #[serde(default)]
    version: String,
}

impl TryFrom<&ReplyForm> for Reply {
    type Error = domain::Error;

    fn try_from(form: &ReplyForm) -> domain::Result<Self> {
        let reply = Reply::parse(&form.body, &form.visibility, &form.status, WholeNumber::Typed(&form.time_spent));
        let changes =
            Changes::parse("", &form.priority, WholeNumber::Typed(&form.group), form.assignee.as_deref().map(WholeNumber::Typed));
        match (reply, changes) {
            (Ok(mut reply), Ok(changes)) => {
                reply.changes = changes;
                reply.expected_version = form.version.trim().parse().ok();
                Ok(reply)
            }
            (Err(domain::Error::Invalid(mut errors)), Err(domain::Error::Invalid(more))) => {
                errors.extend(more);
                Err(domain::Error::Invalid(errors))
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        }
    }
}

pub async fn reply(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    session: AppSession,
    Query(flow): Query<FlowQuery>,
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
    after_change(&state, ctx, &session, &agent, ticket.number, (outcome, success), forms, &flow).await
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
    /// "Assign to me", a button of the same form, so that it keeps what else was changed.
    #[serde(default)]
    assign: String,
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
    Query(flow): Query<FlowQuery>,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response> {
    let expected_version = form.version.trim().parse::<i64>().ok();
    let outcome = match Changes::try_from(&form) {
        Ok(mut changes) => {
            if form.assign == "me" {
                changes.assignee = Some(Some(agent.id));
            }
            staff::update(&state.db, &ticket, &agent, &changes, expected_version, state.now()).await
        }
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
    after_change(&state, ctx, &session, &agent, ticket.number, (outcome, "Ticket updated."), forms, &flow).await
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
    Query(flow): Query<FlowQuery>,
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
    // Merged, the agent lands on the ticket that goes on (the survivor), which says so.
    let (shown, success) = match &target {
        Some(target) if outcome.is_ok() => (target.number, format!("Merged {} into this ticket.", ticket.reference())),
        _ => (ticket.number, String::new()),
    };
    let forms = WorkspaceForms { into: form.into, ..WorkspaceForms::default() };
    after_change(&state, ctx, &session, &agent, shown, (outcome, &success), forms, &flow).await
}

/// Staff change who is copied (one address per line; empty clears).
pub async fn set_cc(
    State(state): State<AppState>,
    DeskTicket { viewer: agent, ticket, .. }: DeskTicket,
    ctx: PageContext,
    session: AppSession,
    Query(flow): Query<FlowQuery>,
    CsrfForm(form): CsrfForm<CcForm>,
) -> Result<Response> {
    let outcome = match CcList::parse(&form.cc) {
        Ok(list) => cc::set(&state.db, &ticket, &agent, &list, state.now()).await,
        Err(error) => Err(error),
    };
    let forms = WorkspaceForms { cc: Some(form.cc), ..WorkspaceForms::default() };
    after_change(&state, ctx, &session, &agent, ticket.number, (outcome, "Saved who is copied."), forms, &flow).await
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
    Query(flow): Query<FlowQuery>,
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
    after_change(&state, ctx, &session, &agent, ticket.number, (outcome, "Tags saved."), forms, &flow).await
}
