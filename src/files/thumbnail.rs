//! Small pictures for the timeline, made once per content and kept in the store beside it.
//!
//! A picture is decoded only when its header declares at most [`MAX_PIXELS`], and under
//! the decoder's allocation limit, so a small file that would unpack to gigabytes (a
//! decompression bomb) is refused before anything is unpacked. One picture is decoded at a
//! time, off the request threads, and to its end even when its viewer has gone: a 24
//! megapixel JPEG takes some 200 MB for a moment (its decoder's own buffers are outside
//! the allocation limit).

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use object_store::ObjectStore;
use object_store::path::Path as StorePath;

use super::FileStore;

/// The box a thumbnail fits in: twice what the page shows, for sharp high-density screens.
const THUMBNAIL_WIDTH: u32 = 320;
const THUMBNAIL_HEIGHT: u32 = 240;
/// The largest picture made smaller: 24 megapixels (a 6,000 × 4,000 photo).
const MAX_PIXELS: u64 = 24_000_000;
/// What the decoder may allocate for one picture.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

impl FileStore {
    /// The thumbnail of the picture `sha256`, a PNG; `None` for a picture too large or not
    /// readable, which then never gets one (that answer is kept too).
    pub async fn thumbnail(&self, sha256: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let key = thumbnail_key(sha256);
        if let Some(kept) = self.kept_thumbnail(&key).await? {
            return Ok(kept);
        }
        let turn = self.decoding.clone().acquire_owned().await?;
        // Made by another request while this one waited?
        if let Some(kept) = self.kept_thumbnail(&key).await? {
            return Ok(kept);
        }
        let picture = self.read_all(sha256).await?;
        // The turn goes with the decoding, which goes on if this request is dropped.
        let made = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            shrink(&picture)
        })
        .await?;
        // An empty object says "no thumbnail", so a bomb is looked at once, not per view.
        self.store.put(&key, made.clone().unwrap_or_default().into()).await?;
        Ok(made)
    }

    /// `Some(None)`: looked at before, and no thumbnail can be made.
    async fn kept_thumbnail(&self, key: &StorePath) -> anyhow::Result<Option<Option<Vec<u8>>>> {
        match self.store.get(key).await {
            Ok(found) => {
                let bytes = found.bytes().await?;
                Ok(Some((!bytes.is_empty()).then(|| bytes.to_vec())))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// Where a content's thumbnail is kept.
pub(super) fn thumbnail_key(sha256: &str) -> StorePath {
    StorePath::from(format!("thumbnails/{}/{sha256}", &sha256[..2]))
}

/// The picture made to fit the thumbnail's box, as PNG; `None` when it declares more than
/// [`MAX_PIXELS`] or cannot be read within the limits.
fn shrink(picture: &[u8]) -> Option<Vec<u8>> {
    let reader = || {
        let mut reader = ImageReader::new(Cursor::new(picture)).with_guessed_format().ok()?;
        let mut limits = Limits::default();
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        Some(reader)
    };
    // The header alone first: its size decides whether the rest is unpacked at all.
    let (width, height) = reader()?.into_dimensions().ok()?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return None;
    }
    let small = reader()?.decode().ok()?.thumbnail(THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT);
    let mut png = Vec::new();
    small.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).ok()?;
    Some(png)
}
