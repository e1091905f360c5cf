//! Two agents on one ticket in two browsers: each sees the other is there and is writing,
//! and the one who did not answer is told of the answer, and asked before sending on top
//! of it. A queue kept open counts the new ticket in its sidebar.

use std::time::Duration;

use fantoccini::Locator;
use helpdesk::domain::accounts::role::Role;

use super::{Chromium, Scripts};
use crate::for_both_backends;
use crate::harness::{Backend, PASSWORD, TestApp};

for_both_backends!(two_agents_on_one_ticket_see_each_other);

async fn signed_in(app: &TestApp, journey: &str, email: &str) -> Chromium {
    let browser = Chromium::open(&app.base_url, journey, Scripts::On).await;
    browser.goto("/login").await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.press("Sign in").await;
    browser
}

/// Waits (up to ten seconds) until the visible text of `css` contains `wanted`.
async fn shows(browser: &Chromium, css: &str, wanted: &str) {
    for _ in 0..200 {
        if let Ok(element) = browser.client.find(Locator::Css(css)).await
            && element.text().await.is_ok_and(|text| text.contains(wanted))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} never showed {wanted:?} on {}", browser.path().await);
}

/// Waits (up to ten seconds) until the page's live updates are connected.
async fn listening(browser: &Chromium) {
    for _ in 0..200 {
        if browser.count("#live-notice[data-listening=yes]").await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never connected for live updates", browser.path().await);
}

async fn two_agents_on_one_ticket_see_each_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(Role::Agent).email("ann@example.com").name("Ann").create().await;
    app.user(Role::Agent).email("quentin@example.com").name("Quentin").create().await;
    let customer = app.user(Role::Customer).email("cleo@example.com").name("Cleo").create().await;
    let journey = |who: &str| format!("together-{who}-{backend:?}").to_lowercase();
    let mut ann = signed_in(&app, &journey("ann"), "ann@example.com").await;
    let mut quentin = signed_in(&app, &journey("quentin"), "quentin@example.com").await;

    // Ann has the Unassigned queue open when Cleo writes in.
    ann.goto("/desk?view=unassigned").await;
    listening(&ann).await;
    let number = app.ticket_for(&customer).subject("Cannot sign in").create().await;
    shows(&ann, "#live-notice", "1 new ticket: show it").await;
    assert!(ann.client.title().await.unwrap().starts_with("(1) "), "the count in the title");
    shows(&ann, ".views .count[data-view=unassigned]", "1").await;
    ann.look("new-ticket-told").await;
    ann.follow("1 new ticket").await;
    ann.follow("Cannot sign in").await;

    // Quentin opens the same ticket: each sees the other.
    listening(&ann).await;
    quentin.goto(&format!("/desk/tickets/{number}")).await;
    shows(&ann, "#live-viewers", "Quentin is also looking at this ticket.").await;
    shows(&quentin, "#live-viewers", "Ann is also looking at this ticket.").await;
    quentin.look("both-there").await;

    // Quentin answers and resolves; Ann is told, with a way to see it.
    quentin.fill("Message", "Reset your password from the sign-in page.").await;
    shows(&ann, "#live-viewers", "Quentin is replying.").await;
    quentin.select("Then set status", "Resolved").await;
    quentin.press("Send").await;
    shows(&ann, "#live-notice", "Quentin replied and set Resolved.").await;
    ann.look("answer-told").await;

    // Ann's own answer asks before going out on top of his; she thinks again.
    ann.fill("Message", "Have you tried turning it off and on?").await;
    ann.client.find(Locator::Css("#reply button.button-primary")).await.unwrap().click().await.unwrap();
    let question = ann.client.get_alert_text().await.expect("a question before sending");
    assert!(question.contains("Quentin replied and set Resolved since you opened this ticket"), "{question}");
    ann.client.dismiss_alert().await.unwrap();
    let answers = "SELECT COUNT(*) FROM messages WHERE kind = 'message' AND author_id IS NOT NULL AND body LIKE 'Have you%'";
    assert_eq!(app.count(answers).await, 0, "nothing sent");

    // Quentin leaves: Ann's page says nobody else is there.
    quentin.goto("/desk").await;
    for _ in 0..200 {
        if ann.count("#live-viewers[hidden]").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ann.count("#live-viewers[hidden]").await, 1, "Quentin's leaving is told");
}
