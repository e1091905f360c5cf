//! Mail as the domain sees it: notifications waiting in the outbox, and incoming mail
//! turned into replies and tickets. (Sending is `crate::mail`'s work.)

pub mod intake;
pub mod outbox;
