//! The security baseline: CSRF, role guards, headers, cookies, input limits.

use helpdesk::domain::accounts::role::Role;
use reqwest::StatusCode;

use crate::harness::{Backend, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases!(
    forms_without_the_sessions_csrf_token_are_refused,
    customers_and_agents_get_404_outside_their_area,
    anonymous_visitors_are_sent_to_sign_in,
    every_response_carries_the_security_headers,
    session_cookie_is_http_only_and_same_site,
    oversized_bodies_are_refused_and_the_server_stays_up,
    invalid_utf8_is_a_clear_400,
    unknown_form_fields_are_ignored,
    health_check_answers_when_the_database_does,
    static_assets_are_cached_and_compressed,
);

async fn forms_without_the_sessions_csrf_token_are_refused(app: TestApp) {
    app.user(Role::Customer).email("rosa@example.com").name("Rosa").create().await;
    let browser = app.browser();
    browser.get("/login").await;
    let login = [("email", "rosa@example.com"), ("password", PASSWORD)];

    let missing = browser.post_raw("/login", &login).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.text_of("h1"), "This form has expired");
    assert!(missing.text_of("main").contains("reload the page"));
    let wrong = browser.post_raw("/login", &[&[("csrf_token", "forged")][..], &login].concat()).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    // Another session's token does not work either.
    let other = app.browser();
    other.get("/login").await;
    let foreign = other.csrf_token().unwrap();
    let page = browser.post_raw("/login", &[&[("csrf_token", foreign.as_str())][..], &login].concat()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/tickets").await.status, StatusCode::SEE_OTHER, "not signed in");

    browser.sign_in("rosa@example.com", PASSWORD).await;
    assert_eq!(browser.post_raw("/logout", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/tickets").await.status, StatusCode::OK, "still signed in");
}

async fn customers_and_agents_get_404_outside_their_area(app: TestApp) {
    let (customer, _) = app.user(Role::Customer).email("sam@example.com").signed_in().await;
    for path in ["/desk", "/admin", "/desk?view=mine", "/no-such-page"] {
        let page = customer.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(page.text_of("h1"), "Page not found");
    }
    let (agent, _) = app.user(Role::Agent).email("tia@example.com").signed_in().await;
    assert_eq!(agent.get("/admin").await.status, StatusCode::NOT_FOUND);
    assert_eq!(agent.get("/tickets").await.status, StatusCode::NOT_FOUND);
    assert_eq!(agent.get("/desk").await.status, StatusCode::OK);
    let (admin, _) = app.user(Role::Admin).email("uma@example.com").signed_in().await;
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK);
    assert_eq!(admin.get("/desk").await.status, StatusCode::OK);
}

async fn anonymous_visitors_are_sent_to_sign_in(app: TestApp) {
    let browser = app.browser();
    browser.get("/desk?view=mine").await.assert_redirect("/login?next=/desk%3Fview%3Dmine");
    browser.get("/admin").await.assert_redirect("/login?next=/admin");
    browser.get("/tickets").await.assert_redirect("/login?next=/tickets");
    assert_eq!(browser.session_id(), None, "guards do not start sessions");
}

async fn every_response_carries_the_security_headers(app: TestApp) {
    let browser = app.browser();
    for path in ["/login", "/no-such-page", "/static/style.css", "/healthz", "/"] {
        let page = browser.get(path).await;
        let csp = page.header("content-security-policy").unwrap_or_else(|| panic!("no CSP on {path}"));
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(page.header("referrer-policy"), Some("same-origin"), "{path}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
    }
    let login = browser.get("/login").await;
    assert!(!login.body.contains("<script>"), "no inline script");
    assert!(!login.body.contains("style="), "no inline style");
    assert_eq!(login.header("cache-control"), Some("no-store"));
}

/// The cookie named `name` that a page set.
fn set_cookie(page: &crate::harness::Page, name: &str) -> String {
    page.headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

async fn session_cookie_is_http_only_and_same_site(app: TestApp) {
    app.user(Role::Customer).email("sam@example.com").create().await;
    let browser = app.browser();
    let form = browser.get("/login").await;
    let page = browser.post("/login", &[("email", "sam@example.com"), ("password", crate::harness::PASSWORD)]).await;
    // The session starts at sign-in; before it, the form's token rides in a cookie of its own.
    for cookie in [set_cookie(&page, "helpdesk_session"), set_cookie(&form, "helpdesk_form")] {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    }

    let backend = app.database.backend;
    let secure = TestApp::spawn_with(backend, |config| config.base_url = Some("https://help.example.com".into())).await;
    secure.user(Role::Customer).email("sam@example.com").create().await;
    let browser = secure.browser();
    let form = browser.get("/login").await;
    let page = browser.post("/login", &[("email", "sam@example.com"), ("password", crate::harness::PASSWORD)]).await;
    // Over https the form cookie is a `__Host-` one: no sibling host can set it for us.
    for cookie in [set_cookie(&page, "helpdesk_session"), set_cookie(&form, "__Host-helpdesk_form")] {
        assert!(cookie.contains("Secure"), "{cookie}");
    }
    assert!(page.header("strict-transport-security").is_some());
}

async fn oversized_bodies_are_refused_and_the_server_stays_up(app: TestApp) {
    let browser = app.browser();
    browser.get("/register").await;
    let huge = "x".repeat(3 * 1024 * 1024);
    // The server answers before reading the body and closes the connection, so a client
    // still writing may see the close instead of the answer: ask until the answer is read.
    let mut answer = None;
    for _ in 0..10 {
        if let Ok(page) =
            browser.try_post("/register", &[("name", &huge), ("email", "v@example.com"), ("password", PASSWORD)]).await
        {
            answer = Some(page.status);
            break;
        }
    }
    assert_eq!(answer, Some(StatusCode::PAYLOAD_TOO_LARGE));
    // A new client: the old one may hold the connection the server closed.
    assert_eq!(app.browser().get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn invalid_utf8_is_a_clear_400(app: TestApp) {
    let browser = app.browser();
    browser.get("/register").await;
    let token = browser.csrf_token().unwrap();
    let body = format!("csrf_token={token}&name=%FF%FE&email=w%40example.com&password=a+fine+passphrase");
    let page = browser.post_bytes("/register", body.into_bytes()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text_of("main").contains("UTF-8"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn unknown_form_fields_are_ignored(app: TestApp) {
    let browser = app.browser();
    browser.get("/register").await;
    browser
        .post("/register", &[("name", "Xena"), ("email", "xena@example.com"), ("password", PASSWORD), ("role", "admin")])
        .await
        .assert_redirect("/login");
    let role: String = sqlx::query_scalar("SELECT role FROM users").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(role, "customer", "registration cannot choose a role");
}

async fn health_check_answers_when_the_database_does(mut app: TestApp) {
    let page = app.browser().get("/healthz").await;
    assert_eq!((page.status, page.body.as_str()), (StatusCode::OK, "ok"));
    app.stop().await;
}

async fn static_assets_are_cached_and_compressed(app: TestApp) {
    let login = app.browser().get("/login").await;
    let stylesheet = login.attribute("link[rel=stylesheet]", "href").unwrap();
    assert!(stylesheet.starts_with("/static/style.css?v="));
    let response = reqwest::Client::new()
        .get(format!("{}{stylesheet}", app.base_url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(app.browser().get("/static/secret.txt").await.status, StatusCode::NOT_FOUND);
    let icon = login.attribute("link[rel=icon]", "href").unwrap();
    let page = app.browser().get(&icon).await;
    assert_eq!((page.status, &page.headers["content-type"]), (StatusCode::OK, &"image/svg+xml".parse().unwrap()));
    assert!(page.body.starts_with("<svg"));
}

#[tokio::test]
async fn the_binary_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let database = crate::harness::TestDatabase::create(Backend::Sqlite).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &database.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("helpdesk starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first.rsplit_once("bound to ").unwrap().1.trim_end_matches(')').to_owned();
    let setup_line = lines.nth(1).unwrap().unwrap();
    assert!(setup_line.trim().contains("/setup?token="), "{setup_line}");
    let health = reqwest::get(format!("http://{address}/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(lines.any(|line| line.unwrap() == "Helpdesk stopped."));
}
