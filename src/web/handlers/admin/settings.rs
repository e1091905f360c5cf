//! `/admin/settings`: the organisation's name, the ticket prefix, auto-close and the SLA
//! targets. Stored in the database and read per request, so a change applies at once.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::domain::FieldErrors;
use crate::domain::admin::settings::{self, Settings};
use crate::domain::tickets::Priority;
use crate::web::error::Result;
use crate::web::extract::{Admin, CsrfForm};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;

/// The settings form's values by field name, as stored or as entered.
type Values = HashMap<String, String>;

/// A priority's two target fields, each as its key and what it sets.
pub struct SlaRow {
    label: &'static str,
    fields: [(&'static str, &'static str); 2],
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    ctx: PageContext,
    values: Values,
    errors: FieldErrors,
    sla_rows: Vec<SlaRow>,
}

impl SettingsPage {
    fn value(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }
}

fn page(ctx: PageContext, values: Values, errors: FieldErrors) -> SettingsPage {
    let sla_rows = Priority::ALL
        .iter()
        .rev()
        .map(|priority| SlaRow {
            label: priority.label(),
            fields: [
                (settings::sla_first_response_key(*priority), "first response"),
                (settings::sla_resolution_key(*priority), "resolution"),
            ],
        })
        .collect();
    SettingsPage { ctx, values, errors, sla_rows }
}

pub async fn show(State(state): State<AppState>, Admin(_admin): Admin, ctx: PageContext) -> Result<Response> {
    let stored = Settings::load(&state.db).await?;
    let values = stored.to_pairs().into_iter().map(|(key, value)| (key.to_owned(), value)).collect();
    ok(&page(ctx, values, FieldErrors::new()))
}

pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(values): CsrfForm<Values>,
) -> Result<Response> {
    let saved = match Settings::parse(|key| values.get(key).map_or("", String::as_str)) {
        Ok(settings) => settings.save(&state.db, admin.id, state.now()).await,
        Err(error) => Err(error),
    };
    let done = |()| done("Settings saved. They apply from now on.", "/admin/settings");
    after_post(&session, saved, done, |refused| async move { Ok(page(ctx, values, refused.into_form_messages().0)) }).await
}
