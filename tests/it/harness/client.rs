//! The test client, a small browser that keeps cookies and the last page's CSRF token, and the
//! pages and files it is shown.

use super::*;

/// A file as it was served.
pub struct Download {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }
}

/// A minimal browser: keeps cookies, never follows redirects, remembers the CSRF token
/// of the last page it was shown.
pub struct Browser {
    http: reqwest::Client,
    base_url: String,
    cookies: Mutex<BTreeMap<String, String>>,
    csrf_token: Mutex<Option<String>>,
    /// Sent as `X-Forwarded-For`, as a proxy in front of the app would.
    forwarded_for: Mutex<Option<String>>,
}

impl Browser {
    pub(super) fn new(base_url: &str) -> Self {
        Self {
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client"),
            base_url: base_url.to_owned(),
            cookies: Mutex::new(BTreeMap::new()),
            csrf_token: Mutex::new(None),
            forwarded_for: Mutex::new(None),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn session_id(&self) -> Option<String> {
        self.cookie(helpdesk::web::SESSION_COOKIE)
    }

    pub fn set_session_id(&self, id: &str) {
        self.cookies.lock().unwrap().insert(helpdesk::web::SESSION_COOKIE.into(), id.into());
    }

    /// From now on, requests arrive as if through a proxy, from `client`.
    pub fn forwarded_for(&self, client: &str) {
        *self.forwarded_for.lock().unwrap() = Some(client.to_owned());
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        self.try_send(request).await.expect("request sent")
    }

    /// Like `send`, but a connection the server closed before the client finished writing
    /// (as it may when it refuses a body early) is `Err` rather than a failed test.
    async fn try_send(&self, mut request: reqwest::RequestBuilder) -> Result<Page, reqwest::Error> {
        if let Some(client) = self.forwarded_for.lock().unwrap().clone() {
            request = request.header("x-forwarded-for", client);
        }
        let response = request.header(reqwest::header::COOKIE, self.cookie_header()).send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all(SET_COOKIE) {
            let text = set_cookie.to_str().expect("cookie text");
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').expect("cookie pair");
            let expired = attributes.to_ascii_lowercase().contains("max-age=0");
            let mut cookies = self.cookies.lock().unwrap();
            if expired || value.is_empty() {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await?;
        let page = Page { status, headers, body };
        if let Some(token) = page.csrf_token() {
            *self.csrf_token.lock().unwrap() = Some(token);
        }
        Ok(page)
    }

    /// Starts a GET and hands back the answer as it arrives, its body unread (a stream).
    pub async fn open(&self, path: &str) -> reqwest::Response {
        let request = self.http.get(format!("{}{path}", self.base_url)).header(reqwest::header::COOKIE, self.cookie_header());
        request.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.base_url))).await
    }

    /// Posts a form as a browser would, with the CSRF token of the last page seen.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token.lock().unwrap().clone().expect("a page with a form was seen first");
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Fetches a file as bytes, with extra request headers (`Range`, `If-None-Match`).
    pub async fn download(&self, path: &str, headers: &[(&str, &str)]) -> Download {
        let mut request = self.http.get(format!("{}{path}", self.base_url)).header(reqwest::header::COOKIE, self.cookie_header());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let (status, headers) = (response.status(), response.headers().clone());
        Download { status, headers, bytes: response.bytes().await.expect("a body").to_vec() }
    }

    /// Posts a form with files as a browser does (`multipart/form-data`, the CSRF token of
    /// the last page seen): each file is `(name, bytes)` in an `attachments` part.
    pub async fn post_with_files(&self, path: &str, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Page {
        let token = self.csrf_token.lock().unwrap().clone().expect("a page with a form was seen first");
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        for (filename, bytes) in files {
            form = form.part("attachments", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_string()));
        }
        self.send(self.http.post(format!("{}{path}", self.base_url)).multipart(form)).await
    }

    /// Posts exactly these fields, with no CSRF token added.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(self.http.post(format!("{}{path}", self.base_url)).form(fields)).await
    }

    /// Posts a form with the CSRF token, reporting a dropped connection instead of failing.
    pub async fn try_post(&self, path: &str, fields: &[(&str, &str)]) -> Result<Page, reqwest::Error> {
        let token = self.csrf_token.lock().unwrap().clone().expect("a page with a form was seen first");
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.try_send(self.http.post(format!("{}{path}", self.base_url)).form(&all)).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    pub fn csrf_token(&self) -> Option<String> {
        self.csrf_token.lock().unwrap().clone()
    }

    /// One sign-in attempt, whatever its outcome.
    pub async fn post_login(&self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        self.post("/login", &[("email", email), ("password", password)]).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let page = self.post_login(email, password).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in as {email} failed: {}", page.text_of("main"));
        page
    }
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).map(|value| value.to_str().expect("location text"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().expect("header text"))
    }

    /// Every element that matches `selector`, as its text with whitespace folded.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&selector)
            .map(|element| element.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn text_of(&self, selector: &str) -> String {
        self.texts(selector).join(" | ")
    }

    /// The attribute of the first element that matches `selector`.
    pub fn attribute(&self, selector: &str, attribute: &str) -> Option<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html().select(&selector).next().and_then(|element| element.value().attr(attribute).map(str::to_owned))
    }

    /// The attribute of every element that matches `selector` and has it.
    pub fn attributes(&self, selector: &str, attribute: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("valid selector");
        self.html().select(&selector).filter_map(|element| element.value().attr(attribute).map(str::to_owned)).collect()
    }

    pub fn csrf_token(&self) -> Option<String> {
        if !self.body.contains("csrf_token") {
            return None;
        }
        self.attribute("input[name=csrf_token]", "value")
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "expected a redirect to {to}: {}", self.body);
        assert_eq!(self.location(), Some(to));
    }
}
