//! The timeline of a ticket and the changes made through it, by the customer
//! ([`customer`]) and by staff ([`staff`]). Every change is a [`Change`](change::Change):
//! one transaction that locks the ticket, writes the timeline entries, the audit rows and
//! the notifications, bumps the ticket's `updated_at` and `version`, and keeps the search
//! index current. Saved replies ([`canned`]) are what agents insert into theirs.

mod bulk;
pub mod canned;
pub mod cc;
mod change;
pub mod closing;
pub mod customer;
pub mod files;
mod merge;
mod properties;
pub mod staff;
mod timeline;

pub use change::{StatusEvent, Visibility};
pub use timeline::{Audience, EntryKind, TimelineEntry, timeline};
