//! The desk from the keyboard alone: an agent triages the Unassigned queue without
//! touching the mouse, and the number of page loads it took is printed.

use fantoccini::key::Key;
use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::tickets::Status;
use serde_json::json;

use super::{Chromium, Scripts};
use crate::for_both_backends;
use crate::harness::{Backend, PASSWORD, TestApp};

for_both_backends!(an_agent_triages_unassigned_with_the_keyboard, a_start_of_shift_without_the_mouse);

/// Ten tickets worked from the keyboard alone (the issue's "work ten tickets").
const TICKETS: usize = 10;
/// The start of shift triages five.
const SHIFT_TICKETS: usize = 5;

fn chord(keys: &[Key]) -> String {
    keys.iter().map(|key| char::from(*key)).collect()
}

/// A browser for `journey`, signed in as `email` from the keyboard.
async fn signed_in(app: &TestApp, journey: &str, email: &str) -> Chromium {
    let browser = Chromium::open(&app.base_url, journey, Scripts::On).await;
    browser.goto("/login").await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.keys_to_leave(&chord(&[Key::Enter])).await;
    browser
}

/// From the first of `count` tickets of a queue, for each: a assigns it to me, r starts a
/// public reply, Ctrl+Shift+Enter sends `answer` and opens the next ticket.
async fn triage(kim: &Chromium, count: usize, answer: &str) {
    for _ in 0..count {
        kim.keys_to_leave("a").await;
        kim.keys("r").await;
        kim.keys(answer).await;
        kim.keys_to_leave(&chord(&[Key::Control, Key::Shift, Key::Enter])).await;
    }
}

async fn an_agent_triages_unassigned_with_the_keyboard(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let agent = app.user(Role::Agent).email("kim@example.com").name("Kim Keys").create().await;
    let customer = app.user(Role::Customer).email("cleo@example.com").name("Cleo").create().await;
    let mut numbers = Vec::new();
    for index in 1..=TICKETS {
        numbers.push(app.ticket_for(&customer).subject(format!("Question {index}")).create().await);
    }
    let journey = format!("keyboard-triage-{backend:?}").to_lowercase();
    let mut kim = signed_in(&app, &journey, &agent.email).await;

    // g u: the Unassigned queue. ? lists the shortcuts; Escape closes the list.
    kim.keys_to_leave("gu").await;
    assert_eq!(kim.path().await, "/desk?view=unassigned");
    kim.keys("?").await;
    assert_eq!(kim.count("dialog.shortcuts[open]").await, 1, "? shows the shortcuts");
    kim.look("shortcuts").await;
    kim.keys(&chord(&[Key::Escape])).await;
    assert_eq!(kim.count("dialog.shortcuts[open]").await, 0);
    kim.look("unassigned").await;

    // j chooses the first ticket, Enter opens it. Then, for each: a assigns it, r starts
    // a reply, Ctrl+Shift+Enter sends it and opens the next ticket of the queue.
    kim.keys("j").await;
    kim.keys_to_leave(&chord(&[Key::Enter])).await;
    assert!(kim.path().await.starts_with("/desk/tickets/"), "Enter opened the ticket");
    kim.look("ticket").await;
    triage(&kim, TICKETS, "Thanks, Cleo: I am looking into it now.").await;
    // The queue is empty: the last "Send & next" came back to it.
    assert_eq!(kim.path().await, "/desk?view=unassigned");
    assert!(kim.text_of(".flashes").await.contains("That was the last ticket in Unassigned."));
    kim.look("queue-done").await;

    for number in numbers {
        let ticket = app.ticket(number).await;
        assert_eq!(ticket.assignee_id, Some(agent.id), "{number} assigned");
        let answered = format!(
            "SELECT COUNT(*) FROM messages WHERE ticket_id = {} AND kind = 'message' AND public = TRUE AND author_id = {}",
            ticket.id, agent.id
        );
        assert_eq!(app.count(&answered).await, 1, "{number} answered once");
    }
    let loads = kim.page_loads();
    println!("Keyboard triage of {TICKETS} unassigned tickets, from signing in: {loads} page loads, no mouse.");
    assert!(loads <= 4 + 2 * TICKETS, "{loads} page loads");
}

impl Chromium {
    /// Moves the keyboard focus to `css`, as Tab would after enough presses.
    async fn tab_to(&self, css: &str) {
        let found = self
            .client
            .execute("const e = document.querySelector(arguments[0]); if (e) e.focus(); return !!e;", vec![json!(css)]);
        assert_eq!(found.await.expect("a script runs"), json!(true), "nothing to focus at {css} on {}", self.path().await);
    }

    /// Types `keys` that ask for confirmation, says yes, and waits for the next page.
    async fn keys_confirming(&self, keys: &str) {
        let leaving = self.document().await;
        self.keys(keys).await;
        self.client.accept_alert().await.expect("a question, answered yes");
        self.arrive(leaving).await;
    }
}

/// The morning of issue 13: five unassigned tickets triaged, a customer's tickets found,
/// two of them merged, three tickets closed in bulk — by keyboard, in at most 20 pages.
async fn a_start_of_shift_without_the_mouse(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let agent = app.user(Role::Agent).email("kim@example.com").name("Kim Keys").create().await;
    let cleo = app.user(Role::Customer).email("cleo@example.com").name("Cleo Vance").create().await;
    let dan = app.user(Role::Customer).email("dan@example.com").name("Dan Roe").create().await;
    let first_report = app.ticket_for(&cleo).subject("Printer jams").create().await;
    app.ticket_for(&dan).subject("VPN drops").create().await;
    let duplicate = app.ticket_for(&cleo).subject("Printer still jams").create().await;
    app.ticket_for(&dan).subject("Invoice copy").create().await;
    app.ticket_for(&dan).subject("New laptop").create().await;
    let journey = format!("start-of-shift-{backend:?}").to_lowercase();
    let mut kim = signed_in(&app, &journey, &agent.email).await;

    // Triage: each unassigned ticket assigned and answered, on to the next.
    kim.keys_to_leave("gu").await;
    kim.keys("j").await;
    kim.keys_to_leave(&chord(&[Key::Enter])).await;
    triage(&kim, SHIFT_TICKETS, "Thanks: I am on it.").await;
    assert_eq!(kim.path().await, "/desk?view=unassigned");

    // Cleo's tickets: all open ones, searched by her name.
    kim.keys_to_leave("go").await;
    kim.keys("/").await;
    kim.keys("cleo").await;
    kim.keys_to_leave(&chord(&[Key::Enter])).await;
    assert_eq!(kim.count(".desk-list tbody tr").await, 2, "both of Cleo's tickets");
    kim.look("cleos-tickets").await;

    // One is a duplicate of the other: merged from the list beside it, after a question.
    kim.keys("j").await;
    kim.keys_to_leave(&chord(&[Key::Enter])).await;
    kim.tab_to(".other-tickets form.merge-here button").await;
    kim.keys_confirming(&chord(&[Key::Enter])).await;
    kim.look("merged").await;
    let (survivor, merged) = {
        let (one, other) = (app.ticket(first_report).await, app.ticket(duplicate).await);
        if one.status == Status::Closed { (other, one) } else { (one, other) }
    };
    assert_eq!((merged.status, merged.merged_into), (Status::Closed, Some(survivor.number)));
    assert!(kim.path().await.starts_with(&format!("/desk/tickets/{}", survivor.number)), "on the survivor");

    // Three of Kim's tickets closed at once, after a question.
    kim.keys_to_leave("gm").await;
    kim.keys("jxjxjx").await;
    kim.tab_to("#b-status").await;
    kim.keys("Cl").await;
    kim.tab_to(".bulk-bar button[type=submit]").await;
    kim.keys_confirming(&chord(&[Key::Enter])).await;
    assert!(kim.text_of(".flashes").await.contains("Updated 3 of 3 selected tickets."), "{}", kim.text_of(".flashes").await);
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'closed'").await, 4, "three closed, one merged");

    let loads = kim.page_loads();
    println!("Start of shift (5 triaged, a customer's tickets found, a merge, a bulk close), no mouse: {loads} page loads.");
    assert!(loads <= 20, "{loads} page loads");
}
