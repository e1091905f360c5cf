//! Accounts and groups through the API: what admins do on the admin pages, with the same
//! rules (the last admin among them), and 404 for everyone else.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::Api;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    admins_manage_accounts_through_the_api,
    the_last_admin_stays_one_through_the_api,
    admins_manage_groups_through_the_api,
    only_admins_reach_the_admin_routes_of_the_api,
);

async fn admins_manage_accounts_through_the_api(app: TestApp) {
    let admin = app.user(Role::Admin).email("ada@example.com").name("Ada").create().await;
    let support = app.group("Support").create().await;
    let api = Api::for_user(&app, &admin).await;

    let made = api
        .post("/users", json!({ "name": "Andy Agent", "email": "Andy@Example.com", "role": "agent", "password": "a long password", "groups": [support] }))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let andy = made.data();
    let id = andy["id"].as_i64().unwrap();
    assert_eq!(made.headers["location"], format!("/api/v1/users/{id}").as_str());
    assert_eq!(
        andy,
        json!({ "id": id, "name": "Andy Agent", "email": "andy@example.com", "role": "agent", "active": true,
                "verified": true, "two_factor": false, "groups": [support] })
    );
    assert_eq!(api.get(&format!("/users/{id}")).await.data(), andy);

    // Without a password, the owner is invited to choose one.
    let invited = api.post("/users", json!({ "name": "Cleo", "email": "cleo@example.com", "role": "customer" })).await;
    assert_eq!(invited.status, StatusCode::CREATED);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'invitation' AND recipient_email = 'cleo@example.com'").await,
        1
    );

    // Every problem at once, by field; nothing made.
    let refused = api.post("/users", json!({ "email": "andy@example.com", "role": "boss", "password": "" })).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name", "password"] {
        assert!(refused.field_error(field).is_some(), "{field}: {}", refused.text);
    }
    let grouped =
        api.post("/users", json!({ "name": "Cy", "email": "cy@example.com", "role": "customer", "groups": [support] })).await;
    assert_eq!((grouped.status, grouped.field_error("groups").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));
    let duplicate = api.post("/users", json!({ "name": "Other", "email": "andy@example.com", "role": "agent" })).await;
    assert_eq!((duplicate.status, duplicate.field_error("email").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email IN ('andy@example.com', 'cleo@example.com')").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE name = 'Other'").await, 0);

    // Changing one field keeps the others.
    let renamed = api.patch(&format!("/users/{id}"), json!({ "name": "Andy A." })).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!((renamed.data()["name"].clone(), renamed.data()["groups"].clone()), (json!("Andy A."), json!([support])));

    // The list filters and pages like every list.
    let agents = api.get("/users?role=agent&q=andy").await;
    assert_eq!(agents.data().as_array().unwrap().len(), 1);
    assert_eq!(agents.json()["meta"], json!({ "page": 1, "per_page": 50, "total": 1, "has_more": false }));
    let bad = api.get("/users?active=maybe&page=0&role=boss").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["active", "page", "role"] {
        assert!(bad.field_error(field).is_some(), "{field}: {}", bad.text);
    }

    // Deactivated, the account's own token stops working; reactivated, it works again.
    let andy_user = user_admin::find(&app.db, id).await.unwrap();
    let andys_api = Api::for_user(&app, &andy_user).await;
    let off = api.post(&format!("/users/{id}/deactivate"), json!({})).await;
    assert_eq!((off.status, off.data()["active"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(andys_api.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
    let on = api.post(&format!("/users/{id}/reactivate"), json!({})).await;
    assert_eq!((on.status, on.data()["active"].clone()), (StatusCode::OK, json!(true)));
    assert_eq!(andys_api.get("/users/me").await.status, StatusCode::OK);
    let audited =
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('user.create', 'user.update', 'user.deactivate', 'user.reactivate')";
    assert!(app.count(audited).await >= 5);
    assert_eq!(api.get("/users/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/users/andy").await.status, StatusCode::NOT_FOUND);
}

async fn the_last_admin_stays_one_through_the_api(app: TestApp) {
    let admin = app.user(Role::Admin).email("ada@example.com").create().await;
    let api = Api::for_user(&app, &admin).await;
    let path = format!("/users/{}", admin.id);
    let demoted = api.patch(&path, json!({ "role": "agent" })).await;
    assert_eq!((demoted.status, demoted.error_code()), (StatusCode::CONFLICT, "conflict".to_owned()));
    let deactivated = api.post(&format!("{path}/deactivate"), json!({})).await;
    assert_eq!(deactivated.status, StatusCode::CONFLICT);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = TRUE").await, 1);

    // With a second admin, the first may step down.
    let other = api
        .post("/users", json!({ "name": "Bo", "email": "bo@example.com", "role": "admin", "password": "a long password" }))
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_eq!(api.patch(&path, json!({ "role": "agent" })).await.status, StatusCode::OK);
}

async fn admins_manage_groups_through_the_api(app: TestApp) {
    let admin = app.user(Role::Admin).email("ada@example.com").create().await;
    let agent = app.user(Role::Agent).email("andy@example.com").create().await;
    let customer = app.user(Role::Customer).email("carla@example.com").create().await;
    let api = Api::for_user(&app, &admin).await;
    let customers_api = Api::for_user(&app, &customer).await;

    let made = api.post("/groups", json!({ "name": "Billing", "members": [agent.id] })).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.data()["id"].as_i64().unwrap();
    assert_eq!(made.headers["location"], format!("/api/v1/groups/{id}").as_str());
    assert_eq!(made.data(), json!({ "id": id, "name": "Billing", "public": false, "members": [agent.id] }));
    assert_eq!(customers_api.get(&format!("/groups/{id}")).await.status, StatusCode::NOT_FOUND, "internal to customers");
    let refused = api.post("/groups", json!({ "name": "Other", "members": [customer.id] })).await;
    assert_eq!((refused.status, refused.field_error("members").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));
    let taken = api.post("/groups", json!({ "name": "Billing" })).await;
    assert_eq!((taken.status, taken.field_error("name").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));

    let public = api.patch(&format!("/groups/{id}"), json!({ "public": true })).await;
    assert_eq!(public.data(), json!({ "id": id, "name": "Billing", "public": true, "members": [agent.id] }));
    assert_eq!(customers_api.get(&format!("/groups/{id}")).await.data(), json!({ "id": id, "name": "Billing", "public": true }));

    // A group with tickets goes only together with moving them.
    let number = app.ticket_for(&customer).group(id).create().await;
    let holding = api.delete(&format!("/groups/{id}")).await;
    assert_eq!(holding.status, StatusCode::CONFLICT);
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await;
    let deleted = api.delete(&format!("/groups/{id}?move_to={general}")).await;
    assert_eq!((deleted.status, deleted.data()), (StatusCode::OK, json!({ "id": id, "tickets_moved": 1 })));
    assert_eq!(app.ticket(number).await.group_id, general);
    assert_eq!(api.get(&format!("/groups/{id}")).await.status, StatusCode::NOT_FOUND);
    let only = api.delete(&format!("/groups/{general}")).await;
    assert_eq!(only.status, StatusCode::CONFLICT, "the only group stays");
}

async fn only_admins_reach_the_admin_routes_of_the_api(app: TestApp) {
    let admin = app.user(Role::Admin).email("ada@example.com").create().await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await;
    let customer = app.user(Role::Customer).email("carla@example.com").create().await;
    let number = app.ticket_for(&customer).create().await;
    let admin_only: [(Method, String); 9] = [
        (Method::GET, "/users".into()),
        (Method::POST, "/users".into()),
        (Method::GET, format!("/users/{}", admin.id)),
        (Method::PATCH, format!("/users/{}", admin.id)),
        (Method::POST, format!("/users/{}/deactivate", admin.id)),
        (Method::POST, format!("/users/{}/reactivate", admin.id)),
        (Method::POST, "/groups".into()),
        (Method::PATCH, format!("/groups/{general}")),
        (Method::DELETE, format!("/groups/{general}")),
    ];
    let body = json!({ "name": "Mallory", "email": "m@example.com", "role": "admin", "password": "a long password" });
    for role in [Role::Agent, Role::Customer] {
        let user = app.user(role).email(format!("{role}-caller@example.com")).create().await;
        let api = Api::for_user(&app, &user).await;
        for (method, path) in &admin_only {
            let body = (*method != Method::GET && *method != Method::DELETE).then(|| body.clone());
            let answer = api.send(method.clone(), path, body).await;
            assert_eq!(
                (answer.status, answer.error_code()),
                (StatusCode::NOT_FOUND, "not_found".to_owned()),
                "{role} {method} {path}"
            );
        }
        let events = api.get(&format!("/tickets/{number}/events")).await.status;
        let expected = if role == Role::Customer { StatusCode::NOT_FOUND } else { StatusCode::OK };
        assert_eq!(events, expected, "{role}: a ticket's events are for staff");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'm@example.com'").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM groups").await, 1);
    let untouched = format!("SELECT COUNT(*) FROM users WHERE id = {} AND active = TRUE AND role = 'admin'", admin.id);
    assert_eq!(app.count(&untouched).await, 1);
}
