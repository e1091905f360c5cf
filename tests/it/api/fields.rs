//! Ticket fields and tags through the API: shown on tickets and lists (customers: the
//! fields shown to them, never tags), set with a ticket's other properties, checked by kind,
//! required to resolve, filtered on, filled in by customers opening a ticket, and listed
//! by `/states`.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::fields::{self, DefinitionForm, DefinitionInput};
use helpdesk::domain::input::WholeNumber;
use helpdesk::domain::tickets::TicketNumber;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Answer, Api};
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    staff_see_and_set_fields_and_tags_customers_their_visible_fields,
    each_kind_checks_its_values_and_nothing_changes_when_one_is_refused,
    resolving_needs_the_fields_required_to_resolve,
    the_queue_filters_by_tags_and_fields,
    customers_fill_in_fields_when_they_open_a_ticket,
);

/// What a field lets customers do.
#[derive(Clone, Copy)]
enum Shown {
    /// Staff only.
    Staff,
    /// Customers see it.
    Visible,
    /// Customers see and set it.
    Editable,
    /// Customers must fill it in.
    Required,
    /// Staff only, and staff must fill it before resolving.
    ToResolve,
}

/// A field defined through the domain, as an admin would.
async fn define(app: &TestApp, key: &str, kind: &str, options: &str, shown: Shown) {
    let input = DefinitionInput::parse(DefinitionForm {
        key,
        label: &key.replace('_', " "),
        kind,
        options,
        required: matches!(shown, Shown::Required),
        customer_visible: matches!(shown, Shown::Visible),
        customer_editable: matches!(shown, Shown::Editable),
        required_to_resolve: matches!(shown, Shown::ToResolve),
        position: WholeNumber::Typed(""),
    })
    .expect("a valid field");
    let admin = app.fixture_admin().await.id;
    fields::create(&app.db, &input, admin, app.now()).await.expect("field created");
}

/// Every kind once: a select customers set, a checkbox they see, the rest for staff.
async fn define_every_kind(app: &TestApp) {
    define(app, "type", "select", "Question\nIncident", Shown::Editable).await;
    define(app, "warranty", "checkbox", "", Shown::Visible).await;
    define(app, "seats", "number", "", Shown::Staff).await;
    define(app, "renewal", "date", "", Shown::Staff).await;
    define(app, "areas", "multiselect", "Billing\nNetwork\nPortal", Shown::Staff).await;
    define(app, "summary", "text", "", Shown::Staff).await;
    define(app, "steps", "textarea", "", Shown::Staff).await;
}

fn refused(answer: &Answer, field: &str) {
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", answer.text);
    assert!(answer.field_error(field).is_some(), "{field}: {}", answer.text);
}

fn keys(value: &Value) -> Vec<&str> {
    value.as_object().expect("an object").keys().map(String::as_str).collect()
}

async fn staff_see_and_set_fields_and_tags_customers_their_visible_fields(app: TestApp) {
    define_every_kind(&app).await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let number = app.ticket_for(&carla).create().await;
    let path = format!("/tickets/{number}");
    let (staff, customer) = (Api::for_user(&app, &agent).await, Api::for_user(&app, &carla).await);

    // Unset, every field shows: null, an unticked box false, an empty multiselect [].
    let fresh = staff.get(&path).await.data();
    assert_eq!(
        fresh["fields"],
        json!({ "type": null, "warranty": false, "seats": null, "renewal": null, "areas": [], "summary": null, "steps": null })
    );
    assert_eq!(fresh["tags"], json!([]));

    let changes = json!({
        "fields": {
            "type": "incident", "warranty": true, "seats": 12.0, "renewal": "2026-12-01",
            "areas": ["Portal", "billing"], "summary": "Printer on floor 2", "steps": "Print.\nWatch it jam.",
        },
        "tags": ["VIP", "billing", "vip"],
        "priority": "high",
        "version": fresh["version"],
    });
    let changed = staff.patch(&path, changes).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let expected = json!({
        "type": "Incident", "warranty": true, "seats": 12, "renewal": "2026-12-01", "areas": ["Billing", "Portal"],
        "summary": "Printer on floor 2", "steps": "Print.\nWatch it jam.",
    });
    let ticket = changed.data();
    assert_eq!(ticket["fields"], expected, "the options as listed, the number in one spelling");
    assert_eq!(ticket["tags"], json!(["billing", "vip"]), "lower-cased, once each");
    assert_eq!(ticket["priority"], "high", "in the same change");
    assert_eq!(ticket["version"].as_i64(), Some(fresh["version"].as_i64().unwrap() + 1), "one versioned change");
    assert_eq!(staff.get(&path).await.data()["fields"], expected);

    // The queue's rows carry them too.
    let row = staff.get("/tickets").await.data()[0].clone();
    assert_eq!((row["fields"].clone(), row["tags"].clone()), (expected, json!(["billing", "vip"])));

    // A customer sees the fields shown to customers, and no tags at all.
    let theirs = customer.get(&path).await.data();
    assert_eq!(theirs["fields"], json!({ "type": "Incident", "warranty": true }));
    assert!(theirs.get("tags").is_none(), "{theirs}");
    let item = customer.get("/tickets").await.data()[0].clone();
    assert_eq!(item["fields"], json!({ "type": "Incident", "warranty": true }));
    assert!(item.get("tags").is_none(), "{item}");
    assert!(!customer.get(&path).await.text.contains("billing"), "nothing of the tags leaks");

    // Null, false, "" and [] clear; a field not sent stays.
    let cleared = staff
        .patch(&path, json!({ "fields": { "warranty": false, "seats": null, "areas": [], "summary": "" }, "tags": [] }))
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
    let fields = cleared.data()["fields"].clone();
    assert_eq!(
        (fields["warranty"].clone(), fields["seats"].clone(), fields["areas"].clone(), fields["summary"].clone()),
        (json!(false), Value::Null, json!([]), Value::Null)
    );
    assert_eq!(fields["type"], "Incident");
    assert_eq!(cleared.data()["tags"], json!([]));

    // Customers change neither fields nor tags.
    refused(&customer.patch(&path, json!({ "fields": { "type": "Question" } })).await, "fields");
    refused(&customer.patch(&path, json!({ "status": "closed", "tags": ["mine"] })).await, "tags");
    assert_eq!(staff.get(&path).await.data()["fields"]["type"], "Incident");
    assert_eq!(app.ticket(number).await.status.as_str(), "open", "nothing of a refused change applies");

    // /states lists the fields: every one for staff, the visible ones for a customer.
    let for_staff = staff.get("/states?type=fields").await.data();
    assert_eq!(keys(&for_staff), ["fields"]);
    let listed: Vec<&str> = for_staff["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(listed, ["type", "warranty", "seats", "renewal", "areas", "summary", "steps"]);
    assert_eq!(
        for_staff["fields"][0],
        json!({
            "key": "type", "label": "type", "kind": "select", "options": ["Question", "Incident"], "required": false,
            "customer_visible": true, "customer_editable": true, "required_to_resolve": false,
        })
    );
    let for_customer = customer.get("/states").await.data();
    let listed: Vec<&str> = for_customer["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(listed, ["type", "warranty"]);
    assert!(keys(&staff.get("/states").await.data()).contains(&"fields"));
    assert_eq!(keys(&staff.get("/states?type=priority").await.data()), ["priority"]);
}

async fn each_kind_checks_its_values_and_nothing_changes_when_one_is_refused(app: TestApp) {
    define_every_kind(&app).await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let number = app.ticket_for(&carla).create().await;
    let path = format!("/tickets/{number}");
    let staff = Api::for_user(&app, &agent).await;
    let version = app.ticket(number).await.version;

    for (fields, field) in [
        (json!({ "seats": "twelve" }), "field_seats"),
        (json!({ "seats": true }), "field_seats"),
        (json!({ "renewal": "2026-02-30" }), "field_renewal"),
        (json!({ "renewal": "next week" }), "field_renewal"),
        (json!({ "type": "Other" }), "field_type"),
        (json!({ "type": ["Question", "Incident"] }), "field_type"),
        (json!({ "areas": ["Billing", "Mars"] }), "field_areas"),
        (json!({ "areas": [1, 2] }), "field_areas"),
        (json!({ "warranty": "maybe" }), "field_warranty"),
        (json!({ "summary": "a\u{7}b" }), "field_summary"),
        (json!({ "summary": { "nested": true } }), "field_summary"),
        (json!({ "colour": "red" }), "field_colour"),
    ] {
        refused(&staff.patch(&path, json!({ "fields": fields, "priority": "urgent" })).await, field);
    }
    for tags in [json!(["ok", "not/ok"]), json!(["-x"]), json!([""])] {
        refused(&staff.patch(&path, json!({ "tags": tags })).await, "tags");
    }
    let many: Vec<String> = (0..31).map(|n| format!("t{n}")).collect();
    refused(&staff.patch(&path, json!({ "tags": many })).await, "tags");
    let both = staff.patch(&path, json!({ "fields": { "seats": "x" }, "tags": ["a b"], "status": "asleep" })).await;
    for field in ["tags", "status"] {
        refused(&both, field);
    }
    refused(&staff.patch(&path, json!({ "fields": ["seats"] })).await, "fields");
    let ticket = app.ticket(number).await;
    assert_eq!((ticket.version, ticket.priority.as_str()), (version, "medium"), "a refused change changes nothing");
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_field_values").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_tags").await, 0);

    // A stale version is still a conflict, fields and tags or not.
    let set = staff.patch(&path, json!({ "fields": { "seats": 3 }, "version": version })).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let stale = staff.patch(&path, json!({ "fields": { "seats": 4 }, "tags": ["late"], "version": version })).await;
    assert_eq!((stale.status, stale.error_code().as_str()), (StatusCode::CONFLICT, "stale"), "{}", stale.text);
    let now = staff.get(&path).await.data();
    assert_eq!((now["fields"]["seats"].clone(), now["tags"].clone()), (json!(3), json!([])));
    let etag = format!("\"v{version}\"");
    let conditional =
        staff.send_with(reqwest::Method::PATCH, &path, Some(json!({ "tags": ["late"] })), &[("If-Match", &etag)]).await;
    assert_eq!(conditional.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_tags").await, 0);
}

async fn resolving_needs_the_fields_required_to_resolve(app: TestApp) {
    define(&app, "resolution", "select", "Fixed\nWorkaround", Shown::ToResolve).await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let number = app.ticket_for(&carla).create().await;
    let path = format!("/tickets/{number}");
    let staff = Api::for_user(&app, &agent).await;

    for status in ["resolved", "closed"] {
        let refused_change = staff.patch(&path, json!({ "status": status, "priority": "high" })).await;
        refused(&refused_change, "field_resolution");
        assert_eq!(app.ticket(number).await.status.as_str(), "new", "{status}");
        assert_eq!(app.ticket(number).await.priority.as_str(), "medium", "nothing of it applies");
    }
    let resolved = staff.patch(&path, json!({ "status": "resolved", "fields": { "resolution": "fixed" } })).await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    assert_eq!(
        (resolved.data()["status"].as_str(), resolved.data()["fields"]["resolution"].as_str()),
        (Some("resolved"), Some("Fixed"))
    );
    let customer = Api::for_user(&app, &carla).await;
    assert_eq!(customer.get(&path).await.data()["fields"], json!({}), "a staff field stays with staff");
}

async fn the_queue_filters_by_tags_and_fields(app: TestApp) {
    define(&app, "type", "select", "Question\nIncident", Shown::Editable).await;
    define(&app, "areas", "multiselect", "Billing\nNetwork", Shown::Staff).await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let staff = Api::for_user(&app, &agent).await;
    let mut numbers = Vec::new();
    for (subject, tags, kind, areas) in [
        ("Both tags", json!(["vip", "billing"]), "Incident", json!(["Billing", "Network"])),
        ("Only vip", json!(["vip"]), "Incident", json!(["Network"])),
        ("Only billing", json!(["billing", "refund"]), "Question", json!([])),
    ] {
        let number = app.ticket_for(&carla).subject(subject).create().await;
        let changed =
            staff.patch(&format!("/tickets/{number}"), json!({ "tags": tags, "fields": { "type": kind, "areas": areas } })).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        numbers.push(number);
    }
    let found = |answer: Answer| -> Vec<i64> {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let mut ids: Vec<i64> = answer.data().as_array().unwrap().iter().map(|row| row["id"].as_i64().unwrap()).collect();
        ids.sort_unstable();
        ids
    };
    let ids = |picked: &[usize]| -> Vec<i64> { picked.iter().map(|index| TicketNumber::get(numbers[*index])).collect() };

    assert_eq!(found(staff.get("/tickets?tag=vip").await), ids(&[0, 1]));
    assert_eq!(found(staff.get("/tickets?tag=vip&tag=billing").await), ids(&[0]), "every tag must match");
    assert_eq!(found(staff.get("/tickets?tag=VIP&tag=Billing").await), ids(&[0]), "tags are lower-cased");
    assert_eq!(found(staff.get("/tickets?tag=legal").await), ids(&[]));
    assert_eq!(found(staff.get("/tickets?field_type=incident").await), ids(&[0, 1]));
    assert_eq!(found(staff.get("/tickets?field_type=Question").await), ids(&[2]));
    assert_eq!(found(staff.get("/tickets?field_areas=Network").await), ids(&[0, 1]), "one of a multiselect's");
    assert_eq!(found(staff.get("/tickets?field_type=Incident&tag=billing").await), ids(&[0]));
    let listed = staff.get("/tickets?field_type=Question").await.json();
    assert_eq!(listed["meta"]["total"], 1);
    assert_eq!(listed["data"][0]["tags"], json!(["billing", "refund"]));

    refused(&staff.get("/tickets?tag=not/ok").await, "tag");
    refused(&staff.get("/tickets?field_colour=red").await, "field_colour");
    refused(&staff.get("/tickets?field_type=Other").await, "field_type");

    // Customers filter on neither: like every staff filter, a 422 naming it.
    let customer = Api::for_user(&app, &carla).await;
    refused(&customer.get("/tickets?tag=vip").await, "tag");
    refused(&customer.get("/tickets?field_type=Incident").await, "field_type");
    assert_eq!(customer.get("/tickets").await.data().as_array().unwrap().len(), 3);
}

async fn customers_fill_in_fields_when_they_open_a_ticket(app: TestApp) {
    define(&app, "product", "select", "Portal\nMobile app", Shown::Required).await;
    define(&app, "warranty", "checkbox", "", Shown::Visible).await;
    define(&app, "internal_code", "text", "", Shown::Staff).await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let customer = Api::for_user(&app, &carla).await;
    let general = customer.get("/groups").await.data()[0]["id"].clone();
    let new_ticket =
        |fields: Value| json!({ "subject": "Login fails", "message": "Since Monday.", "group": general, "fields": fields });

    let missing = customer.post("/tickets", json!({ "subject": "", "message": "Since Monday.", "group": general })).await;
    refused(&missing, "field_product");
    refused(&missing, "subject");
    refused(&customer.post("/tickets", new_ticket(json!({}))).await, "field_product");
    refused(&customer.post("/tickets", new_ticket(json!({ "product": null }))).await, "field_product");
    refused(&customer.post("/tickets", new_ticket(json!({ "product": "Desktop" }))).await, "field_product");
    for not_theirs in ["warranty", "internal_code"] {
        let answer = customer.post("/tickets", new_ticket(json!({ "product": "Portal", not_theirs: true }))).await;
        refused(&answer, &format!("field_{not_theirs}"));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0, "nothing stored, no number spent");

    let created = customer.post("/tickets", new_ticket(json!({ "product": "mobile app" }))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.data()["fields"], json!({ "product": "Mobile app", "warranty": false }));
    assert!(created.data().get("tags").is_none());
    let id = created.data()["id"].as_i64().unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_field_values WHERE value = 'Mobile app'").await, 1, "stored");
    let staff = Api::for_user(&app, &agent).await;
    assert_eq!(
        staff.get(&format!("/tickets/{id}")).await.data()["fields"],
        json!({ "product": "Mobile app", "warranty": false, "internal_code": null })
    );

    // Staff set any field when they open one, required or not.
    let phoned = staff
        .post(
            "/tickets",
            json!({
                "subject": "Phone call", "message": "Portal down", "group": general, "requester": "carla@example.com",
                "fields": { "internal_code": "P-7", "warranty": true },
            }),
        )
        .await;
    assert_eq!(phoned.status, StatusCode::CREATED, "{}", phoned.text);
    assert_eq!(phoned.data()["fields"], json!({ "product": null, "warranty": true, "internal_code": "P-7" }));
    assert_eq!(phoned.data()["tags"], json!([]));
    let bad = staff
        .post(
            "/tickets",
            json!({ "subject": "", "message": "M", "group": general, "requester": "carla@example.com", "fields": { "nope": 1 } }),
        )
        .await;
    refused(&bad, "field_nope");
    refused(&bad, "subject");
}
