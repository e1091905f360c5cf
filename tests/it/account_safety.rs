//! Keeping an account safe after the fact: a changed password ends the other sessions,
//! guessing never locks the owner out, a demotion takes every assignment, small leaks
//! stay closed, and mailed links stop working once they should.

use helpdesk::domain::accounts::login_throttle;
use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use helpdesk::domain::conversation::staff::{self, Changes};
use reqwest::StatusCode;

use crate::for_both_backends;
use crate::harness::{Backend, PASSWORD, TestApp};
use crate::identity::{link_in, mail_app};
use crate::smtp::{Received, ReservedPort, SmtpServer};

for_both_backends!(
    changing_ones_password_ends_the_other_sessions,
    guessing_never_locks_the_owner_out_and_the_owner_is_told_once,
    a_demoted_agent_loses_every_assignment_and_staff_mail,
    small_leaks_are_closed,
    links_mailed_earlier_stop_working_once_a_password_is_set,
    a_link_works_only_while_the_account_has_the_address_it_was_mailed_to,
);

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
