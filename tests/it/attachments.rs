//! Files on tickets from the four forms: stored byte for byte, served so they cannot run,
//! only to who may see their message, refused whole over the limits, removed by staff and
//! then deleted from the store by background work.

use base64::Engine;
use helpdesk::domain::accounts::role::Role;
use helpdesk::domain::attachments;
use helpdesk::files::FileStore;
use reqwest::StatusCode;

use crate::harness::{Backend, Browser, Page, TestApp};

/// Where the files go in a test: the file system, or a bucket on a real S3-compatible server.
#[derive(Clone, Copy, Debug)]
pub enum Store {
    File,
    Bucket,
}

/// Runs each named `async fn(Backend, Store)` on both databases and both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::harness::Backend;
                use $crate::attachments::Store;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_file() {
                    super::$name(Backend::Sqlite, Store::File).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_file() {
                    super::$name(Backend::Postgres, Store::File).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_bucket() {
                    super::$name(Backend::Sqlite, Store::Bucket).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_bucket() {
                    super::$name(Backend::Postgres, Store::Bucket).await
                }
            }
        )*
    };
}

on_both_stores!(
    files_go_with_a_new_request_and_come_back_byte_for_byte,
    a_file_is_never_run_in_the_browser,
    only_who_may_see_the_message_may_download_its_files,
    staff_attach_files_and_remove_them,
    a_file_over_the_limit_stores_nothing_of_the_post,
    pictures_get_thumbnails_and_a_decompression_bomb_gets_none,
);

/// The application with its files in `store`, and `MAX_ATTACHMENT_MB` as given.
async fn app_on(backend: Backend, store: Store, max_attachment_mb: u64) -> TestApp {
    let keep_files_in = store.configure().await;
    TestApp::spawn_with(backend, move |config| {
        config.max_attachment_mb = max_attachment_mb;
        keep_files_in(config);
    })
    .await
}

impl Store {
    /// What a configuration needs to keep its files here: for a bucket, a new one.
    pub async fn configure(self) -> impl FnOnce(&mut helpdesk::config::Config) {
        let bucket = match self {
            Store::File => None,
            Store::Bucket => Some(crate::s3::new_bucket().await.0),
        };
        move |config| {
            if let Some(bucket) = bucket {
                config.attachment_store = bucket;
                config.s3_endpoint = Some(crate::s3::endpoint().to_owned());
                config.aws_access_key_id = Some("test".into());
                config.aws_secret_access_key = Some("test".into());
            }
        }
    }
}

/// A real 1×1 PNG.
pub fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
        .unwrap()
}

/// A real PNG of `width` × `height` pixels in a few colours, as a screenshot might be.
pub fn picture(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 160]));
    let mut png = Vec::new();
    picture.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png
}

/// A PNG of `width` × `height` one-bit pixels, all black: tiny however large it claims to be.
fn black_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; width.div_ceil(8) as usize];
        for _ in 0..height {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    png
}

/// The links to the files on a page, in order.
fn file_links(page: &Page) -> Vec<String> {
    let selector = scraper::Selector::parse(".files a.file-link").unwrap();
    page.html().select(&selector).map(|link| link.value().attr("href").unwrap().to_owned()).collect()
}

/// Files in the store (content-addressed: one per distinct content).
async fn stored_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries.flatten().map(|entry| if entry.path().is_dir() { count(&entry.path()) } else { 1 }).sum()
        })
    }
    match app.config.attachment_store.strip_prefix("s3://") {
        Some(bucket) => crate::s3::object_count(bucket.split('/').next().unwrap()).await,
        None => count(&app.data_dir.path().join("attachments")),
    }
}

async fn new_request_with_files(app: &TestApp, browser: &Browser, files: &[(&str, &[u8])]) -> Page {
    browser.get("/tickets/new").await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await.to_string();
    let fields = [("subject", "Screenshots"), ("group", general.as_str()), ("message", "See the files.")];
    browser.post_with_files("/tickets", &fields, files).await
}

async fn files_go_with_a_new_request_and_come_back_byte_for_byte(backend: Backend, store: Store) {
    let app = app_on(backend, store, 25).await;
    let (browser, _) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    let log: Vec<u8> = (0..200_000u32).flat_map(|n| n.to_le_bytes()).collect();
    let png = png();
    new_request_with_files(&app, &browser, &[("screen shot.png", &png), ("server.log", &log)])
        .await
        .assert_redirect("/tickets/1001");
    let page = browser.get("/tickets/1001").await;
    let links = file_links(&page);
    assert_eq!(links.len(), 2, "{}", page.text_of("main"));
    assert!(links[0].ends_with("/screen%20shot%2Epng"), "{links:?}");
    assert!(page.text_of(".files").contains("server.log"));
    assert!(page.text_of(".files").contains("781 KB"));

    let picture = browser.download(&links[0], &[]).await;
    assert_eq!((picture.status, picture.bytes.as_slice()), (StatusCode::OK, png.as_slice()));
    assert_eq!(picture.header("content-type"), "image/png");
    assert_eq!(
        picture.header("content-disposition"),
        "inline; filename=\"screen shot.png\"; filename*=UTF-8''screen%20shot%2Epng"
    );
    assert_eq!(picture.header("x-content-type-options"), "nosniff");
    assert_eq!(picture.header("content-security-policy"), "sandbox; default-src 'none'");

    let whole = browser.download(&links[1], &[("accept-encoding", "gzip")]).await;
    assert_eq!(whole.header("content-encoding"), "", "files go out as stored, so ranges and ETags hold");
    assert_eq!(whole.bytes, log, "byte for byte");
    assert_eq!(whole.header("content-type"), "application/octet-stream");
    assert!(whole.header("content-disposition").starts_with("attachment;"));
    // A download resumes where it stopped, and an unchanged file is not sent again.
    let part = browser.download(&links[1], &[("range", "bytes=1000-1999")]).await;
    assert_eq!((part.status, part.header("content-range")), (StatusCode::PARTIAL_CONTENT, "bytes 1000-1999/800000"));
    assert_eq!(part.bytes, &log[1000..2000]);
    let beyond = browser.download(&links[1], &[("range", "bytes=900000-")]).await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let again = browser.download(&links[1], &[("if-none-match", whole.header("etag"))]).await;
    assert_eq!((again.status, again.bytes.len()), (StatusCode::NOT_MODIFIED, 0));

    // The same content sent again is stored once.
    browser.get("/tickets/1001").await;
    let reply = browser.post_with_files("/tickets/1001/replies", &[("body", "Once more.")], &[("again.png", &png)]).await;
    reply.assert_redirect("/tickets/1001");
    assert_eq!(app.count("SELECT COUNT(*) FROM attachments").await, 3);
    assert_eq!((app.count("SELECT COUNT(*) FROM blobs").await, stored_files(&app).await), (2, 2));
}

async fn a_file_is_never_run_in_the_browser(backend: Backend, store: Store) {
    let app = app_on(backend, store, 25).await;
    let (browser, _) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";
    // The sender calls the page a PNG: the bytes decide.
    new_request_with_files(&app, &browser, &[("page.html", html), ("picture.svg", svg), ("fake.png", html)]).await;
    let links = file_links(&browser.get("/tickets/1001").await);
    for link in &links {
        let file = browser.download(link, &[]).await;
        assert!(file.header("content-disposition").starts_with("attachment;"), "{link}: {}", file.header("content-disposition"));
        assert_ne!(file.header("content-type"), "image/png", "{link}");
        assert!(!file.header("content-type").contains("svg"), "{link}");
        assert_eq!(file.header("content-security-policy"), "sandbox; default-src 'none'");
        assert_eq!(file.header("x-content-type-options"), "nosniff");
    }
    let page = browser.get("/tickets/1001").await;
    assert_eq!(page.html().select(&scraper::Selector::parse(".files img").unwrap()).count(), 0, "only real images are shown");
}

async fn only_who_may_see_the_message_may_download_its_files(backend: Backend, store: Store) {
    let app = app_on(backend, store, 25).await;
    let (carla, _) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    new_request_with_files(&app, &carla, &[("invoice.pdf", b"%PDF-1.4 the invoice")]).await;
    let carlas = file_links(&carla.get("/tickets/1001").await);
    let (agent, _) = app.user(Role::Agent).email("andy@example.com").signed_in().await;
    agent.get("/desk/tickets/1001").await;
    let note = [("visibility", "internal"), ("body", "The real price list.")];
    agent
        .post_with_files("/desk/tickets/1001/replies", &note, &[("prices.xlsx", b"secret prices")])
        .await
        .assert_redirect("/desk/tickets/1001");
    let all = file_links(&agent.get("/desk/tickets/1001").await);
    assert_eq!(all.len(), 2);
    let internal = all.iter().find(|link| !carlas.contains(link)).unwrap();

    assert_eq!(agent.download(&carlas[0], &[]).await.status, StatusCode::OK);
    assert_eq!(agent.download(internal, &[]).await.status, StatusCode::OK);
    assert_eq!(carla.download(&carlas[0], &[]).await.bytes, b"%PDF-1.4 the invoice");
    assert_eq!(carla.download(internal, &[]).await.status, StatusCode::NOT_FOUND, "an internal note's file");
    assert!(!carla.get("/tickets/1001").await.body.contains("prices.xlsx"));
    let (other, _) = app.user(Role::Customer).email("olga@example.com").signed_in().await;
    assert_eq!(other.download(&carlas[0], &[]).await.status, StatusCode::NOT_FOUND, "another customer");
    assert_eq!(app.browser().download(&carlas[0], &[]).await.status, StatusCode::NOT_FOUND, "anyone signed out");
    let guessed = carlas[0].replace("/attachments/", "/attachments/x");
    assert_eq!(agent.download(&guessed, &[]).await.status, StatusCode::NOT_FOUND);
}

async fn staff_attach_files_and_remove_them(backend: Backend, store: Store) {
    let app = app_on(backend, store, 25).await;
    let (agent, _) = app.user(Role::Agent).email("andy@example.com").name("Andy").signed_in().await;
    agent.get("/desk/tickets/new").await;
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await.to_string();
    let fields =
        [("requester", "carla@example.com"), ("subject", "Your guide"), ("group", general.as_str()), ("message", "Attached.")];
    agent
        .post_with_files("/desk/tickets", &fields, &[("handbook.pdf", b"%PDF-1.4 guide")])
        .await
        .assert_redirect("/desk/tickets/1001");
    // The desk's search finds a ticket by its files' names.
    assert!(agent.get("/desk?q=handbook").await.text_of("main").contains("Your guide"));
    let page = agent.get("/desk/tickets/1001").await;
    let link = file_links(&page).remove(0);
    let remove = page.attribute(".files form", "action").unwrap();
    agent.post(&remove, &[]).await.assert_redirect("/desk/tickets/1001");

    let page = agent.get("/desk/tickets/1001").await;
    assert!(page.text_of(".timeline").contains("Andy removed the file handbook.pdf"));
    assert!(page.text_of(".files").contains("handbook.pdf (removed)"));
    assert!(!agent.get("/desk?q=handbook").await.text_of("main").contains("Your guide"), "a removed file finds nothing");
    assert_eq!(agent.download(&link, &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.file_removed'").await, 1);
    assert_eq!(agent.post(&remove, &[]).await.status, StatusCode::NOT_FOUND, "removed once");

    // Its content goes once nothing uses it and an hour has passed, not before.
    let store = FileStore::from_config(&app.config).unwrap();
    assert_eq!(attachments::delete_unused(&app.db, &store, app.now()).await.unwrap(), 0);
    assert_eq!(stored_files(&app).await, 1);
    app.clock.advance(3601);
    assert_eq!(attachments::delete_unused(&app.db, &store, app.now()).await.unwrap(), 1);
    assert_eq!((stored_files(&app).await, app.count("SELECT COUNT(*) FROM blobs").await), (0, 0));
}

async fn a_file_over_the_limit_stores_nothing_of_the_post(backend: Backend, store: Store) {
    let app = app_on(backend, store, 1).await;
    let (browser, _) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    let big = vec![7u8; 1024 * 1024 + 1];
    let refused = new_request_with_files(&app, &browser, &[("small.txt", b"fine"), ("big.bin", &big)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text_of(".field-files .field-error").contains("“big.bin” is larger than 1 MB"));
    assert_eq!(refused.attribute("input[name=subject]", "value").as_deref(), Some("Screenshots"), "what was typed stays");
    let eleven: Vec<(String, Vec<u8>)> = (0..11).map(|n| (format!("f{n}.txt"), vec![n as u8; 10])).collect();
    let files: Vec<(&str, &[u8])> = eleven.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice())).collect();
    let too_many = new_request_with_files(&app, &browser, &files).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_many.text_of(".field-files .field-error").contains("At most 10 files"));

    // Nothing of either post: no ticket, no number spent, no file, nothing half-received.
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blobs").await + app.count("SELECT COUNT(*) FROM attachments").await, 0);
    assert_eq!(stored_files(&app).await, 0);
    assert_eq!(std::fs::read_dir(app.data_dir.path().join("staging")).unwrap().count(), 0);
    new_request_with_files(&app, &browser, &[("small.txt", b"fine")]).await.assert_redirect("/tickets/1001");
}

async fn pictures_get_thumbnails_and_a_decompression_bomb_gets_none(backend: Backend, store: Store) {
    let app = app_on(backend, store, 25).await;
    let (carla, _) = app.user(Role::Customer).email("carla@example.com").signed_in().await;
    // 20,000 × 20,000 one-bit pixels: some 60 KB that would unpack to 400 MB.
    let bomb = black_png(20_000, 20_000);
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    new_request_with_files(&app, &carla, &[("wide.png", &black_png(1000, 500)), ("bomb.png", &bomb), ("notes.txt", b"text")])
        .await
        .assert_redirect("/tickets/1001");
    let page = carla.get("/tickets/1001").await;
    let selector = scraper::Selector::parse(".files img.file-thumb").unwrap();
    let thumbnails: Vec<String> = page.html().select(&selector).map(|img| img.value().attr("src").unwrap().to_owned()).collect();
    assert_eq!(thumbnails.len(), 2, "pictures only");

    let small = carla.download(&thumbnails[0], &[]).await;
    assert_eq!((small.status, small.header("content-type")), (StatusCode::OK, "image/png"));
    assert_eq!(small.header("content-security-policy"), "sandbox; default-src 'none'");
    let picture = image::load_from_memory(&small.bytes).unwrap();
    assert_eq!((picture.width(), picture.height()), (320, 160), "fits 320 × 240, its shape kept");
    let again = carla.download(&thumbnails[0], &[("if-none-match", small.header("etag"))]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    // The bomb's header is read, its pixels never unpacked: an icon stands in, and the
    // answer is kept, so it is not looked at again.
    let refused = carla.download(&thumbnails[1], &[]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.header("location").starts_with("/static/picture.svg"), "{}", refused.header("location"));
    assert_eq!(carla.download(&thumbnails[1], &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(stored_files(&app).await, 3 + 2, "three files, a thumbnail, and the note that the bomb has none");

    let (other, _) = app.user(Role::Customer).email("olga@example.com").signed_in().await;
    assert_eq!(other.download(&thumbnails[0], &[]).await.status, StatusCode::NOT_FOUND, "another customer");
    assert_eq!(app.browser().download(&thumbnails[0], &[]).await.status, StatusCode::NOT_FOUND, "anyone signed out");
}
