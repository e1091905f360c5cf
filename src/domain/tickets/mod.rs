//! Tickets: their number, status and priority; opening one; the read model and lookups
//! that respect who is asking; the customer's list; the desk's queue; due dates.

pub mod create;
pub mod events;
mod number;
pub mod queue;
mod requester_list;
pub mod sla;
mod status;
mod ticket;

pub use create::{ALREADY_RECEIVED, NewTicket, SUBJECT_MAX, create, create_on_behalf, parse_body, parse_subject};
pub use number::TicketNumber;
pub use queue::parse_date;
pub use requester_list::{CUSTOMER_PAGE_SIZE, CustomerScope, CustomerTab, list_for_requester, matches_by_tab};
pub use status::{Priority, Status};
pub use ticket::{
    Ticket, TicketSummary, customer_may_manage, customer_sees, customer_sees_ticket, find_for_viewer, id_of,
    managed_organisation, others_of_requester,
};
