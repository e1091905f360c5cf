//! The running server's life: background work that comes round again, not only at start,
//! and a stop that lets a request already in flight finish.

use std::time::Duration;

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::admin::settings::Settings;
use helpdesk::domain::conversation::staff;
use helpdesk::domain::tickets::Status;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::for_both_backends;
use crate::harness::{Backend, TestApp};

for_both_backends!(background_work_comes_round_again_not_only_at_start, a_request_in_flight_finishes_when_the_server_stops);

/// Waits (a second at a time, up to half a minute) until `sql` counts `expected`.
async fn until_count(app: &TestApp, sql: &str, expected: i64) {
    for _ in 0..30 {
        if app.count(sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{sql} never reached {expected}");
}

async fn background_work_comes_round_again_not_only_at_start(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.maintenance_interval = 1).await;
    let customer = app.user(Role::Customer).email("zoe@example.com").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").create().await;
    let hours = Settings::load(&app.db).await.unwrap().auto_close_hours;
    let closed = "SELECT COUNT(*) FROM tickets WHERE status = 'closed'";
    for round in 1..=2 {
        let number = app.ticket_for(&customer).subject(format!("Done {round}")).create().await;
        staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
        app.clock.advance(hours * 3600 + 1);
        // The round that closes the first ticket read the clock after this advance, so it
        // cannot close the second one, resolved later: that takes another round.
        until_count(&app, closed, round).await;
    }
}

async fn a_request_in_flight_finishes_when_the_server_stops(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    // A sign-in whose body is still on its way when the stop comes. The server asks for the
    // body ("100 Continue") only once the request has reached its handler.
    let body = "email=nobody%40example.com&password=wrong";
    let mut connection = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    connection.write_all(head.as_bytes()).await.unwrap();
    let continue_line = b"HTTP/1.1 100 Continue\r\n\r\n";
    let mut asked = vec![0; continue_line.len()];
    connection.read_exact(&mut asked).await.unwrap();
    assert_eq!(asked, continue_line);
    connection.write_all(&body.as_bytes()[..10]).await.unwrap();

    let stopping = tokio::spawn(async move {
        app.stop().await;
    });
    // The server has stopped taking connections once a new one is refused.
    for attempt in 0.. {
        assert!(attempt < 100, "the server kept taking connections");
        if TcpStream::connect(&address).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!stopping.is_finished(), "the stop waits for the request in flight");

    connection.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    connection.read_to_string(&mut answer).await.unwrap();
    let status_line = answer.lines().next().unwrap_or_default();
    // No form cookie was sent, so the sign-in is refused as a forged form: an answer all the same.
    assert_eq!(status_line, "HTTP/1.1 403 Forbidden", "{answer}");
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("the server stops once it has answered").unwrap();
}
