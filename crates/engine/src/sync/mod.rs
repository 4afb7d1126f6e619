//! One sync: the folders brought in line with the index, in three named stages, each in its own
//! file:
//!
//! ```text
//! walk (metadata of the folders' files) ─► plan (the difference with the index) ─► apply (write it)
//! ```
//!
//! - [`walk`]: cheap, metadata only (size and mtime); what cannot be indexed is found on the way.
//! - [`plan`]: a pure function of the walk and the index's rows; all the rules of what a sync
//!   does live there and are unit-tested without a model or a store.
//! - [`apply`]: failures recorded, new and changed files through the indexing
//!   [`pipeline`](crate::pipeline), then removals, the clean-up of what a crash left, and index
//!   maintenance — under the index's writer lock, with a crash point after each commit.

pub(crate) mod apply;
pub(crate) mod plan;
pub(crate) mod walk;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use brain_store::crash::crash_point;
use brain_store::{DocumentRecord, IndexLock};

use crate::Engine;
use crate::error::Result;
use crate::events::{IndexEvent, SyncSummary};
pub(crate) use plan::{FolderStates, plan};
pub(crate) use walk::walk;

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

/// Who says which embedder a sync embeds with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmbedderChoice {
    /// The settings, or, where they name none, the documents' languages (`languages.rs`).
    ByLanguage,
    /// The settings only: the sync that builds an index again with an embedder already chosen
    /// (`reembed.rs`), whose languages the engine that asked for it tells.
    AsGiven,
}

/// Sync under `lock`, the index's writer lock, held until the sync ends.
pub(crate) async fn run(engine: &Engine, cancel: &AtomicBool, lock: IndexLock, choice: EmbedderChoice) -> Result<SyncSummary> {
    let started = Instant::now();
    let ocr_before = engine.ocr_counts.read();
    let settings = engine.settings();
    let folders = FolderStates::of(&engine.folders()?, |p| p.is_dir());
    engine.emit(IndexEvent::SyncStarted { folders: folders.present.len() + folders.paused.len() + folders.missing.len() });
    for path in &folders.missing {
        engine.emit(IndexEvent::FolderMissing { path: path.display().to_string() });
    }
    let walk = {
        let (present, policies) = (folders.present.clone(), folders.reader_policies.clone());
        crate::blocking(move || walk(&present, &policies, &settings)).await?
    };

    // A brand-new index with nothing to index must not need a model: only open the store when
    // there is one already or there are files for it.
    let had_index = engine.has_index().await?;
    if !had_index && walk.files.is_empty() && walk.failures.is_empty() {
        let summary = SyncSummary { elapsed_ms: started.elapsed().as_millis() as u64, ..Default::default() };
        engine.emit(IndexEvent::Idle(summary.clone()));
        return Ok(summary);
    }
    // A first index (or one deleted to be rebuilt): the multilingual embedder chosen before
    // anything is embedded where the documents' languages want it (`languages.rs`: as last
    // measured, or as a few of the files tell). A measure that could not be taken is taken after
    // the sync, as always.
    if choice == EmbedderChoice::ByLanguage
        && !had_index
        && let Err(e) = engine.choose_embedder_before_embedding(Some(&walk.files)).await
    {
        tracing::warn!("the documents' languages could not be told before indexing: {e}");
    }
    // Become the writer only now: whatever another process wrote is in the tables the plan reads,
    // and what a crash left half-written is repaired (its files come back as pending).
    let (writer, recovery) = engine.writer(lock).await?;
    let existing: HashMap<String, DocumentRecord> = recovery.documents.iter().map(|d| (d.path.clone(), d.clone())).collect();
    // An index of an older chunk format: every file is redone (vectors reused where the
    // embedded text is unchanged).
    let outdated = engine.meta().await?.is_some_and(|m| m.format < crate::resources::INDEX_FORMAT);
    let plan = plan(&walk, &existing, &folders, outdated);
    crash_point("engine:sync-planned");
    let mut summary = SyncSummary { files: walk.files.len() + walk.failures.len(), unchanged: plan.unchanged, ..Default::default() };
    engine.emit(IndexEvent::Scanned { files: summary.files, queued: plan.work(), removed: plan.removed.len() });
    for f in &plan.queue {
        engine.emit(IndexEvent::FileQueued { path: f.file.path.display().to_string() });
    }

    apply::apply(engine, writer, plan, &recovery.orphans, cancel, &mut summary).await?;
    if outdated && !cancel.load(Ordering::Relaxed) {
        engine.mark_index_format_current().await?;
    }
    let ocr_after = engine.ocr_counts.read();
    summary.ocr_pages = ocr_after.0 - ocr_before.0;
    summary.ocr_ms = ocr_after.1 - ocr_before.1;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    engine.emit(IndexEvent::Idle(summary.clone()));
    if cancel.load(Ordering::Relaxed) {
        return Err(crate::EngineError::Cancelled);
    }
    Ok(summary)
}
