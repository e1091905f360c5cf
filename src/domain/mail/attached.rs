//! The files a mail brings — its attachments and inline images — kept for the message it
//! becomes within the limits a form has. Those over the limits are left out and named
//! below the message, so the team knows to ask for them another way.

use mail_parser::{Message, MessagePart, MimeHeaders};

use crate::db::Db;
use crate::domain::attachments::{self, KeptFile, MAX_FILES_PER_MESSAGE, size_in_words};
use crate::domain::clock::Timestamp;
use crate::domain::{Error, Result};
use crate::files::{FileStore, StagingError, clean_filename};

/// A mail's files: those kept, and those left out, in words.
#[derive(Debug)]
pub struct MailFiles {
    pub kept: Vec<KeptFile>,
    left_out: Vec<String>,
}

impl MailFiles {
    /// The message's text, with the files left out named under it. A mail that brings
    /// files and no text still says what it is.
    pub fn under_text(&self, text: &str) -> String {
        let mut text = text.trim_end().to_owned();
        if text.is_empty() && !self.kept.is_empty() {
            text.push_str("(Files sent without a message.)");
        }
        if !self.left_out.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&format!("[Left out of this mail: {}.]", self.left_out.join("; ")));
        }
        text
    }
}

/// Stages and keeps the files of `mail` that fit: at most ten, each within the size limit.
pub async fn keep(db: &Db, store: &FileStore, mail: &Message<'_>, now: Timestamp) -> Result<MailFiles> {
    let limit = size_in_words(i64::try_from(store.max_file_bytes).unwrap_or(i64::MAX));
    let mut staged = Vec::new();
    let mut left_out = Vec::new();
    for (index, part) in mail.attachments().filter(|part| !part.is_empty()).enumerate() {
        // Cleaned here as when staged: a left-out file's name goes into the message.
        let name = clean_filename(&name_of(part, index + 1));
        if staged.len() == MAX_FILES_PER_MESSAGE {
            left_out.push(format!("{name} (only {MAX_FILES_PER_MESSAGE} files are kept from one mail)"));
            continue;
        }
        match store.stage_bytes(part.contents(), &name) {
            Ok(file) => staged.push(file),
            Err(StagingError::TooBig) => {
                let size = size_in_words(i64::try_from(part.len()).unwrap_or(i64::MAX));
                left_out.push(format!("{name} ({size}; files up to {limit} are kept)"));
            }
            Err(error) => return Err(Error::Internal(error.into())),
        }
    }
    let kept = attachments::keep(db, store, &staged, now).await?;
    Ok(MailFiles { kept, left_out })
}

/// The part's own file name; else a forwarded mail is `message.eml`, and anything else
/// `attachment-2.png`, numbered in the mail and named after what its bytes are.
fn name_of(part: &MessagePart<'_>, number: usize) -> String {
    if let Some(name) = part.attachment_name().filter(|name| !name.trim().is_empty()) {
        return name.to_owned();
    }
    if part.is_message() {
        return "message.eml".to_owned();
    }
    match infer::get(part.contents()) {
        Some(kind) => format!("attachment-{number}.{}", kind.extension()),
        None => format!("attachment-{number}"),
    }
}
