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

    /// A new user of `role`, made through the domain layer; see [`UserBuilder`].
    pub fn user(&self, role: Role) -> UserBuilder<'_> {
        UserBuilder { app: self, role, email: None, name: None }
    }

    /// A new group, made through the domain layer by an admin; see [`GroupBuilder`].
    pub fn group(&self, name: &str) -> GroupBuilder<'_> {
        GroupBuilder { app: self, name: name.to_owned(), public: false, member_ids: Vec::new(), actor: None }
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

/// A file as it was served.
pub struct Download {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
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

    /// Starts a GET and hands back the answer as it arrives, its body unread (a stream).
    pub async fn open(&self, path: &str) -> reqwest::Response {
        let request = self.http.get(format!("{}{path}", self.base_url)).header(reqwest::header::COOKIE, self.cookie_header());
        request.send().await.expect("request sent")
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

    /// Fetches a file as bytes, with extra request headers (`Range`, `If-None-Match`).
    pub async fn download(&self, path: &str, headers: &[(&str, &str)]) -> Download {
        let mut request = self.http.get(format!("{}{path}", self.base_url)).header(reqwest::header::COOKIE, self.cookie_header());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let (status, headers) = (response.status(), response.headers().clone());
        Download { status, headers, bytes: response.bytes().await.expect("a body").to_vec() }
    }

    /// Posts a form with files as a browser does (`multipart/form-data`, the CSRF token of
    /// the last page seen): each file is `(name, bytes)` in an `attachments` part.
    pub async fn post_with_files(&self, path: &str, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Page {
        let token = self.csrf_token.lock().unwrap().clone().expect("a page with a form was seen first");
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        for (filename, bytes) in files {
            form = form.part("attachments", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_string()));
        }
        self.send(self.http.post(format!("{}{path}", self.base_url)).multipart(form)).await
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

    /// The attribute of every element that matches `selector` and has it.
    pub fn attributes(&self, selector: &str, attribute: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html().select(&selector).filter_map(|element| element.value().attr(attribute).map(str::to_owned)).collect()
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

/// A user in the making: `app.user(Role::Agent).email("ann@example.com").name("Ann").create()`.
/// Unless given, the name is the role's ("Test Agent") and the address is one of its own.
pub struct UserBuilder<'a> {
    app: &'a TestApp,
    role: Role,
    email: Option<String>,
    name: Option<String>,
}

impl UserBuilder<'_> {
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub async fn create(self) -> User {
        static COUNTER: AtomicU32 = AtomicU32::new(1);
        let email = self
            .email
            .unwrap_or_else(|| format!("{}-{}@example.com", self.role.as_str(), COUNTER.fetch_add(1, Ordering::SeqCst)));
        let name = self.name.unwrap_or_else(|| format!("Test {}", self.role.label()));
        let new_user = NewUser::parse(&name, &email, PASSWORD, self.role).expect("valid fixture user");
        users::create(&self.app.db, &new_user, None, self.app.now()).await.expect("fixture user created")
    }

    /// The new user, and a browser signed in as them.
    pub async fn signed_in(self) -> (Browser, User) {
        let app = self.app;
        let user = self.create().await;
        let browser = app.browser();
        browser.sign_in(&user.email, PASSWORD).await;
        (browser, user)
    }
}

/// A group in the making: `app.group("Sales").public().members(&[&agent]).create()`.
/// Internal and empty unless told otherwise, made by the fixture admin unless `by` another.
pub struct GroupBuilder<'a> {
    app: &'a TestApp,
    name: String,
    public: bool,
    member_ids: Vec<String>,
    actor: Option<&'a User>,
}

impl<'a> GroupBuilder<'a> {
    /// Customers may submit to it.
    pub fn public(mut self) -> Self {
        self.public = true;
        self
    }

    pub fn members(mut self, members: &[&User]) -> Self {
        self.member_ids = members.iter().map(|member| member.id.to_string()).collect();
        self
    }

    /// Made by this admin rather than the fixture admin.
    pub fn by(mut self, admin: &'a User) -> Self {
        self.actor = Some(admin);
        self
    }

    pub async fn create(self) -> i64 {
        let input = GroupInput::parse(&self.name, self.public, &self.member_ids).expect("valid fixture group");
        let actor_id = match self.actor {
            Some(admin) => admin.id,
            None => self.app.fixture_admin().await.id,
        };
        groups::create(&self.app.db, &input, actor_id, self.app.now()).await.expect("fixture group created")
    }
}

/// A ticket in the making, as its requester submits it:
/// `app.ticket_for(&customer).subject("Printer jams").priority(Priority::High).create()`.
/// Unless given: "Printer jams", "It jams on every page.", medium, in the General group.
pub struct TicketBuilder<'a> {
    app: &'a TestApp,
    requester: &'a User,
    subject: String,
    message: String,
    priority: Priority,
    group_id: Option<i64>,
}

impl TicketBuilder<'_> {
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    pub fn group(mut self, group_id: i64) -> Self {
        self.group_id = Some(group_id);
        self
    }

    pub async fn create(self) -> TicketNumber {
        let app = self.app;
        let group_id = match self.group_id {
            Some(id) => id,
            None => {
                let all = groups::all_groups(&app.db).await.expect("groups");
                all.into_iter().find(|group| group.name == "General").expect("the General group").id
            }
        };
        let new_ticket = NewTicket::parse(&self.subject, WholeNumber::Sent(group_id), self.priority.as_str(), &self.message, "")
            .expect("valid fixture ticket");
        let settings = Settings::load(&app.db).await.expect("settings");
        tickets::create(&app.db, &settings, self.requester, self.requester, &new_ticket, None, app.now())
            .await
            .expect("fixture ticket created")
    }
}

/// Fixtures for tickets, made through the domain layer as the application itself would.
impl TestApp {
    /// A new ticket from `requester`; see [`TicketBuilder`].
    pub fn ticket_for<'a>(&'a self, requester: &'a User) -> TicketBuilder<'a> {
        TicketBuilder {
            app: self,
            requester,
            subject: "Printer jams".into(),
            message: "It jams on every page.".into(),
            priority: Priority::Medium,
            group_id: None,
        }
    }

    /// An agent's reply or note, through the domain layer.
    pub async fn agent_writes(&self, ticket: &Ticket, agent: &User, body: &str, visibility: Visibility) -> i64 {
        let reply = Reply::new(body.to_owned(), visibility);
        staff::reply(&self.db, ticket, agent, &reply, self.now()).await.expect("agent reply written")
    }

    /// The ticket as staff see it, read by the fixture admin.
    pub async fn ticket(&self, number: TicketNumber) -> Ticket {
        tickets::find_for_viewer(&self.db, number, self.fixture_admin().await).await.expect("ticket exists")
    }
}
