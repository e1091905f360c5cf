//! Who a mail is from: `From:` proves nothing. Staff mail counts only as a reply to the
//! notification that staff member received, or with our mail server's DMARC/DKIM word for
//! it; customer mail without proof is marked (or refused where proof is required). Through
//! the real `helpdesk mail ingest`, with notifications read from SMTP on loopback.

use std::process::Output;

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Changes};
use reqwest::StatusCode;

use crate::binary::said;
use crate::for_both_backends;
use crate::harness::{Backend, TestApp};
use crate::smtp::SmtpServer;

for_both_backends!(
    forged_staff_mail_is_refused_and_a_real_reply_is_taken,
    our_mail_servers_dmarc_result_vouches_for_staff,
    customer_mail_without_proof_is_marked_or_refused,
    people_at_our_own_domain_write_in_like_anyone,
    refusals_say_nothing_about_which_tickets_exist,
);

async fn app_at(backend: Backend, smtp: &SmtpServer, mail_from: &str) -> TestApp {
    let (smtp_url, mail_from) = (smtp.url(), mail_from.to_owned());
    TestApp::spawn_with(backend, move |config| {
        config.smtp_url = Some(smtp_url);
        config.mail_from = Some(mail_from);
        config.base_url = Some("https://help.support.example".into());
        config.mail_ingest_token = Some(String::new());
    })
    .await
}

/// `helpdesk mail ingest` on the app's database with these extra arguments.
fn ingest(app: &TestApp, mail_from: &str, extra: &[&str], mail: &str) -> Output {
    app.ingest_mail(mail_from, extra, mail.as_bytes())
}

fn mail(from: &str, subject: &str, id: &str, in_reply_to: Option<&str>, extra_headers: &str, body: &str) -> String {
    let threading = in_reply_to.map(|to| format!("In-Reply-To: {to}\r\nReferences: {to}\r\n")).unwrap_or_default();
    format!(
        "From: {from}\r\nTo: help@support.example\r\nSubject: {subject}\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: {id}\r\n{threading}{extra_headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

async fn messages(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM messages").await
}

async fn forged_staff_mail_is_refused_and_a_real_reply_is_taken(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_at(backend, &smtp, "help@support.example").await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Andy").create().await;
    let number = app.ticket_for(&customer).subject("Printer on fire").create().await;
    let admin = app.user(Role::Admin).email("admin@example.com").create().await;
    let assign = Changes { assignee: Some(Some(agent.id)), ..Changes::default() };
    staff::update(&app.db, &app.ticket(number).await, &admin, &assign, None, app.now()).await.unwrap();
    let mails = smtp.wait_for(2).await;
    let to_customer = mails.iter().find(|mail| mail.recipients == ["carla@example.com"]).unwrap().header("Message-ID").unwrap();
    let to_agent = mails.iter().find(|mail| mail.recipients == ["agent@example.com"]).unwrap().header("Message-ID").unwrap();

    // Anyone can write "From: agent@…" and the ticket's tag: refused, nothing written.
    let before = messages(&app).await;
    let forged = mail(
        "Andy <agent@example.com>",
        "Re: [TCK-1001] Printer on fire",
        "<forged-1@evil.example>",
        None,
        "",
        "Pay the invoice at evil.example.",
    );
    let output = ingest(&app, "help@support.example", &[], &forged);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert!(said(&output).contains("refused"), "{}", said(&output));
    // Nor does answering a notification someone else received help.
    let borrowed = mail(
        "Andy <agent@example.com>",
        "Re: [TCK-1001] Printer on fire",
        "<forged-2@evil.example>",
        Some(&to_customer),
        "",
        "Pay here.",
    );
    assert_eq!(ingest(&app, "help@support.example", &[], &borrowed).status.code(), Some(1));
    assert_eq!(messages(&app).await, before, "nothing was written");
    assert_eq!(smtp.received().len(), 2, "and nothing was mailed");

    // The agent's own reply to the mail they received is theirs.
    let real = mail(
        "Andy <agent@example.com>",
        "Re: [TCK-1001] Printer on fire",
        "<andy-1@example.com>",
        Some(&to_agent),
        "",
        "A technician is on the way.",
    );
    let output = ingest(&app, "help@support.example", &[], &real);
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(said(&output).trim(), "Added to ticket 1001.");
    let mailed = smtp.wait_for(3).await;
    assert_eq!(mailed[2].recipients, ["carla@example.com"]);
    assert!(mailed[2].text().contains("A technician is on the way."));
}

async fn our_mail_servers_dmarc_result_vouches_for_staff(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_at(backend, &smtp, "help@support.example").await;
    let customer = app.user(Role::Customer).email("carla@example.com").create().await;
    app.user(Role::Agent).email("agent@example.com").create().await;
    app.ticket_for(&customer).create().await;
    let server = ["--mail-authserv-id", "mx.support.example"];
    let vouched_by = |authserv: &str| {
        format!(
            "Authentication-Results: {authserv}; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\n"
        )
    };
    let foreign = mail(
        "agent@example.com",
        "Re: [TCK-1001] x",
        "<a-1@example.com>",
        None,
        &vouched_by("mx.evil.example"),
        "From elsewhere.",
    );
    assert_eq!(
        ingest(&app, "help@support.example", &server, &foreign).status.code(),
        Some(1),
        "another server's word counts for nothing"
    );
    let ours = mail(
        "agent@example.com",
        "Re: [TCK-1001] x",
        "<a-2@example.com>",
        None,
        &vouched_by("mx.support.example"),
        "Vouched for.",
    );
    let output = ingest(&app, "help@support.example", &server, &ours);
    assert!(output.status.success(), "{}", said(&output));
    let failed = "Authentication-Results: mx.support.example; dmarc=fail header.from=example.com\r\n";
    let refused = mail("agent@example.com", "Re: [TCK-1001] x", "<a-3@example.com>", None, failed, "Failed DMARC.");
    assert_eq!(ingest(&app, "help@support.example", &server, &refused).status.code(), Some(1));
}

async fn customer_mail_without_proof_is_marked_or_refused(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_at(backend, &smtp, "help@support.example").await;
    let customer = app.user(Role::Customer).email("carla@example.com").create().await;
    let (agent_browser, _) = app.user(Role::Agent).email("agent@example.com").signed_in().await;
    app.ticket_for(&customer).subject("Printer").create().await;
    let confirmation = smtp.wait_for(1).await[0].header("Message-ID").unwrap();

    let unproven = mail("carla@example.com", "Re: [TCK-1001] Printer", "<c-1@example.com>", None, "", "Still broken.");
    assert!(ingest(&app, "help@support.example", &[], &unproven).status.success());
    let proven =
        mail("carla@example.com", "Re: [TCK-1001] Printer", "<c-2@example.com>", Some(&confirmation), "", "Now it smokes.");
    assert!(ingest(&app, "help@support.example", &[], &proven).status.success());
    let marks: Vec<(String, helpdesk::db::Flag)> =
        sqlx::query_as("SELECT body, sender_verified FROM messages WHERE source = 'email' ORDER BY id")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        marks.iter().map(|(body, flag)| (body.as_str(), flag.0)).collect::<Vec<_>>(),
        [("Still broken.", false), ("Now it smokes.", true)]
    );
    let page = agent_browser.get("/desk/tickets/1001").await;
    let marks = page.texts(".badge-warning");
    assert_eq!(marks.len(), 1, "agents see which one is unproven: {marks:?}");
    assert!(marks[0].starts_with("Sender not verified"), "{marks:?}");

    let before = messages(&app).await;
    let strict = ["--mail-require-auth", "true"];
    let refused = mail("carla@example.com", "Re: [TCK-1001] Printer", "<c-3@example.com>", None, "", "Unproven again.");
    let output = ingest(&app, "help@support.example", &strict, &refused);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert!(said(&output).contains("could not be verified"));
    assert_eq!(messages(&app).await, before);
    let proven = mail("carla@example.com", "Re: [TCK-1001] Printer", "<c-4@example.com>", Some(&confirmation), "", "Proven.");
    assert!(ingest(&app, "help@support.example", &strict, &proven).status.success());
}

async fn people_at_our_own_domain_write_in_like_anyone(backend: Backend) {
    let smtp = SmtpServer::start().await;
    // An internal IT helpdesk: the same domain as its users.
    let app = app_at(backend, &smtp, "helpdesk@example.com").await;
    app.user(Role::Customer).email("bob@example.com").create().await;
    let from_colleague = mail("bob@example.com", "VPN is down", "<CAB123@mail.example.com>", None, "", "Since this morning.");
    let output = ingest(&app, "helpdesk@example.com", &[], &from_colleague);
    assert_eq!(said(&output).trim(), "Opened ticket 1001.", "{}", said(&output));
    let same_domain_id = mail("bob@example.com", "Printer too", "<CAB124@example.com>", None, "", "And the printer.");
    let output = ingest(&app, "helpdesk@example.com", &[], &same_domain_id);
    assert_eq!(said(&output).trim(), "Opened ticket 1002.", "a Message-ID at our domain is not ours unless we issued it");
    // One we did issue comes back as ours.
    let ours = smtp.wait_for(1).await[0].header("Message-ID").unwrap();
    let looped = mail("bob@example.com", "Re: VPN is down", &ours, None, "", "Looped.");
    let output = ingest(&app, "helpdesk@example.com", &[], &looped);
    assert_eq!(output.status.code(), Some(1));
    assert!(said(&output).contains("one of our own Message-IDs"));
}

async fn refusals_say_nothing_about_which_tickets_exist(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_at(backend, &smtp, "help@support.example").await;
    let carla = app.user(Role::Customer).email("carla@example.com").create().await;
    app.user(Role::Customer).email("otto@example.com").create().await;
    app.ticket_for(&carla).create().await;
    let existing = ingest(
        &app,
        "help@support.example",
        &[],
        &mail("otto@example.com", "Re: [TCK-1001] x", "<o-1@example.com>", None, "", "Hm."),
    );
    let missing = ingest(
        &app,
        "help@support.example",
        &[],
        &mail("otto@example.com", "Re: [TCK-4242] x", "<o-2@example.com>", None, "", "Hm."),
    );
    assert_eq!(existing.status.code(), Some(1));
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(said(&existing).replace("1001", "N"), said(&missing).replace("4242", "N"));
    assert!(!said(&existing).contains("1001"), "{}", said(&existing));
    // An empty ingest token is no token: the HTTP route stays closed.
    let response =
        reqwest::Client::new().post(format!("{}/mail/inbound", app.base_url)).bearer_auth("").body("x").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
