//! The demo's data: a working installation, and pages past the counted thousand.

use helpdesk::demo::{self, DemoOptions};
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(the_demo_seeds_a_working_installation, pages_go_on_past_the_counted_thousand);

async fn the_demo_seeds_a_working_installation(app: TestApp) {
    let options = DemoOptions { tickets: 300, password: "demo-password".into(), force: false };
    let summary = demo::seed(&app.db, &options, app.now()).await.unwrap();
    assert_eq!(summary.tickets, 300);
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT status FROM tickets ORDER BY status").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(statuses, ["closed", "new", "on_hold", "open", "pending", "resolved"]);
    assert!(
        app.count(&format!("SELECT COUNT(*) FROM tickets WHERE due_at < {} AND status NOT IN ('resolved', 'closed')", app.now()))
            .await
            > 0,
        "some overdue"
    );
    let per_ticket: Vec<i64> =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages GROUP BY ticket_id").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(per_ticket.len(), 300);
    assert!(per_ticket.iter().all(|count| (1..=10).contains(count)));
    assert!(demo::seed(&app.db, &options, app.now()).await.is_err(), "refuses a database with tickets");

    let agent = app.browser();
    agent.sign_in("agent1@demo.test", "demo-password").await.assert_redirect("/desk");
    let queue = agent.get("/desk").await;
    assert_eq!(queue.texts(".desk-list tbody tr").len(), 50);
    assert_eq!(agent.get("/desk?q=invoice").await.status, StatusCode::OK);
    assert!(!agent.get("/desk?q=invoice").await.texts(".desk-list tbody tr").is_empty(), "the search index was built");
    let customer = app.browser();
    customer.sign_in("customer1@demo.test", "demo-password").await.assert_redirect("/tickets");
    customer.get("/tickets/new").await;
    let group: i64 = sqlx::query_scalar("SELECT id FROM groups WHERE name = 'General'").fetch_one(app.db.pool()).await.unwrap();
    customer
        .post("/tickets", &[("subject", "After the demo"), ("group", &group.to_string()), ("message", "x")])
        .await
        .assert_redirect("/tickets/1301");
    let forced = DemoOptions { tickets: 10, force: true, ..options };
    demo::seed(&app.db, &forced, app.now()).await.unwrap();
    assert_eq!(app.count("SELECT MAX(number) FROM tickets").await, 1311);
}

async fn pages_go_on_past_the_counted_thousand(app: TestApp) {
    let options = DemoOptions { tickets: 2_400, password: "demo-password".into(), force: false };
    demo::seed(&app.db, &options, app.now()).await.unwrap();
    let open = app.count("SELECT COUNT(*) FROM tickets WHERE status IN ('new', 'open', 'pending', 'on_hold')").await;
    assert!(open > 1_100, "{open} open tickets");
    let last_page = (open + 49) / 50;
    let agent = app.browser();
    agent.sign_in("agent1@demo.test", "demo-password").await;
    let first = agent.get("/desk?view=all").await;
    assert_eq!(first.text_of(".pager .position"), "Page 1", "the count stops at 1000: no “of N”");
    assert_eq!(crate::desk::view_count(&first, "All open"), "1000+", "the sidebar's count stops there too");
    // The customers' domain is in every ticket: too common to rank, listed newest first, and the page says so.
    let common = agent.get("/desk?q=demo.test").await;
    assert!(common.text_of(".hint").contains("listed newest first"), "{}", common.text_of(".hint"));
    assert_eq!(common.texts(".desk-list tbody tr").len(), 50);
    let chosen = agent.get("/desk?q=demo.test&sort=created").await;
    assert!(!chosen.text_of(".hint").contains("listed newest first"), "an order the agent chose needs no notice");
    let past_the_count = agent.get("/desk?view=all&page=21").await;
    assert_eq!(past_the_count.attribute(".pager a[rel=next]", "href").as_deref(), Some("/desk?view=all&page=22"));
    let last = agent.get(&format!("/desk?view=all&page={last_page}")).await;
    assert!(!last.texts(".desk-list tbody tr").is_empty());
    assert!(last.attribute(".pager a[rel=next]", "href").is_none(), "the last page has no next");
    assert_eq!(last.attribute(".pager a[rel=prev]", "href"), Some(format!("/desk?view=all&page={}", last_page - 1)));

    // The API pages on the same way.
    let agent_id = app.count("SELECT id FROM users WHERE email = 'agent1@demo.test'").await;
    let token =
        helpdesk::domain::accounts::api_tokens::create(&app.db, agent_id, "pages", Some(agent_id), app.now()).await.unwrap();
    for (page, more) in [(21, true), (last_page, false)] {
        let answer = reqwest::Client::new()
            .get(format!("{}/api/v1/tickets?view=all&page={page}", app.base_url))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
        assert_eq!((body["meta"]["has_more"].as_bool(), body["meta"]["total"].is_null()), (Some(more), true), "page {page}");
    }
}
