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
use helpdesk::domain::clock::{Clock, ManualClock};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use scraper::{Html, Selector};
use sqlx::Connection;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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

fn postgres_server_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
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
                let server = postgres_server_url();
                let mut connection = sqlx::PgConnection::connect(&server).await.unwrap_or_else(|error| {
                    panic!(
                        "PostgreSQL is not reachable at {server} ({error}). Start it with \
                         `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
                         or point TEST_POSTGRES_URL at a server where user may create databases."
                    )
                });
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.expect("create database");
                let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
                Self { url: format!("{base}/{name}"), backend, _directory: None, postgres_name: Some(name) }
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
                let mut connection = sqlx::PgConnection::connect(&postgres_server_url()).await?;
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
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// The same application with a changed configuration, on a fresh database.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let database = Arc::new(TestDatabase::create(backend).await);
        let mut config = Config::for_database(&database.url);
        configure(&mut config);
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp()));
        Self::start(config, clock, database).await
    }

    async fn start(config: Config, clock: Arc<ManualClock>, database: Arc<TestDatabase>) -> Self {
        let app = App::new(config.clone(), clock.clone()).await.expect("application starts");
        let db = app.db().clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address: SocketAddr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self { db, clock, base_url: format!("http://{address}"), config, server: Some(RunningServer { stop, task }), database }
    }

    /// Stops the server gracefully and starts a new one on the same database, as a
    /// deployment or a crash-and-restart would.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        Self::start(self.config.clone(), self.clock.clone(), self.database.clone()).await
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

    pub async fn create_user(&self, role: Role, email: &str, name: &str) -> User {
        let new_user = NewUser::parse(name, email, PASSWORD, role).expect("valid fixture user");
        users::create(&self.db, &new_user, None, self.now()).await.expect("fixture user created")
    }

    /// A browser signed in as a new user of `role`.
    pub async fn signed_in(&self, role: Role, email: &str) -> (Browser, User) {
        let user = self.create_user(role, email, &format!("Test {}", role.label())).await;
        let browser = self.browser();
        browser.sign_in(email, PASSWORD).await;
        (browser, user)
    }

    /// A new group (internal unless `public`), with these members.
    pub async fn create_group(&self, name: &str, public: bool, members: &[&User]) -> i64 {
        let id: i64 =
            sqlx::query_scalar("INSERT INTO groups (name, public, created_at, updated_at) VALUES ($1, $2, 0, 0) RETURNING id")
                .bind(name)
                .bind(public)
                .fetch_one(self.db.pool())
                .await
                .expect("group created");
        for member in members {
            sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                .bind(id)
                .bind(member.id)
                .execute(self.db.pool())
                .await
                .expect("member added");
        }
        id
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.db.pool()).await.expect("count query")
    }
}

/// A minimal browser: keeps cookies, never follows redirects, remembers the CSRF token
/// of the last page it was shown.
pub struct Browser {
    http: reqwest::Client,
    base_url: String,
    cookies: Mutex<BTreeMap<String, String>>,
    csrf_token: Mutex<Option<String>>,
    /// Sent as `X-Forwarded-For`, as a proxy in front of the app would.
    forwarded_for: Mutex<Option<String>>,
}

impl Browser {
    fn new(base_url: &str) -> Self {
        Self {
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client"),
            base_url: base_url.to_owned(),
            cookies: Mutex::new(BTreeMap::new()),
            csrf_token: Mutex::new(None),
            forwarded_for: Mutex::new(None),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn session_id(&self) -> Option<String> {
        self.cookie(helpdesk::web::SESSION_COOKIE)
    }

    pub fn set_session_id(&self, id: &str) {
        self.cookies.lock().unwrap().insert(helpdesk::web::SESSION_COOKIE.into(), id.into());
    }

    /// From now on, requests arrive as if through a proxy, from `client`.
    pub fn forwarded_for(&self, client: &str) {
        *self.forwarded_for.lock().unwrap() = Some(client.to_owned());
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        self.try_send(request).await.expect("request sent")
    }

    /// Like `send`, but a connection the server closed before the client finished writing
    /// (as it may when it refuses a body early) is `Err` rather than a failed test.
    async fn try_send(&self, mut request: reqwest::RequestBuilder) -> Result<Page, reqwest::Error> {
        if let Some(client) = self.forwarded_for.lock().unwrap().clone() {
            request = request.header("x-forwarded-for", client);
        }
        let response = request.header(reqwest::header::COOKIE, self.cookie_header()).send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all(SET_COOKIE) {
            let text = set_cookie.to_str().expect("cookie text");
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').expect("cookie pair");
            let expired = attributes.to_ascii_lowercase().contains("max-age=0");
            let mut cookies = self.cookies.lock().unwrap();
            if expired || value.is_empty() {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await?;
        let page = Page { status, headers, body };
        if let Some(token) = page.csrf_token() {
            *self.csrf_token.lock().unwrap() = Some(token);
        }
        Ok(page)
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.base_url))).await
    }

    /// Posts a form as a browser would, with the CSRF token of the last page seen.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token.lock().unwrap().clone().expect("a page with a form was seen first");
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields, with no CSRF token added.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(self.http.post(format!("{}{path}", self.base_url)).form(fields)).await
    }

    /// Posts a form with the CSRF token, reporting a dropped connection instead of failing.
    pub async fn try_post(&self, path: &str, fields: &[(&str, &str)]) -> Result<Page, reqwest::Error> {
        let token = self.csrf_token.lock().unwrap().clone().expect("a page with a form was seen first");
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.try_send(self.http.post(format!("{}{path}", self.base_url)).form(&all)).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    pub fn csrf_token(&self) -> Option<String> {
        self.csrf_token.lock().unwrap().clone()
    }

    /// One sign-in attempt, whatever its outcome.
    pub async fn post_login(&self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        self.post("/login", &[("email", email), ("password", password)]).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let page = self.post_login(email, password).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in as {email} failed: {}", page.text_of("main"));
        page
    }
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).map(|value| value.to_str().expect("location text"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().expect("header text"))
    }

    /// Every element that matches `selector`, as its text with whitespace folded.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&selector)
            .map(|element| element.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn text_of(&self, selector: &str) -> String {
        self.texts(selector).join(" | ")
    }

    /// The attribute of the first element that matches `selector`.
    pub fn attribute(&self, selector: &str, attribute: &str) -> Option<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html().select(&selector).next().and_then(|element| element.value().attr(attribute).map(str::to_owned))
    }

    pub fn csrf_token(&self) -> Option<String> {
        if !self.body.contains("csrf_token") {
            return None;
        }
        self.attribute("input[name=csrf_token]", "value")
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "expected a redirect to {to}: {}", self.body);
        assert_eq!(self.location(), Some(to));
    }
}

/// Fixtures for tickets, made through the domain layer as the application itself would.
impl TestApp {
    pub async fn create_ticket(&self, requester: &User, subject: &str, message: &str) -> helpdesk::domain::tickets::TicketNumber {
        self.create_ticket_with(requester, subject, message, "medium").await
    }

    pub async fn create_ticket_with(
        &self,
        requester: &User,
        subject: &str,
        message: &str,
        priority: &str,
    ) -> helpdesk::domain::tickets::TicketNumber {
        use helpdesk::domain::admin::settings::Settings;
        use helpdesk::domain::tickets::{self, NewTicket};
        let general: i64 = sqlx::query_scalar("SELECT id FROM groups WHERE name = 'General'")
            .fetch_one(self.db.pool())
            .await
            .expect("the General group");
        let new_ticket = NewTicket::parse(subject, helpdesk::domain::input::WholeNumber::Sent(general), priority, message, "")
            .expect("valid fixture ticket");
        let settings = Settings::load(&self.db).await.expect("settings");
        tickets::create(&self.db, &settings, requester, requester, &new_ticket, None, self.now())
            .await
            .expect("fixture ticket created")
    }

    /// An agent's reply or note, through the domain layer.
    pub async fn agent_writes(
        &self,
        ticket: &helpdesk::domain::tickets::Ticket,
        agent: &User,
        body: &str,
        visibility: helpdesk::domain::conversation::Visibility,
    ) -> i64 {
        use helpdesk::domain::conversation::staff::{self, Reply};
        let reply = Reply { body: body.to_owned(), visibility, status: None, time_spent_minutes: 0, mail: None };
        staff::reply(&self.db, ticket, agent, &reply, self.now()).await.expect("agent reply written")
    }

    pub async fn ticket(&self, number: helpdesk::domain::tickets::TicketNumber) -> helpdesk::domain::tickets::Ticket {
        let staff = User { id: 0, email: String::new(), name: String::new(), role: Role::Admin, active: true };
        helpdesk::domain::tickets::find_for_viewer(&self.db, number, &staff).await.expect("ticket exists")
    }
}
