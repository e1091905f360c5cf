//! What is known of a message that arrived by mail.

use crate::domain::email::Email;

/// A message's mail: its Message-ID (so the same mail is not added twice) and whether its
/// sender proved who they are (see `sender_trust`), and whom it copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    pub message_id: Option<String>,
    pub sender_verified: bool,
    /// The addresses in its `Cc:` (but ours): known customers among them are copied on
    /// its ticket.
    pub copied: Vec<Email>,
}
