//! Organisations through the API, and the organisation and CC that tickets carry.

use helpdesk::domain::accounts::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use super::Api;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(staff_keep_organisations_through_the_api, tickets_carry_their_organisation_and_who_is_copied);

async fn staff_keep_organisations_through_the_api(app: TestApp) {
    let agent = app.user(Role::Agent).email("andy@example.com").name("Andy").create().await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let staff = Api::for_user(&app, &agent).await;
    let customer = Api::for_user(&app, &carla).await;

    let created = staff.post("/organisations", json!({ "name": "Acme", "domains": ["Acme.test"], "notes": "Key account" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let acme = created.data()["id"].as_i64().unwrap();
    assert_eq!(created.headers["location"], format!("/api/v1/organisations/{acme}").as_str());
    assert_eq!(created.data(), json!({ "id": acme, "name": "Acme", "domains": ["acme.test"], "notes": "Key account" }));

    for (body, field) in [
        (json!({ "name": "acme" }), "name"),
        (json!({ "name": "Globex", "domains": ["gmail.com"] }), "domains"),
        (json!({ "name": "Globex", "domains": ["acme.test"] }), "domains"),
        (json!({ "domains": ["globex.test"] }), "name"),
    ] {
        let refused = staff.post("/organisations", body.clone()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(refused.field_error(field).is_some(), "{body}: {}", refused.text);
    }
    assert_eq!(
        staff.post("/organisations", json!({ "name": "Globex", "colour": "red" })).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM organisations").await, 1);

    // A change keeps what it does not name.
    let changed = staff.patch(&format!("/organisations/{acme}"), json!({ "notes": "Pays on time" })).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.data(), json!({ "id": acme, "name": "Acme", "domains": ["acme.test"], "notes": "Pays on time" }));
    let globex = staff.post("/organisations", json!({ "name": "Globex", "domains": ["globex.test", "globex.example"] })).await;
    let globex = globex.data()["id"].as_i64().unwrap();
    app.user(Role::Customer).email("ann@acme.test").name("Ann").create().await;

    let listed = staff.get("/organisations?q=ACM").await.json();
    assert_eq!(listed["data"], json!([{ "id": acme, "name": "Acme", "domains": ["acme.test"], "contacts": 1 }]));
    assert_eq!(listed["meta"]["total"], 1);
    let by_domain = staff.get("/organisations?q=globex.example").await.data();
    assert_eq!(by_domain[0]["id"], globex);
    assert_eq!(staff.get("/organisations?page=0").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let with_nul = staff.get("/organisations?q=ac%00me").await;
    assert_eq!((with_nul.status, with_nul.data()[0]["id"].clone()), (StatusCode::OK, json!(acme)), "PostgreSQL refuses NUL");

    // Customers see none of it.
    for path in ["/organisations".to_owned(), format!("/organisations/{acme}")] {
        assert_eq!(customer.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(customer.delete(&format!("/organisations/{acme}")).await.status, StatusCode::NOT_FOUND);

    let deleted = staff.delete(&format!("/organisations/{globex}")).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.data()["name"], "Globex");
    assert_eq!(staff.get(&format!("/organisations/{globex}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(staff.delete(&format!("/organisations/{globex}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'organisation.%'").await, 4);
}

async fn tickets_carry_their_organisation_and_who_is_copied(app: TestApp) {
    let agent = app.user(Role::Agent).email("andy@example.com").name("Andy").create().await;
    let staff = Api::for_user(&app, &agent).await;
    let acme =
        staff.post("/organisations", json!({ "name": "Acme", "domains": ["acme.test"] })).await.data()["id"].as_i64().unwrap();
    let ann = app.user(Role::Customer).email("ann@acme.test").name("Ann").create().await;
    let dan = app.user(Role::Customer).email("dan@example.com").name("Dan").create().await;
    app.ticket_for(&ann).subject("Printer").create().await;
    let (as_ann, as_dan) = (Api::for_user(&app, &ann).await, Api::for_user(&app, &dan).await);

    let ticket = staff.get("/tickets/1001").await.data();
    assert_eq!(ticket["organisation"], json!({ "id": acme, "name": "Acme" }));
    assert_eq!(ticket["cc"], json!([]));
    let version = ticket["version"].as_i64().unwrap();

    // Staff copy someone, with other changes, in one versioned change.
    let refused = staff.patch("/tickets/1001", json!({ "cc": ["andy@example.com"], "priority": "high" })).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.field_error("cc").unwrap().contains("support team"));
    assert_eq!(staff.get("/tickets/1001").await.data()["priority"], "medium", "nothing half-done");
    let bad = staff.patch("/tickets/1001", json!({ "cc": ["not an address"], "priority": "extreme" })).await;
    assert!(bad.field_error("cc").is_some() && bad.field_error("priority").is_some(), "{}", bad.text);
    let changed =
        staff.patch("/tickets/1001", json!({ "cc": ["DAN@example.com"], "priority": "high", "version": version })).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.data()["cc"], json!(["dan@example.com"]));
    assert_eq!(changed.data()["version"], version + 1);

    // Dan, copied, reads it and lists it under `cc`, but does not decide who is copied.
    let seen = as_dan.get("/tickets/1001").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.data()["cc"], json!(["dan@example.com"]));
    let listed = as_dan.get("/tickets?scope=cc").await.data();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(as_dan.get("/tickets").await.data(), json!([]), "not among his own");
    assert!(as_dan.get("/tickets?scope=organisation").await.field_error("scope").is_some());
    assert!(as_dan.get("/tickets?scope=everything").await.field_error("scope").is_some());
    assert!(staff.get("/tickets?scope=cc").await.field_error("scope").is_some());
    assert!(as_dan.get(&format!("/tickets?organisation={acme}")).await.field_error("organisation").is_some());
    assert_eq!(as_dan.patch("/tickets/1001", json!({ "cc": [] })).await.status, StatusCode::NOT_FOUND);

    // The requester replaces the list with a colleague at Acme's domain, new to us: a
    // customer is made. Addresses elsewhere are for staff to copy.
    let elsewhere = as_ann.patch("/tickets/1001", json!({ "cc": ["erin@client.test"] })).await;
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(elsewhere.field_error("cc").unwrap().contains("not at your organisation's mail domains"));
    let replaced = as_ann.patch("/tickets/1001", json!({ "cc": ["erin@acme.test"] })).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(replaced.data()["cc"], json!(["erin@acme.test"]));
    assert!(replaced.data().get("version").is_none(), "customers are not shown versions");
    assert_eq!(as_dan.get("/tickets/1001").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'erin@acme.test' AND organisation_id IS NOT NULL").await, 1);
    // Closing and copying in one change; a closed ticket takes nobody new, but lets go.
    let closed = as_ann.patch("/tickets/1001", json!({ "status": "closed", "cc": ["erin@acme.test", "fay@acme.test"] })).await;
    assert_eq!((closed.status, closed.data()["status"].clone()), (StatusCode::OK, json!("closed")));
    assert_eq!(closed.data()["cc"], json!(["erin@acme.test", "fay@acme.test"]));
    assert_eq!(as_ann.patch("/tickets/1001", json!({ "cc": ["gus@acme.test"] })).await.status, StatusCode::CONFLICT);
    let cleared = as_ann.patch("/tickets/1001", json!({ "cc": [] })).await;
    assert_eq!((cleared.status, cleared.data()["cc"].clone()), (StatusCode::OK, json!([])));
}
