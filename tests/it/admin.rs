//! Administration: users, groups, settings and the audit log, and who may reach them.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use helpdesk::domain::accounts::users::{self, User};
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
    the_last_admin_can_be_neither_deactivated_nor_demoted,
    two_admins_demoting_each_other_at_once_leave_one_admin,
    the_command_line_cannot_take_away_the_last_admin,
    groups_are_created_renamed_made_public_and_given_members,
    a_group_with_tickets_is_deleted_only_with_a_move,
    settings_are_validated_and_apply_at_once,
    audit_log_lists_every_admin_action_with_filters_and_pages,
    the_database_refuses_to_change_audit_rows,
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

async fn the_last_admin_can_be_neither_deactivated_nor_demoted(app: TestApp) {
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let path = format!("/admin/users/{}", admin_user.id);
    admin.get(&path).await;

    let refused = admin.post(&format!("{path}/deactivate"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.text_of(".form-error").contains("is the last active admin"), "{}", refused.text_of("main"));
    let demoted = admin.post(&path, &[("name", "Test Admin"), ("email", "admin@example.com"), ("role", "agent")]).await;
    assert_eq!(demoted.status, StatusCode::CONFLICT);
    assert!(demoted.text_of(".form-error").contains("is the last active admin"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = TRUE").await, 1);
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK, "still signed in and still an admin");

    // With a second admin, the first may step down — and then the second is the last.
    let second = app.user(Role::Admin).email("second@example.com").name("Second").create().await;
    admin.post(&path, &[("name", "Test Admin"), ("email", "admin@example.com"), ("role", "agent")]).await.assert_redirect(&path);
    assert_eq!(admin.get("/admin").await.status, StatusCode::NOT_FOUND, "the role change applies at once");
    let outcome = user_admin::set_active(&app.db, second.id, false, None, app.now()).await;
    assert!(matches!(outcome, Err(helpdesk::domain::Error::Conflict(_))), "{outcome:?}");
    // A deactivated admin does not count, and reactivating one is always allowed.
    let third = app.user(Role::Admin).email("third@example.com").name("Third").create().await;
    user_admin::set_active(&app.db, third.id, false, None, app.now()).await.unwrap();
    assert!(user_admin::set_active(&app.db, second.id, false, None, app.now()).await.is_err());
    user_admin::set_active(&app.db, third.id, true, None, app.now()).await.unwrap();
    user_admin::set_active(&app.db, second.id, false, None, app.now()).await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = TRUE").await, 1);
}

/// Every other active admin is deactivated, through the domain, so that `keep` are the only ones.
async fn only_active_admins(app: &TestApp, keep: [&User; 2]) {
    for other in users::active_staff(&app.db).await.unwrap() {
        if other.role == Role::Admin && !keep.iter().any(|kept| kept.id == other.id) {
            user_admin::set_active(&app.db, other.id, false, None, app.now()).await.unwrap();
        }
    }
}

async fn two_admins_demoting_each_other_at_once_leave_one_admin(app: TestApp) {
    use helpdesk::domain::accounts::user_admin::UserInput;
    for round in 0..6 {
        let first = app.user(Role::Admin).email(format!("first{round}@example.com")).name("First").create().await;
        let second = app.user(Role::Admin).email(format!("second{round}@example.com")).name("Second").create().await;
        // Everyone else steps down first, so these two are the only active admins.
        only_active_admins(&app, [&first, &second]).await;
        // Each takes the other away at the same moment: by deactivation or by demotion.
        let (db, now, by_second) = (app.db.clone(), app.now(), second.clone());
        let deactivate = tokio::spawn(async move { user_admin::set_active(&db, by_second.id, false, Some(first.id), now).await });
        let (db, by_first) = (app.db.clone(), first.clone());
        let demote = tokio::spawn(async move {
            let input = UserInput::parse("First", &by_first.email, "agent", "", &[], true).unwrap();
            user_admin::update(&db, by_first.id, input.into(), &second, now).await
        });
        let outcomes = [deactivate.await.unwrap(), demote.await.unwrap()];
        let refused = outcomes.iter().filter(|outcome| matches!(outcome, Err(helpdesk::domain::Error::Conflict(_)))).count();
        assert_eq!((outcomes.iter().filter(|outcome| outcome.is_ok()).count(), refused), (1, 1), "round {round}: {outcomes:?}");
        assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = TRUE").await, 1, "round {round}");
    }

    // The same over HTTP: whichever request lands first wins; the other is refused, or
    // finds its sender no longer an admin or signed out.
    let first = app.user(Role::Admin).email("first@example.com").name("First").create().await;
    let second = app.user(Role::Admin).email("second@example.com").name("Second").create().await;
    only_active_admins(&app, [&first, &second]).await;
    let (one, two) = (app.browser(), app.browser());
    one.sign_in(&first.email, PASSWORD).await;
    two.sign_in(&second.email, PASSWORD).await;
    one.get("/admin").await;
    two.get("/admin").await;
    let demote = [("name", "First"), ("email", first.email.as_str()), ("role", "agent")];
    let deactivate_path = format!("/admin/users/{}/deactivate", second.id);
    let demote_path = format!("/admin/users/{}", first.id);
    let (deactivated, demoted) = tokio::join!(one.post(&deactivate_path, &[]), two.post(&demote_path, &demote));
    let applied = [
        deactivated.location() == Some(&format!("/admin/users/{}", second.id)),
        demoted.location() == Some(demote_path.as_str()),
    ];
    assert_eq!(applied.iter().filter(|applied| **applied).count(), 1, "{:?} {:?}", deactivated.status, demoted.status);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = TRUE").await, 1);
}

async fn the_command_line_cannot_take_away_the_last_admin(app: TestApp) {
    let run = |arguments: &[&str], stdin: &str| {
        let args: Vec<&str> = ["user", "create"].into_iter().chain(arguments.iter().copied()).collect();
        app.run(&args, stdin.as_bytes())
    };
    let created = run(&["--email", "root@example.com", "--name", "Root", "--role", "admin"], &format!("{PASSWORD}\n"));
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    // The same address again, as another role, is refused: the command never turns an
    // existing admin into something else.
    let again = run(&["--email", "ROOT@example.com", "--name", "Root", "--role", "customer"], &format!("{PASSWORD}\n"));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = TRUE").await, 1);
    let admin = app.browser();
    admin.sign_in("root@example.com", PASSWORD).await.assert_redirect("/desk");
    let root_id = app.count("SELECT id FROM users WHERE email = 'root@example.com'").await;
    admin.get("/admin").await;
    assert_eq!(admin.post(&format!("/admin/users/{root_id}/deactivate"), &[]).await.status, StatusCode::CONFLICT);
}

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
