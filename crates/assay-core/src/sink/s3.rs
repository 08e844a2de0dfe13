//! S3 destinations (`s3://BUCKET/KEY.parquet`, from `assay export`, a recipe output's
//! `path` or the workbench's export dialog). The output is written by the same streaming
//! writers to a scratch file on local disk, then sent as one multipart upload that is
//! completed only when every part is in: a failure (or a kill) before completion leaves
//! the object as it was. Parts are 16 MB with four in flight, so memory stays bounded
//! whatever the size.

use std::path::{Path, PathBuf};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::error::io_error;
use crate::sink::{Error, Result};
use crate::source::s3::{split_url, store_error, S3Config};

const PART: usize = 16 << 20;
const IN_FLIGHT: usize = 4;

/// The object a destination URL names (not a prefix).
fn object(url: &str) -> Result<(String, ObjectPath)> {
    let (bucket, key) = split_url(url)?;
    if key.is_empty() || key.ends_with('/') {
        return Err(Error::refused(format!("{url}: name an object (s3://BUCKET/KEY.parquet), not a prefix")));
    }
    Ok((bucket, ObjectPath::from(key.as_str())))
}

/// Whether the object exists.
pub async fn exists(config: &S3Config, url: &str) -> Result<bool> {
    let (bucket, key) = object(url)?;
    match config.store(&bucket)?.head(&key).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(store_error(url, e).into()),
    }
}

/// Refuses `url` when it exists (unless `overwrite`) or is one of `inputs`.
pub async fn check_overwrite(config: &S3Config, url: &str, inputs: &[String], overwrite: bool) -> Result<()> {
    if inputs.iter().any(|i| i == url) {
        return Err(Error::refused(format!("{url}: is an input; an output never overwrites its own input")));
    }
    if !overwrite && exists(config, url).await? {
        return Err(Error::refused(format!("{url}: already exists (give --overwrite to replace it)")));
    }
    Ok(())
}

/// Sends the local file `local` to `url` as one multipart upload; returns the bytes sent.
pub async fn upload(config: &S3Config, url: &str, local: &Path) -> Result<u64> {
    let (bucket, key) = object(url)?;
    let store = config.store(&bucket)?;
    let shown = local.display().to_string();
    let mut file = tokio::fs::File::open(local).await.map_err(|e| io_error(&shown, &e))?;
    let upload = store.put_multipart(&key).await.map_err(|e| store_error(url, e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
    let mut buf = vec![0u8; PART];
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(io_error(&shown, &e).into());
                }
            }
        }
        if filled == 0 {
            break;
        }
        if let Err(e) = writer.wait_for_capacity(IN_FLIGHT).await {
            let _ = writer.abort().await;
            return Err(store_error(url, e).into());
        }
        writer.write(&buf[..filled]);
        total += filled as u64;
        if filled < buf.len() {
            break;
        }
    }
    writer.finish().await.map_err(|e| store_error(url, e))?;
    Ok(total)
}

/// The local file an S3 output is written to before its upload (in the temporary
/// folder, named after the object); removed when dropped.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new(url: &str) -> Result<Scratch> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let (_, key) = object(url)?;
        let name = key.filename().unwrap_or("output").to_string();
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(".assay-upload-{}-{n}-{name}", std::process::id()));
        Ok(Scratch { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
