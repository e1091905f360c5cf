//! The words of every choice (`/states`), a ticket's trail with the mail it caused
//! (`/tickets/{id}/events`), and HTTP's own optimistic locking (`ETag`, `If-Match`).

use helpdesk::domain::accounts::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Api;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    states_give_every_choice_its_label,
    events_show_each_change_and_the_mail_it_caused,
    etag_and_if_match_guard_against_lost_updates,
);

fn values(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|choice| choice["value"].as_str().unwrap().to_owned()).collect()
}

async fn states_give_every_choice_its_label(app: TestApp) {
    let admin = Api::for_user(&app, &app.user(Role::Admin).email("ada@example.com").create().await).await;
    let customer = Api::for_user(&app, &app.user(Role::Customer).email("carla@example.com").create().await).await;

    let all = admin.get("/states").await.data();
    assert_eq!(values(&all["status"]), ["new", "open", "pending", "on_hold", "resolved", "closed"]);
    assert_eq!(values(&all["priority"]), ["low", "medium", "high", "urgent"]);
    assert_eq!(values(&all["visibility"]), ["public", "internal"]);
    assert_eq!(values(&all["role"]), ["customer", "agent", "admin"]);
    assert_eq!(all["status"][3], json!({ "value": "on_hold", "label": "On hold" }));

    let theirs = customer.get("/states").await.data();
    let kinds: Vec<&String> = theirs.as_object().unwrap().keys().collect();
    assert_eq!(kinds, ["fields", "priority", "status"], "no staff words for a customer");
    assert_eq!(theirs["fields"], json!([]), "no ticket fields defined");
    assert_eq!(customer.get("/states?type=priority").await.data(), json!({ "priority": all["priority"] }));
    let unknown = customer.get("/states?type=role").await;
    assert_eq!((unknown.status, unknown.field_error("type").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));
}

async fn events_show_each_change_and_the_mail_it_caused(app: TestApp) {
    let agent = app.user(Role::Agent).email("andy@example.com").name("Andy").create().await;
    let api = Api::for_user(&app, &agent).await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await;
    let opened = api
        .post(
            "/tickets",
            json!({ "subject": "Printer", "message": "It jams.", "group": general, "requester": "carla@example.com" }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    app.clock.advance(60);
    assert_eq!(api.patch("/tickets/1001", json!({ "priority": "high" })).await.status, StatusCode::OK);
    // Without SMTP_URL the worker writes each mail to the log and marks it sent.
    app.wait_for_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await;

    let events = api.get("/tickets/1001/events").await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text);
    let trail = events.data();
    let kinds: Vec<(String, String)> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            let name = event["action"].as_str().or(event["kind"].as_str()).unwrap();
            (event["type"].as_str().unwrap().to_owned(), name.to_owned())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("change".to_owned(), "ticket.create".to_owned()),
            ("notification".to_owned(), "ticket_created".to_owned()),
            ("change".to_owned(), "ticket.priority".to_owned()),
            // A new ticket that staff touch is open.
            ("change".to_owned(), "ticket.status".to_owned()),
        ]
    );
    // Oldest first; at one moment, a change before the mail it caused.
    let mail = &trail[1];
    assert_eq!(
        (mail["recipient"].clone(), mail["delivery"].clone(), mail["attempts"].clone()),
        (json!("carla@example.com"), json!("sent"), json!(1))
    );
    assert!(mail["sent_at"].is_string());
    let change = &trail[2];
    assert_eq!(change["actor"], json!({ "id": agent.id, "name": "Andy" }));
    assert_eq!((change["before"]["priority"].clone(), change["after"]["priority"].clone()), (json!("medium"), json!("high")));
    assert_eq!(events.json()["meta"], json!({ "page": 1, "per_page": 50, "total": null, "has_more": false }));
    assert_eq!(api.get("/tickets/1001/events?page=x").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.get("/tickets/9999/events").await.status, StatusCode::NOT_FOUND);
}

async fn etag_and_if_match_guard_against_lost_updates(app: TestApp) {
    let agent = app.user(Role::Agent).email("andy@example.com").create().await;
    let customer = app.user(Role::Customer).email("carla@example.com").create().await;
    let number = app.ticket_for(&customer).create().await;
    let path = format!("/tickets/{number}");
    let api = Api::for_user(&app, &agent).await;

    let read = api.get(&path).await;
    assert_eq!(read.headers["etag"], "\"v1\"");
    let if_match = |etag: &'static str| [("if-match", etag)];
    let changed = api.send_with(Method::PATCH, &path, Some(json!({ "priority": "high" })), &if_match("\"v1\"")).await;
    assert_eq!((changed.status, &changed.headers["etag"]), (StatusCode::OK, &"\"v2\"".parse().unwrap()));
    // Someone who read version 1 loses nothing of this change: they are told.
    let late = api.send_with(Method::PATCH, &path, Some(json!({ "priority": "low" })), &if_match("\"v1\"")).await;
    assert_eq!((late.status, late.error_code()), (StatusCode::PRECONDITION_FAILED, "precondition_failed".to_owned()));
    assert!(late.json()["error"]["message"].as_str().unwrap().contains("\"v2\""));
    let nonsense = api.send_with(Method::PATCH, &path, Some(json!({ "priority": "low" })), &if_match("\"tomorrow\"")).await;
    assert_eq!(nonsense.status, StatusCode::PRECONDITION_FAILED);
    let both = api.send_with(Method::PATCH, &path, Some(json!({ "priority": "low", "version": 1 })), &if_match("\"v2\"")).await;
    assert_eq!((both.status, both.field_error("version").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));
    assert_eq!(app.ticket(number).await.priority.as_str(), "high", "nothing refused was applied");
    let listed = api.send_with(Method::PATCH, &path, Some(json!({ "priority": "low" })), &if_match("\"v1\", \"v2\"")).await;
    assert_eq!((listed.status, &listed.headers["etag"]), (StatusCode::OK, &"\"v3\"".parse().unwrap()), "one of those listed");
    let any = api.send_with(Method::PATCH, &path, Some(json!({ "priority": "urgent" })), &if_match("*")).await;
    assert_eq!(any.status, StatusCode::OK);
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await;
    let opened = api
        .post("/tickets", json!({ "subject": "New", "message": "Hi", "group": general, "requester": "carla@example.com" }))
        .await;
    assert_eq!((opened.status, &opened.headers["etag"]), (StatusCode::CREATED, &"\"v1\"".parse().unwrap()));

    // Customers are not shown versions, and do not make conditional changes.
    let theirs = Api::for_user(&app, &customer).await;
    assert!(theirs.get(&path).await.headers.get("etag").is_none());
    let conditional = theirs.send_with(Method::PATCH, &path, Some(json!({ "status": "closed" })), &if_match("\"v4\"")).await;
    assert_eq!(conditional.status, StatusCode::UNPROCESSABLE_ENTITY);
}
