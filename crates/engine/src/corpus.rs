//! Corpora: documents held in memory (an evaluation set such as BEIR) indexed into an index of
//! their own under the data dir, through the same pipeline and retrieval as the user's files, so
//! that what an evaluation measures is the product, not a side path.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use brain_parse::{Format, Location, ParsedDocument, Section};
use brain_store::{DocStatus, DocumentRecord, IndexLock, IndexPolicy, SearchFilter, Store, StoreWriter};

use crate::error::{EngineError, Result};
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

/// A corpus's index (see [`Engine::corpus_index`]).
pub struct CorpusIndex {
    dir: PathBuf,
    store: Store,
    pipeline: Pipeline,
}

const COMPLETE: &str = "complete";

pub(crate) async fn open(engine: &Engine, name: &str) -> Result<CorpusIndex> {
    let pipeline = engine.pipeline_for_corpus().await?;
    let config = pipeline.chunker.config();
    // The same corpus under another embedder or chunking is another index.
    let key = blake3::hash(format!("{}:{}:{}", pipeline.embedder.identity(), config.max_tokens, config.overlap_tokens).as_bytes()).to_hex();
    let dir = engine.data_dir().join("eval").join(format!("{name}-{}", &key[..12]));
    let store = Store::open(&dir.join("lancedb"), pipeline.embedder.dimension()).await?;
    Ok(CorpusIndex { dir, store, pipeline })
}

pub(crate) async fn open_at(engine: &Engine, dir: &Path, policy: IndexPolicy) -> Result<CorpusIndex> {
    let pipeline = engine.pipeline_for_corpus().await?;
    let store = Store::open(&dir.join("lancedb"), pipeline.embedder.dimension()).await?.with_policy(policy);
    Ok(CorpusIndex { dir: dir.to_path_buf(), store, pipeline })
}

impl CorpusIndex {
    /// Whether an earlier run built the whole index (then [`CorpusIndex::add`] is not needed).
    pub fn is_built(&self) -> bool {
        self.dir.join(COMPLETE).exists()
    }

    /// Index documents (chunk, embed, write). Returns the chunks written.
    pub async fn add(&self, documents: Vec<CorpusDocument>) -> Result<usize> {
        let lock = IndexLock::acquire(&self.dir.join("index.lock"), |_| {}, || false).await?;
        let (writer, _) = self.store.writer(lock).await?;
        let writer = Arc::new(writer);
        let work = documents.into_iter().map(work).collect();
        let mut chunks = 0;
        self.pipeline.run(&writer, pipeline::batches(work), &AtomicBool::new(false), |_| {}, |_, stats| chunks += stats.chunks).await?;
        Ok(chunks)
    }

    /// Build the search indexes and mark the index complete.
    pub async fn finish(&self) -> Result<()> {
        let lock = IndexLock::acquire(&self.dir.join("index.lock"), |_| {}, || false).await?;
        let (writer, _) = self.store.writer(lock).await?;
        writer.maintain().await?;
        fsutil::write_atomic(&self.dir.join(COMPLETE), b"ok")
    }

    pub async fn chunk_count(&self) -> Result<usize> {
        Ok(self.store.chunk_count().await?)
    }

    /// Embed query texts in one go (a search then needs no model call).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let embedder = Arc::clone(&self.pipeline.embedder);
        crate::blocking(move || embedder.embed(&texts)).await?.map_err(EngineError::from)
    }

    /// The `k` best chunks for `query` in `mode`, through the same retrieval stages as a search
    /// of the user's index; `vector` is the query's embedding when already made.
    pub async fn search(&self, query: &str, vector: Option<Vec<f32>>, mode: SearchMode, k: usize) -> Result<Vec<SearchResult>> {
        self.search_in(query, vector, mode, k, None).await
    }

    /// [`CorpusIndex::search`] limited to the files under `folder`.
    pub async fn search_in(
        &self,
        query: &str,
        vector: Option<Vec<f32>>,
        mode: SearchMode,
        k: usize,
        folder: Option<&str>,
    ) -> Result<Vec<SearchResult>> {
        let index = SearchableIndex { store: self.store.clone(), embedder: Some(Arc::clone(&self.pipeline.embedder)) };
        let filter = SearchFilter { folder: folder.map(str::to_string) };
        let request = RetrievalRequest { text: query.to_string(), mode, k, filter, vector };
        Ok(retrieval::best_chunks(&index, &request).await?.into_iter().map(SearchResult::from).collect())
    }

    /// The index's store, for tools that write rows they made themselves (the scale benchmark)
    /// and read it below the retrieval stages.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Become this index's one writer (see [`Store::writer`]).
    pub async fn writer(&self) -> Result<StoreWriter> {
        let lock = IndexLock::acquire(&self.dir.join("index.lock"), |_| {}, || false).await?;
        Ok(self.store.writer(lock).await?.0)
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
    };
    Work::Parsed { record, document }
}
