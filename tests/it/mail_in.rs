//! Incoming mail from the `.eml` fixtures in `tests/fixtures/mail`, through
//! `helpdesk mail ingest` and `POST /mail/inbound`.

use std::process::Output;

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff;
use helpdesk::domain::tickets::{Status, TicketNumber};
use reqwest::StatusCode;

use crate::binary::said;
use crate::for_both_backends;
use crate::harness::{Backend, TestApp};
use crate::smtp::SmtpServer;

for_both_backends!(
    replies_by_mail_join_their_ticket_and_notify_the_assignee,
    a_known_customer_opens_a_ticket_by_mail,
    mail_that_is_not_ours_to_take_is_refused_and_changes_nothing,
    the_http_ingest_needs_its_token,
);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture exists")
}

/// The app with mail out to `smtp` and mail in through `POST /mail/inbound`.
pub(crate) async fn app_with_mail(backend: Backend, smtp: &SmtpServer) -> TestApp {
    let smtp_url = smtp.url();
    TestApp::spawn_with(backend, move |config| {
        config.smtp_url = Some(smtp_url);
        config.mail_from = Some("help@support.example".into());
        config.base_url = Some("https://help.support.example".into());
        config.mail_ingest_token = Some("inbound-secret".into());
    })
    .await
}

/// `helpdesk mail ingest`, as the MTA runs it.
fn ingest(app: &TestApp, mail: &[u8]) -> Output {
    app.ingest_mail("help@support.example", &[], mail)
}

async fn bodies(app: &TestApp, number: i64) -> Vec<(String, String)> {
    sqlx::query_as("SELECT m.body, m.source FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = $1 AND m.kind = 'message' ORDER BY m.id")
        .bind(number)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

async fn replies_by_mail_join_their_ticket_and_notify_the_assignee(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(backend, &smtp).await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Andy Agent").create().await;
    let number = app.ticket_for(&customer).subject("Printer on fire").message("It smokes.").create().await;
    let assign = staff::Changes { assignee: Some(Some(agent.id)), status: Some(Status::Pending), ..Default::default() };
    staff::update(&app.db, &app.ticket(number).await, &agent, &assign, None, app.now()).await.unwrap();
    smtp.wait_for(1).await;

    let output = ingest(&app, &fixture("reply_with_quote.eml"));
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(said(&output).trim(), "Added to ticket 1001.");
    let ticket = app.ticket(number).await;
    assert_eq!(ticket.status, Status::Open, "a customer's reply ends waiting on them, as on the portal");
    assert_eq!(
        bodies(&app, 1001).await.last().unwrap(),
        &("I unplugged it and the smoke stopped. Thank you!\n\nCarla".to_owned(), "email".to_owned()),
        "quoted history and the signature are cut"
    );
    let notified = smtp.wait_for(2).await;
    assert_eq!(notified[1].recipients, ["agent@example.com"], "the assignee hears of it");
    assert!(notified[1].text().contains("I unplugged it"), "{}", notified[1].text());

    // The same mail delivered twice adds nothing.
    let again = ingest(&app, &fixture("reply_with_quote.eml"));
    assert!(again.status.success());
    assert_eq!(said(&again).trim(), "Received before; nothing to add.");
    assert_eq!(bodies(&app, 1001).await.len(), 2);

    // No tag in the subject: threaded by its References; multipart with a base64 text part.
    let output = ingest(&app, &fixture("reply_by_references.eml"));
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(bodies(&app, 1001).await.last().unwrap().0, "It is smoking again. Please send someone.");

    // An agent answers by mail, replying to the notification they received: a public
    // reply, mailed to the customer. (Staff mail that proves nothing is refused: `mail_trust`.)
    let to_agent =
        smtp.received().iter().find(|mail| mail.recipients == ["agent@example.com"]).unwrap().header("Message-ID").unwrap();
    let agent_reply = String::from_utf8(fixture("agent_reply.eml"))
        .unwrap()
        .replace("MIME-Version: 1.0", &format!("In-Reply-To: {to_agent}\nMIME-Version: 1.0"));
    let output = ingest(&app, agent_reply.as_bytes());
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(bodies(&app, 1001).await.last().unwrap().0, "A technician is on the way.");
    let mails = smtp.wait_for(4).await;
    assert_eq!(mails[3].recipients, ["carla@example.com"]);
    assert!(mails[3].text().contains("A technician is on the way."));

    // A reply to a closed ticket opens a follow-up.
    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Closed, app.now()).await.unwrap();
    let late = String::from_utf8(fixture("reply_with_quote.eml")).unwrap().replace("CAF-reply-1", "CAF-reply-late");
    let output = ingest(&app, late.as_bytes());
    assert_eq!(said(&output).trim(), "Opened ticket 1002.", "{}", said(&output));
    let follow_up = app.ticket(TicketNumber::parse("1002").unwrap()).await;
    assert_eq!(follow_up.follow_up_of.map(TicketNumber::get), Some(1001));
    assert_eq!(follow_up.subject, "Follow-up: Printer on fire");
}

async fn a_known_customer_opens_a_ticket_by_mail(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(backend, &smtp).await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let output = ingest(&app, &fixture("new_request_html_only.eml"));
    assert_eq!(said(&output).trim(), "Opened ticket 1001.", "{}", said(&output));
    let ticket = app.ticket(TicketNumber::parse("1001").unwrap()).await;
    assert_eq!(ticket.subject, "Kann nicht drucken – bitte helfen", "the encoded-word subject is decoded");
    assert_eq!((ticket.requester_id, ticket.group_name.as_str()), (customer.id, "General"));
    let body = &bodies(&app, 1001).await[0].0;
    assert!(body.contains("Der Drucker im 2. Stock druckt nicht mehr."), "{body}");
    assert!(body.contains("Grüße") && !body.contains('<'), "HTML became text: {body}");
    let confirmation = smtp.wait_for(1).await;
    assert_eq!(confirmation[0].recipients, ["carla@example.com"]);
    assert_eq!(confirmation[0].subject(), "[TCK-1001] Kann nicht drucken – bitte helfen");
}

async fn mail_that_is_not_ours_to_take_is_refused_and_changes_nothing(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(backend, &smtp).await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    app.user(Role::Customer).email("otto@example.com").name("Otto").create().await;
    app.ticket_for(&customer).subject("Printer on fire").message("It smokes.").create().await;
    let state = "SELECT (SELECT COUNT(*) FROM messages) * 1000 + (SELECT COUNT(*) FROM tickets)";
    let before = app.count(state).await;
    for (fixture_name, reason) in [
        ("unknown_sender.eml", "is not a known user"),
        ("other_customer.eml", "answers no request its sender may write on"),
        ("auto_reply.eml", "automatic (Auto-Submitted: auto-replied)"),
        ("bulk.eml", "Precedence: bulk"),
        ("bounce.eml", "delivery report"),
        ("own_notification.eml", "our own address"),
        ("not_a_mail.eml", "not an RFC 5322 mail"),
    ] {
        let output = ingest(&app, &fixture(fixture_name));
        assert_eq!(output.status.code(), Some(1), "{fixture_name}: {}", said(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains(reason), "{fixture_name}: {}", said(&output));
    }
    let staff_opens = String::from_utf8(fixture("agent_reply.eml")).unwrap().replace("[TCK-1001] ", "");
    app.user(Role::Agent).email("agent@example.com").name("Andy").create().await;
    let output = ingest(&app, staff_opens.as_bytes());
    assert_eq!(output.status.code(), Some(1));
    assert!(said(&output).contains("Staff cannot open tickets by mail"));
    assert_eq!(app.count(state).await, before, "nothing was written");
}

async fn the_http_ingest_needs_its_token(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(backend, &smtp).await;
    app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let http = reqwest::Client::new();
    let post = |token: Option<&str>, mail: Vec<u8>| {
        let mut request = http.post(format!("{}/mail/inbound", app.base_url)).header("content-type", "message/rfc822").body(mail);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(post(None, fixture("new_request_html_only.eml")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post(Some("guess"), fixture("new_request_html_only.eml")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0);

    let opened = post(Some("inbound-secret"), fixture("new_request_html_only.eml")).await.unwrap();
    assert_eq!(opened.status(), StatusCode::CREATED);
    assert_eq!(opened.text().await.unwrap(), r#"{"data":{"outcome":"opened","ticket":1001}}"#);
    let refused = post(Some("inbound-secret"), fixture("bounce.eml")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(r#""code":"refused""#));

    // Without a configured token the route does not exist.
    let closed = TestApp::spawn(backend).await;
    let response = http
        .post(format!("{}/mail/inbound", closed.base_url))
        .bearer_auth("inbound-secret")
        .body(fixture("bulk.eml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
