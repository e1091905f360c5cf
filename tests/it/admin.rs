//! Administration: who may reach it, and users: created, checked, edited, listed and
//! deactivated.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use helpdesk::domain::conversation::staff::{self, Changes};
use reqwest::StatusCode;

use crate::harness::{PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases!(
    agents_and_customers_get_404_on_every_admin_route,
    admin_creates_users_with_a_chosen_or_a_generated_password,
    user_form_reports_every_bad_field,
    admin_edits_name_email_role_groups_and_password,
    user_list_searches_and_filters,
    deactivation_ends_sessions_and_offers_the_open_tickets_for_reassignment,
);

async fn agents_and_customers_get_404_on_every_admin_route(app: TestApp) {
    // Something real behind every id in a path, so that each 404 comes from the guard.
    let owner = app.user(Role::Customer).email("owner@example.com").create().await;
    app.ticket_for(&owner).create().await;
    let mail = app.count("SELECT MIN(id) FROM outbox").await;
    // A failed mail, so that only the guard stands between its retry and an agent.
    sqlx::query("UPDATE outbox SET status = 'failed' WHERE id = $1").bind(mail).execute(app.db.pool()).await.unwrap();
    let token =
        helpdesk::domain::accounts::api_tokens::create(&app.db, owner.id, "probe", Some(owner.id), app.now()).await.unwrap();
    let token_id = app
        .count(&format!("SELECT id FROM api_tokens WHERE token_hash = '{}'", helpdesk::domain::accounts::tokens::digest(&token)))
        .await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await;
    // Two-factor on, so that only the guard stands between its reset and an agent.
    sqlx::query("UPDATE users SET totp_secret = 'KEY', totp_enabled_at = 1 WHERE id = $1")
        .bind(owner.id)
        .execute(app.db.pool())
        .await
        .unwrap();
    // A ticket field, so that only the guard stands between its edit or deletion and an agent.
    sqlx::query("INSERT INTO ticket_fields (key, label, kind, position, created_at) VALUES ('type', 'Type', 'text', 10, 0)")
        .execute(app.db.pool())
        .await
        .unwrap();
    let field = app.count("SELECT id FROM ticket_fields WHERE key = 'type'").await;
    let concrete = |path: &str| {
        let id = if path.starts_with("/admin/users/") {
            owner.id
        } else if path.starts_with("/admin/groups/") {
            general
        } else if path.starts_with("/admin/fields/") {
            field
        } else if path.starts_with("/admin/tokens/") {
            token_id
        } else {
            mail
        };
        path.replace("{id}", &id.to_string())
    };
    let routes = crate::routes::pages_under("/admin");
    assert!(routes.len() >= 19, "every admin route is read from the map: {routes:?}");
    for role in [Role::Agent, Role::Customer] {
        let (browser, _) = app.user(role).email(format!("{role}@example.com")).signed_in().await;
        browser.get("/").await;
        for (method, path) in &routes {
            let path = concrete(path);
            let status = match *method {
                "get" => browser.get(&path).await.status,
                _ => browser.post(&path, &[("name", "Mallory"), ("role", "admin"), ("ticket_prefix", "X-")]).await.status,
            };
            assert_eq!(status, StatusCode::NOT_FOUND, "{role} {method} {path}");
            browser.get(role.home()).await;
        }
        assert!(!browser.get(role.home()).await.body.contains("href=\"/admin\""), "{role} sees no admin navigation");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL").await, 1, "the token still works");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE status = 'failed'").await, 1, "nobody retried it");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE totp_enabled_at IS NOT NULL").await, 1, "nobody reset it");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin'").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM settings").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM ticket_fields WHERE label = 'Type'").await, 1, "nobody changed the field");
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let desk = admin.get("/desk").await;
    assert!(desk.body.contains("href=\"/admin\""), "admins see the admin navigation");
    for (method, path) in routes.iter().filter(|(method, _)| *method == "get") {
        assert_eq!(admin.get(&concrete(path)).await.status, StatusCode::OK, "admin {method} {path}");
    }
}

async fn admin_creates_users_with_a_chosen_or_a_generated_password(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let support = app.group("Support").create().await.to_string();
    admin.get("/admin/users/new").await;
    let created = admin
        .post(
            "/admin/users",
            &[
                ("name", "Ann Agent"),
                ("email", "Ann@Example.com"),
                ("role", "agent"),
                ("password", PASSWORD),
                ("groups", &support),
            ],
        )
        .await;
    let ann_id = app.count("SELECT id FROM users WHERE email = 'ann@example.com'").await;
    created.assert_redirect(&format!("/admin/users/{ann_id}"));
    let page = admin.get(&format!("/admin/users/{ann_id}")).await;
    assert_eq!(page.text_of(".flash"), "Created Ann Agent <ann@example.com>.");
    assert_eq!(page.attribute(&format!("input[name=groups][value=\"{support}\"]"), "checked").as_deref(), Some(""));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM group_members WHERE user_id = {ann_id}")).await, 1);
    let ann = app.browser();
    ann.sign_in("ann@example.com", PASSWORD).await.assert_redirect("/desk");

    // An empty password is nobody's: its owner is mailed an invitation to choose one (the
    // link is followed in `identity`), and no password is shown or kept anywhere.
    admin
        .post("/admin/users", &[("name", "Cy Customer"), ("email", "cy@example.com"), ("role", "customer"), ("password", "")])
        .await;
    let cy_id = app.count("SELECT id FROM users WHERE email = 'cy@example.com'").await;
    let shown = admin.get(&format!("/admin/users/{cy_id}")).await.text_of(".flash");
    assert_eq!(shown, "Created Cy Customer <cy@example.com>. An invitation to choose a password is on its way to them.");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'cy@example.com' AND password_hash = ''").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'invitation' AND recipient_email = 'cy@example.com'").await,
        1
    );
    assert_eq!(app.browser().post_login("cy@example.com", "").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let audit = format!(
        "SELECT COUNT(*) FROM audit_log WHERE actor_id = {0} AND object_id <> '{0}' AND action IN ('user.create', 'user.groups')",
        admin_user.id
    );
    assert_eq!(app.count(&audit).await, 3, "two creations and one membership");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE after_state LIKE '%argon2%' OR after_state LIKE '%password_hash%'").await,
        0
    );
}

async fn user_form_reports_every_bad_field(app: TestApp) {
    let (admin, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    admin.get("/admin/users/new").await;
    let page = admin
        .post("/admin/users", &[("name", ""), ("email", "nope"), ("role", "boss"), ("password", "short"), ("groups", "x")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name", "email", "role", "password", "groups"] {
        assert!(!page.text_of(&format!("#{field}-error")).is_empty(), "{field} has its message");
    }
    assert_eq!(page.attribute("#email", "value").as_deref(), Some("nope"));

    let taken = admin
        .post("/admin/users", &[("name", "Twin"), ("email", "ADMIN@example.com"), ("role", "agent"), ("password", "")])
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(taken.text_of("#email-error"), "An account with this email already exists.");
    let unknown_group =
        admin.post("/admin/users", &[("name", "Gus"), ("email", "gus@example.com"), ("role", "agent"), ("groups", "999")]).await;
    assert_eq!(unknown_group.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_group.text_of("#groups-error"), "Choose groups from the list.");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1, "nothing was stored");
    assert_eq!(admin.get("/admin/users/999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/admin/users/abc").await.status, StatusCode::NOT_FOUND);
}

async fn admin_edits_name_email_role_groups_and_password(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let (agent_browser, agent) = app.user(Role::Agent).email("agent@example.com").signed_in().await;
    let sales = app.group("Sales").members(&[&agent]).create().await;
    let support = app.group("Support").create().await.to_string();
    let path = format!("/admin/users/{}", agent.id);
    admin.get(&path).await;

    let fields =
        [("name", "Agnes Agent"), ("email", "agnes@example.com"), ("role", "agent"), ("password", ""), ("groups", &support)];
    admin.post(&path, &fields).await.assert_redirect(&path);
    let edited = user_admin::find(&app.db, agent.id).await.unwrap();
    assert_eq!((edited.name.as_str(), edited.email.as_str()), ("Agnes Agent", "agnes@example.com"));
    assert_eq!(
        user_admin::group_ids_of(&app.db, agent.id).await.unwrap().into_iter().collect::<Vec<_>>(),
        vec![support.parse::<i64>().unwrap()]
    );
    assert_eq!(agent_browser.get("/desk").await.status, StatusCode::OK, "an empty password keeps the password and the session");
    app.browser().sign_in("agnes@example.com", PASSWORD).await;
    let entry: (String, String) =
        sqlx::query_as("SELECT before_state, after_state FROM audit_log WHERE action = 'user.update' AND object_id = $1")
            .bind(agent.id.to_string())
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(entry.0.contains("agent@example.com") && entry.0.contains(&format!("[{sales}]")), "{entry:?}");
    assert!(entry.1.contains("agnes@example.com") && entry.1.contains(&format!("[{support}]")), "{entry:?}");

    // A new password works, the old one does not, and the user is signed out everywhere.
    let new_password = "a fresh long passphrase";
    let fields = [("name", "Agnes Agent"), ("email", "agnes@example.com"), ("role", "customer"), ("password", new_password)];
    admin.post(&path, &fields).await.assert_redirect(&path);
    agent_browser.get("/desk").await.assert_redirect("/login?next=/desk");
    assert_eq!(app.browser().post_login("agnes@example.com", PASSWORD).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.browser().sign_in("agnes@example.com", new_password).await.assert_redirect("/tickets");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM group_members WHERE user_id = {}", agent.id)).await,
        0,
        "customers keep no groups"
    );
    let audited: String = sqlx::query_scalar("SELECT after_state FROM audit_log WHERE action = 'user.update' ORDER BY id DESC")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(audited.contains("(changed)") && !audited.contains("argon2"), "{audited}");

    // The admin may change their own name without being signed out.
    let own = format!("/admin/users/{}", admin_user.id);
    admin.get(&own).await;
    admin.post(&own, &[("name", "Ada"), ("email", "admin@example.com"), ("role", "admin")]).await.assert_redirect(&own);
    assert_eq!(admin.get(&own).await.text_of(".who"), "Ada Admin");

    // The desk finds a customer's tickets under their new name and address at once.
    let customer = app.user(Role::Customer).email("old.name@example.com").name("Olivia Oldname").create().await;
    app.ticket_for(&customer).subject("Printer").message("Jams").create().await;
    let subjects = |page: crate::harness::Page| page.texts(".desk-list td.subject a");
    assert_eq!(subjects(admin.get("/desk?q=oldname").await), ["Printer"]);
    let customer_path = format!("/admin/users/{}", customer.id);
    admin.get(&customer_path).await;
    let renamed = [("name", "Olivia Newman"), ("email", "olivia@fresh.example"), ("role", "customer")];
    admin.post(&customer_path, &renamed).await.assert_redirect(&customer_path);
    assert!(subjects(admin.get("/desk?q=oldname").await).is_empty());
    assert_eq!(subjects(admin.get("/desk?q=newman").await), ["Printer"]);
    assert_eq!(subjects(admin.get("/desk?q=fresh.example").await), ["Printer"]);
}

async fn user_list_searches_and_filters(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("zed@example.com").name("Zed Zimmer").create().await;
    app.user(Role::Customer).email("carla@shop.test").name("Carla").create().await;
    // Made by the signed-in admin: a fixture admin would be one more user in the list.
    app.group("Sales").members(&[&agent]).by(&admin_user).create().await;
    for number in 0..55 {
        app.user(Role::Customer).email(format!("bulk{number:02}@example.com")).name(format!("Bulk {number:02}")).create().await;
    }
    user_admin::set_active(&app.db, agent.id, false, None, app.now()).await.unwrap();
    let names = |page: &crate::harness::Page| page.texts(".user-list td[data-label=Name]");

    let first = admin.get("/admin/users").await;
    assert_eq!(names(&first).len(), 50);
    assert_eq!(first.text_of(".pager .position"), "Page 1 of 2");
    assert_eq!(names(&admin.get("/admin/users?page=2").await).len(), 8);
    assert_eq!(names(&admin.get("/admin/users?q=ZIMM").await), ["Zed Zimmer"]);
    assert_eq!(names(&admin.get("/admin/users?q=shop.test").await), ["Carla"]);
    assert_eq!(names(&admin.get("/admin/users?role=agent").await), ["Zed Zimmer"]);
    assert_eq!(names(&admin.get("/admin/users?active=no").await), ["Zed Zimmer"]);
    assert_eq!(names(&admin.get("/admin/users?role=agent&active=yes").await), Vec::<String>::new());
    let zed = admin.get("/admin/users?q=zed").await;
    assert_eq!(zed.text_of(".user-list td[data-label=Groups]"), "Sales");
    assert_eq!(zed.text_of(".user-list td[data-label=State]"), "Deactivated");
    assert_eq!(names(&admin.get("/admin/users?q=%25").await), Vec::<String>::new(), "LIKE wildcards are literal");
}

async fn deactivation_ends_sessions_and_offers_the_open_tickets_for_reassignment(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let (agent_browser, agent) = app.user(Role::Agent).email("agent@example.com").signed_in().await;
    let colleague = app.user(Role::Agent).email("colleague@example.com").name("Colleague").create().await;
    let customer = app.user(Role::Customer).email("customer@example.com").name("Customer").create().await;
    let mut numbers = Vec::new();
    for subject in ["First problem", "Second problem"] {
        let number = app.ticket_for(&customer).subject(subject).message("Please help.").create().await;
        let assign = Changes { assignee: Some(Some(agent.id)), ..Changes::default() };
        staff::update(&app.db, &app.ticket(number).await, &admin_user, &assign, None, app.now()).await.unwrap();
        numbers.push(number);
    }
    assert_eq!(agent_browser.get("/desk").await.status, StatusCode::OK);

    let path = format!("/admin/users/{}", agent.id);
    admin.get(&path).await;
    admin.post(&format!("{path}/deactivate"), &[]).await.assert_redirect(&path);
    agent_browser.get("/desk").await.assert_redirect("/login?next=/desk");
    assert_eq!(app.browser().post_login("agent@example.com", PASSWORD).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let page = admin.get(&path).await;
    assert!(page.text_of(".flash").contains("deactivated and signed out everywhere"));
    assert_eq!(page.texts(".assigned td.subject"), ["Second problem", "First problem"]);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM tickets WHERE assignee_id = {}", agent.id)).await,
        2,
        "nothing unassigned silently"
    );
    assert!(
        page.attribute(&format!("#reassign-to option[value=\"{}\"]", agent.id), "value").is_none(),
        "not offered to themselves"
    );

    let colleague_id = colleague.id.to_string();
    let (first, second) = (numbers[0].to_string(), numbers[1].to_string());
    let fields = [("tickets", first.as_str()), ("tickets", second.as_str()), ("assignee", &colleague_id), ("return_to", &path)];
    admin.post("/desk/tickets/bulk", &fields).await.assert_redirect(&path);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM tickets WHERE assignee_id = {}", colleague.id)).await, 2);
    assert_eq!(admin.get(&path).await.text_of(".assigned .empty"), "None.");

    admin.post(&format!("{path}/reactivate"), &[]).await.assert_redirect(&path);
    app.browser().sign_in("agent@example.com", PASSWORD).await;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE object_type = 'user' AND object_id = $1 ORDER BY id")
            .bind(agent.id.to_string())
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(actions, ["user.create", "user.deactivate", "user.reactivate"]);
}
