//! The desk from the keyboard alone: an agent triages the Unassigned queue without
//! touching the mouse, and the number of page loads it took is printed.

use fantoccini::key::Key;
use helpdesk::domain::accounts::role::Role;

use super::{Chromium, Scripts};
use crate::for_both_backends;
use crate::harness::{Backend, PASSWORD, TestApp};

for_both_backends!(an_agent_triages_unassigned_with_the_keyboard);

const TICKETS: usize = 5;

fn chord(keys: &[Key]) -> String {
    keys.iter().map(|key| char::from(*key)).collect()
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
    let mut kim = Chromium::open(&app.base_url, &journey, Scripts::On).await;
    kim.goto("/login").await;
    kim.fill("Email", &agent.email).await;
    kim.fill("Password", PASSWORD).await;
    kim.keys_to_leave(&chord(&[Key::Enter])).await;

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
    for _ in 0..TICKETS {
        kim.keys_to_leave("a").await;
        kim.keys("r").await;
        kim.keys("Thanks, Cleo: I am looking into it now.").await;
        kim.keys_to_leave(&chord(&[Key::Control, Key::Shift, Key::Enter])).await;
    }
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
