//! Stage 1, prepare: read a file, parse it (in a worker process, under a time and memory budget)
//! and cut it into chunks. Plain blocking work on as many threads as there are cores.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use brain_chunk::{Chunk, Chunker};
use brain_parse::ParsedDocument;
use brain_store::{DocStatus, DocumentRecord};

use super::{Pipeline, Work};
use crate::error::{EngineError, Result};
use crate::fsutil;
use crate::isolation::ParserPool;
use crate::ocr::{OcrConfig, PageRead};

/// Called with each OCR'd page of a file (its path, the page's read) as the worker reports it.
pub(crate) type OnOcrPage = Arc<dyn Fn(&str, PageRead) + Send + Sync>;

/// Time and memory a file may take to parse, the parsers that enforce them, and OCR.
#[derive(Clone)]
pub(crate) struct ParseBudget {
    pub timeout: Duration,
    pub memory_mb: u64,
    pub parsers: Arc<ParserPool>,
    pub ocr: OcrConfig,
    /// Hears of every page read by OCR: (file, page).
    pub on_ocr_page: OnOcrPage,
}

/// One thing, prepared.
pub(crate) enum Prepared {
    /// Same content as indexed: only size/mtime change.
    Touch(DocumentRecord),
    /// Parsed and chunked; vectors still to come.
    Chunks {
        record: DocumentRecord,
        chunks: Vec<Chunk>,
        /// What the document is (see [`super::identity`]).
        identity: String,
    },
    Failed(DocumentRecord),
}

/// A batch being prepared on as many threads as there are cores (off the async threads).
pub(crate) struct InFlight(tokio::task::JoinHandle<Vec<Prepared>>);

/// Start preparing a batch; it goes on while the caller embeds the previous one.
pub(crate) fn start(pipeline: &Pipeline, batch: Vec<Work>) -> InFlight {
    let chunker = Arc::clone(&pipeline.chunker);
    let budget = pipeline.budget.clone();
    let pause = pipeline.pause.clone();
    InFlight(tokio::task::spawn_blocking(move || prepare_batch(batch, &chunker, &budget, &pause)))
}

impl InFlight {
    pub(crate) async fn finish(self) -> Result<Vec<Prepared>> {
        self.0.await.map_err(|e| EngineError::Internal(e.to_string()))
    }
}

fn prepare_batch(batch: Vec<Work>, chunker: &Arc<Chunker>, budget: &ParseBudget, pause: &crate::yielding::Yield) -> Vec<Prepared> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(batch.len()).max(1);
    let next = AtomicUsize::new(0);
    let work: Vec<Mutex<Option<Work>>> = batch.into_iter().map(|w| Mutex::new(Some(w))).collect();
    let results: Vec<Mutex<Option<Prepared>>> = work.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= work.len() {
                        break;
                    }
                    let Some(item) = work[i].lock().unwrap_or_else(|p| p.into_inner()).take() else { continue };
                    pause.wait();
                    let prepared = prepare(item, chunker, budget);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(prepared);
                }
            });
        }
    });
    results.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every item prepared")).collect()
}

pub(crate) fn failed_record(path: &str, folder: &str, hash: Option<String>, size: u64, mtime_ns: i64, error: String) -> DocumentRecord {
    DocumentRecord {
        path: path.to_string(),
        folder: folder.to_string(),
        hash,
        size,
        mtime_ns,
        status: DocStatus::Failed,
        error: Some(error),
        format: None,
        chunks: 0,
        updated_ms: fsutil::now_ms(),
        readers: None,
    }
}

fn prepare(work: Work, chunker: &Arc<Chunker>, budget: &ParseBudget) -> Prepared {
    match work {
        Work::Parsed { record, document } => match chunk_guarded(chunker, document, None) {
            Ok((document, chunks)) if !chunks.is_empty() => {
                let identity = super::identity::identity(&record.path, &document);
                Prepared::Chunks { record: DocumentRecord { chunks: chunks.len() as u32, ..record }, chunks, identity }
            }
            Ok(_) => Prepared::Failed(DocumentRecord { status: DocStatus::Failed, error: Some("no text to index".into()), ..record }),
            Err(e) => Prepared::Failed(DocumentRecord { status: DocStatus::Failed, error: Some(e), ..record }),
        },
        Work::File { path, folder, size: _, mtime_ns, previous, readers } => {
            let (path_s, folder_s) = (path.display().to_string(), folder.display().to_string());
            let fail = |hash: Option<String>, size: u64, error: String| {
                Prepared::Failed(DocumentRecord {
                    readers: readers.clone(),
                    ..failed_record(&path_s, &folder_s, hash, size, mtime_ns, error)
                })
            };
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => return fail(None, 0, format!("cannot read: {e}")),
            };
            let hash = blake3::hash(&bytes).to_hex().to_string();
            // The file may have changed since the walk; record what was actually read.
            let size = bytes.len() as u64;
            if let Some(prev) = previous
                && prev.status == DocStatus::Indexed
                && prev.hash.as_deref() == Some(hash.as_str())
            {
                return Prepared::Touch(DocumentRecord { size, mtime_ns, updated_ms: fsutil::now_ms(), readers, ..prev });
            }
            let identity = identity_of(&path);
            let mut on_page = |page: PageRead| (budget.on_ocr_page)(&path_s, page);
            let parsed = budget
                .parsers
                .parse(&path, bytes, budget.timeout, budget.memory_mb, &budget.ocr, &mut on_page)
                .and_then(|doc| chunk_guarded(chunker, doc, identity.as_deref()));
            let (doc, chunks) = match parsed {
                Ok(p) => p,
                Err(reason) => return fail(Some(hash), size, reason),
            };
            if chunks.is_empty() {
                return fail(Some(hash), size, "no text to index".into());
            }
            let identity = super::identity::identity(&name_below(&path, &folder), &doc);
            let record = DocumentRecord {
                path: path_s.clone(),
                folder: folder_s.clone(),
                hash: Some(hash),
                size,
                mtime_ns,
                status: DocStatus::Indexed,
                error: (!doc.warnings.is_empty()).then(|| doc.warnings.join("; ")),
                format: Some(doc.format.as_str().to_string()),
                chunks: chunks.len() as u32,
                updated_ms: fsutil::now_ms(),
                readers,
            };
            Prepared::Chunks { record, chunks, identity }
        }
    }
}

/// The file's path below its registered folder, without the extension: "filings/2022 Q3 AAPL".
/// The folders a user sorts files into name them too.
fn name_below(path: &std::path::Path, folder: &std::path::Path) -> String {
    let relative = path.strip_prefix(folder).unwrap_or(path);
    relative.with_extension("").to_string_lossy().trim_start_matches('/').to_string()
}

/// What identifies a file among look-alike ones: its name without the extension
/// ("2022 Q3 AAPL", "leave-policy").
fn identity_of(path: &std::path::Path) -> Option<String> {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).filter(|s| !s.trim().is_empty())
}

/// Chunk a parsed document; a panic in the splitter fails this file only.
fn chunk_guarded(chunker: &Chunker, doc: ParsedDocument, identity: Option<&str>) -> Result<(ParsedDocument, Vec<Chunk>), String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chunker.chunk_document(&doc, identity))) {
        Ok(chunks) => Ok((doc, chunks)),
        Err(panic) => Err(format!("the chunker crashed: {}", brain_parse::panic_detail(&panic))),
    }
}
