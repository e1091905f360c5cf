use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::domain::clock::{Clock, Timestamp};
use crate::files::FileStore;
use crate::mail::Mailer;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub mailer: Mailer,
    pub files: FileStore,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Turns true when the server stops: long-lived answers (live updates) end then.
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
