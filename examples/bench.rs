//! Queue, search and page timings on a large installation.
//!
//! `cargo run --release --example bench -- --tickets 1000000 --database-url sqlite://bench.db`
//!
//! Seeds the database with `helpdesk demo` data when it has no tickets, then times every
//! queue view (rows and capped counts), full-text searches, the organisation filter and
//! the lists of an organisation's manager and of a customer copied on tickets, tag and
//! field filters, the reports
//! and whole pages over HTTP, and prints the medians. `--only filters` times the tag and
//! field filters alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use helpdesk::App;
use helpdesk::config::Config;
use helpdesk::demo::{self, DemoOptions};
use helpdesk::domain::accounts::users;
use helpdesk::domain::clock::{Clock, SystemClock};
use helpdesk::domain::email::Email;
use helpdesk::domain::reports;
use helpdesk::domain::tags::Tag;
use helpdesk::domain::tickets::queue::{self, FieldFilter, QueueQuery, View};
use helpdesk::domain::tickets::{self, CustomerScope, CustomerTab};

const RUNS: usize = 7;

fn argument(name: &str, default: &str) -> String {
    let arguments: Vec<String> = std::env::args().collect();
    arguments
        .iter()
        .position(|argument| argument == name)
        .and_then(|index| arguments.get(index + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn time<F, Fut, T>(run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    time_runs(RUNS, run).await
}

/// The median of `runs` runs, after one that warms the caches.
async fn time_runs<F, Fut, T>(runs: usize, mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    run().await;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        run().await;
        samples.push(started.elapsed());
    }
    median(samples)
}

fn ms(duration: Duration) -> String {
    format!("{:8.2} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let database_url = argument("--database-url", "sqlite://bench.db");
    let tickets: usize = argument("--tickets", "100000").parse()?;
    let config = Config::for_database(&database_url);
    let app = App::new(config, Arc::new(SystemClock)).await?;
    let db = app.db().clone();
    let now = SystemClock.now();

    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(db.pool()).await?;
    if existing == 0 {
        println!("Seeding {tickets} tickets into {database_url} …");
        let summary = demo::seed(&db, &DemoOptions { tickets, password: "demo-password".into(), force: false }, now).await?;
        println!(
            "Seeded {} tickets, {} messages in {:.1} s ({:.0} tickets/s)",
            summary.tickets,
            summary.messages,
            summary.seconds,
            summary.tickets as f64 / summary.seconds
        );
    } else {
        println!("Using the {existing} tickets already in {database_url}");
    }

    let agent = users::find_by_email(&db, &Email::parse("agent1@demo.test").map_err(anyhow::Error::msg)?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no agent1@demo.test: seed this database with `helpdesk demo` first"))?;

    if argument("--only", "") == "filters" {
        time_filters(&db, &agent, now).await;
        return Ok(());
    }

    println!("\nQueue views (domain layer, median of {RUNS}):");
    println!("  {:<12} {:>11} {:>11} {:>8}", "view", "first page", "all counts", "rows");
    let counts = time(|| queue::view_counts(&db, &agent, now)).await;
    for view in View::ALL {
        let query = QueueQuery { view: *view, ..QueueQuery::default() };
        let page = time(|| queue::list(&db, &agent, &query, now)).await;
        let total = queue::list(&db, &agent, &query, now).await?.total_items;
        println!("  {:<12} {} {} {:>8}", view.as_str(), ms(page), ms(counts), total);
    }

    println!("\nFull-text search, first page (median of {RUNS}):");
    println!("  {:<18} {:>11} {:>11} {:>11} {:>11} {:>8}", "words", "all open", "closed", "mine", "by update", "rows");
    for text in ["invoice", "printer jams", "refund processed", "demo", "customer4711", "zzzz-nothing"] {
        let mut timings = Vec::new();
        for (view, sort) in [(View::All, None), (View::Closed, None), (View::Mine, None), (View::All, Some(queue::Sort::Updated))]
        {
            let query = QueueQuery { text: text.into(), view, sort, ..QueueQuery::default() };
            timings.push(ms(time(|| queue::list(&db, &agent, &query, now)).await));
        }
        let query = QueueQuery { text: text.into(), ..QueueQuery::default() };
        let rows = queue::list(&db, &agent, &query, now).await?.items.len();
        println!("  {:<18} {} {:>8}", format!("{text:?}"), timings.join(" "), rows);
    }

    // The organisation with the most tickets, its manager, and the customer copied most.
    let (organisation, organisation_tickets): (i64, i64) = sqlx::query_as(
        "SELECT organisation_id, COUNT(*) AS n FROM tickets WHERE organisation_id IS NOT NULL \
         GROUP BY organisation_id ORDER BY n DESC, organisation_id LIMIT 1",
    )
    .fetch_one(db.pool())
    .await?;
    let (copied, copied_tickets): (i64, i64) =
        sqlx::query_as("SELECT user_id, COUNT(*) AS n FROM ticket_cc GROUP BY user_id ORDER BY n DESC, user_id LIMIT 1")
            .fetch_one(db.pool())
            .await?;
    println!("\nOrganisations and CC (median of {RUNS}):");
    println!("  largest organisation: {organisation_tickets} tickets; most-copied customer: {copied_tickets} tickets");
    for view in [View::All, View::Closed] {
        let query = QueueQuery { view, organisation_id: Some(organisation), ..QueueQuery::default() };
        let page = time(|| queue::list(&db, &agent, &query, now)).await;
        println!("  {:<44} {}", format!("queue {} of the organisation", view.as_str()), ms(page));
    }
    for (label, scope, tab) in [
        ("manager's list, open", CustomerScope::Organisation(organisation), CustomerTab::Active),
        ("manager's list, all", CustomerScope::Organisation(organisation), CustomerTab::All),
        ("manager's list, all, page 20", CustomerScope::Organisation(organisation), CustomerTab::All),
        ("copied-to-me list, all", CustomerScope::Copied(copied), CustomerTab::All),
    ] {
        let page = if label.ends_with("page 20") { 20 } else { 1 };
        let duration = time(|| tickets::list_for_requester(&db, scope, tab, "", page)).await;
        println!("  {label:<44} {}", ms(duration));
    }

    time_filters(&db, &agent, now).await;

    println!("\nTicket reports, last 12 periods (median of {RUNS}):");
    for period in [reports::Period::Weekly, reports::Period::Monthly] {
        let duration = time(|| reports::tickets(&db, period, now)).await;
        println!("  {:<12} {}", period.as_str(), ms(duration));
    }

    // Whole pages over HTTP, as an agent's browser asks for them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{address}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let login = client.get(format!("{base}/login")).send().await?;
    // An anonymous form's token rides in a cookie of its own; the session starts at sign-in.
    let cookie = cookie_named(&login, helpdesk::web::session::FORM_COOKIE).ok_or_else(|| anyhow::anyhow!("no form cookie"))?;
    let body = login.text().await?;
    let token = body.split("name=\"csrf_token\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
    let signed_in = client
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", token), ("email", "agent1@demo.test"), ("password", "demo-password")])
        .send()
        .await?;
    let cookie = cookie_named(&signed_in, helpdesk::web::SESSION_COOKIE).ok_or_else(|| anyhow::anyhow!("not signed in"))?;
    let number: i64 = sqlx::query_scalar("SELECT MAX(number) FROM tickets").fetch_one(db.pool()).await?;

    println!("\nWhole pages over HTTP (median of {RUNS}):");
    for path in [
        "/desk".to_string(),
        "/desk?view=unassigned".into(),
        "/desk?view=mine".into(),
        "/desk?view=overdue&sort=due".into(),
        "/desk?view=closed&page=100".into(),
        "/desk?q=invoice".into(),
        format!("/desk?view=all&organisation={organisation}"),
        "/desk?view=all&tag=billing".into(),
        "/desk?view=all&tag=legal".into(),
        "/desk?view=all&field_type=Problem".into(),
        format!("/desk/tickets/{number}"),
    ] {
        let url = format!("{base}{path}");
        let size = Arc::new(AtomicUsize::new(0));
        let duration = time(|| {
            let (client, url, cookie, size) = (client.clone(), url.clone(), cookie.clone(), size.clone());
            async move {
                let response = client.get(&url).header("cookie", &cookie).send().await.expect("page answers");
                assert!(response.status().is_success(), "{url}: {}", response.status());
                size.store(response.bytes().await.expect("page body").len(), Ordering::Relaxed);
            }
        })
        .await;
        println!("  {:<32} {} {:>7.1} KB", path, ms(duration), size.load(Ordering::Relaxed) as f64 / 1024.0);
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Tag and field filters, first page with its count, in the open and the closed view.
async fn time_filters(db: &helpdesk::db::Db, agent: &users::User, now: helpdesk::domain::clock::Timestamp) {
    // Each well under a millisecond to a few: more runs steady the ratios between them.
    const FILTER_RUNS: usize = 31;
    println!("\nTag and field filters, first page with its count (median of {FILTER_RUNS}):");
    println!("  {:<34} {:>11} {:>11}", "filter", "all open", "closed");
    // (what, tags, a field's key and value)
    type Filter<'a> = (&'a str, &'a [&'a str], Option<(&'a str, &'a str)>);
    let filters: [Filter; 9] = [
        ("none", &[], None),
        ("tag billing (14 %)", &["billing"], None),
        ("tag vip (5 %)", &["vip"], None),
        ("tag security (0.5 %)", &["security"], None),
        ("tag legal (0.1 %)", &["legal"], None),
        ("tags billing and vip (0.7 %)", &["billing", "vip"], None),
        ("type Incident (30 %)", &[], Some(("type", "Incident"))),
        ("type Problem (5 %)", &[], Some(("type", "Problem"))),
        ("type Problem and tag legal", &["legal"], Some(("type", "Problem"))),
    ];
    for (label, tags, field) in filters {
        let mut timings = Vec::new();
        for view in [View::All, View::Closed] {
            let query = QueueQuery {
                view,
                tags: tags.iter().map(|tag| Tag::parse(tag).expect("a tag")).collect(),
                fields: field
                    .iter()
                    .map(|(key, value)| FieldFilter { key: (*key).into(), value: Some((*value).into()) })
                    .collect(),
                ..QueueQuery::default()
            };
            timings.push(ms(time_runs(FILTER_RUNS, || queue::list(db, agent, &query, now)).await));
        }
        println!("  {label:<34} {}", timings.join(" "));
    }
}

fn cookie_named(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .and_then(|value| value.split(';').next())
        .map(str::to_owned)
}
