//! First-run setup, registration, signing in and out, and the end of sessions.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::{login_throttle, setup, user_admin};
use reqwest::StatusCode;

use crate::harness::{Backend, PASSWORD, TestApp};
use crate::{for_both_backends, on_both_databases};

on_both_databases!(
    setup_needs_its_token_and_works_once,
    setup_reports_every_bad_field,
    customer_registers_signs_out_and_back_in,
    registration_reports_every_bad_field,
    emails_are_unique_whatever_their_case,
    wrong_password_and_unknown_email_look_the_same,
    deactivated_user_cannot_sign_in,
    login_is_limited_per_account,
    login_is_limited_per_client_address,
    a_parallel_burst_of_guesses_is_limited_too,
    odd_bytes_in_the_login_form_are_a_plain_failure,
    session_id_changes_at_login,
    session_survives_a_restart,
    deactivation_ends_the_users_sessions,
    next_after_login_stays_on_site,
    start_page_depends_on_role,
    cli_creates_a_user_with_a_password_from_stdin,
);

async fn setup_needs_its_token_and_works_once(app: TestApp) {
    let token = setup::issue_token(&app.db, app.now()).await.unwrap().expect("no admin yet");
    let browser = app.browser();

    assert_eq!(browser.get("/setup").await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get("/setup?token=guess").await.status, StatusCode::NOT_FOUND);
    let form = browser.get(&format!("/setup?token={token}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.attribute("input[name=token]", "value").as_deref(), Some(token.as_str()));

    let admin = [("name", "Ada Admin"), ("email", "ada@example.com"), ("password", PASSWORD)];
    let wrong = browser.post("/setup", &[&[("token", "guess")][..], &admin].concat()).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);

    browser.post("/setup", &[&[("token", token.as_str())][..], &admin].concat()).await.assert_redirect("/admin");
    let overview = browser.get("/admin").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert_eq!(overview.text_of(".who"), "Ada Admin Admin");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'").await, 1);

    // Spent: neither the link nor a replay of the form works again, and no new link is issued.
    let other = app.browser();
    assert_eq!(other.get(&format!("/setup?token={token}")).await.status, StatusCode::NOT_FOUND);
    other.get("/login").await;
    let replay = [("token", token.as_str()), ("name", "Eve"), ("email", "eve@example.com"), ("password", PASSWORD)];
    assert_eq!(other.post("/setup", &replay).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(setup::issue_token(&app.db, app.now()).await.unwrap(), None);
}

async fn setup_reports_every_bad_field(app: TestApp) {
    let token = setup::issue_token(&app.db, app.now()).await.unwrap().unwrap();
    let browser = app.browser();
    browser.get(&format!("/setup?token={token}")).await;
    let page =
        browser.post("/setup", &[("token", &token), ("name", "  "), ("email", "not-an-email"), ("password", "short")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.text_of("#name-error"), "Name is required.");
    assert_eq!(page.text_of("#email-error"), "Enter an email address like name@example.com.");
    assert_eq!(page.text_of("#password-error"), "Use at least 8 characters.");
    assert_eq!(page.attribute("#email", "value").as_deref(), Some("not-an-email"));
    assert_eq!(page.attribute("#email", "aria-describedby").as_deref(), Some("email-error"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    // The token was not spent by the failed attempt.
    assert!(setup::token_is_valid(&app.db, &token).await.unwrap());
}

async fn customer_registers_signs_out_and_back_in(app: TestApp) {
    let browser = app.browser();
    assert_eq!(browser.get("/register").await.status, StatusCode::OK);
    // Registering asks the new customer to confirm the address (the mailed link is
    // followed in `identity`); here an admin vouches for it instead.
    browser
        .post("/register", &[("name", "Carla Customer"), ("email", "Carla@Example.com"), ("password", PASSWORD)])
        .await
        .assert_redirect("/login");
    assert!(browser.get("/login").await.text_of(".flash").contains("Check your mail"));
    let stored: (String, String) = sqlx::query_as("SELECT email, role FROM users").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(stored, ("carla@example.com".to_string(), "customer".to_string()));
    let carla = app.count("SELECT id FROM users WHERE email = 'carla@example.com'").await;
    let vouched = user_admin::UserInput::parse("Carla Customer", "carla@example.com", "customer", "", &[], true).unwrap();
    user_admin::update(&app.db, carla, vouched.into(), app.fixture_admin().await, app.now()).await.unwrap();
    browser.sign_in("carla@example.com", PASSWORD).await.assert_redirect("/tickets");
    let home = browser.get("/tickets").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(home.text_of(".who"), "Carla Customer Customer");

    let signed_in_id = browser.session_id().unwrap();
    browser.post("/logout", &[]).await.assert_redirect("/login");
    assert_ne!(browser.session_id().unwrap(), signed_in_id, "a new id after sign-out");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL").await, 0);
    assert_eq!(browser.get("/login").await.text_of(".flash"), "You have signed out.");
    browser.get("/tickets").await.assert_redirect("/login?next=/tickets");

    browser.sign_in("CARLA@example.com", PASSWORD).await.assert_redirect("/tickets");
    assert_eq!(browser.get("/tickets").await.status, StatusCode::OK);
}

async fn registration_reports_every_bad_field(app: TestApp) {
    let browser = app.browser();
    browser.get("/register").await;
    let page = browser.post("/register", &[("name", "Bad\u{7}Name"), ("email", "x@"), ("password", "password123")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.text_of("#name-error"), "Must not contain control characters.");
    assert_eq!(page.text_of("#email-error"), "Enter an email address like name@example.com.");
    assert!(page.text_of("#password-error").contains("too common"));
    assert_eq!(page.attribute("#password", "value").as_deref(), Some(""), "a password is never sent back");
    let long = "p".repeat(1025);
    let page = browser.post("/register", &[("name", "Ok"), ("email", "ok@example.com"), ("password", &long)]).await;
    assert_eq!(page.text_of("#password-error"), "Use at most 1024 characters.");
    assert_eq!(page.attribute("#name", "value").as_deref(), Some("Ok"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn emails_are_unique_whatever_their_case(app: TestApp) {
    app.user(Role::Customer).email("dora@example.com").name("Dora").create().await;
    let browser = app.browser();
    browser.get("/register").await;
    let page = browser.post("/register", &[("name", "Dora Two"), ("email", " DORA@example.COM "), ("password", PASSWORD)]).await;
    // The same answer as for a new address (no enumeration); the owner is mailed instead.
    page.assert_redirect("/login");
    assert!(browser.get("/login").await.text_of(".flash").contains("Check your mail"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'account_exists' AND recipient_email = 'dora@example.com'").await,
        1
    );
}

async fn wrong_password_and_unknown_email_look_the_same(app: TestApp) {
    app.user(Role::Customer).email("erin@example.com").name("Erin").create().await;
    let browser = app.browser();
    browser.get("/login").await;
    let wrong_password = browser.post("/login", &[("email", "erin@example.com"), ("password", "not the password")]).await;
    let unknown_email = browser.post("/login", &[("email", "nobody@example.com"), ("password", "not the password")]).await;
    assert_eq!(wrong_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_password.text_of(".form-error"), unknown_email.text_of(".form-error"));
    assert!(!wrong_password.text_of(".form-error").is_empty());
    assert_eq!(wrong_password.attribute("#email", "value").as_deref(), Some("erin@example.com"));
    // The form works from its cookie alone: failing to sign in stores no session.
    assert!(browser.cookie("helpdesk_form").is_some() && browser.session_id().is_none());
    assert_eq!(browser.get("/tickets").await.status, StatusCode::SEE_OTHER, "still anonymous");
}

async fn deactivated_user_cannot_sign_in(app: TestApp) {
    let user = app.user(Role::Agent).email("fred@example.com").name("Fred").create().await;
    user_admin::set_active(&app.db, user.id, false, None, app.now()).await.unwrap();
    let browser = app.browser();
    browser.get("/login").await;
    let page = browser.post("/login", &[("email", "fred@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    user_admin::set_active(&app.db, user.id, true, None, app.now()).await.unwrap();
    browser.sign_in("fred@example.com", PASSWORD).await.assert_redirect("/desk");
}

async fn login_is_limited_per_account(app: TestApp) {
    app.user(Role::Customer).email("gina@example.com").name("Gina").create().await;
    let browser = app.browser();
    browser.get("/login").await;
    for _ in 0..login_throttle::MAX_FAILURES {
        let page = browser.post("/login", &[("email", "gina@example.com"), ("password", "wrong guess")]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Locked, even with the right password, and whatever the case of the address.
    let locked = browser.post("/login", &[("email", "GINA@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.text_of(".form-error").contains("Wait 15 minutes"));
    assert!(browser.get("/tickets").await.location().is_some_and(|l| l.starts_with("/login")));

    app.clock.advance(login_throttle::WINDOW_SECONDS + 1);
    browser.sign_in("gina@example.com", PASSWORD).await.assert_redirect("/tickets");
}

async fn login_is_limited_per_client_address(app: TestApp) {
    app.user(Role::Customer).email("hugo@example.com").name("Hugo").create().await;
    let browser = app.browser();
    browser.get("/login").await;
    for attempt in 0..login_throttle::MAX_FAILURES {
        let email = format!("guess{attempt}@example.com");
        let page = browser.post("/login", &[("email", &email), ("password", "wrong guess")]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = browser.post("/login", &[("email", "hugo@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(login_throttle::WINDOW_SECONDS + 1);
    browser.sign_in("hugo@example.com", PASSWORD).await;
}

async fn session_id_changes_at_login(app: TestApp) {
    app.user(Role::Customer).email("ivy@example.com").name("Ivy").create().await;
    let browser = app.browser();
    browser.get("/login").await;
    assert!(browser.session_id().is_none(), "an anonymous visitor's form token is a cookie, not a session");
    // An anonymous session (here one holding a flash message) is replaced at sign-in.
    browser.post("/password/forgot", &[("email", "someone@example.com")]).await;
    let before = browser.session_id().expect("a flash is kept in a session");
    browser.get("/login").await;
    let token_before = browser.csrf_token().unwrap();
    browser.post("/login", &[("email", "ivy@example.com"), ("password", PASSWORD)]).await.assert_redirect("/tickets");
    let after = browser.session_id().expect("signed in");
    assert_ne!(before, after);
    assert_ne!(browser.get("/tickets").await.csrf_token().unwrap(), token_before, "CSRF token renewed");

    // The id from before sign-in is worthless now.
    let attacker = app.browser();
    attacker.set_session_id(&before);
    assert_eq!(attacker.get("/tickets").await.status, StatusCode::SEE_OTHER);
}

async fn session_survives_a_restart(app: TestApp) {
    let (browser, _) = app.user(Role::Customer).email("jan@example.com").signed_in().await;
    let app = app.restart().await;
    let browser = {
        let moved = app.browser();
        moved.set_session_id(&browser.session_id().unwrap());
        moved
    };
    let page = browser.get("/tickets").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of(".who"), "Test Customer Customer");
}

async fn deactivation_ends_the_users_sessions(app: TestApp) {
    let (browser, agent) = app.user(Role::Agent).email("kim@example.com").signed_in().await;
    assert_eq!(browser.get("/desk").await.status, StatusCode::OK);
    user_admin::set_active(&app.db, agent.id, false, None, app.now()).await.unwrap();
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = {}", agent.id)).await, 0);
    browser.get("/desk").await.assert_redirect("/login?next=/desk");
    let audit: (String, String) = sqlx::query_as("SELECT action, object_id FROM audit_log WHERE action = 'user.deactivate'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(audit, ("user.deactivate".to_string(), agent.id.to_string()));
}

async fn next_after_login_stays_on_site(app: TestApp) {
    app.user(Role::Agent).email("lea@example.com").name("Lea").create().await;
    let browser = app.browser();
    let form = browser.get("/login?next=//evil.example/phish").await;
    assert_eq!(form.attribute("input[name=next]", "value").as_deref(), Some(""));
    for off_site in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let page = browser.post("/login", &[("email", "lea@example.com"), ("password", PASSWORD), ("next", off_site)]).await;
        page.assert_redirect("/desk");
        browser.get("/desk").await; // the page a browser lands on, with the renewed CSRF token
        browser.post("/logout", &[]).await.assert_redirect("/login");
        browser.get("/login").await;
    }
    let form = browser.get("/login?next=/desk%3Fview%3Dmine").await;
    assert_eq!(form.attribute("input[name=next]", "value").as_deref(), Some("/desk?view=mine"));
    browser
        .post("/login", &[("email", "lea@example.com"), ("password", PASSWORD), ("next", "/desk?view=mine")])
        .await
        .assert_redirect("/desk?view=mine");
}

async fn start_page_depends_on_role(app: TestApp) {
    app.browser().get("/").await.assert_redirect("/login");
    let (customer, _) = app.user(Role::Customer).email("max@example.com").signed_in().await;
    customer.get("/").await.assert_redirect("/tickets");
    let (agent, _) = app.user(Role::Agent).email("nia@example.com").signed_in().await;
    agent.get("/").await.assert_redirect("/desk");
    agent.get("/login").await.assert_redirect("/desk");
    let (admin, _) = app.user(Role::Admin).email("oli@example.com").signed_in().await;
    admin.get("/").await.assert_redirect("/desk");
    let nav = admin.get("/desk").await.texts(".main-nav a");
    assert_eq!(nav, ["Desk", "Organisations", "Admin"]);
    assert_eq!(agent.get("/desk").await.texts(".main-nav a"), ["Desk", "Organisations"]);
    assert_eq!(customer.get("/tickets").await.texts(".main-nav a"), ["My requests", "New request"]);
}

async fn cli_creates_a_user_with_a_password_from_stdin(app: TestApp) {
    let run = |args: &[&str], stdin: &str| app.run(args, stdin.as_bytes());
    let created = run(
        &["user", "create", "--email", "Pat@Example.com", "--name", "Pat Agent", "--role", "agent"],
        &format!("{PASSWORD}\n"),
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    app.browser().sign_in("pat@example.com", PASSWORD).await.assert_redirect("/desk");

    let refused = run(
        &["user", "create", "--email", "pat@example.com", "--name", "Pat Again", "--role", "agent"],
        "another fine password\n",
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already exists"));

    let generated =
        run(&["user", "create", "--email", "quinn@example.com", "--name", "Quinn", "--role", "admin", "--generate-password"], "");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let stdout = String::from_utf8_lossy(&generated.stdout);
    let password = stdout.lines().find_map(|line| line.strip_prefix("Password (shown only now): ")).expect("password printed");
    app.browser().sign_in("quinn@example.com", password).await.assert_redirect("/desk");
}

async fn a_parallel_burst_of_guesses_is_limited_too(app: TestApp) {
    app.user(Role::Customer).email("burst@example.com").name("Burst").create().await;
    let browser = std::sync::Arc::new(app.browser());
    browser.get("/login").await;
    let guesses: Vec<_> = (0..20)
        .map(|index| {
            let browser = browser.clone();
            tokio::spawn(async move {
                let guess = format!("wrong guess {index}");
                browser.post("/login", &[("email", "burst@example.com"), ("password", &guess)]).await.status
            })
        })
        .collect();
    let mut refused = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => assert_eq!(other, StatusCode::UNPROCESSABLE_ENTITY),
        }
    }
    // Attempts are counted as they arrive: at most five of the burst reach the password check.
    let checked = 20 - refused;
    assert!((1..=login_throttle::MAX_FAILURES).contains(&checked), "{checked} guesses were checked");
}

async fn odd_bytes_in_the_login_form_are_a_plain_failure(app: TestApp) {
    let browser = app.browser();
    browser.get("/login").await;
    let long = "a".repeat(20_000);
    for email in ["a\u{0}b@example.com", long.as_str()] {
        let page = browser.post("/login", &[("email", email), ("password", "whatever it is")]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

for_both_backends!(behind_a_trusted_proxy_each_client_has_its_own_login_limit);

async fn behind_a_trusted_proxy_each_client_has_its_own_login_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    app.user(Role::Customer).email("hugo@example.com").name("Hugo").create().await;
    let guesser = app.browser();
    guesser.forwarded_for("203.0.113.7");
    guesser.get("/login").await;
    for attempt in 0..login_throttle::MAX_FAILURES {
        let email = format!("guess{attempt}@example.com");
        assert_eq!(
            guesser.post("/login", &[("email", &email), ("password", "wrong guess")]).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        guesser.post("/login", &[("email", "x@example.com"), ("password", "x")]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client through the same proxy is not locked out with the guesser.
    let hugo = app.browser();
    hugo.forwarded_for("198.51.100.20");
    hugo.sign_in("hugo@example.com", PASSWORD).await.assert_redirect("/tickets");
    // Nor can the guesser start afresh by writing another address at the left of the list.
    guesser.forwarded_for("192.0.2.1, 203.0.113.7");
    assert_eq!(
        guesser.post("/login", &[("email", "y@example.com"), ("password", "y")]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
