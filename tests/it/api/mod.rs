//! The JSON API: tokens, customers and staff working tickets, reports, and the OpenAPI
//! document; a small client for them.

mod accounts;
mod document;
mod events;
mod fields;
mod files;
mod organisations;
mod tickets;
mod tokens;

use helpdesk::domain::accounts::api_tokens;
use helpdesk::domain::accounts::users::User;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::TestApp;

pub struct Api {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    pub fn data(&self) -> Value {
        self.json()["data"].clone()
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn field_error(&self, field: &str) -> Option<String> {
        self.json()["error"]["fields"][field].as_str().map(str::to_owned)
    }
}

impl Api {
    pub fn new(app: &TestApp, token: Option<String>) -> Self {
        Self { http: reqwest::Client::new(), base_url: format!("{}/api/v1", app.base_url), token }
    }

    /// A client with a fresh token for `user`.
    pub async fn for_user(app: &TestApp, user: &User) -> Self {
        let token = api_tokens::create(&app.db, user.id, "tests", Some(user.id), app.now()).await.expect("token created");
        Self::new(app, Some(token))
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send_with(method, path, body, &[]).await
    }

    /// A request with extra headers, e.g. `If-Match`.
    pub async fn send_with(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base_url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("API answers");
        let status = response.status();
        let headers = response.headers().clone();
        Answer { status, headers, text: response.text().await.expect("body") }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PATCH, path, Some(body)).await
    }

    /// A JSON body with files: the JSON in a part `data`, each file in a part `attachments`.
    pub async fn post_multipart(&self, path: &str, body: Value, files: &[(&str, &[u8])]) -> Answer {
        let mut form = reqwest::multipart::Form::new().text("data", body.to_string());
        for (filename, bytes) in files {
            form = form.part("attachments", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_string()));
        }
        let mut request = self.http.post(format!("{}{path}", self.base_url)).multipart(form);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("API answers");
        let (status, headers) = (response.status(), response.headers().clone());
        Answer { status, headers, text: response.text().await.expect("body") }
    }

    /// A file's bytes, with this client's token.
    pub async fn download(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let mut request = self.http.get(format!("{}{path}", self.base_url.trim_end_matches("/api/v1")));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("API answers");
        (response.status(), response.bytes().await.expect("body").to_vec())
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }
}
