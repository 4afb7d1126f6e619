//! `brain-store` is the knowledge base on disk: LanceDB embedded in the data directory, with a
//! `documents` table (one row per file: hash, size, mtime, status, error) and a `chunks` table
//! (text, location, vector), searched by vector, by BM25 keywords, or both fused.
//!
//! Key design decisions:
//! - One writer at a time, across processes: writing needs a [`StoreWriter`], which holds the
//!   index's [`IndexLock`] and re-reads both tables when it is made. LanceDB's `merge_insert` is
//!   not a uniqueness constraint between writers (two that insert the same new key both
//!   commit), so without the lock a second `brain index`, or the CLI beside the app's watcher,
//!   duplicated documents and chunks.
//! - A file's chunks are replaced in one LanceDB commit (`merge_insert` with "delete what the
//!   source lacks" limited to that file's path), so a reader never sees a file half old, half
//!   new. The two tables cannot commit together, so a write first records the paths it touches
//!   in a journal, commits chunks, then document rows, then removals, and deletes the journal.
//!   A writer that finds a journal checks those files (see [`integrity`]) and repairs them
//!   without re-embedding: the next sync redoes a half-written file from its stored vectors.
//! - The invariants (one row per path and per chunk, every chunk owned by the indexed version
//!   of its file, chunk counts that match) are checked cheaply by every writer and fully by
//!   [`Store::check`]; see [`integrity`].
//! - Hybrid search is reciprocal rank fusion of the vector and BM25 lists, done here rather than
//!   with LanceDB's reranker so the candidate depth and the cosine similarity of every hit (which
//!   the engine uses to decide "nothing relevant") are under our control.
//! - Vectors are stored L2-normalised; cosine distance is what LanceDB ranks by.

pub mod crash;
pub mod integrity;
mod lock;
mod records;
mod search;

pub use brain_parse::Location;
pub use integrity::{CheckScope, IntegrityReport, RepairSummary, Violation};
pub use lock::{IndexLock, LockHolder};
pub use records::{DocStatus, DocumentRecord, NewChunk};
pub use search::Hit;

use records::ChunkRecord;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::index::Index;
use lancedb::index::scalar::FtsIndexBuilder;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::table::OptimizeAction;
use lancedb::{Connection, Table};

const DOCUMENTS: &str = "documents";
const CHUNKS: &str = "chunks";
/// Rows outside an index (searched by a flat scan) tolerated before the index is updated: this
/// many, or a tenth of the table up to [`UNINDEXED_ROWS_CAP`].
const UNINDEXED_ROWS_MAX: usize = 2_000;
const UNINDEXED_ROWS_CAP: usize = 20_000;
/// Delta segments of an index (one per update) before they are merged.
pub const INDEX_SEGMENTS_MAX: usize = 8;
/// What the vector index was trained as: its kind and the table's rows then.
const TRAINED_INDEX: &str = "vector-index.json";
/// Small fragments tolerated before a table is compacted.
const SMALL_FRAGMENTS_MAX: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("index database error: {0}")]
    Lance(#[from] lancedb::Error),
    #[error("index data error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("the index holds {found}-dimensional vectors but the embedder makes {expected}: the index must be rebuilt")]
    DimensionMismatch { found: usize, expected: usize },
    #[error("corrupt row in the index: {0}")]
    Corrupt(String),
    #[error("cannot lock the index ({path}): {reason}")]
    Lock { path: PathBuf, reason: String },
    #[error("cannot write the index journal ({path}): {reason}")]
    Journal { path: PathBuf, reason: String },
    #[error("cancelled")]
    Cancelled,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How the chunks table is indexed and searched as it grows. The defaults come from
/// `brain bench scale` (see the README's scale table); tests and benchmarks change them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexPolicy {
    /// Below this many chunks an exact (flat) vector scan is fast and has perfect recall; from
    /// here on an approximate (ANN) index is built and kept up to date.
    pub vector_index_min_rows: usize,
    pub vector_index: VectorIndexKind,
    /// IVF partitions probed per query (more: better recall, slower).
    pub nprobes: usize,
    /// ANN candidates re-ranked by their exact vectors, as a multiple of the hits asked for
    /// (restores the ranking that PQ codes blur).
    pub refine_factor: u32,
}

/// The kind of ANN index (LanceDB's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorIndexKind {
    /// IVF partitions of product-quantised codes: small in memory, needs refining for recall.
    IvfPq,
    /// An HNSW graph per IVF partition over 8-bit scalar-quantised vectors.
    IvfHnswSq,
    /// IVF with RaBitQ codes.
    IvfRq,
    /// IVF partitions of 8-bit scalar-quantised vectors, scanned.
    IvfSq,
}

impl VectorIndexKind {
    pub fn parse(name: &str) -> Option<VectorIndexKind> {
        match name {
            "ivf-pq" => Some(VectorIndexKind::IvfPq),
            "ivf-hnsw-sq" => Some(VectorIndexKind::IvfHnswSq),
            "ivf-rq" => Some(VectorIndexKind::IvfRq),
            "ivf-sq" => Some(VectorIndexKind::IvfSq),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VectorIndexKind::IvfPq => "ivf-pq",
            VectorIndexKind::IvfHnswSq => "ivf-hnsw-sq",
            VectorIndexKind::IvfRq => "ivf-rq",
            VectorIndexKind::IvfSq => "ivf-sq",
        }
    }

    fn index(self, dimension: usize, rows: usize) -> Index {
        use lancedb::index::vector::{IvfHnswSqIndexBuilder, IvfPqIndexBuilder, IvfRqIndexBuilder, IvfSqIndexBuilder};
        // About √rows partitions (LanceDB's own rule), fewer for small tables so that each has
        // enough rows to train on.
        let partitions = ((rows as f64).sqrt() as u32).clamp(1, (rows / 64).max(1) as u32);
        let cosine = lancedb::DistanceType::Cosine;
        match self {
            VectorIndexKind::IvfPq => {
                // 4 dimensions per sub-vector: 4× LanceDB's default code size, for recall.
                let sub_vectors = if dimension.is_multiple_of(4) { dimension / 4 } else { 1 };
                Index::IvfPq(
                    IvfPqIndexBuilder::default().distance_type(cosine).num_partitions(partitions).num_sub_vectors(sub_vectors as u32),
                )
            }
            VectorIndexKind::IvfHnswSq => {
                Index::IvfHnswSq(IvfHnswSqIndexBuilder::default().distance_type(cosine).num_partitions(partitions))
            }
            VectorIndexKind::IvfRq => Index::IvfRq(IvfRqIndexBuilder::default().distance_type(cosine).num_partitions(partitions)),
            VectorIndexKind::IvfSq => Index::IvfSq(IvfSqIndexBuilder::default().distance_type(cosine).num_partitions(partitions)),
        }
    }
}

impl Default for IndexPolicy {
    fn default() -> Self {
        // From `brain bench scale` (release, 2 cores; README "Scale"): at 20,000 chunks an exact
        // scan takes 12 ms a query and the index 3 ms at recall 0.99; IVF-RQ builds in a
        // fraction of IVF-PQ's time (14 s against 75 s at 100k) and needs a fifth of the
        // refining for the same recall; 80 probes of √rows partitions keep recall@10 ≥ 0.95 up
        // to 1M chunks (0.967) at 5 ms.
        IndexPolicy { vector_index_min_rows: 20_000, vector_index: VectorIndexKind::IvfRq, nprobes: 80, refine_factor: 5 }
    }
}

/// The vector index as it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VectorIndexState {
    pub kind: String,
    pub indexed_rows: usize,
    /// Rows added since the index was last updated (searched by an exact scan beside it).
    pub unindexed_rows: usize,
    /// The index's parts: the trained one plus a delta per incremental update.
    pub segments: u32,
}

/// Which chunks a search may return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only files whose absolute path starts with this folder.
    pub folder: Option<String>,
}

impl SearchFilter {
    /// A range on `path` rather than `starts_with`: the path's BTree index answers a range, so
    /// a folder filter is a cheap pre-filter at any table size. `'0'` follows `'/'` in byte
    /// order, so `[folder/, folder0)` is exactly the paths under the folder.
    fn sql(&self) -> Option<String> {
        self.folder.as_ref().map(|f| {
            let folder = f.trim_end_matches('/');
            format!("path >= {} AND path < {}", sql_string(&format!("{folder}/")), sql_string(&format!("{folder}0")))
        })
    }
}

/// A SQL string literal.
pub(crate) fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The open store. Reading needs nothing more; writing needs a [`StoreWriter`].
#[derive(Clone)]
pub struct Store {
    documents: Table,
    chunks: Table,
    dimension: usize,
    dir: PathBuf,
    policy: IndexPolicy,
}

/// The one writer of a store: holds the [`IndexLock`] while it lives.
pub struct StoreWriter {
    store: Store,
    _lock: IndexLock,
}

/// What a writer found when it started, and what it repaired.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Every document row, after the repairs.
    pub documents: Vec<DocumentRecord>,
    /// The check that was run: `None` when the quick check found nothing and no write was
    /// interrupted.
    pub report: Option<IntegrityReport>,
    pub repaired: RepairSummary,
    /// Paths with orphan chunks, left in place as a vector cache: remove them with
    /// [`StoreWriter::remove_orphan_chunks`] once the sync has redone what it will.
    pub orphans: Vec<String>,
}

/// Readers in other processes see a writer's commits within this time.
const READ_CONSISTENCY: Duration = Duration::from_secs(1);
/// Written before a write's first commit, deleted after its last: the paths it touches.
const JOURNAL: &str = "write-journal.json";
/// More paths than this in an interrupted write: check everything instead of a path list.
const JOURNAL_PATHS_MAX: usize = 2_000;

/// One batch of changes, committed together.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub documents: Vec<DocumentWrite>,
    /// Paths to remove entirely.
    pub removed: Vec<String>,
}

/// A document row to write and what happens to its chunks.
#[derive(Debug)]
pub struct DocumentWrite {
    pub record: DocumentRecord,
    /// `Some`: replace the file's chunks with these (empty for a failed file).
    /// `None`: keep its chunks (only the row changed, e.g. a new mtime on the same content).
    pub chunks: Option<Vec<NewChunk>>,
}

impl Store {
    /// Open (or create) the store in `dir` for vectors of `dimension`.
    pub async fn open(dir: &Path, dimension: usize) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
        let uri = dir.to_string_lossy().to_string();
        let db = lancedb::connect(&uri).read_consistency_interval(READ_CONSISTENCY).execute().await?;
        let documents = open_or_create(&db, DOCUMENTS, records::documents_schema()).await?;
        let chunks = open_or_create(&db, CHUNKS, records::chunks_schema(dimension)).await?;
        let found = vector_dimension(chunks.schema().await?.as_ref());
        if found != dimension {
            return Err(StoreError::DimensionMismatch { found, expected: dimension });
        }
        Ok(Store { documents, chunks, dimension, dir: dir.to_path_buf(), policy: IndexPolicy::default() })
    }

    /// The same store indexed and searched by another policy.
    pub fn with_policy(mut self, policy: IndexPolicy) -> Store {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> IndexPolicy {
        self.policy
    }

    /// Bytes the store takes on disk (every version LanceDB still keeps).
    pub fn disk_bytes(&self) -> u64 {
        fn bytes_under(dir: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
                .map(|(path, kind)| if kind.is_dir() { bytes_under(&path) } else { path.metadata().map_or(0, |m| m.len()) })
                .sum()
        }
        bytes_under(&self.dir)
    }

    /// The chunks table's vector index, if it has one.
    pub async fn vector_index_state(&self) -> Result<Option<VectorIndexState>> {
        let indexes = self.chunks.list_indices().await?;
        let Some(index) = indexes.iter().find(|i| i.columns.iter().any(|c| c == "vector")) else { return Ok(None) };
        let Some(stats) = self.chunks.index_stats(&index.name).await? else { return Ok(None) };
        Ok(Some(VectorIndexState {
            kind: index.index_type.to_string(),
            indexed_rows: stats.num_indexed_rows,
            unindexed_rows: stats.num_unindexed_rows,
            segments: stats.num_indices.unwrap_or(1),
        }))
    }

    /// The names of the chunks table's indexes, with the columns they cover.
    pub async fn chunk_indexes(&self) -> Result<Vec<(String, Vec<String>, String)>> {
        Ok(self.chunks.list_indices().await?.into_iter().map(|i| (i.name, i.columns, i.index_type.to_string())).collect())
    }

    /// The paths of a write that did not finish, if one did not (its journal is still there).
    pub fn interrupted_write(&self) -> Option<Vec<String>> {
        let bytes = std::fs::read(self.dir.join(JOURNAL)).ok()?;
        match serde_json::from_slice::<Journal>(&bytes) {
            Ok(j) => Some(j.paths),
            // A torn journal (it is renamed into place, so this should not happen): check all.
            Err(_) => Some(Vec::new()),
        }
    }

    /// Become the store's writer: `lock` proves no other process writes; both tables are re-read
    /// at their latest version (another process may have written since they were opened), and
    /// what an interrupted write or an earlier writer left is checked and repaired.
    pub async fn writer(&self, lock: IndexLock) -> Result<(StoreWriter, Recovery)> {
        self.documents.checkout_latest().await?;
        self.chunks.checkout_latest().await?;
        let writer = StoreWriter { store: self.clone(), _lock: lock };
        let recovery = writer.recover().await?;
        Ok((writer, recovery))
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Every document row.
    pub async fn documents(&self) -> Result<Vec<DocumentRecord>> {
        let batches: Vec<RecordBatch> = self.documents.query().execute().await?.try_collect().await?;
        batches.iter().map(records::documents_from_batch).collect::<Result<Vec<_>>>().map(|v| v.concat())
    }

    pub async fn chunk_count(&self) -> Result<usize> {
        Ok(self.chunks.count_rows(None).await?)
    }

    /// Chunks stored for the file at `path`.
    pub async fn chunk_count_of(&self, path: &str) -> Result<usize> {
        Ok(self.chunks.count_rows(Some(format!("path = {}", sql_string(path)))).await?)
    }

    /// Every chunk's text and location by file, in chunk order.
    pub async fn chunk_contents(&self) -> Result<std::collections::BTreeMap<String, Vec<(String, Location)>>> {
        let batches: Vec<RecordBatch> =
            self.chunks.query().select(Select::columns(&["path", "ordinal", "text", "location"])).execute().await?.try_collect().await?;
        let mut by_path: std::collections::BTreeMap<String, Vec<(u32, String, Location)>> = Default::default();
        for b in &batches {
            let path = records::string_column(b, "path")?;
            let ordinal = records::typed_column::<arrow_array::UInt32Array>(b, "ordinal")?;
            let text = records::string_column(b, "text")?;
            let location = records::string_column(b, "location")?;
            for i in 0..b.num_rows() {
                by_path.entry(path.value(i).to_string()).or_default().push((
                    ordinal.value(i),
                    text.value(i).to_string(),
                    records::location_from_json(location.value(i)),
                ));
            }
        }
        Ok(by_path
            .into_iter()
            .map(|(p, mut chunks)| {
                chunks.sort_by_key(|(o, _, _)| *o);
                (p, chunks.into_iter().map(|(_, t, l)| (t, l)).collect())
            })
            .collect())
    }

    /// Up to `n` chunks, spread evenly over the table: (text, context). For benchmarks.
    pub async fn sample_chunks(&self, n: usize) -> Result<Vec<(String, Option<String>)>> {
        self.sample_rows(n, &["text", "context"], |b, i| {
            let context = records::string_column(b, "context")?;
            Ok((records::string_column(b, "text")?.value(i).to_string(), (!context.is_null(i)).then(|| context.value(i).to_string())))
        })
        .await
    }

    /// Up to `n` chunks spread evenly over the table, with their vectors: the raw material of
    /// the scale benchmark's synthetic index.
    pub async fn sample_chunks_with_vectors(&self, n: usize) -> Result<Vec<(NewChunk, String)>> {
        self.sample_rows(n, &["path", "text", "context", "location", "chunk_hash", "vector"], |b, i| {
            let context = records::string_column(b, "context")?;
            let vectors = records::vectors_column(b)?.ok_or_else(|| StoreError::Corrupt("a chunk row without a vector".into()))?;
            let chunk = NewChunk {
                text: records::string_column(b, "text")?.value(i).to_string(),
                context: (!context.is_null(i)).then(|| context.value(i).to_string()),
                location: records::location_from_json(records::string_column(b, "location")?.value(i)),
                chunk_hash: records::string_column(b, "chunk_hash")?.value(i).to_string(),
                vector: records::f32_values(vectors, i),
            };
            Ok((chunk, records::string_column(b, "path")?.value(i).to_string()))
        })
        .await
    }

    /// Every `total / n`-th row of the chunks table (at most `n`), each made into a value by
    /// `pick(batch, row)`. Batches are read one at a time, so a big table is never held whole.
    async fn sample_rows<T>(&self, n: usize, columns: &[&str], mut pick: impl FnMut(&RecordBatch, usize) -> Result<T>) -> Result<Vec<T>> {
        let total = self.chunks.count_rows(None).await?;
        let step = (total / n.max(1)).max(1);
        let mut batches = self.chunks.query().select(Select::columns(columns)).execute().await?;
        let mut out = Vec::new();
        let mut row = 0usize;
        while let Some(b) = batches.try_next().await? {
            for i in 0..b.num_rows() {
                if row.is_multiple_of(step) && out.len() < n {
                    out.push(pick(&b, i)?);
                }
                row += 1;
            }
        }
        Ok(out)
    }

    /// Stored vectors for these chunk hashes (equal hash, equal embedded text, equal vector):
    /// an edited, renamed or copied file re-embeds only chunks whose text is new.
    pub async fn vectors_by_chunk_hash(&self, hashes: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let mut out = HashMap::new();
        if hashes.is_empty() || self.chunks.count_rows(None).await? == 0 {
            return Ok(out);
        }
        let mut unique: Vec<String> = hashes.to_vec();
        unique.sort();
        unique.dedup();
        for group in unique.chunks(512) {
            let batches: Vec<RecordBatch> = self
                .chunks
                .query()
                .only_if(in_list("chunk_hash", group))
                .select(Select::columns(&["chunk_hash", "vector"]))
                .execute()
                .await?
                .try_collect()
                .await?;
            for b in &batches {
                let hashes = records::string_column(b, "chunk_hash")?;
                let Some(vectors) = records::vectors_column(b)? else { continue };
                for i in 0..b.num_rows() {
                    out.entry(hashes.value(i).to_string()).or_insert_with(|| records::f32_values(vectors, i));
                }
            }
        }
        Ok(out)
    }

    /// Vector search: the `k` chunks nearest to `query` (a normalised vector), through the ANN
    /// index where there is one (rows not yet in it are scanned exactly, so they are found).
    pub async fn search_vector(&self, query: &[f32], k: usize, filter: &SearchFilter) -> Result<Vec<Hit>> {
        self.vector_query(query, k, filter, false).await
    }

    /// Vector search by an exact scan of every row, whatever indexes exist (the reference the
    /// ANN index's recall is measured against).
    pub async fn search_vector_exact(&self, query: &[f32], k: usize, filter: &SearchFilter) -> Result<Vec<Hit>> {
        self.vector_query(query, k, filter, true).await
    }

    async fn vector_query(&self, query: &[f32], k: usize, filter: &SearchFilter, exact: bool) -> Result<Vec<Hit>> {
        let mut q = self
            .chunks
            .query()
            .nearest_to(query)?
            .distance_type(lancedb::DistanceType::Cosine)
            .limit(k)
            .select(Select::columns(search::HIT_COLUMNS));
        q = if exact { q.bypass_vector_index() } else { q.nprobes(self.policy.nprobes)?.refine_factor(self.policy.refine_factor) };
        if let Some(f) = filter.sql() {
            q = q.only_if(f);
        }
        let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
        search::hits_from_batches(&batches, Some(query), search::ScoreColumn::Distance)
    }

    /// Keyword search (BM25 over text and heading context).
    pub async fn search_keyword(&self, query: &str, k: usize, filter: &SearchFilter, query_vector: Option<&[f32]>) -> Result<Vec<Hit>> {
        if !query.chars().any(char::is_alphanumeric) || self.chunks.count_rows(None).await? == 0 {
            return Ok(Vec::new());
        }
        let fts = lancedb::index::scalar::FullTextSearchQuery::new(query.to_string());
        let mut q = self.chunks.query().full_text_search(fts).limit(k).select(Select::columns(search::HIT_COLUMNS));
        if let Some(f) = filter.sql() {
            q = q.only_if(f);
        }
        let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
        search::hits_from_batches(&batches, query_vector, search::ScoreColumn::Bm25)
    }
}

impl StoreWriter {
    /// The store this writer writes (for reads while writing).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Commit a batch: chunks first (one commit), then document rows (one commit), then removals.
    pub async fn write(&self, batch: WriteBatch) -> Result<()> {
        let WriteBatch { documents, removed } = batch;
        let mut touched: Vec<String> = documents.iter().map(|d| d.record.path.clone()).collect();
        touched.extend(removed.iter().cloned());
        if touched.is_empty() {
            return Ok(());
        }
        self.begin_journal(&touched)?;
        crash::crash_point("store:journal-written");
        let store = &self.store;
        let mut records = Vec::with_capacity(documents.len());
        let mut replaced = Vec::new();
        let mut rows: Vec<ChunkRecord> = Vec::new();
        for d in documents {
            if let Some(chunks) = d.chunks {
                replaced.push(d.record.path.clone());
                rows.extend(ChunkRecord::of_document(&d.record, chunks));
            }
            records.push(d.record);
        }
        if !replaced.is_empty() {
            let path_filter = in_list("path", &replaced);
            if rows.is_empty() {
                store.chunks.delete(path_filter.as_str()).await?;
            } else {
                let data = records::chunks_batch(&rows.iter().collect::<Vec<_>>(), store.dimension)?;
                drop(rows);
                let mut merge = store.chunks.merge_insert(&["id"]);
                merge.when_matched_update_all(None).when_not_matched_insert_all().when_not_matched_by_source_delete(Some(path_filter));
                merge.execute(reader(data)).await?;
            }
        }
        crash::crash_point("store:chunks-committed");
        if !records.is_empty() {
            let data = records::documents_batch(&records.iter().collect::<Vec<_>>())?;
            let mut merge = store.documents.merge_insert(&["path"]);
            merge.when_matched_update_all(None).when_not_matched_insert_all();
            merge.execute(reader(data)).await?;
        }
        crash::crash_point("store:documents-committed");
        for group in removed.chunks(512) {
            let filter = in_list("path", group);
            store.chunks.delete(filter.as_str()).await?;
            crash::crash_point("store:removed-chunks");
            store.documents.delete(filter.as_str()).await?;
            crash::crash_point("store:removed-documents");
        }
        self.end_journal()
    }

    /// Keep the tables fast as they change: create the full-text index if missing; fold new
    /// rows into the indexes once enough have piled up (until then LanceDB searches them flat,
    /// so they are found either way and a one-file edit does not pay for an index update);
    /// build the vector index once the table is big enough to need one; compact when many small
    /// fragments have accumulated (every commit adds one).
    pub async fn maintain(&self) -> Result<()> {
        let rows = self.store.chunks.count_rows(None).await?;
        if rows == 0 {
            return Ok(());
        }
        let indexes = self.store.chunks.list_indices().await?;
        let index_on = |column: &str| indexes.iter().find(|i| i.columns.iter().any(|c| c == column)).map(|i| i.name.clone());
        // Rows outside an index are searched by a scan beside it: found at once, but each costs
        // every query a little. Fold them in once there are more than a cheap scan's worth.
        let too_many_unindexed = UNINDEXED_ROWS_MAX.max(rows / 10).min(UNINDEXED_ROWS_CAP);
        let mut stale = false;
        match index_on("search_text") {
            None => {
                self.store.chunks.create_index(&["search_text"], Index::FTS(FtsIndexBuilder::default())).execute().await?;
                crash::crash_point("store:maintain-fts");
            }
            Some(name) => stale |= self.unindexed_rows(&name).await? > too_many_unindexed,
        }
        // Deletes, edits and folder filters select by path: a BTree makes them lookups.
        match index_on("path") {
            None => self.store.chunks.create_index(&["path"], Index::BTree(Default::default())).execute().await?,
            Some(name) => stale |= self.unindexed_rows(&name).await? > too_many_unindexed,
        }
        let policy = self.store.policy;
        let trained = self.trained_vector_index();
        // Missing, of another kind than the policy's (an older build's), or trained on a table a
        // quarter of today's (its partitions have grown four times): train anew. Until it is
        // built, searches use the old index or a scan; nothing waits.
        let vector_index = index_on("vector");
        let retrain = rows >= policy.vector_index_min_rows
            && (vector_index.is_none() || trained.as_ref().is_none_or(|t| t.kind != policy.vector_index.as_str() || rows >= t.rows * 4));
        if retrain {
            let index = policy.vector_index.index(self.store.dimension, rows);
            self.store.chunks.create_index(&["vector"], index).replace(true).execute().await?;
            self.record_trained_vector_index(&TrainedIndex { kind: policy.vector_index.as_str().to_string(), rows })?;
        } else if let Some(name) = vector_index {
            stale |= self.unindexed_rows(&name).await? > too_many_unindexed;
        }
        for table in [&self.store.chunks, &self.store.documents] {
            if table.stats().await?.fragment_stats.num_small_fragments >= SMALL_FRAGMENTS_MAX {
                table.optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None }).await?;
                crash::crash_point("store:maintain-compact");
                table
                    .optimize(OptimizeAction::Prune {
                        older_than: Some(lancedb::table::optimize::Duration::hours(1)),
                        delete_unverified: None,
                        error_if_tagged_old_versions: None,
                    })
                    .await?;
                stale = true;
            }
        }
        if stale {
            self.optimise_indexes().await?;
        }
        Ok(())
    }

    /// Fold every row not yet in an index into it now, whatever the thresholds of
    /// [`StoreWriter::maintain`] say. New rows become a delta segment of each index (the
    /// trained partitions are kept: LanceDB's default optimisation re-balanced them and lost
    /// both recall and speed in `brain bench scale`); past [`INDEX_SEGMENTS_MAX`] segments they
    /// are merged into one.
    pub async fn optimise_indexes(&self) -> Result<()> {
        let segments = self.store.vector_index_state().await?.map_or(1, |s| s.segments as usize);
        let options = if segments >= INDEX_SEGMENTS_MAX {
            lancedb::table::OptimizeOptions::merge(segments)
        } else {
            lancedb::table::OptimizeOptions::append()
        };
        self.store.chunks.optimize(OptimizeAction::Index(options)).await?;
        Ok(())
    }

    fn trained_vector_index(&self) -> Option<TrainedIndex> {
        serde_json::from_slice(&std::fs::read(self.store.dir.join(TRAINED_INDEX)).ok()?).ok()
    }

    fn record_trained_vector_index(&self, trained: &TrainedIndex) -> Result<()> {
        let path = self.store.dir.join(TRAINED_INDEX);
        let error = |e: &dyn std::fmt::Display| StoreError::Journal { path: path.clone(), reason: e.to_string() };
        let bytes = serde_json::to_vec(trained).map_err(|e| error(&e))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path)).map_err(|e| error(&e))
    }

    async fn unindexed_rows(&self, index: &str) -> Result<usize> {
        Ok(self.store.chunks.index_stats(index).await?.map_or(0, |s| s.num_unindexed_rows))
    }

    fn journal_path(&self) -> PathBuf {
        self.store.dir.join(JOURNAL)
    }

    fn begin_journal(&self, paths: &[String]) -> Result<()> {
        let path = self.journal_path();
        let error = |e: &dyn std::fmt::Display| StoreError::Journal { path: path.clone(), reason: e.to_string() };
        let text = serde_json::to_vec(&Journal { paths: paths.to_vec() }).map_err(|e| error(&e))?;
        let tmp = path.with_extension("json.tmp");
        // Durable before the first commit: a crash after it must find the journal.
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.store.dir)?.sync_all()
        };
        write().map_err(|e| error(&e))
    }

    fn end_journal(&self) -> Result<()> {
        match std::fs::remove_file(self.journal_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Journal { path: self.journal_path(), reason: e.to_string() }),
        }
    }

    fn interrupted_write(&self) -> Option<Vec<String>> {
        self.store.interrupted_write()
    }

    /// Check what an interrupted write or an earlier writer may have left and repair it (see
    /// [`integrity`]). Cheap when all is well: the documents table and a row count.
    async fn recover(&self) -> Result<Recovery> {
        let documents = self.store.documents().await?;
        let interrupted = self.interrupted_write();
        let quick_ok = self.store.quick_check(&documents).await?;
        let scope = match (&interrupted, quick_ok) {
            (None, true) => return Ok(Recovery { documents, ..Default::default() }),
            (Some(paths), true) if !paths.is_empty() && paths.len() <= JOURNAL_PATHS_MAX => CheckScope::Paths(paths.clone()),
            _ => CheckScope::Everything,
        };
        let report = self.store.check(&scope).await?;
        let repaired = self.repair(&report, false).await?;
        if !report.is_ok() {
            tracing::info!(violations = report.violations.len(), ?repaired, "repaired the index");
        }
        self.end_journal()?;
        let documents =
            if repaired.duplicate_documents_removed + repaired.documents_to_redo > 0 { self.store.documents().await? } else { documents };
        let orphans = report.plan.orphans.clone();
        Ok(Recovery { documents, report: Some(report), repaired, orphans })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TrainedIndex {
    kind: String,
    rows: usize,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    paths: Vec<String>,
}

async fn open_or_create(db: &Connection, name: &str, schema: SchemaRef) -> Result<Table> {
    match db.open_table(name).execute().await {
        Ok(t) => Ok(t),
        Err(lancedb::Error::TableNotFound { .. }) => Ok(db.create_empty_table(name, schema).execute().await?),
        Err(e) => Err(e.into()),
    }
}

fn vector_dimension(schema: &Schema) -> usize {
    match schema.field_with_name("vector").map(Field::data_type) {
        Ok(DataType::FixedSizeList(_, n)) => *n as usize,
        _ => 0,
    }
}

fn reader(batch: RecordBatch) -> Box<dyn arrow_array::RecordBatchReader + Send> {
    let schema = batch.schema();
    Box::new(arrow_array::RecordBatchIterator::new(vec![Ok(batch)], schema))
}

pub(crate) fn in_list(column: &str, values: &[String]) -> String {
    let list: Vec<String> = values.iter().map(|v| sql_string(v)).collect();
    format!("{column} IN ({})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &str, hash: &str, chunks: u32) -> DocumentRecord {
        DocumentRecord {
            path: path.into(),
            folder: "/docs".into(),
            hash: Some(hash.into()),
            size: 1,
            mtime_ns: 1,
            status: DocStatus::Indexed,
            error: None,
            format: Some("text".into()),
            chunks,
            updated_ms: 0,
        }
    }

    fn chunk(path: &str, hash: &str, ordinal: u32, text: &str, vector: [f32; 4]) -> ChunkRecord {
        ChunkRecord {
            id: format!("{path}#{ordinal}"),
            path: path.into(),
            doc_hash: hash.into(),
            ordinal,
            text: text.into(),
            context: Some("Title".into()),
            location: Location::page(1),
            chunk_hash: format!("{hash}-{ordinal}"),
            vector: vector.to_vec(),
        }
    }

    fn write_doc(path: &str, hash: &str, chunks: Vec<ChunkRecord>) -> WriteBatch {
        let record = doc(path, hash, chunks.len() as u32);
        let chunks = chunks
            .into_iter()
            .map(|c| NewChunk { text: c.text, context: c.context, location: c.location, chunk_hash: c.chunk_hash, vector: c.vector })
            .collect();
        WriteBatch { documents: vec![DocumentWrite { record, chunks: Some(chunks) }], removed: vec![] }
    }

    fn paths(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.path.as_str()).collect()
    }

    async fn open_writer(dir: &Path) -> (Store, StoreWriter, Recovery) {
        let store = Store::open(dir, 4).await.unwrap();
        let lock = IndexLock::acquire(&dir.join("index.lock"), |_| {}, || false).await.unwrap();
        let (writer, recovery) = store.writer(lock).await.unwrap();
        (store, writer, recovery)
    }

    #[tokio::test]
    async fn write_search_replace_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        writer
            .write(write_doc(
                "/docs/a.txt",
                "h1",
                vec![
                    chunk("/docs/a.txt", "h1", 0, "zebra crossings are striped", [1.0, 0.0, 0.0, 0.0]),
                    chunk("/docs/a.txt", "h1", 1, "lions hunt at night", [0.0, 1.0, 0.0, 0.0]),
                ],
            ))
            .await
            .unwrap();
        writer.maintain().await.unwrap();
        // Rows added after the full-text index was built must be searchable too.
        writer
            .write(write_doc(
                "/docs/sub/b.txt",
                "h2",
                vec![chunk("/docs/sub/b.txt", "h2", 0, "penguins swim in cold water", [0.0, 0.0, 1.0, 0.0])],
            ))
            .await
            .unwrap();

        let by_vector = store.search_vector(&[0.0, 0.0, 0.9, 0.1], 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(by_vector[0].path, "/docs/sub/b.txt");
        assert!((by_vector[0].similarity.unwrap() - 0.9).abs() < 1e-5, "similarity is the dot product with the stored vector");
        let by_keyword = store.search_keyword("penguins", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(paths(&by_keyword), vec!["/docs/sub/b.txt"]);
        let stemmed = store.search_keyword("zebra crossing", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(stemmed[0].id, "/docs/a.txt#0");
        assert_eq!(by_keyword[0].location, Location::page(1), "locations come back typed");
        let filtered = store.search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &SearchFilter { folder: Some("/docs/sub".into()) }).await.unwrap();
        assert_eq!(paths(&filtered), vec!["/docs/sub/b.txt"]);

        // Re-indexing a file with fewer chunks leaves none of the old ones.
        writer
            .write(write_doc("/docs/a.txt", "h3", vec![chunk("/docs/a.txt", "h3", 0, "giraffes are tall", [1.0, 0.0, 0.0, 0.0])]))
            .await
            .unwrap();
        assert_eq!(store.chunk_count().await.unwrap(), 2);
        assert!(store.search_keyword("lions", 3, &SearchFilter::default(), None).await.unwrap().is_empty());
        let reused = store.vectors_by_chunk_hash(&["h3-0".into(), "h1-1".into()]).await.unwrap();
        assert_eq!(reused.len(), 1, "the replaced chunk's vector is gone");
        assert_eq!(reused.get("h3-0").map(Vec::as_slice), Some(&[1.0, 0.0, 0.0, 0.0][..]));

        writer.write(WriteBatch { documents: vec![], removed: vec!["/docs/a.txt".into()] }).await.unwrap();
        assert_eq!(store.chunk_count().await.unwrap(), 1);
        assert_eq!(store.documents().await.unwrap().len(), 1);
        assert!(store.check(&CheckScope::Everything).await.unwrap().is_ok());
        assert!(!dir.path().join(JOURNAL).exists(), "a finished write leaves no journal");
    }

    /// Rows added behind the writer's back, as a crash or a second writer leaves them.
    async fn add_raw(store: &Store, docs: &[DocumentRecord], chunks: &[ChunkRecord]) {
        if !docs.is_empty() {
            let batch = records::documents_batch(&docs.iter().collect::<Vec<_>>()).unwrap();
            store.documents.add(reader(batch)).execute().await.unwrap();
        }
        if !chunks.is_empty() {
            let batch = records::chunks_batch(&chunks.iter().collect::<Vec<_>>(), 4).unwrap();
            store.chunks.add(reader(batch)).execute().await.unwrap();
        }
    }

    #[tokio::test]
    async fn every_broken_invariant_is_found_and_repaired_without_reembedding() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        let a = vec![
            chunk("/docs/a.txt", "ha", 0, "alpha zero", [1.0, 0.0, 0.0, 0.0]),
            chunk("/docs/a.txt", "ha", 1, "alpha one", [0.0, 1.0, 0.0, 0.0]),
        ];
        let b = vec![chunk("/docs/b.txt", "hb", 0, "beta zero", [0.0, 0.0, 1.0, 0.0])];
        let c = vec![chunk("/docs/c.txt", "hc", 0, "gamma zero", [0.0, 0.0, 0.0, 1.0])];
        for (path, hash, chunks) in [("/docs/a.txt", "ha", a.clone()), ("/docs/b.txt", "hb", b.clone()), ("/docs/c.txt", "hc", c.clone())] {
            writer.write(write_doc(path, hash, chunks)).await.unwrap();
        }
        drop(writer);
        assert!(store.check(&CheckScope::Everything).await.unwrap().is_ok());

        // What two writers left: a's document row and chunks twice. A crash between the two
        // commits of an edit of b: its chunks are of a newer version than its row. And chunks of
        // a file that never got its row.
        add_raw(&store, &[doc("/docs/a.txt", "ha", 2)], &a).await;
        let b_new = vec![
            chunk("/docs/b.txt", "hb2", 0, "beta edited", [0.0, 0.0, 1.0, 0.0]),
            chunk("/docs/b.txt", "hb2", 1, "beta more", [0.0, 0.0, 1.0, 0.0]),
        ];
        let mut merge = store.chunks.merge_insert(&["id"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all();
        merge.execute(reader(records::chunks_batch(&b_new.iter().collect::<Vec<_>>(), 4).unwrap())).await.unwrap();
        add_raw(&store, &[], &[chunk("/docs/d.txt", "hd", 0, "delta orphan", [1.0, 0.0, 0.0, 0.0])]).await;

        let report = store.check(&CheckScope::Everything).await.unwrap();
        let found: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            found,
            vec![
                "/docs/a.txt: 2 document rows (one expected)",
                "/docs/a.txt: 2 duplicate chunk row(s)",
                "/docs/b.txt: 2 chunk(s) from another version of the file",
                "/docs/b.txt: the document row says 1 chunk(s), 0 are stored",
                "/docs/d.txt: 1 chunk(s) without a document row",
            ],
            "{report:?}"
        );
        assert!(!store.quick_check(&store.documents().await.unwrap()).await.unwrap(), "the quick check sees that something is off");

        // The next writer repairs: duplicates go, b is redone by the next sync, d's chunk waits
        // until that sync has had the chance to reuse its vector.
        let lock = IndexLock::acquire(&dir.path().join("index.lock"), |_| {}, || false).await.unwrap();
        let (writer, recovery) = store.writer(lock).await.unwrap();
        assert_eq!(
            recovery.repaired,
            RepairSummary { duplicate_documents_removed: 1, duplicate_chunks_removed: 2, documents_to_redo: 1, orphan_chunks_removed: 0 }
        );
        assert_eq!(recovery.orphans, vec!["/docs/d.txt".to_string()]);
        let statuses: Vec<(String, DocStatus)> = recovery
            .documents
            .iter()
            .map(|d| (d.path.clone(), d.status))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("/docs/a.txt".into(), DocStatus::Indexed),
                ("/docs/b.txt".into(), DocStatus::Pending),
                ("/docs/c.txt".into(), DocStatus::Indexed)
            ]
        );
        // Nothing was re-embedded or lost: the vectors of every chunk are still there.
        assert_eq!(store.vectors_by_chunk_hash(&["hb2-0".into(), "hd-0".into(), "ha-1".into()]).await.unwrap().len(), 3);

        // The sync redoes b (here by hand) and then clears the orphans.
        writer.write(write_doc("/docs/b.txt", "hb2", b_new.clone())).await.unwrap();
        assert_eq!(writer.remove_orphan_chunks(&recovery.orphans).await.unwrap(), 1);
        let after = store.check(&CheckScope::Everything).await.unwrap();
        assert!(after.is_ok(), "{after:?}");
        assert_eq!((after.documents, after.chunks), (3, 5));
    }

    #[tokio::test]
    async fn an_interrupted_write_is_found_through_its_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        writer.write(write_doc("/docs/a.txt", "h1", vec![chunk("/docs/a.txt", "h1", 0, "old text", [1.0, 0.0, 0.0, 0.0])])).await.unwrap();
        // An edit whose chunks committed and whose document row did not: the chunk total still
        // matches, so only the journal tells the writer where to look.
        writer.begin_journal(&["/docs/a.txt".to_string()]).unwrap();
        drop(writer);
        let edited = [chunk("/docs/a.txt", "h2", 0, "new text", [0.0, 1.0, 0.0, 0.0])];
        let chunks: Vec<&ChunkRecord> = edited.iter().collect();
        let mut merge = store.chunks.merge_insert(&["id"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all();
        merge.execute(reader(records::chunks_batch(&chunks, 4).unwrap())).await.unwrap();
        assert!(store.quick_check(&store.documents().await.unwrap()).await.unwrap());

        let (_, _writer, recovery) = open_writer(dir.path()).await;
        let report = recovery.report.expect("the journal called for a check");
        assert!(!report.full, "only the journal's paths were read");
        assert_eq!(recovery.repaired.documents_to_redo, 1);
        assert!(!dir.path().join(JOURNAL).exists(), "the journal is cleared once repaired");
    }

    /// A deterministic unit vector (xorshift), so the test needs no random-number crate.
    fn unit_vector(seed: u64, dimension: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..dimension)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        v
    }

    #[tokio::test]
    async fn past_its_threshold_an_ann_index_is_built_and_edits_are_found_before_it_is_updated() {
        const DIM: usize = 16;
        let dir = tempfile::tempdir().unwrap();
        let policy = IndexPolicy { vector_index_min_rows: 500, ..IndexPolicy::default() };
        let store = Store::open(dir.path(), DIM).await.unwrap().with_policy(policy);
        let lock = IndexLock::acquire(&dir.path().join("index.lock"), |_| {}, || false).await.unwrap();
        let (writer, _) = store.writer(lock).await.unwrap();
        let new_chunk = |text: String, vector: Vec<f32>| NewChunk {
            chunk_hash: blake3_like(&text),
            text,
            context: None,
            location: Location::page(1),
            vector,
        };
        let document = |path: &str, hash: &str, chunks: Vec<NewChunk>| DocumentWrite {
            record: DocumentRecord { folder: "/docs".into(), ..doc(path, hash, chunks.len() as u32) },
            chunks: Some(chunks),
        };
        // 20 files of 30 chunks; the fixture passage sits in the middle of one of them.
        let fixture = unit_vector(10_001, DIM);
        for f in 0..20u64 {
            let folder = if f % 2 == 0 { "/docs/even" } else { "/docs/odd" };
            let chunks = (0..30u64)
                .map(|c| {
                    if f == 7 && c == 15 {
                        new_chunk("the zebra division's quarterly revenue rose by 12 percent".into(), fixture.clone())
                    } else {
                        new_chunk(format!("routine filler passage {c} of file {f} about office supplies"), unit_vector(f * 100 + c, DIM))
                    }
                })
                .collect();
            let batch =
                WriteBatch { documents: vec![document(&format!("{folder}/file-{f}.txt"), &format!("h{f}"), chunks)], removed: vec![] };
            writer.write(batch).await.unwrap();
        }
        writer.maintain().await.unwrap();
        let indexes = store.chunk_indexes().await.unwrap();
        assert!(
            indexes.iter().any(|(_, columns, kind)| columns == &["vector"] && kind == "IVF_RQ"),
            "600 rows is past the 500-row threshold: {indexes:?}"
        );
        assert!(indexes.iter().any(|(_, columns, kind)| columns == &["path"] && kind == "BTREE"), "{indexes:?}");

        let hits = store.search_vector(&fixture, 5, &SearchFilter::default()).await.unwrap();
        assert_eq!(hits[0].id, "/docs/odd/file-7.txt#15", "the ANN index finds the exact passage: {:?}", paths(&hits));
        assert!(hits[0].similarity.unwrap() > 0.999);
        let exact = store.search_vector_exact(&fixture, 10, &SearchFilter::default()).await.unwrap();
        let found = store.search_vector(&fixture, 10, &SearchFilter::default()).await.unwrap();
        let common = exact.iter().filter(|e| found.iter().any(|f| f.id == e.id)).count();
        assert!(common >= 8, "recall@10 of the index against an exact scan: {common}/10");
        let odd = SearchFilter { folder: Some("/docs/odd".into()) };
        let filtered = store.search_vector(&fixture, 10, &odd).await.unwrap();
        assert_eq!(filtered.len(), 10);
        assert!(filtered.iter().all(|h| h.path.starts_with("/docs/odd/")), "{:?}", paths(&filtered));
        assert!(store.search_vector(&fixture, 10, &SearchFilter { folder: Some("/docs/od".into()) }).await.unwrap().is_empty());

        // Edit the fixture's file: the new text and vector are found at once, by both searches,
        // while the vector index has not been updated (its rows are scanned exactly).
        let edited = unit_vector(20_002, DIM);
        let mut chunks: Vec<NewChunk> = (0..30u64)
            .map(|c| new_chunk(format!("routine filler passage {c} of file 7 about office supplies"), unit_vector(700 + c, DIM)))
            .collect();
        chunks[15] = new_chunk("the penguin division's quarterly revenue fell by 3 percent".into(), edited.clone());
        writer.write(WriteBatch { documents: vec![document("/docs/odd/file-7.txt", "h7b", chunks)], removed: vec![] }).await.unwrap();
        let (vector_index, _, _) = indexes.iter().find(|(_, c, _)| c == &["vector"]).unwrap();
        assert!(writer.unindexed_rows(vector_index).await.unwrap() > 0, "the index has not taken the edit in yet");
        let hits = store.search_vector(&edited, 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(
            (hits[0].id.as_str(), hits[0].text.as_str()),
            ("/docs/odd/file-7.txt#15", "the penguin division's quarterly revenue fell by 3 percent")
        );
        let hits = store.search_keyword("penguin division", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(hits[0].id, "/docs/odd/file-7.txt#15");
        assert!(store.search_keyword("zebra", 3, &SearchFilter::default(), None).await.unwrap().is_empty(), "the old text is gone");
        assert!(store.search_vector(&fixture, 3, &SearchFilter::default()).await.unwrap().iter().all(|h| !h.text.contains("zebra")));

        // Folded in as a delta segment: the trained partitions stay, the edit is still found.
        writer.optimise_indexes().await.unwrap();
        let state = store.vector_index_state().await.unwrap().unwrap();
        assert_eq!((state.unindexed_rows, state.kind.as_str()), (0, "IVF_RQ"), "{state:?}");
        let hits = store.search_vector(&edited, 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(hits[0].id, "/docs/odd/file-7.txt#15");
        assert!(store.check(&CheckScope::Everything).await.unwrap().is_ok());
    }

    fn blake3_like(text: &str) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        format!("{:016x}", h.finish())
    }

    #[tokio::test]
    async fn reopening_with_another_dimension_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path(), 4).await.unwrap();
        assert!(matches!(Store::open(dir.path(), 8).await, Err(StoreError::DimensionMismatch { found: 4, expected: 8 })));
    }
}
