//! Working through a queue: tickets opened from it carry it along, "Send & next" and
//! "Save & next" go on to the next ticket there, the reply box sets properties in the same
//! step, "Assign to me" keeps what else was changed, and a closed ticket takes only notes.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Changes};
use helpdesk::domain::tickets::{Priority, Status, TicketNumber};
use reqwest::StatusCode;

use crate::harness::{Page, TestApp};
use crate::on_both_databases;

on_both_databases!(
    send_and_next_walks_the_queue_the_agent_came_from,
    assign_to_me_keeps_an_unsaved_change,
    a_reply_sets_properties_in_the_same_step,
    a_closed_ticket_takes_only_internal_notes,
    only_a_queue_of_the_desk_is_carried_along,
);

const QUEUE: &str = "/desk?view=unassigned&sort=created";
const QUEUE_ENCODED: &str = "/desk%3Fview%3Dunassigned%26sort%3Dcreated";

/// The path and query of a link or form action as the page gives it.
fn target(page: &Page, selector: &str, attribute: &str) -> String {
    page.attribute(selector, attribute).unwrap_or_else(|| panic!("no {selector} with {attribute}"))
}

async fn send_and_next_walks_the_queue_the_agent_came_from(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Mia Agent").signed_in().await;
    let other = app.user(Role::Agent).email("otto@example.com").name("Otto").create().await;
    let customer = app.user(Role::Customer).email("cus@example.com").create().await;
    let mut numbers = Vec::new();
    for subject in ["A", "B", "C", "D"] {
        numbers.push(app.ticket_for(&customer).subject(subject).create().await);
    }
    let [a, b, c, d]: [TicketNumber; 4] = numbers.try_into().unwrap();
    let opened = |number: TicketNumber| format!("/desk/tickets/{number}?back={QUEUE_ENCODED}");

    // Newest first: D, C, B, A. Each row opens its ticket with the queue along.
    let queue = browser.get(QUEUE).await;
    assert_eq!(target(&queue, ".desk-list td.subject a", "href"), opened(d));

    let page = browser.get(&opened(d)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(target(&page, ".trail .reference a", "href"), QUEUE, "the breadcrumb goes back to the queue as it was");
    assert_eq!(page.text_of(".trail .reference a"), "Unassigned");
    assert_eq!(target(&page, "a[rel=next]", "href"), opened(c));
    let send_and_next = target(&page, "#reply button[formaction]", "formaction");
    assert_eq!(send_and_next, format!("/desk/tickets/{d}/replies?back={QUEUE_ENCODED}&next={c}&then=next"));
    assert_eq!(
        target(&page, "#reply", "action"),
        format!("/desk/tickets/{d}/replies?back={QUEUE_ENCODED}&next={c}"),
        "a plain Send comes back to the ticket, in the queue"
    );

    // Meanwhile Otto takes C, the ticket that followed D when the page was shown: D's
    // "Send & next" skips it, as it has left the queue.
    let take = Changes { assignee: Some(Some(other.id)), ..Changes::default() };
    staff::update(&app.db, &app.ticket(c).await, &other, &take, None, app.now()).await.unwrap();
    let reply = [("body", "On it."), ("visibility", "public"), ("assignee", &me.id.to_string()), ("version", "1")];
    browser.post(&send_and_next, &reply).await.assert_redirect(&opened(b));
    let ticket = app.ticket(d).await;
    assert_eq!((ticket.assignee_id, ticket.status), (Some(me.id), Status::Open), "the reply assigned D");

    // B: "Save & next" with "Assign to me" goes on to A.
    let page = browser.get(&opened(b)).await;
    assert_eq!(target(&page, "a[rel=next]", "href"), opened(a));
    let save_and_next = target(&page, "#properties button[formaction]", "formaction");
    assert_eq!(save_and_next, format!("/desk/tickets/{b}?back={QUEUE_ENCODED}&next={a}&then=next"));
    let assign = [("status", "open"), ("priority", "medium"), ("assignee", &me.id.to_string()), ("version", "1")];
    browser.post(&save_and_next, &assign).await.assert_redirect(&opened(a));

    // A is the last: nothing follows, and "Save & next" goes back to the queue, now empty.
    let page = browser.get(&opened(a)).await;
    assert!(page.attribute("a[rel=next]", "href").is_none());
    let save_and_next = target(&page, "#properties button[formaction]", "formaction");
    browser.post(&save_and_next, &assign).await.assert_redirect(QUEUE);
    let queue = browser.get(QUEUE).await;
    assert!(queue.text_of(".flash").contains("That was the last ticket in Unassigned."), "{}", queue.text_of(".flash"));
    assert!(queue.texts(".desk-list td.subject a").is_empty());
}

async fn assign_to_me_keeps_an_unsaved_change(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Mia Agent").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").create().await;
    let number = app.ticket_for(&customer).subject("Printer").priority(Priority::Medium).create().await;
    let path = format!("/desk/tickets/{number}");
    let page = browser.get(&path).await;
    // The agent raises the priority in the side panel, then presses "Assign to me", which
    // submits the same form: the select still says Nobody, the button says me.
    let button = page.attribute(".assign-me button", "form").expect("an Assign to me button");
    assert_eq!(button, "properties");
    let form = [("status", "new"), ("priority", "high"), ("assignee", ""), ("assign", "me"), ("version", "1")];
    browser.post(&path, &form).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!((ticket.assignee_id, ticket.priority), (Some(me.id), Priority::High), "both the assignment and the priority");
    assert_eq!(ticket.version, 2, "in one change");
}

async fn a_reply_sets_properties_in_the_same_step(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Mia Agent").signed_in().await;
    let other = app.user(Role::Agent).email("otto@example.com").name("Otto").create().await;
    let customer = app.user(Role::Customer).email("cus@example.com").create().await;
    let billing = app.group("Billing").create().await;
    let number = app.ticket_for(&customer).subject("Invoice").create().await;
    let path = format!("/desk/tickets/{number}");
    let replies = format!("{path}/replies");
    let messages = format!("SELECT COUNT(*) FROM messages WHERE ticket_id = (SELECT id FROM tickets WHERE number = {number})");

    let page = browser.get(&path).await;
    assert_eq!(page.attribute("#reply input[name=version]", "value").as_deref(), Some("1"));
    let (me_id, billing_id) = (me.id.to_string(), billing.to_string());
    let triage = [
        ("body", "Moving this to billing."),
        ("visibility", "internal"),
        ("status", "pending"),
        ("priority", "urgent"),
        ("group", billing_id.as_str()),
        ("assignee", me_id.as_str()),
        ("version", "1"),
    ];
    browser.post(&replies, &triage).await.assert_redirect(&path);
    let ticket = app.ticket(number).await;
    assert_eq!(
        (ticket.status, ticket.priority, ticket.group_id, ticket.assignee_id, ticket.version),
        (Status::Pending, Priority::Urgent, billing, Some(me.id), 2),
        "the note, status and properties in one change"
    );

    // Otto lowers the priority; a reply written against version 2 that would set it
    // back is refused with nothing written, the message kept in the box.
    let lower = Changes { priority: Some(Priority::Low), ..Changes::default() };
    staff::update(&app.db, &app.ticket(number).await, &other, &lower, None, app.now()).await.unwrap();
    let before = app.count(&messages).await;
    let stale = [
        ("body", "Still urgent?"),
        ("visibility", "public"),
        ("priority", "urgent"),
        ("group", billing_id.as_str()),
        ("assignee", me_id.as_str()),
        ("version", "2"),
    ];
    let refused = browser.post(&replies, &stale).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.text_of("#reply textarea[name=body]"), "Still urgent?");
    assert_eq!(app.count(&messages).await, before);
    assert_eq!(app.ticket(number).await.priority, Priority::Low);

    // The same reply leaving the properties as they now are is just a message: never stale.
    let message_only: Vec<(&str, &str)> =
        stale.iter().map(|&(name, value)| if name == "priority" { (name, "low") } else { (name, value) }).collect();
    browser.post(&replies, &message_only).await.assert_redirect(&path);
    assert_eq!(app.count(&messages).await, before + 1);
}

async fn a_closed_ticket_takes_only_internal_notes(app: TestApp) {
    let (browser, me) = app.user(Role::Agent).email("me@example.com").name("Mia Agent").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").create().await;
    let number = app.ticket_for(&customer).subject("Done").create().await;
    staff::set_status(&app.db, &app.ticket(number).await, &me, Status::Closed, app.now()).await.unwrap();
    let path = format!("/desk/tickets/{number}");

    let page = browser.get(&path).await;
    assert!(page.attribute("input[name=visibility][value=public]", "value").is_none(), "no public reply");
    assert_eq!(page.attribute("#reply input[name=visibility]", "type").as_deref(), Some("hidden"));
    assert!(page.attribute("#properties", "action").is_none(), "no properties form");
    assert!(page.attribute(".assign-me button", "form").is_none());
    assert!(page.attribute("form[action$='/tags']", "action").is_none(), "no tags form");
    assert!(page.attribute(".merge-box", "action").is_none(), "no merge");
    assert_eq!(page.text_of("#reply button[type=submit]"), "Add note");

    browser
        .post(&format!("{path}/replies"), &[("body", "For the record."), ("visibility", "internal")])
        .await
        .assert_redirect(&path);
}

async fn only_a_queue_of_the_desk_is_carried_along(app: TestApp) {
    let (browser, _) = app.user(Role::Agent).email("me@example.com").name("Mia Agent").signed_in().await;
    let customer = app.user(Role::Customer).email("cus@example.com").create().await;
    let number = app.ticket_for(&customer).subject("Only one").create().await;
    let path = format!("/desk/tickets/{number}");
    for foreign in
        ["https%3A%2F%2Fevil.example%2Fdesk", "%2F%2Fevil.example%2Fdesk%3Fview%3Dall", "%2Fadmin%2Fusers", "%2Fdesking"]
    {
        let page = browser.get(&format!("{path}?back={foreign}")).await;
        assert_eq!(target(&page, ".trail .reference a", "href"), "/desk", "{foreign}");
        assert_eq!(target(&page, "#reply", "action"), format!("{path}/replies"), "{foreign}");
    }
    // A queue is carried as read, each value encoded again.
    let page = browser.get(&format!("{path}?back=%2Fdesk%3Fview%3Dall%26q%3Da%2526b%26junk")).await;
    assert_eq!(target(&page, ".trail .reference a", "href"), "/desk?view=all&q=a%26b");
    assert!(page.attribute("a[rel=next]", "href").is_none(), "the only ticket has none after it");
}
