//! The customer portal: a customer's own requests, and everything they can do on them.

mod requests;
mod ticket;

pub use requests::{create_ticket, my_tickets, new_ticket_form};
pub use ticket::{CcForm, close, rate, reopen, reply, set_cc, show_ticket};
