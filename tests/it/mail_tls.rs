//! Outgoing mail through a mail server that encrypts and asks for a password: the
//! connection is encrypted before the password or any mail is sent, a server that cannot
//! prove who it is gets nothing, and a wrong password keeps the mail for a fixed setting.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::mail::outbox;

use crate::for_both_backends;
use crate::harness::{Backend, TestApp};
use crate::smtp::{ReservedPort, Security, SmtpServer, TestAuthority, TlsMode};

for_both_backends!(
    starttls_encrypts_before_the_password_and_the_mail,
    smtps_encrypts_from_the_first_byte,
    a_server_that_cannot_prove_who_it_is_gets_nothing,
    a_wrong_password_keeps_the_mail_until_the_setting_is_fixed,
);

const PENDING_WITH_ERROR: &str =
    "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND attempts = 1 AND last_error IS NOT NULL";

/// The application, sending to `smtp_url`, trusting the test authority when one is given.
async fn app_sending_to(backend: Backend, smtp_url: String, authority: Option<&TestAuthority>) -> TestApp {
    let ca_file = authority.map(TestAuthority::pem_file);
    TestApp::spawn_with(backend, move |config| {
        config.smtp_url = Some(smtp_url);
        config.smtp_ca_file = ca_file;
        config.mail_from = Some("help@support.example".into());
    })
    .await
}

/// A customer opens a ticket: one confirmation mail is queued for them.
async fn one_mail_queued(app: &TestApp) {
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    app.ticket_for(&customer).subject("Over a safe line").message("Hello").create().await;
}

async fn starttls_encrypts_before_the_password_and_the_mail(backend: Backend) {
    let authority = TestAuthority::new();
    let port = ReservedPort::new();
    let smtp_port = port.address().port();
    let smtp = SmtpServer::start_with(port, Security::tls(TlsMode::StartTls, &authority).login("helpdesk", "s3cret pass")).await;
    let url = format!("smtp://helpdesk:s3cret%20pass@localhost:{smtp_port}?tls=required");
    let app = app_sending_to(backend, url, Some(&authority)).await;
    one_mail_queued(&app).await;
    let received = smtp.wait_for(1).await;
    assert_eq!(received[0].recipients, ["carla@example.com"]);
    assert!(received[0].over_tls, "the mail travelled encrypted");
    assert_eq!(received[0].sender_login.as_deref(), Some("helpdesk"), "signed in with the decoded password");
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 1", 1).await;
}

async fn smtps_encrypts_from_the_first_byte(backend: Backend) {
    let authority = TestAuthority::new();
    let port = ReservedPort::new();
    let smtp_port = port.address().port();
    let smtp = SmtpServer::start_with(port, Security::tls(TlsMode::Wrapped, &authority).login("helpdesk", "s3cret")).await;
    let app = app_sending_to(backend, format!("smtps://helpdesk:s3cret@localhost:{smtp_port}"), Some(&authority)).await;
    one_mail_queued(&app).await;
    let received = smtp.wait_for(1).await;
    assert!(received[0].over_tls);
    assert_eq!(received[0].sender_login.as_deref(), Some("helpdesk"));
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await;
}

async fn a_server_that_cannot_prove_who_it_is_gets_nothing(backend: Backend) {
    // Its certificate is from an authority the application was not told to trust.
    let unknown_authority = TestAuthority::new();
    let port = ReservedPort::new();
    let smtp_port = port.address().port();
    let smtp =
        SmtpServer::start_with(port, Security::tls(TlsMode::StartTls, &unknown_authority).login("helpdesk", "s3cret")).await;
    let app = app_sending_to(backend, format!("smtp://helpdesk:s3cret@localhost:{smtp_port}?tls=required"), None).await;
    one_mail_queued(&app).await;
    app.wait_for_count(PENDING_WITH_ERROR, 1).await;
    assert!(smtp.received().is_empty());

    // A server that offers no encryption at all is not sent to in the clear either.
    let plain = SmtpServer::start().await;
    let url = format!("smtp://helpdesk:s3cret@localhost:{}?tls=required", plain.address.port());
    let app = app_sending_to(backend, url, None).await;
    one_mail_queued(&app).await;
    app.wait_for_count(PENDING_WITH_ERROR, 1).await;
    assert!(plain.received().is_empty());
}

async fn a_wrong_password_keeps_the_mail_until_the_setting_is_fixed(backend: Backend) {
    let authority = TestAuthority::new();
    let port = ReservedPort::new();
    let smtp_port = port.address().port();
    let smtp = SmtpServer::start_with(port, Security::tls(TlsMode::StartTls, &authority).login("helpdesk", "right")).await;
    let url = |password: &str| format!("smtp://helpdesk:{password}@localhost:{smtp_port}?tls=required");
    let app = app_sending_to(backend, url("wrong"), Some(&authority)).await;
    one_mail_queued(&app).await;
    // A 535 is about our setting, not the mail: the mail waits instead of failing for good.
    app.wait_for_count(PENDING_WITH_ERROR, 1).await;
    let error: String = sqlx::query_scalar("SELECT last_error FROM outbox").fetch_one(app.db.pool()).await.unwrap();
    assert!(error.contains("535"), "{error}");
    assert!(smtp.received().is_empty());

    // The admin fixes the password and restarts: the mail goes, on its second try.
    let mut app = app;
    app.config.smtp_url = Some(url("right"));
    let app = app.restart().await;
    app.clock.advance(outbox::backoff_seconds(1));
    let received = smtp.wait_for(1).await;
    assert_eq!(received[0].sender_login.as_deref(), Some("helpdesk"));
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 2", 1).await;
}
