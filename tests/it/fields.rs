//! Ticket fields and tags on the pages: customers fill the fields they may on a new
//! request and see the visible ones; agents set every field and the tags, cannot resolve
//! without the fields required to resolve (also in bulk), and filter the queue by both.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::fields::{self, DefinitionForm, DefinitionInput};
use helpdesk::domain::input::WholeNumber;
use helpdesk::domain::tags;
use helpdesk::domain::tickets::TicketNumber;
use reqwest::StatusCode;

use crate::harness::{Page, TestApp};
use crate::on_both_databases;

on_both_databases!(
    customers_fill_and_see_only_their_fields,
    agents_set_fields_and_cannot_resolve_without_the_required_ones,
    tags_are_set_filtered_counted_and_changed_in_bulk,
    a_filtered_queue_page_takes_the_same_statements_for_3_or_50_rows,
    a_deleted_fields_values_leave_search_and_stay_in_the_audit_log,
);

/// Defines a field as an admin would.
pub async fn define(app: &TestApp, key: &str, kind: &str, options: &str, flags: &[&str]) -> i64 {
    let admin = app.fixture_admin().await.id;
    let label = label_of(key);
    let form = DefinitionForm {
        key,
        label: &label,
        kind,
        options,
        required: flags.contains(&"required"),
        customer_visible: flags.contains(&"visible"),
        customer_editable: flags.contains(&"editable"),
        required_to_resolve: flags.contains(&"to_resolve"),
        position: WholeNumber::Absent,
    };
    fields::create(&app.db, &DefinitionInput::parse(form).unwrap(), admin, app.now()).await.unwrap()
}

/// `resolution_code` → "Resolution code".
fn label_of(key: &str) -> String {
    let spaced = key.replace('_', " ");
    let mut characters = spaced.chars();
    characters.next().map(|first| first.to_uppercase().chain(characters).collect()).unwrap_or_default()
}

async fn values_of(app: &TestApp, number: TicketNumber, key: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT v.value FROM ticket_field_values v JOIN ticket_fields f ON f.id = v.field_id \
         JOIN tickets t ON t.id = v.ticket_id WHERE t.number = $1 AND f.key = $2 ORDER BY v.value",
    )
    .bind(number.get())
    .bind(key)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

fn subjects(page: &Page) -> Vec<String> {
    let mut subjects = page.texts(".desk-list td.subject > a");
    subjects.sort();
    subjects
}

async fn customers_fill_and_see_only_their_fields(app: TestApp) {
    define(&app, "type", "select", "Question\nIncident\nRequest", &["required"]).await;
    define(&app, "order_number", "text", "", &["editable"]).await;
    define(&app, "product", "select", "Portal\nApp", &["visible"]).await;
    define(&app, "internal_ref", "text", "", &[]).await;
    let (browser, _) = app.user(Role::Customer).email("cleo@example.com").name("Cleo").signed_in().await;
    let group = app.group("Support").public().create().await.to_string();

    let form = browser.get("/tickets/new").await;
    assert!(form.attribute("select[name=field_type]", "name").is_some());
    assert!(form.attribute("input[name=field_order_number]", "name").is_some());
    for hidden in ["field_product", "field_internal_ref"] {
        assert!(form.attribute(&format!("[name={hidden}]"), "name").is_none(), "{hidden} is not the customer's to set");
    }
    let base = [("subject", "Cannot pay"), ("group", group.as_str()), ("message", "The card is refused.")];
    let refused = browser.post("/tickets", &[&base[..], &[("field_type", ""), ("field_order_number", "48213")]].concat()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.text_of("#field_type-error"), "Type is required.");
    assert_eq!(refused.attribute("input[name=field_order_number]", "value").as_deref(), Some("48213"), "kept as typed");
    let refused = browser.post("/tickets", &[&base[..], &[("field_type", "Complaint")]].concat()).await;
    assert_eq!(refused.text_of("#field_type-error"), "“Complaint” is not one of the options of Type.");
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0, "nothing half-saved");

    let sent =
        [("field_type", "incident"), ("field_order_number", " 48213 "), ("field_product", "App"), ("field_internal_ref", "x")];
    browser.post("/tickets", &[&base[..], &sent].concat()).await.assert_redirect("/tickets/1001");
    let number = TicketNumber::parse("1001").unwrap();
    assert_eq!(values_of(&app, number, "type").await, ["Incident"], "spelled as the option");
    assert_eq!(values_of(&app, number, "order_number").await, ["48213"]);
    assert!(values_of(&app, number, "product").await.is_empty(), "a visible field is not an editable one");
    assert!(values_of(&app, number, "internal_ref").await.is_empty(), "unknown form fields are ignored");
    let created =
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.create' AND after_state LIKE '%Incident%'").await;
    assert_eq!(created, 1, "the values are in the audit log");

    // Staff set the product and an internal reference: the customer sees the one visible.
    let (agent, _) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    agent.get("/desk").await;
    let version = app.ticket(number).await.version.to_string();
    let saved = [("version", version.as_str()), ("field_product", "Portal"), ("field_internal_ref", "CRM-7")];
    agent.post("/desk/tickets/1001", &saved).await.assert_redirect("/desk/tickets/1001");
    let page = browser.get("/tickets/1001").await;
    let facts = page.text_of(".facts");
    assert!(
        facts.contains("Type Incident") && facts.contains("Product Portal") && facts.contains("Order number 48213"),
        "{facts}"
    );
    assert!(!page.text_of("main").contains("CRM-7") && !page.text_of("main").contains("Internal ref"));
}

async fn agents_set_fields_and_cannot_resolve_without_the_required_ones(app: TestApp) {
    define(&app, "resolution", "select", "Fixed\nWorkaround", &["to_resolve"]).await;
    define(&app, "effort", "number", "", &[]).await;
    define(&app, "promised", "date", "", &[]).await;
    define(&app, "modules", "multiselect", "Mail\nPortal\nReports", &[]).await;
    define(&app, "escalated", "checkbox", "", &[]).await;
    define(&app, "notes", "textarea", "", &[]).await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let (browser, _) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let number = app.ticket_for(&customer).subject("Reports are slow").create().await;
    let path = format!("/desk/tickets/{number}");
    let version = || async { app.ticket(number).await.version.to_string() };

    let page = browser.get(&path).await;
    for name in ["field_resolution", "field_effort", "field_promised", "field_modules", "field_escalated", "field_notes"] {
        assert!(page.attribute(&format!(".properties [name={name}]"), "name").is_some(), "{name} on the workspace");
    }
    let bad =
        [("field_effort", "two"), ("field_promised", "2026-02-30"), ("field_modules", "Billing"), ("field_escalated", "maybe")];
    let current = version().await;
    let refused = browser.post(&path, &[&[("version", current.as_str())][..], &bad].concat()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.text_of("#p-field_effort-error"), "Effort takes a number, like 12 or 3.5.");
    assert_eq!(refused.text_of("#p-field_promised-error"), "Promised takes a date like 2026-01-31.");
    assert_eq!(refused.text_of("#p-field_modules-error"), "“Billing” is not one of the options of Modules.");
    assert!(refused.text_of("#p-field_escalated-error").contains("ticked"));
    assert_eq!(refused.attribute("#p-field_effort", "value").as_deref(), Some("two"), "kept as typed");
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_field_values").await, 0);

    let good = [
        ("version", current.as_str()),
        ("field_effort", "2.50"),
        ("field_promised", "2026-12-24"),
        ("field_modules", ""),
        ("field_modules", "Reports"),
        ("field_modules", "mail"),
        ("field_escalated", ""),
        ("field_escalated", "true"),
        ("field_notes", "Two\r\nlines"),
    ];
    browser.post(&path, &good).await.assert_redirect(&path);
    assert_eq!(values_of(&app, number, "effort").await, ["2.5"]);
    assert_eq!(values_of(&app, number, "modules").await, ["Mail", "Reports"]);
    assert_eq!(values_of(&app, number, "escalated").await, ["true"]);
    assert_eq!(values_of(&app, number, "notes").await, ["Two\nlines"]);
    let page = browser.get(&path).await;
    assert!(page.text_of(".timeline").contains("Ann set Effort: 2.5"), "{}", page.text_of(".timeline"));
    assert_eq!(page.attribute("#p-field_escalated", "checked").as_deref(), Some(""));
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.fields'").await, 1, "one change, one row");
    // Unticking and clearing: the empty entries the form sends say "nothing".
    let current = version().await;
    let cleared = [("version", current.as_str()), ("field_escalated", ""), ("field_modules", "")];
    browser.post(&path, &cleared).await.assert_redirect(&path);
    assert!(values_of(&app, number, "escalated").await.is_empty() && values_of(&app, number, "modules").await.is_empty());
    assert_eq!(values_of(&app, number, "effort").await, ["2.5"], "a field not sent stays");

    // Resolving needs a resolution: from the side panel, the reply box and in bulk.
    let current = version().await;
    let refused = browser.post(&path, &[("version", current.as_str()), ("status", "resolved")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.text_of("#p-field_resolution-error"), "Fill in Resolution before the ticket is resolved.");
    let reply =
        browser.post(&format!("{path}/replies"), &[("body", "Fixed it."), ("visibility", "public"), ("status", "closed")]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text_of("main").contains("Fill in Resolution before the ticket is closed."));
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE body = 'Fixed it.'").await, 0, "the reply was not sent half");
    assert_eq!(app.ticket(number).await.status.as_str(), "open");
    let other = app.ticket_for(&customer).subject("Second").create().await.to_string();
    let bulk = [
        ("tickets", number.to_string()),
        ("tickets", other.clone()),
        ("status", "resolved".into()),
        ("return_to", "/desk".into()),
    ];
    let bulk: Vec<(&str, &str)> = bulk.iter().map(|(name, value)| (*name, value.as_str())).collect();
    browser.post("/desk/tickets/bulk", &bulk).await.assert_redirect("/desk");
    let flash = browser.get("/desk").await.text_of(".flash");
    assert!(flash.starts_with("Updated 0 of 2 selected tickets. Skipped"), "{flash}");
    assert!(flash.contains(&format!("TCK-{number}: Fill in Resolution")) && flash.contains(&format!("TCK-{other}")), "{flash}");
    // With the resolution in the same submit, it resolves.
    let current = version().await;
    let resolving = [("version", current.as_str()), ("status", "resolved"), ("field_resolution", "Workaround")];
    browser.post(&path, &resolving).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.status.as_str(), "resolved");
    // Closing needs it too: cleared on the resolved ticket, it cannot close.
    let current = version().await;
    let closing = [("version", current.as_str()), ("status", "closed"), ("field_resolution", "")];
    assert_eq!(browser.post(&path, &closing).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.ticket(number).await.status.as_str(), "resolved");
    assert_eq!(values_of(&app, number, "resolution").await, ["Workaround"], "nothing of the refused change is kept");
}

async fn tags_are_set_filtered_counted_and_changed_in_bulk(app: TestApp) {
    define(&app, "type", "select", "Question\nIncident", &["editable"]).await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let (customer_browser, own_customer) = app.user(Role::Customer).email("own@example.com").name("Own").signed_in().await;
    let (browser, _) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let first = app.ticket_for(&customer).subject("Invoice twice").create().await;
    let second = app.ticket_for(&customer).subject("Refund please").create().await;
    let third = app.ticket_for(&customer).subject("Printer jams").create().await;
    browser.get("/desk").await;

    let refused = browser.post(&format!("/desk/tickets/{first}/tags"), &[("tags", "billing, no/slash")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text_of("#tags-error").contains("“no/slash” is not a tag"));
    assert_eq!(refused.attribute("#tags", "value").as_deref(), Some("billing, no/slash"), "kept as typed");
    for (number, tags) in [(first, "Billing, VIP"), (second, "billing refund"), (third, "vip")] {
        browser
            .post(&format!("/desk/tickets/{number}/tags"), &[("tags", tags)])
            .await
            .assert_redirect(&format!("/desk/tickets/{number}"));
    }
    let counts: Vec<(String, i64)> = sqlx::query_as("SELECT tag, CAST(tickets AS BIGINT) FROM tag_counts ORDER BY tag")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(counts, [("billing".into(), 2), ("refund".into(), 1), ("vip".into(), 2)]);
    let page = browser.get(&format!("/desk/tickets/{first}")).await;
    assert!(page.text_of(".timeline").contains("Ann set the tags to billing, vip"));
    // The tags form replaces the set: one made on an older version is refused, not merged.
    let stale = [("tags", "billing"), ("version", "1")];
    assert_eq!(browser.post(&format!("/desk/tickets/{first}/tags"), &stale).await.status, StatusCode::CONFLICT);
    assert_eq!(tags::of_ticket(app.db.pool(), app.ticket(first).await.id).await.unwrap(), ["billing", "vip"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.tags'").await, 3);

    // Filters: every tag given must match; a field value too; an unknown field is said.
    let both = browser.get("/desk?view=all&tag=billing&tag=VIP").await;
    assert_eq!(subjects(&both), ["Invoice twice"]);
    assert_eq!(subjects(&browser.get("/desk?view=all&tag=billing").await), ["Invoice twice", "Refund please"]);
    assert!(browser.get("/desk?view=all").await.text_of(".tag-list").contains("billing 2"), "the tag list counts");
    let blank = browser.get("/desk?view=all&tag=&tag=billing&tag=a/b").await;
    assert_eq!(blank.texts(".filter-note .tag"), ["billing"], "blank and unreadable tags are no filters");
    assert!(blank.text_of("main").contains("Ignored: “a/b” is not a tag"));
    let version = app.ticket(second).await.version.to_string();
    browser.post(&format!("/desk/tickets/{second}"), &[("version", &version), ("field_type", "Incident")]).await;
    assert_eq!(subjects(&browser.get("/desk?view=all&field_type=incident").await), ["Refund please"]);
    assert_eq!(subjects(&browser.get("/desk?view=all&field_type=Incident&tag=vip").await), Vec::<String>::new());
    let unknown = browser.get("/desk?view=all&field_colour=red").await;
    assert!(unknown.text_of("main").contains("Ignored: There is no field “colour”."));
    assert_eq!(subjects(&unknown).len(), 3);
    assert_eq!(subjects(&browser.get("/desk?q=refund").await), ["Refund please"], "search finds a tag");

    // Bulk: one tag added to two tickets, one removed.
    let bulk = [
        ("tickets", first.to_string()),
        ("tickets", third.to_string()),
        ("add_tag", "Urgent".into()),
        ("remove_tag", "vip".into()),
    ];
    let bulk: Vec<(&str, &str)> = bulk.iter().map(|(name, value)| (*name, value.as_str())).collect();
    browser.post("/desk/tickets/bulk", &bulk).await.assert_redirect("/desk");
    assert_eq!(browser.get("/desk").await.text_of(".flash"), "Updated 2 of 2 selected tickets.");
    assert_eq!(subjects(&browser.get("/desk?view=all&tag=urgent").await), ["Invoice twice", "Printer jams"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM tag_counts WHERE tag = 'vip'").await, 0, "a tag on no ticket leaves the list");
    let refused = browser.post("/desk/tickets/bulk", &[("tickets", "1001"), ("add_tag", "a b")]).await;
    refused.assert_redirect("/desk");
    assert!(browser.get("/desk").await.text_of(".flash").contains("is not a tag"));

    // Tags are for staff: the portal never shows them.
    let own = app.ticket_for(&own_customer).subject("Mine").create().await;
    browser.post(&format!("/desk/tickets/{own}/tags"), &[("tags", "difficult-customer")]).await;
    assert!(!customer_browser.get(&format!("/tickets/{own}")).await.text_of("body").contains("difficult"));
}

async fn a_deleted_fields_values_leave_search_and_stay_in_the_audit_log(app: TestApp) {
    let field = define(&app, "machine", "text", "", &[]).await;
    define(&app, "site", "text", "", &[]).await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let (browser, _) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let number = app.ticket_for(&customer).subject("Noise").create().await;
    browser.get("/desk").await;
    let version = app.ticket(number).await.version.to_string();
    let values = [("version", version.as_str()), ("field_machine", "zx81"), ("field_site", "harwell")];
    browser.post(&format!("/desk/tickets/{number}"), &values).await.assert_redirect(&format!("/desk/tickets/{number}"));
    assert_eq!(subjects(&browser.get("/desk?q=zx81").await), ["Noise"], "found by a field's value");

    fields::delete(&app.db, field, app.fixture_admin().await.id, app.now()).await.unwrap();
    assert!(subjects(&browser.get("/desk?q=zx81").await).is_empty(), "the deleted field's value left the search");
    assert_eq!(subjects(&browser.get("/desk?q=harwell").await), ["Noise"], "the other field's value stays");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT before_state, after_state FROM audit_log WHERE action = 'ticket.fields' ORDER BY id")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    let parsed: Vec<(serde_json::Value, serde_json::Value)> = rows
        .iter()
        .map(|(before, after)| (serde_json::from_str(before).unwrap(), serde_json::from_str(after).unwrap()))
        .collect();
    let deleted = parsed.last().expect("the deletion's row");
    assert_eq!(deleted.0["fields"]["machine"], "zx81", "the value is kept");
    assert_eq!(deleted.1["fields"]["machine"], serde_json::Value::Null);
}

async fn a_filtered_queue_page_takes_the_same_statements_for_3_or_50_rows(app: TestApp) {
    define(&app, "type", "select", "Question\nIncident", &[]).await;
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    crate::statements::start_counting();
    let measure = || async {
        let uri = crate::statements::marked("/desk?view=all&tag=billing&tag=vip&field_type=Incident");
        let page = browser.get(&uri).await;
        (crate::statements::statements_of(&uri), page.texts(".desk-list tbody tr").len())
    };
    let shape = |number: TicketNumber| {
        let app = &app;
        let me = &me;
        async move {
            let ticket = app.ticket(number).await;
            let mut changes = helpdesk::domain::conversation::staff::Changes {
                tags: Some(helpdesk::domain::tags::TagChange::Replace(
                    helpdesk::domain::tags::TagSet::parse("billing, vip, extra").unwrap(),
                )),
                ..Default::default()
            };
            changes.fields.entries.insert("type".into(), vec!["Incident".into()]);
            helpdesk::domain::conversation::staff::update(&app.db, &ticket, me, &changes, None, app.now()).await.unwrap();
        }
    };
    for index in 0..3 {
        shape(app.ticket_for(&customer).subject(format!("t{index}")).create().await).await;
    }
    let (few, rows) = measure().await;
    assert_eq!(rows, 3);
    for index in 3..60 {
        shape(app.ticket_for(&customer).subject(format!("t{index}")).create().await).await;
    }
    let (many, rows) = measure().await;
    assert_eq!(rows, 50);
    assert!(few > 0, "the statements are counted");
    assert_eq!(few, many, "statements for 3 rows vs 50");
}
