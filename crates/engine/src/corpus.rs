//! Corpora: documents held in memory (an evaluation set such as BEIR) indexed into an index of
//! their own under the data dir, through the same pipeline and retrieval as the user's files, so
//! that what an evaluation measures is the product, not a side path.
//!
//! The scale benchmark writes rows it made itself (real chunks and vectors, varied) into a
//! corpus index: [`EmbeddedDocument`]s go through the same store writer and index maintenance as
//! a sync's, and the index reports its ANN index in the engine's own types.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use brain_parse::{Format, Location, ParsedDocument, Section};
use brain_store::{
    DocStatus, DocumentRecord, DocumentWrite, IndexLock, IndexPolicy, NewChunk, SearchFilter, Store, StoreWriter, WriteBatch,
};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::error::Result;
use crate::pipeline::{self, Pipeline, Work};
use crate::retrieval::{self, RetrievalRequest, SearchMode, SearchableIndex};
use crate::search::SearchResult;
use crate::{Engine, fsutil};

/// One document of a corpus: its id (what a search returns as the path), a title that becomes
/// the chunks' context, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusDocument {
    pub id: String,
    pub title: String,
    pub text: String,
}

/// A document whose chunks already have their vectors, written as it is: no parsing, chunking or
/// embedding (see [`CorpusIndex::write_embedded`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedDocument {
    /// What a search returns as the path; a folder filter matches its start.
    pub path: String,
    /// The folder it is listed under.
    pub folder: String,
    pub chunks: Vec<EmbeddedChunk>,
    /// Who may read it (reader tokens, see `brain-access`); `None`: only the index's owner.
    pub readers: Option<Vec<String>>,
}

/// A chunk with its vector (made by this index's embedder, or from vectors it made).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedChunk {
    pub text: String,
    /// The heading path or title the chunk sits under.
    pub context: Option<String>,
    pub location: Location,
    pub vector: Vec<f32>,
}

/// A chunk of an index with the file it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedChunk {
    pub path: String,
    pub chunk: EmbeddedChunk,
}

/// The kind of a built ANN index, by the name LanceDB reports (`"IVF_RQ"`), which is also its
/// spelling in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnnIndexKind {
    #[serde(rename = "IVF_PQ")]
    IvfPq,
    #[serde(rename = "IVF_HNSW_SQ")]
    IvfHnswSq,
    #[serde(rename = "IVF_RQ")]
    IvfRq,
    #[serde(rename = "IVF_SQ")]
    IvfSq,
    /// A kind this engine does not build (an index made by another tool), by its name.
    #[serde(untagged)]
    Other(String),
}

impl AnnIndexKind {
    /// From LanceDB's name of an index type.
    pub fn from_name(name: &str) -> AnnIndexKind {
        match name {
            "IVF_PQ" => AnnIndexKind::IvfPq,
            "IVF_HNSW_SQ" => AnnIndexKind::IvfHnswSq,
            "IVF_RQ" => AnnIndexKind::IvfRq,
            "IVF_SQ" => AnnIndexKind::IvfSq,
            other => AnnIndexKind::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AnnIndexKind::IvfPq => "IVF_PQ",
            AnnIndexKind::IvfHnswSq => "IVF_HNSW_SQ",
            AnnIndexKind::IvfRq => "IVF_RQ",
            AnnIndexKind::IvfSq => "IVF_SQ",
            AnnIndexKind::Other(name) => name,
        }
    }
}

impl std::fmt::Display for AnnIndexKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ANN index over a corpus index's vectors, as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorIndexState {
    pub kind: AnnIndexKind,
    pub indexed_rows: usize,
    /// Rows added since the index was last updated (searched by an exact scan beside it).
    pub unindexed_rows: usize,
    /// The index's parts: the trained one plus a delta per incremental update.
    pub segments: u32,
}

/// The one place the store's report of its vector index becomes the engine's.
impl From<brain_store::VectorIndexState> for VectorIndexState {
    fn from(s: brain_store::VectorIndexState) -> Self {
        VectorIndexState {
            kind: AnnIndexKind::from_name(s.kind.as_str()),
            indexed_rows: s.indexed_rows,
            unindexed_rows: s.unindexed_rows,
            segments: s.segments,
        }
    }
}

/// A corpus's index (see [`Engine::corpus_index`]).
pub struct CorpusIndex {
    dir: PathBuf,
    store: Store,
    pipeline: Pipeline,
    /// This index's one writer, made at the first write and kept (with the index's lock) while
    /// the index is open: writes after the first do not wait for the lock or check the store.
    writer: OnceCell<Arc<StoreWriter>>,
    /// The query adapter trained for this index ([`CorpusIndex::tune`]), used while
    /// `adapter_on` (an evaluation compares with and without it in one run).
    adapter: crate::tune::AdapterSlot,
    adapter_on: AtomicBool,
}

const COMPLETE: &str = "complete";

pub(crate) async fn open(engine: &Engine, name: &str) -> Result<CorpusIndex> {
    let pipeline = engine.pipeline_for_corpus().await?;
    let config = pipeline.chunker.config();
    // The same corpus under another embedder, chunking or index format is another index.
    let key =
        format!("{}:{}:{}:{}", pipeline.embedder.identity(), config.max_tokens, config.overlap_tokens, crate::resources::INDEX_FORMAT);
    let key = blake3::hash(key.as_bytes()).to_hex();
    let dir = engine.data_dir().join("eval").join(format!("{name}-{}", &key[..12]));
    let store = Store::open(&dir.join("lancedb"), pipeline.embedder.dimension()).await?;
    Ok(CorpusIndex::new(dir, store, pipeline))
}

pub(crate) async fn open_at(engine: &Engine, dir: &Path, policy: IndexPolicy) -> Result<CorpusIndex> {
    let pipeline = engine.pipeline_for_corpus().await?;
    let store = Store::open(&dir.join("lancedb"), pipeline.embedder.dimension()).await?.with_policy(policy);
    Ok(CorpusIndex::new(dir.to_path_buf(), store, pipeline))
}

impl CorpusIndex {
    fn new(dir: PathBuf, store: Store, pipeline: Pipeline) -> CorpusIndex {
        CorpusIndex {
            dir,
            store,
            pipeline,
            writer: OnceCell::new(),
            adapter: crate::tune::AdapterSlot::default(),
            adapter_on: AtomicBool::new(true),
        }
    }

    /// Train a query adapter for this index as [`Engine::tune`] does for the user's (its pairs
    /// and adapter kept in this index's directory); the engine's answer model writes questions.
    pub async fn tune(
        &self,
        engine: &Engine,
        request: crate::TuneRequest,
        cancel: Arc<AtomicBool>,
        mut progress: impl FnMut(crate::TuneStep) + Send,
    ) -> Result<crate::TuneReport> {
        let llm = engine.llm_for_questions(request.questions).await?;
        let target = crate::tune::TuneTarget {
            store: self.store.clone(),
            embedder: Arc::clone(&self.pipeline.embedder),
            dir: self.tune_dir(),
            data_dir: engine.data_dir().to_path_buf(),
        };
        crate::tune::run(&target, llm, request, cancel, &mut progress).await
    }

    /// Whether searches use the adapter trained for this index, when it won its held-out pairs
    /// (on by default).
    pub fn use_adapter(&self, on: bool) {
        self.adapter_on.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// The adapter trained for this index, as trained.
    pub fn adapter_status(&self) -> Result<Option<crate::AdapterStatus>> {
        crate::tune::status(&self.tune_dir())
    }

    fn tune_dir(&self) -> PathBuf {
        self.dir.join("tune")
    }

    /// Whether an earlier run built the whole index (then [`CorpusIndex::add`] is not needed).
    pub fn is_built(&self) -> bool {
        self.dir.join(COMPLETE).exists()
    }

    /// Index documents (chunk, embed, write). Returns the chunks written.
    pub async fn add(&self, documents: Vec<CorpusDocument>) -> Result<usize> {
        let writer = self.writer().await?;
        let work = documents.into_iter().map(work).collect();
        let mut chunks = 0;
        self.pipeline.run(writer, pipeline::batches(work), &AtomicBool::new(false), |_| {}, |_, stats| chunks += stats.chunks).await?;
        Ok(chunks)
    }

    /// Build the search indexes and mark the index complete.
    pub async fn finish(&self) -> Result<()> {
        self.maintain().await?;
        fsutil::write_atomic(&self.dir.join(COMPLETE), b"ok")
    }

    /// Write documents whose chunks already have vectors (replacing any of the same paths) and
    /// remove the `removed` paths with their chunks: one batch of the store writer, as a sync
    /// writes changed and deleted files. Searchable at once: new rows are scanned beside the
    /// indexes until [`CorpusIndex::maintain`] or [`CorpusIndex::optimise_indexes`] folds them in.
    pub async fn write_embedded(&self, documents: Vec<EmbeddedDocument>, removed: Vec<String>) -> Result<()> {
        let documents = documents.into_iter().map(document_write).collect();
        Ok(self.writer().await?.write(WriteBatch { documents, removed }).await?)
    }

    /// What a sync does after writing: build the search indexes (BM25, paths, and past the
    /// policy's threshold the ANN index), or bring them up to date.
    pub async fn maintain(&self) -> Result<()> {
        Ok(self.writer().await?.maintain().await?)
    }

    /// Fold rows written since the indexes were built into them (what the engine does in the
    /// background after a sync), without retraining.
    pub async fn optimise_indexes(&self) -> Result<()> {
        Ok(self.writer().await?.optimise_indexes().await?)
    }

    pub async fn chunk_count(&self) -> Result<usize> {
        Ok(self.store.chunk_count().await?)
    }

    /// Embed query texts in one go (a search then needs no model call).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let embedder = Arc::clone(&self.pipeline.embedder);
        crate::blocking(move || embedder.embed_queries(&texts)).await?
    }

    /// The `k` best chunks for `query` in `mode`, through the same retrieval stages as a search
    /// of the user's index; `vector` is the query's embedding when already made.
    pub async fn search(&self, query: &str, vector: Option<Vec<f32>>, mode: SearchMode, k: usize) -> Result<Vec<SearchResult>> {
        self.search_in(query, vector, mode, k, None, None).await
    }

    /// [`CorpusIndex::search`] limited to the files under `folder` and to those `person` may
    /// read.
    pub async fn search_in(
        &self,
        query: &str,
        vector: Option<Vec<f32>>,
        mode: SearchMode,
        k: usize,
        folder: Option<&str>,
        person: Option<&brain_access::Person>,
    ) -> Result<Vec<SearchResult>> {
        let embedder = Arc::clone(&self.pipeline.embedder);
        let adapter = if self.adapter_on.load(std::sync::atomic::Ordering::Relaxed) {
            self.adapter.in_use(&self.tune_dir(), &*embedder)
        } else {
            None
        };
        let index = SearchableIndex { store: self.store.clone(), embedder: Some(embedder), adapter };
        let filter = SearchFilter { folder: folder.map(str::to_string), paths: None, person: person.cloned() };
        let request = RetrievalRequest { text: query.to_string(), mode, k, filter, vector };
        Ok(retrieval::best_chunks(&index, &request).await?.into_iter().map(SearchResult::from).collect())
    }

    /// The `k` chunks nearest to `vector` by an exact scan of every row, whatever indexes exist:
    /// the reference an ANN index's recall is measured against (a [`SearchMode::Vector`] search
    /// goes through the index).
    pub async fn search_vector_exact(&self, vector: &[f32], k: usize) -> Result<Vec<SearchResult>> {
        let hits = self.store.search_vector_exact(vector, k, &SearchFilter::default()).await?;
        Ok(hits.into_iter().map(SearchResult::from).collect())
    }

    /// The ANN index over the vectors and its state; `None` below the policy's threshold (vector
    /// search scans every row).
    pub async fn vector_index_state(&self) -> Result<Option<VectorIndexState>> {
        Ok(self.store.vector_index_state().await?.map(VectorIndexState::from))
    }

    /// The kind of the index over the vectors, if there is one.
    pub async fn ann_index_kind(&self) -> Result<Option<AnnIndexKind>> {
        let indexes = self.store.chunk_indexes().await?;
        Ok(indexes.into_iter().find(|i| i.columns.iter().any(|c| c == "vector")).map(|i| AnnIndexKind::from_name(&i.kind.to_string())))
    }

    /// The chunks of one file.
    pub async fn chunk_count_of(&self, path: &str) -> Result<usize> {
        Ok(self.store.chunk_count_of(path).await?)
    }

    /// Bytes the index takes on disk (every version LanceDB still keeps).
    pub fn disk_bytes(&self) -> u64 {
        self.store.disk_bytes()
    }

    /// This index's writer, made at the first call and kept (the `writer` field).
    async fn writer(&self) -> Result<&Arc<StoreWriter>> {
        self.writer
            .get_or_try_init(|| async {
                let lock = IndexLock::acquire(&self.dir.join("index.lock"), |_| {}, || false).await?;
                Ok(Arc::new(self.store.writer(lock).await?.0))
            })
            .await
    }
}

/// An embedded document as the store writes it: indexed, its hash from its path (its rows are
/// made, not read from a file).
fn document_write(d: EmbeddedDocument) -> DocumentWrite {
    let record = DocumentRecord {
        hash: Some(blake3::hash(d.path.as_bytes()).to_hex().to_string()),
        folder: d.folder,
        path: d.path,
        size: 0,
        mtime_ns: 0,
        status: DocStatus::Indexed,
        error: None,
        format: Some("text".into()),
        chunks: d.chunks.len() as u32,
        updated_ms: 0,
        readers: d.readers,
    };
    let chunks = d
        .chunks
        .into_iter()
        .map(|c| NewChunk {
            chunk_hash: blake3::hash(c.text.as_bytes()).to_hex().to_string(),
            text: c.text,
            context: c.context,
            location: c.location,
            vector: c.vector,
        })
        .collect();
    DocumentWrite { record, chunks: Some(chunks), identity: None }
}

/// A stored chunk as the engine hands it out.
impl From<(NewChunk, String)> for IndexedChunk {
    fn from((c, path): (NewChunk, String)) -> Self {
        IndexedChunk { path, chunk: EmbeddedChunk { text: c.text, context: c.context, location: c.location, vector: c.vector } }
    }
}

/// A corpus document as pipeline work: one section, its title as context.
fn work(d: CorpusDocument) -> Work {
    let hash = blake3::hash(d.id.as_bytes()).to_hex().to_string();
    let document = ParsedDocument {
        format: Format::Text,
        sections: vec![Section {
            text: d.text,
            location: Location::default(),
            first_line: None,
            context: (!d.title.trim().is_empty()).then_some(d.title),
        }],
        warnings: Vec::new(),
        tables: Vec::new(),
    };
    let record = DocumentRecord {
        path: d.id,
        folder: String::new(),
        hash: Some(hash),
        size: 0,
        mtime_ns: 0,
        status: DocStatus::Indexed,
        error: None,
        format: Some("text".into()),
        chunks: 0,
        updated_ms: 0,
        readers: None,
    };
    Work::Parsed { record, document }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ann_index_kind_is_spelled_as_lancedb_names_it() {
        // The JSON of `brain-bench scale` that scripts read.
        for (kind, name) in [
            (AnnIndexKind::IvfRq, "IVF_RQ"),
            (AnnIndexKind::IvfPq, "IVF_PQ"),
            (AnnIndexKind::IvfHnswSq, "IVF_HNSW_SQ"),
            (AnnIndexKind::IvfSq, "IVF_SQ"),
            (AnnIndexKind::Other("IVF_FLAT".into()), "IVF_FLAT"),
        ] {
            assert_eq!(AnnIndexKind::from_name(name), kind);
            assert_eq!(serde_json::to_value(&kind).unwrap(), serde_json::json!(name));
            assert_eq!(serde_json::from_value::<AnnIndexKind>(serde_json::json!(name)).unwrap(), kind);
            assert_eq!(kind.to_string(), name);
        }
        let store = brain_store::VectorIndexState {
            kind: brain_store::VectorIndexType::IvfRq,
            indexed_rows: 3000,
            unindexed_rows: 12,
            segments: 2,
        };
        assert_eq!(
            serde_json::to_value(VectorIndexState::from(store.clone())).unwrap(),
            serde_json::to_value(&store).unwrap(),
            "the same JSON as the store's report"
        );
    }

    #[test]
    fn an_embedded_document_is_written_as_an_indexed_file_with_its_chunks() {
        let chunk = |text: &str| EmbeddedChunk {
            text: text.into(),
            context: Some("Title".into()),
            location: Location::default(),
            vector: vec![1.0, 0.0],
        };
        let write = document_write(EmbeddedDocument {
            path: "/scale/a.txt".into(),
            folder: "/scale".into(),
            chunks: vec![chunk("one"), chunk("two")],
            readers: None,
        });
        assert_eq!(
            (write.record.path.as_str(), write.record.folder.as_str(), write.record.status),
            ("/scale/a.txt", "/scale", DocStatus::Indexed)
        );
        assert_eq!(write.record.chunks, 2);
        let chunks = write.chunks.unwrap();
        assert_eq!(chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["one", "two"]);
        assert_ne!(chunks[0].chunk_hash, chunks[1].chunk_hash, "a chunk's hash is its text's");
        assert_eq!(chunks[0].context.as_deref(), Some("Title"));
    }
}
