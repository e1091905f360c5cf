//! `GET /desk/live`: Server-Sent Events for staff pages kept open. Every ticket change is
//! told as a `ticket` event (the queue counts new tickets, a ticket's page says someone
//! else changed it); with `?ticket=N`, the page is also one of that ticket's viewers and is
//! told of the others as `viewer` events. A viewer says it arrived, answers each later
//! arrival with "present", and says it left when the connection ends, so no list of
//! viewers is kept anywhere and several instances need nothing but the word between them.

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::db::Db;
use crate::domain::live::{LiveWord, ViewerState};
use crate::domain::tickets::{self, TicketNumber};
use crate::domain::{self};
use crate::web::error::Result;
use crate::web::extract::Agent;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct LiveQuery {
    #[serde(default)]
    ticket: String,
}

/// One open page looking at a ticket; says it left when dropped (the connection ended).
struct Viewer {
    db: Db,
    number: TicketNumber,
    user: i64,
    name: String,
}

impl Viewer {
    fn word(&self, state: ViewerState) -> String {
        LiveWord::Viewer { number: self.number, user: self.user, name: self.name.clone(), state }.to_json()
    }

    async fn say(&self, state: ViewerState) {
        if let Err(error) = self.db.say(self.word(state)).await {
            tracing::warn!(%error, "live updates: could not say who is viewing");
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let (db, word) = (self.db.clone(), self.word(ViewerState::Left));
        tokio::spawn(async move {
            let _ = db.say(word).await;
        });
    }
}

/// What this page is told of `word`, if anything: every ticket change; of viewers, only
/// the others on its own ticket.
fn told(word: &LiveWord, viewer: Option<&Viewer>) -> Option<&'static str> {
    match word {
        LiveWord::Ticket { .. } => Some("ticket"),
        LiveWord::Viewer { number, user, .. } => viewer.filter(|me| me.number == *number && me.user != *user).map(|_| "viewer"),
    }
}

pub async fn events(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Query(query): Query<LiveQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let words = state.db.live_words();
    let viewer = match query.ticket.trim() {
        "" => None,
        given => {
            let number = TicketNumber::parse(given).ok_or(domain::Error::NotFound)?;
            tickets::id_of(&state.db, number).await?.ok_or(domain::Error::NotFound)?;
            let viewer = Viewer { db: state.db.clone(), number, user: agent.id, name: agent.name.clone() };
            viewer.say(ViewerState::Arrived).await;
            Some(viewer)
        }
    };
    let stream =
        futures_util::stream::unfold((words, viewer, state.stopping.clone()), |(mut words, viewer, mut stopping)| async move {
            loop {
                let text = tokio::select! {
                    _ = stopping.wait_for(|stopping| *stopping) => return None,
                    received = words.recv() => match received {
                        Ok(text) => text,
                        // Too far behind: what was skipped is lost, as word may be.
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    },
                };
                let Some(word) = LiveWord::parse(&text) else { continue };
                let Some(kind) = told(&word, viewer.as_ref()) else { continue };
                if let (Some(me), LiveWord::Viewer { state: ViewerState::Arrived, .. }) = (&viewer, &word) {
                    me.say(ViewerState::Present).await;
                }
                let event = Event::default().event(kind).data(text);
                return Some((Ok(event), (words, viewer, stopping)));
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
