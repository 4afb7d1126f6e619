//! `brain-store` is the knowledge base on disk: LanceDB embedded in the data directory, with a
//! `documents` table (one row per file: hash, size, mtime, status, error) and a `chunks` table
//! (text, location, vector), searched by vector, by BM25 keywords, or both fused.
//!
//! Key design decisions:
//! - A file's chunks are replaced in one LanceDB commit (`merge_insert` with "delete what the
//!   source lacks" limited to that file's path), so a reader never sees a file half old, half new.
//!   The document row is written after its chunks: after a crash, a stale document hash makes
//!   the next sync redo that file, never skip it.
//! - Hybrid search is reciprocal rank fusion of the vector and BM25 lists, done here rather than
//!   with LanceDB's reranker so the candidate depth and the cosine similarity of every hit (which
//!   the engine uses to decide "nothing relevant") are under our control.
//! - Vectors are stored L2-normalised; cosine distance is what LanceDB ranks by.

mod records;
mod search;

pub use records::{ChunkRecord, DocStatus, DocumentRecord};
use std::collections::HashMap;
pub use search::{Hit, SearchMode, rrf_fuse};

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::index::Index;
use lancedb::index::scalar::FtsIndexBuilder;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::table::OptimizeAction;
use lancedb::{Connection, Table};

const DOCUMENTS: &str = "documents";
const CHUNKS: &str = "chunks";
/// Below this many chunks an exact (flat) vector scan is fast and has perfect recall; above it
/// an approximate index pays off.
pub const VECTOR_INDEX_MIN_ROWS: usize = 100_000;
/// Rows outside an index (searched by a flat scan) tolerated before the index is updated.
const UNINDEXED_ROWS_MAX: usize = 2_000;
/// Small fragments tolerated before a table is compacted.
const SMALL_FRAGMENTS_MAX: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("index database error: {0}")]
    Lance(#[from] lancedb::Error),
    #[error("index data error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("the index holds {found}-dimensional vectors but the embedder makes {expected}; rebuild the index (`brain index --rebuild`)")]
    DimensionMismatch { found: usize, expected: usize },
    #[error("corrupt row in the index: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which chunks a search may return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only files whose absolute path starts with this folder.
    pub folder: Option<String>,
}

impl SearchFilter {
    fn sql(&self) -> Option<String> {
        self.folder.as_ref().map(|f| {
            let mut prefix = f.trim_end_matches('/').to_string();
            prefix.push('/');
            format!("starts_with(path, {})", sql_string(&prefix))
        })
    }
}

/// A SQL string literal.
pub(crate) fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The open store.
#[derive(Clone)]
pub struct Store {
    documents: Table,
    chunks: Table,
    dimension: usize,
}

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
    pub chunks: Option<Vec<ChunkRecord>>,
}

impl Store {
    /// Open (or create) the store in `dir` for vectors of `dimension`.
    pub async fn open(dir: &Path, dimension: usize) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
        let uri = dir.to_string_lossy().to_string();
        let db = lancedb::connect(&uri).execute().await?;
        let documents = open_or_create(&db, DOCUMENTS, records::documents_schema()).await?;
        let chunks = open_or_create(&db, CHUNKS, records::chunks_schema(dimension)).await?;
        let found = vector_dimension(chunks.schema().await?.as_ref());
        if found != dimension {
            return Err(StoreError::DimensionMismatch { found, expected: dimension });
        }
        Ok(Store { documents, chunks, dimension })
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

    /// Commit a batch: chunks first (one commit), then document rows (one commit), then removals.
    pub async fn write(&self, batch: WriteBatch) -> Result<()> {
        let replaced: Vec<&DocumentWrite> = batch.documents.iter().filter(|d| d.chunks.is_some()).collect();
        if !replaced.is_empty() {
            let paths: Vec<String> = replaced.iter().map(|d| d.record.path.clone()).collect();
            let chunks: Vec<&ChunkRecord> = replaced.iter().flat_map(|d| d.chunks.iter().flatten()).collect();
            let path_filter = in_list("path", &paths);
            if chunks.is_empty() {
                self.chunks.delete(path_filter.as_str()).await?;
            } else {
                let data = records::chunks_batch(&chunks, self.dimension)?;
                let reader = reader(data);
                let mut merge = self.chunks.merge_insert(&["id"]);
                merge
                    .when_matched_update_all(None)
                    .when_not_matched_insert_all()
                    .when_not_matched_by_source_delete(Some(path_filter));
                merge.execute(reader).await?;
            }
        }
        if !batch.documents.is_empty() {
            let docs: Vec<&DocumentRecord> = batch.documents.iter().map(|d| &d.record).collect();
            let data = records::documents_batch(&docs)?;
            let mut merge = self.documents.merge_insert(&["path"]);
            merge.when_matched_update_all(None).when_not_matched_insert_all();
            merge.execute(reader(data)).await?;
        }
        if !batch.removed.is_empty() {
            let filter = in_list("path", &batch.removed);
            self.chunks.delete(filter.as_str()).await?;
            self.documents.delete(filter.as_str()).await?;
        }
        Ok(())
    }

    /// Remove chunks whose document row is missing or not indexed with the same hash: what a
    /// crash between the two commits of [`Store::write`] can leave behind.
    pub async fn remove_orphan_chunks(&self, documents: &[DocumentRecord]) -> Result<usize> {
        let live: std::collections::HashMap<&str, &str> = documents
            .iter()
            .filter(|d| d.status == DocStatus::Indexed)
            .filter_map(|d| Some((d.path.as_str(), d.hash.as_deref()?)))
            .collect();
        let batches: Vec<RecordBatch> = self
            .chunks
            .query()
            .select(Select::columns(&["path", "doc_hash"]))
            .execute()
            .await?
            .try_collect()
            .await?;
        let mut orphans = std::collections::BTreeSet::new();
        for b in &batches {
            let paths = records::string_column(b, "path")?;
            let hashes = records::string_column(b, "doc_hash")?;
            for i in 0..b.num_rows() {
                let (p, h) = (paths.value(i), hashes.value(i));
                if live.get(p) != Some(&h) {
                    orphans.insert(p.to_string());
                }
            }
        }
        if orphans.is_empty() {
            return Ok(0);
        }
        let orphans: Vec<String> = orphans.into_iter().collect();
        let removed = self.chunks.count_rows(Some(in_list("path", &orphans))).await?;
        self.chunks.delete(in_list("path", &orphans).as_str()).await?;
        Ok(removed)
    }

    /// Every chunk's text by file, in chunk order.
    pub async fn chunk_texts(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let batches: Vec<RecordBatch> = self
            .chunks
            .query()
            .select(Select::columns(&["path", "ordinal", "text"]))
            .execute()
            .await?
            .try_collect()
            .await?;
        let mut by_path: std::collections::BTreeMap<String, Vec<(u32, String)>> = Default::default();
        for b in &batches {
            let path = records::string_column(b, "path")?;
            let ordinal = records::typed_column::<arrow_array::UInt32Array>(b, "ordinal")?;
            let text = records::string_column(b, "text")?;
            for i in 0..b.num_rows() {
                by_path.entry(path.value(i).to_string()).or_default().push((ordinal.value(i), text.value(i).to_string()));
            }
        }
        Ok(by_path
            .into_iter()
            .map(|(p, mut chunks)| {
                chunks.sort_by_key(|(o, _)| *o);
                (p, chunks.into_iter().map(|(_, t)| t).collect())
            })
            .collect())
    }

    /// Up to `n` chunks, spread evenly over the table: (text, context). For benchmarks.
    pub async fn sample_chunks(&self, n: usize) -> Result<Vec<(String, Option<String>)>> {
        let total = self.chunks.count_rows(None).await?;
        let step = (total / n.max(1)).max(1);
        let batches: Vec<RecordBatch> = self
            .chunks
            .query()
            .select(Select::columns(&["text", "context"]))
            .execute()
            .await?
            .try_collect()
            .await?;
        let mut out = Vec::new();
        let mut row = 0usize;
        for b in &batches {
            let text = records::string_column(b, "text")?;
            let context = records::string_column(b, "context")?;
            for i in 0..b.num_rows() {
                if row % step == 0 && out.len() < n {
                    out.push((text.value(i).to_string(), (!arrow_array::Array::is_null(context, i)).then(|| context.value(i).to_string())));
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

    /// Keep the tables fast as they change: create the full-text index if missing; fold new
    /// rows into the indexes once enough have piled up (until then LanceDB searches them flat,
    /// so they are found either way and a one-file edit does not pay for an index update);
    /// build the vector index once the table is big enough to need one; compact when many small
    /// fragments have accumulated (every commit adds one).
    pub async fn maintain(&self) -> Result<()> {
        let rows = self.chunks.count_rows(None).await?;
        if rows == 0 {
            return Ok(());
        }
        let indexes = self.chunks.list_indices().await?;
        let index_on = |column: &str| indexes.iter().find(|i| i.columns.iter().any(|c| c == column)).map(|i| i.name.clone());
        let mut stale = false;
        match index_on("search_text") {
            None => self.chunks.create_index(&["search_text"], Index::FTS(FtsIndexBuilder::default())).execute().await?,
            Some(name) => stale |= self.unindexed_rows(&name).await? > UNINDEXED_ROWS_MAX.max(rows / 10),
        }
        match index_on("vector") {
            None if rows >= VECTOR_INDEX_MIN_ROWS => self.chunks.create_index(&["vector"], Index::Auto).execute().await?,
            None => {}
            Some(name) => stale |= self.unindexed_rows(&name).await? > UNINDEXED_ROWS_MAX.max(rows / 10),
        }
        for table in [&self.chunks, &self.documents] {
            if table.stats().await?.fragment_stats.num_small_fragments >= SMALL_FRAGMENTS_MAX {
                table.optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None }).await?;
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
            self.chunks.optimize(OptimizeAction::Index(Default::default())).await?;
        }
        Ok(())
    }

    async fn unindexed_rows(&self, index: &str) -> Result<usize> {
        Ok(self.chunks.index_stats(index).await?.map_or(0, |s| s.num_unindexed_rows))
    }

    /// Vector search: the `k` chunks nearest to `query` (a normalised vector).
    pub async fn search_vector(&self, query: &[f32], k: usize, filter: &SearchFilter) -> Result<Vec<Hit>> {
        let mut q = self
            .chunks
            .query()
            .nearest_to(query)?
            .distance_type(lancedb::DistanceType::Cosine)
            .limit(k)
            .select(Select::columns(search::HIT_COLUMNS));
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

    /// Search in the given mode. `depth` is how many candidates each side of a hybrid search
    /// contributes before fusion.
    pub async fn search(
        &self,
        mode: SearchMode,
        text: &str,
        vector: Option<&[f32]>,
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Vec<Hit>> {
        match (mode, vector) {
            (SearchMode::Keyword, v) => self.search_keyword(text, k, filter, v).await,
            (SearchMode::Vector, Some(v)) => self.search_vector(v, k, filter).await,
            (SearchMode::Hybrid, Some(v)) => {
                let depth = k.max(50);
                let (by_vector, by_keyword) =
                    futures::try_join!(self.search_vector(v, depth, filter), self.search_keyword(text, depth, filter, Some(v)))?;
                Ok(rrf_fuse(&[by_vector, by_keyword], k))
            }
            (_, None) => Err(StoreError::Corrupt("vector search needs a query vector".into())),
        }
    }
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

fn in_list(column: &str, values: &[String]) -> String {
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
            location: "{\"page\":1}".into(),
            chunk_hash: format!("{hash}-{ordinal}"),
            vector: vector.to_vec(),
        }
    }

    fn write_doc(path: &str, hash: &str, chunks: Vec<ChunkRecord>) -> WriteBatch {
        WriteBatch { documents: vec![DocumentWrite { record: doc(path, hash, chunks.len() as u32), chunks: Some(chunks) }], removed: vec![] }
    }

    fn paths(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.path.as_str()).collect()
    }

    #[tokio::test]
    async fn write_search_replace_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 4).await.unwrap();
        store
            .write(write_doc("/docs/a.txt", "h1", vec![
                chunk("/docs/a.txt", "h1", 0, "zebra crossings are striped", [1.0, 0.0, 0.0, 0.0]),
                chunk("/docs/a.txt", "h1", 1, "lions hunt at night", [0.0, 1.0, 0.0, 0.0]),
            ]))
            .await
            .unwrap();
        store.maintain().await.unwrap();
        // Rows added after the full-text index was built must be searchable too.
        store
            .write(write_doc("/docs/sub/b.txt", "h2", vec![chunk("/docs/sub/b.txt", "h2", 0, "penguins swim in cold water", [0.0, 0.0, 1.0, 0.0])]))
            .await
            .unwrap();

        let by_vector = store.search_vector(&[0.0, 0.0, 0.9, 0.1], 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(by_vector[0].path, "/docs/sub/b.txt");
        assert!((by_vector[0].similarity.unwrap() - 0.9).abs() < 1e-5, "similarity is the dot product with the stored vector");
        let by_keyword = store.search_keyword("penguins", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(paths(&by_keyword), vec!["/docs/sub/b.txt"]);
        let stemmed = store.search_keyword("zebra crossing", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(stemmed[0].id, "/docs/a.txt#0");
        let hybrid = store.search(SearchMode::Hybrid, "lions", Some(&[0.0, 1.0, 0.0, 0.0]), 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(hybrid[0].id, "/docs/a.txt#1", "agreeing lists put the chunk first");
        let filtered = store
            .search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &SearchFilter { folder: Some("/docs/sub".into()) })
            .await
            .unwrap();
        assert_eq!(paths(&filtered), vec!["/docs/sub/b.txt"]);

        // Re-indexing a file with fewer chunks leaves none of the old ones.
        store.write(write_doc("/docs/a.txt", "h3", vec![chunk("/docs/a.txt", "h3", 0, "giraffes are tall", [1.0, 0.0, 0.0, 0.0])])).await.unwrap();
        assert_eq!(store.chunk_count().await.unwrap(), 2);
        assert!(store.search_keyword("lions", 3, &SearchFilter::default(), None).await.unwrap().is_empty());
        let reused = store.vectors_by_chunk_hash(&["h3-0".into(), "h1-1".into()]).await.unwrap();
        assert_eq!(reused.len(), 1, "the replaced chunk's vector is gone");
        assert_eq!(reused.get("h3-0").map(Vec::as_slice), Some(&[1.0, 0.0, 0.0, 0.0][..]));

        store.write(WriteBatch { documents: vec![], removed: vec!["/docs/a.txt".into()] }).await.unwrap();
        assert_eq!(store.chunk_count().await.unwrap(), 1);
        assert_eq!(store.documents().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn orphans_from_an_interrupted_write_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 4).await.unwrap();
        store.write(write_doc("/docs/a.txt", "h1", vec![chunk("/docs/a.txt", "h1", 0, "kept", [1.0, 0.0, 0.0, 0.0])])).await.unwrap();
        // Chunks committed for a new version whose document row never got written (a crash).
        let mut batch = write_doc("/docs/b.txt", "h2", vec![chunk("/docs/b.txt", "h2", 0, "orphan", [0.0, 1.0, 0.0, 0.0])]);
        batch.documents[0].record.status = DocStatus::Pending;
        store.write(batch).await.unwrap();
        let documents = store.documents().await.unwrap();
        assert_eq!(store.remove_orphan_chunks(&documents).await.unwrap(), 1);
        assert_eq!(store.chunk_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn reopening_with_another_dimension_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path(), 4).await.unwrap();
        assert!(matches!(Store::open(dir.path(), 8).await, Err(StoreError::DimensionMismatch { found: 4, expected: 8 })));
    }
}
