//! Counts the SQL statements one request runs, from sqlx's own statement log (its
//! `sqlx::query` events) inside tower-http's span for that request, told apart by the URI.
//! Background work (the mail worker) runs outside any request, so it never counts; nor
//! does setting up a connection the pool opens meanwhile (its `PRAGMA`s).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Statements seen per request URI (path and query).
fn counts() -> &'static Mutex<HashMap<String, u64>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, u64>>> = OnceLock::new();
    COUNTS.get_or_init(Mutex::default)
}

/// Starts counting, for the whole test process (a no-op after the first call).
pub fn start_counting() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let wanted =
            filter_fn(|metadata| metadata.target() == "sqlx::query" || metadata.target().starts_with("tower_http::trace"));
        tracing_subscriber::registry()
            .with(StatementCounter.with_filter(wanted))
            .try_init()
            .expect("no other subscriber in tests");
    });
}

/// `uri` with a mark no other request in this test process carries (tests run at once).
pub fn marked(uri: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}mark={}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// How many statements the requests to `uri` have run so far.
pub fn statements_of(uri: &str) -> u64 {
    counts().lock().unwrap().get(uri).copied().unwrap_or(0)
}

struct StatementCounter;

/// The `uri` field of tower-http's request span.
struct RequestUri(String);

impl Visit for RequestUri {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "uri" {
            self.0 = format!("{value:?}");
        }
    }
}

/// The `summary` field of sqlx's statement event: the statement's first words.
struct Summary(String);

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for StatementCounter {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        if attributes.metadata().name() == "request" {
            let mut uri = RequestUri(String::new());
            attributes.record(&mut uri);
            context.span(id).expect("a new span").extensions_mut().insert(uri);
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        if summary.0.starts_with("PRAGMA") {
            return;
        }
        let Some(scope) = context.event_scope(event) else { return };
        for span in scope {
            if let Some(RequestUri(uri)) = span.extensions().get::<RequestUri>() {
                *counts().lock().unwrap().entry(uri.clone()).or_default() += 1;
                return;
            }
        }
    }
}
