//! Word of what just happened, for pages kept open (the desk's live updates). On PostgreSQL
//! a change says so with `NOTIFY` inside its own transaction, so every instance hears it
//! when, and only if, it commits; one listener per instance passes it on. On SQLite (one
//! process) it is passed on in the process, right after the commit. Word may be late or
//! lost (a listener reconnecting): pages treat it as a hint, the version guard stays the
//! source of truth.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch};

use super::{Backend, Db, Tx};

/// The `NOTIFY` channel.
const CHANNEL: &str = "helpdesk_live";
/// Says a word (`$2`) on a channel (`$1`); within a transaction, at its commit.
const NOTIFY: &str = "SELECT pg_notify($1, $2)";
/// Word kept for a listener that is slow to read; one further behind skips ahead.
const BACKLOG: usize = 1024;

/// Where word arrives in this process.
#[derive(Clone, Debug)]
pub struct Live {
    sender: broadcast::Sender<String>,
}

impl Default for Live {
    fn default() -> Self {
        Self { sender: broadcast::channel(BACKLOG).0 }
    }
}

impl Db {
    /// Word from now on, as JSON texts.
    pub fn live_words(&self) -> broadcast::Receiver<String> {
        self.live.sender.subscribe()
    }

    /// Says `word` when `tx` commits: on PostgreSQL within it; on SQLite the caller passes
    /// the word back to [`Db::said_after_commit`] once committed.
    pub async fn say_within(&self, tx: &mut Tx, word: &str) -> sqlx::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query(NOTIFY).bind(CHANNEL).bind(word).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The other half of [`Db::say_within`], after the commit.
    pub fn said_after_commit(&self, word: String) {
        if self.backend == Backend::Sqlite {
            // Nobody listening is no error.
            let _ = self.live.sender.send(word);
        }
    }

    /// Says `word` now, outside any change (who is looking at a ticket).
    pub async fn say(&self, word: String) -> sqlx::Result<()> {
        match self.backend {
            Backend::Postgres => {
                sqlx::query(NOTIFY).bind(CHANNEL).bind(&word).execute(&self.pool).await?;
            }
            Backend::Sqlite => {
                let _ = self.live.sender.send(word);
            }
        }
        Ok(())
    }

    /// On PostgreSQL, listens for the word of every instance and passes it on here until
    /// `stop` (reconnecting after a lost connection). Nothing on SQLite.
    pub async fn listen(&self, url: String, mut stop: watch::Receiver<bool>) {
        if self.backend != Backend::Postgres {
            return;
        }
        let relay = self.relay(url);
        tokio::select! {
            () = relay => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }

    async fn relay(&self, url: String) {
        let sender = self.live.sender.clone();
        loop {
            match PgListener::connect(&url).await {
                Ok(mut listener) => match listener.listen(CHANNEL).await {
                    Ok(()) => loop {
                        match listener.recv().await {
                            Ok(notification) => {
                                let _ = sender.send(notification.payload().to_owned());
                            }
                            Err(error) => {
                                tracing::warn!(%error, "live updates: the listener lost its connection");
                                break;
                            }
                        }
                    },
                    Err(error) => tracing::warn!(%error, "live updates: LISTEN failed"),
                },
                Err(error) => tracing::warn!(%error, "live updates: cannot connect to listen"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}
