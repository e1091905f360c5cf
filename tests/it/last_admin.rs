//! The last active admin: neither deactivated nor demoted, by a page, by two admins at
//! once or by the command line.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use helpdesk::domain::accounts::users::{self, User};
use reqwest::StatusCode;

use crate::harness::{PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_last_admin_can_be_neither_deactivated_nor_demoted,
    two_admins_demoting_each_other_at_once_leave_one_admin,
    the_command_line_cannot_take_away_the_last_admin,
);

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
