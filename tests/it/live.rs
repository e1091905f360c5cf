//! Live updates over Server-Sent Events: an open desk page hears of another session's
//! change as it commits, and the viewers of one ticket see each other come and go, on
//! SQLite (in the process) and PostgreSQL (through LISTEN/NOTIFY).

use std::time::Duration;

use helpdesk::domain::accounts::role::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Browser, TestApp};
use crate::on_both_databases;

on_both_databases!(another_sessions_reply_reaches_an_open_page, the_viewers_of_a_ticket_see_each_other);

/// The events of one `text/event-stream` answer, read as they come.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(browser: &Browser, path: &str) -> Self {
        let response = browser.open(path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    /// The next event (`event:` name and `data:` as JSON), skipping keep-alive comments;
    /// fails after ten seconds without one.
    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block.lines().find_map(|line| line.strip_prefix(&format!("{name}:")).map(|value| value.trim().to_owned()))
                    };
                    if let (Some(kind), Some(data)) = (field("event"), field("data")) {
                        return (kind, serde_json::from_str(&data).expect("JSON data"));
                    }
                    continue;
                }
                let chunk = self.response.chunk().await.expect("the stream goes on").expect("the stream is not over");
                self.buffer.push_str(std::str::from_utf8(&chunk).expect("text"));
            }
        })
        .await
        .expect("an event within ten seconds")
    }

    /// The next event of this kind, skipping others.
    async fn next_of(&mut self, wanted: &str) -> Value {
        loop {
            let (kind, data) = self.next().await;
            if kind == wanted {
                return data;
            }
        }
    }
}

async fn another_sessions_reply_reaches_an_open_page(app: TestApp) {
    let (ann, _) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let (quentin, q) = app.user(Role::Agent).email("quentin@example.com").name("Quentin").signed_in().await;
    let (customer_browser, customer) = app.user(Role::Customer).email("cleo@example.com").name("Cleo").signed_in().await;
    let number = app.ticket_for(&customer).subject("Broken login").create().await;
    assert_eq!(customer_browser.open("/desk/live").await.status(), StatusCode::NOT_FOUND, "staff only");
    assert_eq!(ann.open("/desk/live?ticket=999999").await.status(), StatusCode::NOT_FOUND);

    let mut stream = EventStream::open(&ann, &format!("/desk/live?ticket={number}")).await;
    // Quentin answers and resolves in another session.
    let path = format!("/desk/tickets/{number}");
    quentin.get(&path).await;
    let reply = [("body", "Fixed: try again."), ("visibility", "public"), ("status", "resolved")];
    quentin.post(&format!("{path}/replies"), &reply).await.assert_redirect(&path);
    let told = stream.next_of("ticket").await;
    assert_eq!(told["number"], number.get());
    assert_eq!(told["version"], 2);
    assert_eq!(told["by"], q.id);
    assert_eq!(told["by_name"], "Quentin");
    assert_eq!(told["what"], serde_json::json!(["replied", "set Resolved"]));
    assert!(told.get("body").is_none() && !told.to_string().contains("Fixed"), "no text travels");

    // A new ticket is told too, at version 1.
    let other = app.ticket_for(&customer).subject("Another").create().await;
    let told = stream.next_of("ticket").await;
    assert_eq!((told["number"].as_i64(), told["version"].as_i64()), (Some(other.get()), Some(1)));
    assert_eq!(told["what"], serde_json::json!(["opened it"]));
}

async fn the_viewers_of_a_ticket_see_each_other(app: TestApp) {
    let (ann, a) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let (quentin, q) = app.user(Role::Agent).email("quentin@example.com").name("Quentin").signed_in().await;
    let customer = app.user(Role::Customer).email("cleo@example.com").create().await;
    let number = app.ticket_for(&customer).subject("Shared").create().await;
    let elsewhere = app.ticket_for(&customer).subject("Elsewhere").create().await;
    let watching = format!("/desk/live?ticket={number}");

    let mut anns = EventStream::open(&ann, &watching).await;
    // Someone on another ticket is nobody Ann is told of.
    let _ = EventStream::open(&quentin, &format!("/desk/live?ticket={elsewhere}")).await;
    let mut quentins = EventStream::open(&quentin, &watching).await;
    let arrived = anns.next_of("viewer").await;
    assert_eq!((arrived["user"].as_i64(), arrived["state"].as_str()), (Some(q.id), Some("arrived")));
    assert_eq!(arrived["number"].as_i64(), Some(number.get()), "only viewers of her ticket");
    assert_eq!(arrived["name"], "Quentin");
    // Ann's page answers the arrival: Quentin learns she is there.
    let present = quentins.next_of("viewer").await;
    assert_eq!((present["user"].as_i64(), present["state"].as_str()), (Some(a.id), Some("present")));

    // Quentin closes the page: Ann is told he left.
    drop(quentins);
    let mut left = anns.next_of("viewer").await;
    while left["state"] != "left" {
        left = anns.next_of("viewer").await;
    }
    assert_eq!((left["user"].as_i64(), left["number"].as_i64()), (Some(q.id), Some(number.get())));
}
