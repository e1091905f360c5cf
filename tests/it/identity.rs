//! Who someone is: registration with a confirmed address, password reset, a squatter's
//! account taken back, and invitations — on both databases, with the mail read from an
//! SMTP server on loopback.

use helpdesk::domain::accounts::login_throttle;
use helpdesk::domain::accounts::role::Role;
use reqwest::StatusCode;

use crate::for_both_backends;
use crate::harness::{Backend, Browser, PASSWORD, TestApp};
use crate::smtp::{Received, SmtpServer};

for_both_backends!(
    a_new_customer_confirms_their_address_then_signs_in,
    registering_a_known_address_says_nothing_and_tells_its_owner,
    registration_is_limited_per_address,
    a_reset_link_works_once_and_not_after_an_hour,
    a_squatter_gains_nothing_and_the_owner_takes_the_account_back,
    a_customer_an_agent_opened_a_ticket_for_sets_a_password_from_the_mail,
    staff_created_without_a_password_are_invited,
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
