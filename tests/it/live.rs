//! Live updates over Server-Sent Events: an open desk page hears of another session's
//! change as it commits, and the viewers of one ticket see each other come and go, on
//! SQLite (in the process) and PostgreSQL (through LISTEN/NOTIFY).

use std::time::Duration;

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Changes};
use helpdesk::domain::tickets::TicketNumber;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Browser, TestApp};
use crate::on_both_databases;

on_both_databases!(
    another_sessions_reply_reaches_an_open_page,
    the_viewers_of_a_ticket_see_each_other,
    a_second_page_and_a_reply_in_progress_are_told,
    changes_inside_larger_ones_and_merges_are_told,
);

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

    /// Reads on until the server ends the stream; fails after ten seconds.
    async fn ended(mut self) {
        let reading = async { while self.response.chunk().await.is_ok_and(|chunk| chunk.is_some()) {} };
        tokio::time::timeout(Duration::from_secs(10), reading).await.expect("the stream ended within ten seconds");
    }

    /// The word of `number` reaching `version`, skipping any other. A word committed before
    /// the stream opened may still reach it on PostgreSQL (notifications arrive on their
    /// own connection); pages ignore versions they already show, and so does this.
    async fn ticket_at(&mut self, number: TicketNumber, version: i64) -> Value {
        self.tickets_at(&[(number, version)]).await.remove(0)
    }

    /// The words of each `(number, version)`, in any order of arrival, given back in the
    /// order asked. Earlier versions of those tickets and words of others are skipped (see
    /// [`Self::ticket_at`]); a later version than the one awaited fails at once.
    async fn tickets_at(&mut self, wanted: &[(TicketNumber, i64)]) -> Vec<Value> {
        let mut found: Vec<Option<Value>> = vec![None; wanted.len()];
        while found.iter().any(Option::is_none) {
            let told = self.next_of("ticket").await;
            let (number, version) = (told["number"].as_i64(), told["version"].as_i64().unwrap_or_default());
            let Some(index) = wanted.iter().position(|(wanted, _)| Some(wanted.get()) == number) else {
                continue;
            };
            let awaited = wanted[index].1;
            assert!(version <= awaited, "awaited version {awaited} of {number:?}, told {told}");
            if version == awaited {
                found[index] = Some(told);
            }
        }
        found.into_iter().flatten().collect()
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
    let told = stream.ticket_at(number, 2).await;
    assert_eq!(told["by"], q.id);
    assert_eq!(told["by_name"], "Quentin");
    assert_eq!(told["what"], serde_json::json!(["replied", "set Resolved"]));
    assert!(told.get("body").is_none() && !told.to_string().contains("Fixed"), "no text travels");

    // A new ticket is told too, at version 1.
    let other = app.ticket_for(&customer).subject("Another").create().await;
    let told = stream.ticket_at(other, 1).await;
    assert_eq!(told["what"], serde_json::json!(["opened it"]));

    // The sidebar's counts, read again by a queue page that heard of a change.
    let counts: Value = serde_json::from_str(&ann.get("/desk/counts").await.body).unwrap();
    assert_eq!((counts["unassigned"].as_str(), counts["resolved"].as_str()), (Some("1"), Some("1")));
    assert_eq!(counts["everything"], "2");
    assert_eq!(customer_browser.get("/desk/counts").await.status, StatusCode::NOT_FOUND);
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

/// The next viewer word in `stream` in `state`, skipping others.
async fn next_viewer_in(stream: &mut EventStream, state: &str) -> Value {
    loop {
        let word = stream.next_of("viewer").await;
        if word["state"] == state {
            return word;
        }
    }
}

async fn a_second_page_and_a_reply_in_progress_are_told(app: TestApp) {
    let (ann, a) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let (quentin, q) = app.user(Role::Agent).email("quentin@example.com").name("Quentin").signed_in().await;
    let (customer_browser, customer) = app.user(Role::Customer).email("cleo@example.com").signed_in().await;
    let number = app.ticket_for(&customer).subject("Shared").create().await;
    let watching = format!("/desk/live?ticket={number}");
    let mut anns = EventStream::open(&ann, &watching).await;
    // Quentin has the ticket open in two tabs and closes one: he is still there.
    let first_tab = EventStream::open(&quentin, &watching).await;
    let mut second_tab = EventStream::open(&quentin, &watching).await;
    next_viewer_in(&mut second_tab, "present").await;
    let first_page = next_viewer_in(&mut anns, "arrived").await["page"].clone();
    drop(first_tab);
    let left = next_viewer_in(&mut anns, "left").await;
    assert_eq!((left["user"].as_i64(), &left["page"]), (Some(q.id), &first_page));
    let still = next_viewer_in(&mut anns, "present").await;
    assert_eq!(still["user"].as_i64(), Some(q.id), "the other tab answers");
    assert_ne!(still["page"], first_page);

    // Quentin types in the reply box of his remaining tab: Ann is told he is replying.
    quentin.get(&format!("/desk/tickets/{number}")).await;
    let replying = [("ticket", &*number.to_string())];
    assert_eq!(quentin.post("/desk/live/replying", &replying).await.status, StatusCode::NO_CONTENT);
    let word = next_viewer_in(&mut anns, "replying").await;
    assert_eq!((word["user"].as_i64(), word["name"].as_str()), (Some(q.id), Some("Quentin")));
    assert_ne!(word["user"].as_i64(), Some(a.id));
    // It needs the session's token, a ticket that exists, and staff.
    let forged = [("csrf_token", "wrong"), ("ticket", &*number.to_string())];
    assert_eq!(quentin.post_raw("/desk/live/replying", &forged).await.status, StatusCode::FORBIDDEN);
    assert_eq!(quentin.post("/desk/live/replying", &[("ticket", "999999")]).await.status, StatusCode::NOT_FOUND);
    customer_browser.get(&format!("/tickets/{number}")).await;
    let customers = [("ticket", &*number.to_string())];
    assert_eq!(customer_browser.post("/desk/live/replying", &customers).await.status, StatusCode::NOT_FOUND);
}

async fn changes_inside_larger_ones_and_merges_are_told(app: TestApp) {
    let (ann, _) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").name("Ada").signed_in().await;
    let (quentin_browser, quentin) = app.user(Role::Agent).email("quentin@example.com").name("Quentin").signed_in().await;
    let quentins_stream = EventStream::open(&quentin_browser, "/desk/live").await;
    let customer = app.user(Role::Customer).email("cleo@example.com").create().await;
    let taken = app.ticket_for(&customer).subject("Taken").create().await;
    let changes = Changes { assignee: Some(Some(quentin.id)), ..Changes::default() };
    staff::update(&app.db, &app.ticket(taken).await, &quentin, &changes, None, app.now()).await.unwrap();
    let mut stream = EventStream::open(&ann, "/desk/live").await;

    // Quentin stops being staff: his ticket is unassigned inside that change, and told.
    let path = format!("/admin/users/{}", quentin.id);
    admin.get(&path).await;
    let demoted = [("name", "Quentin"), ("email", "quentin@example.com"), ("role", "customer"), ("password", "")];
    admin.post(&path, &demoted).await.assert_redirect(&path);
    let told = stream.ticket_at(taken, 3).await;
    assert_eq!(told["what"], serde_json::json!(["changed the assignee"]));
    // No longer staff, Quentin hears nothing more: his open stream ends.
    quentins_stream.ended().await;

    // A merge is told for the survivor too, whose timeline now holds the duplicate.
    let duplicate = app.ticket_for(&customer).subject("Again").create().await;
    stream.ticket_at(duplicate, 1).await;
    let duplicate_path = format!("/desk/tickets/{duplicate}");
    ann.get(&duplicate_path).await;
    ann.post(&format!("{duplicate_path}/merge"), &[("into", &taken.to_string())]).await;
    let told = stream.tickets_at(&[(taken, 4), (duplicate, 2)]).await;
    assert_eq!(told[0]["what"], serde_json::json!([format!("merged TCK-{duplicate} into it")]));
}
