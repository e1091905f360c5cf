//! Two-factor sign-in: set up from the profile with codes computed here from the key the
//! page shows (RFC 6238, written out in this file rather than borrowed from the app), then
//! required at sign-in; recovery codes that work once; the admin setting that makes staff
//! set it up first; an admin turning it off for someone who lost the phone.

use helpdesk::domain::accounts::role::Role;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use sha1::Sha1;

use crate::harness::{Backend, Browser, PASSWORD, Page, TestApp};
use crate::identity::mail_app;
use crate::smtp::SmtpServer;
use crate::{for_both_backends, on_both_databases};

on_both_databases!(two_factor_is_set_up_and_then_asked_for_at_sign_in, staff_can_be_required_to_set_it_up);
for_both_backends!(an_admin_turns_it_off_for_someone_locked_out);

/// RFC 4648 base32, as authenticator apps read the key.
fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut held = 0;
    let mut out = Vec::new();
    for character in text.trim().chars() {
        bits = (bits << 5) | ALPHABET.find(character).expect("a base32 key") as u64;
        held += 5;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
        }
    }
    out
}

/// The 6-digit code an authenticator app shows for `key` at `unix_time`.
fn totp(key: &[u8], unix_time: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
    mac.update(&(unix_time / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let code =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]) % 1_000_000;
    format!("{code:06}")
}

#[test]
fn the_test_codes_match_rfc_6238() {
    assert_eq!(totp(b"12345678901234567890", 59), "287082");
    assert_eq!(totp(&base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), 1_111_111_109), "081804");
}

/// Sets two-factor up on the profile page; answers the key and the recovery codes shown.
async fn set_up(app: &TestApp, browser: &Browser) -> (Vec<u8>, Vec<String>) {
    let page = browser.get("/profile/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg"), "the QR code is drawn inline");
    let key = base32(&page.text_of("code.totp-secret"));
    assert_eq!(key.len(), 20);
    let wrong = browser.post("/profile/two-factor", &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(base32(&wrong.text_of("code.totp-secret")), key, "the same key until it is on");
    let done = browser.post("/profile/two-factor", &[("code", &totp(&key, app.now()))]).await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.header("cache-control"), Some("no-store"));
    let codes = done.texts(".recovery-codes code");
    assert_eq!(codes.len(), 10);
    (key, codes)
}

async fn sign_in_with_password(app: &TestApp, email: &str) -> (Browser, Page) {
    let browser = app.browser();
    let page = browser.post_login(email, PASSWORD).await;
    (browser, page)
}

async fn two_factor_is_set_up_and_then_asked_for_at_sign_in(app: TestApp) {
    let (browser, user) = app.user(Role::Customer).email("mo@example.com").signed_in().await;
    let (key, codes) = set_up(&app, &browser).await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(stored.len(), 10);
    assert!(codes.iter().all(|code| !stored.contains(code)), "only digests are kept");
    assert!(browser.get("/profile").await.text_of(".profile-facts").contains("Two-factor sign-in: on"));

    // The password alone signs nobody in.
    app.clock.advance(60);
    let (other, page) = sign_in_with_password(&app, "mo@example.com").await;
    page.assert_redirect("/login/two-factor");
    assert_eq!(other.get("/tickets").await.status, StatusCode::SEE_OTHER, "not signed in yet");
    let wrong = other.post("/login/two-factor", &[("code", "123456")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = totp(&key, app.now());
    other.post("/login/two-factor", &[("code", &code)]).await.assert_redirect("/tickets");
    assert_eq!(other.get("/tickets").await.status, StatusCode::OK);

    // A code works once.
    let (third, _) = sign_in_with_password(&app, "mo@example.com").await;
    assert_eq!(third.post("/login/two-factor", &[("code", &code)]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A recovery code works once, however it is typed.
    let recovery = codes[3].to_uppercase().replace('-', " ");
    third.post("/login/two-factor", &[("code", &recovery)]).await.assert_redirect("/tickets");
    let (fourth, _) = sign_in_with_password(&app, "mo@example.com").await;
    assert_eq!(fourth.post("/login/two-factor", &[("code", &codes[3])]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Codes are limited like passwords.
    for _ in 0..5 {
        fourth.post("/login/two-factor", &[("code", "999999")]).await;
    }
    assert_eq!(fourth.post("/login/two-factor", &[("code", &codes[4])]).await.status, StatusCode::TOO_MANY_REQUESTS);

    // The wait for the code is short: after ten minutes, the password again.
    app.clock.advance(login_window());
    let (slow, _) = sign_in_with_password(&app, "mo@example.com").await;
    app.clock.advance(11 * 60);
    slow.post("/login/two-factor", &[("code", &totp(&key, app.now()))]).await.assert_redirect("/login");
    assert_eq!(slow.get("/tickets").await.status, StatusCode::SEE_OTHER);

    // Turning it off takes the password.
    browser.get("/profile/two-factor").await;
    let refused = browser.post("/profile/two-factor/disable", &[("password", "not my password")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    browser.post("/profile/two-factor/disable", &[("password", PASSWORD)]).await.assert_redirect("/profile");
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    app.clock.advance(login_window());
    app.browser().sign_in("mo@example.com", PASSWORD).await.assert_redirect("/tickets");
    let audited = format!("SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor' AND object_id = '{}'", user.id);
    assert_eq!(app.count(&audited).await, 2);
}

fn login_window() -> i64 {
    helpdesk::domain::accounts::login_throttle::WINDOW_SECONDS + 1
}

async fn staff_can_be_required_to_set_it_up(app: TestApp) {
    let (admin_browser, _) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let settings = admin_browser.get("/admin/settings").await;
    let mut fields: Vec<(String, String)> = settings
        .html()
        .select(&scraper::Selector::parse("form.settings-form input[name]").unwrap())
        .filter(|input| input.value().attr("type") != Some("checkbox"))
        .map(|input| (input.value().attr("name").unwrap().to_owned(), input.value().attr("value").unwrap_or("").to_owned()))
        .filter(|(name, _)| name != "csrf_token")
        .collect();
    fields.push(("require_two_factor_staff".into(), "true".into()));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    admin_browser.post("/admin/settings", &fields).await.assert_redirect("/admin/settings");

    app.user(Role::Agent).email("ned@example.com").create().await;
    let ned = app.browser();
    ned.post_login("ned@example.com", PASSWORD).await.assert_redirect("/profile/two-factor");
    ned.get("/desk").await.assert_redirect("/profile/two-factor");
    let (key, _) = set_up(&app, &ned).await;
    assert_eq!(ned.get("/desk").await.status, StatusCode::OK, "open once it is set up");
    // Customers are not asked.
    app.user(Role::Customer).email("ola@example.com").create().await;
    app.browser().sign_in("ola@example.com", PASSWORD).await.assert_redirect("/tickets");
    // Next time, Ned signs in with a code and goes straight to work.
    app.clock.advance(60);
    let (again, page) = sign_in_with_password(&app, "ned@example.com").await;
    page.assert_redirect("/login/two-factor");
    again.post("/login/two-factor", &[("code", &totp(&key, app.now()))]).await.assert_redirect("/desk");
}

async fn an_admin_turns_it_off_for_someone_locked_out(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let (phone_owner, user) = app.user(Role::Agent).email("lu@example.com").signed_in().await;
    set_up(&app, &phone_owner).await;
    let (admin, admin_user) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let path = format!("/admin/users/{}", user.id);
    let page = admin.get(&path).await;
    assert!(page.body.contains(&format!("action=\"{path}/two-factor/reset\"")), "the page offers it");
    assert!(!admin.get(&format!("/admin/users/{}", admin_user.id)).await.body.contains("/two-factor/reset"), "not for oneself");

    admin.post(&format!("{path}/two-factor/reset"), &[]).await.assert_redirect(&path);
    assert_eq!(phone_owner.get("/desk").await.status, StatusCode::SEE_OTHER, "signed out everywhere");
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    let by_admin = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor' AND object_id = '{}' AND actor_id = {}",
        user.id, admin_user.id
    );
    assert_eq!(app.count(&by_admin).await, 1, "audited under the admin's name");
    let told = smtp.wait_for(1).await;
    assert_eq!(told[0].recipients, ["lu@example.com"], "the owner is told");
    assert!(told[0].text().contains("turned off two-factor sign-in for your account"), "{}", told[0].text());
    // The password alone signs in now.
    app.browser().sign_in("lu@example.com", PASSWORD).await.assert_redirect("/desk");

    admin.get(&path).await;
    let again = admin.post(&format!("{path}/two-factor/reset"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "off already");
    let own = admin.post(&format!("/admin/users/{}/two-factor/reset", admin_user.id), &[]).await;
    assert_eq!(own.status, StatusCode::CONFLICT, "one's own is turned off with one's password");
    let queued = "SELECT COUNT(*) FROM outbox WHERE kind = 'two_factor_reset'";
    assert_eq!(app.count(queued).await, 1, "refusals mail no one");
}
