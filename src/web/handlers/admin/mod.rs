//! Administration: users, groups, ticket fields, settings and the audit log. Every route
//! is behind the `Admin` guard, so anyone else gets a 404.

pub mod audit;
pub mod fields;
pub mod groups;
pub mod mail;
pub mod settings;
pub mod tokens;
pub mod users;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::domain::accounts::user_admin;
use crate::domain::admin::groups as group_domain;
use crate::domain::mail::outbox;
use crate::web::error::Result;
use crate::web::extract::Admin;
use crate::web::page::{PageContext, ok};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "admin/overview.html")]
pub struct OverviewPage {
    ctx: PageContext,
    staff: i64,
    customers: i64,
    groups: usize,
    failed_mail: i64,
}

pub async fn overview(State(state): State<AppState>, Admin(_admin): Admin, ctx: PageContext) -> Result<Response> {
    let (staff, customers) = user_admin::active_head_counts(&state.db).await?;
    let groups = group_domain::all_groups(&state.db).await?.len();
    let failed_mail = outbox::failed_count(&state.db).await?;
    ok(&OverviewPage { ctx, staff, customers, groups, failed_mail })
}
