//! The staff desk: queue views, filters, search, the workspace, concurrency, merge, bulk.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::Visibility;
use helpdesk::domain::conversation::staff::{self, Changes};
use helpdesk::domain::tickets::queue::{self, AssigneeFilter, QueueLimits, QueueQuery, Sort, View};
use helpdesk::domain::tickets::{Priority, Status, TicketNumber};
use reqwest::StatusCode;

use crate::harness::{Page, TestApp};
use crate::on_both_databases;

on_both_databases!(
    each_view_holds_its_tickets,
    pending_stops_the_sla_clock,
    filters_narrow_the_queue,
    search_finds_words_in_bodies_and_jumps_to_numbers,
    a_ticket_is_worked_from_unassigned_to_closed,
    a_stale_version_is_refused_and_can_be_applied_again,
    merging_combines_timelines_and_closes_the_duplicate,
    bulk_changes_apply_to_every_selected_ticket,
    agents_open_tickets_for_customers,
    canned_responses_are_kept_and_inserted,
    customers_get_404_on_every_desk_route,
    a_queue_page_takes_the_same_statements_for_3_or_50_rows,
);

fn subjects(page: &Page) -> Vec<String> {
    let mut subjects = page.texts(".desk-list td.subject a");
    subjects.sort();
    subjects
}

fn view_count(page: &Page, label: &str) -> String {
    page.texts(".views a")
        .into_iter()
        .find_map(|text| text.strip_prefix(&format!("{label} ")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no view {label}"))
}

/// 2026-11-30 10:00 UTC: the views below are worked out from this moment.
const MONDAY_TEN_AM: i64 = 1_796_032_800;

async fn each_view_holds_its_tickets(app: TestApp) {
    app.clock.set(MONDAY_TEN_AM);
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Mia Me").signed_in().await;
    let other = app.user(Role::Agent).email("other@example.com").name("Otto Other").create().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let team = app.group("Team").members(&[&me]).create().await;
    let assign = |agent: Option<i64>| Changes { assignee: Some(agent), ..Changes::default() };

    let unassigned = app.ticket_for(&customer).subject("unassigned").priority(Priority::Low).create().await;
    let mine = app.ticket_for(&customer).subject("mine").priority(Priority::Low).create().await;
    staff::update(&app.db, &app.ticket(mine).await, &me, &assign(Some(me.id)), None, app.now()).await.unwrap();
    // Mine too, but answered: it waits for the customer, not for me.
    let answered = app.ticket_for(&customer).subject("answered").priority(Priority::Low).create().await;
    staff::update(&app.db, &app.ticket(answered).await, &me, &assign(Some(me.id)), None, app.now()).await.unwrap();
    app.agent_writes(&app.ticket(answered).await, &me, "Done, please check.", Visibility::Public).await;
    let theirs = app.ticket_for(&customer).subject("theirs").priority(Priority::Low).create().await;
    staff::update(&app.db, &app.ticket(theirs).await, &me, &assign(Some(other.id)), None, app.now()).await.unwrap();
    let in_team = app.ticket_for(&customer).subject("in team").priority(Priority::Low).create().await;
    let team_change = Changes { group_id: Some(team), assignee: Some(Some(other.id)), ..Changes::default() };
    staff::update(&app.db, &app.ticket(in_team).await, &me, &team_change, None, app.now()).await.unwrap();
    let overdue = app.ticket_for(&customer).subject("overdue").priority(Priority::Urgent).create().await;
    let pending = app.ticket_for(&customer).subject("pending").priority(Priority::Urgent).create().await;
    staff::set_status(&app.db, &app.ticket(pending).await, &me, Status::Pending, app.now()).await.unwrap();
    let resolved = app.ticket_for(&customer).subject("resolved").priority(Priority::Low).create().await;
    staff::set_status(&app.db, &app.ticket(resolved).await, &me, Status::Resolved, app.now()).await.unwrap();
    let closed = app.ticket_for(&customer).subject("closed").priority(Priority::Low).create().await;
    staff::set_status(&app.db, &app.ticket(closed).await, &me, Status::Closed, app.now()).await.unwrap();
    // Noon: the urgent ones from ten are past their 1 h first-response target (11:00), the
    // low ones (24 h: tomorrow 10:00) are not.
    app.clock.advance(2 * 3600);
    let due_today = app.ticket_for(&customer).subject("due soon").priority(Priority::Urgent).create().await;
    let _ = (unassigned, overdue, due_today);

    let expect = |view: &str, wanted: &[&str]| {
        let mut wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        wanted.sort();
        (view.to_string(), wanted)
    };
    // "Due soon", urgent from noon, is due at 13:00: today, and not yet overdue.
    let due_today_expected = ["overdue", "due soon"];
    for (view, wanted) in [
        expect("unassigned", &["unassigned", "overdue", "due soon", "pending"]),
        expect("mine", &["mine", "answered"]),
        expect("needs_my_reply", &["mine"]),
        expect("my_groups", &["in team"]),
        expect("all", &["unassigned", "mine", "answered", "theirs", "in team", "overdue", "due soon", "pending"]),
        expect("overdue", &["overdue"]),
        expect("due_today", &due_today_expected),
        expect("pending", &["pending"]),
        expect("resolved", &["resolved"]),
        expect("closed", &["closed"]),
    ] {
        let page = browser.get(&format!("/desk?view={view}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(subjects(&page), wanted, "view {view}");
    }
    let page = browser.get("/desk").await;
    assert_eq!(view_count(&page, "All open"), "8");
    assert_eq!(view_count(&page, "Needs my reply"), "1");
    assert_eq!(view_count(&page, "Overdue"), "1");
    assert_eq!(view_count(&page, "Closed"), "1");
    let overdue_row = page.attribute("tr.overdue td[data-label=Subject] a", "href").unwrap();
    assert_eq!(overdue_row, format!("/desk/tickets/{overdue}?back=/desk"), "opened from All open (the default view)");

    // Half past eleven at night: an urgent ticket now is due at half past midnight —
    // tomorrow, so not "due today"; the earlier ones still are.
    app.clock.set(MONDAY_TEN_AM + 13 * 3600 + 1800);
    app.ticket_for(&customer).subject("due tomorrow").priority(Priority::Urgent).create().await;
    let page = browser.get("/desk?view=due_today").await;
    assert_eq!(subjects(&page), ["due soon", "overdue"]);
    assert!(page.text_of("tr.overdue .due-overdue").starts_with("overdue by"));
}

async fn pending_stops_the_sla_clock(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let number = app.ticket_for(&customer).subject("waiting").priority(Priority::Urgent).create().await;
    app.clock.advance(1800);
    staff::set_status(&app.db, &app.ticket(number).await, &me, Status::Pending, app.now()).await.unwrap();
    app.clock.advance(5 * 3600);
    assert!(subjects(&browser.get("/desk?view=overdue").await).is_empty(), "pending is never overdue");
    helpdesk::domain::conversation::customer::reply(
        &app.db,
        &app.ticket(number).await,
        &customer,
        &helpdesk::domain::conversation::customer::Reply::parse("here").unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    let ticket = app.ticket(number).await;
    assert_eq!(ticket.status, Status::Open);
    // 30 min of the hour were used before the pause; 30 remain.
    assert_eq!(ticket.due_at, Some(app.now() + 1800));
    assert!(subjects(&browser.get("/desk?view=overdue").await).is_empty());
    app.clock.advance(1801);
    assert_eq!(subjects(&browser.get("/desk?view=overdue").await), ["waiting"]);
}

async fn filters_narrow_the_queue(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let ada = app.user(Role::Customer).email("ada@example.com").name("Ada").create().await;
    let other_group = app.group("Billing").public().create().await;
    let low = app.ticket_for(&ada).subject("low one").priority(Priority::Low).create().await;
    app.clock.advance(86_400 * 2);
    let urgent = app.ticket_for(&ada).subject("urgent one").priority(Priority::Urgent).create().await;
    let high = app.ticket_for(&ada).subject("high one").priority(Priority::High).create().await;
    staff::update(
        &app.db,
        &app.ticket(high).await,
        &me,
        &Changes { group_id: Some(other_group), assignee: Some(Some(me.id)), ..Changes::default() },
        None,
        app.now(),
    )
    .await
    .unwrap();
    let _ = low;

    assert_eq!(subjects(&browser.get("/desk?priority=urgent").await), ["urgent one"]);
    assert_eq!(subjects(&browser.get(&format!("/desk?group={other_group}")).await), ["high one"]);
    assert_eq!(subjects(&browser.get(&format!("/desk?assignee={}", me.id)).await), ["high one"]);
    assert_eq!(subjects(&browser.get("/desk?assignee=none").await), ["low one", "urgent one"]);
    assert_eq!(subjects(&browser.get("/desk?status=open").await), ["high one"]);
    assert_eq!(subjects(&browser.get("/desk?status=pending").await), Vec::<String>::new());
    let today = time::OffsetDateTime::from_unix_timestamp(app.now()).unwrap().date();
    assert_eq!(subjects(&browser.get(&format!("/desk?from={today}")).await), ["high one", "urgent one"]);
    assert_eq!(subjects(&browser.get(&format!("/desk?to={}", today.previous_day().unwrap())).await), ["low one"]);
    let by_priority = browser.get("/desk?sort=priority").await;
    assert_eq!(by_priority.texts(".desk-list td.subject a"), ["urgent one", "high one", "low one"]);
    staff::set_status(&app.db, &app.ticket(urgent).await, &me, Status::Pending, app.now()).await.unwrap();
    let by_due = browser.get("/desk?sort=due").await;
    assert_eq!(
        by_due.texts(".desk-list td.subject a"),
        ["low one", "high one", "urgent one"],
        "no due date (pending) last, on both databases"
    );
    let due_first = browser.get("/desk?view=due_today").await;
    assert_eq!(due_first.text_of("#f-sort option[value='']"), "Due", "the due views put the most overdue first");
    assert_eq!(due_first.texts("#f-sort option").iter().filter(|label| *label == "Due").count(), 1, "named once");
    assert_eq!(subjects(&due_first), subjects(&browser.get("/desk?view=due_today&sort=due").await));
    let by_created = browser.get("/desk?sort=created").await;
    assert_eq!(by_created.texts(".desk-list td.subject a").last().unwrap(), "low one");
    let odd = browser.get("/desk?status=sleeping&from=31/12/2026&view=nowhere").await;
    assert_eq!(odd.status, StatusCode::OK);
    assert_eq!(odd.texts(".form-error").len(), 3);
    assert_eq!(subjects(&odd).len(), 3);
    // The filters are the query string: the form shows them, the pager keeps them.
    let page = browser.get(&format!("/desk?priority=urgent&group={other_group}")).await;
    assert_eq!(page.attribute("#f-priority option[selected]", "value").as_deref(), Some("urgent"));
}

async fn search_finds_words_in_bodies_and_jumps_to_numbers(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let ada = app.user(Role::Customer).email("ada@example.com").name("Ada Lovelace").create().await;
    let bob = app.user(Role::Customer).email("bob@example.com").name("Bob Builder").create().await;
    let first = app.ticket_for(&ada).subject("Printer").message("The toner is empty").create().await;
    let second = app.ticket_for(&bob).subject("Network").message("Cables everywhere").create().await;
    app.agent_writes(&app.ticket(second).await, &me, "Check the xylophone switch", Visibility::Internal).await;

    assert_eq!(subjects(&browser.get("/desk?q=toner").await), ["Printer"]);
    assert_eq!(subjects(&browser.get("/desk?q=xylophone").await), ["Network"], "notes are searched for staff");
    assert_eq!(subjects(&browser.get("/desk?q=lovelace").await), ["Printer"], "requester names are searched");
    assert_eq!(subjects(&browser.get("/desk?q=bob%40example.com").await), ["Network"]);
    let zed = app.user(Role::Customer).email("zed@northwind.example").name("Zed").create().await;
    app.ticket_for(&zed).subject("Invoice").message("Wrong amount").create().await;
    assert_eq!(subjects(&browser.get("/desk?q=northwind.example").await), ["Invoice"], "a customer's domain");
    assert!(subjects(&browser.get("/desk?q=unicorn").await).is_empty());
    // A control character is dropped from a search, which leaves none here: the whole queue.
    assert_eq!(subjects(&browser.get("/desk?q=%00").await), subjects(&browser.get("/desk").await));
    for odd in ["%22unbalanced", "search+-engines", "a%3Ab", "NOT", "*"] {
        let page = browser.get(&format!("/desk?q={odd}")).await;
        assert_eq!(page.status, StatusCode::OK, "{odd}");
        assert!(subjects(&page).is_empty(), "{odd} matches nothing");
    }
    browser.get(&format!("/desk?q=TCK-{second}")).await.assert_redirect(&format!("/desk/tickets/{second}"));
    browser.get(&format!("/desk?q={second}")).await.assert_redirect(&format!("/desk/tickets/{second}"));
    let no_such_number = browser.get("/desk?q=999999").await;
    assert_eq!(no_such_number.status, StatusCode::OK, "a number with no ticket searches");
    assert!(subjects(&no_such_number).is_empty());

    // A word too common to rank lists newest first, without a count, whichever way the
    // search is driven: from the index's order (large views, SQLite) or from the view's,
    // with the matches gathered first or (dense ones, SQLite) checked ticket by ticket.
    let third = app.ticket_for(&ada).subject("More toner").message("toner again").create().await;
    let ranked = QueueQuery { text: "toner".into(), ..Default::default() };
    let page = queue::list(&app.db, &me, &ranked, app.now()).await.unwrap();
    assert!(page.counted);
    for (index_order_min_view, dense_share) in [(1, 1), (i64::MAX, 1), (i64::MAX, 8)] {
        let limits = QueueLimits { rank_limit: 1, index_order_min_view, dense_share, ..QueueLimits::default() };
        let broad = QueueQuery { limits, ..ranked.clone() };
        let page = queue::list(&app.db, &me, &broad, app.now()).await.unwrap();
        assert!(!page.counted);
        let numbers: Vec<TicketNumber> = page.items.iter().map(|row| row.number).collect();
        assert_eq!(numbers, [third, first], "both matches, newest first ({limits:?})");
        let narrowed = QueueQuery { view: View::Mine, ..broad.clone() };
        assert!(queue::list(&app.db, &me, &narrowed, app.now()).await.unwrap().items.is_empty());
        let filtered = QueueQuery { assignee: Some(AssigneeFilter::Nobody), priority: Some(Priority::Medium), ..broad.clone() };
        assert_eq!(queue::list(&app.db, &me, &filtered, app.now()).await.unwrap().items.len(), 2);
        // An order the agent chose is kept.
        app.clock.advance(60);
        app.agent_writes(&app.ticket(first).await, &me, "Refilled", Visibility::Internal).await;
        let by_update = QueueQuery { sort: Some(Sort::Updated), ..broad };
        let numbers: Vec<TicketNumber> =
            queue::list(&app.db, &me, &by_update, app.now()).await.unwrap().items.iter().map(|row| row.number).collect();
        assert_eq!(numbers, [first, third]);
    }
    let ranked_page = browser.get("/desk?q=toner").await;
    assert_eq!(ranked_page.text_of("#f-sort option[value='']"), "Best match", "three matches are ranked");
    let numbers =
        |page: helpdesk::domain::paging::Paged<queue::QueueRow>| page.items.iter().map(|row| row.number).collect::<Vec<_>>();
    assert_eq!(numbers(queue::list(&app.db, &me, &ranked, app.now()).await.unwrap()), [third, first], "best match first");
    let ranked_by_update = QueueQuery { sort: Some(Sort::Updated), ..ranked };
    assert_eq!(
        numbers(queue::list(&app.db, &me, &ranked_by_update, app.now()).await.unwrap()),
        [first, third],
        "a chosen order is kept"
    );
}

async fn a_ticket_is_worked_from_unassigned_to_closed(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Mia Agent").signed_in().await;
    let (customer_browser, customer) = app.user(Role::Customer).email("cus@example.com").signed_in().await;
    let number = app.ticket_for(&customer).subject("Laptop will not boot").message("Black screen").create().await;
    let path = format!("/desk/tickets/{number}");
    assert_eq!(subjects(&browser.get("/desk?view=unassigned").await), ["Laptop will not boot"]);

    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attribute("#properties input[name=version]", "value").as_deref(), Some("1"));
    assert_eq!(page.attribute(".assign-me button", "form").as_deref(), Some("properties"), "a button of the properties form");
    browser.post(&path, &[("assignee", &me.id.to_string()), ("version", "1")]).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!((ticket.assignee_id, ticket.status), (Some(me.id), Status::Open), "the first action opens it");
    assert_eq!(subjects(&browser.get("/desk?view=mine").await), ["Laptop will not boot"]);

    browser.get(&path).await;
    let note = [("body", "Probably the SSD"), ("visibility", "internal"), ("time_spent", "10")];
    browser.post(&format!("{path}/replies"), &note).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.first_response_at, None, "a note is not a response");
    let reply = [
        ("body", "Please hold the power button for 10 s."),
        ("visibility", "public"),
        ("status", "pending"),
        ("time_spent", "5"),
    ];
    browser.post(&format!("{path}/replies"), &reply).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!(ticket.status, Status::Pending);
    assert_eq!(ticket.first_response_at, Some(app.now()));
    assert_eq!(ticket.time_spent_minutes, 15);
    let workspace = browser.get(&path).await;
    assert_eq!(workspace.texts(".entry-note .entry-body"), ["Probably the SSD"]);
    assert_eq!(workspace.text_of(".entry-note .badge-internal"), "Internal note");
    assert!(workspace.text_of(".facts").contains("15 min"));
    assert!(!customer_browser.get(&format!("/tickets/{number}")).await.body.contains("SSD"));

    customer_browser.get(&format!("/tickets/{number}")).await;
    customer_browser.post(&format!("/tickets/{number}/replies"), &[("body", "Did that, still black")]).await;
    assert_eq!(app.ticket(number).await.status, Status::Open);

    let page = browser.get(&path).await;
    let version = page.attribute(".properties input[name=version]", "value").unwrap();
    browser.post(&path, &[("status", "resolved"), ("version", &version)]).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.status, Status::Resolved);

    // The background work closes it once the window has passed: move the clock, restart.
    app.clock.advance(72 * 3600 + 60);
    let app = app.restart().await;
    let closed = format!("SELECT COUNT(*) FROM tickets WHERE number = {number} AND status = 'closed'");
    app.wait_for_count(&closed, 1).await; // auto-closed after the window
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event FROM messages WHERE kind = 'event' ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(events.last().map(String::as_str), Some("auto_close"));
    let mails: Vec<String> = sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
    // Assigning the ticket to oneself mails nobody.
    assert_eq!(mails, ["ticket_created", "agent_replied", "customer_replied", "resolved", "closed"]);
    // Every change is audited, by whom it was made: the customer, the agent, the system.
    let audits: Vec<(String, Option<i64>, String)> = sqlx::query_as(
        "SELECT action, actor_id, COALESCE(after_state, '') FROM audit_log WHERE object_type = 'ticket' ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let audits: Vec<(&str, Option<i64>, &str)> =
        audits.iter().map(|(action, actor, after)| (action.as_str(), *actor, after.as_str())).collect();
    let status = |to: &str| format!(r#"{{"status":"{to}"}}"#);
    let (open, pending, resolved, closed) = (status("open"), status("pending"), status("resolved"), status("closed"));
    let assigned = format!(r#"{{"assignee_id":{}}}"#, me.id);
    // Messages and notes are named by id, never by their text; the first came with the ticket.
    let said: Vec<i64> = sqlx::query_scalar("SELECT id FROM messages WHERE kind IN ('message', 'note') ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let message = |index: usize| format!(r#"{{"files":0,"message_id":{}}}"#, said[index]);
    let (note, answer, customer_answer) = (message(1), message(2), message(3));
    assert_eq!(audits[0].0, "ticket.create");
    assert_eq!(audits[0].1, Some(customer.id));
    assert_eq!(
        audits[1..],
        [
            ("ticket.assignee", Some(me.id), assigned.as_str()),
            ("ticket.status", Some(me.id), open.as_str()),
            ("ticket.note", Some(me.id), note.as_str()),
            ("ticket.message", Some(me.id), answer.as_str()),
            ("ticket.status", Some(me.id), pending.as_str()),
            ("ticket.message", Some(customer.id), customer_answer.as_str()),
            ("ticket.status", Some(customer.id), open.as_str()),
            ("ticket.status", Some(me.id), resolved.as_str()),
            ("ticket.status", None, closed.as_str()),
        ]
    );
}

async fn a_stale_version_is_refused_and_can_be_applied_again(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let colleague = app.user(Role::Agent).email("col@example.com").name("Colin Colleague").create().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let number = app.ticket_for(&customer).subject("Shared").create().await;
    let path = format!("/desk/tickets/{number}");
    let page = browser.get(&path).await;
    let version = page.attribute(".properties input[name=version]", "value").unwrap();

    let change = Changes { priority: Some("urgent".parse().unwrap()), ..Changes::default() };
    staff::update(&app.db, &app.ticket(number).await, &colleague, &change, None, app.now()).await.unwrap();

    let stale = browser.post(&path, &[("priority", "low"), ("version", &version)]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.text_of(".conflict li").contains("Colin Colleague changed the priority from Medium to Urgent"));
    assert_eq!(app.ticket(number).await.priority.as_str(), "urgent", "nothing applied");
    let current = app.ticket(number).await.version.to_string();
    assert_eq!(stale.attribute(".conflict input[name=version]", "value"), Some(current.clone()));
    assert_eq!(stale.attribute(".conflict input[name=priority]", "value").as_deref(), Some("low"));
    browser.post(&path, &[("priority", "low"), ("version", &current)]).await.assert_redirect(&path);
    assert_eq!(app.ticket(number).await.priority.as_str(), "low");
    let _ = me;
}

async fn merging_combines_timelines_and_closes_the_duplicate(app: TestApp) {
    let (browser, _) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let (customer_browser, customer) = app.user(Role::Customer).email("cus@example.com").signed_in().await;
    let stranger = app.user(Role::Customer).email("str@example.com").name("Stranger").create().await;
    let survivor = app.ticket_for(&customer).subject("Printer broken").message("first report").create().await;
    let duplicate = app.ticket_for(&customer).subject("Printer still broken").message("second report").create().await;
    let foreign = app.ticket_for(&stranger).subject("Printer").message("someone else").create().await;

    browser.get(&format!("/desk/tickets/{duplicate}")).await;
    let refused = browser.post(&format!("/desk/tickets/{duplicate}/merge"), &[("into", &foreign.to_string())]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.text_of("#into-error"), "Only tickets from the same requester can be merged.");
    let missing = browser.post(&format!("/desk/tickets/{duplicate}/merge"), &[("into", "999999")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);

    // From the survivor's list of the customer's other tickets: the duplicate's merge
    // form, asking first, lands on the survivor.
    let page = browser.get(&format!("/desk/tickets/{survivor}")).await;
    let action = page.attribute(".other-tickets form.merge-here", "action").expect("a merge button per other ticket");
    assert_eq!(action, format!("/desk/tickets/{duplicate}/merge"));
    assert!(page.attribute(".other-tickets form.merge-here", "data-confirm").unwrap().contains("will be closed"));
    assert_eq!(page.attribute(".other-tickets form.merge-here input[name=into]", "value"), Some(survivor.to_string()));
    browser.post(&action, &[("into", &survivor.to_string())]).await.assert_redirect(&format!("/desk/tickets/{survivor}"));
    let merged = app.ticket(duplicate).await;
    assert_eq!((merged.status, merged.merged_into), (Status::Closed, Some(survivor)));
    let page = browser.get(&format!("/desk/tickets/{survivor}")).await;
    assert_eq!(page.text_of(".flash"), format!("Merged TCK-{duplicate} into this ticket."));
    assert_eq!(page.texts(".entry-message .entry-body"), ["first report", "second report"]);
    assert!(page.text_of(".entry-event").contains(&format!("merged TCK-{duplicate} into this")));
    let old = browser.get(&format!("/desk/tickets/{duplicate}")).await;
    assert_eq!(
        old.texts(".entry-event").iter().map(|text| text.split(" · ").next().unwrap_or(text).to_owned()).collect::<Vec<_>>(),
        [format!("Me merged this into TCK-{survivor}"), "Me changed the status from New to Closed".to_owned()],
        "no “merged this into closed”"
    );
    assert_eq!(old.attribute(".facts a[href^='/desk/tickets/']", "href"), Some(format!("/desk/tickets/{survivor}")));
    let customer_view = customer_browser.get(&format!("/tickets/{survivor}")).await;
    assert_eq!(customer_view.texts(".entry-message .entry-body"), ["first report", "second report"]);
    let customer_old = customer_browser.get(&format!("/tickets/{duplicate}")).await;
    assert!(customer_old.text_of(".next-step").contains(&format!("merged into TCK-{survivor}")));
}

async fn bulk_changes_apply_to_every_selected_ticket(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let mut numbers: Vec<TicketNumber> = Vec::new();
    for index in 0..4 {
        numbers.push(app.ticket_for(&customer).subject(format!("bulk {index}")).create().await);
    }
    let page = browser.get("/desk").await;
    assert_eq!(page.texts(".desk-list tbody input[name=tickets]").len(), 4);
    let selected: Vec<String> = numbers[..3].iter().map(|n| n.to_string()).collect();
    let mut fields: Vec<(&str, &str)> = selected.iter().map(|n| ("tickets", n.as_str())).collect();
    fields.extend([("priority", "high"), ("status", ""), ("group", ""), ("assignee", "keep"), ("return_to", "/desk?view=all")]);
    browser.post("/desk/tickets/bulk", &fields).await.assert_redirect("/desk?view=all");
    assert_eq!(browser.get("/desk").await.text_of(".flash"), "Updated 3 of 3 selected tickets.");
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE priority = 'high'").await, 3);
    assert_eq!(app.ticket(numbers[3]).await.priority.as_str(), "medium");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.priority'").await, 3);

    let me_id = me.id.to_string();
    browser.get("/desk").await;
    browser.post("/desk/tickets/bulk", &[("tickets", &selected[0]), ("tickets", &selected[1]), ("assignee", &me_id)]).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM tickets WHERE assignee_id = {}", me.id)).await, 2);
    browser.get("/desk").await;
    browser.post("/desk/tickets/bulk", &[("tickets", &selected[0]), ("assignee", "")]).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM tickets WHERE assignee_id = {}", me.id)).await, 1);
    browser.get("/desk").await;
    browser.post("/desk/tickets/bulk", &[("priority", "low")]).await.assert_redirect("/desk");
    assert_eq!(browser.get("/desk").await.text_of(".flash"), "Select at least one ticket.");

    // A ticket that refuses the change (closed is final) is skipped and named; the others change.
    staff::set_status(&app.db, &app.ticket(numbers[3]).await, &me, Status::Closed, app.now()).await.unwrap();
    let (open_one, closed_one) = (numbers[2].to_string(), numbers[3].to_string());
    browser.get("/desk").await;
    browser
        .post(
            "/desk/tickets/bulk",
            &[("tickets", &open_one), ("tickets", &closed_one), ("status", "pending"), ("assignee", "keep")],
        )
        .await;
    let flash = browser.get("/desk").await.text_of(".flash");
    assert!(
        flash.starts_with(&format!("Updated 1 of 2 selected tickets. Skipped TCK-{closed_one}: This ticket is closed")),
        "{flash}"
    );
    assert_eq!((app.ticket(numbers[2]).await.status, app.ticket(numbers[3]).await.status), (Status::Pending, Status::Closed));
}

async fn agents_open_tickets_for_customers(app: TestApp) {
    let (browser, agent) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let internal = app.group("Back office").create().await;
    let existing = app.user(Role::Customer).email("known@example.com").name("Known").create().await;
    assert_eq!(browser.get("/desk/tickets/new").await.status, StatusCode::OK);
    let form = |requester: &'static str| {
        let internal = internal.to_string();
        move |subject: &'static str| {
            vec![
                ("requester", requester.to_string()),
                ("subject", subject.to_string()),
                ("group", internal.clone()),
                ("priority", "high".to_string()),
                ("message", "Called in".to_string()),
            ]
        }
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/desk/tickets", &borrowed).await
        }
    };
    post(form("New.Person@Example.com")("Phone call")).await.assert_redirect("/desk/tickets/1001");
    let requester: (String, String) =
        sqlx::query_as("SELECT u.email, u.role FROM tickets t JOIN users u ON u.id = t.requester_id WHERE t.number = 1001")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(requester, ("new.person@example.com".to_string(), "customer".to_string()));
    browser.get("/desk/tickets/new").await;
    post(form("known@example.com")("Walk-in")).await.assert_redirect("/desk/tickets/1002");
    assert_eq!(app.ticket(TicketNumber::parse("1002").unwrap()).await.requester_id, existing.id);
    let refused = post(form("me@example.com")("Staff")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text_of("#requester-error").contains("staff"));
    let bad = post(vec![("requester", "nope".into()), ("subject", "".into()), ("message", "x".into())]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text_of("#requester-error").contains("email"));
    assert_eq!(bad.text_of("#subject-error"), "Subject is required.");
    let audit_actor: Option<i64> =
        sqlx::query_scalar("SELECT actor_id FROM audit_log WHERE action = 'ticket.create' AND object_id = '1002'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(audit_actor, Some(agent.id));
}

async fn canned_responses_are_kept_and_inserted(app: TestApp) {
    let (browser, _) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let number = app.ticket_for(&customer).subject("Password").message("Forgot it").create().await;
    assert!(browser.get("/desk/canned").await.text_of(".empty").contains("No canned responses"));
    let invalid = browser.post("/desk/canned", &[("title", ""), ("body", "x")]).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.text_of("#title-error"), "Title is required.");
    browser
        .post("/desk/canned", &[("title", "Reset link"), ("body", "Use the reset link <here>.")])
        .await
        .assert_redirect("/desk/canned");
    let id: i64 = sqlx::query_scalar("SELECT id FROM canned_responses").fetch_one(app.db.pool()).await.unwrap();
    browser.get(&format!("/desk/canned/{id}")).await;
    browser
        .post(&format!("/desk/canned/{id}"), &[("title", "Reset link"), ("body", "Use the reset link.")])
        .await
        .assert_redirect("/desk/canned");
    let workspace = browser.get(&format!("/desk/tickets/{number}?canned={id}")).await;
    assert_eq!(workspace.text_of("#body"), "Use the reset link.");
    assert_eq!(workspace.attribute("#canned option", "data-body").as_deref(), Some("Use the reset link."));
    browser.post(&format!("/desk/canned/{id}/delete"), &[]).await.assert_redirect("/desk/canned");
    assert_eq!(app.count("SELECT COUNT(*) FROM canned_responses").await, 0);
    assert_eq!(browser.get(&format!("/desk/canned/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE object_type = 'canned_response'").await, 3);
}

async fn customers_get_404_on_every_desk_route(app: TestApp) {
    let (customer, user) = app.user(Role::Customer).email("cus@example.com").signed_in().await;
    let number = app.ticket_for(&user).subject("Mine").create().await;
    // A saved reply that exists, so that its 404 comes from the guard and not from a lookup.
    let admin = app.fixture_admin().await;
    let saved = helpdesk::domain::conversation::canned::CannedInput::parse("Reset", "Use the reset link.").unwrap();
    let canned = helpdesk::domain::conversation::canned::create(&app.db, &saved, admin.id, app.now()).await.unwrap();
    // Every desk route of the route map, with real objects behind its ids.
    let concrete = |path: &str| path.replace("{number}", &number.to_string()).replace("{id}", &canned.to_string());
    let routes = crate::routes::pages_under("/desk");
    assert!(routes.len() >= 13, "every desk route is read from the map: {routes:?}");
    assert_eq!(customer.get("/desk?view=mine").await.status, StatusCode::NOT_FOUND);
    let n = number.to_string();
    for (method, path) in &routes {
        let path = concrete(path);
        customer.get("/tickets").await;
        let status = match *method {
            "get" => customer.get(&path).await.status,
            _ => {
                let fields = [
                    ("tickets", n.as_str()),
                    ("status", "closed"),
                    ("body", "x"),
                    ("visibility", "public"),
                    ("into", "1"),
                    ("title", "t"),
                ];
                customer.post(&path, &fields).await.status
            }
        };
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let ticket = app.ticket(number).await;
    assert_eq!((ticket.status, ticket.version), (Status::New, 1));
    assert_eq!(app.count("SELECT COUNT(*) FROM canned_responses").await, 1, "the saved reply is untouched");
}

async fn a_queue_page_takes_the_same_statements_for_3_or_50_rows(app: TestApp) {
    let (browser, _) = app.user(Role::Agent).email("me@example.com").name("Me").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let agent = app.user(Role::Agent).email("other@example.com").name("Other Agent").create().await;
    crate::statements::start_counting();
    let measure = || async {
        let uri = crate::statements::marked("/desk?view=all&sort=priority");
        let page = browser.get(&uri).await;
        (crate::statements::statements_of(&uri), page.texts(".desk-list tbody tr").len())
    };
    for index in 0..3 {
        let number = app.ticket_for(&customer).subject(format!("t{index}")).create().await;
        staff::update(
            &app.db,
            &app.ticket(number).await,
            &agent,
            &Changes { assignee: Some(Some(agent.id)), ..Changes::default() },
            None,
            app.now(),
        )
        .await
        .unwrap();
    }
    let (few, rows) = measure().await;
    assert_eq!(rows, 3);
    for index in 3..60 {
        app.ticket_for(&customer).subject(format!("t{index}")).create().await;
    }
    let (many, rows) = measure().await;
    assert_eq!(rows, 50);
    assert!(few > 0, "the statements are counted");
    assert_eq!(few, many, "statements for 3 rows vs 50");
}

mod demo_data {
    use helpdesk::demo::{self, DemoOptions};
    use reqwest::StatusCode;

    use crate::harness::TestApp;
    use crate::on_both_databases;

    on_both_databases!(the_demo_seeds_a_working_installation, pages_go_on_past_the_counted_thousand);

    async fn the_demo_seeds_a_working_installation(app: TestApp) {
        let options = DemoOptions { tickets: 300, password: "demo-password".into(), force: false };
        let summary = demo::seed(&app.db, &options, app.now()).await.unwrap();
        assert_eq!(summary.tickets, 300);
        let statuses: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT status FROM tickets ORDER BY status").fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(statuses, ["closed", "new", "on_hold", "open", "pending", "resolved"]);
        assert!(
            app.count(&format!(
                "SELECT COUNT(*) FROM tickets WHERE due_at < {} AND status NOT IN ('resolved', 'closed')",
                app.now()
            ))
            .await
                > 0,
            "some overdue"
        );
        let per_ticket: Vec<i64> =
            sqlx::query_scalar("SELECT COUNT(*) FROM messages GROUP BY ticket_id").fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(per_ticket.len(), 300);
        assert!(per_ticket.iter().all(|count| (1..=10).contains(count)));
        assert!(demo::seed(&app.db, &options, app.now()).await.is_err(), "refuses a database with tickets");

        let agent = app.browser();
        agent.sign_in("agent1@demo.test", "demo-password").await.assert_redirect("/desk");
        let queue = agent.get("/desk").await;
        assert_eq!(queue.texts(".desk-list tbody tr").len(), 50);
        assert_eq!(agent.get("/desk?q=invoice").await.status, StatusCode::OK);
        assert!(!agent.get("/desk?q=invoice").await.texts(".desk-list tbody tr").is_empty(), "the search index was built");
        let customer = app.browser();
        customer.sign_in("customer1@demo.test", "demo-password").await.assert_redirect("/tickets");
        customer.get("/tickets/new").await;
        let group: i64 =
            sqlx::query_scalar("SELECT id FROM groups WHERE name = 'General'").fetch_one(app.db.pool()).await.unwrap();
        customer
            .post("/tickets", &[("subject", "After the demo"), ("group", &group.to_string()), ("message", "x")])
            .await
            .assert_redirect("/tickets/1301");
        let forced = DemoOptions { tickets: 10, force: true, ..options };
        demo::seed(&app.db, &forced, app.now()).await.unwrap();
        assert_eq!(app.count("SELECT MAX(number) FROM tickets").await, 1311);
    }

    async fn pages_go_on_past_the_counted_thousand(app: TestApp) {
        let options = DemoOptions { tickets: 2_400, password: "demo-password".into(), force: false };
        demo::seed(&app.db, &options, app.now()).await.unwrap();
        let open = app.count("SELECT COUNT(*) FROM tickets WHERE status IN ('new', 'open', 'pending', 'on_hold')").await;
        assert!(open > 1_100, "{open} open tickets");
        let last_page = (open + 49) / 50;
        let agent = app.browser();
        agent.sign_in("agent1@demo.test", "demo-password").await;
        let first = agent.get("/desk?view=all").await;
        assert_eq!(first.text_of(".pager .position"), "Page 1", "the count stops at 1000: no “of N”");
        assert_eq!(super::view_count(&first, "All open"), "1000+", "the sidebar's count stops there too");
        // The customers' domain is in every ticket: too common to rank, listed newest first, and the page says so.
        let common = agent.get("/desk?q=demo.test").await;
        assert!(common.text_of(".hint").contains("listed newest first"), "{}", common.text_of(".hint"));
        assert_eq!(common.texts(".desk-list tbody tr").len(), 50);
        let chosen = agent.get("/desk?q=demo.test&sort=created").await;
        assert!(!chosen.text_of(".hint").contains("listed newest first"), "an order the agent chose needs no notice");
        let past_the_count = agent.get("/desk?view=all&page=21").await;
        assert_eq!(past_the_count.attribute(".pager a[rel=next]", "href").as_deref(), Some("/desk?view=all&page=22"));
        let last = agent.get(&format!("/desk?view=all&page={last_page}")).await;
        assert!(!last.texts(".desk-list tbody tr").is_empty());
        assert!(last.attribute(".pager a[rel=next]", "href").is_none(), "the last page has no next");
        assert_eq!(last.attribute(".pager a[rel=prev]", "href"), Some(format!("/desk?view=all&page={}", last_page - 1)));

        // The API pages on the same way.
        let agent_id = app.count("SELECT id FROM users WHERE email = 'agent1@demo.test'").await;
        let token =
            helpdesk::domain::accounts::api_tokens::create(&app.db, agent_id, "pages", Some(agent_id), app.now()).await.unwrap();
        for (page, more) in [(21, true), (last_page, false)] {
            let answer = reqwest::Client::new()
                .get(format!("{}/api/v1/tickets?view=all&page={page}", app.base_url))
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
            assert_eq!((body["meta"]["has_more"].as_bool(), body["meta"]["total"].is_null()), (Some(more), true), "page {page}");
        }
    }
}
