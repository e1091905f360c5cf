//! The files of the message a notification is about: attached to the mail while together
//! they are at most 10 MiB, otherwise linked (the link asks for a sign-in, as the page does).

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MailAttachment, SinglePart};

use crate::domain::attachments::{Attachment, size_in_words};
use crate::files::FileStore;

/// The most a notification carries in files; beyond it, all of them are links.
pub const ATTACHED_AT_MOST_BYTES: i64 = 10 * 1024 * 1024;

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

    /// The MIME part that carries it, when it goes along.
    pub fn part(&self) -> anyhow::Result<Option<SinglePart>> {
        let Some(content) = &self.content else { return Ok(None) };
        let content_type = ContentType::parse(&self.content_type)?;
        Ok(Some(MailAttachment::new(self.filename.clone()).body(content.clone(), content_type)))
    }
}

/// Reads the files for a notification: all of them when they fit, none otherwise.
pub async fn gather(store: &FileStore, base_url: &str, files: &[Attachment]) -> anyhow::Result<Vec<MailFile>> {
    let fits = files.iter().map(|file| file.size).sum::<i64>() <= ATTACHED_AT_MOST_BYTES;
    let mut gathered = Vec::with_capacity(files.len());
    for file in files {
        let content = if fits { Some(store.read_all(&file.sha256).await?) } else { None };
        gathered.push(MailFile {
            filename: file.filename.clone(),
            size: size_in_words(file.size),
            link: format!("{base_url}{}", file.href()),
            content_type: file.content_type.clone(),
            content,
        });
    }
    Ok(gathered)
}
