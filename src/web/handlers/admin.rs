//! Administration.

use askama::Template;
use axum::response::Response;

use crate::web::error::Result;
use crate::web::extract::Admin;
use crate::web::page::{PageContext, ok};

#[derive(Template)]
#[template(path = "admin/overview.html")]
pub struct OverviewPage {
    ctx: PageContext,
}

pub async fn overview(Admin(_admin): Admin, ctx: PageContext) -> Result<Response> {
    ok(&OverviewPage { ctx })
}
