//! Organisations and their contacts: customers join by their mail domain, a manager sees
//! and answers every ticket of the organisation, everyone else keeps 404 on what is not
//! theirs, and staff keep the organisation and its contacts up to date.

use helpdesk::domain::accounts::role::Role;
use reqwest::StatusCode;

use crate::for_both_backends;
use crate::harness::{Backend, TestApp};

for_both_backends!(
    customers_join_by_domain_and_a_manager_sees_every_ticket_of_the_organisation,
    organisations_refuse_bad_domains_and_deleting_one_keeps_its_people,
    the_desk_search_finds_tickets_by_their_organisations_name,
);

async fn organisation_of(app: &TestApp, email: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT organisation_id FROM users WHERE email = $1").bind(email).fetch_one(app.db.pool()).await.unwrap()
}

/// Creates an organisation through the desk form; answers its id.
async fn create_organisation(agent: &crate::harness::Browser, name: &str, domains: &str) -> i64 {
    agent.get("/desk/organisations").await;
    let created = agent.post("/desk/organisations", &[("name", name), ("domains", domains), ("notes", "")]).await;
    let location = created.location().expect("a redirect to the organisation").to_owned();
    location.rsplit('/').next().unwrap().parse().unwrap()
}

async fn customers_join_by_domain_and_a_manager_sees_every_ticket_of_the_organisation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.user(Role::Agent).email("andy@example.com").name("Andy").signed_in().await;
    let acme = create_organisation(&agent, "Acme", "acme.test\n@Mail.Acme.test").await;

    // Two Acme people and an outsider; one registers through the page itself.
    let (ann_browser, ann) = app.user(Role::Customer).email("ann@acme.test").name("Ann").signed_in().await;
    let (bea_browser, bea) = app.user(Role::Customer).email("bea@mail.acme.test").name("Bea").signed_in().await;
    let (olga_browser, olga) = app.user(Role::Customer).email("olga@other.test").name("Olga").signed_in().await;
    let visitor = app.browser();
    visitor.get("/register").await;
    visitor.post("/register", &[("name", "Cy"), ("email", "cy@ACME.test"), ("password", crate::harness::PASSWORD)]).await;
    assert_eq!(organisation_of(&app, "ann@acme.test").await, Some(acme));
    assert_eq!(organisation_of(&app, "bea@mail.acme.test").await, Some(acme));
    assert_eq!(organisation_of(&app, "cy@acme.test").await, Some(acme), "registration joins too");
    assert_eq!(organisation_of(&app, "olga@other.test").await, None);

    let anns = app.ticket_for(&ann).subject("Ann's printer").create().await;
    let beas = app.ticket_for(&bea).subject("Bea's laptop").create().await;
    let olgas = app.ticket_for(&olga).subject("Olga's phone").create().await;
    let page = agent.get(&format!("/desk/organisations/{acme}")).await;
    assert!(page.text_of("main").contains("Ann's printer") && page.text_of("main").contains("Bea's laptop"));
    assert!(!page.text_of("main").contains("Olga's phone"));
    // The queue narrows to the organisation (one index range); the workspace names it.
    let queue = agent.get(&format!("/desk?view=all&organisation={acme}")).await.text_of("main");
    assert!(queue.contains("Only the tickets of Acme") && queue.contains("Ann's printer") && queue.contains("Bea's laptop"));
    assert!(!queue.contains("Olga's phone"), "{queue}");
    assert!(agent.get(&format!("/desk/tickets/{anns}")).await.text_of(".facts").contains("Acme"));
    assert!(!agent.get(&format!("/desk/tickets/{olgas}")).await.text_of(".facts").contains("Organisation"));
    // The customers list finds them by name or address, and by organisation.
    let everyone = agent.get("/desk/customers").await.text_of("main");
    assert!(everyone.contains("Ann") && everyone.contains("olga@other.test"), "{everyone}");
    let of_acme = agent.get(&format!("/desk/customers?organisation={acme}")).await.text_of("main");
    assert!(of_acme.contains("bea@mail.acme.test") && !of_acme.contains("olga@other.test"), "{of_acme}");
    let found = agent.get("/desk/customers?q=OLGA").await.text_of("main");
    assert!(found.contains("olga@other.test") && !found.contains("ann@acme.test"), "{found}");
    assert!(agent.get("/desk/customers?q=%25").await.text_of("main").contains("No customer matches."), "% is no wildcard");

    // A colleague who does not manage sees only her own, whatever she asks for.
    assert_eq!(bea_browser.get(&format!("/tickets/{anns}")).await.status, StatusCode::NOT_FOUND);
    let listed = bea_browser.get("/tickets?scope=organisation").await.text_of("main");
    assert!(listed.contains("Bea's laptop") && !listed.contains("Ann's printer"), "{listed}");

    // Staff make Ann the manager; a manager without an organisation is refused.
    agent.get(&format!("/desk/customers/{}", olga.id)).await;
    let refused =
        agent.post(&format!("/desk/customers/{}", olga.id), &[("phone", ""), ("organisation", ""), ("org_manager", "on")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    agent.get(&format!("/desk/customers/{}", ann.id)).await;
    let acme_id = acme.to_string();
    agent
        .post(
            &format!("/desk/customers/{}", ann.id),
            &[("phone", "+44 20 7946 0000"), ("preferred_contact", "phone"), ("organisation", &acme_id), ("org_manager", "on")],
        )
        .await
        .assert_redirect(&format!("/desk/customers/{}", ann.id));
    let contact = agent.get(&format!("/desk/customers/{}", ann.id)).await.text_of(".page-head");
    assert!(contact.contains("+44 20 7946 0000 · prefers phone"), "{contact}");
    let facts = agent.get(&format!("/desk/tickets/{anns}")).await.text_of(".facts");
    assert!(facts.contains("+44 20 7946 0000 (prefers phone)"), "the workspace says how to reach her: {facts}");
    let refused = agent
        .post(&format!("/desk/customers/{}", olga.id), &[("phone", ""), ("preferred_contact", "phone"), ("organisation", "")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "phone preferred without a number");
    // The manager's right is read per request: her session sees it at once.
    let listed = ann_browser.get("/tickets?scope=organisation").await;
    assert!(listed.text_of("main").contains("All of Acme"), "the scope is offered");
    assert!(listed.text_of("main").contains("Ann's printer") && listed.text_of("main").contains("Bea's laptop"));
    assert!(!listed.text_of("main").contains("Olga's phone"));
    assert_eq!(ann_browser.get(&format!("/tickets/{beas}")).await.status, StatusCode::OK);
    ann_browser
        .post(&format!("/tickets/{beas}/replies"), &[("body", "I asked IT to bring a spare.")])
        .await
        .assert_redirect(&format!("/tickets/{beas}"));
    assert!(bea_browser.get(&format!("/tickets/{beas}")).await.text_of("main").contains("I asked IT to bring a spare."));
    assert_eq!(ann_browser.get(&format!("/tickets/{olgas}")).await.status, StatusCode::NOT_FOUND, "another organisation's");
    assert_eq!(olga_browser.get(&format!("/tickets/{beas}")).await.status, StatusCode::NOT_FOUND);

    // Bea leaves Acme: her tickets go with her, out of Ann's sight.
    agent.get(&format!("/desk/customers/{}", bea.id)).await;
    agent
        .post(&format!("/desk/customers/{}", bea.id), &[("phone", ""), ("organisation", "")])
        .await
        .assert_redirect(&format!("/desk/customers/{}", bea.id));
    assert_eq!(ann_browser.get(&format!("/tickets/{beas}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'contact.update'").await, 2);
}

async fn organisations_refuse_bad_domains_and_deleting_one_keeps_its_people(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.user(Role::Agent).email("andy@example.com").name("Andy").signed_in().await;
    let acme = create_organisation(&agent, "Acme", "acme.test").await;
    agent.get("/desk/organisations").await;
    for (name, domains, field) in [
        ("Everyone", "gmail.com", "domains"),
        ("Globex", "acme.test", "domains"),
        ("acme", "acme.example", "name"),
        ("Initech", "not a domain", "domains"),
    ] {
        let refused = agent.post("/desk/organisations", &[("name", name), ("domains", domains), ("notes", "")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name} {domains}");
        assert!(refused.body.contains(&format!("id=\"{field}-error\"")), "{name}: {}", refused.text_of("main"));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM organisations").await, 1, "nothing of the refused ones is stored");
    assert!(agent.get("/desk/organisations?q=acme.te").await.text_of("main").contains("Acme"), "found by its domain");

    let ann = app.user(Role::Customer).email("ann@acme.test").name("Ann").create().await;
    let number = app.ticket_for(&ann).create().await;
    let customer = app.browser();
    customer.sign_in("ann@acme.test", crate::harness::PASSWORD).await;
    assert_eq!(customer.get("/desk/organisations").await.status, StatusCode::NOT_FOUND, "staff only");
    assert_eq!(customer.get("/desk/customers").await.status, StatusCode::NOT_FOUND);
    assert_eq!(customer.get(&format!("/desk/customers/{}", ann.id)).await.status, StatusCode::NOT_FOUND);

    agent.get(&format!("/desk/organisations/{acme}")).await;
    agent.post(&format!("/desk/organisations/{acme}/delete"), &[]).await.assert_redirect("/desk/organisations");
    assert_eq!(organisation_of(&app, "ann@acme.test").await, None, "the contact stays, belonging to none");
    let ticket_organisation: Option<i64> = sqlx::query_scalar("SELECT organisation_id FROM tickets WHERE number = $1")
        .bind(number.get())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(ticket_organisation, None);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'organisation.%'").await, 2);
}

async fn the_desk_search_finds_tickets_by_their_organisations_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.user(Role::Agent).email("andy@example.com").name("Andy").signed_in().await;
    // A name that is in no address, subject or message: only the organisation carries it.
    let globex = create_organisation(&agent, "Globex Corporation", "gx.test").await;
    let bob = app.user(Role::Customer).email("bob@gx.test").name("Bob").create().await;
    let olga = app.user(Role::Customer).email("olga@other.test").name("Olga").create().await;
    app.ticket_for(&bob).subject("Cannot print").create().await;
    app.ticket_for(&olga).subject("Cannot log in").create().await;
    let found = |q: &'static str| {
        let agent = &agent;
        async move { agent.get(&format!("/desk?view=all&q={q}")).await.text_of("main") }
    };
    let listed = found("globex").await;
    assert!(listed.contains("Cannot print") && !listed.contains("Cannot log in"), "{listed}");

    // Renamed, its tickets are found by the new name only.
    agent.get(&format!("/desk/organisations/{globex}")).await;
    agent
        .post(&format!("/desk/organisations/{globex}"), &[("name", "Hooli"), ("domains", "gx.test"), ("notes", "")])
        .await
        .assert_redirect(&format!("/desk/organisations/{globex}"));
    assert!(found("hooli").await.contains("Cannot print"));
    assert!(!found("globex").await.contains("Cannot print"));
    // A contact who leaves takes their tickets out of its name's reach; deleted, it is found no more.
    agent.get(&format!("/desk/customers/{}", bob.id)).await;
    agent.post(&format!("/desk/customers/{}", bob.id), &[("phone", ""), ("organisation", "")]).await;
    assert!(!found("hooli").await.contains("Cannot print"));
    agent.post(&format!("/desk/customers/{}", bob.id), &[("phone", ""), ("organisation", &globex.to_string())]).await;
    assert!(found("hooli").await.contains("Cannot print"));
    agent.post(&format!("/desk/organisations/{globex}/delete"), &[]).await.assert_redirect("/desk/organisations");
    assert!(!found("hooli").await.contains("Cannot print"));
}
