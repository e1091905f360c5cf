//! Files by mail: a mail's attachments and inline images kept on the message it becomes,
//! within the limits (those over them named in the message), and a public message's files
//! sent along with its notification, or linked when they are too many megabytes.

use helpdesk::domain::accounts::role::Role;
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::StatusCode;

use crate::attachments::Store;
use crate::binary::said;
use crate::harness::{Backend, Page, TestApp};
use crate::on_both_stores;
use crate::smtp::SmtpServer;

on_both_stores!(a_mails_files_are_kept_and_those_over_the_limits_named, a_public_messages_files_go_out_with_its_notification,);

async fn app_with_mail(backend: Backend, store: Store, smtp: &SmtpServer, max_attachment_mb: u64) -> TestApp {
    let smtp_url = smtp.url();
    let keep_files_in = store.configure().await;
    TestApp::spawn_with(backend, move |config| {
        keep_files_in(config);
        config.smtp_url = Some(smtp_url);
        config.mail_from = Some("help@support.example".into());
        config.base_url = Some("https://help.support.example".into());
        config.mail_ingest_token = Some("inbound-secret".into());
        config.max_attachment_mb = max_attachment_mb;
    })
    .await
}

/// The files a message has, by name, in the order they came.
async fn files_of_message(app: &TestApp, message_id: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT filename FROM attachments WHERE message_id = $1 ORDER BY id")
        .bind(message_id)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

async fn last_message(app: &TestApp) -> (i64, String) {
    sqlx::query_as("SELECT id, body FROM messages WHERE kind = 'message' ORDER BY id DESC LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

fn file_links(page: &Page) -> Vec<String> {
    let selector = scraper::Selector::parse(".files a.file-link").unwrap();
    page.html().select(&selector).map(|link| link.value().attr("href").unwrap().to_owned()).collect()
}

/// A mail from Carla on ticket 1001 with these files, as a mail program writes it.
fn mail_with_files(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use base64::Engine;
    let boundary = "b-files-7d1c";
    let mut mail = format!(
        "From: Carla <carla@example.com>\r\nTo: help@support.example\r\nSubject: Re: [TCK-1001] Screen flickers\r\n\
         Message-ID: <many-files@mail.example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere are the logs.\r\n"
    );
    for (name, bytes) in files {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|line| std::str::from_utf8(line).unwrap()).collect();
        mail.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n",
            lines.join("\r\n")
        ));
    }
    mail.push_str(&format!("--{boundary}--\r\n"));
    mail.into_bytes()
}

async fn a_mails_files_are_kept_and_those_over_the_limits_named(backend: Backend, store: Store) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(backend, store, &smtp, 1).await;
    let (carla, _) = app.user(Role::Customer).email("carla@example.com").name("Carla").signed_in().await;

    // A new request by mail with a screenshot, notes and an inline picture in its HTML.
    let fixture =
        std::fs::read(format!("{}/tests/fixtures/mail/new_request_with_files.eml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let opened = reqwest::Client::new()
        .post(format!("{}/mail/inbound", app.base_url))
        .bearer_auth("inbound-secret")
        .body(fixture.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::CREATED, "{}", opened.text().await.unwrap());
    let (message_id, body) = last_message(&app).await;
    assert!(body.starts_with("The screen flickers since this morning."), "{body}");
    assert_eq!(files_of_message(&app, message_id).await, ["attachment-1.png", "screenshot.png", "notes.txt"]);
    let confirmation = smtp.wait_for(1).await.pop().unwrap();
    assert_eq!(confirmation.recipients, ["carla@example.com"]);
    assert!(confirmation.attachments().is_empty(), "nobody gets their own files back");
    assert!(confirmation.text().contains("- screenshot.png ("), "{}", confirmation.text());

    let parsed = MessageParser::default().parse(&fixture).unwrap();
    let screenshot = parsed.attachments().find(|part| part.attachment_name() == Some("screenshot.png")).unwrap().contents();
    let page = carla.get("/tickets/1001").await;
    let links = file_links(&page);
    assert_eq!(links.len(), 3, "{}", page.text_of("main"));
    let downloaded = carla.download(&links[1], &[]).await;
    assert_eq!((downloaded.status, downloaded.bytes.as_slice()), (StatusCode::OK, screenshot), "byte for byte");
    assert_eq!(downloaded.header("content-type"), "image/png", "told by its bytes");

    // A reply with one file over the 1 MiB limit and eleven small ones: ten are kept, the
    // rest named in the message. Through the command an MTA runs.
    let mut files = vec![("big.bin".to_owned(), vec![7u8; 1536 * 1024])];
    files.extend((1..=11).map(|n| (format!("log-{n}.txt"), format!("log line {n}\n").into_bytes())));
    let output = app.ingest_mail("help@support.example", &[], &mail_with_files(&files));
    assert_eq!(said(&output).trim(), "Added to ticket 1001.", "{}", said(&output));
    let (message_id, body) = last_message(&app).await;
    let kept: Vec<String> = (1..=10).map(|n| format!("log-{n}.txt")).collect();
    assert_eq!(files_of_message(&app, message_id).await, kept);
    assert_eq!(
        body,
        "Here are the logs.\n\n[Left out of this mail: big.bin (1.5 MB; files up to 1.0 MB are kept); \
         log-11.txt (only 10 files are kept from one mail).]"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM blobs WHERE size > 1048576").await, 0, "nothing of the big file is kept");
    // What the command kept, the server serves (the same store, file system or bucket).
    let links = file_links(&carla.get("/tickets/1001").await);
    let last = carla.download(links.last().unwrap(), &[]).await;
    assert_eq!((last.status, last.bytes.as_slice()), (StatusCode::OK, b"log line 10\n".as_slice()));
}

async fn a_public_messages_files_go_out_with_its_notification(backend: Backend, store: Store) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(backend, store, &smtp, 25).await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let (agent, _) = app.user(Role::Agent).email("agent@example.com").name("Andy").signed_in().await;
    app.ticket_for(&customer).subject("Screen flickers").message("Since this morning.").create().await;
    smtp.wait_for(1).await;

    // The agent answers with a guide: it goes along with the mail.
    let guide = b"%PDF-1.4\n% a guide to the display settings\n".repeat(100);
    agent.get("/desk/tickets/1001").await;
    let fields = [("body", "Here is the guide."), ("visibility", "public"), ("status", "pending")];
    agent
        .post_with_files("/desk/tickets/1001/replies", &fields, &[("guide.pdf", &guide)])
        .await
        .assert_redirect("/desk/tickets/1001");
    let mail = smtp.wait_for(2).await.pop().unwrap();
    assert_eq!(mail.recipients, ["carla@example.com"]);
    assert_eq!(mail.attachments(), [("guide.pdf".to_owned(), guide.clone())]);
    assert!(mail.text().contains("- guide.pdf (4 KB), attached"), "{}", mail.text());

    // Files over 10 MiB in all are linked instead.
    let big: Vec<u8> = (0..11 * 1024 * 1024 / 4).flat_map(|n: u32| n.to_le_bytes()).collect();
    agent.get("/desk/tickets/1001").await;
    let fields = [("body", "The full recording."), ("visibility", "public"), ("status", "pending")];
    agent
        .post_with_files("/desk/tickets/1001/replies", &fields, &[("recording.bin", &big)])
        .await
        .assert_redirect("/desk/tickets/1001");
    let mail = smtp.wait_for(3).await.pop().unwrap();
    assert!(mail.attachments().is_empty(), "too large to attach");
    let text = mail.text();
    let link = text.lines().find_map(|line| line.strip_prefix("- recording.bin (11.0 MB): ")).unwrap_or_else(|| panic!("{text}"));
    assert!(link.starts_with("https://help.support.example/attachments/") && link.ends_with("/recording%2Ebin"), "{link}");
    assert!(mail.html().contains("recording.bin</a> (11.0 MB)"), "{}", mail.html());
}
