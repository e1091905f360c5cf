//! The queue an agent came from, carried in the URL (`?back=/desk?…`) from the queue to the
//! workspace and through the action of each of its forms, so that the breadcrumb, "Send &
//! next" and "Save & next" go back to the same view, filters, sort and page. Without it
//! the workspace behaves as before: every change comes back to the ticket.

use serde::Deserialize;

use crate::domain::Result;
use crate::domain::accounts::users::User;
use crate::domain::fields::FieldDefinition;
use crate::domain::tickets::TicketNumber;
use crate::domain::tickets::queue::{self, QueueParams, QueueQuery};
use crate::web::error::encode_query_value;
use crate::web::handlers::desk::queue_page_href;
use crate::web::state::AppState;

/// What a workspace URL carries besides the ticket: the queue (`back`), the ticket that
/// followed this one there when the page was shown (`next`), and, on a form's "… & next"
/// button, `then=next`.
#[derive(Deserialize, Default)]
pub struct FlowQuery {
    #[serde(default)]
    back: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    then: String,
}

impl FlowQuery {
    /// Whether the agent asked to go on to the next ticket once the change is made.
    pub fn wants_next(&self) -> bool {
        self.then == "next"
    }

    /// The ticket that followed when the page was shown, to prefer while it is still there.
    pub fn next_hint(&self) -> Option<TicketNumber> {
        TicketNumber::parse(&self.next)
    }

    /// The queue to return to, if `back` names one.
    pub fn trail(&self) -> Option<Trail> {
        Trail::parse(&self.back)
    }
}

/// `path` (a ticket or one of its forms) carrying `trail` and `extra` parameters; without
/// a trail, `path` as it is.
pub fn carried(trail: Option<&Trail>, path: String, extra: &[(&str, String)]) -> String {
    let Some(trail) = trail else { return path };
    let mut url = format!("{path}?back={}", encode_query_value(&trail.href));
    for (name, value) in extra {
        url.push_str(&format!("&{name}={}", encode_query_value(value)));
    }
    url
}

/// A queue to return to.
pub struct Trail {
    /// `/desk?…`, rebuilt from what was read.
    pub href: String,
    /// The view's name, for the breadcrumb.
    pub label: &'static str,
    query: QueueQuery,
}

impl Trail {
    /// The queue `back` names (`/desk` or `/desk?…`); anything else is none.
    fn parse(back: &str) -> Option<Self> {
        let given = match back.trim() {
            "/desk" => "",
            other => other.strip_prefix("/desk?")?,
        };
        let params: QueueParams = serde_html_form::from_str(given).ok()?;
        let (query, _) = params.parse();
        // Rebuilt as the queue builds its own links, so nothing else rides along.
        let href = queue_page_href(&params, query.page);
        Some(Self { href, label: query.view.label(), query })
    }

    /// The ticket to open after `current`: `hint` while it is still in the queue, else the
    /// one after `current`, else (when `current` has left the queue, as a triaged ticket
    /// leaves Unassigned) the first other one of the page. `None` when nothing is left.
    /// The fields' `definitions` read its field filters as the queue did.
    pub async fn next_after(
        &self,
        state: &AppState,
        agent: &User,
        current: TicketNumber,
        hint: Option<TicketNumber>,
        definitions: &[FieldDefinition],
    ) -> Result<Option<TicketNumber>> {
        let mut query = self.query.clone();
        // What the queue ignored (and said so), this walk ignores too.
        let _ = queue::check_field_filters(definitions, &mut query);
        let page = queue::list(&state.db, agent, &query, state.now()).await?;
        let numbers: Vec<TicketNumber> = page.items.iter().map(|row| row.number).collect();
        if let Some(hint) = hint.filter(|hint| *hint != current && numbers.contains(hint)) {
            return Ok(Some(hint));
        }
        let following = match numbers.iter().position(|number| *number == current) {
            Some(index) => numbers.get(index + 1).copied(),
            None => numbers.iter().copied().find(|number| *number != current),
        };
        if following.is_some() || !page.has_next {
            return Ok(following);
        }
        query.page = page.page + 1;
        let page = queue::list(&state.db, agent, &query, state.now()).await?;
        Ok(page.items.iter().map(|row| row.number).find(|number| *number != current))
    }
}
