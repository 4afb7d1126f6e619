//! One sync: walk the registered folders, compare with the index, process the difference.
//!
//! The walk and the comparison are cheap (metadata only: size and mtime, then the content hash
//! when those differ). Files to process go through the indexing [`pipeline`](crate::pipeline);
//! removals and the clean-up of what a crash left come after it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use brain_store::crash::crash_point;
use brain_store::{DocStatus, DocumentRecord, DocumentWrite, IndexLock, WriteBatch};

use crate::Engine;
use crate::error::{EngineError, Result};
use crate::events::{IndexEvent, SyncSummary};
use crate::fsutil;
use crate::pipeline::{self, Work, prepare::failed_record};
use crate::settings::Settings;

/// A file found on disk.
#[derive(Debug, Clone)]
pub(crate) struct DiskFile {
    pub path: PathBuf,
    pub folder: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
}

/// Something in a folder that cannot be indexed, found while walking.
#[derive(Debug, Clone)]
pub(crate) struct WalkFailure {
    pub path: PathBuf,
    pub folder: PathBuf,
    pub error: String,
    pub size: u64,
    pub mtime_ns: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub files: Vec<DiskFile>,
    pub failures: Vec<WalkFailure>,
}

/// Audio, video, archives, fonts, programs and the like (brain-parse's list) are skipped
/// silently, like ignored files, rather than reported as failures by the hundred in a folder of
/// music. (PNG, JPEG, TIFF, WebP and BMP are documents: scans and photos of text, read by OCR.)
fn is_not_a_document(path: &Path) -> bool {
    brain_parse::is_never_a_document(path)
}

/// Walk the folders honouring .gitignore/.ignore, skipping hidden entries, following symlinks
/// (loops are reported, not followed forever).
pub(crate) fn walk(folders: &[PathBuf], settings: &Settings) -> Walk {
    let mut out = Walk::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for folder in folders {
        let mut builder = ignore::WalkBuilder::new(folder);
        builder
            .hidden(true)
            .ignore(true)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .parents(false)
            .follow_links(true);
        if !settings.exclude.is_empty() {
            let mut overrides = ignore::overrides::OverrideBuilder::new(folder);
            for pattern in &settings.exclude {
                // In an override, "!pattern" means "ignore what matches".
                if overrides.add(&format!("!{pattern}")).is_err() {
                    tracing::warn!(pattern, "ignoring an invalid exclude pattern");
                }
            }
            if let Ok(o) = overrides.build() {
                builder.overrides(o);
            }
        }
        for entry in builder.build() {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    if let Some(f) = walk_failure(folder, &err)
                        && seen.insert(f.path.clone())
                    {
                        out.failures.push(f);
                    }
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path().to_path_buf();
            if is_not_a_document(&path) || !seen.insert(path.clone()) {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    out.failures.push(WalkFailure {
                        path,
                        folder: folder.clone(),
                        error: format!("cannot read: {e}"),
                        size: 0,
                        mtime_ns: 0,
                    });
                    continue;
                }
            };
            let (size, mtime_ns) = (meta.len(), fsutil::mtime_ns(&meta));
            if size > settings.max_file_size {
                out.failures.push(WalkFailure {
                    path,
                    folder: folder.clone(),
                    error: format!(
                        "too large: {} (the limit is {}; raise max_file_size to index it)",
                        human_bytes(size),
                        human_bytes(settings.max_file_size)
                    ),
                    size,
                    mtime_ns,
                });
                continue;
            }
            out.files.push(DiskFile { path, folder: folder.clone(), size, mtime_ns });
        }
    }
    out
}

fn walk_failure(folder: &Path, err: &ignore::Error) -> Option<WalkFailure> {
    fn inner(err: &ignore::Error, path: Option<&Path>) -> Option<(PathBuf, String)> {
        match err {
            ignore::Error::WithPath { path, err } => inner(err, Some(path)),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => inner(err, path),
            ignore::Error::Loop { ancestor, child } => {
                Some((child.clone(), format!("symlink loop: it leads back to {}", ancestor.display())))
            }
            ignore::Error::Io(e) => {
                let p = path?.to_path_buf();
                let reason = if e.kind() == std::io::ErrorKind::NotFound && p.is_symlink() {
                    "broken symlink: its target does not exist".to_string()
                } else {
                    format!("cannot read: {e}")
                };
                Some((p, reason))
            }
            // .gitignore syntax errors and the like: not about a document.
            _ => None,
        }
    }
    let (path, error) = inner(err, None)?;
    Some(WalkFailure { path, folder: folder.to_path_buf(), error, size: 0, mtime_ns: 0 })
}

pub(crate) fn human_bytes(n: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if n as f64 >= MB { format!("{:.1} MB", n as f64 / MB) } else { format!("{:.1} KB", n as f64 / 1024.0) }
}

/// What a sync has to do: the difference between the disk and the index.
pub(crate) struct Plan {
    /// New or changed files.
    pub queue: Vec<DiskFile>,
    /// Walk failures not yet recorded (or recorded with another reason).
    pub failures: Vec<WalkFailure>,
    /// Indexed paths no longer on disk.
    pub removed: Vec<String>,
    pub unchanged: usize,
}

/// Compare a walk with the index. `missing`: registered folders not on disk, whose files are
/// kept (an unplugged drive must not empty the index).
pub(crate) fn plan(walk: &Walk, existing: &HashMap<String, DocumentRecord>, missing: &[PathBuf]) -> Plan {
    let mut on_disk: HashSet<String> = HashSet::new();
    let mut plan = Plan { queue: Vec::new(), failures: Vec::new(), removed: Vec::new(), unchanged: 0 };
    for file in &walk.files {
        let key = file.path.display().to_string();
        match existing.get(&key) {
            Some(d) if d.size == file.size && d.mtime_ns == file.mtime_ns && d.status != DocStatus::Pending => plan.unchanged += 1,
            _ => plan.queue.push(file.clone()),
        }
        on_disk.insert(key);
    }
    for f in &walk.failures {
        let key = f.path.display().to_string();
        match existing.get(&key) {
            Some(d) if d.status == DocStatus::Failed && d.error.as_deref() == Some(f.error.as_str()) && d.size == f.size => {
                plan.unchanged += 1
            }
            _ => plan.failures.push(f.clone()),
        }
        on_disk.insert(key);
    }
    plan.removed = existing
        .values()
        .filter(|d| !on_disk.contains(&d.path))
        .filter(|d| !missing.iter().any(|m| Path::new(&d.folder) == m))
        .map(|d| d.path.clone())
        .collect();
    plan.removed.sort();
    plan
}

/// The crash points of a sync, in the order it passes them (the store's are in
/// [`brain_store::crash::STORE_CRASH_POINTS`]).
pub const CRASH_POINTS: &[&str] = &[
    "engine:sync-planned",
    "engine:failures-written",
    "engine:batch-prepared",
    "engine:queue-written",
    "engine:removals-written",
    "engine:orphans-removed",
    "engine:rebuild-deleted",
];

/// Sync under `lock`, the index's writer lock, held until the sync ends.
pub(crate) async fn run(engine: &Engine, cancel: &AtomicBool, lock: IndexLock) -> Result<SyncSummary> {
    let started = Instant::now();
    let ocr_before = engine.ocr_counts.read();
    let settings = engine.settings();
    let folders = engine.folders()?;
    engine.emit(IndexEvent::SyncStarted { folders: folders.len() });

    let mut present = Vec::new();
    let mut missing = Vec::new();
    for f in &folders {
        if f.paused {
            // Neither walked nor watched; its files are kept, like a missing folder's.
            missing.push(f.path.clone());
        } else if f.path.is_dir() {
            present.push(f.path.clone());
        } else {
            engine.emit(IndexEvent::FolderMissing { path: f.path.display().to_string() });
            missing.push(f.path.clone());
        }
    }
    let walk = {
        let settings = settings.clone();
        let present = present.clone();
        tokio::task::spawn_blocking(move || walk(&present, &settings)).await.map_err(|e| EngineError::Internal(e.to_string()))?
    };

    // A brand-new index with nothing to index must not need a model: only open the store when
    // there is one already or there are files for it.
    if !engine.has_index() && walk.files.is_empty() && walk.failures.is_empty() {
        let summary = SyncSummary { elapsed_ms: started.elapsed().as_millis() as u64, ..Default::default() };
        engine.emit(IndexEvent::Idle(summary.clone()));
        return Ok(summary);
    }
    // Become the writer only now: whatever another process wrote is in the tables the plan reads,
    // and what a crash left half-written is repaired (its files come back as pending).
    let (writer, recovery) = engine.writer(lock).await?;
    let mut existing: HashMap<String, DocumentRecord> = recovery.documents.into_iter().map(|d| (d.path.clone(), d)).collect();
    // An index of an older chunk format: every file is redone (vectors reused where the
    // embedded text is unchanged).
    let outdated = engine.meta()?.is_some_and(|m| m.format < crate::resources::INDEX_FORMAT);
    if outdated {
        for d in existing.values_mut() {
            if d.status == DocStatus::Indexed {
                d.status = DocStatus::Pending;
            }
        }
    }
    let plan = plan(&walk, &existing, &missing);
    crash_point("engine:sync-planned");
    let mut summary = SyncSummary { files: walk.files.len() + walk.failures.len(), unchanged: plan.unchanged, ..Default::default() };
    engine.emit(IndexEvent::Scanned { files: summary.files, queued: plan.queue.len() + plan.failures.len(), removed: plan.removed.len() });
    for f in &plan.queue {
        engine.emit(IndexEvent::FileQueued { path: f.path.display().to_string() });
    }

    if !plan.failures.is_empty() {
        let documents = plan
            .failures
            .iter()
            .map(|f| {
                let record = failed_record(
                    &f.path.display().to_string(),
                    &f.folder.display().to_string(),
                    None,
                    f.size,
                    f.mtime_ns,
                    f.error.clone(),
                );
                DocumentWrite { record, chunks: Some(Vec::new()) }
            })
            .collect();
        writer.write(WriteBatch { documents, removed: Vec::new() }).await?;
        crash_point("engine:failures-written");
        for f in &plan.failures {
            engine.emit(IndexEvent::FileFailed { path: f.path.display().to_string(), error: f.error.clone() });
        }
        summary.failed += plan.failures.len();
    }

    // New and changed files go first and removals after, so that a renamed or moved file finds
    // the vectors of its old path still there to reuse.
    let queue = plan.queue;
    let total = queue.len();
    let writer = if total > 0 {
        let stages = engine.stages().await?;
        let writer = Arc::new(writer);
        let work: Vec<Work> = queue
            .into_iter()
            .map(|f| {
                let previous = existing.get(&f.path.display().to_string()).cloned();
                Work::File { path: f.path, folder: f.folder, size: f.size, mtime_ns: f.mtime_ns, previous }
            })
            .collect();
        let mut done = 0;
        pipeline::run(
            &stages,
            &writer,
            pipeline::batches(work),
            cancel,
            |batch| {
                for w in batch {
                    engine.emit(IndexEvent::FileIndexing { path: w.path() });
                }
            },
            |events, stats| {
                summary.indexed += stats.indexed;
                summary.failed += stats.failed;
                summary.chunks += stats.chunks;
                summary.embedded += stats.embedded;
                summary.stages.parse_wait_ms += stats.parse_wait_ms;
                summary.stages.embed_ms += stats.embed_ms;
                summary.stages.write_wait_ms += stats.write_wait_ms;
                for e in events {
                    engine.emit(e);
                }
                done += stats.files;
                engine.emit(IndexEvent::Progress { done, total });
            },
        )
        .await?;
        Arc::into_inner(writer).expect("the pipeline's writes have finished")
    } else {
        writer
    };
    crash_point("engine:queue-written");
    if !plan.removed.is_empty() && !cancel.load(Ordering::Relaxed) {
        writer.write(WriteBatch { documents: Vec::new(), removed: plan.removed.clone() }).await?;
        crash_point("engine:removals-written");
        for path in &plan.removed {
            engine.emit(IndexEvent::FileRemoved { path: path.clone() });
        }
        summary.removed = plan.removed.len();
    }
    // Chunks a crash left without their document. Removed last: until now they were a cache
    // the queue could take vectors from. A cancelled sync leaves them for the next one.
    let mut orphans = 0;
    if !cancel.load(Ordering::Relaxed) {
        orphans = writer.remove_orphan_chunks(&recovery.orphans).await?;
        crash_point("engine:orphans-removed");
        if orphans > 0 {
            tracing::info!(orphans, "removed chunks left by an interrupted sync");
        }
    }
    if summary.indexed + summary.removed + summary.failed + orphans > 0 {
        let indexing = Instant::now();
        writer.maintain().await?;
        summary.stages.maintain_ms = indexing.elapsed().as_millis() as u64;
    }
    if outdated && !cancel.load(Ordering::Relaxed) {
        engine.mark_index_format_current()?;
    }
    drop(writer);
    let ocr_after = engine.ocr_counts.read();
    summary.ocr_pages = ocr_after.0 - ocr_before.0;
    summary.ocr_ms = ocr_after.1 - ocr_before.1;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    engine.emit(IndexEvent::Idle(summary.clone()));
    if cancel.load(Ordering::Relaxed) {
        return Err(EngineError::Cancelled);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_reports_loops_large_files_and_skips_hidden_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("a.md"), "# A\nalpha").unwrap();
        std::fs::write(root.join(".hidden.md"), "secret").unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join("ignored.txt"), "nope").unwrap();
        std::fs::write(root.join("song.mp3"), [0u8; 10]).unwrap();
        std::fs::write(root.join("big.txt"), vec![b'x'; 2048]).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("missing"), root.join("dangling.md")).unwrap();
        let settings = Settings { max_file_size: 1024, ..Settings::default() };
        let walk = walk(std::slice::from_ref(&root), &settings);
        let files: Vec<String> = walk.files.iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(files, vec!["a.md"]);
        let mut failures: Vec<(String, String)> =
            walk.failures.iter().map(|f| (f.path.strip_prefix(&root).unwrap().display().to_string(), f.error.clone())).collect();
        failures.sort();
        assert_eq!(failures.len(), 3, "{failures:?}");
        assert!(failures[0].0 == "big.txt" && failures[0].1.starts_with("too large: 2.0 KB"), "{failures:?}");
        assert!(failures[1].0 == "dangling.md" && failures[1].1.starts_with("broken symlink"), "{failures:?}");
        assert!(failures[2].0 == "sub/loop" && failures[2].1.starts_with("symlink loop"), "{failures:?}");
    }
}
