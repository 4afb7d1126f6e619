//! Where the index lives. A person's own index: `lancedb/` and `index.json` in the data dir. A
//! team's shared index: the tables and `index.json` under an `s3://bucket/prefix` of the
//! company's object store, written by one indexer and read by any number of `brain serve`
//! replicas on other machines. Either way the rest — settings, the folder list,
//! conversations, the OCR cache, the locks, the writer's journal — stays in the data dir of
//! the machine that uses it: only the index is shared.
//!
//! A replica reads `index.json` again at most once per [`META_FRESH`] (it says which embedder
//! the index was built with and when it was made: a rebuild by the indexer makes a new one).
//! A replica that serves (`EngineOptions::replica`) reads the tables from a copy on its own
//! disk, refreshed from the bucket every [`COPY_REFRESH`] by a task of its own (see
//! `brain_store::ReplicaCopy`: from object storage directly, every search waits on dozens of
//! requests); any other reader of a shared index reads the bucket, following the writer within
//! LanceDB's read-consistency interval.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brain_store::{Bucket, ReplicaCopy, Store};

use crate::error::{EngineError, Result};
use crate::fsutil;
use crate::resources::{IndexMeta, LANCE_DIR, META_FILE};

/// How long a replica trusts the shared index's description before reading it again.
const META_FRESH: Duration = Duration::from_secs(1);
/// How often a replica's copy of the shared index is brought in line with the bucket (and its
/// description read again, off the searches' path).
const COPY_REFRESH: Duration = Duration::from_secs(1);
/// How long a replica that keeps a copy trusts the description its refresher last read before
/// a search reads it itself (the refresher is late or failing).
const COPY_META_FRESH: Duration = Duration::from_secs(5);

/// The shared index's description as last read, and when.
type CachedMeta = Arc<std::sync::Mutex<Option<(Instant, Option<IndexMeta>)>>>;
/// The folder of the data dir that holds a replica's copy of the shared index.
pub(crate) const COPY_DIR: &str = "shared-index-copy";

pub(crate) enum IndexHome {
    Local,
    Shared { bucket: Bucket, meta: CachedMeta, copy: Option<Box<KeptCopy>> },
}

/// A replica's copy of the shared index and the task that keeps it current.
pub(crate) struct KeptCopy {
    dir: PathBuf,
    copy: Arc<tokio::sync::Mutex<ReplicaCopy>>,
    refresher: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for KeptCopy {
    fn drop(&mut self) {
        if let Some(task) = self.refresher.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

impl KeptCopy {
    /// The copy's tables, brought in line with the bucket now, and kept so from here on.
    async fn current(&self, bucket: &Bucket, meta: &CachedMeta) -> Result<PathBuf> {
        let mut copy = self.copy.lock().await;
        let started = Instant::now();
        let done = copy.refresh().await?;
        if done.changed() {
            tracing::info!(
                "copied the shared index {} to {}: {} files ({} MB) fetched, {} removed in {:.1} s",
                bucket.uri(),
                self.dir.display(),
                done.fetched,
                done.fetched_bytes / 1_000_000,
                done.removed,
                started.elapsed().as_secs_f64()
            );
        }
        let mut refresher = self.refresher.lock().unwrap_or_else(|p| p.into_inner());
        if refresher.is_none() {
            *refresher = Some(tokio::spawn(keep_current(Arc::clone(&self.copy), bucket.clone(), Arc::clone(meta))));
        }
        Ok(copy.tables_dir())
    }
}

/// Refresh the description and the copy every [`COPY_REFRESH`] for as long as the engine
/// lives, so that no search waits on the store. A refresh that fails (the store unreachable) is
/// said once and retried; the replica answers from the copy as it is meanwhile (see
/// [`IndexHome::meta`]).
async fn keep_current(copy: Arc<tokio::sync::Mutex<ReplicaCopy>>, bucket: Bucket, meta: CachedMeta) {
    let uri = bucket.uri().to_string();
    let mut failing: Option<String> = None;
    loop {
        tokio::time::sleep(COPY_REFRESH).await;
        let refreshed = async {
            let description = read_meta(&bucket).await?;
            *meta.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), description));
            Ok::<_, EngineError>(copy.lock().await.refresh().await?)
        };
        match refreshed.await {
            Ok(done) => {
                if failing.take().is_some() {
                    tracing::info!("the shared index {uri} is reachable again");
                }
                if done.changed() {
                    tracing::debug!("copy of {uri}: {} files fetched, {} removed", done.fetched, done.removed);
                }
            }
            Err(e) => {
                let message = e.to_string();
                if failing.as_deref() != Some(message.as_str()) {
                    tracing::warn!("cannot refresh the copy of the shared index (answering from the last copy): {message}");
                }
                failing = Some(message);
            }
        }
    }
}

/// The shared index's description, read from the bucket (None: no index there yet).
async fn read_meta(bucket: &Bucket) -> Result<Option<IndexMeta>> {
    match bucket.read(META_FILE).await? {
        Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(|e| EngineError::damaged(format!("{}/{META_FILE}", bucket.uri()), e))?)),
        None => Ok(None),
    }
}

impl IndexHome {
    /// From the engine's options: `shared_index` names a bucket, read with the `AWS_*`
    /// settings of the environment; a `replica` reads it from a copy in `data_dir`.
    pub(crate) fn of(shared_index: Option<&str>, replica: bool, data_dir: &Path) -> Result<IndexHome> {
        let Some(uri) = shared_index else { return Ok(IndexHome::Local) };
        let bucket = Bucket::from_env(uri)?;
        let copy = match replica {
            true => {
                let dir = data_dir.join(COPY_DIR);
                let copy = Arc::new(tokio::sync::Mutex::new(ReplicaCopy::new(&bucket, &dir)?));
                Some(Box::new(KeptCopy { dir, copy, refresher: std::sync::Mutex::new(None) }))
            }
            false => None,
        };
        Ok(IndexHome::Shared { bucket, meta: Arc::new(std::sync::Mutex::new(None)), copy })
    }

    /// Whether this engine only reads a copy of the shared index (and must never write).
    pub(crate) fn is_copy(&self) -> bool {
        matches!(self, IndexHome::Shared { copy: Some(_), .. })
    }

    pub(crate) fn bucket(&self) -> Option<&Bucket> {
        match self {
            IndexHome::Local => None,
            IndexHome::Shared { bucket, .. } => Some(bucket),
        }
    }

    /// What the index was built with, or None when there is no index yet.
    pub(crate) async fn meta(&self, data_dir: &Path) -> Result<Option<IndexMeta>> {
        let (bucket, cached, is_copy) = match self {
            IndexHome::Local => {
                let path = data_dir.join(META_FILE);
                return match std::fs::read(&path) {
                    Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| EngineError::damaged(&path, e)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(EngineError::io(path, e)),
                };
            }
            IndexHome::Shared { bucket, meta, copy } => (bucket, meta, copy.is_some()),
        };
        let fresh_for = if is_copy { COPY_META_FRESH } else { META_FRESH };
        let last = match cached.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some((read_at, meta)) if read_at.elapsed() < fresh_for => return Ok(meta.clone()),
            Some((_, meta)) => meta.clone(),
            None => None,
        };
        let meta = match read_meta(bucket).await {
            Ok(meta) => meta,
            // A replica whose store cannot be reached answers from its copy, as it last was
            // (the copy's refresher says that the store is unreachable, and when it is back).
            Err(_) if is_copy && let Some(meta) = last => {
                let meta = Some(meta);
                *cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), meta.clone()));
                return Ok(meta);
            }
            Err(e) => return Err(e),
        };
        *cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    pub(crate) async fn write_meta(&self, data_dir: &Path, meta: &IndexMeta) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(meta).map_err(|e| EngineError::Internal(e.to_string()))?;
        match self {
            IndexHome::Local => fsutil::write_atomic(&data_dir.join(META_FILE), &bytes),
            IndexHome::Shared { bucket, meta: cached, .. } => {
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
            IndexHome::Shared { bucket, copy: Some(copy), meta } => Store::open_copy(&copy.current(bucket, meta).await?, dimension).await?,
            IndexHome::Shared { bucket, copy: None, .. } => Store::open_shared(bucket, &local, dimension).await?,
        })
    }

    /// Delete the index's tables and description (a rebuild; the caller holds the writer lock).
    pub(crate) async fn delete_index(&self, data_dir: &Path) -> Result<()> {
        if let IndexHome::Shared { bucket, meta, .. } = self {
            let deleted = bucket.delete_index(&[META_FILE]).await?;
            tracing::info!("deleted {deleted} objects of the shared index {}", bucket.uri());
            *meta.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        fsutil::remove(&data_dir.join(LANCE_DIR))?;
        fsutil::remove(&data_dir.join(META_FILE))
    }
}
