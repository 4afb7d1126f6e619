//! The indexing pipeline, one for every caller (a sync of the user's folders, a corpus built for
//! an evaluation), as three named stages, each in its own file:
//!
//! ```text
//! prepare (read, parse, chunk, identity) ─► embed (reuse stored vectors by chunk hash) ─► write (one commit per batch)
//! ```
//!
//! A document's identity ([`identity`]: its name, title, headings and the names and periods of
//! its first page) is made in `prepare`, while the parsed document is in memory, and written
//! with its chunks.
//!
//! Work goes through in batches bounded by files and bytes, the stages overlapping: batch n+1 is
//! parsed while batch n is embedded, and batch n is written while n+1 is embedded. One batch of
//! each in flight, so memory stays bounded and the store never sees two writes at once; the
//! embedder — the stage that bounds throughput — never waits for a parse it could have had.

pub(crate) mod embed;
pub(crate) mod identity;
pub(crate) mod prepare;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use brain_chunk::Chunker;
use brain_parse::ParsedDocument;
use brain_store::crash::crash_point;
use brain_store::{DocumentRecord, StoreWriter, WriteBatch};

use crate::error::{EngineError, Result};
use crate::events::IndexEvent;
use crate::inference::EmbedText;
pub(crate) use prepare::ParseBudget;

/// One thing to index.
pub(crate) enum Work {
    /// A file on disk; `previous` is its row in the index, if it has one; `readers` who may
    /// read it, as the walk found (`None`: not known).
    File { path: PathBuf, folder: PathBuf, size: u64, mtime_ns: i64, previous: Option<DocumentRecord>, readers: Option<Vec<String>> },
    /// A document already in memory (an evaluation corpus): `record.path` is its id.
    Parsed { record: DocumentRecord, document: ParsedDocument },
}

impl Work {
    fn size(&self) -> u64 {
        match self {
            Work::File { size, .. } => *size,
            Work::Parsed { document, .. } => document.sections.iter().map(|s| s.text.len() as u64).sum(),
        }
    }

    pub(crate) fn path(&self) -> String {
        match self {
            Work::File { path, .. } => path.display().to_string(),
            Work::Parsed { record, .. } => record.path.clone(),
        }
    }
}

/// The indexing pipeline, set up with what its stages need: the models, the parse budget, and
/// the pause that lets answers run.
pub(crate) struct Pipeline {
    pub embedder: Arc<dyn EmbedText>,
    pub chunker: Arc<Chunker>,
    pub budget: ParseBudget,
    /// Called between files and between embedding batches (see [`crate::yielding`]).
    pub pause: crate::yielding::Yield,
}

/// What one committed batch did.
#[derive(Debug, Default)]
pub(crate) struct BatchStats {
    pub indexed: usize,
    pub failed: usize,
    pub chunks: usize,
    /// Chunks embedded (the others reused a stored vector of the same text).
    pub embedded: usize,
    pub files: usize,
    /// Wall time of the stages as the embedder saw it: waiting for this batch's parse,
    /// embedding it, and waiting for its write to commit.
    pub parse_wait_ms: u64,
    pub embed_ms: u64,
    pub write_wait_ms: u64,
}

/// Most files and bytes prepared at once: bounds memory on a burst of huge files.
const BATCH_FILES: usize = 32;
const BATCH_BYTES: u64 = 12 * 1024 * 1024;

/// Files per batch: [`BATCH_FILES`], or fewer for the crash tests (`BRAIN_TEST_BATCH_FILES`),
/// which need many commits in a small corpus.
fn batch_files() -> usize {
    static FILES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *FILES
        .get_or_init(|| std::env::var("BRAIN_TEST_BATCH_FILES").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(BATCH_FILES))
}

/// Cut the work into batches bounded by files and bytes. The first batches are small (2, 4, 8…
/// files) so that the embedder starts after two files are parsed, not a full batch: from then
/// on the next batch is parsed while one is embedded.
pub(crate) fn batches(work: Vec<Work>) -> Vec<Vec<Work>> {
    let mut out: Vec<Vec<Work>> = Vec::new();
    let mut bytes = 0u64;
    for w in work {
        let cap = batch_files().min(2usize << out.len().saturating_sub(1).min(8));
        let full = out.last().is_none_or(|b| b.len() >= cap || bytes + w.size() > BATCH_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += w.size();
        out.last_mut().expect("pushed above").push(w);
    }
    out
}

impl Pipeline {
    /// Run the batches through the stages. `on_start` sees each batch as its preparation starts,
    /// `on_committed` each batch's events and figures once its write is committed. Stops between
    /// batches when `cancel` is set (a batch already being prepared is dropped).
    pub(crate) async fn run(
        &self,
        writer: &Arc<StoreWriter>,
        batches: Vec<Vec<Work>>,
        cancel: &AtomicBool,
        mut on_start: impl FnMut(&[Work]),
        mut on_committed: impl FnMut(Vec<IndexEvent>, BatchStats),
    ) -> Result<()> {
        let mut pending: Option<PendingWrite> = None;
        let mut batches = batches.into_iter();
        let mut start_next = |on_start: &mut dyn FnMut(&[Work])| {
            (!cancel.load(Ordering::Relaxed)).then(|| batches.next()).flatten().map(|batch| {
                on_start(&batch);
                prepare::start(self, batch)
            })
        };
        let mut next = start_next(&mut on_start);
        while let Some(in_flight) = next.take() {
            let waited = Instant::now();
            let prepared = in_flight.finish().await?;
            let parse_wait_ms = waited.elapsed().as_millis() as u64;
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            crash_point("engine:batch-prepared");
            next = start_next(&mut on_start);
            let embedding = Instant::now();
            let (writes, events, mut stats) = embed::run(self, writer.store(), prepared).await?;
            stats.embed_ms = embedding.elapsed().as_millis() as u64;
            stats.parse_wait_ms = parse_wait_ms;
            // Commit the previous batch's write before queuing this one: one write in flight.
            if let Some(write) = pending.take() {
                let (events, stats) = write.commit().await?;
                on_committed(events, stats);
            }
            let writer = Arc::clone(writer);
            let handle = tokio::spawn(async move { Ok(writer.write(WriteBatch { documents: writes, removed: Vec::new() }).await?) });
            pending = Some(PendingWrite { handle, events, stats });
        }
        if let Some(write) = pending.take() {
            let (events, stats) = write.commit().await?;
            on_committed(events, stats);
        }
        Ok(())
    }
}

/// A batch's write, committing in the background, with what to report once it has.
struct PendingWrite {
    handle: tokio::task::JoinHandle<Result<()>>,
    events: Vec<IndexEvent>,
    stats: BatchStats,
}

impl PendingWrite {
    /// Wait for the commit; the wait is the batch's `write_wait_ms`.
    async fn commit(mut self) -> Result<(Vec<IndexEvent>, BatchStats)> {
        let waited = Instant::now();
        self.handle.await.map_err(|e| EngineError::Internal(e.to_string()))??;
        self.stats.write_wait_ms = waited.elapsed().as_millis() as u64;
        Ok((self.events, self.stats))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::path::Path;
    use std::time::Duration;

    use brain_chunk::ChunkerConfig;
    use brain_store::{IndexLock, Store};
    use tokenizers::Tokenizer;
    use tokenizers::models::wordlevel::WordLevel;
    use tokenizers::pre_tokenizers::whitespace::Whitespace;

    use super::*;
    use crate::inference::fakes::{DIMENSION, WordVectors};
    use crate::isolation::{ParserPool, Parsers};
    use crate::ocr::OcrConfig;

    /// One token per word: chunk sizes in tests are easy to reason about.
    pub(crate) fn word_tokenizer() -> Tokenizer {
        let vocab = [("[UNK]".to_string(), 0u32)].into_iter().collect();
        let model = WordLevel::builder().vocab(vocab).unk_token("[UNK]".into()).build().unwrap();
        let mut t = Tokenizer::new(model);
        t.with_pre_tokenizer(Some(Whitespace {}));
        t
    }

    /// The real pipeline with a fake embedder, parsing on threads: no model file is read.
    pub(crate) fn fake_pipeline(data_dir: &Path, embedder: Arc<dyn EmbedText>) -> Pipeline {
        Pipeline {
            embedder,
            chunker: Arc::new(Chunker::new(word_tokenizer(), ChunkerConfig { max_tokens: 64, overlap_tokens: 0 })),
            budget: ParseBudget {
                timeout: Duration::from_secs(20),
                memory_mb: 512,
                parsers: Arc::new(ParserPool::new(Parsers::Threads)),
                ocr: OcrConfig { cache_dir: None, languages: vec!["eng".into()] },
                on_ocr_page: Arc::new(|_, _| {}),
            },
            pause: crate::yielding::Yield::new(data_dir),
        }
    }

    fn file_work(path: &Path, folder: &Path, previous: Option<DocumentRecord>) -> Work {
        let meta = std::fs::metadata(path).unwrap();
        Work::File { path: path.to_path_buf(), folder: folder.to_path_buf(), size: meta.len(), mtime_ns: 0, previous, readers: None }
    }

    async fn run_once(pipeline: &Pipeline, store: &Store, data: &Path, work: Vec<Work>) -> (Vec<IndexEvent>, BatchStats) {
        let lock = IndexLock::acquire(&data.join("index.lock"), |_| {}, || false).await.unwrap();
        let (writer, _) = store.writer(lock).await.unwrap();
        let writer = Arc::new(writer);
        let mut all_events = Vec::new();
        let mut total = BatchStats::default();
        pipeline
            .run(
                &writer,
                batches(work),
                &AtomicBool::new(false),
                |_| {},
                |events, stats| {
                    all_events.extend(events);
                    total.indexed += stats.indexed;
                    total.failed += stats.failed;
                    total.chunks += stats.chunks;
                    total.embedded += stats.embedded;
                    total.files += stats.files;
                },
            )
            .await
            .unwrap();
        (all_events, total)
    }

    #[tokio::test]
    async fn files_are_parsed_chunked_embedded_and_written_and_unchanged_text_is_not_embedded_again() {
        let dir = tempfile::tempdir().unwrap();
        let (docs, data) = (dir.path().join("docs"), dir.path().join("data"));
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(
            docs.join("leave.md"),
            "# Leave\n\nStaff get 27 days of annual leave.\n\n# Travel\n\nTrains are booked in second class.\n",
        )
        .unwrap();
        std::fs::write(docs.join("notes.txt"), "Parking is assigned by lottery.").unwrap();
        std::fs::write(docs.join("broken.pdf"), b"%PDF-1.7 this is not really a PDF").unwrap();
        let counting = Arc::new(WordVectors::default());
        let pipeline = fake_pipeline(&data, counting.clone());
        let store = Store::open(&data.join("lancedb"), DIMENSION).await.unwrap();

        let work = ["leave.md", "notes.txt", "broken.pdf"].iter().map(|n| file_work(&docs.join(n), &docs, None)).collect();
        let (events, stats) = run_once(&pipeline, &store, &data, work).await;
        assert_eq!((stats.indexed, stats.failed, stats.files), (2, 1, 3), "{events:?}");
        assert!(stats.chunks >= 2 && stats.embedded == stats.chunks, "{stats:?}");
        let failed: Vec<&IndexEvent> = events.iter().filter(|e| matches!(e, IndexEvent::FileFailed { .. })).collect();
        assert!(matches!(failed.as_slice(), [IndexEvent::FileFailed { path, .. }] if path.ends_with("broken.pdf")), "{events:?}");
        let documents: HashMap<String, DocumentRecord> =
            store.documents().await.unwrap().into_iter().map(|d| (d.path.clone(), d)).collect();
        let leave = &documents[&docs.join("leave.md").display().to_string()];
        assert_eq!(leave.status, brain_store::DocStatus::Indexed);
        assert_eq!(store.chunk_count_of(&leave.path).await.unwrap(), leave.chunks as usize);
        let embedded_first = counting.embedded();

        // The same file moved to another folder: every vector is reused. (Under another name it
        // is embedded again: the file's name is part of what each chunk embeds.)
        std::fs::create_dir_all(docs.join("moved")).unwrap();
        std::fs::copy(docs.join("leave.md"), docs.join("moved/leave.md")).unwrap();
        let (_, again) = run_once(&pipeline, &store, &data, vec![file_work(&docs.join("moved/leave.md"), &docs, None)]).await;
        assert_eq!((again.indexed, again.embedded), (1, 0), "{again:?}");
        assert_eq!(counting.embedded(), embedded_first, "nothing went through the model");

        // A file touched but unchanged keeps its row and its chunks.
        let (events, touched) =
            run_once(&pipeline, &store, &data, vec![file_work(&docs.join("leave.md"), &docs, Some(leave.clone()))]).await;
        assert_eq!((touched.indexed, touched.chunks, touched.embedded), (1, 0, 0), "{events:?}");
    }

    #[test]
    fn batches_are_bounded_by_files_and_bytes() {
        let file = |size| Work::File { path: "/x".into(), folder: "/".into(), size, mtime_ns: 0, previous: None, readers: None };
        let sizes: Vec<usize> = batches((0..70).map(|_| file(10)).collect()).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 4, 8, 16, 32, 8], "small batches first, so the embedder starts early");
        let big = vec![file(BATCH_BYTES - 1), file(10), file(BATCH_BYTES)];
        assert_eq!(batches(big).iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 1, 1]);
    }
}
