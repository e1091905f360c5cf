//! What is known of a message that arrived by mail.

/// A message's mail: its Message-ID (so the same mail is not added twice) and whether its
/// sender proved who they are (see `sender_trust`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    pub message_id: Option<String>,
    pub sender_verified: bool,
}
