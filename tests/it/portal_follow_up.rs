//! A customer's ticket once answered: replies that reopen it, closing, reopening,
//! ratings, follow-ups to closed tickets, and when it is final.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::customer::RATING_WINDOW_AFTER_CLOSE;
use helpdesk::domain::conversation::staff::{self, Visibility};
use helpdesk::domain::tickets::Status;
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::on_both_databases;
use crate::portal::general_group;

on_both_databases!(
    a_reply_reopens_waiting_tickets_and_is_refused_on_resolved_or_closed,
    closing_works_any_time_but_once,
    reopening_needs_a_resolved_ticket_and_a_reason,
    ratings_open_at_resolution_and_close_a_week_after_closing,
    a_closed_ticket_offers_a_linked_follow_up,
    notes_do_not_move_the_customers_last_update,
    a_resolved_ticket_is_final_once_its_auto_close_time_has_passed,
    closed_is_final_for_agents_too,
);

async fn a_reply_reopens_waiting_tickets_and_is_refused_on_resolved_or_closed(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("mia@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let number = app.ticket_for(&customer).subject("VPN").message("It drops").create().await;
    // Raw SQL on purpose: assigning through the domain is an agent's first action, which
    // opens the ticket, and this one must still be new.
    sqlx::query("UPDATE tickets SET assignee_id = $1").bind(agent.id).execute(app.db.pool()).await.unwrap();
    let path = format!("/tickets/{number}");

    // A reply on a new ticket keeps it new.
    browser.get(&path).await;
    browser.post(&format!("{path}/replies"), &[("body", "More detail")]).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.status, Status::New);

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Pending, app.now()).await.unwrap();
    let before = app.ticket(number).await;
    app.clock.advance(120);
    browser.get(&path).await;
    assert!(browser.get(&path).await.text_of(".next-step").contains("waiting for your reply"));
    browser.post(&format!("{path}/replies"), &[("body", "Here you go")]).await.assert_redirect(&path);
    let after = app.ticket(number).await;
    assert_eq!(after.status, Status::Open);
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.updated_at, before.updated_at + 120);
    let page = browser.get(&path).await;
    assert_eq!(page.text_of(".flash"), "Reply sent.");
    let events: Vec<String> =
        page.texts(".entry-event").iter().map(|event| event.split(" · ").next().unwrap().to_owned()).collect();
    assert_eq!(
        events,
        ["Agent changed the status from New to Pending", "Test Customer changed the status from Pending to Open"],
        "the reply moved the ticket back to Open, under the customer's name"
    );
    let assignee_mail =
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'customer_replied' AND recipient_email = 'agent@example.com'").await;
    assert_eq!(assignee_mail, 2);

    let empty = browser.post(&format!("{path}/replies"), &[("body", " ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.text_of("#body-error"), "Your reply is required.");

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    let page = browser.get(&path).await;
    assert!(page.texts("#body").is_empty(), "no reply box on a resolved ticket");
    let refused = browser.post(&format!("{path}/replies"), &[("body", "Still broken")]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.text_of(".form-error").contains("reopen it"));
    assert_eq!(refused.attribute("#reason", "name").as_deref(), Some("reason"), "the reopen form is offered");
    assert_eq!(app.ticket(number).await.status, Status::Resolved);

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Closed, app.now()).await.unwrap();
    let messages = app.count("SELECT COUNT(*) FROM messages WHERE kind = 'message'").await;
    let refused = browser.post(&format!("{path}/replies"), &[("body", "Hello?")]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.attribute(".follow-up a", "href"), Some(format!("/tickets/new?follow_up={number}")));
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE kind = 'message'").await, messages);
}

async fn closing_works_any_time_but_once(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("ned@example.com").signed_in().await;
    let number = app.ticket_for(&customer).subject("Never mind").message("Solved it myself").create().await;
    let path = format!("/tickets/{number}");
    browser.get(&path).await;
    browser.post(&format!("{path}/close"), &[]).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!(ticket.status, Status::Closed);
    assert_eq!(ticket.closed_at, Some(app.now()));
    assert_eq!(ticket.version, 2);
    let page = browser.get(&path).await;
    assert!(page.texts(".close-box").is_empty());
    assert!(page.text_of(".next-step").contains("closed"));
    let again = browser.post(&format!("{path}/close"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.text_of(".form-error"), "This request is already closed.");
    assert_eq!(app.ticket(number).await.version, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.status'").await, 1);
}

async fn reopening_needs_a_resolved_ticket_and_a_reason(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("ola@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let number = app.ticket_for(&customer).subject("Wifi").message("Slow").create().await;
    let path = format!("/tickets/{number}");
    browser.get(&path).await;
    let open = browser.post(&format!("{path}/reopen"), &[("reason", "why not")]).await;
    assert_eq!(open.status, StatusCode::CONFLICT);

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    let page = browser.get(&path).await;
    assert!(page.text_of(".next-step").contains("closes automatically in 3 d"));
    let no_reason = browser.post(&format!("{path}/reopen"), &[("reason", "")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.text_of("#reason-error"), "A reason is required.");
    assert_eq!(app.ticket(number).await.status, Status::Resolved);

    browser.post(&format!("{path}/reopen"), &[("reason", "Still slow in the evening")]).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!(ticket.status, Status::Open);
    assert_eq!(ticket.resolved_at, None);
    let page = browser.get(&path).await;
    assert_eq!(page.texts(".entry-message .entry-body").last().unwrap(), "Still slow in the evening");
    assert!(page.text_of(".entry-event").contains("reopened the request"));

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Closed, app.now()).await.unwrap();
    let closed = browser.post(&format!("{path}/reopen"), &[("reason", "again")]).await;
    assert_eq!(closed.status, StatusCode::CONFLICT);
    assert!(closed.text_of(".form-error").contains("cannot be reopened"));
}

async fn ratings_open_at_resolution_and_close_a_week_after_closing(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("pia@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let number = app.ticket_for(&customer).subject("Laptop").message("Broken screen").create().await;
    let path = format!("/tickets/{number}");
    let page = browser.get(&path).await;
    assert!(page.texts(".rating-box").is_empty());
    let early = browser.post(&format!("{path}/rating"), &[("rating", "5")]).await;
    assert_eq!(early.status, StatusCode::CONFLICT);

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    browser.get(&path).await;
    let bad = browser.post(&format!("{path}/rating"), &[("rating", "6"), ("comment", "meh")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.text_of("#rating-error"), "Choose from 1 to 5 stars.");
    assert_eq!(bad.text_of("#comment"), "meh");
    browser.post(&format!("{path}/rating"), &[("rating", "4"), ("comment", "Quick fix")]).await.assert_redirect(&path);
    let page = browser.get(&path).await;
    assert_eq!(page.attribute("input[name=rating][checked]", "value").as_deref(), Some("4"));
    assert_eq!(page.text_of("#comment"), "Quick fix");

    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Closed, app.now()).await.unwrap();
    app.clock.advance(RATING_WINDOW_AFTER_CLOSE - 10);
    browser.post(&format!("{path}/rating"), &[("rating", "5")]).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!((ticket.rating, ticket.rating_comment), (Some(5), None));
    app.clock.advance(20);
    let late = browser.post(&format!("{path}/rating"), &[("rating", "1")]).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(app.ticket(number).await.rating, Some(5));
    assert!(late.texts(".rating-box").is_empty());
}

async fn a_closed_ticket_offers_a_linked_follow_up(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("quy@example.com").signed_in().await;
    let other = app.user(Role::Customer).email("rex@example.com").name("Rex").create().await;
    let theirs = app.ticket_for(&other).subject("Theirs").create().await;
    let number = app.ticket_for(&customer).subject("Email setup").message("Cannot send").create().await;
    let path = format!("/tickets/{number}");
    browser.get(&path).await;
    browser.post(&format!("{path}/close"), &[]).await.assert_redirect(&path);
    let page = browser.get(&path).await;
    assert!(page.texts("#body").is_empty(), "no reply box on a closed ticket");
    let link = page.attribute(".follow-up a", "href").unwrap();
    let form = browser.get(&link).await;
    assert_eq!(form.attribute("#subject", "value").as_deref(), Some("Follow-up: Email setup"));
    assert_eq!(form.attribute("input[name=follow_up]", "value"), Some(number.to_string()));
    let group = general_group(&app).await;
    let follow_up = number.to_string();
    browser
        .post(
            "/tickets",
            &[("subject", "Follow-up: Email setup"), ("group", &group), ("message", "Again"), ("follow_up", &follow_up)],
        )
        .await
        .assert_redirect(&format!("/tickets/{}", number.get() + 1));
    let page = browser.get(&format!("/tickets/{}", number.get() + 1)).await;
    assert_eq!(page.attribute(".facts a", "href"), Some(path.clone()));

    // Someone else's ticket cannot be followed up: the link is dropped.
    let foreign = browser.get(&format!("/tickets/new?follow_up={theirs}")).await;
    assert_eq!(foreign.attribute("input[name=follow_up]", "value").as_deref(), Some(""));
    let theirs_text = theirs.to_string();
    browser.post("/tickets", &[("subject", "Sneaky"), ("group", &group), ("message", "x"), ("follow_up", &theirs_text)]).await;
    let link: Option<i64> = sqlx::query_scalar("SELECT follow_up_of_id FROM tickets WHERE subject = 'Sneaky'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(link, None);
}

async fn notes_do_not_move_the_customers_last_update(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("sal@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let older = app.ticket_for(&customer).subject("Older").create().await;
    staff::set_status(&app.db, &app.ticket(older).await, &agent, Status::Open, app.now()).await.unwrap();
    app.clock.advance(3 * 86_400);
    app.ticket_for(&customer).subject("Newer").create().await;
    app.clock.advance(3600);
    app.agent_writes(&app.ticket(older).await, &agent, "quiet note", Visibility::Internal).await;
    let list = browser.get("/tickets").await;
    assert_eq!(list.texts("td.subject"), ["Newer", "Older"], "a note does not bring a ticket up");
    assert_eq!(list.texts("td[data-label='Last update'] time").last().unwrap(), "3 d ago");
    let page = browser.get(&format!("/tickets/{older}")).await;
    assert!(page.text_of(".facts").contains("3 d ago"));
    let ticket = app.ticket(older).await;
    assert_eq!(ticket.updated_at, app.now(), "staff still see the change");
    assert_eq!(ticket.version, 3);
}

async fn a_resolved_ticket_is_final_once_its_auto_close_time_has_passed(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("tom@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let number = app.ticket_for(&customer).subject("Late").create().await;
    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    app.clock.advance(72 * 3600 + 1);
    let path = format!("/tickets/{number}");
    let page = browser.get(&path).await;
    assert!(page.texts("#reason").is_empty(), "no reopen form once the window has passed");
    let late = browser.post(&format!("{path}/reopen"), &[("reason", "still broken")]).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(app.ticket(number).await.status, Status::Resolved);
    // Rating stays open for a week from the moment it closed in effect.
    browser.post(&format!("{path}/rating"), &[("rating", "3")]).await.assert_redirect(&path);
    app.clock.advance(RATING_WINDOW_AFTER_CLOSE + 1);
    assert_eq!(browser.post(&format!("{path}/rating"), &[("rating", "4")]).await.status, StatusCode::CONFLICT);
}

async fn closed_is_final_for_agents_too(app: TestApp) {
    let customer = app.user(Role::Customer).email("uli@example.com").name("Uli").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let number = app.ticket_for(&customer).subject("Done").create().await;
    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Closed, app.now()).await.unwrap();
    let reopened = staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Open, app.now()).await;
    assert!(matches!(reopened, Err(helpdesk::domain::Error::Conflict(_))));
    assert_eq!(app.ticket(number).await.status, Status::Closed);
}
