//! Working a ticket at the desk: from unassigned to closed, versions that went stale,
//! merging, bulk changes, tickets opened for customers, canned responses, and the 404 a
//! customer gets on every desk route.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Changes};
use helpdesk::domain::tickets::{Status, TicketNumber};
use reqwest::StatusCode;

use crate::desk::subjects;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    a_ticket_is_worked_from_unassigned_to_closed,
    a_stale_version_is_refused_and_can_be_applied_again,
    merging_combines_timelines_and_closes_the_duplicate,
    bulk_changes_apply_to_every_selected_ticket,
    agents_open_tickets_for_customers,
    canned_responses_are_kept_and_inserted,
    customers_get_404_on_every_desk_route,
);

async fn a_ticket_is_worked_from_unassigned_to_closed(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Mia Agent").signed_in().await;
    let (customer_browser, customer) = app.user(Role::Customer).email("cus@example.com").signed_in().await;
    let number = app.ticket_for(&customer).subject("Laptop will not boot").message("Black screen").create().await;
    let path = format!("/desk/tickets/{number}");
    assert_eq!(subjects(&browser.get("/desk?view=unassigned").await), ["Laptop will not boot"]);

    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attribute("#properties input[name=version]", "value").as_deref(), Some("1"));
    assert_eq!(page.attribute(".assign-me button", "form").as_deref(), Some("properties"), "a button of the properties form");
    browser.post(&path, &[("assignee", &me.id.to_string()), ("version", "1")]).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!((ticket.assignee_id, ticket.status), (Some(me.id), Status::Open), "the first action opens it");
    assert_eq!(subjects(&browser.get("/desk?view=mine").await), ["Laptop will not boot"]);

    browser.get(&path).await;
    let note = [("body", "Probably the SSD"), ("visibility", "internal"), ("time_spent", "10")];
    browser.post(&format!("{path}/replies"), &note).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.first_response_at, None, "a note is not a response");
    let reply = [
        ("body", "Please hold the power button for 10 s."),
        ("visibility", "public"),
        ("status", "pending"),
        ("time_spent", "5"),
    ];
    browser.post(&format!("{path}/replies"), &reply).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!(ticket.status, Status::Pending);
    assert_eq!(ticket.first_response_at, Some(app.now()));
    assert_eq!(ticket.time_spent_minutes, 15);
    let workspace = browser.get(&path).await;
    assert_eq!(workspace.texts(".entry-note .entry-body"), ["Probably the SSD"]);
    assert_eq!(workspace.text_of(".entry-note .badge-internal"), "Internal note");
    assert!(workspace.text_of(".facts").contains("15 min"));
    assert!(!customer_browser.get(&format!("/tickets/{number}")).await.body.contains("SSD"));

    customer_browser.get(&format!("/tickets/{number}")).await;
    customer_browser.post(&format!("/tickets/{number}/replies"), &[("body", "Did that, still black")]).await;
    assert_eq!(app.ticket(number).await.status, Status::Open);

    let page = browser.get(&path).await;
    let version = page.attribute(".properties input[name=version]", "value").unwrap();
    browser.post(&path, &[("status", "resolved"), ("version", &version)]).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.status, Status::Resolved);

    // The background work closes it once the window has passed: move the clock, restart.
    app.clock.advance(72 * 3600 + 60);
    let app = app.restart().await;
    let closed = format!("SELECT COUNT(*) FROM tickets WHERE number = {number} AND status = 'closed'");
    app.wait_for_count(&closed, 1).await; // auto-closed after the window
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event FROM messages WHERE kind = 'event' ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(events.last().map(String::as_str), Some("auto_close"));
    let mails: Vec<String> = sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
    // Assigning the ticket to oneself mails nobody.
    assert_eq!(mails, ["ticket_created", "agent_replied", "customer_replied", "resolved", "closed"]);
    // Every change is audited, by whom it was made: the customer, the agent, the system.
    let audits: Vec<(String, Option<i64>, String)> = sqlx::query_as(
        "SELECT action, actor_id, COALESCE(after_state, '') FROM audit_log WHERE object_type = 'ticket' ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let audits: Vec<(&str, Option<i64>, &str)> =
        audits.iter().map(|(action, actor, after)| (action.as_str(), *actor, after.as_str())).collect();
    let status = |to: &str| format!(r#"{{"status":"{to}"}}"#);
    let (open, pending, resolved, closed) = (status("open"), status("pending"), status("resolved"), status("closed"));
    let assigned = format!(r#"{{"assignee_id":{}}}"#, me.id);
    // Messages and notes are named by id, never by their text; the first came with the ticket.
    let said: Vec<i64> = sqlx::query_scalar("SELECT id FROM messages WHERE kind IN ('message', 'note') ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let message = |index: usize| format!(r#"{{"files":0,"message_id":{}}}"#, said[index]);
    let (note, answer, customer_answer) = (message(1), message(2), message(3));
    assert_eq!(audits[0].0, "ticket.create");
    assert_eq!(audits[0].1, Some(customer.id));
    assert_eq!(
        audits[1..],
        [
            ("ticket.assignee", Some(me.id), assigned.as_str()),
            ("ticket.status", Some(me.id), open.as_str()),
            ("ticket.note", Some(me.id), note.as_str()),
            ("ticket.message", Some(me.id), answer.as_str()),
            ("ticket.status", Some(me.id), pending.as_str()),
            ("ticket.message", Some(customer.id), customer_answer.as_str()),
            ("ticket.status", Some(customer.id), open.as_str()),
            ("ticket.status", Some(me.id), resolved.as_str()),
            ("ticket.status", None, closed.as_str()),
        ]
    );
}

async fn a_stale_version_is_refused_and_can_be_applied_again(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let colleague = app.user(Role::Agent).email("col@example.com").name("Colin Colleague").create().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let number = app.ticket_for(&customer).subject("Shared").create().await;
    let path = format!("/desk/tickets/{number}");
    let page = browser.get(&path).await;
    let version = page.attribute(".properties input[name=version]", "value").unwrap();

    let change = Changes { priority: Some("urgent".parse().unwrap()), ..Changes::default() };
    staff::update(&app.db, &app.ticket(number).await, &colleague, &change, None, app.now()).await.unwrap();

    let stale = browser.post(&path, &[("priority", "low"), ("version", &version)]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.text_of(".conflict li").contains("Colin Colleague changed the priority from Medium to Urgent"));
    assert_eq!(app.ticket(number).await.priority.as_str(), "urgent", "nothing applied");
    let current = app.ticket(number).await.version.to_string();
    assert_eq!(stale.attribute(".conflict input[name=version]", "value"), Some(current.clone()));
    assert_eq!(stale.attribute(".conflict input[name=priority]", "value").as_deref(), Some("low"));
    browser.post(&path, &[("priority", "low"), ("version", &current)]).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.priority.as_str(), "low");
    let _ = me;
}

async fn merging_combines_timelines_and_closes_the_duplicate(app: TestApp) {
    let (browser, _) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let (customer_browser, customer) = app.user(Role::Customer).email("cus@example.com").signed_in().await;
    let stranger = app.user(Role::Customer).email("str@example.com").name("Stranger").create().await;
    let survivor = app.ticket_for(&customer).subject("Printer broken").message("first report").create().await;
    let duplicate = app.ticket_for(&customer).subject("Printer still broken").message("second report").create().await;
    let foreign = app.ticket_for(&stranger).subject("Printer").message("someone else").create().await;

    browser.get(&format!("/desk/tickets/{duplicate}")).await;
    let refused = browser.post(&format!("/desk/tickets/{duplicate}/merge"), &[("into", &foreign.to_string())]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.text_of("#into-error"), "Only tickets from the same requester can be merged.");
    let missing = browser.post(&format!("/desk/tickets/{duplicate}/merge"), &[("into", "999999")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);

    // From the survivor's list of the customer's other tickets: the duplicate's merge
    // form, asking first, lands on the survivor.
    let page = browser.get(&format!("/desk/tickets/{survivor}")).await;
    let action = page.attribute(".other-tickets form.merge-here", "action").expect("a merge button per other ticket");
    assert_eq!(action, format!("/desk/tickets/{duplicate}/merge"));
    assert!(page.attribute(".other-tickets form.merge-here", "data-confirm").unwrap().contains("will be closed"));
    assert_eq!(page.attribute(".other-tickets form.merge-here input[name=into]", "value"), Some(survivor.to_string()));
    browser.post(&action, &[("into", &survivor.to_string())]).await.assert_redirect(&format!("/desk/tickets/{survivor}"));
    let merged = app.ticket(duplicate).await;
    assert_eq!((merged.status, merged.merged_into), (Status::Closed, Some(survivor)));
    let page = browser.get(&format!("/desk/tickets/{survivor}")).await;
    assert_eq!(page.text_of(".flash"), format!("Merged TCK-{duplicate} into this ticket."));
    assert_eq!(page.texts(".entry-message .entry-body"), ["first report", "second report"]);
    assert!(page.text_of(".entry-event").contains(&format!("merged TCK-{duplicate} into this")));
    let old = browser.get(&format!("/desk/tickets/{duplicate}")).await;
    assert_eq!(
        old.texts(".entry-event").iter().map(|text| text.split(" · ").next().unwrap_or(text).to_owned()).collect::<Vec<_>>(),
        [format!("Me merged this into TCK-{survivor}"), "Me changed the status from New to Closed".to_owned()],
        "no “merged this into closed”"
    );
    assert_eq!(old.attribute(".facts a[href^='/desk/tickets/']", "href"), Some(format!("/desk/tickets/{survivor}")));
    let customer_view = customer_browser.get(&format!("/tickets/{survivor}")).await;
    assert_eq!(customer_view.texts(".entry-message .entry-body"), ["first report", "second report"]);
    let customer_old = customer_browser.get(&format!("/tickets/{duplicate}")).await;
    assert!(customer_old.text_of(".next-step").contains(&format!("merged into TCK-{survivor}")));
}

async fn bulk_changes_apply_to_every_selected_ticket(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let mut numbers: Vec<TicketNumber> = Vec::new();
    for index in 0..4 {
        numbers.push(app.ticket_for(&customer).subject(format!("bulk {index}")).create().await);
    }
    let page = browser.get("/desk").await;
    assert_eq!(page.texts(".desk-list tbody input[name=tickets]").len(), 4);
    let selected: Vec<String> = numbers[..3].iter().map(|n| n.to_string()).collect();
    let mut fields: Vec<(&str, &str)> = selected.iter().map(|n| ("tickets", n.as_str())).collect();
    fields.extend([("priority", "high"), ("status", ""), ("group", ""), ("assignee", "keep"), ("return_to", "/desk?view=all")]);
    browser.post("/desk/tickets/bulk", &fields).await.assert_redirect("/desk?view=all");
    assert_eq!(browser.get("/desk").await.text_of(".flash"), "Updated 3 of 3 selected tickets.");
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE priority = 'high'").await, 3);
    assert_eq!(app.ticket(numbers[3]).await.priority.as_str(), "medium");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.priority'").await, 3);

    let me_id = me.id.to_string();
    browser.get("/desk").await;
    browser.post("/desk/tickets/bulk", &[("tickets", &selected[0]), ("tickets", &selected[1]), ("assignee", &me_id)]).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM tickets WHERE assignee_id = {}", me.id)).await, 2);
    browser.get("/desk").await;
    browser.post("/desk/tickets/bulk", &[("tickets", &selected[0]), ("assignee", "")]).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM tickets WHERE assignee_id = {}", me.id)).await, 1);
    browser.get("/desk").await;
    browser.post("/desk/tickets/bulk", &[("priority", "low")]).await.assert_redirect("/desk");
    assert_eq!(browser.get("/desk").await.text_of(".flash"), "Select at least one ticket.");

    // A ticket that refuses the change (closed is final) is skipped and named; the others change.
    staff::set_status(&app.db, &app.ticket(numbers[3]).await, &me, Status::Closed, app.now()).await.unwrap();
    let (open_one, closed_one) = (numbers[2].to_string(), numbers[3].to_string());
    browser.get("/desk").await;
    browser
        .post(
            "/desk/tickets/bulk",
            &[("tickets", &open_one), ("tickets", &closed_one), ("status", "pending"), ("assignee", "keep")],
        )
        .await;
    let flash = browser.get("/desk").await.text_of(".flash");
    assert!(
        flash.starts_with(&format!("Updated 1 of 2 selected tickets. Skipped TCK-{closed_one}: This ticket is closed")),
        "{flash}"
    );
    assert_eq!((app.ticket(numbers[2]).await.status, app.ticket(numbers[3]).await.status), (Status::Pending, Status::Closed));
}

async fn agents_open_tickets_for_customers(app: TestApp) {
    let (browser, agent) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let internal = app.group("Back office").create().await;
    let existing = app.user(Role::Customer).email("known@example.com").name("Known").create().await;
    assert_eq!(browser.get("/desk/tickets/new").await.status, StatusCode::OK);
    let form = |requester: &'static str| {
        let internal = internal.to_string();
        move |subject: &'static str| {
            vec![
                ("requester", requester.to_string()),
                ("subject", subject.to_string()),
                ("group", internal.clone()),
                ("priority", "high".to_string()),
                ("message", "Called in".to_string()),
            ]
        }
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/desk/tickets", &borrowed).await
        }
    };
    post(form("New.Person@Example.com")("Phone call")).await.assert_redirect("/desk/tickets/1001");
    let requester: (String, String) =
        sqlx::query_as("SELECT u.email, u.role FROM tickets t JOIN users u ON u.id = t.requester_id WHERE t.number = 1001")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(requester, ("new.person@example.com".to_string(), "customer".to_string()));
    browser.get("/desk/tickets/new").await;
    post(form("known@example.com")("Walk-in")).await.assert_redirect("/desk/tickets/1002");
    assert_eq!(app.ticket(TicketNumber::parse("1002").unwrap()).await.requester_id, existing.id);
    let refused = post(form("me@example.com")("Staff")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text_of("#requester-error").contains("staff"));
    let bad = post(vec![("requester", "nope".into()), ("subject", "".into()), ("message", "x".into())]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text_of("#requester-error").contains("email"));
    assert_eq!(bad.text_of("#subject-error"), "Subject is required.");
    let audit_actor: Option<i64> =
        sqlx::query_scalar("SELECT actor_id FROM audit_log WHERE action = 'ticket.create' AND object_id = '1002'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(audit_actor, Some(agent.id));
}

async fn canned_responses_are_kept_and_inserted(app: TestApp) {
    let (browser, _) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let number = app.ticket_for(&customer).subject("Password").message("Forgot it").create().await;
    assert!(browser.get("/desk/canned").await.text_of(".empty").contains("No canned responses"));
    let invalid = browser.post("/desk/canned", &[("title", ""), ("body", "x")]).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.text_of("#title-error"), "Title is required.");
    browser
        .post("/desk/canned", &[("title", "Reset link"), ("body", "Use the reset link <here>.")])
        .await
        .assert_redirect("/desk/canned");
    let id: i64 = sqlx::query_scalar("SELECT id FROM canned_responses").fetch_one(app.db.pool()).await.unwrap();
    browser.get(&format!("/desk/canned/{id}")).await;
    browser
        .post(&format!("/desk/canned/{id}"), &[("title", "Reset link"), ("body", "Use the reset link.")])
        .await
        .assert_redirect("/desk/canned");
    let workspace = browser.get(&format!("/desk/tickets/{number}?canned={id}")).await;
    assert_eq!(workspace.text_of("#body"), "Use the reset link.");
    assert_eq!(workspace.attribute("#canned option", "data-body").as_deref(), Some("Use the reset link."));
    browser.post(&format!("/desk/canned/{id}/delete"), &[]).await.assert_redirect("/desk/canned");
    assert_eq!(app.count("SELECT COUNT(*) FROM canned_responses").await, 0);
    assert_eq!(browser.get(&format!("/desk/canned/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE object_type = 'canned_response'").await, 3);
}

async fn customers_get_404_on_every_desk_route(app: TestApp) {
    let (customer, user) = app.user(Role::Customer).email("cus@example.com").signed_in().await;
    let number = app.ticket_for(&user).subject("Mine").create().await;
    // A saved reply that exists, so that its 404 comes from the guard and not from a lookup.
    let admin = app.fixture_admin().await;
    let saved = helpdesk::domain::conversation::canned::CannedInput::parse("Reset", "Use the reset link.").unwrap();
    let canned = helpdesk::domain::conversation::canned::create(&app.db, &saved, admin.id, app.now()).await.unwrap();
    // Every desk route of the route map, with real objects behind its ids.
    let concrete = |path: &str| path.replace("{number}", &number.to_string()).replace("{id}", &canned.to_string());
    let routes = crate::routes::pages_under("/desk");
    assert!(routes.len() >= 13, "every desk route is read from the map: {routes:?}");
    assert_eq!(customer.get("/desk?view=mine").await.status, StatusCode::NOT_FOUND);
    let n = number.to_string();
    for (method, path) in &routes {
        let path = concrete(path);
        customer.get("/tickets").await;
        let status = match *method {
            "get" => customer.get(&path).await.status,
            _ => {
                let fields = [
                    ("tickets", n.as_str()),
                    ("status", "closed"),
                    ("body", "x"),
                    ("visibility", "public"),
                    ("into", "1"),
                    ("title", "t"),
                ];
                customer.post(&path, &fields).await.status
            }
        };
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let ticket = app.ticket(number).await;
    assert_eq!((ticket.status, ticket.version), (Status::New, 1));
    assert_eq!(app.count("SELECT COUNT(*) FROM canned_responses").await, 1, "the saved reply is untouched");
}
