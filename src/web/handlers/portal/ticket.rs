//! The portal's ticket page: the public conversation, and the customer's reply, close,
//! reopen and rating.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::accounts::users::User;
use crate::domain::admin::settings::Settings;
use crate::domain::conversation::cc::{self, CcList, Copied};
use crate::domain::conversation::customer::{self, Rating, Reopen};
use crate::domain::conversation::{self, Audience};
use crate::domain::fields::{self, values};
use crate::domain::input::WholeNumber;
use crate::domain::tickets::{self, Ticket};
use crate::domain::tickets::{Status, TicketNumber};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{CsrfForm, Customer, NoFields, TicketAt};
use crate::web::field_views::{FieldValueView, field_values};
use crate::web::format::Segment;
use crate::web::format::{Moment, span};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;
use crate::web::upload::UploadForm;
use crate::web::views::{EntryView, PriorityView, StatusView, cc_box, entry_views};

/// What the customer typed into the ticket page's forms, and what went wrong with it.
#[derive(Default)]
pub struct TicketForms {
    reply: String,
    reason: String,
    rating: String,
    comment: String,
    /// The CC as typed, when it was refused.
    cc: Option<String>,
    errors: FieldErrors,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/ticket.html")]
pub struct TicketPage {
    ctx: PageContext,
    ticket: Ticket,
    status: StatusView,
    priority: PriorityView,
    created: Moment,
    updated: Moment,
    next_step: String,
    entries: Vec<EntryView>,
    can_reply: bool,
    can_reopen: bool,
    can_close: bool,
    can_rate: bool,
    is_closed: bool,
    copied: Vec<Copied>,
    /// What the CC box shows: what was just typed, else who is copied.
    cc_box: String,
    /// The requester and the organisation's manager decide who is copied.
    can_copy: bool,
    /// The fields customers see that have a value.
    fields: Vec<FieldValueView>,
    forms: TicketForms,
}

impl TicketPage {
    /// What the comment box shows: what was just typed, else the saved comment.
    fn comment_value(&self) -> &str {
        if self.forms.comment.is_empty() { self.ticket.rating_comment.as_deref().unwrap_or("") } else { &self.forms.comment }
    }

    fn rating_checked(&self, stars: &i64) -> bool {
        match self.forms.rating.parse::<i64>() {
            Ok(chosen) => chosen == *stars,
            Err(_) => self.ticket.rating == Some(*stars),
        }
    }
}

fn next_step(ticket: &Ticket, settings: &Settings, now: i64) -> String {
    match ticket.status {
        // The first-response target, when one is set and still ahead.
        Status::New => match ticket.due_at {
            Some(due) if due > now => {
                format!(
                    "We have your request, and aim to answer within {} (by {}).",
                    span(due - now),
                    Moment::new(due, now).exact
                )
            }
            _ => "We have your request. Someone from our team will pick it up soon.".into(),
        },
        Status::Open => "Our team is working on it. You will get an email when we answer.".into(),
        Status::Pending => "We are waiting for your reply: answer below.".into(),
        Status::OnHold => "We are waiting on someone else to move this forward, and will update you here.".into(),
        Status::Resolved => match conversation::closing::auto_close_at(ticket, settings) {
            Some(at) if at > now => format!(
                "Resolved — this closes automatically in {} ({}). If it is not fixed, reopen it below.",
                span(at - now),
                Moment::new(at, now).exact
            ),
            _ => "Resolved — this closes automatically soon. If it is not fixed, reopen it below.".into(),
        },
        Status::Closed => match ticket.merged_into {
            Some(survivor) => {
                format!("This request was merged into {}; the conversation continues there.", survivor.reference(&ticket.prefix))
            }
            None => "This request is closed. If you need more help, open a follow-up request.".into(),
        },
    }
}

async fn ticket_page(
    state: &AppState,
    ctx: PageContext,
    customer: &User,
    ticket: Ticket,
    forms: TicketForms,
) -> Result<TicketPage> {
    let now = state.now();
    let settings = Settings::load(&state.db).await?;
    let entries = conversation::timeline(&state.db, ticket.id, Audience::Customer).await?;
    let copied = cc::of_ticket(&state.db, ticket.id).await?;
    // Those copied answer; the requester and the organisation's manager also decide.
    let may_decide = tickets::customer_may_manage(customer, ticket.requester_id, ticket.organisation_id);
    let closed_since =
        conversation::closing::closed_since(ticket.status, ticket.resolved_at, ticket.closed_at, settings.auto_close_hours, now);
    let handled = customer::handled_by_team(ticket.first_response_at, ticket.resolved_at);
    let definitions = fields::all(state.db.pool()).await?;
    let visible: Vec<_> = definitions.iter().filter(|field| field.visible_to(customer.role)).collect();
    let fields = field_values(&visible, &values::of_ticket(state.db.pool(), ticket.id).await?);
    Ok(TicketPage {
        fields,
        status: StatusView::for_customer(ticket.status),
        priority: ticket.priority.into(),
        created: Moment::new(ticket.created_at, now),
        updated: Moment::new(ticket.public_updated_at, now),
        next_step: next_step(&ticket, &settings, now),
        // Whether a mail proved its sender is for agents to weigh, not a mark on the customer's page.
        entries: entry_views(&state.db, &entries, Audience::Customer, now)
            .await?
            .into_iter()
            .map(|entry| EntryView { sender_unverified: false, ..entry })
            .collect(),
        can_reply: ticket.status.accepts_customer_reply(),
        can_reopen: ticket.status.customer_may_reopen() && closed_since.is_none(),
        can_close: may_decide && ticket.status.customer_may_close(),
        can_rate: may_decide && customer::rating_open(ticket.status, handled, closed_since, now),
        is_closed: ticket.status == Status::Closed,
        cc_box: cc_box(&forms.cc, &copied),
        copied,
        can_copy: may_decide && ticket.status != Status::Closed,
        ctx,
        ticket,
        forms,
    })
}

/// The customer's own ticket named in the path.
type OwnTicket = TicketAt<Customer>;

pub async fn show_ticket(
    State(state): State<AppState>,
    OwnTicket { viewer: customer, ticket, .. }: OwnTicket,
    ctx: PageContext,
) -> Result<Response> {
    ok(&ticket_page(&state, ctx, &customer, ticket, TicketForms::default()).await?)
}

/// Answers a change made on the ticket page: back to the ticket with a flash, or the page
/// again, as the ticket is now, with what went wrong.
#[allow(clippy::too_many_arguments)]
async fn after_change<T>(
    state: &AppState,
    ctx: PageContext,
    session: &AppSession,
    customer: &User,
    number: TicketNumber,
    outcome: domain::Result<T>,
    success: &str,
    mut forms: TicketForms,
) -> Result<Response> {
    let done = |_| done(success, format!("/tickets/{number}"));
    after_post(session, outcome, done, |refused| async move {
        (forms.errors, forms.notice) = refused.into_form_messages();
        let current = tickets::find_for_viewer(&state.db, number, customer).await?;
        ticket_page(state, ctx, customer, current, forms).await
    })
    .await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
}

pub async fn reply(
    State(state): State<AppState>,
    OwnTicket { viewer: customer, ticket, .. }: OwnTicket,
    ctx: PageContext,
    session: AppSession,
    upload: UploadForm<ReplyForm>,
) -> Result<Response> {
    let outcome = match upload.with_refusal(customer::Reply::parse(&upload.fields.body)) {
        Ok(mut reply) => {
            reply.files = upload.keep(&state).await?;
            customer::reply(&state.db, &ticket, &customer, &reply, state.now()).await
        }
        Err(error) => Err(error),
    };
    let forms = TicketForms { reply: upload.fields.body, ..TicketForms::default() };
    after_change(&state, ctx, &session, &customer, ticket.number, outcome, "Reply sent.", forms).await
}

pub async fn close(
    State(state): State<AppState>,
    OwnTicket { viewer: customer, ticket, .. }: OwnTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let outcome = customer::close(&state.db, &ticket, &customer, state.now()).await;
    after_change(&state, ctx, &session, &customer, ticket.number, outcome, "Request closed.", TicketForms::default()).await
}

#[derive(Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    reason: String,
}

pub async fn reopen(
    State(state): State<AppState>,
    OwnTicket { viewer: customer, ticket, .. }: OwnTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<ReopenForm>,
) -> Result<Response> {
    let settings = Settings::load(&state.db).await?;
    let outcome = match Reopen::parse(&form.reason) {
        Ok(reopen) => customer::reopen(&state.db, &settings, &ticket, &customer, &reopen, state.now()).await,
        Err(error) => Err(error),
    };
    let forms = TicketForms { reason: form.reason, ..TicketForms::default() };
    after_change(&state, ctx, &session, &customer, ticket.number, outcome, "Request reopened. We will look at it again.", forms)
        .await
}

#[derive(Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

impl TryFrom<&RatingForm> for Rating {
    type Error = domain::Error;

    fn try_from(form: &RatingForm) -> domain::Result<Self> {
        Rating::parse(WholeNumber::Typed(&form.rating), &form.comment)
    }
}

pub async fn rate(
    State(state): State<AppState>,
    OwnTicket { viewer: customer, ticket, .. }: OwnTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<RatingForm>,
) -> Result<Response> {
    let settings = Settings::load(&state.db).await?;
    let outcome = match Rating::try_from(&form) {
        Ok(rating) => customer::rate(&state.db, &settings, &ticket, &customer, &rating, state.now()).await,
        Err(error) => Err(error),
    };
    let forms = TicketForms { rating: form.rating, comment: form.comment, ..TicketForms::default() };
    after_change(&state, ctx, &session, &customer, ticket.number, outcome, "Thank you for your rating.", forms).await
}

/// Who is copied, as a form sends it (from the portal and the desk).
#[derive(Deserialize)]
pub struct CcForm {
    #[serde(default)]
    pub cc: String,
}

/// The requester or the organisation's manager changes who is copied.
pub async fn set_cc(
    State(state): State<AppState>,
    OwnTicket { viewer: customer, ticket, .. }: OwnTicket,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<CcForm>,
) -> Result<Response> {
    let outcome = match CcList::parse(&form.cc) {
        Ok(list) => cc::set(&state.db, &ticket, &customer, &list, state.now()).await,
        Err(error) => Err(error),
    };
    let forms = TicketForms { cc: Some(form.cc), ..TicketForms::default() };
    after_change(&state, ctx, &session, &customer, ticket.number, outcome, "Saved who is copied.", forms).await
}
