//! Where the index lives. A person's own index: `lancedb/` and `index.json` in the data dir. A
//! team's shared index: the tables and `index.json` under an `s3://bucket/prefix` of the
//! company's object store, written by one indexer and read by any number of `brain serve`
//! replicas on other machines. Either way the rest — settings, the folder list,
//! conversations, the OCR cache, the locks, the writer's journal — stays in the data dir of
//! the machine that uses it: only the index is shared.
//!
//! A replica reads `index.json` again at most once per [`META_FRESH`] (it says which embedder
//! the index was built with and when it was made: a rebuild by the indexer makes a new one);
//! the tables themselves follow the writer within LanceDB's read-consistency interval.

use std::path::Path;
use std::time::{Duration, Instant};

use brain_store::{Bucket, Store};

use crate::error::{EngineError, Result};
use crate::fsutil;
use crate::resources::{IndexMeta, LANCE_DIR, META_FILE};

/// How long a replica trusts the shared index's description before reading it again.
const META_FRESH: Duration = Duration::from_secs(1);

pub(crate) enum IndexHome {
    Local,
    Shared { bucket: Bucket, meta: std::sync::Mutex<Option<(Instant, Option<IndexMeta>)>> },
}

impl IndexHome {
    /// From the engine's options: `shared_index` names a bucket, read with the `AWS_*`
    /// settings of the environment.
    pub(crate) fn of(shared_index: Option<&str>) -> Result<IndexHome> {
        match shared_index {
            None => Ok(IndexHome::Local),
            Some(uri) => Ok(IndexHome::Shared { bucket: Bucket::from_env(uri)?, meta: std::sync::Mutex::new(None) }),
        }
    }

    pub(crate) fn bucket(&self) -> Option<&Bucket> {
        match self {
            IndexHome::Local => None,
            IndexHome::Shared { bucket, .. } => Some(bucket),
        }
    }

    /// What the index was built with, or None when there is no index yet.
    pub(crate) async fn meta(&self, data_dir: &Path) -> Result<Option<IndexMeta>> {
        let (bucket, cached) = match self {
            IndexHome::Local => {
                let path = data_dir.join(META_FILE);
                return match std::fs::read(&path) {
                    Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| EngineError::damaged(&path, e)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(EngineError::io(path, e)),
                };
            }
            IndexHome::Shared { bucket, meta } => (bucket, meta),
        };
        if let Some((read_at, meta)) = cached.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
            && read_at.elapsed() < META_FRESH
        {
            return Ok(meta.clone());
        }
        let meta = match bucket.read(META_FILE).await? {
            Some(b) => Some(serde_json::from_slice(&b).map_err(|e| EngineError::damaged(format!("{}/{META_FILE}", bucket.uri()), e))?),
            None => None,
        };
        *cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    pub(crate) async fn write_meta(&self, data_dir: &Path, meta: &IndexMeta) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(meta).map_err(|e| EngineError::Internal(e.to_string()))?;
        match self {
            IndexHome::Local => fsutil::write_atomic(&data_dir.join(META_FILE), &bytes),
            IndexHome::Shared { bucket, meta: cached } => {
                bucket.write(META_FILE, bytes).await?;
                *cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), Some(meta.clone())));
                Ok(())
            }
        }
    }

    pub(crate) async fn open_store(&self, data_dir: &Path, dimension: usize) -> Result<Store> {
        let local = data_dir.join(LANCE_DIR);
        Ok(match self {
            IndexHome::Local => Store::open(&local, dimension).await?,
            IndexHome::Shared { bucket, .. } => Store::open_shared(bucket, &local, dimension).await?,
        })
    }

    /// Delete the index's tables and description (a rebuild; the caller holds the writer lock).
    pub(crate) async fn delete_index(&self, data_dir: &Path) -> Result<()> {
        if let IndexHome::Shared { bucket, meta } = self {
            let deleted = bucket.delete_index(&[META_FILE]).await?;
            tracing::info!("deleted {deleted} objects of the shared index {}", bucket.uri());
            *meta.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        fsutil::remove(&data_dir.join(LANCE_DIR))?;
        fsutil::remove(&data_dir.join(META_FILE))
    }
}
