//! People copied on a ticket (CC): set from the desk and the portal, added by a mail's
//! `Cc:`, seeing and answering the ticket, told of its public changes and never of an
//! internal note — and mail from an organisation's domain bringing in a new contact.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::organisations::{self, OrganisationInput};
use helpdesk::domain::tickets::TicketNumber;
use reqwest::StatusCode;

use crate::for_both_backends;
use crate::harness::{Backend, TestApp};
use crate::mail::nothing_due;
use crate::mail_in::app_with_mail;
use crate::smtp::{ReservedPort, SmtpServer};

for_both_backends!(
    people_copied_see_answer_and_hear_of_a_ticket,
    mail_copies_known_customers_and_brings_in_people_at_a_client_domain,
    mail_queued_for_someone_removed_from_the_copy_is_not_sent,
);

async fn copied_on(app: &TestApp, number: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT u.email FROM ticket_cc c JOIN users u ON u.id = c.user_id JOIN tickets t ON t.id = c.ticket_id \
         WHERE t.number = $1 ORDER BY u.email",
    )
    .bind(number)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

async fn people_copied_see_answer_and_hear_of_a_ticket(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(backend, &smtp).await;
    let (carla_browser, carla) = app.user(Role::Customer).email("carla@example.com").name("Carla").signed_in().await;
    let (dan_browser, _) = app.user(Role::Customer).email("dan@example.com").name("Dan").signed_in().await;
    let (agent_browser, _) = app.user(Role::Agent).email("andy@example.com").name("Andy").signed_in().await;
    let number = app.ticket_for(&carla).subject("VPN drops").message("Every hour, on the hour.").create().await;
    smtp.wait_for(1).await;

    // Staff are never copied: they see every ticket on the desk. Nothing is half-saved.
    agent_browser.get("/desk/tickets/1001").await;
    let refused = agent_browser.post("/desk/tickets/1001/cc", &[("cc", "dan@example.com\nandy@example.com")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text_of(".copied").contains("andy@example.com belongs to the support team"), "{}", refused.text_of("main"));
    assert!(refused.text_of(".copied").contains("dan@example.com"), "what was typed stays in the box");
    let refused = agent_browser.post("/desk/tickets/1001/cc", &[("cc", "dan@, someone")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(copied_on(&app, 1001).await.is_empty());

    // A known customer and a new address: the new one becomes an invited customer.
    agent_browser
        .post("/desk/tickets/1001/cc", &[("cc", "Dan@Example.com, new.person@client.test\ndan@example.com")])
        .await
        .assert_redirect("/desk/tickets/1001");
    assert_eq!(copied_on(&app, 1001).await, ["dan@example.com", "new.person@client.test"]);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM users WHERE email = 'new.person@client.test' AND role = 'customer' AND password_hash = ''"
        )
        .await,
        1
    );
    let told = smtp.wait_for(3).await;
    let to_new = told.iter().find(|mail| mail.recipients == ["new.person@client.test"]).expect("the new person is told");
    assert!(to_new.text().contains("You are copied on the request TCK-1001 from Carla"), "{}", to_new.text());
    assert!(to_new.text().contains("Every hour, on the hour."), "the request itself, for context");
    assert!(to_new.text().contains("https://help.support.example/password/reset?token="), "an invitation: {}", to_new.text());
    let to_dan = told.iter().find(|mail| mail.recipients == ["dan@example.com"]).expect("Dan is told");
    assert!(!to_dan.text().contains("password/reset"), "Dan has a password");
    assert!(agent_browser.get("/desk/tickets/1001").await.text_of(".timeline").contains("Andy copied dan@example.com"));

    // Dan sees it among those he is copied on, opens and answers it, but decides nothing.
    let listed = dan_browser.get("/tickets?scope=cc").await.text_of("main");
    assert!(listed.contains("Copied to me") && listed.contains("VPN drops"), "{listed}");
    assert!(!dan_browser.get("/tickets").await.text_of("table").contains("VPN drops"), "not among his own");
    let page = dan_browser.get("/tickets/1001").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html().select(&scraper::Selector::parse("textarea[name=cc]").unwrap()).next().is_none());
    assert!(page.text_of(".copied").contains("new.person@client.test"));
    assert_eq!(dan_browser.post("/tickets/1001/cc", &[("cc", "")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(dan_browser.post("/tickets/1001/close", &[]).await.status, StatusCode::NOT_FOUND);
    dan_browser.post("/tickets/1001/replies", &[("body", "Same here since Monday.")]).await.assert_redirect("/tickets/1001");
    let mails = smtp.wait_for(5).await;
    let others: Vec<_> = mails[3..].iter().flat_map(|mail| mail.recipients.clone()).collect();
    assert!(others.contains(&"carla@example.com".to_owned()) && others.contains(&"new.person@client.test".to_owned()));
    assert!(!others.contains(&"dan@example.com".to_owned()), "nobody is mailed their own words");
    assert!(mails[3].text().contains("Same here since Monday."));
    assert!(nothing_due(&app).await);

    // An internal note reaches nobody copied; a public reply reaches them all.
    let ticket = app.ticket(number).await;
    let agent = app.user(Role::Agent).email("agent2@example.com").name("Agnes").create().await;
    app.agent_writes(
        &ticket,
        &agent,
        "Their firewall drops idle sessions.",
        helpdesk::domain::conversation::Visibility::Internal,
    )
    .await;
    assert!(nothing_due(&app).await, "an internal note is mailed to no one");
    app.agent_writes(&ticket, &agent, "We raised the idle timeout.", helpdesk::domain::conversation::Visibility::Public).await;
    let mails = smtp.wait_for(8).await;
    let mut replied: Vec<String> = mails[5..].iter().flat_map(|mail| mail.recipients.clone()).collect();
    replied.sort();
    assert_eq!(replied, ["carla@example.com", "dan@example.com", "new.person@client.test"]);
    assert!(mails.iter().all(|mail| !mail.text().contains("idle sessions")), "no internal note in any mail");

    // The requester, in no organisation, may copy nobody new; she clears the list, and
    // those removed lose sight of it.
    carla_browser.get("/tickets/1001").await;
    let refused = carla_browser.post("/tickets/1001/cc", &[("cc", "dan@example.com\nfriend@else.test")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text_of(".copied").contains("friend@else.test is not at your organisation's mail domains"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'friend@else.test'").await, 0);
    carla_browser.post("/tickets/1001/cc", &[("cc", "")]).await.assert_redirect("/tickets/1001");
    assert!(copied_on(&app, 1001).await.is_empty());
    assert_eq!(dan_browser.get("/tickets/1001").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.cc'").await, 2);
    assert!(carla_browser.get("/tickets/1001").await.text_of(".timeline").contains("Carla removed everyone from the copy"));
}

/// Delivers a mail as the MTA does, through `POST /mail/inbound`: the status and the body.
async fn deliver(app: &TestApp, mail: &str) -> (StatusCode, String) {
    let answer = reqwest::Client::new()
        .post(format!("{}/mail/inbound", app.base_url))
        .bearer_auth("inbound-secret")
        .header("content-type", "message/rfc822")
        .body(mail.replace('\n', "\r\n"))
        .send()
        .await
        .unwrap();
    (answer.status(), answer.text().await.unwrap())
}

/// A plain mail to the helpdesk; `extra` are more header lines (proof of the sender, or
/// what it replies to).
fn mail(from: &str, cc: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: Helpdesk <help@support.example>\nCc: {cc}\nSubject: {subject}\n{extra}\
         Date: Mon, 30 Nov 2026 10:00:00 +0000\nMessage-ID: <{id}@mail.example>\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )
}

/// What our mail server writes when the From domain passes DMARC.
fn vouched(domain: &str) -> String {
    format!("Authentication-Results: mx.support.example; dmarc=pass header.from={domain}\n")
}

async fn mail_copies_known_customers_and_brings_in_people_at_a_client_domain(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let app = TestApp::spawn_with(backend, move |config| {
        config.smtp_url = Some(smtp_url);
        config.mail_from = Some("help@support.example".into());
        config.base_url = Some("https://help.support.example".into());
        config.mail_ingest_token = Some("inbound-secret".into());
        config.mail_authserv_id = Some("mx.support.example".into());
    })
    .await;
    let agent = app.user(Role::Agent).email("andy@example.com").name("Andy").create().await;
    let acme = OrganisationInput::parse("Acme", "acme.test", "").unwrap();
    let acme = organisations::create(&app.db, &acme, agent.id, app.now()).await.unwrap();
    let ann = app.user(Role::Customer).email("ann@acme.test").name("Ann").create().await;
    app.user(Role::Customer).email("bob@acme.test").name("Bob").create().await;
    app.user(Role::Customer).email("eve@acme.test").name("Eve").create().await;
    app.user(Role::Customer).email("dan@example.com").name("Dan").create().await;

    // Someone new at Acme's domain, vouched for by our mail server, writes in: they become
    // Acme's contact and their ticket is Acme's. Of those copied, only the known customer
    // at Acme is added (not one elsewhere, not someone unknown, not staff).
    let first = mail(
        "Nina New <nina@ACME.test>",
        "bob@acme.test, dan@example.com, stranger@acme.test, Andy <andy@example.com>",
        "Badge does not open the door",
        "badge-1",
        &vouched("acme.test"),
        "Since this morning.",
    );
    let (status, body) = deliver(&app, &first).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, r#"{"data":{"outcome":"opened","ticket":1001}}"#));
    let nina: (String, Option<i64>, String) =
        sqlx::query_as("SELECT role, organisation_id, password_hash FROM users WHERE email = 'nina@acme.test'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(nina, ("customer".to_owned(), Some(acme), String::new()));
    assert_eq!(app.ticket(TicketNumber::parse("1001").unwrap()).await.organisation_id, Some(acme));
    assert_eq!(copied_on(&app, 1001).await, ["bob@acme.test"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'stranger@acme.test'").await, 0, "a header makes no account");
    let told = smtp.wait_for(1).await;
    assert_eq!(told[0].recipients, ["nina@acme.test"], "Bob has Nina's mail already: nobody else is mailed");
    assert!(told[0].text().contains("password/reset?token="), "the new contact is invited");

    // Without that proof a newcomer is a stranger; strangers elsewhere are refused too, and a
    // newcomer cannot answer anyone's ticket.
    for (from, subject, id, extra) in [
        ("otto@acme.test", "Hello", "otto-1", String::new()),
        ("stranger@else.test", "Hello", "stranger-1", vouched("else.test")),
        ("otto@acme.test", "Re: [TCK-1001] Badge", "otto-2", vouched("acme.test")),
    ] {
        let (status, body) = deliver(&app, &mail(from, "", subject, id, &extra, "Hi.")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{from} {subject}: {body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email IN ('stranger@else.test', 'otto@acme.test')").await, 0);

    // The requester copies a colleague by mail — once the mail proves it is hers (here, a
    // reply to our own notification); those copied may not copy others in turn.
    app.ticket_for(&ann).subject("Invoice is wrong").message("The total is off.").create().await;
    let ours = smtp.wait_for(2).await[1].header("Message-ID").unwrap();
    let unproven = mail("ann@acme.test", "eve@acme.test", "Re: [TCK-1002] Invoice is wrong", "inv-1", "", "Eve knows.");
    assert_eq!(deliver(&app, &unproven).await.0, StatusCode::OK, "taken, marked unverified");
    assert!(copied_on(&app, 1002).await.is_empty(), "an unproven mail copies nobody");
    let replying = format!("In-Reply-To: {ours}\n");
    let proven =
        mail("ann@acme.test", "Eve <eve@acme.test>", "Re: [TCK-1002] Invoice is wrong", "inv-2", &replying, "Eve, see above.");
    assert_eq!(deliver(&app, &proven).await.0, StatusCode::OK);
    assert_eq!(copied_on(&app, 1002).await, ["eve@acme.test"]);
    let answer = mail("eve@acme.test", "bob@acme.test", "Re: [TCK-1002] Invoice", "inv-3", &vouched("acme.test"), "Line 3.");
    let (status, body) = deliver(&app, &answer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(copied_on(&app, 1002).await, ["eve@acme.test"], "only the requester or a manager copies others");
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT m.body FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = 1002 AND m.kind = 'message' ORDER BY m.id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(bodies, ["The total is off.", "Eve knows.", "Eve, see above.", "Line 3."]);
    // Eve's message reaches Ann, who did not write it; Ann's own mails reached nobody twice.
    let mails = smtp.wait_for(3).await;
    assert_eq!(mails.len(), 3, "{:?}", mails.iter().map(|mail| mail.recipients.clone()).collect::<Vec<_>>());
    assert_eq!(mails[2].recipients, ["ann@acme.test"]);
    assert!(mails[2].text().contains("Line 3."));
}

async fn mail_queued_for_someone_removed_from_the_copy_is_not_sent(backend: Backend) {
    // The SMTP server is away: what is queued waits.
    let port = ReservedPort::new();
    let url = port.url();
    let app = TestApp::spawn_with(backend, move |config| {
        config.smtp_url = Some(url);
        config.mail_from = Some("help@support.example".into());
    })
    .await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let agent = app.user(Role::Agent).email("andy@example.com").name("Andy").create().await;
    app.user(Role::Customer).email("dan@example.com").name("Dan").create().await;
    let number = app.ticket_for(&carla).subject("VPN drops").create().await;
    let ticket = app.ticket(number).await;
    let copy = |addresses: &str| helpdesk::domain::conversation::cc::CcList::parse(addresses).unwrap();
    helpdesk::domain::conversation::cc::set(&app.db, &ticket, &agent, &copy("dan@example.com"), app.now()).await.unwrap();
    app.agent_writes(&ticket, &agent, "We are on it.", helpdesk::domain::conversation::Visibility::Public).await;
    helpdesk::domain::conversation::cc::set(&app.db, &ticket, &agent, &copy(""), app.now()).await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").await, 4, "all four wait");

    let smtp = SmtpServer::start_on(port).await;
    app.clock.advance(3600);
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status <> 'pending'", 4).await;
    let mut delivered: Vec<String> = smtp.received().iter().flat_map(|mail| mail.recipients.clone()).collect();
    delivered.sort();
    assert_eq!(delivered, ["carla@example.com", "carla@example.com"], "Dan's two mails went nowhere");
    let failed: Vec<String> =
        sqlx::query_scalar("SELECT last_error FROM outbox WHERE status = 'failed' AND recipient_email = $1")
            .bind("dan@example.com")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|reason| reason.contains("not the recipient's to see")), "{failed:?}");
}
