//! What the customer is told: a new request names when we aim to answer, the status reads
//! the same in their list and on the request, closing asks first, and there is nothing to
//! rate before anyone from the team has answered or resolved it.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Visibility};
use helpdesk::domain::tickets::{Priority, Status};
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    a_new_request_names_when_we_aim_to_answer,
    the_list_and_the_request_use_the_same_words,
    there_is_nothing_to_rate_before_an_answer,
);

/// 2026-11-30 10:00 UTC.
const MONDAY_TEN_AM: i64 = 1_796_032_800;

async fn a_new_request_names_when_we_aim_to_answer(app: TestApp) {
    app.clock.set(MONDAY_TEN_AM);
    let (browser, customer) = app.user(Role::Customer).email("pia@example.com").signed_in().await;
    // High priority: a first answer within 4 hours, by 14:00.
    let number = app.ticket_for(&customer).subject("VPN down").priority(Priority::High).create().await;
    let page = browser.get(&format!("/tickets/{number}")).await;
    let next_step = page.text_of(".next-step");
    assert!(next_step.contains("aim to answer within 4 h (by"), "{next_step}");
    assert!(next_step.contains("14:00"), "{next_step}");
    // Past the target, it no longer promises a time.
    app.clock.advance(5 * 3600);
    let page = browser.get(&format!("/tickets/{number}")).await;
    assert!(page.text_of(".next-step").contains("will pick it up soon"), "{}", page.text_of(".next-step"));
}

async fn the_list_and_the_request_use_the_same_words(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("pia@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let number = app.ticket_for(&customer).subject("Printer").create().await;
    for (status, words) in
        [(Status::Open, "In progress"), (Status::Pending, "Waiting for your reply"), (Status::OnHold, "On hold")]
    {
        staff::set_status(&app.db, &app.ticket(number).await, &agent, status, app.now()).await.unwrap();
        let list = browser.get("/tickets").await;
        assert_eq!(list.texts(".ticket-list td[data-label=Status]"), [words]);
        let page = browser.get(&format!("/tickets/{number}")).await;
        assert_eq!(page.text_of(".ticket-head .pill"), words);
    }
    // Closing asks first (the page's script reads this; without it the form just posts).
    let page = browser.get(&format!("/tickets/{number}")).await;
    assert!(page.attribute(".close-box", "data-confirm").unwrap().contains("Closed is final"));
}

async fn there_is_nothing_to_rate_before_an_answer(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("pia@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let number = app.ticket_for(&customer).subject("Never mind").create().await;
    let path = format!("/tickets/{number}");
    // The customer closes it before anyone answered: nothing to rate.
    browser.get(&path).await;
    browser.post(&format!("{path}/close"), &[]).await.assert_redirect(&path);
    let page = browser.get(&path).await;
    assert!(page.texts(".rating-box").is_empty(), "no “How did we do?”");
    let refused = browser.post(&format!("{path}/rating"), &[("rating", "1")]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.text_of("[role=alert]").contains("nobody from our team answered or resolved"), "{}", refused.text_of("main"));
    assert_eq!(app.ticket(number).await.rating, None);

    // Answered and resolved, it can be rated.
    let answered = app.ticket_for(&customer).subject("Printer").create().await;
    app.agent_writes(&app.ticket(answered).await, &agent, "Fixed the tray.", Visibility::Public).await;
    staff::set_status(&app.db, &app.ticket(answered).await, &agent, Status::Resolved, app.now()).await.unwrap();
    let page = browser.get(&format!("/tickets/{answered}")).await;
    assert_eq!(page.texts(".rating-box legend"), ["How did we do?"]);

    // Resolved by the team without a word is still theirs to rate.
    let resolved = app.ticket_for(&customer).subject("Password reset").create().await;
    staff::set_status(&app.db, &app.ticket(resolved).await, &agent, Status::Resolved, app.now()).await.unwrap();
    browser.get(&format!("/tickets/{resolved}")).await;
    browser
        .post(&format!("/tickets/{resolved}/rating"), &[("rating", "5")])
        .await
        .assert_redirect(&format!("/tickets/{resolved}"));
}
