//! Promises the README makes that would otherwise break unnoticed: security headers on
//! every kind of answer, the health check's failure, one transaction per change, API
//! tokens' life, the sign-in count, the two schemas kept in step, and mail intake's edges.

use helpdesk::domain::accounts::api_tokens;
use helpdesk::domain::accounts::login_throttle;
use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::user_admin;
use helpdesk::domain::conversation::staff::{self, Reply, Visibility};
use helpdesk::domain::tickets::Status;
use reqwest::StatusCode;

use crate::binary;
use crate::harness::{Backend, PASSWORD, Page, TestApp};
use crate::{for_both_backends, on_both_databases};

on_both_databases!(
    every_kind_of_answer_carries_the_security_headers,
    the_health_check_fails_when_the_database_does,
    a_change_that_fails_half_way_leaves_nothing_behind,
    tokens_live_with_their_user_and_note_their_use_once_a_minute,
    a_successful_sign_in_clears_the_account_not_the_address,
    both_schemas_have_the_same_tables_columns_and_indexes,
    a_mail_is_tried_eight_times_and_sent_again_when_its_lease_runs_out,
    nobody_is_mailed_what_they_did_and_an_unassigned_ticket_mails_no_agent,
    two_sweeps_at_once_close_each_ticket_once,
    an_expired_session_signs_nobody_in,
);
for_both_backends!(mail_intake_keeps_its_word_at_the_edges);

fn assert_security_headers(what: &str, headers: &reqwest::header::HeaderMap) {
    for (name, expected) in [
        ("x-content-type-options", Some("nosniff")),
        ("x-frame-options", Some("DENY")),
        ("referrer-policy", Some("same-origin")),
        ("content-security-policy", None),
    ] {
        let value = headers.get(name).unwrap_or_else(|| panic!("{what}: no {name}")).to_str().unwrap();
        if let Some(expected) = expected {
            assert_eq!(value, expected, "{what}: {name}");
        } else {
            assert!(value.contains("default-src 'none'") && value.contains("frame-ancestors 'none'"), "{what}: {value}");
        }
    }
}

async fn every_kind_of_answer_carries_the_security_headers(app: TestApp) {
    let http = reqwest::Client::new();
    let unauthorised = http.get(format!("{}/api/v1/users/me", app.base_url)).send().await.unwrap();
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);
    assert_security_headers("API 401", unauthorised.headers());
    let forbidden = app.browser().post_raw("/login", &[("email", "x@example.com"), ("password", "whatever")]).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_security_headers("CSRF 403", &forbidden.headers);
    let huge = http
        .post(format!("{}/login", app.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 3 * 1024 * 1024])
        .send()
        .await;
    if let Ok(too_large) = huge {
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_security_headers("413", too_large.headers());
    }
    let guesser = app.browser();
    let mut last: Option<Page> = None;
    for attempt in 0..=login_throttle::MAX_FAILURES {
        last = Some(guesser.post_login(&format!("guess{attempt}@example.com"), "wrong guess").await);
    }
    let throttled = last.unwrap();
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_security_headers("429", &throttled.headers);
}

async fn the_health_check_fails_when_the_database_does(app: TestApp) {
    let health = |app: &TestApp| reqwest::Client::new().get(format!("{}/healthz", app.base_url)).send();
    assert_eq!(health(&app).await.unwrap().status(), StatusCode::OK);
    // The database goes away (its pool closes): the check says so, and the server stays up.
    app.db.close().await;
    let answer = health(&app).await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// A trigger that refuses the audit row of a status change, so that a change fails after it
/// has written its timeline entry and queued its mail.
async fn refuse_status_audits(app: &TestApp) {
    let statements: &[&str] = match app.database.backend {
        Backend::Sqlite => &["CREATE TRIGGER refuse_status_audit BEFORE INSERT ON audit_log WHEN NEW.action = 'ticket.status' \
             BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_status_audit() RETURNS trigger AS $$ BEGIN \
             IF NEW.action = 'ticket.status' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_status_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_status_audit()",
        ],
    };
    for statement in statements {
        sqlx::query(statement).execute(app.db.pool()).await.unwrap();
    }
}

async fn a_change_that_fails_half_way_leaves_nothing_behind(app: TestApp) {
    let customer = app.user(Role::Customer).email("cus@example.com").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").create().await;
    let number = app.ticket_for(&customer).subject("Atomic").create().await;
    let before = app.ticket(number).await;
    let state = "SELECT (SELECT COUNT(*) FROM messages) * 1000000 + (SELECT COUNT(*) FROM outbox) * 1000 + (SELECT COUNT(*) FROM audit_log)";
    let counted = app.count(state).await;
    refuse_status_audits(&app).await;
    // A public reply that also resolves: message, first response, mail, then the status's
    // audit row fails.
    let reply = Reply { status: Some(Status::Resolved), time_spent_minutes: 5, ..Reply::new("Done.".into(), Visibility::Public) };
    assert!(staff::reply(&app.db, &before, &agent, &reply, app.now()).await.is_err());
    assert_eq!(app.count(state).await, counted, "no timeline entry, mail or audit row is left");
    let after = app.ticket(number).await;
    assert_eq!(
        (after.version, after.status, after.first_response_at, after.time_spent_minutes),
        (before.version, Status::New, None, 0)
    );
}

async fn tokens_live_with_their_user_and_note_their_use_once_a_minute(app: TestApp) {
    let agent = app.user(Role::Agent).email("agent@example.com").create().await;
    let admin = app.fixture_admin().await.clone();
    let secret = api_tokens::create(&app.db, agent.id, "script", Some(admin.id), app.now()).await.unwrap();
    let me = |secret: &str| {
        reqwest::Client::new().get(format!("{}/api/v1/users/me", app.base_url)).bearer_auth(secret.to_owned()).send()
    };
    let last_used = || app.count("SELECT COALESCE(last_used_at, 0) FROM api_tokens");
    assert_eq!(me(&secret).await.unwrap().status(), StatusCode::OK);
    let first_use = last_used().await;
    assert_eq!(first_use, app.now());
    app.clock.advance(30);
    me(&secret).await.unwrap();
    assert_eq!(last_used().await, first_use, "not written again within the minute");
    app.clock.advance(31);
    me(&secret).await.unwrap();
    assert_eq!(last_used().await, app.now(), "written again after it");

    user_admin::set_active(&app.db, agent.id, false, Some(admin.id), app.now()).await.unwrap();
    assert_eq!(me(&secret).await.unwrap().status(), StatusCode::UNAUTHORIZED, "dead with its user");
    user_admin::set_active(&app.db, agent.id, true, Some(admin.id), app.now()).await.unwrap();
    assert_eq!(me(&secret).await.unwrap().status(), StatusCode::OK, "back with its user, until revoked");
}

async fn a_successful_sign_in_clears_the_account_not_the_address(app: TestApp) {
    app.user(Role::Customer).email("una@example.com").create().await;
    let browser = app.browser();
    for _ in 0..login_throttle::MAX_FAILURES - 1 {
        assert_eq!(browser.post_login("una@example.com", "wrong guess").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    browser.sign_in("una@example.com", PASSWORD).await;
    let account_failures = "SELECT COUNT(*) FROM login_failures WHERE key LIKE 'account:%'";
    assert_eq!(app.count(account_failures).await, 0, "the account's count is cleared");
    // The address keeps its four: one more failure is allowed, the next is refused.
    let other = app.browser();
    assert_eq!(other.post_login("somebody@example.com", "wrong guess").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.post_login("somebody@example.com", "wrong guess").await.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Every table's columns and every index, by name, as the database itself reports them.
async fn schema(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String,)> = match app.database.backend {
        Backend::Sqlite => sqlx::query_as(
            "SELECT 'column ' || m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '\\_%' ESCAPE '\\' \
             AND m.name NOT LIKE 'ticket_search%' \
             UNION ALL SELECT 'index ' || name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap(),
        Backend::Postgres => sqlx::query_as(
            "SELECT 'column ' || table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '\\_%' AND table_name <> 'ticket_search' \
             UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = 'public' \
             AND indexname NOT IN (SELECT conname FROM pg_constraint) AND tablename <> 'ticket_search'",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap(),
    };
    let mut names: Vec<String> = rows.into_iter().map(|(name,)| name).collect();
    names.sort();
    names
}

async fn both_schemas_have_the_same_tables_columns_and_indexes(app: TestApp) {
    // The other backend's schema, from a database of its own.
    let other = TestApp::spawn(match app.database.backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    })
    .await;
    let (ours, theirs) = (schema(&app).await, schema(&other).await);
    let only = |a: &[String], b: &[String]| a.iter().filter(|name| !b.contains(name)).cloned().collect::<Vec<_>>();
    assert_eq!((only(&ours, &theirs), only(&theirs, &ours)), (vec![], vec![]), "the migrations differ");
    assert!(ours.iter().any(|name| name == "column account_tokens.email"), "{ours:?}");
}

async fn mail_intake_keeps_its_word_at_the_edges(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.mail_from = Some("help@support.example".into())).await;
    let carla = app.user(Role::Customer).email("carla@example.com").name("Carla").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").create().await;
    let number = app.ticket_for(&carla).subject("Printer").create().await;
    let ingest = |database_url: &str, mail: &str| {
        let data_dir = app.data_dir.path().to_str().unwrap();
        let args = ["--mail-from", "help@support.example", "mail", "ingest"];
        binary::run(&args, &[("DATABASE_URL", database_url), ("DATA_DIR", data_dir)], mail.as_bytes())
    };
    let mail = |from: &str, id: &str, extra: &str, body: &str| {
        format!(
            "From: {from}\r\nTo: help@support.example\r\nSubject: Re: [TCK-1001] Printer\r\nMessage-ID: {id}\r\n{extra}\r\n{body}\r\n"
        )
    };
    // An auto-reply that says so only with X-Autoreply.
    let auto = ingest(&app.database.url, &mail("carla@example.com", "<a-1@example.com>", "X-Autoreply: yes\r\n", "I am away."));
    assert_eq!(auto.status.code(), Some(1));
    // A deactivated sender is refused in the same words as a stranger.
    let (otto, _) = (app.user(Role::Customer).email("otto@example.com").create().await, ());
    user_admin::set_active(&app.db, otto.id, false, None, app.now()).await.unwrap();
    let deactivated = ingest(&app.database.url, &mail("otto@example.com", "<o-1@example.com>", "", "Hello?"));
    let stranger = ingest(&app.database.url, &mail("nobody@example.com", "<n-1@example.com>", "", "Hello?"));
    assert_eq!(deactivated.status.code(), Some(1));
    let said = |output: &std::process::Output| {
        String::from_utf8_lossy(&output.stderr).replace("otto@example.com", "X").replace("nobody@example.com", "X")
    };
    assert_eq!(said(&deactivated), said(&stranger));
    // A reply to a resolved ticket reopens it, with German and French quote lines cut.
    staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    let body = "Es geht wieder nicht.\r\n\r\nAm Mo., 30. Nov. 2026 um 10:00 schrieb Helpdesk <help@support.example>:\r\n> Alt";
    let reopened = ingest(&app.database.url, &mail("carla@example.com", "<c-1@example.com>", "", body));
    assert!(reopened.status.success(), "{}", String::from_utf8_lossy(&reopened.stderr));
    app.clock.set(app.now().max(time::OffsetDateTime::now_utc().unix_timestamp()));
    let ticket = app.ticket(number).await;
    assert_eq!(ticket.status, Status::Open);
    let last: String = sqlx::query_scalar("SELECT body FROM messages WHERE kind = 'message' ORDER BY id DESC LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(last, "Es geht wieder nicht.");
    let french =
        "Ça ne marche toujours pas.\r\n\r\nLe lun. 30 nov. 2026 à 10:00, Helpdesk <help@support.example> a écrit :\r\n> Ancien";
    assert!(ingest(&app.database.url, &mail("carla@example.com", "<c-2@example.com>", "", french)).status.success());
    let last: String = sqlx::query_scalar("SELECT body FROM messages WHERE kind = 'message' ORDER BY id DESC LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(last, "Ça ne marche toujours pas.");
    // The database away: exit 75, so that the mail server keeps the mail and tries again.
    let away = match backend {
        Backend::Sqlite => "sqlite:///nonexistent-directory/helpdesk.db".to_owned(),
        Backend::Postgres => "postgres://postgres@localhost/helpdesk?host=/nonexistent-directory".to_owned(),
    };
    let unreachable = ingest(&away, &mail("carla@example.com", "<c-3@example.com>", "", "Anyone?"));
    assert_eq!(unreachable.status.code(), Some(75), "{}", String::from_utf8_lossy(&unreachable.stderr));
}

async fn a_mail_is_tried_eight_times_and_sent_again_when_its_lease_runs_out(app: TestApp) {
    use helpdesk::domain::mail::outbox;
    let customer = app.user(Role::Customer).email("vic@example.com").create().await;
    app.ticket_for(&customer).create().await;
    // Stop the app (and its own worker, whose claims would race ours), then take the queue
    // over with a pool of our own, the mail as it was queued.
    let mut app = app;
    app.stop().await;
    let db = helpdesk::db::Db::connect(&app.database.url).await.unwrap();
    let now = app.now();
    sqlx::query("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = NULL")
        .bind(now)
        .execute(db.pool())
        .await
        .unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(db.pool()).await.unwrap() }
    };
    // A worker that dies holding its claim: nobody else may take the mail during the lease…
    let held = outbox::claim_next(&db, "worker-that-dies", now).await.unwrap().expect("a mail is due");
    assert!(outbox::claim_next(&db, "worker-b", now + outbox::LEASE_SECONDS - 1).await.unwrap().is_none());
    // …and another takes it over once the lease has run out: at least once, never lost.
    let taken_over = outbox::claim_next(&db, "worker-b", now + outbox::LEASE_SECONDS + 1).await.unwrap().expect("taken over");
    assert_eq!(taken_over.id, held.id);

    // Eight failed tries, and it is marked failed for an admin.
    let mut later = now + outbox::LEASE_SECONDS + 1;
    let mut mail = taken_over;
    for attempt in 1..=outbox::MAX_ATTEMPTS {
        outbox::mark_attempt_failed(&db, &mail, "worker-b", "451 try later", false, later).await.unwrap();
        let status: String =
            sqlx::query_scalar("SELECT status FROM outbox WHERE id = $1").bind(mail.id).fetch_one(db.pool()).await.unwrap();
        assert_eq!(status, if attempt < outbox::MAX_ATTEMPTS { "pending" } else { "failed" }, "after try {attempt}");
        later += outbox::backoff_seconds(attempt) + 1;
        if let Some(next) = outbox::claim_next(&db, "worker-b", later).await.unwrap() {
            mail = next;
        }
    }
    assert_eq!(count("SELECT attempts FROM outbox").await, outbox::MAX_ATTEMPTS);
    assert!(outbox::claim_next(&db, "worker-b", later + 86_400).await.unwrap().is_none(), "a failed mail waits for an admin");
    db.close().await;
}

async fn nobody_is_mailed_what_they_did_and_an_unassigned_ticket_mails_no_agent(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("wen@example.com").signed_in().await;
    app.user(Role::Agent).email("agent@example.com").create().await;
    let number = app.ticket_for(&customer).subject("Mine to close").create().await;
    let path = format!("/tickets/{number}");
    browser.get(&path).await;
    browser.post(&format!("{path}/replies"), &[("body", "One more thing.")]).await.assert_redirect(&path);
    browser.post(&format!("{path}/close"), &[]).await.assert_redirect(&path);
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
    // The confirmation of the new ticket only: no agent is told of a reply on an unassigned
    // ticket, and the customer is not told that they closed it.
    assert_eq!(kinds, ["ticket_created"]);
}

async fn two_sweeps_at_once_close_each_ticket_once(app: TestApp) {
    use helpdesk::domain::admin::settings::Settings;
    use helpdesk::domain::conversation::closing;
    let customer = app.user(Role::Customer).email("xia@example.com").create().await;
    let agent = app.user(Role::Agent).email("agent@example.com").create().await;
    for index in 0..5 {
        let number = app.ticket_for(&customer).subject(format!("Done {index}")).create().await;
        staff::set_status(&app.db, &app.ticket(number).await, &agent, Status::Resolved, app.now()).await.unwrap();
    }
    let settings = Settings::load(&app.db).await.unwrap();
    let later = app.now() + settings.auto_close_hours * 3600 + 1;
    // Two instances' sweeps at the same moment.
    let (one, two) = tokio::join!(closing::auto_close(&app.db, &settings, later), closing::auto_close(&app.db, &settings, later));
    assert_eq!(one.unwrap() + two.unwrap(), 5, "each ticket closed by one of them");
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE event = 'auto_close'").await, 5, "one event each");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'closed'").await, 5, "one mail each");
}

async fn an_expired_session_signs_nobody_in(app: TestApp) {
    let (browser, _) = app.user(Role::Customer).email("yan@example.com").signed_in().await;
    assert_eq!(browser.get("/tickets").await.status, StatusCode::OK);
    sqlx::query("UPDATE sessions SET expires_at = 1").execute(app.db.pool()).await.unwrap();
    browser.get("/tickets").await.assert_redirect("/login?next=/tickets");
}
