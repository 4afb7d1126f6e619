//! What the engine loads on first need and keeps: the store, the embedder, the chunker, the
//! LLM, the index lock. Each slot is filled on first use and emptied when settings or a rebuild
//! invalidate it; the async mutex makes concurrent first uses load once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use brain_chunk::{Chunker, ChunkerConfig};
use brain_embed::{Embedder, EmbedderFiles, EmbedderOptions};
use brain_llm::{Llm, LlmConfig};
use brain_store::{IndexLock, LockHolder, Recovery, Store, StoreWriter};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::events::IndexEvent;
use crate::ocr::OcrConfig;
use crate::pipeline::{ParseBudget, Pipeline};
use crate::{Engine, fsutil, models};

pub(crate) const META_FILE: &str = "index.json";
pub(crate) const LANCE_DIR: &str = "lancedb";
/// The index's writer lock (see [`brain_store::IndexLock`]), beside the index so that a rebuild,
/// which deletes the index, holds it too.
pub(crate) const LOCK_FILE: &str = "index.lock";
/// Pages read by OCR, cached by their pixels (see [`crate::ocr`]).
pub(crate) const OCR_CACHE_DIR: &str = "ocr-cache";

/// Pages read by OCR and the time it took, since the engine opened.
#[derive(Debug, Default)]
pub(crate) struct OcrCounts {
    pages: std::sync::atomic::AtomicUsize,
    ms: std::sync::atomic::AtomicU64,
}

impl OcrCounts {
    fn add(&self, ms: u64) {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.ms.fetch_add(ms, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> (usize, u64) {
        (self.pages.load(Ordering::Relaxed), self.ms.load(Ordering::Relaxed))
    }
}

/// What the index was built with; a different embedder means the vectors do not compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexMeta {
    pub embedder: String,
    pub dimension: usize,
    /// When this index was created: another process's rebuild makes a new one, and an open
    /// store of the old one is re-opened.
    #[serde(default)]
    pub created_ms: i64,
    /// The embedding model directory it was built from (absent in indexes made before it was
    /// recorded).
    #[serde(default)]
    pub embedder_path: Option<std::path::PathBuf>,
    /// How chunks are made (see [`INDEX_FORMAT`]); 1 for indexes from before it was recorded.
    #[serde(default = "first_format")]
    pub format: u32,
}

/// The version of what the index holds for a file. 2: chunks carry their document's identity
/// (file name, place, headings) and Markdown tables their header. 3: every indexed file has its
/// identity text in the `identities` table (`pipeline/identity.rs`), which the retrieval stage
/// `retrieval/documents.rs` searches. An index of an older format is redone by the next sync:
/// every file parsed again, every vector whose embedded text did not change reused (for format
/// 3, all of them: chunks are made as in 2).
pub(crate) const INDEX_FORMAT: u32 = 3;

fn first_format() -> u32 {
    1
}

/// The open store and the index it belongs to.
pub(crate) struct OpenStore {
    pub store: Store,
    pub created_ms: i64,
}

impl Engine {
    pub(crate) async fn meta(&self) -> Result<Option<IndexMeta>> {
        self.home.meta(&self.options.data_dir).await
    }

    /// The store. Opening an existing index needs no model; creating one loads the embedder to
    /// learn the vector size.
    pub(crate) async fn store(&self) -> Result<Store> {
        let mut slot = self.store.lock().await;
        let meta = match self.meta().await? {
            Some(meta) => meta,
            None => {
                let embedder = self.load_embedder().await?;
                let meta = IndexMeta {
                    embedder: embedder.identity().to_string(),
                    dimension: embedder.dimension(),
                    created_ms: fsutil::now_ms(),
                    embedder_path: Some(self.model_paths().embedder),
                    format: INDEX_FORMAT,
                };
                self.home.write_meta(&self.options.data_dir, &meta).await?;
                meta
            }
        };
        if let Some(open) = slot.as_ref().filter(|o| o.created_ms == meta.created_ms) {
            return Ok(open.store.clone());
        }
        let store = self.home.open_store(&self.options.data_dir, meta.dimension).await?;
        *slot = Some(OpenStore { store: store.clone(), created_ms: meta.created_ms });
        Ok(store)
    }

    /// Record that the index now holds chunks of the current format (after a complete sync).
    pub(crate) async fn mark_index_format_current(&self) -> Result<()> {
        let Some(mut meta) = self.meta().await? else { return Ok(()) };
        if meta.format == INDEX_FORMAT {
            return Ok(());
        }
        meta.format = INDEX_FORMAT;
        self.home.write_meta(&self.options.data_dir, &meta).await
    }

    pub(crate) async fn forget_store(&self) {
        *self.store.lock().await = None;
    }

    /// The embedder of the settings, loaded on first use (blocking work runs off the async
    /// threads).
    pub(crate) async fn load_embedder(&self) -> Result<Arc<Embedder>> {
        let mut slot = self.embedder.lock().await;
        if let Some(e) = slot.as_ref() {
            return Ok(Arc::clone(e));
        }
        let embedder = self.load_embedder_at(self.model_paths().embedder).await?;
        *slot = Some(Arc::clone(&embedder));
        Ok(embedder)
    }

    async fn load_embedder_at(&self, model: std::path::PathBuf) -> Result<Arc<Embedder>> {
        let onnxruntime = self.model_paths().onnxruntime;
        let models_dir = self.options.models_dir.clone();
        let threads = self.settings().threads();
        tokio::task::spawn_blocking(move || -> Result<Arc<Embedder>> {
            models::verify_if_pinned(&models_dir, &onnxruntime)?;
            models::verify_if_pinned(&models_dir, &model)?;
            let files = EmbedderFiles { model_dir: model, onnxruntime };
            let options = EmbedderOptions { threads, ..EmbedderOptions::default() };
            Ok(Arc::new(Embedder::load(&files, options)?))
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
    }

    /// The embedder to search the index with: the settings' one, or while the index is still
    /// the one built with another (the next sync builds it again), that other one.
    pub(crate) async fn search_embedder(&self) -> Result<Arc<Embedder>> {
        let current = self.model_paths().embedder;
        let Some((meta, path)) =
            self.meta().await?.and_then(|m| m.embedder_path.clone().filter(|p| *p != current && p.exists()).map(|p| (m, p)))
        else {
            return self.index_embedder().await;
        };
        let mut slot = self.built_with.lock().await;
        // The one kept is reused while it is still the index's (another process may have moved a
        // new index into place since).
        let embedder = match slot.as_ref().filter(|e| e.identity() == meta.embedder) {
            Some(e) => Arc::clone(e),
            None => self.load_embedder_at(path).await?,
        };
        if meta.embedder != embedder.identity() {
            return Err(EngineError::EmbedderChanged { built_with: meta.embedder, current: embedder.identity().to_string() });
        }
        *slot = Some(Arc::clone(&embedder));
        Ok(embedder)
    }

    /// The embedder, checked to be the one the index was built with.
    pub(crate) async fn index_embedder(&self) -> Result<Arc<Embedder>> {
        let embedder = self.load_embedder().await?;
        self.store().await?;
        if let Some(meta) = self.meta().await?
            && meta.embedder != embedder.identity()
        {
            return Err(EngineError::EmbedderChanged { built_with: meta.embedder, current: embedder.identity().to_string() });
        }
        Ok(embedder)
    }

    pub(crate) async fn chunker(&self) -> Result<Arc<Chunker>> {
        let embedder = self.load_embedder().await?;
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
    pub(crate) async fn load_llm(&self) -> Result<Arc<Llm>> {
        let mut slot = self.llm.lock().await;
        if let Some(l) = slot.as_ref() {
            return Ok(Arc::clone(l));
        }
        let s = self.settings();
        let paths = self.model_paths();
        let models_dir = self.options.models_dir.clone();
        let lora = s.llm_lora.clone().map(|path| brain_llm::LoraConfig { path, scale: s.llm_lora_scale });
        let more_loras = s.folder_loras.iter().map(|f| f.lora.clone()).collect();
        let config = LlmConfig {
            model_path: paths.llm.clone(),
            context_size: s.context_size,
            gpu_layers: s.gpu_layers,
            threads: s.threads(),
            lora,
            more_loras,
        };
        let llm = tokio::task::spawn_blocking(move || -> Result<Arc<Llm>> {
            models::verify_if_pinned(&models_dir, &paths.llm)?;
            let llm = Llm::load(&config)?;
            // The system prompt's state, computed once: every question starts after it.
            // (A template that rewrites the system prompt gives no start to compute: skipped.)
            match crate::answer::prompt::prompt_start(&llm).map(|start| (!start.is_empty()).then(|| llm.prime(&start))) {
                Ok(Some(Ok(stats))) => {
                    tracing::debug!(tokens = stats.prompt_tokens, ms = stats.total.as_millis() as u64, "system prompt computed")
                }
                Ok(Some(Err(e))) => tracing::warn!("could not compute the system prompt ahead: {e}"),
                Ok(None) => {}
                Err(e) => tracing::warn!("could not compute the system prompt ahead: {e}"),
            }
            Ok(Arc::new(llm))
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))??;
        *slot = Some(Arc::clone(&llm));
        Ok(llm)
    }

    /// The indexing pipeline for the user's index, with the settings of now.
    pub(crate) async fn pipeline(&self) -> Result<Pipeline> {
        let embedder = self.index_embedder().await?;
        self.pipeline_with(embedder).await
    }

    /// The indexing pipeline for a corpus of its own (no check against the user's index).
    pub(crate) async fn pipeline_for_corpus(&self) -> Result<Pipeline> {
        let embedder = self.load_embedder().await?;
        self.pipeline_with(embedder).await
    }

    async fn pipeline_with(&self, embedder: Arc<Embedder>) -> Result<Pipeline> {
        let chunker = self.chunker().await?;
        let s = self.settings();
        let events = self.events.clone();
        let ocr_counts = Arc::clone(&self.ocr_counts);
        let (timeout, memory_mb) = parse_limits(&s);
        let budget = ParseBudget {
            timeout,
            memory_mb,
            parsers: Arc::clone(&self.parsers),
            ocr: self.ocr_config(&s),
            on_ocr_page: Arc::new(move |path: &str, page: crate::ocr::PageRead| {
                if !page.cached {
                    ocr_counts.add(page.ms);
                }
                let _ = events.send(IndexEvent::OcrPage { path: path.to_string(), done: page.done, pages: page.pages });
            }),
        };
        Ok(Pipeline { embedder, chunker, budget, pause: crate::yielding::Yield::new(&self.options.data_dir) })
    }

    /// OCR as indexing does it: the settings' languages, pages read once and cached.
    fn ocr_config(&self, s: &crate::Settings) -> OcrConfig {
        OcrConfig { cache_dir: Some(self.options.data_dir.join(OCR_CACHE_DIR)), languages: crate::ocr::languages(&s.ocr_languages) }
    }

    /// The sheets of a spreadsheet or CSV as tables, parsed again from the file in a parse worker
    /// under the indexing budget (for a question answered by a query over a sheet, a sheet shown).
    pub(crate) async fn sheet_tables(&self, path: &std::path::Path) -> std::result::Result<Vec<brain_parse::Table>, String> {
        self.parse_again(path, true).await.map(|doc| doc.tables)
    }

    /// The file parsed again as indexing parses it (in a parse worker, under its time and memory
    /// budget; scanned pages from the OCR cache), for the viewer.
    pub(crate) async fn parsed_again(&self, path: &std::path::Path) -> std::result::Result<brain_parse::ParsedDocument, String> {
        self.parse_again(path, false).await
    }

    async fn parse_again(&self, path: &std::path::Path, keep_tables: bool) -> std::result::Result<brain_parse::ParsedDocument, String> {
        let s = self.settings();
        let (timeout, memory_mb) = parse_limits(&s);
        let ocr = self.ocr_config(&s);
        let parsers = Arc::clone(&self.parsers);
        let path = path.to_path_buf();
        crate::blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            match keep_tables {
                true => parsers.parse_keeping_tables(&path, bytes, timeout, memory_mb),
                false => parsers.parse(&path, bytes, timeout, memory_mb, &ocr, &mut |_| {}),
            }
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Announce an answer being generated: indexing in every process on this data dir pauses
    /// until the guard is dropped (see [`crate::yielding`]).
    pub(crate) fn answering_now(&self) -> Result<crate::yielding::Answering> {
        crate::yielding::begin(&self.options.data_dir)
    }

    /// Become the index's one writer: wait while another process writes (a
    /// [`IndexEvent::WaitingForIndex`] says who), stop waiting when `cancel` is set.
    pub(crate) async fn lock_index(&self, cancel: &AtomicBool) -> Result<IndexLock> {
        if self.home.is_copy() {
            return Err(brain_store::StoreError::ReadOnlyCopy.into());
        }
        let path = self.options.data_dir.join(LOCK_FILE);
        let lock = IndexLock::acquire(
            &path,
            |holder| self.emit(IndexEvent::WaitingForIndex { holder: holder.map(|h| h.to_string()) }),
            || cancel.load(Ordering::Relaxed),
        )
        .await?;
        // A shared index: also the one writer among the machines that index it (`lease.rs`).
        let Some(bucket) = self.home.bucket() else { return Ok(lock) };
        let lease = brain_store::WriterLease::acquire(
            bucket,
            |holder| self.emit(IndexEvent::WaitingForIndex { holder: Some(holder.to_string()) }),
            || cancel.load(Ordering::Relaxed),
        )
        .await?;
        Ok(lock.with_lease(lease))
    }

    /// The index lock shared with other readers, or who writes (see [`IndexLock::try_shared`]).
    pub(crate) fn lock_index_shared(&self) -> Result<std::result::Result<IndexLock, Option<LockHolder>>> {
        Ok(IndexLock::try_shared(&self.options.data_dir.join(LOCK_FILE))?)
    }

    /// The store's writer, under `lock`, with what it repaired on the way in.
    pub(crate) async fn writer(&self, lock: IndexLock) -> Result<(StoreWriter, Recovery)> {
        let store = self.store().await?;
        let (writer, recovery) = store.writer(lock).await?;
        if !recovery.repaired.is_empty() {
            let violations = recovery.report.as_ref().map_or(0, |r| r.violations.len());
            let r = &recovery.repaired;
            self.emit(IndexEvent::IndexRepaired {
                violations,
                duplicate_documents_removed: r.duplicate_documents_removed,
                duplicate_chunks_removed: r.duplicate_chunks_removed,
                documents_to_redo: r.documents_to_redo,
            });
        }
        Ok((writer, recovery))
    }
}

/// The time (between two signs of progress) and memory a parse worker gets for one file.
fn parse_limits(s: &crate::Settings) -> (Duration, u64) {
    (Duration::from_secs(s.parse_timeout_secs.max(1)), s.parse_memory_mb.max(64))
}
