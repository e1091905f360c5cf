//! Where attachments' contents live: files under `DATA_DIR/attachments` (one machine), or an
//! S3-compatible bucket that several instances share — both behind `object_store`, keyed by
//! the content's SHA-256, so a file sent twice is stored once.
//!
//! An upload is first staged: streamed to a temporary file while it is hashed, measured and
//! sniffed, so memory never grows with its size and a file over the limit is dropped
//! before anything is kept. Only a post that is accepted whole is then kept.

mod staging;
mod thumbnail;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};
use tokio::io::AsyncReadExt;

pub use staging::{Staged, StagingError, clean_filename};

use crate::config::Config;

/// Parts of a large upload to the bucket (S3 wants at least 5 MiB but the last).
const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// For the file system store: its folder, where a staged file is linked into place
    /// rather than copied through memory.
    local_root: Option<PathBuf>,
    staging: PathBuf,
    /// The largest file taken, in bytes.
    pub max_file_bytes: u64,
    /// One picture decoded at a time, for thumbnails.
    decoding: Arc<tokio::sync::Semaphore>,
}

impl FileStore {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let staging = config.data_dir.join("staging");
        std::fs::create_dir_all(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
        forget_abandoned_uploads(&staging);
        let (store, local_root): (Arc<dyn ObjectStore>, _) = match config.attachment_store.as_str() {
            "file" => {
                let root = config.data_dir.join("attachments");
                std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
                (Arc::new(LocalFileSystem::new_with_prefix(&root)?), Some(root))
            }
            url => (Arc::new(bucket(config, url)?), None),
        };
        Ok(Self {
            store,
            local_root,
            staging,
            max_file_bytes: config.max_attachment_mb * 1024 * 1024,
            decoding: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }

    /// Puts a staged file's content in the store (again, if it is there already: the same
    /// key is the same bytes). Memory stays at one part whatever the size.
    pub async fn keep(&self, staged: &Staged) -> anyhow::Result<()> {
        let key = key(&staged.sha256);
        if let Some(root) = &self.local_root {
            return link_into_place(staged.path(), &root.join(key.as_ref())).await;
        }
        if self.store.head(&key).await.is_ok() {
            return Ok(()); // the same bytes are there already
        }
        if staged.size <= UPLOAD_PART_BYTES as u64 {
            let bytes = tokio::fs::read(staged.path()).await?;
            self.store.put(&key, bytes.into()).await?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
        match write_parts(&mut writer, staged).await {
            Ok(()) => writer.finish().await.map(drop).map_err(Into::into),
            Err(error) => {
                // An unfinished upload would linger in the bucket (and be billed).
                let _ = writer.abort().await;
                Err(error)
            }
        }
    }

    /// The content of `sha256`, whole or the byte range asked for, as a streaming body.
    pub async fn read(&self, sha256: &str, range: Option<std::ops::Range<u64>>) -> anyhow::Result<Body> {
        let options = GetOptions { range: range.map(GetRange::Bounded), ..GetOptions::default() };
        let found = self.store.get_opts(&key(sha256), options).await?;
        Ok(Body::from_stream(found.into_stream()))
    }

    /// The whole content of `sha256`, in memory: only for files known to be small.
    pub async fn read_all(&self, sha256: &str) -> anyhow::Result<Vec<u8>> {
        Ok(self.store.get(&key(sha256)).await?.bytes().await?.to_vec())
    }

    /// Deletes the content of `sha256` and its thumbnail, if it has one.
    pub async fn delete(&self, sha256: &str) -> anyhow::Result<()> {
        for key in [thumbnail::thumbnail_key(sha256), key(sha256)] {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

/// Gives the staged file its place in the file store under a second name (a hard link: no
/// bytes copied, and the name appears whole or not at all), readable by whoever may read the
/// store (`helpdesk mail ingest` may run as the MTA's user). Where staging is on another
/// file system, a copy under a temporary name, then renamed.
async fn link_into_place(staged: &std::path::Path, place: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if tokio::fs::try_exists(place).await? {
        return Ok(()); // the same bytes are there already
    }
    let folder = place.parent().context("a content's place has a folder")?;
    tokio::fs::create_dir_all(folder).await?;
    tokio::fs::set_permissions(staged, std::fs::Permissions::from_mode(0o644)).await?;
    match tokio::fs::hard_link(staged, place).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) if error.kind() != std::io::ErrorKind::CrossesDevices => Err(error.into()),
        Err(_) => {
            let copy = tempfile::NamedTempFile::new_in(folder)?.into_temp_path();
            tokio::fs::copy(staged, &copy).await?;
            copy.persist(place)?;
            Ok(())
        }
    }
}

async fn write_parts(writer: &mut WriteMultipart, staged: &Staged) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::open(staged.path()).await?;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(4).await?;
        writer.write(&buffer[..read]);
    }
}

/// Uploads left in staging by a process that was killed (a running one deletes its own). Only
/// those older than an hour: other instances may share the directory.
fn forget_abandoned_uploads(staging: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(staging) else { return };
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        if entry.metadata().and_then(|meta| meta.modified()).is_ok_and(|modified| modified < hour_ago) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `ab/abcdef…`: a first level of 256 folders keeps directories small in the file store.
fn key(sha256: &str) -> StorePath {
    StorePath::from(format!("{}/{sha256}", &sha256[..2]))
}

/// `s3://bucket/prefix` with `S3_ENDPOINT` and the AWS credentials of the configuration.
fn bucket(config: &Config, url: &str) -> anyhow::Result<object_store::prefix::PrefixStore<object_store::aws::AmazonS3>> {
    let rest = url.strip_prefix("s3://").context("ATTACHMENT_STORE must be `file` or `s3://bucket/prefix`")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    anyhow::ensure!(!bucket.is_empty(), "ATTACHMENT_STORE names no bucket");
    let mut builder =
        AmazonS3Builder::new().with_bucket_name(bucket).with_region(config.aws_region.as_deref().unwrap_or("us-east-1"));
    if let Some(endpoint) = &config.s3_endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let (Some(key_id), Some(secret)) = (&config.aws_access_key_id, &config.aws_secret_access_key) {
        builder = builder.with_access_key_id(key_id).with_secret_access_key(secret);
    }
    Ok(object_store::prefix::PrefixStore::new(builder.build()?, prefix.trim_matches('/')))
}
