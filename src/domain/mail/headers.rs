//! What a mail's headers say: whom it answers, whom it copies, and whether a machine sent it.

use mail_parser::Message;

use super::intake::OwnMail;
use crate::domain::email::Email;

/// The Message-IDs a mail answers, newest last.
pub(super) fn replied_to<'m>(mail: &'m Message<'_>) -> Vec<&'m str> {
    let mut ids: Vec<&str> = Vec::new();
    for header in [mail.in_reply_to(), mail.references()] {
        ids.extend(header.as_text_list().unwrap_or_default().iter().map(|id| id.as_ref()));
    }
    ids
}

/// The addresses in the mail's `Cc:`, but our own.
pub(super) fn copied(mail: &Message<'_>, own: &OwnMail<'_>) -> Vec<Email> {
    let addresses = mail.cc().into_iter().flat_map(|cc| cc.iter()).filter_map(|address| address.address());
    addresses
        .filter(|address| !address.eq_ignore_ascii_case(own.address))
        .filter_map(|address| Email::parse(address).ok())
        .collect()
}

/// Why the mail was sent by a machine rather than a person, if it was: auto-replies,
/// bounces, bulk mail, and our own notifications coming back.
pub(super) fn automatic(mail: &Message<'_>, from: &str, own: &OwnMail<'_>) -> Option<String> {
    if from.eq_ignore_ascii_case(own.address) {
        return Some("The mail comes from our own address; it is one of our notifications.".into());
    }
    let header = |name: &str| mail.header_raw(name).map(|value| value.trim().to_ascii_lowercase());
    if let Some(value) = header("Auto-Submitted").filter(|value| value != "no") {
        return Some(format!("The mail is automatic (Auto-Submitted: {value})."));
    }
    if let Some(value) = header("Precedence").filter(|value| ["bulk", "junk", "list", "auto_reply"].contains(&value.as_str())) {
        return Some(format!("The mail is bulk or automatic (Precedence: {value})."));
    }
    if header("X-Autoreply").is_some() || header("X-Autorespond").is_some() {
        return Some("The mail is an automatic reply.".into());
    }
    let local_part = from.split('@').next().unwrap_or_default().to_ascii_lowercase();
    let is_report = header("Content-Type").is_some_and(|value| value.starts_with("multipart/report"));
    if is_report || local_part == "mailer-daemon" || local_part == "postmaster" {
        return Some("The mail is a delivery report (a bounce).".into());
    }
    None
}
