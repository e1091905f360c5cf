//! The test harness: the real application on a real socket, each test with a database of
//! its own on the backend it names, and a small browser that keeps cookies and the CSRF
//! token of the last page it saw.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use helpdesk::App;
use helpdesk::config::Config;
use helpdesk::db::Db;
use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::users::{self, NewUser, User};
use helpdesk::domain::admin::groups::{self, GroupInput};
use helpdesk::domain::admin::settings::Settings;
use helpdesk::domain::clock::{Clock, ManualClock};
use helpdesk::domain::conversation::Visibility;
use helpdesk::domain::conversation::staff::{self, Reply};
use helpdesk::domain::input::WholeNumber;
use helpdesk::domain::tickets::{self, NewTicket, Priority, Ticket, TicketNumber};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use scraper::{Html, Selector};
use sqlx::Connection;
use tokio::net::TcpListener;
use tokio::sync::{OnceCell, oneshot};
use tokio::task::JoinHandle;

mod builders;
mod client;

pub use client::{Browser, Page};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(TestApp)` once per backend, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::harness::{Backend, TestApp};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(TestApp::spawn(Backend::Sqlite).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(TestApp::spawn(Backend::Postgres).await).await
                }
            }
        )*
    };
}

/// Runs each named `async fn(Backend)` once per backend, for tests that start the
/// application themselves (with a configuration of their own).
#[macro_export]
macro_rules! for_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::harness::Backend;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(Backend::Postgres).await
                }
            }
        )*
    };
}

/// A database that exists for one test: a SQLite file in a temporary directory, or a
/// PostgreSQL database created for the test and dropped after it.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _directory: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let directory = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", directory.path().join("helpdesk.db").display());
                Self { url, backend, _directory: Some(directory), postgres_name: None }
            }
            Backend::Postgres => {
                static COUNTER: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "helpdesk_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    helpdesk::domain::accounts::tokens::random_text(6).to_lowercase()
                );
                let server = crate::postgres::server();
                let maintenance = server.maintenance_url();
                let mut connection = sqlx::PgConnection::connect(&maintenance).await.unwrap_or_else(|error| {
                    panic!(
                        "PostgreSQL is not reachable at {maintenance} ({error}). Unset TEST_POSTGRES_URL to let the \
                         tests start a private server, or point it at one where the user may create databases."
                    )
                });
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.expect("create database");
                Self { url: server.database_url(&name), backend, _directory: None, postgres_name: Some(name) }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else { return };
        // Drop runs inside the test's runtime, which cannot block on itself.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&crate::postgres::server().maintenance_url()).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut connection).await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database: {dropped:?}");
        }
    }
}

struct RunningServer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

pub struct TestApp {
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub base_url: String,
    pub config: Config,
    server: Option<RunningServer>,
    pub database: Arc<TestDatabase>,
    /// `DATA_DIR`: attachments and uploads on their way in, kept across a restart.
    pub data_dir: Arc<tempfile::TempDir>,
    /// The admin fixtures act as, made on first use and kept across a restart.
    fixture_admin: Arc<OnceCell<User>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// The same application with a changed configuration, on a fresh database.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let database = Arc::new(TestDatabase::create(backend).await);
        let data_dir = Arc::new(tempfile::tempdir().expect("a data directory"));
        let mut config = Config::for_database(&database.url);
        config.data_dir = data_dir.path().to_owned();
        configure(&mut config);
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp()));
        Self::start(config, clock, database, data_dir, Arc::default()).await
    }

    async fn start(
        config: Config,
        clock: Arc<ManualClock>,
        database: Arc<TestDatabase>,
        data_dir: Arc<tempfile::TempDir>,
        fixture_admin: Arc<OnceCell<User>>,
    ) -> Self {
        let app = App::new(config.clone(), clock.clone()).await.expect("application starts");
        let db = app.db().clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address: SocketAddr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        let server = Some(RunningServer { stop, task });
        Self { db, clock, base_url: format!("http://{address}"), config, server, database, data_dir, fixture_admin }
    }

    /// Stops the server gracefully and starts a new one on the same database, as a
    /// deployment or a crash-and-restart would.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let (config, clock, database, data_dir) =
            (self.config.clone(), self.clock.clone(), self.database.clone(), self.data_dir.clone());
        Self::start(config, clock, database, data_dir, self.fixture_admin.clone()).await
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.stop.send(());
            server.task.await.expect("server task").expect("server stops cleanly");
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base_url)
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A real admin for fixtures to act as (`fixture-admin@example.com`), made the first
    /// time one is needed: one more user in the database from then on.
    pub async fn fixture_admin(&self) -> &User {
        self.fixture_admin
            .get_or_init(|| self.user(Role::Admin).email("fixture-admin@example.com").name("Fixture Admin").create())
            .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.db.pool()).await.expect("count query")
    }

    /// Waits (up to ten seconds) until `sql` counts `expected`, for what background work
    /// does on its own (the mail worker), then asserts it.
    pub async fn wait_for_count(&self, sql: &str, expected: i64) {
        for _ in 0..200 {
            if self.count(sql).await == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(self.count(sql).await, expected, "{sql}");
    }
}
