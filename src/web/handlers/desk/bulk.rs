//! The bulk bar's change to many tickets of a queue at once.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::conversation::staff::{self, Changes};
use crate::domain::input::WholeNumber;
use crate::domain::tags::{Tag, TagChange};
use crate::domain::tickets::TicketNumber;
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Agent, CsrfForm};
use crate::web::session::{AppSession, FlashKind};
use crate::web::state::AppState;

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
    add_tag: String,
    #[serde(default)]
    remove_tag: String,
    #[serde(default)]
    return_to: String,
}

impl TryFrom<&BulkForm> for Changes {
    type Error = domain::Error;

    /// The bulk bar's "(no change)" is `keep`; an empty assignee unassigns, as everywhere.
    fn try_from(form: &BulkForm) -> domain::Result<Self> {
        let assignee = form.assignee.as_deref().filter(|value| *value != "keep").map(WholeNumber::Typed);
        let changes = Changes::parse(&form.status, &form.priority, WholeNumber::Typed(&form.group), assignee);
        let tag = |field: &'static str, given: &str| match given.trim() {
            "" => Ok(None),
            given => Tag::parse(given).map(Some).map_err(|message| FieldErrors::single(field, message)),
        };
        let (add, remove) = (tag("add_tag", &form.add_tag), tag("remove_tag", &form.remove_tag));
        match (changes, add, remove) {
            (Ok(mut changes), Ok(add), Ok(remove)) => {
                if add.is_some() || remove.is_some() {
                    changes.tags =
                        Some(TagChange::Adjust { add: add.into_iter().collect(), remove: remove.into_iter().collect() });
                }
                Ok(changes)
            }
            (changes, add, remove) => {
                let mut errors = match changes {
                    Err(domain::Error::Invalid(errors)) => errors,
                    Err(other) => return Err(other),
                    Ok(_) => FieldErrors::new(),
                };
                for refused in [add.err(), remove.err()].into_iter().flatten() {
                    errors.extend(refused);
                }
                Err(domain::Error::Invalid(errors))
            }
        }
    }
}

pub async fn bulk(
    State(state): State<AppState>,
    Agent(agent): Agent,
    session: AppSession,
    CsrfForm(form): CsrfForm<BulkForm>,
) -> Result<Response> {
    // The queue, or an account page listing a deactivated agent's tickets for reassignment.
    let back = super::super::auth::local_path(&form.return_to)
        .filter(|path| path.starts_with("/desk") || path.starts_with("/admin/users/"))
        .unwrap_or_else(|| "/desk".into());
    let numbers: Vec<TicketNumber> = form.tickets.iter().filter_map(|raw| TicketNumber::parse(raw)).collect();
    let message = match Changes::try_from(&form) {
        Ok(changes) if changes.is_empty() => (FlashKind::Error, "Choose a change to apply to the selected tickets.".to_string()),
        Ok(_) if numbers.is_empty() => (FlashKind::Error, "Select at least one ticket.".to_string()),
        Ok(changes) => match staff::bulk_update(&state.db, &numbers, &agent, &changes, state.now()).await {
            Ok(outcome) if outcome.refused.is_empty() => {
                (FlashKind::Success, format!("Updated {} of {} selected tickets.", outcome.changed, numbers.len()))
            }
            Ok(outcome) => {
                let refused: Vec<String> = outcome.refused.iter().map(|(reference, why)| format!("{reference}: {why}")).collect();
                let message =
                    format!("Updated {} of {} selected tickets. Skipped {}", outcome.changed, numbers.len(), refused.join(" "));
                (FlashKind::Error, message)
            }
            Err(domain::Error::Invalid(errors)) => (FlashKind::Error, errors.summary()),
            Err(error) => return Err(error.into()),
        },
        Err(domain::Error::Invalid(errors)) => (FlashKind::Error, errors.iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ")),
        Err(error) => return Err(error.into()),
    };
    session.flash(message.0, message.1).await?;
    Ok(Redirect::to(&back).into_response())
}
