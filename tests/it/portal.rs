//! The customer portal: submitting, listing, searching and following tickets, and what a
//! customer may never see.

use std::sync::Arc;

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Visibility};
use helpdesk::domain::tickets::Status;
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    customer_submits_a_ticket_and_follows_it,
    a_bad_submission_is_shown_again_and_nothing_is_stored,
    customers_cannot_submit_to_internal_groups_or_set_hidden_fields,
    the_list_has_tabs_search_and_pages,
    another_customers_ticket_is_404_on_every_route,
    internal_notes_never_reach_a_customer_page,
    user_text_is_escaped_and_links_are_safe,
    concurrent_submissions_get_consecutive_numbers,
    search_and_subjects_take_odd_characters,
);

pub(crate) async fn general_group(app: &TestApp) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM groups WHERE name = 'General'").fetch_one(app.db.pool()).await.unwrap();
    id.to_string()
}

async fn customer_submits_a_ticket_and_follows_it(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    let form = browser.get("/tickets/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.texts("#group option"), ["General"]);
    assert_eq!(form.attribute("#priority option[selected]", "value").as_deref(), Some("medium"));
    let group = general_group(&app).await;
    let created = browser
        .post(
            "/tickets",
            &[("subject", "Printer jams"), ("group", &group), ("priority", "high"), ("message", "It jams.\nEvery time.")],
        )
        .await;
    created.assert_redirect("/tickets/1001");

    let page = browser.get("/tickets/1001").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of(".ticket-head .reference"), "TCK-1001");
    assert_eq!(page.text_of(".ticket-head h1"), "Printer jams");
    assert!(page.text_of(".flash").contains("TCK-1001 sent"));
    assert_eq!(page.text_of(".facts .pill"), "New");
    assert_eq!(page.text_of(".facts .priority"), "High");
    let bodies = page.texts(".entry-message .entry-body");
    assert_eq!(bodies.len(), 1);
    assert!(page.body.contains("It jams.\nEvery time."), "line breaks kept");
    assert!(page.attribute(".entry-head time", "datetime").unwrap().ends_with('Z'));
    assert!(page.attribute(".entry-head time", "title").unwrap().ends_with("UTC"));

    let list = browser.get("/tickets").await;
    assert_eq!(list.texts(".ticket-list tbody tr td[data-label=Number]"), ["TCK-1001"]);
    assert_eq!(list.texts(".ticket-list td[data-label=Status]"), ["New"]);
    assert_eq!(list.texts(".ticket-list td[data-label=Group]"), ["General"]);

    let stored: (i64, String, String, i64) =
        sqlx::query_as("SELECT requester_id, status, prefix, version FROM tickets WHERE number = 1001")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, (customer.id, "new".into(), "TCK-".into(), 1));
    let outbox: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, recipient_email FROM outbox").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(outbox, [("ticket_created".to_string(), "carla@example.com".to_string())]);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.create' AND object_id = '1001'").await, 1);
}

async fn a_bad_submission_is_shown_again_and_nothing_is_stored(app: TestApp) {
    let (browser, _) = app.user(Role::Customer).email("dan@example.com").signed_in().await;
    browser.get("/tickets/new").await;
    let group = general_group(&app).await;
    let long = "s".repeat(201);
    let page =
        browser.post("/tickets", &[("subject", &long), ("group", &group), ("priority", "extreme"), ("message", "  \n ")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text_of("#subject-error").contains("at most 200"));
    assert_eq!(page.text_of("#priority-error"), "Choose low, medium, high or urgent.");
    assert_eq!(page.text_of("#message-error"), "Message is required.");
    assert_eq!(page.attribute("#subject", "value").as_deref(), Some(long.as_str()));
    assert_eq!(page.attribute("#message", "aria-describedby").as_deref(), Some("message-error"));
    let page = browser.post("/tickets", &[("subject", "Bell\u{7}"), ("group", &group), ("message", "ok")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.text_of("#subject-error"), "Must not contain control characters.");
    assert_eq!(page.text_of("#message"), "ok");
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);
    // No number was spent by the failures.
    browser.post("/tickets", &[("subject", "Fine"), ("group", &group), ("message", "ok")]).await.assert_redirect("/tickets/1001");
}

async fn customers_cannot_submit_to_internal_groups_or_set_hidden_fields(app: TestApp) {
    let internal = app.group("Security").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let (browser, customer) = app.user(Role::Customer).email("eve@example.com").signed_in().await;
    let form = browser.get("/tickets/new").await;
    assert_eq!(form.texts("#group option"), ["General"], "internal groups are not offered");
    let page = browser.post("/tickets", &[("subject", "Hi"), ("group", &internal.to_string()), ("message", "x")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.text_of("#group-error"), "Choose one of the listed groups.");
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0);

    let group = general_group(&app).await;
    let assignee = agent.id.to_string();
    browser
        .post(
            "/tickets",
            &[
                ("subject", "Hi"),
                ("group", &group),
                ("message", "x"),
                ("status", "closed"),
                ("assignee", &assignee),
                ("requester", "1"),
            ],
        )
        .await
        .assert_redirect("/tickets/1001");
    let stored: (String, Option<i64>, i64) =
        sqlx::query_as("SELECT status, assignee_id, requester_id FROM tickets").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(stored, ("new".to_string(), None, customer.id));
}

async fn the_list_has_tabs_search_and_pages(app: TestApp) {
    let customer = app.user(Role::Customer).email("fay@example.com").name("Fay").create().await;
    let other = app.user(Role::Customer).email("gus@example.com").name("Gus").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    for index in 1..=28 {
        app.ticket_for(&customer).subject(format!("Question {index}")).message("Routine body").create().await;
        app.clock.advance(60);
    }
    let special =
        app.ticket_for(&customer).subject("Mailbox quota").message("The word zeppelin is only in this body").create().await;
    app.ticket_for(&other).subject("Not yours zeppelin").message("zeppelin").create().await;
    let resolved = app.ticket(app.ticket_for(&customer).subject("Resolved one").create().await).await;
    staff::set_status(&app.db, &resolved, &agent, Status::Resolved, app.now()).await.unwrap();
    let closed = app.ticket(app.ticket_for(&customer).subject("Closed one").create().await).await;
    staff::set_status(&app.db, &closed, &agent, Status::Closed, app.now()).await.unwrap();
    let special_ticket = app.ticket(special).await;
    app.agent_writes(&special_ticket, &agent, "secret word hindenburg", Visibility::Internal).await;

    let browser = app.browser();
    browser.sign_in("fay@example.com", crate::harness::PASSWORD).await;
    let first = browser.get("/tickets").await;
    let rows = first.texts(".ticket-list td.subject");
    assert_eq!(rows.len(), 25);
    assert_eq!(rows[0], "Mailbox quota", "newest activity first");
    assert_eq!(first.text_of(".pager .position"), "Page 1 of 2");
    let next = first.attribute(".pager a[rel=next]", "href").unwrap();
    assert_eq!(next, "/tickets?status=active&page=2");
    let second = browser.get(&next).await;
    assert_eq!(second.texts(".ticket-list td.subject").len(), 4);
    assert_eq!(second.texts(".ticket-list td.subject").last().unwrap(), "Question 1");

    assert_eq!(browser.get("/tickets?status=resolved").await.texts("td.subject"), ["Resolved one"]);
    assert_eq!(browser.get("/tickets?status=closed").await.texts("td.subject"), ["Closed one"]);
    assert_eq!(browser.get("/tickets?status=all").await.text_of(".pager .position"), "Page 1 of 2");
    assert_eq!(browser.get("/tickets?status=all&page=2").await.texts("td.subject").len(), 6);
    let unreadable = browser.get("/tickets?page=abc").await;
    assert_eq!(unreadable.text_of(".pager .position"), "Page 1 of 2", "an unreadable page number is the first page");
    assert_eq!(unreadable.texts(".ticket-list td.subject"), rows);
    let beyond = browser.get("/tickets?page=99999999999999999999").await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(beyond.text_of(".pager .position"), "Page 1 of 2", "a page number too large to read is the first page");

    let by_body = browser.get("/tickets?q=zeppelin").await;
    assert_eq!(by_body.texts("td.subject"), ["Mailbox quota"], "other customers' tickets never match");
    let by_number = browser.get(&format!("/tickets?q=TCK-{special}")).await;
    assert_eq!(by_number.texts("td.subject"), ["Mailbox quota"]);
    assert_eq!(browser.get("/tickets?q=question%2012").await.texts("td.subject"), ["Question 12"]);
    let by_note = browser.get("/tickets?q=hindenburg&status=all").await;
    assert!(by_note.texts("td.subject").is_empty(), "internal notes are not searched for customers");
    assert!(by_note.text_of(".empty").contains("No requests match"));
}

async fn another_customers_ticket_is_404_on_every_route(app: TestApp) {
    let owner = app.user(Role::Customer).email("hal@example.com").name("Hal").create().await;
    let number = app.ticket_for(&owner).subject("Mine").message("private words").create().await;
    let (intruder, _) = app.user(Role::Customer).email("ida@example.com").signed_in().await;
    intruder.get("/tickets").await;
    let paths = [format!("/tickets/{number}"), "/tickets/999999".to_string()];
    for path in &paths {
        let page = intruder.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("private words"));
    }
    for bad in ["abc", "0", "-1", "99999999999999999999", "1001.0", "TCK-1001"] {
        assert_eq!(intruder.get(&format!("/tickets/{bad}")).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    for action in ["replies", "close", "reopen", "rating"] {
        let fields = [("body", "hi"), ("reason", "because"), ("rating", "1"), ("comment", "bad")];
        for path in [format!("/tickets/{number}/{action}"), format!("/tickets/999999/{action}")] {
            assert_eq!(intruder.post(&path, &fields).await.status, StatusCode::NOT_FOUND, "{path}");
        }
    }
    let stored: (String, i64, Option<i64>) =
        sqlx::query_as("SELECT status, version, rating FROM tickets").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(stored, ("new".to_string(), 1, None));
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
}

async fn internal_notes_never_reach_a_customer_page(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("jo@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent Smith").create().await;
    let number = app.ticket_for(&customer).subject("Billing").message("Please check my invoice").create().await;
    let ticket = app.ticket(number).await;
    app.agent_writes(&ticket, &agent, "INTERNAL: customer is on the watch list", Visibility::Internal).await;
    app.agent_writes(&ticket, &agent, "We are looking at it.", Visibility::Public).await;

    let page = browser.get(&format!("/tickets/{number}")).await;
    assert!(!page.body.contains("watch list"));
    assert!(page.texts(".entry-note").is_empty());
    assert_eq!(page.texts(".entry-message .entry-body"), ["Please check my invoice", "We are looking at it."]);
    assert_eq!(page.text_of(".entry-staff .badge"), "Support team");
    // The first agent action opened the ticket; the customer sees that event.
    assert_eq!(
        page.text_of(".entry-event"),
        format!("Agent Smith changed the status from New to Open · {}", page.text_of(".entry-event time"))
    );
    for path in ["/tickets", "/tickets?status=all", "/tickets?q=watch"] {
        assert!(!browser.get(path).await.body.contains("watch list"), "{path}");
    }
    let mailed: Vec<String> = sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(mailed, ["ticket_created", "agent_replied"], "the note is mailed to nobody");
}

async fn user_text_is_escaped_and_links_are_safe(app: TestApp) {
    let (browser, _) = app.user(Role::Customer).email("kai@example.com").signed_in().await;
    browser.get("/tickets/new").await;
    let group = general_group(&app).await;
    let subject = "<script>alert('s')</script>";
    let message = "<img src=x onerror=alert(1)> see https://example.com/a?b=<c> and javascript:alert(2)";
    browser
        .post("/tickets", &[("subject", subject), ("group", &group), ("message", message)])
        .await
        .assert_redirect("/tickets/1001");
    let page = browser.get("/tickets/1001").await;
    assert_eq!(page.text_of(".ticket-head h1"), subject);
    assert!(page.texts("main script").is_empty());
    assert!(page.texts("main img").is_empty());
    assert!(page.text_of(".entry-message .entry-body").contains("<img src=x onerror=alert(1)>"));
    let links: Vec<String> = page.texts(".entry-body a");
    assert_eq!(links, ["https://example.com/a?b="]);
    assert_eq!(page.attribute(".entry-body a", "rel").as_deref(), Some("nofollow noopener noreferrer"));
    let list = browser.get("/tickets").await;
    assert!(list.texts("main script").is_empty());
    assert_eq!(list.text_of("td.subject"), subject);
    let search = browser.get("/tickets?q=%3Cscript%3E").await;
    assert_eq!(search.attribute("#q", "value").as_deref(), Some("<script>"));
    assert!(search.texts("main script").is_empty());
}

async fn concurrent_submissions_get_consecutive_numbers(app: TestApp) {
    let (browser, _) = app.user(Role::Customer).email("lou@example.com").signed_in().await;
    browser.get("/tickets/new").await;
    let group = general_group(&app).await;
    let browser = Arc::new(browser);
    let submissions: Vec<_> = (0..50)
        .map(|index| {
            let browser = browser.clone();
            let group = group.clone();
            tokio::spawn(async move {
                let subject = format!("Concurrent {index}");
                browser.post("/tickets", &[("subject", &subject), ("group", &group), ("message", "at once")]).await.status
            })
        })
        .collect();
    for submission in submissions {
        assert_eq!(submission.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let numbers: Vec<i64> =
        sqlx::query_scalar("SELECT number FROM tickets ORDER BY number").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(numbers, (1001..=1050).collect::<Vec<_>>());
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 50);
}

async fn search_and_subjects_take_odd_characters(app: TestApp) {
    let (browser, vic) = app.user(Role::Customer).email("vic@example.com").signed_in().await;
    for odd in ["%00", "%E2%80%AE%C3%A9"] {
        let page = browser.get(&format!("/tickets?q={odd}")).await;
        assert_eq!(page.status, StatusCode::OK, "{odd}");
        assert!(page.text_of(".empty").contains("No requests match"), "{odd}");
    }
    browser.get("/tickets/new").await;
    let group = general_group(&app).await;
    browser
        .post("/tickets", &[("subject", "Tab\there"), ("group", &group), ("message", "col1\tcol2")])
        .await
        .assert_redirect("/tickets/1001");
    let stored: (String, String) =
        sqlx::query_as("SELECT t.subject, m.body FROM tickets t JOIN messages m ON m.ticket_id = t.id")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, ("Tab here".to_string(), "col1\tcol2".to_string()));

    // `%` and `_` are letters to search for, not wildcards.
    app.ticket_for(&vic).subject("Printed 1000 pages").create().await;
    app.ticket_for(&vic).subject("Discount 100%_ off").create().await;
    assert_eq!(browser.get("/tickets?q=100%25_").await.texts("td.subject"), ["Discount 100%_ off"]);
}
