//! The running application: database, background work and the HTTP server, with a
//! graceful stop.

use axum::serve::ListenerExt;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::domain::accounts::{account_tokens, login_throttle};
use crate::domain::admin::settings::Settings;
use crate::domain::attachments;
use crate::domain::clock::Clock;
use crate::domain::conversation::closing;
use crate::files::FileStore;
use crate::mail::{self, Mailer};
use crate::web::session_store::DbSessionStore;
use crate::web::{self, AppState};

/// How long requests still in flight may run after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct App {
    state: AppState,
    stop_sender: watch::Sender<bool>,
}

impl App {
    /// Connects to the database (creating a missing SQLite file) and applies migrations.
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let mailer = Mailer::from_config(&config)?;
        let files = FileStore::from_config(&config)?;
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let (stop_sender, stopping) = watch::channel(false);
        Ok(Self { state: AppState { db, mailer, files, config: Arc::new(config), clock, stopping }, stop_sender })
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub fn router(&self) -> Router {
        web::router(self.state.clone())
    }

    /// Serves (and delivers mail) until `shutdown` completes, then stops accepting, lets
    /// requests in flight finish (for up to ten seconds) and waits for background work to stop.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let stop = self.state.stopping.clone();
        let stop_sender = self.stop_sender.clone();
        let maintenance = tokio::spawn(maintenance(self.state.clone(), stop.clone()));
        let state = &self.state;
        let live_relay = tokio::spawn({
            let (db, url, stop) = (state.db.clone(), state.config.database_url.clone(), stop.clone());
            async move { db.listen(url, stop).await }
        });
        let mail_worker = tokio::spawn(mail::run_worker(
            state.db.clone(),
            state.clock.clone(),
            state.mailer.clone(),
            state.files.clone(),
            stop.clone(),
        ));
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_sender.send(true);
        });

        let mut server_stop = stop.clone();
        // Answers go out as soon as they are written: with Nagle's algorithm a response
        // written in two pieces (head, then body) waits for the client's delayed ACK, ~40 ms.
        let listener = listener.tap_io(|connection| {
            let _ = connection.set_nodelay(true);
        });
        let server = axum::serve(listener, self.router().into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|stopping| *stopping).await;
            })
            .into_future();
        tokio::pin!(server);
        let mut stop_signal = stop.clone();
        let stopping = async move {
            let _ = stop_signal.wait_for(|stopping| *stopping).await;
        };
        tokio::select! {
            result = &mut server => result?,
            () = stopping => {
                if tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await.is_err() {
                    tracing::warn!("requests still running after {SHUTDOWN_GRACE:?} were cut off");
                }
            }
        }
        maintenance.await?;
        mail_worker.await?;
        live_relay.await?;
        self.state.db.close().await;
        Ok(())
    }
}

/// Periodic work, first right at start: closing tickets resolved long enough, and
/// housekeeping (expired sessions, old login failures). Every instance runs it; the
/// ticket locks make a ticket close once.
async fn maintenance(state: AppState, mut stop: watch::Receiver<bool>) {
    let sessions = DbSessionStore::new(state.db.clone());
    let mut interval = tokio::time::interval(Duration::from_secs(state.config.maintenance_interval));
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            stopped = stop.wait_for(|stopping| *stopping) => {
                drop(stopped);
                return;
            }
        }
        let now = state.now();
        match auto_close(&state, now).await {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "closed tickets resolved for longer than auto_close_hours"),
            Err(error) => tracing::warn!(%error, "could not auto-close resolved tickets"),
        }
        if let Err(error) = sessions.delete_expired(now).await {
            tracing::warn!(%error, "could not delete expired sessions");
        }
        if let Err(error) = login_throttle::forget_before(&state.db, now).await {
            tracing::warn!(%error, "could not delete old login failures");
        }
        if let Err(error) = account_tokens::forget_spent(&state.db, now).await {
            tracing::warn!(%error, "could not delete spent account links");
        }
        match attachments::delete_unused(&state.db, &state.files, now).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted files no attachment uses"),
            Err(error) => tracing::warn!(%error, "could not delete unused files"),
        }
    }
}

async fn auto_close(state: &AppState, now: i64) -> crate::domain::Result<usize> {
    let settings = Settings::load(&state.db).await?;
    closing::auto_close(&state.db, &settings, now).await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
