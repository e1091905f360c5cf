//! The files of the message a notification is about: attached to the mail while together
//! they are at most 10 MiB, otherwise linked (the link asks for a sign-in, as the page does).

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MailAttachment, SinglePart};

use crate::domain::attachments::{Attachment, size_in_words};
use crate::files::FileStore;

/// The most a notification carries in files; beyond it, all of them are links. (Sent as
/// base64 they are a third larger: a mail server that takes no more than 10 MB refuses such
/// a mail, and it is then listed among the failed mails for an admin to see.)
const ATTACHED_AT_MOST_BYTES: i64 = 10 * 1024 * 1024;

/// A file as a notification names it, with its content when it goes along.
pub struct MailFile {
    pub filename: String,
    pub size: String,
    pub link: String,
    content_type: String,
    content: Option<Vec<u8>>,
}

impl MailFile {
    pub fn is_attached(&self) -> bool {
        self.content.is_some()
    }

    /// The MIME part that carries it (its content moves into the part), when it goes along.
    pub fn take_part(&mut self) -> anyhow::Result<Option<SinglePart>> {
        let Some(content) = self.content.take() else { return Ok(None) };
        let content_type = ContentType::parse(&self.content_type)?;
        Ok(Some(MailAttachment::new(self.filename.clone()).body(content, content_type)))
    }
}

/// Reads the files for a notification when they go along: all of them when they fit, none
/// otherwise — nor when one cannot be read from the store (the links say where they are).
pub async fn gather(store: &FileStore, base_url: &str, files: &[Attachment], attach: bool) -> Vec<MailFile> {
    let mut gathered: Vec<MailFile> = files
        .iter()
        .map(|file| MailFile {
            filename: file.filename.clone(),
            size: size_in_words(file.size),
            link: format!("{base_url}{}", file.href()),
            content_type: file.content_type.clone(),
            content: None,
        })
        .collect();
    if !attach || files.iter().map(|file| file.size).sum::<i64>() > ATTACHED_AT_MOST_BYTES {
        return gathered;
    }
    let mut contents = Vec::with_capacity(files.len());
    for file in files {
        match store.read_all(&file.sha256).await {
            Ok(content) => contents.push(content),
            Err(error) => {
                tracing::warn!(%error, file = %file.public_id, "a file could not be read for a mail; it is linked");
                return gathered;
            }
        }
    }
    for (file, content) in gathered.iter_mut().zip(contents) {
        file.content = Some(content);
    }
    gathered
}
