//! A tag or a field's value filtered in a view by status is read in its index's own order
//! (each row keeps its ticket's place and latest change): the page lists newest first and
//! follows every change, on both databases.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Changes, Visibility};
use helpdesk::domain::tags::{Tag, TagChange, TagSet};
use helpdesk::domain::tickets::queue::{self, FieldFilter, QueueLimits, QueueQuery, View};
use helpdesk::domain::tickets::{Status, TicketNumber};

use crate::fields::define;
use crate::harness::{Page, TestApp};
use crate::on_both_databases;

on_both_databases!(a_filtered_view_by_status_follows_each_change, a_walked_filter_pages_and_counts);

/// The subjects of the queue's rows, in the page's order.
fn listed(page: &Page) -> Vec<String> {
    page.texts(".desk-list td.subject > a")
}

async fn a_filtered_view_by_status_follows_each_change(app: TestApp) {
    define(&app, "type", "select", "Question\nIncident", &["editable"]).await;
    let (browser, ann) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    let shape = |number: TicketNumber, tags: &'static str, kind: Option<&'static str>| {
        let (app, ann) = (&app, &ann);
        async move {
            let mut changes = Changes { tags: Some(TagChange::Replace(TagSet::parse(tags).unwrap())), ..Default::default() };
            if let Some(kind) = kind {
                changes.fields.entries.insert("type".into(), vec![kind.into()]);
            }
            staff::update(&app.db, &app.ticket(number).await, ann, &changes, None, app.now()).await.unwrap();
            app.clock.advance(60);
        }
    };
    let first = app.ticket_for(&customer).subject("First").create().await;
    let second = app.ticket_for(&customer).subject("Second").create().await;
    let third = app.ticket_for(&customer).subject("Third").create().await;
    shape(first, "vip", Some("Incident")).await;
    shape(second, "vip", None).await;
    shape(third, "vip, billing", Some("Incident")).await;

    let open = browser.get("/desk?view=all&tag=vip").await;
    assert_eq!(listed(&open), ["Third", "Second", "First"], "newest change first");
    assert_eq!(open.text_of("#queue-title .muted"), "(3)");
    // A reply moves a ticket up, as in the unfiltered view.
    app.agent_writes(&app.ticket(first).await, &ann, "On it", Visibility::Public).await;
    app.clock.advance(60);
    assert_eq!(listed(&browser.get("/desk?view=all&tag=vip").await), ["First", "Third", "Second"]);
    // Resolving moves it to the resolved view's list, with its tags and values.
    staff::set_status(&app.db, &app.ticket(third).await, &ann, Status::Resolved, app.now()).await.unwrap();
    app.clock.advance(60);
    assert_eq!(listed(&browser.get("/desk?view=all&tag=vip").await), ["First", "Second"]);
    assert_eq!(listed(&browser.get("/desk?view=resolved&tag=vip").await), ["Third"]);
    assert_eq!(listed(&browser.get("/desk?view=all&field_type=Incident").await), ["First"]);
    assert_eq!(listed(&browser.get("/desk?view=resolved&field_type=Incident").await), ["Third"]);
    assert_eq!(listed(&browser.get("/desk?view=resolved&tag=vip&tag=billing&field_type=Incident").await), ["Third"]);
    assert!(listed(&browser.get("/desk?view=all&tag=vip&tag=billing").await).is_empty());
    // A tag given to a closed ticket starts in the closed view.
    staff::set_status(&app.db, &app.ticket(second).await, &ann, Status::Closed, app.now()).await.unwrap();
    shape(second, "vip, late", None).await;
    assert_eq!(listed(&browser.get("/desk?view=closed&tag=late").await), ["Second"]);
    // Other orders and views read the tickets themselves, with the same answer.
    assert_eq!(listed(&browser.get("/desk?view=all&tag=vip&sort=created").await), ["First"]);
    assert_eq!(listed(&browser.get("/desk?view=everything&tag=vip&sort=updated").await), ["Second", "Third", "First"]);

    let out_of_step = "SELECT COUNT(*) FROM ticket_tags g JOIN tickets t ON t.id = g.ticket_id \
         WHERE g.updated_at <> t.updated_at OR g.place <> CASE t.status WHEN 'resolved' THEN 'resolved' \
         WHEN 'closed' THEN 'closed' ELSE 'open' END";
    assert_eq!(app.count(out_of_step).await, 0);
    assert_eq!(app.count(&out_of_step.replace("ticket_tags", "ticket_field_values")).await, 0);
}

/// A filter walked alone (nothing but the view narrowing it) reads its page and its count
/// in one statement: pages follow one another, the count holds on every page, and a
/// second filter checked on the walked rows counts only what both hold.
async fn a_walked_filter_pages_and_counts(app: TestApp) {
    define(&app, "type", "select", "Question\nIncident", &["editable"]).await;
    let (browser, ann) = app.user(Role::Agent).email("ann@example.com").name("Ann").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").name("Cus").create().await;
    for index in 0..53 {
        let number = app.ticket_for(&customer).subject(format!("Ticket {index}")).create().await;
        let mut changes = Changes { tags: Some(TagChange::Replace(TagSet::parse("vip, team").unwrap())), ..Default::default() };
        if index % 2 == 0 {
            changes.fields.entries.insert("type".into(), vec!["Incident".into()]);
        }
        staff::update(&app.db, &app.ticket(number).await, &ann, &changes, None, app.now()).await.unwrap();
        app.clock.advance(60);
    }
    let filtered = |page: i64, tags: &'static str, kind: Option<Option<&'static str>>| {
        let query = QueueQuery {
            view: View::All,
            tags: tags.split(' ').map(|tag| Tag::parse(tag).unwrap()).collect(),
            fields: kind.map(|value| FieldFilter { key: "type".into(), value: value.map(str::to_owned) }).into_iter().collect(),
            page,
            ..QueueQuery::default()
        };
        let (app, ann) = (&app, &ann);
        async move { queue::list(&app.db, ann, &query, app.now()).await.unwrap() }
    };
    // Two sets at least this large are walked one against the other, uncounted: the page
    // says only whether another follows.
    let uncounted = |page: i64| {
        let limits = QueueLimits { gather_below: 10, ..QueueLimits::default() };
        let tags = vec![Tag::parse("vip").unwrap(), Tag::parse("team").unwrap()];
        let query = QueueQuery { view: View::All, tags, limits, page, ..QueueQuery::default() };
        let (app, ann) = (&app, &ann);
        async move { queue::list(&app.db, ann, &query, app.now()).await.unwrap() }
    };
    let first = filtered(1, "vip", None).await;
    assert_eq!((first.items.len(), first.total_items, first.counted, first.has_next), (50, 53, true, true));
    assert_eq!(first.items[0].subject, "Ticket 52", "newest change first");
    let second = filtered(2, "vip", None).await;
    assert_eq!((second.items.len(), second.total_items, second.has_next), (3, 53, false));
    assert_eq!(second.items.iter().map(|row| row.subject.as_str()).collect::<Vec<_>>(), ["Ticket 2", "Ticket 1", "Ticket 0"]);
    let past = filtered(3, "vip", None).await;
    assert_eq!((past.items.len(), past.total_items, past.has_next), (0, 53, false));

    let both = filtered(1, "vip", Some(Some("Incident"))).await;
    assert_eq!((both.items.len(), both.total_items, both.has_next), (27, 27, false));
    assert!(both.items.iter().all(|row| row.subject.trim_start_matches("Ticket ").parse::<i32>().unwrap() % 2 == 0));
    assert_eq!(both.items[0].subject, "Ticket 52");
    // Tickets without a type read the tickets themselves: the same rows, counted.
    let untyped = filtered(1, "vip", Some(None)).await;
    assert_eq!((untyped.items.len(), untyped.total_items), (26, 26));
    assert_eq!(untyped.items[0].subject, "Ticket 51");
    // A tag no ticket carries.
    let none = filtered(1, "nothing", None).await;
    assert_eq!((none.items.len(), none.total_items, none.has_next), (0, 0, false));
    let first = uncounted(1).await;
    assert_eq!((first.items.len(), first.total_items, first.counted, first.has_next), (50, 51, false, true));
    assert_eq!(first.items[0].subject, "Ticket 52");
    let second = uncounted(2).await;
    assert_eq!((second.items.len(), second.total_items, second.counted, second.has_next), (3, 53, false, false));
    let past = uncounted(3).await;
    assert_eq!((past.items.len(), past.total_items, past.has_next), (0, 100, false));
    // The page as the desk shows it.
    let desk = browser.get("/desk?view=all&tag=vip&field_type=Incident").await;
    assert_eq!(desk.text_of("#queue-title .muted"), "(27)");
    assert_eq!(listed(&desk).len(), 27);
}
