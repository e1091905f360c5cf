//! Fixtures: users, groups and tickets made through the domain layer, as the application
//! itself would make them.

use super::*;

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

/// Fixtures made through the domain layer as the application itself would.
impl TestApp {
    /// A new user of `role`, made through the domain layer; see [`UserBuilder`].
    pub fn user(&self, role: Role) -> UserBuilder<'_> {
        UserBuilder { app: self, role, email: None, name: None }
    }

    /// A new group, made through the domain layer by an admin; see [`GroupBuilder`].
    pub fn group(&self, name: &str) -> GroupBuilder<'_> {
        GroupBuilder { app: self, name: name.to_owned(), public: false, member_ids: Vec::new(), actor: None }
    }

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
