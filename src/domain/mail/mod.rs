//! Mail as the domain sees it: the outbox and what is queued in it (ticket notifications,
//! account mail), what a queued mail says, the files a mail brings, who may send us mail that counts, and incoming
//! mail turned into replies and tickets. (Sending is `crate::mail`'s work.)

pub mod account_mail;
pub mod attached;
pub mod content;
mod headers;
pub mod intake;
pub mod notification;
pub mod outbox;
pub mod quoting;
pub mod received;
pub mod sender_trust;
