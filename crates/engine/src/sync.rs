//! One sync: walk the registered folders, compare with the index, process the difference.
//!
//! The walk and the comparison are cheap (metadata only: size and mtime, then the content hash
//! when those differ). Files to process go through in batches: parsed and chunked on scoped
//! worker threads, embedded (reusing stored vectors of unchanged chunks), then written to the
//! store in one commit per batch while the next batch is being prepared.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use brain_chunk::Chunker;
use brain_embed::Embedder;
use brain_store::crash::crash_point;
use brain_store::{ChunkRecord, DocStatus, DocumentRecord, DocumentWrite, IndexLock, StoreWriter, WriteBatch};

use crate::error::{EngineError, Result};
use crate::events::{IndexEvent, SyncSummary};
use crate::isolation::{self, ParserPool};
use crate::fsutil;
use crate::settings::Settings;
use crate::Engine;

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

/// Extensions that are never documents: skipped silently, like ignored files, rather than
/// reported as failures by the hundred in a folder of photos.
const NOT_DOCUMENTS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "ico", "icns", "heic", "svgz", "psd", "raw", "cr2",
    "nef", "mp3", "wav", "flac", "ogg", "m4a", "aac", "wma", "mp4", "mkv", "mov", "avi", "wmv", "webm", "m4v",
    "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "zst", "tar", "iso", "dmg", "exe", "dll", "so", "dylib", "o",
    "a", "lib", "class", "jar", "pyc", "wasm", "ttf", "otf", "woff", "woff2", "eot", "db", "sqlite", "sqlite3",
    "lance", "onnx", "gguf", "safetensors", "bin.gz", "lock", "ds_store", "swp", "tmp", "part", "crdownload",
];

fn is_not_a_document(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| NOT_DOCUMENTS.contains(&e.to_ascii_lowercase().as_str()))
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
                    if let Some(f) = walk_failure(folder, &err) {
                        if seen.insert(f.path.clone()) {
                            out.failures.push(f);
                        }
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
                    out.failures.push(WalkFailure { path, folder: folder.clone(), error: format!("cannot read: {e}"), size: 0, mtime_ns: 0 });
                    continue;
                }
            };
            let (size, mtime_ns) = (meta.len(), fsutil::mtime_ns(&meta));
            if size > settings.max_file_size {
                out.failures.push(WalkFailure {
                    path,
                    folder: folder.clone(),
                    error: format!("too large: {} (the limit is {}; raise max_file_size to index it)", human_bytes(size), human_bytes(settings.max_file_size)),
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
            Some(d) if d.status == DocStatus::Failed && d.error.as_deref() == Some(f.error.as_str()) && d.size == f.size => plan.unchanged += 1,
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

/// The result of preparing one file.
enum Prepared {
    /// Same content as indexed: only size/mtime change.
    Touch(DocumentRecord),
    /// Parsed and chunked; vectors still to come.
    Chunks { record: DocumentRecord, chunks: Vec<brain_chunk::Chunk> },
    Failed(DocumentRecord),
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
        tokio::task::spawn_blocking(move || walk(&present, &settings))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?
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
    let existing: HashMap<String, DocumentRecord> = recovery.documents.into_iter().map(|d| (d.path.clone(), d)).collect();
    let plan = plan(&walk, &existing, &missing);
    crash_point("engine:sync-planned");
    let mut summary = SyncSummary { files: walk.files.len() + walk.failures.len(), unchanged: plan.unchanged, ..Default::default() };
    engine.emit(IndexEvent::Scanned {
        files: summary.files,
        queued: plan.queue.len() + plan.failures.len(),
        removed: plan.removed.len(),
    });
    for f in &plan.queue {
        engine.emit(IndexEvent::FileQueued { path: f.path.display().to_string() });
    }

    if !plan.failures.is_empty() {
        let documents = plan
            .failures
            .iter()
            .map(|f| DocumentWrite { record: failed_record(&f.path, &f.folder, None, f.size, f.mtime_ns, f.error.clone()), chunks: Some(Vec::new()) })
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
        let embedder = engine.index_embedder().await?;
        let chunker = engine.chunker().await?;
        let writer = Arc::new(writer);
        process_queue(engine, &writer, &embedder, &chunker, &settings, queue, &existing, cancel, &mut summary).await?;
        Arc::into_inner(writer).expect("the queue's writes have finished")
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
        writer.maintain().await?;
    }
    drop(writer);
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    engine.emit(IndexEvent::Idle(summary.clone()));
    if cancel.load(Ordering::Relaxed) {
        return Err(EngineError::Cancelled);
    }
    Ok(summary)
}

/// Most files and bytes prepared at once: bounds memory on a burst of huge files.
const BATCH_FILES: usize = 32;

/// Files per batch: [`BATCH_FILES`], or fewer for the crash tests (`BRAIN_TEST_BATCH_FILES`),
/// which need many commits in a small corpus.
fn batch_files() -> usize {
    static FILES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *FILES.get_or_init(|| std::env::var("BRAIN_TEST_BATCH_FILES").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(BATCH_FILES))
}
const BATCH_BYTES: u64 = 24 * 1024 * 1024;

#[allow(clippy::too_many_arguments)]
async fn process_queue(
    engine: &Engine,
    writer: &Arc<StoreWriter>,
    embedder: &Arc<Embedder>,
    chunker: &Arc<Chunker>,
    settings: &Settings,
    queue: Vec<DiskFile>,
    existing: &HashMap<String, DocumentRecord>,
    cancel: &AtomicBool,
    summary: &mut SyncSummary,
) -> Result<()> {
    let total = queue.len();
    let mut done = 0usize;
    let batches = batches(queue);
    let mut pending_write: Option<(tokio::task::JoinHandle<Result<()>>, Vec<IndexEvent>)> = None;
    for batch in batches {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        for f in &batch {
            engine.emit(IndexEvent::FileIndexing { path: f.path.display().to_string() });
        }
        let previous: Vec<Option<DocumentRecord>> = batch.iter().map(|f| existing.get(&f.path.display().to_string()).cloned()).collect();
        let prepared = {
            let chunker = Arc::clone(chunker);
            let budget = ParseBudget {
                timeout: Duration::from_secs(settings.parse_timeout_secs.max(1)),
                memory_mb: settings.parse_memory_mb.max(64),
                parsers: Arc::clone(&engine.parsers),
            };
            let batch = batch.clone();
            tokio::task::spawn_blocking(move || prepare_batch(&batch, &previous, &chunker, &budget))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?
        };
        // Vectors of chunks we already have: unchanged text in an edited file, a renamed or
        // copied file, or what a killed sync stored before it died.
        let hashes: Vec<String> = prepared
            .iter()
            .flat_map(|p| match p {
                Prepared::Chunks { chunks, .. } => chunks.iter().map(|c| c.hash.clone()).collect(),
                _ => Vec::new(),
            })
            .collect();
        crash_point("engine:batch-prepared");
        let mut known = writer.store().vectors_by_chunk_hash(&hashes).await?;
        let (writes, events, stats) = {
            let embedder = Arc::clone(embedder);
            let known = std::mem::take(&mut known);
            tokio::task::spawn_blocking(move || embed_batch(prepared, known, &embedder))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))??
        };
        summary.indexed += stats.indexed;
        summary.failed += stats.failed;
        summary.chunks += stats.chunks;
        summary.embedded += stats.embedded;

        // Commit the previous batch's write before queuing this one: one write in flight.
        if let Some((handle, events)) = pending_write.take() {
            handle.await.map_err(|e| EngineError::Internal(e.to_string()))??;
            done += publish(engine, events, done, total);
        }
        let writer = Arc::clone(writer);
        let handle = tokio::spawn(async move { Ok(writer.write(WriteBatch { documents: writes, removed: Vec::new() }).await?) });
        pending_write = Some((handle, events));
    }
    if let Some((handle, events)) = pending_write.take() {
        handle.await.map_err(|e| EngineError::Internal(e.to_string()))??;
        publish(engine, events, done, total);
    }
    Ok(())
}

/// Send a committed batch's events; returns how many files it held.
fn publish(engine: &Engine, events: Vec<IndexEvent>, done: usize, total: usize) -> usize {
    let n = events.len();
    for e in events {
        engine.emit(e);
    }
    engine.emit(IndexEvent::Progress { done: done + n, total });
    n
}

fn batches(queue: Vec<DiskFile>) -> Vec<Vec<DiskFile>> {
    let mut out: Vec<Vec<DiskFile>> = Vec::new();
    let mut bytes = 0u64;
    for f in queue {
        let full = out.last().is_none_or(|b| b.len() >= batch_files() || bytes + f.size > BATCH_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += f.size;
        out.last_mut().expect("pushed above").push(f);
    }
    out
}

/// Parse and chunk a batch on as many threads as there are cores.
/// Time and memory a file may take to parse, and the worker processes that enforce them.
struct ParseBudget {
    timeout: Duration,
    memory_mb: u64,
    parsers: Arc<ParserPool>,
}

fn prepare_batch(batch: &[DiskFile], previous: &[Option<DocumentRecord>], chunker: &Arc<Chunker>, budget: &ParseBudget) -> Vec<Prepared> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(batch.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Prepared>>> = batch.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= batch.len() {
                        break;
                    }
                    let prepared = prepare_file(&batch[i], previous[i].as_ref(), chunker, budget);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(prepared);
                }
            });
        }
    });
    results.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every file prepared")).collect()
}

fn failed_record(path: &Path, folder: &Path, hash: Option<String>, size: u64, mtime_ns: i64, error: String) -> DocumentRecord {
    DocumentRecord {
        path: path.display().to_string(),
        folder: folder.display().to_string(),
        hash,
        size,
        mtime_ns,
        status: DocStatus::Failed,
        error: Some(error),
        format: None,
        chunks: 0,
        updated_ms: fsutil::now_ms(),
    }
}

fn prepare_file(file: &DiskFile, previous: Option<&DocumentRecord>, chunker: &Arc<Chunker>, budget: &ParseBudget) -> Prepared {
    let fail = |hash: Option<String>, error: String| Prepared::Failed(failed_record(&file.path, &file.folder, hash, file.size, file.mtime_ns, error));
    let bytes = match std::fs::read(&file.path) {
        Ok(b) => b,
        Err(e) => return fail(None, format!("cannot read: {e}")),
    };
    let hash = blake3::hash(&bytes).to_hex().to_string();
    // The file may have changed since the walk; record what was actually read.
    let size = bytes.len() as u64;
    if let Some(prev) = previous {
        if prev.status == DocStatus::Indexed && prev.hash.as_deref() == Some(hash.as_str()) {
            let mut record = prev.clone();
            record.size = size;
            record.mtime_ns = file.mtime_ns;
            record.updated_ms = fsutil::now_ms();
            return Prepared::Touch(record);
        }
    }
    let parsed = if isolation::enabled() {
        budget.parsers.parse(&file.path, budget.timeout, budget.memory_mb).and_then(|doc| chunk_guarded(chunker, doc))
    } else {
        parse_on_thread(&file.path, bytes, Arc::clone(chunker), budget.timeout)
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(reason) => return fail(Some(hash), reason),
    };
    let (doc, chunks) = parsed;
    if chunks.is_empty() {
        return fail(Some(hash), "no text to index".into());
    }
    let record = DocumentRecord {
        path: file.path.display().to_string(),
        folder: file.folder.display().to_string(),
        hash: Some(hash),
        size,
        mtime_ns: file.mtime_ns,
        status: DocStatus::Indexed,
        error: (!doc.warnings.is_empty()).then(|| doc.warnings.join("; ")),
        format: Some(doc.format.as_str().to_string()),
        chunks: chunks.len() as u32,
        updated_ms: fsutil::now_ms(),
    };
    Prepared::Chunks { record, chunks }
}

/// Chunk a parsed document; a panic in the splitter fails this file only.
fn chunk_guarded(chunker: &Chunker, doc: brain_parse::ParsedDocument) -> Result<(brain_parse::ParsedDocument, Vec<brain_chunk::Chunk>), String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chunker.chunk(&doc))) {
        Ok(chunks) => Ok((doc, chunks)),
        Err(panic) => Err(format!("the chunker crashed: {}", brain_parse::panic_detail(&panic))),
    }
}

/// Without worker processes (a front end that does not support them): parse and chunk on a
/// thread of its own, so that a panic is caught and a parser that runs away is abandoned after
/// `timeout` (recorded as failed; the thread finishes on its own).
fn parse_on_thread(
    path: &Path,
    bytes: Vec<u8>,
    chunker: Arc<Chunker>,
    timeout: Duration,
) -> Result<(brain_parse::ParsedDocument, Vec<brain_chunk::Chunk>), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path_owned = path.to_path_buf();
    std::thread::Builder::new()
        .name("parse".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let doc = brain_parse::parse(&path_owned, &bytes).map_err(|e| e.to_string())?;
                let chunks = chunker.chunk(&doc);
                Ok::<_, String>((doc, chunks))
            }));
            let _ = tx.send(result.unwrap_or_else(|panic| Err(format!("the parser crashed: {}", brain_parse::panic_detail(&panic)))));
        })
        .map_err(|e| format!("cannot start a parser thread: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(format!("took longer than {} s to parse; skipped (raise parse_timeout_secs to allow more)", timeout.as_secs())),
    }
}


#[derive(Default)]
struct BatchStats {
    indexed: usize,
    failed: usize,
    chunks: usize,
    embedded: usize,
}

/// Embed the chunks of a prepared batch (reusing `known` vectors) and build the writes and the
/// events to publish once they are committed.
fn embed_batch(
    prepared: Vec<Prepared>,
    known: HashMap<String, Vec<f32>>,
    embedder: &Embedder,
) -> Result<(Vec<DocumentWrite>, Vec<IndexEvent>, BatchStats)> {
    let mut to_embed: Vec<String> = Vec::new();
    let mut to_embed_hashes: Vec<String> = Vec::new();
    for p in &prepared {
        if let Prepared::Chunks { chunks, .. } = p {
            for c in chunks {
                if !known.contains_key(&c.hash) && !to_embed_hashes.contains(&c.hash) {
                    to_embed.push(c.embedding_text());
                    to_embed_hashes.push(c.hash.clone());
                }
            }
        }
    }
    let vectors = embedder.embed(&to_embed)?;
    let embedded = vectors.len();
    let mut by_hash = known;
    by_hash.extend(to_embed_hashes.into_iter().zip(vectors));

    let mut writes = Vec::with_capacity(prepared.len());
    let mut events = Vec::with_capacity(prepared.len());
    let mut stats = BatchStats { embedded, ..BatchStats::default() };
    for p in prepared {
        match p {
            Prepared::Touch(record) => {
                events.push(IndexEvent::FileIndexed { path: record.path.clone(), chunks: record.chunks as usize });
                stats.indexed += 1;
                writes.push(DocumentWrite { record, chunks: None });
            }
            Prepared::Failed(record) => {
                events.push(IndexEvent::FileFailed { path: record.path.clone(), error: record.error.clone().unwrap_or_default() });
                stats.failed += 1;
                writes.push(DocumentWrite { record, chunks: Some(Vec::new()) });
            }
            Prepared::Chunks { record, chunks } => {
                let doc_hash = record.hash.clone().unwrap_or_default();
                let records: Vec<ChunkRecord> = chunks
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| ChunkRecord {
                        id: format!("{}#{i}", record.path),
                        path: record.path.clone(),
                        doc_hash: doc_hash.clone(),
                        ordinal: i as u32,
                        location: serde_json::to_string(&c.location).unwrap_or_else(|_| "{}".into()),
                        vector: by_hash.get(&c.hash).cloned().unwrap_or_default(),
                        chunk_hash: c.hash,
                        text: c.text,
                        context: c.context,
                    })
                    .collect();
                stats.indexed += 1;
                stats.chunks += records.len();
                events.push(IndexEvent::FileIndexed { path: record.path.clone(), chunks: records.len() });
                writes.push(DocumentWrite { record, chunks: Some(records) });
            }
        }
    }
    Ok((writes, events, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_by_files_and_bytes() {
        let file = |size| DiskFile { path: "/x".into(), folder: "/".into(), size, mtime_ns: 0 };
        let queue: Vec<DiskFile> = (0..70).map(|_| file(10)).collect();
        let sizes: Vec<usize> = batches(queue).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![32, 32, 6]);
        let big = vec![file(BATCH_BYTES - 1), file(10), file(BATCH_BYTES)];
        assert_eq!(batches(big).iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 1, 1]);
    }

    #[test]
    fn walk_reports_loops_large_files_and_skips_hidden_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("a.md"), "# A\nalpha").unwrap();
        std::fs::write(root.join(".hidden.md"), "secret").unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join("ignored.txt"), "nope").unwrap();
        std::fs::write(root.join("photo.png"), [0u8; 10]).unwrap();
        std::fs::write(root.join("big.txt"), vec![b'x'; 2048]).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("missing"), root.join("dangling.md")).unwrap();
        let settings = Settings { max_file_size: 1024, ..Settings::default() };
        let walk = walk(&[root.clone()], &settings);
        let files: Vec<String> = walk.files.iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(files, vec!["a.md"]);
        let mut failures: Vec<(String, String)> = walk
            .failures
            .iter()
            .map(|f| (f.path.strip_prefix(&root).unwrap().display().to_string(), f.error.clone()))
            .collect();
        failures.sort();
        assert_eq!(failures.len(), 3, "{failures:?}");
        assert!(failures[0].0 == "big.txt" && failures[0].1.starts_with("too large: 2.0 KB"), "{failures:?}");
        assert!(failures[1].0 == "dangling.md" && failures[1].1.starts_with("broken symlink"), "{failures:?}");
        assert!(failures[2].0 == "sub/loop" && failures[2].1.starts_with("symlink loop"), "{failures:?}");
    }
}
