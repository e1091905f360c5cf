//! The staff desk: the queue with its views, filters and search, and bulk changes.

mod bulk;

pub use bulk::bulk;

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use crate::domain;
use crate::domain::accounts::users::{self, User};
use crate::domain::admin::groups::{self, Group};
use crate::domain::fields::{self, FieldDefinition, FieldKind};
use crate::domain::organisations;
use crate::domain::tags::{self, Tag};
use crate::domain::tickets;
use crate::domain::tickets::queue::{self, QueueParams, Sort};
use crate::domain::tickets::{Priority, Status, TicketNumber};
use crate::web::error::Result;
use crate::web::extract::{Agent, HtmlQuery};
use crate::web::format::Moment;
use crate::web::page::{PageContext, ok};
use crate::web::state::AppState;
use crate::web::views::{DueView, Pager, PriorityView, StatusView, initials, query_string};

pub struct ViewLink {
    name: &'static str,
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
    tags: Vec<String>,
}

/// A filter on a field with a list of values (a select, a checkbox) in the filter form.
pub struct FieldChoice {
    name: String,
    label: String,
    /// `(value, label)`; the empty value is "any".
    options: Vec<(String, String)>,
    selected: String,
}

/// Where else a search finds tickets, shown above its results.
pub struct ElsewhereHint {
    /// `("2 in Closed", href)`: the same words searched in that view.
    links: Vec<(String, String)>,
    /// The words searched in every ticket.
    everything_href: String,
    /// Too many tickets match to count them by view.
    uncounted: bool,
}

/// The hint for a search in `params`' view: its words' matches in the views by status
/// other than this one. `None` without words, in "All tickets", or when nothing else matches.
async fn elsewhere(state: &AppState, params: &QueueParams, query: &queue::QueueQuery) -> Result<Option<ElsewhereHint>> {
    if query.text.is_empty() || query.view == queue::View::Everything {
        return Ok(None);
    }
    let searched = |view: queue::View| format!("/desk?{}", query_string(&[("view", view.as_str()), ("q", params.q.trim())]));
    let everything_href = searched(queue::View::Everything);
    Ok(match queue::matches_by_status(&state.db, &query.text).await? {
        None => Some(ElsewhereHint { links: Vec::new(), everything_href, uncounted: true }),
        Some(counts) => {
            let links: Vec<_> = counts
                .into_iter()
                .filter(|(view, _)| *view != query.view)
                .map(|(view, count)| (format!("{count} in {}", view.label()), searched(view)))
                .collect();
            (!links.is_empty()).then_some(ElsewhereHint { links, everything_href, uncounted: false })
        }
    })
}

/// A tag in the desk's list, with the queue narrowed to it.
pub struct TagLink {
    tag: String,
    tickets: i64,
    href: String,
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
    elsewhere: Option<ElsewhereHint>,
    rows: Vec<QueueRowView>,
    pager: Pager,
    total: String,
    groups: Vec<Group>,
    agents: Vec<User>,
    statuses: &'static [Status],
    priorities: &'static [Priority],
    sorts: Vec<Sort>,
    return_to: String,
    /// This very page (its view, filters, sort and page), for tickets opened from it to
    /// return to and to go on from.
    back: String,
    field_choices: Vec<FieldChoice>,
    /// The tags the queue is narrowed to, each with the link that drops it.
    tag_filters: Vec<(String, String)>,
    tag_links: Vec<TagLink>,
}

impl QueuePage {
    /// Whether a filter or an order other than the view's own is set: the filter form
    /// shows them open then.
    fn narrowed(&self) -> bool {
        let query = &self.query;
        [&query.status, &query.priority, &query.group, &query.assignee, &query.from, &query.to, &query.sort]
            .iter()
            .any(|given| !given.trim().is_empty())
            || self.field_choices.iter().any(|choice| !choice.selected.is_empty())
    }
}

/// Tags in the desk's list, the most used.
const TAGS_LISTED: i64 = 20;

fn count_text(count: i64) -> String {
    if count > queue::COUNT_CAP { format!("{}+", queue::COUNT_CAP) } else { count.to_string() }
}

/// `GET /desk/counts`: the sidebar's counts as the queue shows them (`{"unassigned":
/// "12", …, "closed": "1000+"}`), for a queue page kept open to follow changes.
pub async fn counts(State(state): State<AppState>, Agent(agent): Agent) -> Result<Json<BTreeMap<&'static str, String>>> {
    let counts = queue::view_counts(&state.db, &agent, state.now()).await?;
    Ok(Json(counts.into_iter().map(|(view, count)| (view.as_str(), count_text(count))).collect()))
}

/// The queue `params` shape, at `page`: where a ticket opened from it goes back to.
pub fn queue_page_href(params: &QueueParams, page: i64) -> String {
    let page = page.to_string();
    let mut pairs = list_shaping(params);
    if page != "1" {
        pairs.push(("page", &page));
    }
    match query_string(&pairs) {
        none if none.is_empty() => "/desk".to_owned(),
        given => format!("/desk?{given}"),
    }
}

/// The parameters that shape the list (all but the page), for links that keep them.
fn list_shaping(params: &QueueParams) -> Vec<(&str, &str)> {
    let mut pairs = vec![
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
    ];
    pairs.extend(params.tag.iter().map(|tag| ("tag", tag.trim())));
    pairs.extend(params.field_pairs());
    pairs
}

/// The select and checkbox fields as choices in the filter form.
fn field_choices(definitions: &[FieldDefinition], params: &QueueParams) -> Vec<FieldChoice> {
    definitions
        .iter()
        .filter(|field| field.kind.has_options() || field.kind == FieldKind::Checkbox)
        .map(|field| {
            let name = field.form_name();
            let options = match field.kind {
                FieldKind::Checkbox => {
                    vec![("true".to_owned(), "Ticked".to_owned()), ("false".to_owned(), "Not ticked".to_owned())]
                }
                _ => field.option_list().into_iter().map(|option| (option.to_owned(), option.to_owned())).collect(),
            };
            let selected = params.field_pairs().find(|(given, _)| *given == name).map(|(_, value)| value.to_owned());
            FieldChoice { label: field.label.clone(), options, selected: selected.unwrap_or_default(), name }
        })
        .collect()
}

pub async fn queue(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ctx: PageContext,
    HtmlQuery(raw): HtmlQuery<QueueParams>,
) -> Result<Response> {
    if let Some(number) = TicketNumber::parse(&raw.q)
        && tickets::id_of(&state.db, number).await?.is_some()
    {
        return Ok(Redirect::to(&format!("/desk/tickets/{number}")).into_response());
    }
    let (mut query, mut errors) = raw.parse();
    let definitions = fields::all(state.db.pool()).await?;
    errors.extend(queue::check_field_filters(&definitions, &mut query));
    let problems = errors.iter().map(|(_, message)| format!("Ignored: {message}")).collect();
    let now = state.now();
    let paged = queue::list(&state.db, &agent, &query, now).await?;
    let ids: Vec<i64> = paged.items.iter().map(|row| row.id).collect();
    let mut row_tags = tags::of_tickets(&state.db, &ids).await?;
    let counts = queue::view_counts(&state.db, &agent, now).await?;
    let views = counts
        .into_iter()
        .map(|(view, count)| ViewLink {
            name: view.as_str(),
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
            tags: row_tags.remove(&row.id).unwrap_or_default(),
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
    // The tags read (blank and unreadable ones are ignored, and said so), each with the
    // queue without it.
    let without_tag = |tag: &Tag| {
        let other = |(name, value): &(&str, &str)| *name != "tag" || Tag::parse(value).ok().as_ref() != Some(tag);
        let kept: Vec<_> = pairs.iter().copied().filter(other).collect();
        format!("/desk?{}", query_string(&kept))
    };
    let tag_filters = query.tags.iter().map(|tag| (tag.as_str().to_owned(), without_tag(tag))).collect();
    let tag_links = tags::most_used(&state.db, TAGS_LISTED)
        .await?
        .into_iter()
        .map(|count| TagLink {
            href: format!("/desk?{}", query_string(&[("view", query.view.as_str()), ("tag", count.tag.as_str())])),
            tag: count.tag,
            tickets: count.tickets,
        })
        .collect();
    let unfiltered = query.tags.is_empty() && query.fields.is_empty();
    let page = QueuePage {
        ctx,
        organisation,
        all_organisations_href: format!("/desk?{}", query_string(&without_organisation)),
        view_label: query.view.label(),
        // A page not counted because of a tag or field filter keeps the view's order.
        default_sort_label: match (query.text.is_empty(), paged.counted || !unfiltered) {
            (true, _) => queue::default_sort(query.view).label(),
            (false, true) => "Best match",
            (false, false) => "Newest first",
        },
        views,
        problems,
        unranked: !paged.counted && unfiltered && !query.text.is_empty() && raw.sort.trim().is_empty(),
        elsewhere: elsewhere(&state, &raw, &query).await?,
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
        back: queue_page_href(&raw, paged.page),
        field_choices: field_choices(&definitions, &raw),
        tag_filters,
        tag_links,
        query: raw,
    };
    ok(&page)
}
