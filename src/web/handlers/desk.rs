//! The staff desk.

use askama::Template;
use axum::response::Response;

use crate::web::error::Result;
use crate::web::extract::Agent;
use crate::web::page::{PageContext, ok};

#[derive(Template)]
#[template(path = "desk/queue.html")]
pub struct QueuePage {
    ctx: PageContext,
}

pub async fn queue(Agent(_agent): Agent, ctx: PageContext) -> Result<Response> {
    ok(&QueuePage { ctx })
}
