//! API tokens: made by admins or on the command line, ended by revoking or deactivating.

use helpdesk::domain::accounts::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use super::Api;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(
    tokens_are_made_by_admins_and_stop_working_when_revoked_or_deactivated,
    the_command_line_makes_a_token_shown_once
);

async fn tokens_are_made_by_admins_and_stop_working_when_revoked_or_deactivated(app: TestApp) {
    let (admin_browser, _admin) = app.user(Role::Admin).email("admin@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agnes Agent").create().await;
    let path = format!("/admin/users/{}", agent.id);

    admin_browser.get(&path).await;
    let long_name = "n".repeat(101);
    let refused = admin_browser.post(&format!("{path}/tokens"), &[("token_name", &long_name)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.attribute("#token_name", "value"), Some(long_name), "what was typed stays");
    assert!(refused.text_of("#token_name-error").contains("Name"), "{}", refused.text_of("#token_name-error"));
    // The secret is in the answer itself: no redirect carries it through a session.
    let shown = admin_browser.post(&format!("{path}/tokens"), &[("token_name", "Zapier")]).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    assert!(shown.text_of(".new-token").contains("Created the API token “Zapier”"));
    let secret = shown.attribute(".new-token .token-secret", "value").expect("the secret is shown");
    let sessions: Vec<String> = sqlx::query_scalar("SELECT data FROM sessions").fetch_all(app.db.pool()).await.unwrap();
    assert!(sessions.iter().all(|data| !data.contains(&secret)), "no session holds the secret");
    assert!(secret.starts_with("hd_") && secret.len() > 40, "{secret}");
    let listed = admin_browser.get(&path).await;
    assert!(!listed.body.contains(&secret), "shown once only");
    assert!(
        listed.attribute("#api-tokens form[action$='/revoke']", "data-confirm").unwrap().contains("Zapier"),
        "revoking asks first"
    );
    assert!(listed.attribute("form[action$='/deactivate']", "data-confirm").is_some(), "so does deactivating");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{secret}'")).await,
        0,
        "only a digest is stored"
    );

    let api = Api::new(&app, Some(secret.clone()));
    let me = api.get("/users/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.data(), json!({ "id": agent.id, "name": "Agnes Agent", "email": "agent@example.com", "role": "agent" }));
    assert!(admin_browser.get(&path).await.text_of("#api-tokens li").contains("last used"));

    for token in [None, Some("hd_wrong".to_owned()), Some(secret[3..].to_owned())] {
        let refused = Api::new(&app, token).get("/users/me").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
        assert_eq!(refused.error_code(), "unauthorized");
        assert!(refused.json()["error"]["message"].is_string() && refused.json()["error"]["fields"].is_object());
    }
    // A signed-in browser's cookies do not open the API: it answers bearer tokens only.
    let with_cookies = admin_browser.get("/api/v1/users/me").await;
    assert_eq!(with_cookies.status, StatusCode::UNAUTHORIZED);

    // Only admins make and revoke tokens.
    let (agent_browser, _) = app.user(Role::Agent).email("other@example.com").signed_in().await;
    agent_browser.get("/desk").await;
    assert_eq!(agent_browser.post(&format!("{path}/tokens"), &[("token_name", "mine")]).await.status, StatusCode::NOT_FOUND);

    let token_id = app.count(&format!("SELECT id FROM api_tokens WHERE user_id = {}", agent.id)).await;
    assert_eq!(agent_browser.post(&format!("/admin/tokens/{token_id}/revoke"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/users/me").await.status, StatusCode::OK);
    admin_browser.post(&format!("/admin/tokens/{token_id}/revoke"), &[]).await.assert_redirect(&path);
    assert_eq!(api.get("/users/me").await.status, StatusCode::UNAUTHORIZED, "revoked");
    assert!(admin_browser.get(&path).await.text_of("#api-tokens").contains("Revoked"));

    // A deactivated user's tokens stop working with them.
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let customer_api = Api::for_user(&app, &customer).await;
    assert_eq!(customer_api.get("/users/me").await.status, StatusCode::OK);
    admin_browser.post(&format!("/admin/users/{}/deactivate", customer.id), &[]).await;
    assert_eq!(customer_api.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('api_token.create', 'api_token.revoke')").await, 3);
}

async fn the_command_line_makes_a_token_shown_once(app: TestApp) {
    let agent = app.user(Role::Agent).email("agent@example.com").name("Andy").create().await;
    let run = |email: &str| app.run(&["token", "create", "--email", email, "--name", "deploy script"], b"");
    let made = run("Agent@Example.com");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let stdout = String::from_utf8(made.stdout).unwrap();
    let secret = stdout.lines().last().unwrap().to_owned();
    assert!(secret.starts_with("hd_"), "{stdout}");
    let me = Api::new(&app, Some(secret.clone())).get("/users/me").await;
    assert_eq!((me.status, me.data()["id"].as_i64()), (StatusCode::OK, Some(agent.id)));
    // Stored as a digest only, listed under its name, made by nobody signed in.
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{secret}'")).await, 0);
    let listed: (String, Option<i64>) =
        sqlx::query_as("SELECT name, created_by FROM api_tokens").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(listed, ("deploy script".to_owned(), None));
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'api_token.create' AND actor_id IS NULL").await, 1);

    let unknown = run("nobody@example.com");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account has the address nobody@example.com"));
    assert_eq!(app.count("SELECT COUNT(*) FROM api_tokens").await, 1, "nothing made for an unknown address");
}
