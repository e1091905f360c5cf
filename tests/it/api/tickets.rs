//! Customers and staff working tickets through the API, and its reports.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::Visibility;
use helpdesk::domain::conversation::staff;
use helpdesk::domain::tickets::Status;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Api;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    customers_use_the_api_as_they_use_the_portal,
    staff_work_tickets_through_the_api,
    reports_count_tickets_per_period
);

async fn customers_use_the_api_as_they_use_the_portal(app: TestApp) {
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let hidden_group = app.group("Security").create().await;
    let api = Api::for_user(&app, &carla).await;

    let groups = api.get("/groups").await.data();
    let names: Vec<&str> = groups.as_array().unwrap().iter().map(|group| group["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["General"], "customers see the public groups only");
    let general = groups[0]["id"].as_i64().unwrap();

    let invalid = api.post("/tickets", json!({ "subject": "", "message": "", "group": general })).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.error_code(), "invalid");
    assert!(invalid.field_error("subject").is_some() && invalid.field_error("message").is_some());
    let on_behalf =
        api.post("/tickets", json!({ "subject": "S", "message": "M", "group": general, "requester": "x@example.com" })).await;
    assert!(on_behalf.field_error("requester").is_some());
    let internal = api.post("/tickets", json!({ "subject": "S", "message": "M", "group": hidden_group })).await;
    assert!(internal.field_error("group").is_some());
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0, "nothing stored, no number spent");

    let created = api.post("/tickets", json!({ "subject": "Printer jams", "message": "Every morning.", "group": general })).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.headers.get("location").and_then(|v| v.to_str().ok()), Some("/api/v1/tickets/1001"));
    let ticket = created.data();
    assert_eq!((ticket["id"].as_i64(), ticket["reference"].as_str()), (Some(1001), Some("TCK-1001")));
    assert_eq!((ticket["status"].as_str(), ticket["priority"].as_str()), (Some("new"), Some("medium")));
    for staff_only in ["version", "assignee", "due_at", "time_spent_minutes", "first_response_at"] {
        assert!(ticket.get(staff_only).is_none(), "{staff_only} is for staff");
    }
    let list = api.get("/tickets").await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["meta"], json!({ "page": 1, "per_page": 25, "total": 1, "has_more": false }));
    assert!(api.get("/tickets?status=sleeping").await.field_error("status").is_some());
    assert_eq!(api.get("/tickets/TCK-1001").await.data()["subject"], "Printer jams");

    // Someone else's ticket does not exist, whatever it is asked.
    let other = app.user(Role::Customer).email("other@example.com").name("Other").create().await;
    let other_number = app.ticket_for(&other).subject("Theirs").message("Private").create().await;
    for path in [format!("/tickets/{other_number}"), format!("/tickets/TCK-{other_number}/messages"), "/tickets/abc".into()] {
        let answer = api.get(&path).await;
        assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    assert_eq!(api.patch(&format!("/tickets/{other_number}"), json!({ "status": "closed" })).await.status, StatusCode::NOT_FOUND);

    // The timeline holds the public conversation, never internal notes.
    let number = helpdesk::domain::tickets::TicketNumber::parse("1001").unwrap();
    app.agent_writes(&app.ticket(number).await, &agent, "Customer seems upset, secret plan", Visibility::Internal).await;
    app.agent_writes(&app.ticket(number).await, &agent, "Try turning it off and on", Visibility::Public).await;
    let messages = api.get("/tickets/1001/messages").await;
    assert!(messages.text.contains("Try turning it off and on"));
    assert!(!messages.text.contains("secret plan"), "{}", messages.text);
    let reply = api.post("/tickets/1001/messages", json!({ "body": "Did that, still jams" })).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!((reply.data()["kind"].as_str(), reply.data()["author"]["name"].as_str()), (Some("message"), Some("Carla")));
    let sneaky = api.post("/tickets/1001/messages", json!({ "body": "x", "visibility": "internal", "status": "resolved" })).await;
    assert!(sneaky.field_error("visibility").is_some() && sneaky.field_error("status").is_some());

    // A customer may close their ticket, and nothing else.
    assert!(api.get("/tickets?priority=urgent").await.field_error("priority").is_some(), "staff filters");
    assert!(api.patch("/tickets/1001", json!({ "status": "closed", "version": 1 })).await.field_error("version").is_some());
    let raise = api.patch("/tickets/1001", json!({ "priority": "urgent" })).await;
    assert_eq!(raise.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(raise.field_error("priority").is_some());
    assert_eq!(app.ticket(number).await.priority.as_str(), "medium");
    let closed = api.patch("/tickets/1001", json!({ "status": "closed" })).await;
    assert_eq!((closed.status, closed.data()["status"].as_str()), (StatusCode::OK, Some("closed")));
    let late = api.post("/tickets/1001/messages", json!({ "body": "One more thing" })).await;
    assert_eq!((late.status, late.error_code().as_str()), (StatusCode::CONFLICT, "conflict"));
    let rated = api.post("/tickets/1001/rating", json!({ "rating": 4, "comment": "Quick" })).await;
    assert_eq!((rated.status, rated.data()["rating"].as_i64()), (StatusCode::OK, Some(4)));
    assert!(api.post("/tickets/1001/rating", json!({ "rating": 9 })).await.field_error("rating").is_some());
    assert_eq!(api.post("/tickets/1001/reopen", json!({ "reason": "Again" })).await.status, StatusCode::CONFLICT);

    // Reopening a resolved one, with a reason.
    let second = app.ticket_for(&carla).subject("Wi-Fi").message("Slow").create().await;
    staff::set_status(&app.db, &app.ticket(second).await, &agent, Status::Resolved, app.now()).await.unwrap();
    assert!(api.post(&format!("/tickets/{second}/reopen"), json!({ "reason": " " })).await.field_error("reason").is_some());
    let reopened = api.post(&format!("/tickets/{second}/reopen"), json!({ "reason": "Still slow" })).await;
    assert_eq!((reopened.status, reopened.data()["status"].as_str()), (StatusCode::OK, Some("open")));

    for staff_only in ["/agents", "/reports/tickets"] {
        assert_eq!(api.get(staff_only).await.status, StatusCode::NOT_FOUND, "{staff_only}");
    }
}

async fn staff_work_tickets_through_the_api(app: TestApp) {
    let me = app.user(Role::Agent).email("me@example.com").name("Mia Agent").create().await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let internal_group = app.group("Security").members(&[&me]).create().await;
    let number = app.ticket_for(&customer).subject("Laptop").message("The screen flickers like a xylophone").create().await;
    let path = format!("/tickets/{number}");
    let api = Api::for_user(&app, &me).await;

    let unassigned = api.get("/tickets?view=unassigned").await.json();
    assert_eq!(unassigned["data"][0]["id"].as_i64(), Some(number.get()));
    assert_eq!(unassigned["data"][0]["requester"]["email"], "carla@example.com");
    assert_eq!(unassigned["meta"]["total"], 1);
    assert_eq!(api.get("/tickets?q=xylophone").await.data()[0]["subject"], "Laptop", "a word only in a message");
    assert!(api.get("/tickets?q=unicorn").await.data().as_array().unwrap().is_empty());
    for by_number in [format!("{number}"), format!("TCK-{number}")] {
        assert_eq!(api.get(&format!("/tickets?q={by_number}")).await.data()[0]["id"].as_i64(), Some(number.get()), "{by_number}");
    }
    let odd = api.get("/tickets?view=nowhere&sort=sideways").await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(odd.field_error("view").is_some() && odd.field_error("sort").is_some());

    let ticket = api.get(&path).await.data();
    assert_eq!((ticket["version"].as_i64(), ticket["assignee"].clone()), (Some(1), Value::Null));
    let taken = api.patch(&path, json!({ "assignee": me.id, "status": "pending", "version": 1 })).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text);
    let taken = taken.data();
    assert_eq!((taken["assignee"]["id"].as_i64(), taken["status"].as_str()), (Some(me.id), Some("pending")));
    let version = taken["version"].as_i64().unwrap();
    assert!(version > 1);
    let stale = api.patch(&path, json!({ "priority": "urgent", "version": 1 })).await;
    assert_eq!((stale.status, stale.error_code().as_str()), (StatusCode::CONFLICT, "stale"));
    assert_eq!(app.ticket(number).await.priority.as_str(), "medium", "a stale change changes nothing");
    let bad = api.patch(&path, json!({ "assignee": customer.id, "status": "asleep" })).await;
    assert!(bad.field_error("status").is_some());
    assert!(api.patch(&path, json!({ "assignee": customer.id })).await.field_error("assignee").is_some());
    let moved = api.patch(&path, json!({ "assignee": null, "group": internal_group, "version": version })).await.data();
    assert_eq!((moved["assignee"].clone(), moved["group"]["name"].as_str()), (Value::Null, Some("Security")));

    let note = api
        .post(&format!("{path}/messages"), json!({ "body": "Checked the cable", "visibility": "internal", "time_spent": 15 }))
        .await;
    assert_eq!((note.status, note.data()["kind"].as_str()), (StatusCode::CREATED, Some("note")));
    let reply = api.post(&format!("{path}/messages"), json!({ "body": "Fixed?", "status": "resolved" })).await.data();
    assert_eq!(reply["kind"], "message");
    let ticket = api.get(&path).await.data();
    assert_eq!((ticket["time_spent_minutes"].as_i64(), ticket["status"].as_str()), (Some(15), Some("resolved")));
    assert!(ticket["first_response_at"].is_string());
    let timeline = api.get(&format!("{path}/messages")).await.data();
    assert!(timeline.as_array().unwrap().iter().any(|entry| entry["kind"] == "note"), "staff see notes");
    assert!(timeline.as_array().unwrap().iter().any(|entry| entry["kind"] == "event"), "and events");

    let general =
        api.get("/groups").await.data().as_array().unwrap().iter().find(|g| g["name"] == "General").unwrap()["id"].clone();
    let phoned = api
        .post(
            "/tickets",
            json!({ "subject": "Phone call", "message": "Printer on fire", "group": general, "requester": "new@example.com" }),
        )
        .await;
    assert_eq!(phoned.status, StatusCode::CREATED, "{}", phoned.text);
    assert_eq!(phoned.data()["requester"]["email"], "new@example.com");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'new@example.com' AND role = 'customer'").await, 1);
    assert!(
        api.post("/tickets", json!({ "subject": "S", "message": "M", "group": general }))
            .await
            .field_error("requester")
            .is_some()
    );

    let agents = api.get("/agents").await.data();
    assert!(agents.as_array().unwrap().iter().any(|agent| agent["email"] == "me@example.com"));
    assert!(agents.as_array().unwrap().iter().all(|agent| agent["role"] != "customer"));
    assert_eq!(api.get("/groups").await.data().as_array().unwrap().len(), 2, "staff see internal groups too");
    assert_eq!(
        api.post(&format!("{path}/reopen"), json!({ "reason": "x" })).await.status,
        StatusCode::NOT_FOUND,
        "customers reopen"
    );

    let malformed = api.send(Method::POST, "/tickets", None).await;
    assert_eq!(
        (malformed.status, malformed.error_code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let garbled = api
        .http
        .post(format!("{}/tickets", api.base_url))
        .header("authorization", format!("Bearer {}", api.token.as_deref().unwrap()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), StatusCode::BAD_REQUEST);
    let unknown = api.get("/nothing/here").await;
    assert_eq!((unknown.status, unknown.error_code().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let wrong_method = api.send(Method::DELETE, &path, None).await;
    assert_eq!((wrong_method.status, wrong_method.error_code().as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    let twice = api.get("/tickets?page=1&page=2").await;
    assert_eq!((twice.status, twice.error_code().as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    assert!(api.get("/tickets?page=0").await.field_error("page").is_some());
    let mistyped = api.patch(&path, json!({ "assignee": "nobody" })).await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mistyped.field_error("assignee").is_some(), "{}", mistyped.text);
    let unknown_field = api.patch(&path, json!({ "colour": "red" })).await;
    assert!(unknown_field.field_error("colour").is_some(), "{}", unknown_field.text);
    assert_eq!(api.get(&format!("/tickets/WRONG-{number}")).await.status, StatusCode::NOT_FOUND, "only the ticket's own prefix");
    let lower_case = api
        .http
        .get(format!("{}/users/me", api.base_url))
        .header("authorization", format!("bearer {}", api.token.as_deref().unwrap()));
    assert_eq!(lower_case.send().await.unwrap().status(), StatusCode::OK, "the scheme is case-insensitive");
}

async fn reports_count_tickets_per_period(app: TestApp) {
    // A Wednesday noon: the minutes below stay inside one week and one month.
    app.clock.set(1_795_608_000);
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let customer = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let first = app.ticket_for(&customer).subject("One").create().await;
    let second = app.ticket_for(&customer).subject("Two").create().await;
    // First answers after 90 s and 150 s: two minutes on average (not the average of
    // whole minutes, which would say one).
    app.clock.advance(90);
    app.agent_writes(&app.ticket(first).await, &agent, "Answer", Visibility::Public).await;
    app.clock.advance(60);
    app.agent_writes(&app.ticket(second).await, &agent, "Answer", Visibility::Public).await;
    staff::set_status(&app.db, &app.ticket(first).await, &agent, Status::Resolved, app.now()).await.unwrap();
    staff::set_status(&app.db, &app.ticket(second).await, &agent, Status::Closed, app.now()).await.unwrap();
    let api = Api::for_user(&app, &agent).await;

    for period in ["weekly", "monthly"] {
        let report = api.get(&format!("/reports/tickets?period={period}")).await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.text);
        let report = report.data();
        assert_eq!(report["period"], period);
        let periods = report["periods"].as_array().unwrap();
        assert_eq!(periods.len(), 12);
        let current = periods.last().unwrap();
        assert_eq!(
            (current["created"].as_i64(), current["resolved"].as_i64(), current["closed"].as_i64()),
            (Some(2), Some(1), Some(1))
        );
        assert_eq!(current["first_response_average_minutes"].as_i64(), Some(2));
        assert!(periods[..11].iter().all(|p| p["created"] == 0), "earlier periods are empty");
    }
    let csv = api.get("/reports/tickets?period=monthly&format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 13);
    assert!(lines[0].starts_with("period_start,period_end,created,resolved,closed"));
    assert!(lines[12].contains(",2,1,1,2,"), "{}", lines[12]);
    assert!(api.get("/reports/tickets?period=daily").await.field_error("period").is_some());
    assert!(api.get("/reports/tickets?format=xml").await.field_error("format").is_some());
}
