//! An upload on its way in: written to a temporary file chunk by chunk while its SHA-256
//! and size are counted and its type is sniffed from its first bytes. Dropping a `Staged`
//! deletes the temporary file, so a refused post leaves nothing behind.

use std::io::Write;

use axum::extract::multipart::Field;
use sha2::{Digest, Sha256};

use super::FileStore;

/// How many first bytes are kept to tell the file's type.
const SNIFF_BYTES: usize = 8 * 1024;

/// A file received whole and within the limit, not yet kept.
#[derive(Debug)]
pub struct Staged {
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    /// Told by the bytes, never by the sender.
    pub content_type: &'static str,
    file: tempfile::NamedTempFile,
}

impl Staged {
    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// Over the size limit: the rest of it was read and dropped, so the form goes on.
    #[error("the file is larger than the limit")]
    TooBig,
    /// The post itself is broken (a cut-off or malformed multipart body).
    #[error("the upload could not be read: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl FileStore {
    /// Receives one file part of a form.
    pub async fn stage(&self, field: &mut Field<'_>, filename: &str) -> Result<Staged, StagingError> {
        let mut stager = Stager::new(self)?;
        while let Some(chunk) = field.chunk().await.map_err(|error| StagingError::Unreadable(error.body_text()))? {
            stager.push(&chunk)?;
        }
        stager.finish(filename)
    }

    /// Takes a file held in memory already (one part of a mail, say).
    pub fn stage_bytes(&self, bytes: &[u8], filename: &str) -> Result<Staged, StagingError> {
        let mut stager = Stager::new(self)?;
        stager.push(bytes)?;
        stager.finish(filename)
    }
}

/// A file being received: counted, hashed and written as its chunks arrive.
struct Stager {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    head: Vec<u8>,
    size: u64,
    limit: u64,
}

impl Stager {
    fn new(store: &FileStore) -> Result<Self, StagingError> {
        let file = tempfile::NamedTempFile::new_in(&store.staging)?;
        Ok(Self { file, hasher: Sha256::new(), head: Vec::new(), size: 0, limit: store.max_file_bytes })
    }

    fn push(&mut self, chunk: &[u8]) -> Result<(), StagingError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Ok(()); // read to its end, keeping nothing, so the fields after it arrive
        }
        if self.head.len() < SNIFF_BYTES {
            self.head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - self.head.len())]);
        }
        self.hasher.update(chunk);
        Ok(self.file.write_all(chunk)?)
    }

    fn finish(mut self, filename: &str) -> Result<Staged, StagingError> {
        if self.size > self.limit {
            return Err(StagingError::TooBig);
        }
        self.file.flush()?;
        let content_type = infer::get(&self.head).map_or("application/octet-stream", |kind| kind.mime_type());
        let sha256 = self.hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
        Ok(Staged { filename: clean_filename(filename), sha256, size: self.size, content_type, file: self.file })
    }
}

/// The name a file is shown and downloaded under: its last path part, without control or
/// invisible formatting characters (a right-to-left override, U+202E, between `invoice` and
/// `fdp.exe` would make it read as a PDF), at most 200 characters, never empty.
pub fn clean_filename(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control() && !is_invisible_format(*c)).take(200).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() { "file".to_owned() } else { cleaned }
}

/// Unicode's format characters that change how text around them reads: bidirectional
/// controls, zero-width characters, the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::clean_filename;

    #[test]
    fn filenames_lose_their_paths_and_control_characters() {
        assert_eq!(clean_filename("C:\\Users\\ann\\report.pdf"), "report.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\u{0}b\r\n.txt"), "ab.txt");
        assert_eq!(clean_filename(".htaccess"), "htaccess");
        assert_eq!(clean_filename("   "), "file");
        assert_eq!(clean_filename("résumé ✓.png"), "résumé ✓.png");
        assert_eq!(clean_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_filename("a\u{200B}b.txt"), "ab.txt");
    }
}
