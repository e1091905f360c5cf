//! Groups: created, renamed, made public, given members, and deleted only with their
//! tickets moved.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use reqwest::StatusCode;

use crate::harness::{PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases!(groups_are_created_renamed_made_public_and_given_members, a_group_with_tickets_is_deleted_only_with_a_move);

async fn groups_are_created_renamed_made_public_and_given_members(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let customer = app.user(Role::Customer).email("customer@example.com").name("Customer").create().await;
    let (customer_browser, _) = (app.browser(), ());
    customer_browser.sign_in(&customer.email, PASSWORD).await;
    let offered = |page: &crate::harness::Page| page.texts("#group option");

    admin.get("/admin/groups").await;
    let agent_id = agent.id.to_string();
    admin
        .post("/admin/groups", &[("name", "Billing"), ("public", "on"), ("members", &agent_id)])
        .await
        .assert_redirect("/admin/groups");
    admin.post("/admin/groups", &[("name", "Security")]).await.assert_redirect("/admin/groups");
    assert_eq!(offered(&customer_browser.get("/tickets/new").await), ["Billing", "General"], "internal groups are not offered");
    let rows = admin.get("/admin/groups").await.texts("tbody tr");
    assert_eq!(rows, ["Billing Customers and staff 1 0", "General Customers and staff 0 0", "Security Staff only 0 0"]);

    let duplicate = admin.post("/admin/groups", &[("name", "billing")]).await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(duplicate.text_of("#name-error"), "A group with this name already exists.");
    let customer_id = customer.id.to_string();
    let not_staff = admin.post("/admin/groups", &[("name", "Odd"), ("members", &customer_id)]).await;
    assert_eq!(not_staff.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT COUNT(*) FROM groups").await, 3);

    let security = app.count("SELECT id FROM groups WHERE name = 'Security'").await;
    let path = format!("/admin/groups/{security}");
    admin.get(&path).await;
    admin.post(&path, &[("name", "Trust & Safety"), ("public", "on"), ("members", &agent_id)]).await.assert_redirect(&path);
    assert_eq!(offered(&customer_browser.get("/tickets/new").await), ["Billing", "General", "Trust & Safety"]);
    // Membership decides the agent's "my groups".
    let group_ids = user_admin::group_ids_of(&app.db, agent.id).await.unwrap();
    assert_eq!(group_ids.len(), 2);
    let clash = admin.post(&path, &[("name", "General")]).await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(clash.attribute("#name", "value").as_deref(), Some("General"));

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE object_type = 'group' AND actor_id = $1 ORDER BY id")
            .bind(admin_user.id)
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(actions, ["group.create", "group.create", "group.update"]);
    assert_eq!(admin.get("/admin/groups/999").await.status, StatusCode::NOT_FOUND);
}

async fn a_group_with_tickets_is_deleted_only_with_a_move(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let customer = app.user(Role::Customer).email("customer@example.com").name("Customer").create().await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await;
    let sales = app.group("Sales").public().create().await;
    let empty = app.group("Empty").create().await;
    let number = app.ticket_for(&customer).subject("Quote please").message("How much?").group(sales).create().await;

    let path = format!("/admin/groups/{sales}");
    let page = admin.get(&path).await;
    assert!(page.text_of("#delete-title + form").contains("holds 1 ticket."));
    let refused = admin.post(&format!("{path}/delete"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.text_of(".form-error").contains("still holds 1 ticket. Choose a group to move it to"));
    let to_itself = admin.post(&format!("{path}/delete"), &[("move_to", &sales.to_string())]).await;
    assert_eq!(to_itself.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT COUNT(*) FROM groups").await, 3);

    let before = app.ticket(number).await;
    admin.post(&format!("{path}/delete"), &[("move_to", &general.to_string())]).await.assert_redirect("/admin/groups");
    let after = app.ticket(number).await;
    assert_eq!((after.group_id, after.version), (general, before.version + 1));
    let event: (String, String, i64) =
        sqlx::query_as("SELECT old_value, new_value, ticket_version FROM messages WHERE event = 'group' AND ticket_id = $1")
            .bind(after.id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(event, ("Sales".into(), "General".into(), after.version));
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.group' AND object_id = '{number}'")).await,
        1
    );
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM groups WHERE id = {sales}")).await, 0);
    let desk = admin.get(&format!("/desk/tickets/{number}")).await;
    assert!(desk.text_of(".timeline").contains("General"), "{}", desk.text_of(".timeline"));

    admin.get(&format!("/admin/groups/{empty}")).await;
    admin.post(&format!("/admin/groups/{empty}/delete"), &[]).await.assert_redirect("/admin/groups");
    let last = admin.post(&format!("/admin/groups/{general}/delete"), &[("move_to", "")]).await;
    assert_eq!(last.status, StatusCode::CONFLICT, "the only group stays");
    let deletions = app
        .count(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'group.delete' AND actor_id = {}", admin_user.id))
        .await;
    assert_eq!(deletions, 2);
}
