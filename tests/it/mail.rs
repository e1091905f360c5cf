//! Outgoing mail, delivered to a real SMTP server on loopback.

use std::collections::BTreeSet;

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::Visibility;
use helpdesk::domain::conversation::staff::{self, Changes};
use helpdesk::domain::mail::outbox;
use helpdesk::domain::tickets::Status;
use helpdesk::files::FileStore;
use helpdesk::mail::{self, Mailer};
use reqwest::StatusCode;

use crate::harness::{Backend, TestApp};
use crate::smtp::{ReservedPort, SmtpServer};
use crate::{for_both_backends, on_both_databases};

for_both_backends!(
    every_notification_reaches_the_right_people_in_one_thread,
    mail_waits_while_smtp_is_down_and_is_delivered_once_when_it_returns,
    two_workers_on_one_database_never_send_a_mail_twice,
    refused_mail_is_failed_and_an_admin_can_retry_it,
    users_can_turn_notification_kinds_off,
);
on_both_databases!(without_smtp_mail_is_logged_and_marked_sent);

async fn mail_app(backend: Backend, smtp_url: &str) -> TestApp {
    let smtp_url = smtp_url.to_owned();
    TestApp::spawn_with(backend, move |config| {
        config.smtp_url = Some(smtp_url);
        config.mail_from = Some("help@support.example".into());
        config.notify_email = Some("team@support.example".into());
        config.base_url = Some("https://help.support.example".into());
    })
    .await
}

/// Waits until `count` mails are marked sent: the worker marks each right after the SMTP
/// server accepts it.
async fn sent(app: &TestApp, count: i64) {
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", count).await;
}

/// Whether any mail is due now: a pass of a worker of our own finds none, so none can be
/// sent before the clock moves (instead of waiting to see that nothing happens).
pub(crate) async fn nothing_due(app: &TestApp) -> bool {
    let mailer = Mailer::from_config(&app.config).unwrap();
    let files = FileStore::from_config(&app.config).unwrap();
    !mail::deliver_next(&app.db, &mailer, &files, "test-pass", app.now()).await.unwrap()
}

fn recipients(mails: &[crate::smtp::Received]) -> Vec<String> {
    mails.iter().flat_map(|mail| mail.recipients.clone()).collect()
}

async fn every_notification_reaches_the_right_people_in_one_thread(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp.url()).await;
    let (customer_browser, _) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Andy Agent").create().await;
    let admin = app.user(Role::Admin).email("admin@example.com").name("Ada Admin").create().await;

    customer_browser.get("/tickets/new").await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await.to_string();
    let fields = [("subject", "Printer on fire"), ("group", general.as_str()), ("priority", "high"), ("message", "It smokes.")];
    customer_browser.post("/tickets", &fields).await.assert_redirect("/tickets/1001");
    let created = smtp.wait_for(2).await;
    assert_eq!(
        BTreeSet::from_iter(recipients(&created)),
        BTreeSet::from(["carla@example.com".into(), "team@support.example".into()])
    );
    let to_customer = created.iter().find(|mail| mail.recipients == ["carla@example.com"]).unwrap();
    assert_eq!(to_customer.subject(), "[TCK-1001] Printer on fire");
    assert_eq!(to_customer.header("From").as_deref(), Some("Helpdesk <help@support.example>"));
    assert_eq!(to_customer.header("Auto-Submitted").as_deref(), Some("auto-generated"));
    assert!(to_customer.text().contains("It smokes."));
    assert!(to_customer.text().contains("https://help.support.example/tickets/1001"));
    assert!(to_customer.text().starts_with(mail::REPLY_MARKER));
    assert!(to_customer.html().contains("<blockquote"));
    let team = created.iter().find(|mail| mail.recipients == ["team@support.example"]).unwrap();
    assert!(team.text().contains("https://help.support.example/desk/tickets/1001"));

    let number = helpdesk::domain::tickets::TicketNumber::parse("1001").unwrap();
    let assign = Changes { assignee: Some(Some(agent.id)), ..Changes::default() };
    staff::update(&app.db, &app.ticket(number).await, &admin, &assign, None, app.now()).await.unwrap();
    let assigned = smtp.wait_for(3).await;
    assert_eq!(assigned[2].recipients, ["agent@example.com"]);
    assert_eq!(assigned[2].subject(), "Re: [TCK-1001] Printer on fire");

    app.agent_writes(&app.ticket(number).await, &agent, "Secret: the printer is ours to blame.", Visibility::Internal).await;
    app.agent_writes(&app.ticket(number).await, &agent, "Unplug it, please.", Visibility::Public).await;
    let replied = smtp.wait_for(4).await;
    assert_eq!(replied[3].recipients, ["carla@example.com"]);
    assert!(replied[3].text().contains("Andy Agent wrote:") && replied[3].text().contains("Unplug it, please."));

    customer_browser.get("/tickets/1001").await;
    customer_browser.post("/tickets/1001/replies", &[("body", "Done, it stopped.")]).await.assert_redirect("/tickets/1001");
    let answered = smtp.wait_for(5).await;
    assert_eq!(answered[4].recipients, ["agent@example.com"]);
    assert!(answered[4].text().contains("Done, it stopped."));

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Closed, app.now()).await.unwrap();
    let all = smtp.wait_for(7).await;
    assert_eq!(recipients(&all[5..]), ["carla@example.com", "carla@example.com"]);
    assert!(all[5].text().contains("resolved") && all[6].text().contains("closed"));

    // Every mail queued is sent, and no other is waiting: nothing else can be sent.
    sent(&app, 7).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 7);
    let all = smtp.received();
    assert_eq!(all.len(), 7, "nothing else was sent");
    for mail in &all {
        assert!(!mail.data.contains("Secret"), "an internal note reached a mail: {}", mail.data);
        assert_eq!(mail.header("In-Reply-To").as_deref(), Some("<ticket-1001@support.example>"));
        assert_eq!(mail.header("References").as_deref(), Some("<ticket-1001@support.example>"));
        assert!(mail.subject().contains("[TCK-1001]"));
    }
    let ids: BTreeSet<String> = all.iter().map(|mail| mail.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.len(), 7, "each mail has its own Message-ID");
    assert!(ids.iter().all(|id| id.ends_with("@support.example>")));
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT rfc_message_id FROM outbox WHERE status = 'sent'").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(BTreeSet::from_iter(stored), ids, "the outbox remembers what it sent, for threading replies");
}

async fn mail_waits_while_smtp_is_down_and_is_delivered_once_when_it_returns(backend: Backend) {
    let port = ReservedPort::new();
    let app = mail_app(backend, &port.url()).await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    app.ticket_for(&customer).subject("Nobody hears me").message("Hello?").create().await;
    let attempted = "SELECT COUNT(*) FROM outbox WHERE attempts >= 1 AND status = 'pending' AND last_error IS NOT NULL";
    app.wait_for_count(attempted, 1).await; // the mail was tried and kept for later

    let smtp = SmtpServer::start_on(port).await;
    assert!(nothing_due(&app).await, "nothing is tried again before its backoff");
    assert!(smtp.received().is_empty());
    app.clock.advance(outbox::backoff_seconds(1));
    let delivered = smtp.wait_for(1).await;
    sent(&app, 1).await;
    app.clock.advance(3600);
    assert!(nothing_due(&app).await, "a sent mail is never due again");
    assert_eq!(smtp.received().len(), 1, "exactly once");
    assert_eq!(recipients(&delivered), ["carla@example.com"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 2").await, 1);
}

async fn two_workers_on_one_database_never_send_a_mail_twice(backend: Backend) {
    // The application's own worker sends nowhere useful; two more race over the queue.
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp.url()).await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let mut config = app.config.clone();
    config.smtp_url = Some(smtp.url());
    let mailer = Mailer::from_config(&config).unwrap();
    let files = FileStore::from_config(&config).unwrap();
    for number in 0..20 {
        app.ticket_for(&customer).subject(format!("Ticket {number}")).message("Hello").create().await;
    }
    let workers: Vec<_> = ["worker-a", "worker-b"]
        .into_iter()
        .map(|worker| {
            let (db, mailer, files, clock) = (app.db.clone(), mailer.clone(), files.clone(), app.clock.clone());
            tokio::spawn(async move {
                let mut sent = 0;
                while mail::deliver_next(&db, &mailer, &files, worker, helpdesk::domain::clock::Clock::now(&*clock))
                    .await
                    .unwrap()
                {
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap();
    }
    let received = smtp.wait_for(20).await;
    sent(&app, 20).await;
    assert!(nothing_due(&app).await);
    assert_eq!(smtp.received().len(), 20, "20 mails queued, 20 delivered");
    // Three workers raced (the app's own too): together they sent each mail once.
    let by_the_app = app.count("SELECT COUNT(*) FROM outbox WHERE locked_by NOT IN ('worker-a', 'worker-b')").await;
    assert_eq!(total + by_the_app, 20, "the two workers sent {total}, the app's {by_the_app}");
    let ids: BTreeSet<String> = received.iter().map(|mail| mail.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.len(), 20);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 1").await, 20);
}

async fn refused_mail_is_failed_and_an_admin_can_retry_it(backend: Backend) {
    let smtp = SmtpServer::start().await;
    smtp.refuse("carla@example.com");
    let app = mail_app(backend, &smtp.url()).await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    app.ticket_for(&customer).subject("Bounce").message("Hello").create().await;
    // A 5xx about the recipient is not retried.
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = 1", 1).await;

    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    assert!(admin.get("/admin").await.text_of(".admin-cards").contains("1 notification could not be delivered"));
    let page = admin.get("/admin/mail").await;
    assert!(page.text_of("tbody").contains("carla@example.com"), "{}", page.text_of("main"));
    assert!(page.text_of("tbody").contains("No such mailbox"));
    let retry = page.attribute("tbody form", "action").unwrap();
    smtp.accept_everyone();
    admin.post(&retry, &[]).await.assert_redirect("/admin/mail");
    let delivered = smtp.wait_for(1).await;
    assert_eq!(delivered[0].recipients, ["carla@example.com"]);
    assert_eq!(admin.get("/admin/mail").await.text_of(".empty"), "Every notification was delivered or is still being tried.");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'mail.retry'").await, 1);
    let (agent, _) = app.user(Role::Agent).email("agent@example.com").signed_in().await;
    assert_eq!(agent.get("/admin/mail").await.status, StatusCode::NOT_FOUND);
}

async fn users_can_turn_notification_kinds_off(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp.url()).await;
    let (browser, customer) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Andy").create().await;
    let page = browser.get("/profile").await;
    let offered: Vec<String> = page
        .html()
        .select(&scraper::Selector::parse("input[name=notify]").unwrap())
        .map(|input| input.value().attr("value").unwrap().to_owned())
        .collect();
    assert_eq!(offered, ["ticket_created", "agent_replied", "participant_replied", "cc_added", "resolved", "closed"]);
    browser
        .post("/profile", &[("notify", "ticket_created"), ("notify", "resolved"), ("notify", "assigned")])
        .await
        .assert_redirect("/profile");
    let page = browser.get("/profile").await;
    assert_eq!(page.attribute("input[value=agent_replied]", "checked"), None);
    assert_eq!(page.attribute("input[value=ticket_created]", "checked").as_deref(), Some(""));

    let number = app.ticket_for(&customer).subject("Quiet please").message("Hello").create().await;
    app.agent_writes(&app.ticket(number).await, &agent, "An answer you asked not to be mailed.", Visibility::Public).await;
    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    let mails = smtp.wait_for(2).await;
    sent(&app, 2).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 2, "nothing else is queued");
    assert_eq!(smtp.received().len(), 2, "creation and resolution; not the reply");
    assert!(mails.iter().all(|mail| !mail.text().contains("An answer you asked not")));
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'agent_replied'").await, 0);
}

async fn without_smtp_mail_is_logged_and_marked_sent(app: TestApp) {
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    app.ticket_for(&customer).subject("Logged").message("Hello").create().await;
    // Written to the log, not dropped.
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await;
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    assert!(admin.get("/admin/mail").await.text_of(".hint").contains("No SMTP_URL is set"));
}
