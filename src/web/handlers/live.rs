//! `GET /desk/live`: Server-Sent Events for staff pages kept open. Every ticket change is
//! told as a `ticket` event (the queue counts new tickets, a ticket's page says someone
//! else changed it); with `?ticket=N`, the page is also one of that ticket's viewers and is
//! told of the others as `viewer` events. A viewer says it arrived, answers each later
//! arrival with "present", and says it left when the connection ends, so no list of
//! viewers is kept anywhere and several instances need nothing but the word between them.
//! A page of the same person still open says "present" again when another of theirs
//! leaves, and `POST /desk/live/replying` says someone is writing an answer.

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::db::Db;
use crate::domain::accounts::tokens;
use crate::domain::live::{LiveWord, ViewerState};
use crate::domain::tickets::{self, TicketNumber};
use crate::domain::{self};
use crate::web::error::Result;
use crate::web::extract::{Agent, CsrfForm};
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
    /// This connection's own name, made here: a page that reconnects is a new one, so the
    /// late "left" of its old connection is answered like any other.
    page: String,
}

impl Viewer {
    fn word(&self, state: ViewerState) -> String {
        let (name, page) = (self.name.clone(), self.page.clone());
        LiveWord::Viewer { number: self.number, user: self.user, name, page, state }.to_json()
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
        LiveWord::Revoked { .. } => None,
        LiveWord::Viewer { number, user, .. } => viewer.filter(|me| me.number == *number && me.user != *user).map(|_| "viewer"),
    }
}

/// Whether this page answers `word` with "present": someone arrived on its ticket (from
/// another page), or another page of the same person left it, which others were told.
fn answers(word: &LiveWord, me: &Viewer) -> bool {
    match word {
        LiveWord::Viewer { number, user, page, state, .. } if *number == me.number && *page != me.page => {
            *state == ViewerState::Arrived || (*user == me.user && *state == ViewerState::Left)
        }
        _ => false,
    }
}

pub async fn events(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Query(query): Query<LiveQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let words = state.db.live_words();
    let agent_id = agent.id;
    let viewer = match query.ticket.trim() {
        "" => None,
        given => {
            let number = TicketNumber::parse(given).ok_or(domain::Error::NotFound)?;
            tickets::id_of(&state.db, number).await?.ok_or(domain::Error::NotFound)?;
            let page = tokens::random_text(12);
            let viewer = Viewer { db: state.db.clone(), number, user: agent.id, name: agent.name.clone(), page };
            viewer.say(ViewerState::Arrived).await;
            Some(viewer)
        }
    };
    let stream = futures_util::stream::unfold(
        (words, viewer, state.stopping.clone()),
        move |(mut words, viewer, mut stopping)| async move {
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
                if matches!(&word, LiveWord::Revoked { user } if *user == agent_id) {
                    return None;
                }
                if let Some(me) = viewer.as_ref().filter(|me| answers(&word, me)) {
                    me.say(ViewerState::Present).await;
                }
                let Some(kind) = told(&word, viewer.as_ref()) else { continue };
                let event = Event::default().event(kind).data(text);
                return Some((Ok(event), (words, viewer, stopping)));
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize)]
pub struct ReplyingForm {
    #[serde(default)]
    ticket: String,
}

/// `POST /desk/live/replying`: the signed-in agent on `ticket` says they are writing an
/// answer. Pages say it again while the writing goes on; others show
/// it for a while after the last word.
pub async fn replying(
    State(state): State<AppState>,
    Agent(agent): Agent,
    CsrfForm(form): CsrfForm<ReplyingForm>,
) -> Result<StatusCode> {
    let number = TicketNumber::parse(&form.ticket).ok_or(domain::Error::NotFound)?;
    tickets::id_of(&state.db, number).await?.ok_or(domain::Error::NotFound)?;
    let word = LiveWord::Viewer { number, user: agent.id, name: agent.name, page: String::new(), state: ViewerState::Replying };
    state.db.say(word.to_json()).await?;
    Ok(StatusCode::NO_CONTENT)
}
