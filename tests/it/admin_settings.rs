//! Settings, validated and applied at once, and the audit log of every admin action,
//! which the database itself keeps from being changed.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use helpdesk::domain::conversation::staff::{self, Changes};
use reqwest::StatusCode;

use crate::harness::{PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases!(
    settings_are_validated_and_apply_at_once,
    audit_log_lists_every_admin_action_with_filters_and_pages,
    the_database_refuses_to_change_audit_rows,
);

async fn settings_are_validated_and_apply_at_once(app: TestApp) {
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let customer = app.user(Role::Customer).email("customer@example.com").name("Customer").create().await;
    let old = app.ticket_for(&customer).subject("Before the change").message("Hello").create().await;
    let form = admin.get("/admin/settings").await;
    assert_eq!(form.attribute("#ticket_prefix", "value").as_deref(), Some("TCK-"));
    assert_eq!(form.attribute("#sla_urgent_resolution_hours", "value").as_deref(), Some("4"));
    let mut fields: Vec<(String, String)> = form
        .html()
        .select(&scraper::Selector::parse("form.settings-form input:not([type=hidden]):not([type=checkbox])").unwrap())
        .map(|input| (input.value().attr("name").unwrap().to_owned(), input.value().attr("value").unwrap_or("").to_owned()))
        .collect();
    assert_eq!(fields.len(), 11);
    let set = |fields: &mut Vec<(String, String)>, name: &str, value: &str| {
        fields.iter_mut().find(|(each, _)| each == name).unwrap().1 = value.to_owned();
    };
    let post = |fields: Vec<(String, String)>| {
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
            admin.post("/admin/settings", &pairs).await
        }
    };

    let mut bad = fields.clone();
    set(&mut bad, "ticket_prefix", "bad prefix!");
    set(&mut bad, "auto_close_hours", "0");
    set(&mut bad, "sla_high_first_response_hours", "48");
    let refused = post(bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.text_of("#ticket_prefix-error"), "Use only letters A–Z, digits and hyphens, for example TCK-.");
    assert!(!refused.text_of("#auto_close_hours-error").is_empty());
    assert!(refused.text_of("#sla_high_resolution_hours-error").contains("cannot come before"));
    assert_eq!(refused.attribute("#ticket_prefix", "value").as_deref(), Some("bad prefix!"));
    assert_eq!(app.count("SELECT COUNT(*) FROM settings").await, 0);

    set(&mut fields, "organisation_name", "Acme Support");
    set(&mut fields, "ticket_prefix", "hd-");
    set(&mut fields, "auto_close_hours", "24");
    set(&mut fields, "sla_medium_first_response_hours", "2");
    post(fields).await.assert_redirect("/admin/settings");
    assert_eq!(admin.get("/admin/settings").await.text_of(".brand"), "Acme Support");

    let new = app.ticket_for(&customer).subject("After the change").message("Hello").create().await;
    assert_eq!(app.ticket(old).await.prefix, "TCK-");
    let ticket = app.ticket(new).await;
    assert_eq!(ticket.prefix, "HD-");
    assert_eq!(ticket.due_at, Some(ticket.created_at + 2 * 3600), "the new first-response target applies");
    let customer_browser = app.browser();
    customer_browser.sign_in(&customer.email, PASSWORD).await;
    assert!(customer_browser.get("/tickets?status=all").await.texts("td[data-label=Number]").contains(&format!("HD-{new}")));
    let audited: (String, String) =
        sqlx::query_as("SELECT before_state, after_state FROM audit_log WHERE action = 'settings.update'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        audited.1,
        r#"{"auto_close_hours":"24","organisation_name":"Acme Support","sla_medium_first_response_hours":"2","ticket_prefix":"HD-"}"#
    );
    assert!(audited.0.contains(r#""ticket_prefix":"TCK-""#));
}

async fn audit_log_lists_every_admin_action_with_filters_and_pages(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let other = app.user(Role::Admin).email("other@example.com").name("Olga Other").create().await;
    admin.get("/admin/groups").await;
    for number in 0..55 {
        admin.post("/admin/groups", &[("name", &format!("Team {number:02}"))]).await.assert_redirect("/admin/groups");
    }
    app.clock.advance(3 * 24 * 3600);
    user_admin::set_active(&app.db, other.id, false, Some(admin_user.id), app.now()).await.unwrap();
    user_admin::set_active(&app.db, other.id, true, Some(other.id), app.now()).await.unwrap();

    let rows = |page: &crate::harness::Page| page.texts(".audit-list td[data-label=Action] code");
    let first = admin.get("/admin/audit").await;
    assert_eq!(rows(&first).len(), 50);
    assert_eq!(&rows(&first)[..3], ["user.reactivate", "user.deactivate", "group.create"]);
    assert_eq!(
        first.texts(".audit-list td[data-label=Action]")[..3],
        ["Reactivated the account user.reactivate", "Deactivated the account user.deactivate", "Created the group group.create"],
        "in words, with the key beside them"
    );
    assert_eq!(first.text_of(".audit-list tbody tr:first-child td[data-label=Who]"), "Olga Other");
    assert_eq!(first.text_of(".audit-list tbody tr:first-child dd"), "false → true");
    assert_eq!(first.text_of(".pager .position"), "Page 1");
    let next = first.attribute(".pager a[rel=next]", "href").expect("a next page");
    // 55 groups, 2 state changes and the 2 accounts' creation (without an actor, by the harness).
    assert_eq!(rows(&admin.get(&next).await).len(), 9);

    // An account made without a signed-in actor is recorded as made by itself.
    assert_eq!(rows(&admin.get("/admin/audit?actor=olga").await), ["user.reactivate", "user.create"]);
    let about_other = admin.get(&format!("/admin/audit?object=user&object_id={}", other.id)).await;
    assert_eq!(rows(&about_other), ["user.reactivate", "user.deactivate", "user.create"]);
    assert_eq!(about_other.attribute(".audit-list td[data-label=Object] a", "href"), Some(format!("/admin/users/{}", other.id)));
    let today = time::OffsetDateTime::from_unix_timestamp(app.now()).unwrap().date().to_string();
    assert_eq!(rows(&admin.get(&format!("/admin/audit?from={today}")).await).len(), 2);
    assert_eq!(rows(&admin.get(&format!("/admin/audit?to={today}&object=group")).await).len(), 50);
    assert_eq!(
        admin.get(&format!("/admin/audit?from={today}&to={today}")).await.text_of(".pager"),
        "",
        "one page needs no pager"
    );

    // Users and groups recorded by id are shown by name.
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let number = app.ticket_for(&customer).subject("Printer").message("Jams").create().await;
    let assign = Changes { assignee: Some(Some(other.id)), ..Changes::default() };
    staff::update(&app.db, &app.ticket(number).await, &admin_user, &assign, None, app.now()).await.unwrap();
    let about_ticket = admin.get(&format!("/admin/audit?object=ticket&object_id={number}")).await;
    let changes = about_ticket.texts(".audit-list dd");
    assert!(changes.contains(&format!("— → Olga Other (#{})", other.id)), "{changes:?}");
    let by_reference = admin.get(&format!("/admin/audit?object=ticket&object_id=TCK-{number}")).await;
    assert_eq!(by_reference.texts(".audit-list dd"), changes, "the reference finds the same entries");
}

async fn the_database_refuses_to_change_audit_rows(app: TestApp) {
    app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    assert!(sqlx::query("UPDATE audit_log SET action = 'forged'").execute(app.db.pool()).await.is_err());
    assert!(sqlx::query("DELETE FROM audit_log").execute(app.db.pool()).await.is_err());
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'").await, 1);
}
