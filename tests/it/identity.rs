//! Who someone is: registration with a confirmed address, password reset, invitations,
//! one's own password, sign-in limits that cannot lock the owner out, and the smaller
//! leaks around them — on both databases, with the mail read from an SMTP server on loopback.

use helpdesk::domain::accounts::login_throttle;
use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use helpdesk::domain::conversation::staff::{self, Changes};
use reqwest::StatusCode;

use crate::for_both_backends;
use crate::harness::{Backend, Browser, PASSWORD, TestApp};
use crate::smtp::{Received, ReservedPort, SmtpServer};

for_both_backends!(
    a_new_customer_confirms_their_address_then_signs_in,
    registering_a_known_address_says_nothing_and_tells_its_owner,
    registration_is_limited_per_address,
    a_reset_link_works_once_and_not_after_an_hour,
    a_squatter_gains_nothing_and_the_owner_takes_the_account_back,
    a_customer_an_agent_opened_a_ticket_for_sets_a_password_from_the_mail,
    staff_created_without_a_password_are_invited,
    changing_ones_password_ends_the_other_sessions,
    guessing_never_locks_the_owner_out_and_the_owner_is_told_once,
    a_demoted_agent_loses_every_assignment_and_staff_mail,
    small_leaks_are_closed,
    links_mailed_earlier_stop_working_once_a_password_is_set,
    a_link_works_only_while_the_account_has_the_address_it_was_mailed_to,
);

pub async fn mail_app(backend: Backend, smtp: &SmtpServer) -> TestApp {
    let smtp_url = smtp.url();
    TestApp::spawn_with(backend, move |config| {
        config.smtp_url = Some(smtp_url);
        config.mail_from = Some("help@support.example".into());
        config.base_url = Some("https://help.support.example".into());
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
}

/// The path and query of the link to `path` in a mail (the site's own address cut off), as
/// a browser would follow it.
pub fn link_in(mail: &Received, path: &str) -> String {
    let text = mail.text();
    let start = text.find(&format!("https://help.support.example{path}")).unwrap_or_else(|| panic!("no {path} link in: {text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    link.trim_start_matches("https://help.support.example").to_owned()
}

async fn register(browser: &Browser, name: &str, email: &str, password: &str) -> crate::harness::Page {
    browser.get("/register").await;
    browser.post("/register", &[("name", name), ("email", email), ("password", password)]).await
}

async fn a_new_customer_confirms_their_address_then_signs_in(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let browser = app.browser();
    register(&browser, "Carla Customer", "Carla@Example.com", PASSWORD).await.assert_redirect("/login");
    let page = browser.get("/login").await;
    assert!(page.text_of(".flash").contains("Check your mail"), "{}", page.text_of(".flash"));
    let stored: (String, Option<i64>) =
        sqlx::query_as("SELECT email, email_verified_at FROM users").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(stored, ("carla@example.com".to_owned(), None), "unverified until the link is followed");

    // Not yet: the right password is answered with what to do, and a new link on request.
    let refused = browser.post_login("carla@example.com", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text_of(".form-error").contains("Confirm your email address"), "{}", refused.text_of(".form-error"));
    assert_eq!(browser.get("/tickets").await.status, StatusCode::SEE_OTHER, "not signed in");
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].recipients, ["carla@example.com"]);
    assert_eq!(mails[0].subject(), "Confirm your email address");
    browser.post_login("carla@example.com", PASSWORD).await;
    browser.post("/verify/resend", &[("email", "carla@example.com")]).await.assert_redirect("/login");
    let mails = smtp.wait_for(2).await;
    let (first, second) = (link_in(&mails[0], "/verify"), link_in(&mails[1], "/verify"));
    assert_ne!(first, second, "each mail has a link of its own");
    let stored_digests: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM account_tokens").fetch_all(app.db.pool()).await.unwrap();
    assert!(stored_digests.iter().all(|digest| !first.contains(digest.as_str()) && digest.len() == 64), "only digests are kept");

    browser.get(&first).await.assert_redirect("/login");
    assert!(browser.get("/login").await.text_of(".flash").contains("Your address is confirmed"));
    browser.sign_in("CARLA@example.com", PASSWORD).await.assert_redirect("/tickets");
    assert_eq!(browser.get("/tickets").await.text_of(".who"), "Carla Customer Customer");
    // A link works once.
    let again = app.browser();
    again.get(&first).await.assert_redirect("/login");
    assert!(again.get("/login").await.text_of(".flash").contains("has been used or has expired"));
}

async fn registering_a_known_address_says_nothing_and_tells_its_owner(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let dora = app.user(Role::Customer).email("dora@example.com").name("Dora").create().await;
    let stranger = app.browser();
    let known = register(&stranger, "Dora Two", " DORA@example.COM ", "another good password").await;
    let fresh = register(&app.browser(), "Eve", "eve@example.com", "another good password").await;
    // The same answer for both: no way to learn which addresses have accounts.
    known.assert_redirect("/login");
    fresh.assert_redirect("/login");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'dora@example.com'").await, 1);
    let mails = smtp.wait_for(2).await;
    let to_dora = mails.iter().find(|mail| mail.recipients == ["dora@example.com"]).expect("Dora hears of it");
    assert_eq!(to_dora.subject(), "You already have an account");
    // Her way in is a reset link; her password is untouched until she uses it.
    let reset = link_in(to_dora, "/password/reset");
    app.browser().sign_in("dora@example.com", PASSWORD).await;
    let browser = app.browser();
    assert_eq!(browser.get(&reset).await.status, StatusCode::OK);
    browser
        .post("/password/reset", &[("token", reset.split("token=").nth(1).unwrap()), ("password", "dora's new password")])
        .await
        .assert_redirect("/login");
    browser.sign_in("dora@example.com", "dora's new password").await;
    assert_eq!(dora.email, "dora@example.com");
}

async fn registration_is_limited_per_address(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let browser = app.browser();
    browser.forwarded_for("203.0.113.9");
    for index in 0..login_throttle::MAX_FAILURES {
        register(&browser, "Someone", &format!("someone{index}@example.com"), PASSWORD).await.assert_redirect("/login");
    }
    let refused = register(&browser, "Someone", "one-more@example.com", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'one-more@example.com'").await, 0);
    // Another client is not held up by it.
    let neighbour = app.browser();
    neighbour.forwarded_for("198.51.100.4");
    register(&neighbour, "Neighbour", "neighbour@example.com", PASSWORD).await.assert_redirect("/login");
    app.clock.advance(login_throttle::WINDOW_SECONDS + 1);
    register(&browser, "Someone", "one-more@example.com", PASSWORD).await.assert_redirect("/login");
}

async fn a_reset_link_works_once_and_not_after_an_hour(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    app.user(Role::Customer).email("gina@example.com").name("Gina").create().await;
    let other_device = app.browser();
    other_device.sign_in("gina@example.com", PASSWORD).await;
    let browser = app.browser();
    browser.get("/password/forgot").await;
    browser.post("/password/forgot", &[("email", "nobody@example.com")]).await.assert_redirect("/login");
    let unknown_flash = browser.get("/login").await.text_of(".flash");
    browser.get("/password/forgot").await;
    browser.post("/password/forgot", &[("email", "GINA@example.com")]).await.assert_redirect("/login");
    assert_eq!(browser.get("/login").await.text_of(".flash"), unknown_flash, "the same answer for any address");
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "only the known address gets mail");
    assert_eq!(mails[0].recipients, ["gina@example.com"]);
    let link = link_in(&mails[0], "/password/reset");
    let token = link.split("token=").nth(1).unwrap().to_owned();

    let form = browser.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.attribute("input[name=token]", "value").as_deref(), Some(token.as_str()));
    let weak = browser.post("/password/reset", &[("token", &token), ("password", "password")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY, "a bad password spends nothing");
    browser.post("/password/reset", &[("token", &token), ("password", "gina's fresh password")]).await.assert_redirect("/login");
    assert_eq!(other_device.get("/tickets").await.status, StatusCode::SEE_OTHER, "every other session ended");
    browser.sign_in("gina@example.com", "gina's fresh password").await;
    assert_eq!(app.browser().post_login("gina@example.com", PASSWORD).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let reused = app.browser();
    let page = reused.get(&link).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "once only");
    assert!(page.text_of(".form-error").contains("has been used or has expired"));
    assert_eq!(page.attribute("a[href='/password/forgot']", "href").as_deref(), Some("/password/forgot"));
    reused.get("/password/forgot").await;
    let posted = reused.post("/password/reset", &[("token", &token), ("password", "yet another password")]).await;
    assert_eq!(posted.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A link older than an hour is no good.
    browser.get("/password/forgot").await;
    browser.post("/password/forgot", &[("email", "gina@example.com")]).await;
    let mails = smtp.wait_for(2).await;
    let late = link_in(&mails[1], "/password/reset");
    app.clock.advance(3601);
    assert_eq!(app.browser().get(&late).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app.browser().get("/password/reset?token=made-up").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_squatter_gains_nothing_and_the_owner_takes_the_account_back(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let squatter = app.browser();
    register(&squatter, "Not Victor", "victor@example.com", "the squatter's password").await.assert_redirect("/login");
    let (agent_browser, _) = app.user(Role::Agent).email("agent@example.com").signed_in().await;
    agent_browser.get("/desk/tickets/new").await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await.to_string();
    let fields = [
        ("requester", "victor@example.com"),
        ("subject", "Your contract"),
        ("group", general.as_str()),
        ("message", "Attached is your contract."),
    ];
    agent_browser.post("/desk/tickets", &fields).await.assert_redirect("/desk/tickets/1001");

    // The squatter cannot sign in to read it: the address was never theirs to confirm.
    assert_eq!(
        squatter.post_login("victor@example.com", "the squatter's password").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(squatter.get("/tickets/1001").await.status, StatusCode::SEE_OTHER);
    // The owner gets the mail (at their own address) and takes the account back.
    let mails = smtp.wait_for(2).await;
    assert!(mails.iter().all(|mail| mail.recipients == ["victor@example.com"]));
    let victor = app.browser();
    victor.get("/password/forgot").await;
    victor.post("/password/forgot", &[("email", "victor@example.com")]).await;
    let mails = smtp.wait_for(3).await;
    let link = link_in(&mails[2], "/password/reset");
    victor.get(&link).await;
    victor
        .post("/password/reset", &[("token", link.split("token=").nth(1).unwrap()), ("password", "victor's own password")])
        .await
        .assert_redirect("/login");
    victor.sign_in("victor@example.com", "victor's own password").await.assert_redirect("/tickets");
    assert_eq!(victor.get("/tickets/1001").await.status, StatusCode::OK);
    assert_eq!(
        squatter.post_login("victor@example.com", "the squatter's password").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn a_customer_an_agent_opened_a_ticket_for_sets_a_password_from_the_mail(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let (agent_browser, _) = app.user(Role::Agent).email("agent@example.com").signed_in().await;
    agent_browser.get("/desk/tickets/new").await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await.to_string();
    let fields = [
        ("requester", "walkin@example.com"),
        ("subject", "Phone call"),
        ("group", general.as_str()),
        ("message", "Called about the printer."),
    ];
    agent_browser.post("/desk/tickets", &fields).await.assert_redirect("/desk/tickets/1001");
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'walkin@example.com'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(hash, "", "no password anyone could know");

    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].subject(), "[TCK-1001] Phone call");
    let link = link_in(&mails[0], "/password/reset");
    let customer = app.browser();
    assert_eq!(customer.get(&link).await.status, StatusCode::OK);
    customer
        .post("/password/reset", &[("token", link.split("token=").nth(1).unwrap()), ("password", "my own password")])
        .await
        .assert_redirect("/login");
    customer.sign_in("walkin@example.com", "my own password").await.assert_redirect("/tickets");
    assert_eq!(customer.get("/tickets").await.texts("td.subject"), ["Phone call"]);
    assert_eq!(customer.get("/tickets/1001").await.status, StatusCode::OK);
    let verified: Option<i64> = sqlx::query_scalar("SELECT email_verified_at FROM users WHERE email = 'walkin@example.com'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(verified.is_some(), "setting the password proved the address");
}

async fn staff_created_without_a_password_are_invited(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let (admin_browser, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    admin_browser.get("/admin/users/new").await;
    let created = admin_browser
        .post("/admin/users", &[("name", "Sam Staff"), ("email", "sam@example.com"), ("role", "agent"), ("password", "")])
        .await;
    let location = created.location().expect("created").to_owned();
    let shown = admin_browser.get(&location).await.text_of(".flash");
    assert!(shown.contains("An invitation to choose a password is on its way"), "{shown}");
    let sessions: Vec<String> = sqlx::query_scalar("SELECT data FROM sessions").fetch_all(app.db.pool()).await.unwrap();
    let mails = smtp.wait_for(1).await;
    assert_eq!(
        (mails[0].recipients.clone(), mails[0].subject()),
        (vec!["sam@example.com".to_owned()], "Your account is ready".to_owned())
    );
    let link = link_in(&mails[0], "/password/reset");
    assert!(sessions.iter().all(|data| !data.contains(link.split("token=").nth(1).unwrap())));
    let sam = app.browser();
    sam.get(&link).await;
    sam.post("/password/reset", &[("token", link.split("token=").nth(1).unwrap()), ("password", "sam's own password")])
        .await
        .assert_redirect("/login");
    sam.sign_in("sam@example.com", "sam's own password").await.assert_redirect("/desk");
}

async fn changing_ones_password_ends_the_other_sessions(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let (laptop, _) = app.user(Role::Customer).email("hana@example.com").signed_in().await;
    let phone = app.browser();
    phone.sign_in("hana@example.com", PASSWORD).await;
    laptop.get("/profile/password").await;
    let wrong =
        laptop.post("/profile/password", &[("current_password", "not it at all"), ("password", "hana's next password")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.text_of("#current_password-error"), "That is not your current password.");
    laptop
        .post("/profile/password", &[("current_password", PASSWORD), ("password", "hana's next password")])
        .await
        .assert_redirect("/profile");
    assert_eq!(laptop.get("/tickets").await.status, StatusCode::OK, "this session stays");
    assert_eq!(phone.get("/tickets").await.status, StatusCode::SEE_OTHER, "the other one ended");
    app.browser().sign_in("hana@example.com", "hana's next password").await;
}

async fn guessing_never_locks_the_owner_out_and_the_owner_is_told_once(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    app.user(Role::Admin).email("ida@example.com").name("Ida").create().await;
    for (index, address) in ["203.0.113.1", "203.0.113.2"].into_iter().enumerate() {
        let guesser = app.browser();
        guesser.forwarded_for(address);
        for attempt in 0..login_throttle::MAX_FAILURES {
            let page = guesser.post_login("ida@example.com", &format!("guess {index} {attempt}")).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let page = guesser.post_login("ida@example.com", PASSWORD).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "the guessing address is held up, even with the right password");
    }
    // The owner, from their own address, signs in all the same.
    let ida = app.browser();
    ida.forwarded_for("198.51.100.77");
    ida.sign_in("ida@example.com", PASSWORD).await.assert_redirect("/desk");
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].recipients, ["ida@example.com"]);
    assert_eq!(mails[0].subject(), "Failed sign-in attempts on your account");
    // Once per window, however long the guessing goes on.
    let guesser = app.browser();
    guesser.forwarded_for("203.0.113.3");
    for attempt in 0..3 {
        guesser.post_login("ida@example.com", &format!("more {attempt}")).await;
    }
    let alerts = "SELECT COUNT(*) FROM outbox WHERE kind = 'sign_in_attempts'";
    assert_eq!(app.count(alerts).await, 1);
}

async fn a_demoted_agent_loses_every_assignment_and_staff_mail(backend: Backend) {
    // No mail server answers, so the assignment mail waits in the outbox.
    let nowhere = ReservedPort::new();
    let smtp_url = nowhere.url();
    let app = TestApp::spawn_with(backend, move |config| config.smtp_url = Some(smtp_url)).await;
    let admin = app.user(Role::Admin).email("admin@example.com").create().await;
    let agent = app.user(Role::Agent).email("jo@example.com").name("Jo").create().await;
    let customer = app.user(Role::Customer).email("kim@example.com").create().await;
    for subject in ["One", "Two"] {
        let number = app.ticket_for(&customer).subject(subject).create().await;
        let assign = Changes { assignee: Some(Some(agent.id)), ..Changes::default() };
        staff::update(&app.db, &app.ticket(number).await, &admin, &assign, None, app.now()).await.unwrap();
    }
    let versions_before: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM tickets ORDER BY number").fetch_all(app.db.pool()).await.unwrap();
    let pending_staff_mail = "SELECT COUNT(*) FROM outbox o JOIN users u ON u.id = o.recipient_id WHERE u.email = 'jo@example.com' AND o.status = 'pending'";
    assert_eq!(app.count(pending_staff_mail).await, 2);

    let input = user_admin::UserInput::parse("Jo", "jo@example.com", "customer", "", &[], true).unwrap();
    user_admin::update(&app.db, agent.id, input.into(), &admin, app.now()).await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE assignee_id IS NOT NULL").await, 0);
    let versions_after: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM tickets ORDER BY number").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(
        versions_after,
        versions_before.iter().map(|version| version + 1).collect::<Vec<_>>(),
        "each unassignment is a versioned change"
    );
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.assignee' AND after_state LIKE '%null%'";
    assert_eq!(app.count(audited).await, 2);
    let events = "SELECT COUNT(*) FROM messages WHERE kind = 'event' AND event = 'assignee' AND new_value IS NULL";
    assert_eq!(app.count(events).await, 2);
    assert_eq!(app.count(pending_staff_mail).await, 0, "no staff mail reaches them any more");
}

async fn small_leaks_are_closed(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    // Looking at the sign-in page stores no session.
    let visitor = app.browser();
    assert_eq!(visitor.get("/login").await.status, StatusCode::OK);
    assert_eq!(visitor.get("/register").await.status, StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    // Over https (as here) the form cookie is a `__Host-` one.
    assert!(visitor.cookie("__Host-helpdesk_form").is_some() && visitor.session_id().is_none());
    // ...and its form still works, but not with another token.
    let forged =
        visitor.post_raw("/login", &[("csrf_token", "made-up"), ("email", "x@example.com"), ("password", "whatever")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // A customer never sees the name of an internal group.
    let (customer_browser, customer) = app.user(Role::Customer).email("lee@example.com").signed_in().await;
    let admin = app.fixture_admin().await.clone();
    let secret_group = app.group("Legal escalations").by(&admin).create().await;
    let number = app.ticket_for(&customer).subject("Refund").create().await;
    staff::update(
        &app.db,
        &app.ticket(number).await,
        &admin,
        &Changes { group_id: Some(secret_group), ..Changes::default() },
        None,
        app.now(),
    )
    .await
    .unwrap();
    for path in ["/tickets/1001", "/tickets?status=all"] {
        let page = customer_browser.get(path).await;
        assert!(!page.body.contains("Legal escalations"), "{path} shows the internal group");
    }
    // A search of any length is an answer, not an error.
    let long = "ab".repeat(30_000);
    assert_eq!(customer_browser.get(&format!("/tickets?q={long}")).await.status, StatusCode::OK);
}

async fn links_mailed_earlier_stop_working_once_a_password_is_set(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    app.user(Role::Customer).email("pia@example.com").create().await;
    let browser = app.browser();
    for _ in 0..2 {
        browser.get("/password/forgot").await;
        browser.post("/password/forgot", &[("email", "pia@example.com")]).await;
    }
    let mails = smtp.wait_for(2).await;
    let (first, second) = (link_in(&mails[0], "/password/reset"), link_in(&mails[1], "/password/reset"));
    browser.get(&second).await;
    browser
        .post("/password/reset", &[("token", second.split("token=").nth(1).unwrap()), ("password", "pia's new password")])
        .await
        .assert_redirect("/login");
    assert_eq!(app.browser().get(&first).await.status, StatusCode::UNPROCESSABLE_ENTITY, "the older link died with the change");

    // An invitation rides on the first mail only, and dies when the password is set.
    let (agent_browser, agent) = app.user(Role::Agent).email("agent@example.com").signed_in().await;
    agent_browser.get("/desk/tickets/new").await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await.to_string();
    let fields = [("requester", "rio@example.com"), ("subject", "Call"), ("group", general.as_str()), ("message", "Called.")];
    agent_browser.post("/desk/tickets", &fields).await.assert_redirect("/desk/tickets/1001");
    app.agent_writes(
        &app.ticket(helpdesk::domain::tickets::TicketNumber::parse("1001").unwrap()).await,
        &agent,
        "Fixed.",
        helpdesk::domain::conversation::Visibility::Public,
    )
    .await;
    let mails = smtp.wait_for(4).await;
    let to_rio: Vec<&Received> = mails.iter().filter(|mail| mail.recipients == ["rio@example.com"]).collect();
    assert_eq!(to_rio.len(), 2);
    assert!(to_rio[0].text().contains("/password/reset?token="));
    assert!(!to_rio[1].text().contains("/password/reset?token="), "no second invitation while the first is good");
}

async fn a_link_works_only_while_the_account_has_the_address_it_was_mailed_to(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let quinn = app.user(Role::Customer).email("quinn@example.com").name("Quinn").create().await;
    let browser = app.browser();
    browser.get("/password/forgot").await;
    browser.post("/password/forgot", &[("email", "quinn@example.com")]).await;
    let link = link_in(&smtp.wait_for(1).await[0], "/password/reset");
    // An admin corrects the address: what was mailed to the old one is no key any more.
    let corrected = user_admin::UserInput::parse("Quinn", "quinn@example.org", "customer", "", &[], false).unwrap();
    user_admin::update(&app.db, quinn.id, corrected.into(), app.fixture_admin().await, app.now()).await.unwrap();
    assert_eq!(app.browser().get(&link).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}
