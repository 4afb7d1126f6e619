//! Stage 3 of a sync, apply: the plan written to the index, under its writer lock.
//!
//! Order matters for crash safety and for reuse, and each step commits before the next:
//! 1. failures found by the walk are recorded, and new readers of unchanged files;
//! 2. new and changed files go through the indexing [`pipeline`](crate::pipeline);
//! 3. removals come after them, so that a renamed or moved file found the vectors of its old
//!    path still there to reuse;
//! 4. chunks a crash left without their document are removed last (until then they were a cache
//!    the queue could take vectors from);
//! 5. the search indexes are brought up to date when anything changed.
//!
//! A cancelled sync stops between batches and skips 3–4, leaving a consistent index.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use brain_store::crash::crash_point;
use brain_store::{DocumentWrite, StoreWriter, WriteBatch};

use super::plan::{Plan, Queued};
use crate::Engine;
use crate::error::Result;
use crate::events::{IndexEvent, SyncSummary};
use crate::pipeline::{self, Work, prepare::failed_record};

/// Write `plan` with `writer`; what was done is added to `summary`. `orphans`: paths whose
/// chunks a crash left without their document (found when the writer started).
pub(crate) async fn apply(
    engine: &Engine,
    writer: StoreWriter,
    plan: Plan,
    orphans: &[String],
    cancel: &AtomicBool,
    summary: &mut SyncSummary,
) -> Result<()> {
    record_failures(engine, &writer, &plan, summary).await?;
    record_readers(&writer, &plan, summary).await?;
    let writer = index_queue(engine, writer, plan.queue, cancel, summary).await?;
    crash_point("engine:queue-written");
    if !plan.removed.is_empty() && !cancel.load(Ordering::Relaxed) {
        writer.write(WriteBatch { documents: Vec::new(), removed: plan.removed.clone() }).await?;
        crash_point("engine:removals-written");
        for path in &plan.removed {
            engine.emit(IndexEvent::FileRemoved { path: path.clone() });
        }
        summary.removed = plan.removed.len();
    }
    let mut orphans_removed = 0;
    if !cancel.load(Ordering::Relaxed) {
        orphans_removed = writer.remove_orphan_chunks(orphans).await?;
        crash_point("engine:orphans-removed");
        if orphans_removed > 0 {
            tracing::info!(orphans = orphans_removed, "removed chunks left by an interrupted sync");
        }
    }
    if summary.indexed + summary.removed + summary.failed + summary.readers_changed + orphans_removed > 0 {
        let indexing = Instant::now();
        writer.maintain().await?;
        summary.stages.maintain_ms = indexing.elapsed().as_millis() as u64;
    }
    Ok(())
}

/// Step 1: the walk's failures, as failed document rows without chunks.
async fn record_failures(engine: &Engine, writer: &StoreWriter, plan: &Plan, summary: &mut SyncSummary) -> Result<()> {
    if plan.failures.is_empty() {
        return Ok(());
    }
    let documents = plan
        .failures
        .iter()
        .map(|f| {
            let mut record =
                failed_record(&f.path.display().to_string(), &f.folder.display().to_string(), None, f.size, f.mtime_ns, f.error.clone());
            record.readers = f.readers.clone();
            DocumentWrite { record, chunks: Some(Vec::new()), identity: None }
        })
        .collect();
    writer.write(WriteBatch { documents, removed: Vec::new() }).await?;
    crash_point("engine:failures-written");
    for f in &plan.failures {
        engine.emit(IndexEvent::FileFailed { path: f.path.display().to_string(), error: f.error.clone() });
    }
    summary.failed += plan.failures.len();
    Ok(())
}

/// Step 1b: files whose content stands but whose readers changed (`chmod`, `chown`,
/// `setfacl`): their rows and their chunks' readers rewritten, nothing parsed or embedded.
async fn record_readers(writer: &StoreWriter, plan: &Plan, summary: &mut SyncSummary) -> Result<()> {
    for group in plan.readers_changed.chunks(512) {
        let documents = group.iter().map(|record| DocumentWrite { record: record.clone(), chunks: None, identity: None }).collect();
        writer.write(WriteBatch { documents, removed: Vec::new() }).await?;
    }
    summary.readers_changed = plan.readers_changed.len();
    Ok(())
}

/// Step 2: the queue through the pipeline. Returns the writer for the steps after it.
async fn index_queue(
    engine: &Engine,
    writer: StoreWriter,
    queue: Vec<Queued>,
    cancel: &AtomicBool,
    summary: &mut SyncSummary,
) -> Result<StoreWriter> {
    let total = queue.len();
    if total == 0 {
        return Ok(writer);
    }
    let pipeline = engine.pipeline().await?;
    let writer = Arc::new(writer);
    let work: Vec<Work> = queue
        .into_iter()
        .map(|q| Work::File {
            path: q.file.path,
            folder: q.file.folder,
            size: q.file.size,
            mtime_ns: q.file.mtime_ns,
            previous: q.indexed,
            readers: q.file.readers,
        })
        .collect();
    let mut done = 0;
    pipeline
        .run(
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
    Ok(Arc::into_inner(writer).expect("the pipeline's writes have finished"))
}
