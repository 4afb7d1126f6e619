//! `check`: the index's invariants checked in full, and repaired on request without
//! re-embedding (the store does the work: `brain_store::integrity`).
//!
//! Key design decision: what a front end or a script sees of a check (`brain check --json`, the
//! crash harness that reads it) is defined here, by the engine, and converted from the store's
//! own report. A refactor of the store then cannot change that documented contract by accident;
//! the tests below pin its JSON.

use std::sync::atomic::AtomicBool;

use brain_store::integrity::OrphanReason;
use brain_store::{CheckScope, IntegrityReport, Violation};
use serde::Serialize;

use crate::Engine;
use crate::error::Result;

/// What [`Engine::check`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub found: CheckReport,
    /// With `repair`: what was repaired, and a fresh check afterwards.
    pub repaired: Option<RepairSummary>,
    pub after: Option<CheckReport>,
}

/// What a check of the index found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// Whether every chunk was looked at (false: a quick check, or a check of some paths).
    pub full: bool,
    pub documents: usize,
    pub chunks: usize,
    pub violations: Vec<IndexViolation>,
}

impl CheckReport {
    /// Every invariant holds.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// One broken invariant, per file. Serialised with a `kind` tag, e.g.
/// `{"kind":"duplicate_document","path":"/docs/a.md","rows":2}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IndexViolation {
    /// The path has `rows` document rows (one expected).
    DuplicateDocument { path: String, rows: usize },
    /// `extra` chunk rows repeat an id of the file.
    DuplicateChunks { path: String, extra: usize },
    /// Chunks without an indexed document row.
    OrphanChunks { path: String, chunks: usize, reason: OrphanCause },
    /// Chunks made from another version of the file than the indexed one.
    StaleChunks { path: String, chunks: usize },
    /// The document row says `expected` chunks; `found` are stored, or their ordinals have gaps.
    ChunkCountMismatch { path: String, expected: u32, found: usize },
}

/// Why chunks have no document to belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanCause {
    /// No document row for the path at all.
    NoDocument,
    /// The path's document row is failed or pending.
    NotIndexed,
}

impl std::fmt::Display for IndexViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexViolation::DuplicateDocument { path, rows } => write!(f, "{path}: {rows} document rows (one expected)"),
            IndexViolation::DuplicateChunks { path, extra } => write!(f, "{path}: {extra} duplicate chunk row(s)"),
            IndexViolation::OrphanChunks { path, chunks, reason: OrphanCause::NoDocument } => {
                write!(f, "{path}: {chunks} chunk(s) without a document row")
            }
            IndexViolation::OrphanChunks { path, chunks, reason: OrphanCause::NotIndexed } => {
                write!(f, "{path}: {chunks} chunk(s) of a file that is not indexed")
            }
            IndexViolation::StaleChunks { path, chunks } => write!(f, "{path}: {chunks} chunk(s) from another version of the file"),
            IndexViolation::ChunkCountMismatch { path, expected, found } => {
                write!(f, "{path}: the document row says {expected} chunk(s), {found} are stored")
            }
        }
    }
}

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepairSummary {
    pub duplicate_documents_removed: usize,
    pub duplicate_chunks_removed: usize,
    /// Documents marked pending, to be redone by the next sync.
    pub documents_to_redo: usize,
    /// Chunks removed as orphans.
    pub orphan_chunks_removed: usize,
}

impl From<&Violation> for IndexViolation {
    fn from(v: &Violation) -> Self {
        match v.clone() {
            Violation::DuplicateDocument { path, rows } => IndexViolation::DuplicateDocument { path, rows },
            Violation::DuplicateChunks { path, extra } => IndexViolation::DuplicateChunks { path, extra },
            Violation::OrphanChunks { path, chunks, reason } => IndexViolation::OrphanChunks {
                path,
                chunks,
                reason: match reason {
                    OrphanReason::NoDocument => OrphanCause::NoDocument,
                    OrphanReason::NotIndexed => OrphanCause::NotIndexed,
                },
            },
            Violation::StaleChunks { path, chunks } => IndexViolation::StaleChunks { path, chunks },
            Violation::ChunkCountMismatch { path, expected, found } => IndexViolation::ChunkCountMismatch { path, expected, found },
        }
    }
}

impl From<&IntegrityReport> for CheckReport {
    fn from(r: &IntegrityReport) -> Self {
        CheckReport { full: r.full, documents: r.documents, chunks: r.chunks, violations: r.violations.iter().map(Into::into).collect() }
    }
}

impl From<&brain_store::RepairSummary> for RepairSummary {
    fn from(r: &brain_store::RepairSummary) -> Self {
        RepairSummary {
            duplicate_documents_removed: r.duplicate_documents_removed,
            duplicate_chunks_removed: r.duplicate_chunks_removed,
            documents_to_redo: r.documents_to_redo,
            orphan_chunks_removed: r.orphan_chunks_removed,
        }
    }
}

/// Check every invariant; with `repair`, take the writer lock and repair what is broken.
pub(crate) async fn run(engine: &Engine, repair: bool, cancel: &AtomicBool) -> Result<CheckOutcome> {
    if !engine.has_index().await? {
        return Ok(CheckOutcome::default());
    }
    if !repair {
        let found = engine.store().await?.check(&CheckScope::Everything).await?;
        return Ok(CheckOutcome { found: (&found).into(), ..Default::default() });
    }
    let _one_at_a_time = engine.sync_lock.lock().await;
    let lock = engine.lock_index(cancel).await?;
    let (writer, recovery) = engine.writer(lock).await?;
    let mut found = writer.store().check(&CheckScope::Everything).await?;
    let mut repaired = writer.repair(&found, true).await?;
    // What the writer repaired on the way in counts too.
    if let Some(first) = recovery.report.filter(|r| !r.is_ok()) {
        found.violations.splice(0..0, first.violations);
    }
    repaired.duplicate_documents_removed += recovery.repaired.duplicate_documents_removed;
    repaired.duplicate_chunks_removed += recovery.repaired.duplicate_chunks_removed;
    repaired.documents_to_redo += recovery.repaired.documents_to_redo;
    repaired.orphan_chunks_removed += writer.remove_orphan_chunks(&recovery.orphans).await?;
    let after = writer.store().check(&CheckScope::Everything).await?;
    Ok(CheckOutcome { found: (&found).into(), repaired: Some((&repaired).into()), after: Some((&after).into()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `brain check --json` is a documented contract: its shape must not move with the store.
    #[test]
    fn the_json_of_a_check_is_the_documented_one() {
        let outcome = CheckOutcome {
            found: CheckReport {
                full: true,
                documents: 3,
                chunks: 9,
                violations: vec![
                    IndexViolation::DuplicateDocument { path: "/d/a.md".into(), rows: 2 },
                    IndexViolation::OrphanChunks { path: "/d/b.md".into(), chunks: 4, reason: OrphanCause::NotIndexed },
                    IndexViolation::ChunkCountMismatch { path: "/d/c.md".into(), expected: 3, found: 2 },
                ],
            },
            repaired: Some(RepairSummary { duplicate_documents_removed: 1, documents_to_redo: 1, ..Default::default() }),
            after: Some(CheckReport { full: true, documents: 3, chunks: 5, violations: Vec::new() }),
        };
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "found": {"full": true, "documents": 3, "chunks": 9, "violations": [
                    {"kind": "duplicate_document", "path": "/d/a.md", "rows": 2},
                    {"kind": "orphan_chunks", "path": "/d/b.md", "chunks": 4, "reason": "not_indexed"},
                    {"kind": "chunk_count_mismatch", "path": "/d/c.md", "expected": 3, "found": 2},
                ]},
                "repaired": {"duplicate_documents_removed": 1, "duplicate_chunks_removed": 0, "documents_to_redo": 1, "orphan_chunks_removed": 0},
                "after": {"full": true, "documents": 3, "chunks": 5, "violations": []},
            })
        );
    }

    #[test]
    fn every_store_violation_has_its_engine_form() {
        let store = Violation::StaleChunks { path: "/d/a.md".into(), chunks: 2 };
        assert_eq!(IndexViolation::from(&store), IndexViolation::StaleChunks { path: "/d/a.md".into(), chunks: 2 });
        assert_eq!(IndexViolation::from(&store).to_string(), store.to_string(), "the same words in status and check");
    }
}
