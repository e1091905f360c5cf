//! Real Chromium (Debian's `chromium` and `chromium-driver`), driven over WebDriver through
//! the pages as people use them: by the labels they read and the buttons they press. Each
//! step is screenshotted at desk and phone width and, with JavaScript on, checked by
//! axe-core (pinned in `tests/browser/package.json`) for serious or critical faults.

mod journeys;
mod keyboard;
mod together;

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Desk and phone: every step is looked at in both.
const WIDTHS: [(u32, u32); 2] = [(1280, 900), (390, 844)];

/// Whether the pages' own scripts run. Every journey is walked both ways: the pages must
/// work without JavaScript, and with it the enhancements must not get in the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scripts {
    On,
    Off,
}

/// A chromedriver of our own and one browser session on it, ended when this is dropped.
pub struct Chromium {
    client: Client,
    driver: Child,
    base_url: String,
    scripts: Scripts,
    screenshots: PathBuf,
    /// Where the browser saves what it downloads.
    downloads: PathBuf,
    step: usize,
    /// Pages loaded so far: each `goto` and each step that left a page.
    loads: AtomicUsize,
}

impl Chromium {
    /// A browser for the application at `base_url`; screenshots go to
    /// `target/tmp/journeys/{journey}/`.
    pub async fn open(base_url: &str, journey: &str, scripts: Scripts) -> Self {
        let (driver, driver_url) = start_chromedriver();
        let mut chrome_options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-GB",
                     format!("--window-size={},{}", WIDTHS[0].0, WIDTHS[0].1)],
        });
        if Path::new("/usr/bin/chromium").exists() {
            chrome_options["binary"] = "/usr/bin/chromium".into();
        }
        let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("journeys").join(journey);
        let _ = std::fs::remove_dir_all(&screenshots);
        let downloads = screenshots.join("downloads");
        std::fs::create_dir_all(&downloads).expect("a folder for screenshots and downloads");
        chrome_options["prefs"] = json!({
            "download.default_directory": downloads.display().to_string(),
            "download.prompt_for_download": false,
        });
        if scripts == Scripts::Off {
            chrome_options["prefs"]["profile.managed_default_content_settings.javascript"] = 2.into();
        }
        let capabilities = json!({ "browserName": "chrome", "goog:chromeOptions": chrome_options });
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            ClientBuilder::new(connector).capabilities(capabilities).connect(&driver_url).await.expect("a Chromium session");
        Self {
            client,
            driver,
            base_url: base_url.to_owned(),
            scripts,
            screenshots,
            downloads,
            step: 0,
            loads: AtomicUsize::new(0),
        }
    }

    pub async fn goto(&self, path_or_url: &str) {
        let url =
            if path_or_url.starts_with("http") { path_or_url.to_owned() } else { format!("{}{path_or_url}", self.base_url) };
        self.client.goto(&url).await.expect("the page loads");
        self.loads.fetch_add(1, Ordering::Relaxed);
    }

    /// How many pages have been loaded so far.
    pub fn page_loads(&self) -> usize {
        self.loads.load(Ordering::Relaxed)
    }

    /// Types `keys` wherever the focus is, as a person at the keyboard does. `Ctrl` and
    /// `Shift` (from `fantoccini::key::Key`) are held down until the end.
    pub async fn keys(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        let mut held = Vec::new();
        for key in keys.chars() {
            actions = actions.then(KeyAction::Down { value: key });
            if matches!(key, '\u{E008}' | '\u{E009}') {
                held.push(key);
            } else {
                actions = actions.then(KeyAction::Up { value: key });
            }
        }
        for key in held.into_iter().rev() {
            actions = actions.then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.expect("the keys are pressed");
    }

    /// Types `keys` that lead to another page, and waits for it.
    pub async fn keys_to_leave(&self, keys: &str) {
        let leaving = self.document().await;
        self.keys(keys).await;
        self.arrive(leaving).await;
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("a current page");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Types into the field whose label reads `label` (a field without a label cannot be
    /// found, as a screen-reader user could not find it).
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.labelled(label).await;
        field.clear().await.expect("a field that can be cleared");
        field.send_keys(text).await.expect("a field that takes text");
    }

    /// Chooses files for the file input labelled `label`.
    pub async fn attach(&self, label: &str, files: &[&Path]) {
        let input = self.labelled(label).await;
        let paths: Vec<String> = files.iter().map(|file| file.display().to_string()).collect();
        input.send_keys(&paths.join("\n")).await.expect("a file input");
    }

    /// How many pictures matching `css` the browser has loaded and drawn (none broken).
    pub async fn pictures_shown(&self, css: &str) -> usize {
        let mut shown = 0;
        for picture in self.client.find_all(Locator::Css(css)).await.expect("a page") {
            let picture = serde_json::to_value(&picture).expect("an element");
            let script = "return arguments[0].complete && arguments[0].naturalWidth > 0;";
            shown += usize::from(self.client.execute(script, vec![picture]).await.expect("a picture") == Value::Bool(true));
        }
        shown
    }

    /// The file the browser saved as `name`, once it has finished downloading it.
    pub async fn downloaded(&self, name: &str) -> Vec<u8> {
        let file = self.downloads.join(name);
        for _ in 0..400 {
            let partial = std::fs::read_dir(&self.downloads)
                .map(|entries| entries.flatten().any(|entry| entry.path().extension().is_some_and(|ext| ext == "crdownload")))
                .unwrap_or(false);
            if file.exists() && !partial {
                return std::fs::read(&file).expect("the downloaded file");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{name} was not downloaded within ten seconds (in {})", self.downloads.display())
    }

    /// Clicks the first link whose text starts with `text` without waiting for a page: for
    /// a link that downloads a file.
    pub async fn click_link(&self, text: &str) {
        let xpath = format!("//a[starts-with(normalize-space(.), {})]", xpath_text(text));
        match self.client.find(Locator::XPath(&xpath)).await {
            Ok(link) => link.click().await.expect("a link"),
            Err(_) => self.missing(&format!("link {text:?}")).await,
        }
    }

    /// Picks the option reading `option` in the list labelled `label`.
    pub async fn select(&self, label: &str, option: &str) {
        let list = self.labelled(label).await;
        match list.find(Locator::XPath(&format!(".//option[normalize-space(.)={}]", xpath_text(option)))).await {
            Ok(choice) => choice.click().await.expect("the option can be picked"),
            Err(_) => self.missing(&format!("option {option:?} under {label:?}")).await,
        }
    }

    /// Ticks the radio button or checkbox whose label starts with `label`.
    pub async fn choose(&self, label: &str) {
        let xpath = format!("//label[starts-with(normalize-space(.), {})]//input", xpath_text(label));
        match self.client.find(Locator::XPath(&xpath)).await {
            Ok(choice) => choice.click().await.expect("a choice"),
            Err(_) => self.missing(&format!("choice {label:?}")).await,
        }
    }

    /// Opens the disclosure (`<details>`) whose summary reads `text`, unless it is open.
    pub async fn reveal(&self, text: &str) {
        let xpath = format!("//details[not(@open)]/summary[normalize-space(.)={}]", xpath_text(text));
        if let Ok(summary) = self.client.find(Locator::XPath(&xpath)).await {
            summary.click().await.expect("the summary opens its details");
        }
    }

    /// Presses the first button reading `text`; when it asks for confirmation, says yes.
    pub async fn press(&self, text: &str) {
        let xpath = format!("//button[normalize-space(.)={}]", xpath_text(text));
        let button = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(button) => button,
            Err(_) => self.missing(&format!("button {text:?}")).await,
        };
        let leaving = self.document().await;
        button.click().await.expect("a button");
        if self.scripts == Scripts::On && self.client.get_alert_text().await.is_ok() {
            self.client.accept_alert().await.expect("the confirmation accepted");
        }
        self.arrive(leaving).await;
    }

    /// Follows the first link whose text starts with `text` (a queue's link also shows its
    /// count).
    pub async fn follow(&self, text: &str) {
        let xpath = format!("//a[starts-with(normalize-space(.), {})]", xpath_text(text));
        let link = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(link) => link,
            Err(_) => self.missing(&format!("link {text:?}")).await,
        };
        let leaving = self.document().await;
        link.click().await.expect("a link");
        self.arrive(leaving).await;
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.expect("a page").len()
    }

    /// The visible text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.expect("text"),
            Err(_) => self.missing(&format!("element {css:?}")).await,
        }
    }

    /// Records this step: a screenshot at each width and, with scripts on, an axe-core check
    /// at each width that fails the journey on any serious or critical violation.
    pub async fn look(&mut self, step: &str) {
        self.step += 1;
        for (width, height) in WIDTHS {
            self.client.set_window_size(width, height).await.expect("the window resizes");
            let png = self.client.screenshot().await.expect("a screenshot");
            let file = self.screenshots.join(format!("{:02}-{step}-{width}.png", self.step));
            std::fs::write(&file, png).expect("the screenshot is kept");
            if self.scripts == Scripts::On {
                let violations = self.accessibility_violations().await;
                assert!(violations.is_empty(), "{step} at {width} px ({}): {violations:#?}", self.path().await);
            }
        }
        self.client.set_window_size(WIDTHS[0].0, WIDTHS[0].1).await.expect("the window resizes");
    }

    /// axe-core's serious and critical findings on the page as it is.
    async fn accessibility_violations(&self) -> Vec<Value> {
        let script = format!(
            "{}\nreturn axe.run(document, {{ resultTypes: ['violations'] }}).then((results) => results.violations
               .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
               .map((violation) => ({{ rule: violation.id, help: violation.help,
                                       where: violation.nodes.map((node) => node.target.join(' ')) }})));",
            axe_source()
        );
        match self.client.execute(&script, Vec::new()).await.expect("axe runs") {
            Value::Array(violations) => violations,
            other => panic!("axe answered {other}"),
        }
    }

    async fn labelled(&self, label: &str) -> fantoccini::elements::Element {
        let xpath = format!("//label[normalize-space(.)={}]", xpath_text(label));
        let label_element = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(found) => found,
            Err(_) => self.missing(&format!("label {label:?}")).await,
        };
        let target = label_element.attr("for").await.expect("label attributes");
        let target = target.unwrap_or_else(|| panic!("the label {label:?} names no field"));
        self.client.find(Locator::Id(&target)).await.unwrap_or_else(|_| panic!("the label {label:?} names a missing #{target}"))
    }

    /// The page's root element, to tell when the browser has left this page.
    async fn document(&self) -> fantoccini::elements::Element {
        self.client.find(Locator::Css("html")).await.expect("a page")
    }

    /// Waits until the page `leaving` is gone (its root element no longer exists) and the
    /// next one has loaded: a click returns before the navigation it starts is over.
    async fn arrive(&self, leaving: fantoccini::elements::Element) {
        for _ in 0..400 {
            if leaving.tag_name().await.is_err() && self.client.find(Locator::Css("body")).await.is_ok() {
                self.loads.fetch_add(1, Ordering::Relaxed);
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the click led nowhere: still on {} after ten seconds", self.path().await);
    }

    /// Fails the journey, saying where: `what` is not on the page.
    async fn missing(&self, what: &str) -> ! {
        panic!("no {what} on {} (after step {})", self.path().await, self.step)
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The driver leads a process group of its own, with the browser and all its helper
        // processes in it: the whole group goes, also when a journey failed half-way.
        end_group(&mut self.driver);
    }
}

fn end_group(driver: &mut Child) {
    if let Ok(group) = i32::try_from(driver.id()) {
        // SAFETY: a plain signal to a process group this test started.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    let _ = driver.wait();
}

/// A chromedriver on a free loopback port, and its address once it answers.
fn start_chromedriver() -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|socket| socket.local_addr()).expect("a free port").port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (Debian: apt-get install chromium chromium-driver; .ci/run does)");
    let mut driver = driver;
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (driver, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    end_group(&mut driver);
    panic!("chromedriver did not start on port {port}");
}

/// axe-core as npm installed it, read once.
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&file)
            .unwrap_or_else(|_| panic!("{} is missing: run `npm ci --prefix tests/browser` (.ci/run does)", file.display()))
    })
}

/// `text` as an XPath string literal.
fn xpath_text(text: &str) -> String {
    assert!(!text.contains('"'), "quote-free text only: {text}");
    format!("\"{text}\"")
}
