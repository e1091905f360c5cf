//! The staff desk's queue: views, the SLA clock, filters, search, and a page's statements.

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
    a_queue_page_takes_the_same_statements_for_3_or_50_rows,
);

pub(crate) fn subjects(page: &Page) -> Vec<String> {
    let mut subjects = page.texts(".desk-list td.subject a");
    subjects.sort();
    subjects
}

pub(crate) fn view_count(page: &Page, label: &str) -> String {
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
    // with the matches gathered first or (dense ones, SQLite) checked ticket by ticket;
    // a word also matched as a prefix ("toner", not "toner.") is always gathered.
    let third = app.ticket_for(&ada).subject("More toner").message("toner again").create().await;
    let ranked = QueueQuery { text: "toner".into(), ..Default::default() };
    let page = queue::list(&app.db, &me, &ranked, app.now()).await.unwrap();
    assert!(page.counted);
    let strategies = [(1, 1), (i64::MAX, 1), (i64::MAX, 8)];
    for ((index_order_min_view, dense_share), text) in
        strategies.iter().flat_map(|limits| [(*limits, "toner"), (*limits, "toner.")])
    {
        let limits = QueueLimits { rank_limit: 1, index_order_min_view, dense_share, ..QueueLimits::default() };
        let broad = QueueQuery { limits, text: text.into(), ..ranked.clone() };
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
