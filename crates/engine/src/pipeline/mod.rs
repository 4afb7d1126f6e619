//! The indexing pipeline, one for every caller (a sync of the user's folders, a corpus built for
//! an evaluation), as three named stages, each in its own file:
//!
//! ```text
//! prepare (read, parse, chunk) ─► embed (reuse stored vectors by chunk hash) ─► write (one commit per batch)
//! ```
//!
//! Work goes through in batches bounded by files and bytes, the stages overlapping: batch n+1 is
//! parsed while batch n is embedded, and batch n is written while n+1 is embedded. One batch of
//! each in flight, so memory stays bounded and the store never sees two writes at once; the
//! embedder — the stage that bounds throughput — never waits for a parse it could have had.

pub(crate) mod embed;
pub(crate) mod prepare;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use brain_chunk::Chunker;
use brain_embed::Embedder;
use brain_parse::ParsedDocument;
use brain_store::crash::crash_point;
use brain_store::{DocumentRecord, StoreWriter, WriteBatch};

use crate::error::{EngineError, Result};
use crate::events::IndexEvent;
pub(crate) use prepare::ParseBudget;

/// One thing to index.
pub(crate) enum Work {
    /// A file on disk; `previous` is its row in the index, if it has one.
    File { path: PathBuf, folder: PathBuf, size: u64, mtime_ns: i64, previous: Option<DocumentRecord> },
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

/// What the stages need: the models, the parse budget, and the pause that lets answers run.
pub(crate) struct Stages {
    pub embedder: Arc<Embedder>,
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

/// Run the batches through the stages. `on_start` sees each batch as its preparation starts,
/// `on_committed` each batch's events and figures once its write is committed. Stops between
/// batches when `cancel` is set (a batch already being prepared is dropped).
pub(crate) async fn run(
    stages: &Stages,
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
            prepare::start(stages, batch)
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
        let (writes, events, mut stats) = embed::run(stages, writer.store(), prepared).await?;
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
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_by_files_and_bytes() {
        let file = |size| Work::File { path: "/x".into(), folder: "/".into(), size, mtime_ns: 0, previous: None };
        let sizes: Vec<usize> = batches((0..70).map(|_| file(10)).collect()).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 4, 8, 16, 32, 8], "small batches first, so the embedder starts early");
        let big = vec![file(BATCH_BYTES - 1), file(10), file(BATCH_BYTES)];
        assert_eq!(batches(big).iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 1, 1]);
    }
}
