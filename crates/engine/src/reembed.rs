//! A new embedder without an outage: when the settings name another embedder than the one the
//! index was built with, the next sync builds a whole new index beside the old one (the same
//! folders and settings, by a second engine over `next-index/` in the data dir) while searches
//! and answers keep using the old index with the embedder that made it. When the new index is
//! complete it is moved into place; until then nothing of the old one changes.
//!
//! Key design decisions:
//! - The new index is an ordinary index built by an ordinary sync, so it is resumable for free:
//!   a sync stopped (cancelled, crashed, the machine off) carries on from the files it had done.
//! - The move is renames only: the old tables aside, the new ones and then the new `index.json`
//!   into place, the old ones deleted. A crash between two renames is finished by the next sync
//!   ([`finish_swap`]); a reader in between sees the old index or the new one.
//! - OCR is not done twice: the new index reads the data dir's page cache.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use brain_store::IndexLock;
use tokio::sync::broadcast::error::RecvError;

use crate::error::{EngineError, Result};
use crate::events::SyncSummary;
use crate::resources::{LANCE_DIR, META_FILE, OCR_CACHE_DIR};
use crate::settings::EngineOptions;
use crate::{Engine, fsutil};

/// Where the new index is built, in the data dir.
pub(crate) const NEXT_DIR: &str = "next-index";
/// Where the old tables wait, during the move, to be deleted.
const REPLACED_DIR: &str = "lancedb.replaced";
/// The folder list's file (`folders.rs`).
const FOLDERS_FILE: &str = "folders.json";

impl Engine {
    /// Whether the settings name another embedder than the index's (by path; an index from
    /// before the path was recorded is not known to differ).
    pub(crate) async fn embedder_changed(&self) -> Result<bool> {
        let current = self.model_paths().embedder;
        Ok(self.meta().await?.and_then(|m| m.embedder_path).is_some_and(|built_with| built_with != current))
    }

    /// Build the index again with the embedder of the settings, beside the old one, and move it
    /// into place once complete (under `lock`, the old index's writer lock, held throughout).
    pub(crate) async fn reembed(&self, cancel: &AtomicBool, lock: IndexLock) -> Result<SyncSummary> {
        let data_dir = self.options.data_dir.clone();
        let next_dir = data_dir.join(NEXT_DIR);
        std::fs::create_dir_all(&next_dir).map_err(|e| EngineError::io(&next_dir, e))?;
        // The settings of now (a model given for this run included) and the folders of now.
        self.settings().save(&next_dir)?;
        let folders = data_dir.join(FOLDERS_FILE);
        if folders.exists() {
            std::fs::copy(&folders, next_dir.join(FOLDERS_FILE)).map_err(|e| EngineError::io(&folders, e))?;
        }
        share_ocr_cache(&data_dir, &next_dir)?;
        tracing::info!("building the index again with {} in {}", self.model_paths().embedder.display(), next_dir.display());

        let next = Engine::open(EngineOptions { data_dir: next_dir.clone(), ..self.options.clone() })?;
        let mut events = next.subscribe();
        let sender = self.events.clone();
        let forward = tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => drop(sender.send(event)),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
        // Boxed: a sync may come back here (for the new index, whose embedder is its own, it does
        // not). Without the languages' steps, before or after: the new index holds the same
        // passages, told after this sync by the engine that asked for it.
        let synced = Box::pin(next.sync_unlocked(cancel, crate::sync::EmbedderChoice::AsGiven)).await;
        let complete = matches!(next.has_index().await, Ok(true));
        drop(next);
        let _ = forward.await;
        let summary = synced?;
        if cancel.load(Ordering::Relaxed) {
            return Ok(summary); // carried on by the next sync
        }
        self.forget_store().await;
        *self.built_with.lock().await = None;
        if complete {
            swap(&data_dir)?;
        } else {
            // Nothing to index: the old index goes, as a rebuild would remove it.
            for path in [data_dir.join(LANCE_DIR), data_dir.join(META_FILE)] {
                fsutil::remove(&path)?;
            }
            fsutil::remove(&next_dir)?;
        }
        drop(lock);
        Ok(summary)
    }
}

/// The new index reads and fills the data dir's OCR page cache (a link; where links cannot be
/// made, it keeps a cache of its own).
fn share_ocr_cache(data_dir: &Path, next_dir: &Path) -> Result<()> {
    let cache = data_dir.join(OCR_CACHE_DIR);
    let link = next_dir.join(OCR_CACHE_DIR);
    if link.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&cache).map_err(|e| EngineError::io(&cache, e))?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(&cache, &link).map_err(|e| EngineError::io(&link, e))?;
    Ok(())
}

/// Move the complete new index into place.
fn swap(data_dir: &Path) -> Result<()> {
    let current = data_dir.join(LANCE_DIR);
    let replaced = data_dir.join(REPLACED_DIR);
    if current.exists() && !replaced.exists() {
        std::fs::rename(&current, &replaced).map_err(|e| EngineError::io(&current, e))?;
    }
    finish_swap(data_dir)
}

/// Finish a move a crash interrupted (nothing to do when none is under way). Every step is
/// done only if not done yet, so it can run any number of times.
pub(crate) fn finish_swap(data_dir: &Path) -> Result<()> {
    let replaced = data_dir.join(REPLACED_DIR);
    if !replaced.exists() {
        return Ok(());
    }
    let (current, next_dir) = (data_dir.join(LANCE_DIR), data_dir.join(NEXT_DIR));
    let (next_tables, next_meta) = (next_dir.join(LANCE_DIR), next_dir.join(META_FILE));
    if !current.exists() && next_tables.exists() {
        std::fs::rename(&next_tables, &current).map_err(|e| EngineError::io(&next_tables, e))?;
    }
    if next_meta.exists() {
        std::fs::rename(&next_meta, data_dir.join(META_FILE)).map_err(|e| EngineError::io(&next_meta, e))?;
    }
    fsutil::remove(&replaced)?;
    fsutil::remove(&next_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_move_stopped_after_any_rename_is_finished() {
        // After each step of `swap`, what a crash leaves: finishing gives the new index.
        for stopped_after in 0..3 {
            let data = tempfile::tempdir().unwrap();
            let d = data.path();
            write(&d.join(LANCE_DIR).join("old"), "old tables");
            write(&d.join(META_FILE), "old meta");
            write(&d.join(NEXT_DIR).join(LANCE_DIR).join("new"), "new tables");
            write(&d.join(NEXT_DIR).join(META_FILE), "new meta");
            std::fs::rename(d.join(LANCE_DIR), d.join(REPLACED_DIR)).unwrap();
            if stopped_after >= 1 {
                std::fs::rename(d.join(NEXT_DIR).join(LANCE_DIR), d.join(LANCE_DIR)).unwrap();
            }
            if stopped_after >= 2 {
                std::fs::rename(d.join(NEXT_DIR).join(META_FILE), d.join(META_FILE)).unwrap();
            }
            finish_swap(d).unwrap();
            assert_eq!(std::fs::read_to_string(d.join(LANCE_DIR).join("new")).unwrap(), "new tables", "{stopped_after}");
            assert_eq!(std::fs::read_to_string(d.join(META_FILE)).unwrap(), "new meta", "{stopped_after}");
            assert!(!d.join(REPLACED_DIR).exists() && !d.join(NEXT_DIR).exists(), "{stopped_after}");
            finish_swap(d).unwrap();
            assert!(d.join(LANCE_DIR).join("new").exists(), "a second run changes nothing");
        }
        // No move under way: nothing happens.
        let data = tempfile::tempdir().unwrap();
        write(&data.path().join(LANCE_DIR).join("t"), "tables");
        write(&data.path().join(NEXT_DIR).join(META_FILE), "a new index being built");
        finish_swap(data.path()).unwrap();
        assert!(data.path().join(LANCE_DIR).join("t").exists() && data.path().join(NEXT_DIR).join(META_FILE).exists());
    }
}
