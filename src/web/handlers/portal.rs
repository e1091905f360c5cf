//! The customer portal.

use askama::Template;
use axum::response::Response;

use crate::web::error::Result;
use crate::web::extract::Customer;
use crate::web::page::{PageContext, ok};

#[derive(Template)]
#[template(path = "portal/tickets.html")]
pub struct MyTicketsPage {
    ctx: PageContext,
}

pub async fn my_tickets(Customer(_customer): Customer, ctx: PageContext) -> Result<Response> {
    ok(&MyTicketsPage { ctx })
}
