//! The admins' pages for ticket fields: defining each kind, the form's refusals beside
//! their fields, the key and kind fixed after creation, the customer flags that imply one
//! another, deletion that leaves the values in the audit log, and nobody else getting in.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::fields;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Browser, TestApp};
use crate::on_both_databases;

on_both_databases!(
    admins_add_a_field_of_each_kind_listed_in_order,
    the_form_refuses_bad_fields_beside_each_one_keeping_what_was_typed,
    key_and_kind_stay_fixed_when_a_field_is_edited,
    a_required_field_is_one_customers_see_and_fill_in,
    deleting_a_field_keeps_its_values_in_the_audit_log,
    agents_and_customers_get_404_on_every_fields_route,
);

/// A field definition as the form posts it: label, key, kind, options, then any checkboxes.
async fn add_field(admin: &Browser, label: &str, key: &str, kind: &str, options: &str, ticked: &[&str]) -> crate::harness::Page {
    admin.get("/admin/fields").await;
    let mut form = vec![("label", label), ("key", key), ("kind", kind), ("options", options), ("position", "")];
    form.extend(ticked.iter().map(|name| (*name, "on")));
    admin.post("/admin/fields", &form).await
}

async fn field_id(app: &TestApp, key: &str) -> i64 {
    app.count(&format!("SELECT id FROM ticket_fields WHERE key = '{key}'")).await
}

/// `[required, customer_visible, customer_editable, required_to_resolve]` as stored.
async fn flags(app: &TestApp, key: &str) -> [bool; 4] {
    let all = fields::all(app.db.pool()).await.unwrap();
    let field = all.iter().find(|field| field.key == key).expect("the field");
    [field.required, field.customer_visible, field.customer_editable, field.required_to_resolve]
}

async fn admins_add_a_field_of_each_kind_listed_in_order(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let page = admin.get("/admin/fields").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of("nav.tabs [aria-current=page]"), "Ticket fields");
    assert_eq!(page.texts("#kind option").len(), 7, "every kind is offered");

    let kinds = [
        ("Summary line", "summary", "text", ""),
        ("Steps to reproduce", "steps", "textarea", ""),
        ("Seats", "seats", "number", ""),
        ("Renewal", "renewal", "date", ""),
        ("Type", "type", "select", "Question\nIncident\n\nRequest\n"),
        ("Areas", "areas", "multiselect", "Billing\nNetwork"),
        ("Under warranty", "warranty", "checkbox", "ignored for a checkbox"),
    ];
    for (label, key, kind, options) in kinds {
        add_field(&admin, label, key, kind, options, &[]).await.assert_redirect("/admin/fields");
    }
    let page = admin.get("/admin/fields").await;
    assert_eq!(page.text_of(".flash"), "Field Under warranty created.");
    // Each new field goes after the others; an explicit position puts one among them.
    admin
        .post(
            "/admin/fields",
            &[("label", "Product"), ("key", "product"), ("kind", "select"), ("options", "A\nB"), ("position", "15")],
        )
        .await
        .assert_redirect("/admin/fields");
    let rows = admin.get("/admin/fields").await.texts("tbody tr");
    assert_eq!(
        rows,
        [
            "Summary line summary Text Staff only 10",
            "Product product One of a list Staff only 15",
            "Steps to reproduce steps Text, several lines Staff only 20",
            "Seats seats Number Staff only 30",
            "Renewal renewal Date Staff only 40",
            "Type type One of a list Staff only 50",
            "Areas areas Several of a list Staff only 60",
            "Under warranty warranty Checkbox Staff only 70",
        ]
    );
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, options FROM ticket_fields ORDER BY position").fetch_all(app.db.pool()).await.unwrap();
    let stored: Vec<(&str, &str)> = stored.iter().map(|(kind, options)| (kind.as_str(), options.as_str())).collect();
    assert_eq!(
        stored,
        [
            ("text", ""),
            ("select", "A\nB"),
            ("textarea", ""),
            ("number", ""),
            ("date", ""),
            ("select", "Question\nIncident\nRequest"),
            ("multiselect", "Billing\nNetwork"),
            ("checkbox", ""),
        ],
        "blank option lines are dropped; only the selects keep options"
    );
    let audited = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'ticket_field.create' AND object_type = 'ticket_field' AND actor_id = {}",
            admin_user.id
        ))
        .await;
    assert_eq!(audited, 8);
    // The desk's new-ticket form asks for them at once.
    let form = admin.get("/desk/tickets/new").await;
    assert!(form.attribute("select[name=field_type]", "name").is_some(), "{}", form.body);
    assert_eq!(form.texts("select[name=field_type] option[value=Incident]"), ["Incident"]);
}

async fn the_form_refuses_bad_fields_beside_each_one_keeping_what_was_typed(app: TestApp) {
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;

    let no_options = add_field(&admin, "Resolution", "resolution_code", "select", " \n", &["required_to_resolve"]).await;
    assert_eq!(no_options.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_options.text_of("#options-error"), "List the options, one per line.");
    assert_eq!(no_options.attribute("#options", "aria-invalid").as_deref(), Some("true"));
    assert_eq!(no_options.attribute("#label", "value").as_deref(), Some("Resolution"), "what was typed stays");
    assert_eq!(no_options.attribute("#key", "value").as_deref(), Some("resolution_code"));
    assert_eq!(no_options.attribute("#kind option[selected]", "value").as_deref(), Some("select"));
    assert!(no_options.attribute("input[name=required_to_resolve]", "checked").is_some());
    assert_eq!(no_options.text_of("#key-error"), "", "only the bad field has a message");

    for bad_key in ["Resolution", "1st", "has-dash", "", &"k".repeat(41)] {
        let refused = add_field(&admin, "Resolution", bad_key, "text", "", &[]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad_key}");
        assert!(refused.text_of("#key-error").starts_with("Use 1 to 40 lower-case letters"), "{bad_key}");
    }

    let everything = admin
        .post("/admin/fields", &[("label", ""), ("key", "ok"), ("kind", "list"), ("options", ""), ("position", "first")])
        .await;
    assert_eq!(everything.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["label", "kind", "position"] {
        assert!(!everything.text_of(&format!("#{field}-error")).is_empty(), "{field}: {}", everything.body);
    }
    assert_eq!(everything.attribute("#position", "value").as_deref(), Some("first"));
    let beyond =
        admin.post("/admin/fields", &[("label", "Late"), ("key", "late"), ("kind", "text"), ("position", "10001")]).await;
    assert_eq!(beyond.text_of("#position-error"), "Enter a whole number from 0 to 10000.");

    add_field(&admin, "Product", "product", "text", "", &[]).await.assert_redirect("/admin/fields");
    let duplicate = add_field(&admin, "Another product", "product", "select", "A", &[]).await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(duplicate.text_of("#key-error"), "Another field has this key already.");
    assert_eq!(duplicate.attribute("#label", "value").as_deref(), Some("Another product"));
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_fields").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE object_type = 'ticket_field'").await, 1);
}

async fn key_and_kind_stay_fixed_when_a_field_is_edited(app: TestApp) {
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    add_field(&admin, "Type", "type", "select", "Question\nIncident", &[]).await.assert_redirect("/admin/fields");
    add_field(&admin, "Notes", "notes", "text", "", &[]).await.assert_redirect("/admin/fields");
    let id = field_id(&app, "type").await;
    let path = format!("/admin/fields/{id}");

    let page = admin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of("#key"), "type");
    assert_eq!(page.text_of("#kind"), "One of a list");
    assert!(page.attribute("input[name=key]", "name").is_none(), "the key is shown, not an input");
    assert_eq!(page.text_of("#options"), "Question Incident");
    assert_eq!(page.attribute("#position", "value").as_deref(), Some("10"));
    assert_eq!(page.text_of("#delete-title + form p"), "No ticket has a value for it.");

    // A key or kind sent anyway changes nothing; an empty position keeps the place.
    let edit = [
        ("label", "Ticket type"),
        ("key", "kind_of_ticket"),
        ("kind", "text"),
        ("options", "Question\nIncident\nProblem"),
        ("position", ""),
    ];
    admin.post(&path, &edit).await.assert_redirect(&path);
    let stored: (String, String, String, String, i64) =
        sqlx::query_as("SELECT key, label, kind, options, position FROM ticket_fields WHERE id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, ("type".into(), "Ticket type".into(), "select".into(), "Question\nIncident\nProblem".into(), 10));
    assert_eq!(admin.get(&path).await.text_of(".flash"), "Field saved.");

    let emptied = admin.post(&path, &[("label", "Ticket type"), ("options", ""), ("position", "5")]).await;
    assert_eq!(emptied.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(emptied.text_of("#options-error"), "List the options, one per line.");
    assert_eq!(emptied.attribute("#position", "value").as_deref(), Some("5"));
    assert_eq!(emptied.text_of("#key"), "type");
    admin.post(&path, &[("label", "Ticket type"), ("options", "Question"), ("position", "50")]).await.assert_redirect(&path);
    let rows = admin.get("/admin/fields").await.texts("tbody td:first-child");
    assert_eq!(rows, ["Notes", "Ticket type"], "moved after Notes");

    let (before, after): (String, String) = sqlx::query_as(
        "SELECT before_state, after_state FROM audit_log WHERE action = 'ticket_field.update' ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let (before, after): (Value, Value) = (serde_json::from_str(&before).unwrap(), serde_json::from_str(&after).unwrap());
    assert_eq!((before["label"].as_str(), after["label"].as_str()), (Some("Type"), Some("Ticket type")));
    assert_eq!(after["key"], "type");
    assert_eq!(admin.get("/admin/fields/99999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.post("/admin/fields/99999", &edit).await.status, StatusCode::NOT_FOUND);
}

async fn a_required_field_is_one_customers_see_and_fill_in(app: TestApp) {
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    add_field(&admin, "Product", "product", "select", "Printer\nScanner", &["required"]).await.assert_redirect("/admin/fields");
    assert_eq!(flags(&app, "product").await, [true, true, true, false], "required implies editable and visible");
    add_field(&admin, "Serial", "serial", "text", "", &["customer_editable"]).await.assert_redirect("/admin/fields");
    assert_eq!(flags(&app, "serial").await, [false, true, true, false], "editable implies visible");
    add_field(&admin, "Cause", "cause", "text", "", &["customer_visible", "required_to_resolve"])
        .await
        .assert_redirect("/admin/fields");
    assert_eq!(flags(&app, "cause").await, [false, true, false, true]);
    let rows = admin.get("/admin/fields").await.texts("tbody td[data-label=Flags]");
    assert_eq!(rows, ["Customers must fill it in", "Customers may fill it in", "Customers see it; required to resolve"]);

    // The edit page shows what the field is, the implied boxes ticked.
    let path = format!("/admin/fields/{}", field_id(&app, "product").await);
    let page = admin.get(&path).await;
    for name in ["required", "customer_visible", "customer_editable"] {
        assert!(page.attribute(&format!("input[name={name}]"), "checked").is_some(), "{name}");
    }
    assert!(page.attribute("input[name=required_to_resolve]", "checked").is_none());
    // Unticking every box makes it a staff-only field.
    admin.post(&path, &[("label", "Product"), ("options", "Printer\nScanner"), ("position", "")]).await.assert_redirect(&path);
    assert_eq!(flags(&app, "product").await, [false; 4]);

    // A customer's new-request form asks for the required field and refuses it empty.
    let (customer, _) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    add_field(&admin, "Model", "model", "text", "", &["required"]).await.assert_redirect("/admin/fields");
    let form = customer.get("/tickets/new").await;
    assert!(form.attribute("[name=field_model]", "name").is_some(), "{}", form.body);
    assert!(form.attribute("[name=field_product]", "name").is_none(), "a staff-only field is not offered");
}

/// A ticket opened on the desk with `fields` set; answers its number.
async fn desk_ticket(app: &TestApp, staff: &Browser, fields: &[(&str, &str)]) -> String {
    staff.get("/desk/tickets/new").await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await.to_string();
    let mut form =
        vec![("requester", "dora@example.com"), ("subject", "Printer"), ("group", general.as_str()), ("message", "It jams.")];
    form.extend_from_slice(fields);
    let created = staff.post("/desk/tickets", &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text_of("main"));
    created.location().unwrap().rsplit('/').next().unwrap().to_owned()
}

/// `(object_id, before, after)` of the audit rows with `action` written after row `since`.
async fn audit_rows(app: &TestApp, action: &str, since: i64) -> Vec<(String, Value, Value)> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT object_id, before_state, after_state FROM audit_log WHERE action = $1 AND id > $2 ORDER BY object_id",
    )
    .bind(action)
    .bind(since)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let json = |state: Option<String>| state.map_or(Value::Null, |state| serde_json::from_str(&state).unwrap());
    rows.into_iter().map(|(object, before, after)| (object, json(before), json(after))).collect()
}

async fn deleting_a_field_keeps_its_values_in_the_audit_log(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    app.user(Role::Customer).email("dora@example.com").create().await;
    add_field(&admin, "Product", "product", "select", "Printer\nScanner", &[]).await.assert_redirect("/admin/fields");
    add_field(&admin, "Areas", "areas", "multiselect", "Billing\nNetwork\nPower", &[]).await.assert_redirect("/admin/fields");
    let first =
        desk_ticket(&app, &admin, &[("field_product", "Printer"), ("field_areas", "Power"), ("field_areas", "Billing")]).await;
    let second = desk_ticket(&app, &admin, &[("field_product", "Scanner")]).await;
    desk_ticket(&app, &admin, &[]).await;

    let product = field_id(&app, "product").await;
    let path = format!("/admin/fields/{product}");
    let page = admin.get(&path).await;
    assert!(page.text_of("#delete-title + form p").starts_with("2 tickets have a value for it"), "{}", page.text_of("aside"));
    assert!(page.attribute("#delete-title + form", "data-confirm").unwrap().contains("2 tickets have a value"));

    // Only what the deletions write, not what opening the tickets did.
    let audited_before = app.count("SELECT COALESCE(MAX(id), 0) FROM audit_log").await;
    admin.post(&format!("{path}/delete"), &[]).await.assert_redirect("/admin/fields");
    let list = admin.get("/admin/fields").await;
    assert_eq!(list.text_of(".flash"), "Field Product deleted; the audit log keeps the values it had on 2 tickets.");
    assert_eq!(list.texts("tbody td:first-child"), ["Areas"]);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM ticket_field_values WHERE field_id = {product}")).await, 0);
    assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND);

    let values = audit_rows(&app, "ticket.fields", audited_before).await;
    assert_eq!(
        values,
        [
            (
                first.clone(),
                serde_json::json!({"fields": {"product": "Printer"}}),
                serde_json::json!({"fields": {"product": null}})
            ),
            (second, serde_json::json!({"fields": {"product": "Scanner"}}), serde_json::json!({"fields": {"product": null}})),
        ]
    );
    let by_others = format!("SELECT COUNT(*) FROM audit_log WHERE id > {audited_before} AND actor_id <> {}", admin_user.id);
    assert_eq!(app.count(&by_others).await, 0, "every row names the admin who deleted");
    let definition = audit_rows(&app, "ticket_field.delete", audited_before).await;
    assert_eq!(definition.len(), 1);
    assert_eq!(definition[0].1["key"], "product");
    assert_eq!(definition[0].1["tickets_with_a_value"], 2);
    assert_eq!(definition[0].2, Value::Null);

    // A multiselect's values are kept as a list.
    let areas = field_id(&app, "areas").await;
    let page = admin.get(&format!("/admin/fields/{areas}")).await;
    assert!(page.text_of("#delete-title + form p").starts_with("1 ticket has a value for it"));
    admin.post(&format!("/admin/fields/{areas}/delete"), &[]).await.assert_redirect("/admin/fields");
    let values = audit_rows(&app, "ticket.fields", audited_before).await;
    let areas_kept: Vec<&Value> =
        values.iter().filter(|(_, before, _)| before["fields"].get("areas").is_some()).map(|(_, b, _)| b).collect();
    assert_eq!(areas_kept, [&serde_json::json!({"fields": {"areas": ["Billing", "Power"]}})]);
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_field_values").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_fields").await, 0);
    let empty = admin.get("/admin/fields").await;
    assert!(empty.text_of("main").contains("No ticket fields yet"));
}

async fn agents_and_customers_get_404_on_every_fields_route(app: TestApp) {
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    add_field(&admin, "Type", "type", "select", "Question", &[]).await.assert_redirect("/admin/fields");
    // A real field behind the id, so that each 404 comes from the guard.
    let id = field_id(&app, "type").await.to_string();
    let routes = crate::routes::pages_under("/admin/fields");
    assert_eq!(routes.len(), 5, "list, create, show, save, delete: {routes:?}");
    for role in [Role::Agent, Role::Customer] {
        let (browser, _) = app.user(role).email(format!("{role}@example.com")).signed_in().await;
        browser.get(role.home()).await;
        for (method, path) in &routes {
            let path = path.replace("{id}", &id);
            let status = match *method {
                "get" => browser.get(&path).await.status,
                _ => browser.post(&path, &[("label", "Mallory"), ("key", "mallory"), ("kind", "text")]).await.status,
            };
            assert_eq!(status, StatusCode::NOT_FOUND, "{role} {method} {path}");
            browser.get(role.home()).await;
        }
        assert!(!browser.get(role.home()).await.body.contains("/admin/fields"), "{role} sees no link to it");
    }
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT key, label FROM ticket_fields").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(stored, [("type".to_owned(), "Type".to_owned())], "nothing created, changed or deleted");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE object_type = 'ticket_field'").await, 1);
    // Signed out, the pages ask for a sign-in.
    let visitor = app.browser();
    assert_eq!(visitor.get("/admin/fields").await.status, StatusCode::SEE_OTHER);
}
