//! Journeys through the product in a real browser, each walked on both databases, with the
//! pages' scripts on and off.

use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::accounts::setup;

use super::{Chromium, Scripts};
use crate::harness::{Backend, PASSWORD, TestApp};
use crate::identity::{link_in, mail_app};
use crate::smtp::SmtpServer;

/// Runs each named `async fn(Backend, Scripts)` four times: on SQLite and PostgreSQL, with
/// the pages' scripts on and off.
macro_rules! journeys {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use crate::harness::Backend;
                use super::Scripts;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_scripts_on() {
                    super::$name(Backend::Sqlite, Scripts::On).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_scripts_off() {
                    super::$name(Backend::Sqlite, Scripts::Off).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_scripts_on() {
                    super::$name(Backend::Postgres, Scripts::On).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_scripts_off() {
                    super::$name(Backend::Postgres, Scripts::Off).await
                }
            }
        )*
    };
}

journeys!(
    an_admin_sets_up_and_brings_in_an_agent,
    a_request_from_first_word_to_rating,
    a_client_company_works_its_requests_together,
    a_team_shapes_its_tickets_with_fields_and_tags,
);

fn journey_name(name: &str, backend: Backend, scripts: Scripts) -> String {
    format!("{name}-{backend:?}-scripts-{scripts:?}").to_lowercase()
}

async fn an_admin_sets_up_and_brings_in_an_agent(backend: Backend, scripts: Scripts) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    let token = setup::issue_token(&app.db, app.now()).await.unwrap().expect("a new installation");
    let mut admin = Chromium::open(&app.base_url, &journey_name("setup", backend, scripts), scripts).await;

    admin.goto(&format!("/setup?token={token}")).await;
    admin.look("setup").await;
    admin.fill("Your name", "Ada Admin").await;
    admin.fill("Email", "ada@example.com").await;
    admin.fill("Password (at least 8 characters)", PASSWORD).await;
    admin.press("Create admin account").await;
    assert_eq!(admin.path().await, "/admin");
    admin.look("admin-overview").await;

    admin.follow("Users").await;
    admin.look("users").await;
    admin.follow("New user").await;
    admin.fill("Name", "Andy Agent").await;
    admin.fill("Email", "andy@example.com").await;
    admin.select("Role", "Agent").await;
    admin.fill("Password", PASSWORD).await;
    admin.press("Create user").await;
    admin.look("agent-created").await;
    assert!(admin.text_of("main").await.contains("Andy Agent"));

    let mut agent = Chromium::open(&app.base_url, &journey_name("setup-agent", backend, scripts), scripts).await;
    agent.goto("/login").await;
    agent.look("sign-in").await;
    agent.fill("Email", "andy@example.com").await;
    agent.fill("Password", PASSWORD).await;
    agent.press("Sign in").await;
    assert_eq!(agent.path().await, "/desk");
    agent.look("empty-desk").await;
}

async fn a_request_from_first_word_to_rating(backend: Backend, scripts: Scripts) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    app.user(Role::Agent).email("andy@example.com").name("Andy Agent").create().await;
    let mut customer = Chromium::open(&app.base_url, &journey_name("request-customer", backend, scripts), scripts).await;

    // A new customer registers, confirms the address from the mail, and signs in.
    customer.goto("/register").await;
    customer.look("register").await;
    customer.fill("Your name", "Carla Customer").await;
    customer.fill("Email", "carla@example.com").await;
    customer.fill("Password (at least 8 characters)", PASSWORD).await;
    customer.press("Create account").await;
    customer.look("check-your-mail").await;
    let confirmation = smtp.wait_for(1).await;
    customer.goto(&link_in(&confirmation[0], "/verify")).await;
    customer.fill("Email", "carla@example.com").await;
    customer.fill("Password", PASSWORD).await;
    customer.press("Sign in").await;
    customer.look("signed-in").await;

    // They ask for help.
    customer.goto("/tickets/new").await;
    customer.look("new-request").await;
    customer.fill("Subject", "The printer eats paper").await;
    customer.select("Priority", "High").await;
    customer.fill("Message", "Every third page comes out crumpled.").await;
    let files = tempfile::tempdir().unwrap();
    let screenshots = [files.path().join("tray.png"), files.path().join("crumpled page.png")];
    for (screenshot, size) in screenshots.iter().zip([(640, 400), (300, 900)]) {
        std::fs::write(screenshot, crate::attachments::picture(size.0, size.1)).unwrap();
    }
    customer.attach("Attach files", &[&screenshots[0], &screenshots[1]]).await;
    customer.press("Send request").await;
    assert_eq!(customer.path().await, "/tickets/1001");
    customer.look("request-sent").await;
    assert_eq!(customer.pictures_shown(".files img.file-thumb").await, 2, "both screenshots, as thumbnails");

    // The agent finds it on the desk, notes something for colleagues, answers and resolves.
    let mut agent = Chromium::open(&app.base_url, &journey_name("request-agent", backend, scripts), scripts).await;
    agent.goto("/login").await;
    agent.fill("Email", "andy@example.com").await;
    agent.fill("Password", PASSWORD).await;
    agent.press("Sign in").await;
    agent.follow("Unassigned").await;
    agent.look("unassigned").await;
    let select_all = agent.count("input[aria-label='Select all tickets on this page']").await;
    assert_eq!(select_all, usize::from(scripts == Scripts::On), "the page's own script runs only when scripts are on");
    agent.follow("The printer eats paper").await;
    agent.look("ticket").await;
    assert_eq!(agent.pictures_shown(".files img.file-thumb").await, 2, "the customer's screenshots are shown");
    agent.choose("Internal note").await;
    agent.fill("Message", "Tray 2 was replaced last month.").await;
    agent.press("Send").await;
    agent.look("noted").await;
    agent.choose("Public reply to").await;
    agent.fill("Message", "Please try tray 1 while we look at tray 2. The guide is attached.").await;
    let guide = files.path().join("printer guide.pdf");
    std::fs::write(&guide, b"%PDF-1.4\n% how to load tray 1\n").unwrap();
    agent.attach("Attach files", &[&guide]).await;
    agent.select("Then set status", "Resolved").await;
    agent.press("Send").await;
    agent.look("answered-and-resolved").await;
    assert!(agent.text_of(".facts").await.contains("Resolved"));

    // The customer reads the answer (never the note), rates it, then reopens.
    customer.goto("/tickets/1001").await;
    customer.look("answer-read").await;
    let timeline = customer.text_of("main").await;
    assert!(timeline.contains("Please try tray 1"), "{timeline}");
    assert!(!timeline.contains("Tray 2 was replaced"), "an internal note reached the customer");
    customer.click_link("printer guide.pdf").await;
    assert_eq!(customer.downloaded("printer guide.pdf").await, b"%PDF-1.4\n% how to load tray 1\n");
    customer.choose("4").await;
    customer.press("Save rating").await;
    customer.look("rated").await;
    assert!(customer.text_of(".facts").await.contains("4 of 5"));
    customer.fill("Tell us what is still wrong, and we will reopen the request", "Tray 1 crumples too.").await;
    customer.press("Reopen request").await;
    customer.look("reopened").await;
    assert!(customer.text_of("main").await.contains("Tray 1 crumples too."));
}

/// Registers a customer in the browser and confirms their address from the mail (the
/// `mails`-th to arrive), leaving them signed in.
async fn register_and_confirm(browser: &Chromium, smtp: &SmtpServer, name: &str, email: &str, mails: usize) {
    browser.goto("/register").await;
    browser.fill("Your name", name).await;
    browser.fill("Email", email).await;
    browser.fill("Password (at least 8 characters)", PASSWORD).await;
    browser.press("Create account").await;
    let received = smtp.wait_for(mails).await;
    let confirmation = received.iter().rev().find(|mail| mail.recipients == [email]).expect("a confirmation");
    browser.goto(&link_in(confirmation, "/verify")).await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.press("Sign in").await;
}

async fn ask(browser: &Chromium, subject: &str, message: &str) {
    browser.goto("/tickets/new").await;
    browser.fill("Subject", subject).await;
    browser.fill("Message", message).await;
    browser.press("Send request").await;
}

async fn a_client_company_works_its_requests_together(backend: Backend, scripts: Scripts) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp).await;
    app.user(Role::Agent).email("andy@example.com").name("Andy Agent").create().await;
    let name = |who: &str| journey_name(&format!("acme-{who}"), backend, scripts);

    // An agent creates Acme with its mail domain.
    let mut agent = Chromium::open(&app.base_url, &name("agent"), scripts).await;
    agent.goto("/login").await;
    agent.fill("Email", "andy@example.com").await;
    agent.fill("Password", PASSWORD).await;
    agent.press("Sign in").await;
    agent.follow("Organisations").await;
    agent.fill("Name", "Acme").await;
    agent.fill("Mail domains", "acme.test").await;
    agent.press("Create organisation").await;
    agent.look("organisation-created").await;

    // Two Acme people register; each asks for something.
    let mut ann = Chromium::open(&app.base_url, &name("ann"), scripts).await;
    register_and_confirm(&ann, &smtp, "Ann Archer", "ann@acme.test", 1).await;
    ask(&ann, "Ann's printer jams", "Tray 2 again.").await;
    let bea = Chromium::open(&app.base_url, &name("bea"), scripts).await;
    register_and_confirm(&bea, &smtp, "Bea Baker", "bea@acme.test", 3).await;
    ask(&bea, "Bea's laptop will not start", "Since the update.").await;
    assert_eq!(bea.path().await, "/tickets/1002");

    // The agent makes Ann Acme's manager: she sees both people's requests.
    agent.goto("/desk/organisations").await;
    agent.follow("Acme").await;
    agent.look("organisation").await;
    agent.follow("Ann Archer").await;
    agent.choose("Manages the organisation").await;
    agent.press("Save contact").await;
    ann.goto("/tickets").await;
    ann.follow("All of Acme").await;
    ann.look("all-of-acme").await;
    let listed = ann.text_of("main").await;
    assert!(listed.contains("Ann's printer jams") && listed.contains("Bea's laptop will not start"), "{listed}");
    assert!(listed.contains("Bea Baker"), "whose each request is");

    // Bea copies a colleague, who has no account yet and answers by mail.
    bea.fill("Addresses", "cy@acme.test").await;
    bea.press("Save people copied").await;
    assert!(bea.text_of(".timeline").await.contains("copied cy@acme.test"));
    let mails = smtp.wait_for(5).await;
    let copied = mails.iter().find(|mail| mail.recipients == ["cy@acme.test"]).expect("Cy is told");
    assert!(copied.text().contains("You are copied on the request TCK-1002 from Bea Baker"), "{}", copied.text());
    let answer = format!(
        "From: Cy <cy@acme.test>\r\nTo: help@support.example\r\nSubject: Re: [TCK-1002] Bea's laptop will not start\r\n\
         Message-ID: <cy-1@acme.test>\r\nIn-Reply-To: {}\r\n\r\nHold the power button for ten seconds.\r\n",
        copied.header("Message-ID").unwrap()
    );
    let ingested = app.ingest_mail("help@support.example", &[], answer.as_bytes());
    assert!(ingested.status.success(), "{}", crate::binary::said(&ingested));
    bea.goto("/tickets/1002").await;
    assert!(bea.text_of(".timeline").await.contains("Hold the power button for ten seconds."));
    ann.goto("/tickets/1002").await;
    ann.look("manager-reads-colleagues-request").await;
    assert!(ann.text_of(".timeline").await.contains("Hold the power button"));
}

async fn sign_in(browser: &Chromium, email: &str) {
    browser.goto("/login").await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.press("Sign in").await;
}

async fn a_team_shapes_its_tickets_with_fields_and_tags(backend: Backend, scripts: Scripts) {
    let app = TestApp::spawn(backend).await;
    app.user(Role::Admin).email("ada@example.com").name("Ada Admin").create().await;
    app.user(Role::Agent).email("andy@example.com").name("Andy Agent").create().await;
    app.user(Role::Customer).email("carla@example.com").name("Carla Customer").create().await;
    let name = |who: &str| journey_name(&format!("shaping-{who}"), backend, scripts);

    // The admin asks customers for a type, and staff for a resolution before resolving.
    let mut admin = Chromium::open(&app.base_url, &name("admin"), scripts).await;
    sign_in(&admin, "ada@example.com").await;
    admin.goto("/admin").await;
    admin.follow("Ticket fields").await;
    admin.look("no-fields").await;
    for (label, key, options, flag) in [
        ("Type", "type", "Question\nIncident\nRequest", "Required"),
        ("Resolution", "resolution", "Fixed\nWorkaround\nNot a bug", "Required to resolve"),
    ] {
        admin.fill("Label", label).await;
        admin.fill("Key", key).await;
        admin.select("Kind", "One of a list").await;
        admin.fill("Options", options).await;
        admin.choose(flag).await;
        admin.press("Add field").await;
        assert_eq!(admin.path().await, "/admin/fields");
    }
    admin.look("fields-added").await;
    let listed = admin.text_of("main table").await;
    assert!(listed.contains("Type") && listed.contains("Resolution"), "{listed}");
    admin.follow("Resolution").await;
    admin.look("field").await;

    // The customer must say what kind of request it is; the resolution is not theirs.
    let mut customer = Chromium::open(&app.base_url, &name("customer"), scripts).await;
    sign_in(&customer, "carla@example.com").await;
    customer.goto("/tickets/new").await;
    customer.look("new-request").await;
    assert!(!customer.text_of(".form-page form").await.contains("Resolution"), "staff's field on the customer's form");
    customer.fill("Subject", "Invoices show the wrong VAT").await;
    customer.fill("Message", "Since March every invoice adds 25 % instead of 20 %.").await;
    customer.press("Send request").await;
    customer.look("type-missing").await;
    assert!(customer.text_of(".field-invalid").await.contains("Type is required."));
    customer.select("Type (required)", "Incident").await;
    customer.press("Send request").await;
    assert_eq!(customer.path().await, "/tickets/1001");
    customer.look("request-sent").await;
    let facts = customer.text_of(".facts dl").await;
    assert!(facts.contains("Type\nIncident"), "{facts}");
    assert!(!customer.text_of("main").await.contains("Resolution"), "staff's field shown to the customer");

    // The agent tags it, finds it by its type and by a tag, and resolves it with a resolution.
    let mut agent = Chromium::open(&app.base_url, &name("agent"), scripts).await;
    sign_in(&agent, "andy@example.com").await;
    agent.follow("All open").await;
    agent.follow("Invoices show the wrong VAT").await;
    agent.look("ticket").await;
    agent.fill("Tags, separated by commas", "vip, billing").await;
    agent.press("Save tags").await;
    agent.look("tagged").await;
    assert_eq!(agent.count(".ticket-tags a.tag").await, 2, "vip and billing");
    agent.goto("/desk?view=all").await;
    agent.reveal("Filters and sort").await;
    agent.select("Type", "Incident").await;
    agent.press("Apply").await;
    assert!(agent.path().await.contains("field_type=Incident"), "{}", agent.path().await);
    agent.look("queue-by-type").await;
    assert!(agent.text_of("main table").await.contains("Invoices show the wrong VAT"));
    agent.select("Type", "Question").await;
    agent.press("Apply").await;
    assert_eq!(agent.count("main table").await, 0, "no questions yet");
    agent.follow("vip").await;
    assert!(agent.path().await.contains("tag=vip"), "{}", agent.path().await);
    agent.look("queue-by-tag").await;
    assert!(agent.text_of("main table").await.contains("Invoices show the wrong VAT"));
    agent.follow("Invoices show the wrong VAT").await;
    agent.select("Status", "Resolved").await;
    agent.press("Save changes").await;
    agent.look("resolution-missing").await;
    let refused = agent.text_of("main").await;
    assert!(refused.contains("Fill in Resolution before the ticket is resolved."), "{refused}");
    assert!(!agent.text_of(".ticket-head").await.contains("Resolved"));
    agent.select("Status", "Resolved").await;
    agent.select("Resolution", "Fixed").await;
    agent.press("Save changes").await;
    agent.look("resolved").await;
    assert!(agent.text_of(".ticket-head").await.contains("Resolved"));
    assert!(agent.text_of(".timeline").await.contains("set Resolution: Fixed"), "the resolution on the timeline");
}
