//! The store's invariants, checked and repaired.
//!
//! 1. One document row per path.
//! 2. One chunk row per chunk id (`path#ordinal`).
//! 3. Every chunk belongs to a document row that says it is indexed, made from the same version
//!    of the file (`chunk.doc_hash == document.hash`): no orphan and no chunk of an older or
//!    newer version.
//! 4. An indexed document's `chunks` equals the number of its chunks, numbered 0..n.
//!
//! A crash can break 3 and 4 for the files of the batch being written (the two tables commit
//! separately); two writers at once broke 1 and 2. Repairs never re-embed: duplicate rows are
//! deleted by row id (one commit per table), a document whose chunks disagree with it is marked
//! pending so the next sync redoes it (reusing the stored vectors by chunk hash), and orphan
//! chunks are removed once that sync has had the chance to reuse their vectors.
//!
//! These types are the store's own and are not serialised: what front ends and scripts see of a
//! check (`brain check --json`) is the engine's `CheckReport`, converted from them, so a change
//! here cannot move that contract.

use std::collections::{BTreeMap, HashMap};

use arrow_array::{RecordBatch, UInt32Array, UInt64Array};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase, Select};

use crate::Result;
use crate::records::{self, DocStatus, DocumentRecord};
use crate::sql::in_list;

/// Why chunks have no document to belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanReason {
    /// No document row for the path at all.
    NoDocument,
    /// The path's document row is failed or pending.
    NotIndexed,
}

/// One broken invariant, per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Invariant 1: the path has `rows` document rows.
    DuplicateDocument { path: String, rows: usize },
    /// Invariant 2: `extra` chunk rows repeat an id of the file.
    DuplicateChunks { path: String, extra: usize },
    /// Invariant 3: chunks without an indexed document row.
    OrphanChunks { path: String, chunks: usize, reason: OrphanReason },
    /// Invariant 3: chunks made from another version of the file than the indexed one.
    StaleChunks { path: String, chunks: usize },
    /// Invariant 4: the document row says `expected` chunks; `found` are stored (after duplicates
    /// and stale chunks are set aside), or their ordinals have gaps.
    ChunkCountMismatch { path: String, expected: u32, found: usize },
}

impl Violation {
    pub fn path(&self) -> &str {
        match self {
            Violation::DuplicateDocument { path, .. }
            | Violation::DuplicateChunks { path, .. }
            | Violation::OrphanChunks { path, .. }
            | Violation::StaleChunks { path, .. }
            | Violation::ChunkCountMismatch { path, .. } => path,
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::DuplicateDocument { path, rows } => write!(f, "{path}: {rows} document rows (one expected)"),
            Violation::DuplicateChunks { path, extra } => write!(f, "{path}: {extra} duplicate chunk row(s)"),
            Violation::OrphanChunks { path, chunks, reason: OrphanReason::NoDocument } => {
                write!(f, "{path}: {chunks} chunk(s) without a document row")
            }
            Violation::OrphanChunks { path, chunks, reason: OrphanReason::NotIndexed } => {
                write!(f, "{path}: {chunks} chunk(s) of a file that is not indexed")
            }
            Violation::StaleChunks { path, chunks } => write!(f, "{path}: {chunks} chunk(s) from another version of the file"),
            Violation::ChunkCountMismatch { path, expected, found } => {
                write!(f, "{path}: the document row says {expected} chunk(s), {found} are stored")
            }
        }
    }
}

/// What a check found, and what repairing it takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegrityReport {
    /// Whether every chunk was looked at (false: a quick check, or a check of some paths).
    pub full: bool,
    pub documents: usize,
    pub chunks: usize,
    pub violations: Vec<Violation>,
    pub(crate) plan: RepairPlan,
}

impl IntegrityReport {
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Row-level repairs, found by a check.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RepairPlan {
    pub(crate) extra_document_rows: Vec<u64>,
    pub(crate) extra_chunk_rows: Vec<u64>,
    /// Documents to redo: their chunks disagree with them.
    pub(crate) redo: Vec<String>,
    /// Paths with orphan chunks.
    pub(crate) orphans: Vec<String>,
}

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairSummary {
    pub duplicate_documents_removed: usize,
    pub duplicate_chunks_removed: usize,
    /// Documents marked pending, to be redone by the next sync.
    pub documents_to_redo: usize,
    /// Chunks removed as orphans (0 when their removal is left to the sync).
    pub orphan_chunks_removed: usize,
}

impl RepairSummary {
    pub fn is_empty(&self) -> bool {
        *self == RepairSummary::default()
    }
}

/// Which rows a check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckScope {
    Everything,
    /// Only these files (those of a write a crash interrupted).
    Paths(Vec<String>),
}

impl CheckScope {
    fn filter(&self) -> Option<String> {
        match self {
            CheckScope::Everything => None,
            CheckScope::Paths(paths) => Some(in_list("path", paths)),
        }
    }
}

/// A document row with its row id.
struct DocRow {
    row: u64,
    record: DocumentRecord,
}

/// One chunk row, reduced to what the invariants need.
struct ChunkRow {
    row: u64,
    ordinal: u32,
    doc_hash: u32,
}

/// The chunks of one path; `hashes` interns the document hashes they carry.
#[derive(Default)]
struct PathChunks {
    rows: Vec<ChunkRow>,
    hashes: Vec<String>,
}

impl PathChunks {
    fn hash_index(&mut self, hash: &str) -> u32 {
        match self.hashes.iter().position(|h| h == hash) {
            Some(i) => i as u32,
            None => {
                self.hashes.push(hash.to_string());
                (self.hashes.len() - 1) as u32
            }
        }
    }
}

impl crate::Store {
    /// Invariant 1 and the chunk total, from the documents (already read) and a row count: what
    /// every writer checks when it starts. False calls for a full [`Store::check`](crate::Store::check).
    pub async fn quick_check(&self, documents: &[DocumentRecord]) -> Result<bool> {
        let mut seen = std::collections::HashSet::with_capacity(documents.len());
        if !documents.iter().all(|d| seen.insert(d.path.as_str())) {
            return Ok(false);
        }
        let expected: u64 = documents.iter().filter(|d| d.status == DocStatus::Indexed).map(|d| u64::from(d.chunks)).sum();
        Ok(expected == self.chunks.count_rows(None).await? as u64)
    }

    /// Check every invariant over `scope`. Reads the documents table and four narrow columns of
    /// the chunks table; changes nothing.
    pub async fn check(&self, scope: &CheckScope) -> Result<IntegrityReport> {
        let filter = scope.filter();
        let mut documents: BTreeMap<String, Vec<DocRow>> = BTreeMap::new();
        let mut query = self.documents.query().with_row_id();
        if let Some(f) = &filter {
            query = query.only_if(f.as_str());
        }
        let batches: Vec<RecordBatch> = query.execute().await?.try_collect().await?;
        let mut document_rows = 0;
        for b in &batches {
            let rows = records::typed_column::<UInt64Array>(b, "_rowid")?;
            for (i, record) in records::documents_from_batch(b)?.into_iter().enumerate() {
                document_rows += 1;
                documents.entry(record.path.clone()).or_default().push(DocRow { row: rows.value(i), record });
            }
        }

        let mut chunks: HashMap<String, PathChunks> = HashMap::new();
        let mut query = self.chunks.query().select(Select::columns(&["path", "doc_hash", "ordinal"])).with_row_id();
        if let Some(f) = &filter {
            query = query.only_if(f.as_str());
        }
        let mut stream = query.execute().await?;
        let mut chunk_rows = 0;
        while let Some(b) = stream.try_next().await? {
            let rows = records::typed_column::<UInt64Array>(&b, "_rowid")?;
            let paths = records::string_column(&b, "path")?;
            let hashes = records::string_column(&b, "doc_hash")?;
            let ordinals = records::typed_column::<UInt32Array>(&b, "ordinal")?;
            for i in 0..b.num_rows() {
                chunk_rows += 1;
                let entry = chunks.entry(paths.value(i).to_string()).or_default();
                let doc_hash = entry.hash_index(hashes.value(i));
                entry.rows.push(ChunkRow { row: rows.value(i), ordinal: ordinals.value(i), doc_hash });
            }
        }

        let mut report = IntegrityReport { full: filter.is_none(), documents: document_rows, chunks: chunk_rows, ..Default::default() };
        let mut paths: Vec<String> = documents.keys().chain(chunks.keys()).cloned().collect();
        paths.sort();
        paths.dedup();
        for path in &paths {
            check_path(path, documents.get_mut(path.as_str()), chunks.get_mut(path.as_str()), &mut report);
        }
        Ok(report)
    }
}

/// The invariants of one path; records violations and the repairs they call for.
fn check_path(path: &str, docs: Option<&mut Vec<DocRow>>, chunks: Option<&mut PathChunks>, report: &mut IntegrityReport) {
    let empty = &mut Vec::new();
    let docs = docs.unwrap_or(empty);
    // Keep the newest row of a path; a tie goes to the one whose version the chunks carry.
    let kept_hash = |d: &DocRow| d.record.hash.clone();
    let chunk_hashes: Vec<String> = chunks.as_ref().map(|c| c.hashes.clone()).unwrap_or_default();
    docs.sort_by_key(|d| (std::cmp::Reverse(d.record.updated_ms), !kept_hash(d).is_some_and(|h| chunk_hashes.contains(&h))));
    if docs.len() > 1 {
        report.violations.push(Violation::DuplicateDocument { path: path.to_string(), rows: docs.len() });
        report.plan.extra_document_rows.extend(docs[1..].iter().map(|d| d.row));
    }
    let Some(chunks) = chunks else {
        if let Some(doc) = docs.first()
            && doc.record.status == DocStatus::Indexed
            && doc.record.chunks > 0
        {
            report.violations.push(Violation::ChunkCountMismatch { path: path.to_string(), expected: doc.record.chunks, found: 0 });
            report.plan.redo.push(path.to_string());
        }
        return;
    };
    let doc = match docs.first() {
        Some(d) if d.record.status == DocStatus::Indexed => &d.record,
        other => {
            let reason = if other.is_some() { OrphanReason::NotIndexed } else { OrphanReason::NoDocument };
            report.violations.push(Violation::OrphanChunks { path: path.to_string(), chunks: chunks.rows.len(), reason });
            report.plan.orphans.push(path.to_string());
            return;
        }
    };
    let current = doc.hash.as_deref().and_then(|h| chunks.hashes.iter().position(|x| x == h)).map(|i| i as u32);
    // Duplicates: the same id (ordinal) twice. Keep one row of each, the indexed version's where
    // there is one (two writers may each have written their own version of the file).
    chunks.rows.sort_by_key(|c| (c.ordinal, Some(c.doc_hash) != current, c.row));
    let mut extra = 0;
    let mut kept: Vec<&ChunkRow> = Vec::with_capacity(chunks.rows.len());
    for c in &chunks.rows {
        if kept.last().is_some_and(|k| k.ordinal == c.ordinal) {
            extra += 1;
            report.plan.extra_chunk_rows.push(c.row);
        } else {
            kept.push(c);
        }
    }
    if extra > 0 {
        report.violations.push(Violation::DuplicateChunks { path: path.to_string(), extra });
    }
    let stale = kept.iter().filter(|c| Some(c.doc_hash) != current).count();
    if stale > 0 {
        report.violations.push(Violation::StaleChunks { path: path.to_string(), chunks: stale });
    }
    let ordinals: Vec<u32> = kept.iter().filter(|c| Some(c.doc_hash) == current).map(|c| c.ordinal).collect();
    let complete = ordinals.len() == doc.chunks as usize && ordinals.iter().enumerate().all(|(i, &o)| o as usize == i);
    if !complete {
        report.violations.push(Violation::ChunkCountMismatch { path: path.to_string(), expected: doc.chunks, found: ordinals.len() });
    }
    if stale > 0 || !complete {
        report.plan.redo.push(path.to_string());
    }
}

impl crate::StoreWriter {
    /// Carry out the repairs a check found. Orphan chunks are removed only when
    /// `remove_orphans` is set: a sync leaves them until its end, as a cache of vectors for the
    /// files it redoes.
    pub async fn repair(&self, report: &IntegrityReport, remove_orphans: bool) -> Result<RepairSummary> {
        let plan = &report.plan;
        let mut summary = RepairSummary::default();
        let store = &self.store;
        for rows in plan.extra_document_rows.chunks(1024) {
            store.documents.delete(&row_id_list(rows)).await?;
            summary.duplicate_documents_removed += rows.len();
        }
        crate::crash::crash_point("store:repair-documents");
        for rows in plan.extra_chunk_rows.chunks(1024) {
            store.chunks.delete(&row_id_list(rows)).await?;
            summary.duplicate_chunks_removed += rows.len();
        }
        crate::crash::crash_point("store:repair-chunks");
        for paths in plan.redo.chunks(512) {
            let updated = store
                .documents
                .update()
                .only_if(in_list("path", paths))
                .column("status", format!("'{}'", DocStatus::Pending.as_str()))
                .execute()
                .await?;
            summary.documents_to_redo += updated.rows_updated as usize;
        }
        crate::crash::crash_point("store:repair-pending");
        if remove_orphans {
            summary.orphan_chunks_removed = self.remove_orphan_chunks(&plan.orphans).await?;
        }
        Ok(summary)
    }

    /// Remove the chunks of `paths` that have no indexed document row of their version, and the
    /// identities of those without an indexed document row. Used after a sync for the paths
    /// whose orphans it kept as a vector cache.
    pub async fn remove_orphan_chunks(&self, paths: &[String]) -> Result<usize> {
        if paths.is_empty() {
            return Ok(0);
        }
        let mut removed = 0;
        for group in paths.chunks(512) {
            let group: Vec<String> = group.to_vec();
            // Only chunks nothing owns: a path whose document is indexed keeps its own version.
            let mut orphan_rows: Vec<u64> = Vec::new();
            let owned = self.owned_chunk_hashes(&group).await?;
            // An identity written with the orphans (its document row never was) goes with them.
            let unowned: Vec<String> = group.iter().filter(|p| !owned.contains_key(*p)).cloned().collect();
            self.remove_identities(&unowned).await?;
            let batches: Vec<RecordBatch> = self
                .store
                .chunks
                .query()
                .only_if(in_list("path", &group))
                .select(Select::columns(&["path", "doc_hash"]))
                .with_row_id()
                .execute()
                .await?
                .try_collect()
                .await?;
            for b in &batches {
                let rows = records::typed_column::<UInt64Array>(b, "_rowid")?;
                let paths = records::string_column(b, "path")?;
                let hashes = records::string_column(b, "doc_hash")?;
                for i in 0..b.num_rows() {
                    if owned.get(paths.value(i)).map(String::as_str) != Some(hashes.value(i)) {
                        orphan_rows.push(rows.value(i));
                    }
                }
            }
            for rows in orphan_rows.chunks(1024) {
                self.store.chunks.delete(&row_id_list(rows)).await?;
                removed += rows.len();
            }
        }
        Ok(removed)
    }

    /// path → hash of its indexed version, for these paths.
    async fn owned_chunk_hashes(&self, paths: &[String]) -> Result<HashMap<String, String>> {
        let batches: Vec<RecordBatch> = self.store.documents.query().only_if(in_list("path", paths)).execute().await?.try_collect().await?;
        let mut out = HashMap::new();
        for b in &batches {
            for d in records::documents_from_batch(b)? {
                if d.status == DocStatus::Indexed
                    && let Some(h) = d.hash
                {
                    out.insert(d.path, h);
                }
            }
        }
        Ok(out)
    }
}

fn row_id_list(rows: &[u64]) -> String {
    let list: Vec<String> = rows.iter().map(u64::to_string).collect();
    format!("_rowid IN ({})", list.join(", "))
}
