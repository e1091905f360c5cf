//! Files on messages. Who may download one is who may see its message: the ticket's own
//! viewer rule, and for an internal note's file, staff only — everyone else gets 404, as
//! for the ticket itself.

use crate::db::{Db, Flag, Tx, id_list};
use crate::domain::accounts::tokens;
use crate::domain::accounts::users::User;
use crate::domain::clock::Timestamp;
use crate::domain::tickets::{self, TicketNumber};
use crate::domain::{Error, FieldErrors, Result};
use crate::files::{FileStore, Staged};

/// At most this many files on one message.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// A blob no attachment uses is deleted once nothing has brought it for this long.
const UNUSED_BLOB_GRACE_SECONDS: i64 = 3600;

/// A file kept in the store, to be attached to the message being written.
#[derive(Clone, Debug)]
pub struct KeptFile {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub filename: String,
}

/// The "attachments" error of a form: too many files, or one too big.
pub fn refusal(message: impl Into<String>) -> Error {
    Error::Invalid(FieldErrors::single("attachments", message))
}

/// Keeps staged files in the store, each blob recorded (or touched) first so background
/// work cannot delete it under an upload that is about to be attached.
pub async fn keep(db: &Db, store: &FileStore, staged: &[Staged], now: Timestamp) -> Result<Vec<KeptFile>> {
    let mut kept = Vec::with_capacity(staged.len());
    for file in staged {
        let size = i64::try_from(file.size).map_err(|_| refusal("That file is too large."))?;
        let mut tx = db.begin_write().await?;
        sqlx::query(
            "INSERT INTO blobs (sha256, size, content_type, touched_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO UPDATE SET touched_at = excluded.touched_at",
        )
        .bind(&file.sha256)
        .bind(size)
        .bind(file.content_type)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        store.keep(file).await?;
        kept.push(KeptFile {
            sha256: file.sha256.clone(),
            size,
            content_type: file.content_type.into(),
            filename: file.filename.clone(),
        });
    }
    Ok(kept)
}

/// Attaches kept files to a message, in the transaction that writes it.
pub async fn attach(tx: &mut Tx, ticket_id: i64, message_id: i64, files: &[KeptFile], now: Timestamp) -> Result<()> {
    for file in files {
        // Touched (and locked) here too: background work cannot take it now, and if it took
        // it since it was kept, the message is not written with a file that is gone.
        let touched = sqlx::query("UPDATE blobs SET touched_at = $1 WHERE sha256 = $2")
            .bind(now)
            .bind(&file.sha256)
            .execute(&mut **tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Err(Error::Internal(anyhow::anyhow!("a kept file was deleted before it was attached; send it again")));
        }
        sqlx::query(
            "INSERT INTO attachments (public_id, ticket_id, message_id, sha256, filename, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tokens::random_text(24))
        .bind(ticket_id)
        .bind(message_id)
        .bind(&file.sha256)
        .bind(&file.filename)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// An attachment as the timeline lists it and a download serves it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Attachment {
    pub public_id: String,
    pub message_id: i64,
    pub filename: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub removed: Flag,
}

impl Attachment {
    /// Only these are shown in the page itself; everything else is a download.
    pub fn is_inline_image(&self) -> bool {
        matches!(self.content_type.as_str(), "image/png" | "image/jpeg" | "image/gif" | "image/webp")
    }

    pub fn href(&self) -> String {
        let name: String = percent_encoding::utf8_percent_encode(&self.filename, percent_encoding::NON_ALPHANUMERIC).collect();
        format!("/attachments/{}/{name}", self.public_id)
    }

    /// Where a picture's thumbnail is.
    pub fn thumbnail_href(&self) -> String {
        format!("/thumbnails/{}", self.public_id)
    }
}

/// "812 bytes", "14 KB", "3.2 MB" (units of 1,024).
pub fn size_in_words(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let bytes_f = bytes as f64;
    if bytes_f < KB {
        format!("{bytes} bytes")
    } else if bytes_f < KB * KB {
        format!("{:.0} KB", bytes_f / KB)
    } else {
        format!("{:.1} MB", bytes_f / (KB * KB))
    }
}

/// A removed file's blob may be gone: its row still lists it, as removed.
const COLUMNS: &str = "a.public_id, a.message_id, a.filename, a.sha256, COALESCE(b.size, 0) AS size, \
     COALESCE(b.content_type, 'application/octet-stream') AS content_type, (a.removed_at IS NOT NULL) AS removed";

/// The files of these messages (removed ones say so), in the order they were sent.
pub async fn of_messages(db: &Db, message_ids: &[i64]) -> Result<Vec<Attachment>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM attachments a LEFT JOIN blobs b ON b.sha256 = a.sha256 WHERE a.message_id IN ({}) ORDER BY a.id",
        id_list(message_ids)
    ))
    .fetch_all(db.pool())
    .await?)
}

#[derive(sqlx::FromRow)]
struct Located {
    #[sqlx(flatten)]
    attachment: Attachment,
    ticket_number: TicketNumber,
    public: Flag,
}

/// Where a file sits: its ticket, and whether its message is public.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    pub ticket: TicketNumber,
    pub public: bool,
}

/// The attachment `public_id`, if `viewer` may see its message; otherwise (or when it was
/// removed) `NotFound`.
pub async fn find_for_viewer(db: &Db, public_id: &str, viewer: &User) -> Result<(Attachment, Place)> {
    let located: Option<Located> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, t.number AS ticket_number, m.public FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 \
         JOIN messages m ON m.id = a.message_id JOIN tickets t ON t.id = a.ticket_id WHERE a.public_id = $1"
    ))
    .bind(public_id)
    .fetch_optional(db.pool())
    .await?;
    let located = located.ok_or(Error::NotFound)?;
    let number = located.ticket_number;
    // The ticket's own rule first: whoever may not see the ticket learns nothing more here.
    tickets::find_for_viewer(db, number, viewer).await?;
    if located.attachment.removed.0 || !(located.public.0 || viewer.role.is_staff()) {
        return Err(Error::NotFound);
    }
    Ok((located.attachment, Place { ticket: number, public: located.public.0 }))
}

/// Deletes blobs that no attachment uses and nothing has brought for a while, each row
/// together with its content: the row stays locked while the content goes, so an upload
/// bringing the same content waits, then writes both anew.
pub async fn delete_unused(db: &Db, store: &FileStore, now: Timestamp) -> Result<usize> {
    let unused = "NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = blobs.sha256 AND a.removed_at IS NULL)";
    let cutoff = now - UNUSED_BLOB_GRACE_SECONDS;
    let candidates: Vec<String> =
        sqlx::query_scalar(&format!("SELECT sha256 FROM blobs WHERE touched_at < $1 AND {unused} LIMIT 100"))
            .bind(cutoff)
            .fetch_all(db.pool())
            .await?;
    let mut deleted = 0;
    for sha256 in candidates {
        let mut tx = db.begin_write().await?;
        let gone = sqlx::query(&format!("DELETE FROM blobs WHERE sha256 = $1 AND touched_at < $2 AND {unused}"))
            .bind(&sha256)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 1 {
            store.delete(&sha256).await?;
            deleted += 1;
        }
        tx.commit().await?;
    }
    Ok(deleted)
}
