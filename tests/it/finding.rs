//! Finding a ticket whatever its status: words match as typed or as the start of a word,
//! a search in one view or tab says where else it finds tickets, and the header searches
//! them all, for staff and customers alike.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::conversation::staff::{self, Visibility};
use helpdesk::domain::tickets::Status;

use crate::harness::{Page, TestApp};
use crate::on_both_databases;

on_both_databases!(
    desk_search_reads_word_starts_and_points_to_other_views,
    portal_search_reads_every_word_and_points_to_other_tabs,
);

fn subjects(page: &Page) -> Vec<String> {
    let mut subjects = page.texts(".desk-list td.subject a");
    subjects.sort();
    subjects
}

async fn desk_search_reads_word_starts_and_points_to_other_views(app: TestApp) {
    let (browser, agent) = app.user(Role::Agent).email("agent@example.com").name("Agent").signed_in().await;
    let priya = app.user(Role::Customer).email("p.silva@example.com").name("Priya Silva").create().await;
    app.ticket_for(&priya).subject("Laptop fan").message("It whirrs").create().await;
    let resolved = app.ticket_for(&priya).subject("Monitor flicker").message("Fixed by a cable").create().await;
    let closed = app.ticket_for(&priya).subject("Old invoice").message("Paid twice").create().await;
    staff::set_status(&app.db, &app.ticket(resolved).await, &agent, Status::Resolved, app.now()).await.unwrap();
    staff::set_status(&app.db, &app.ticket(closed).await, &agent, Status::Closed, app.now()).await.unwrap();

    // "silv" starts "Silva": part-words match in the open view, and the others are named.
    let open = browser.get("/desk?q=priya+silv").await;
    assert_eq!(subjects(&open), ["Laptop fan"]);
    let hint = open.text_of(".elsewhere");
    assert!(hint.contains("1 in Resolved") && hint.contains("1 in Closed") && !hint.contains("All open"), "{hint}");
    let links = open.attributes(".elsewhere a", "href");
    assert_eq!(
        links,
        ["/desk?view=resolved&q=priya%20silv", "/desk?view=closed&q=priya%20silv", "/desk?view=everything&q=priya%20silv"]
    );
    // Every status at once, as the header's search asks.
    let everything = browser.get("/desk?view=everything&q=priya+silv").await;
    assert_eq!(subjects(&everything), ["Laptop fan", "Monitor flicker", "Old invoice"]);
    assert!(everything.texts(".elsewhere").is_empty(), "nothing is elsewhere from all tickets");
    assert_eq!(everything.attribute("form.site-search", "action").as_deref(), Some("/desk"));
    assert_eq!(everything.attribute("form.site-search input[name=view]", "value").as_deref(), Some("everything"));
    assert_eq!(everything.text_of(".views a[aria-current=page] span:first-child"), "All tickets");
    // From a view inside the open ones, the open view counts as elsewhere too.
    let closed_view = browser.get("/desk?view=closed&q=invo").await;
    assert_eq!(subjects(&closed_view), ["Old invoice"]);
    assert!(closed_view.texts(".elsewhere").is_empty(), "no other view holds a match");
    let unassigned = browser.get("/desk?view=unassigned&q=whirr").await;
    assert_eq!(subjects(&unassigned), ["Laptop fan"]);
    assert!(unassigned.text_of(".elsewhere").contains("1 in All open"));
    // Two letters are a word of their own, not the start of every word with them.
    assert!(subjects(&browser.get("/desk?view=everything&q=pa").await).is_empty());
    assert_eq!(subjects(&browser.get("/desk?view=everything&q=paid").await), ["Old invoice"]);
    // An address still matches whole, and only as itself.
    assert_eq!(subjects(&browser.get("/desk?view=everything&q=p.silva%40example.com").await).len(), 3);
    assert!(subjects(&browser.get("/desk?view=everything&q=p.silv%40example.com").await).is_empty());
}

async fn portal_search_reads_every_word_and_points_to_other_tabs(app: TestApp) {
    let (browser, customer) = app.user(Role::Customer).email("pia@example.com").signed_in().await;
    let agent = app.user(Role::Agent).email("agent@example.com").name("Agent").create().await;
    let jams = app.ticket_for(&customer).subject("Printer jams").message("Paper stuck in the tray").create().await;
    let toner = app.ticket_for(&customer).subject("Printer toner").message("Empty again").create().await;
    staff::set_status(&app.db, &app.ticket(toner).await, &agent, Status::Closed, app.now()).await.unwrap();
    app.agent_writes(&app.ticket(jams).await, &agent, "Printer model secretword", Visibility::Internal).await;

    let open = browser.get("/tickets?q=printer").await;
    assert_eq!(open.texts("td.subject"), ["Printer jams"]);
    assert_eq!(open.text_of(".elsewhere"), "Also matching: 1 in Closed");
    assert_eq!(open.attribute(".elsewhere a", "href").as_deref(), Some("/tickets?status=closed&q=printer"));
    // The tabs keep the search.
    let tabs = open.attributes(".tabs a", "href");
    assert!(tabs.contains(&"/tickets?status=all&q=printer".to_owned()), "{tabs:?}");
    // Every word must match, in the subject or a public message.
    assert_eq!(browser.get("/tickets?q=tray+printer").await.texts("td.subject"), ["Printer jams"]);
    let none = browser.get("/tickets?q=printer+unicorn").await;
    assert!(none.texts("td.subject").is_empty());
    assert!(none.texts(".elsewhere").is_empty());
    // Internal notes are never searched for a customer, in any tab.
    let hidden = browser.get("/tickets?q=secretword").await;
    assert!(hidden.texts("td.subject").is_empty());
    assert!(hidden.texts(".elsewhere").is_empty());
    // The header searches every tab.
    assert_eq!(open.attribute("form.site-search", "action").as_deref(), Some("/tickets"));
    assert_eq!(open.attribute("form.site-search input[name=status]", "value").as_deref(), Some("all"));
    let mut all = browser.get("/tickets?status=all&q=printer").await.texts("td.subject");
    all.sort();
    assert_eq!(all, ["Printer jams", "Printer toner"]);
}
