//! Search requests and results as front ends see them (retrieval itself is in [`crate::retrieval`]).

use std::path::PathBuf;
use std::sync::Arc;

use brain_access::Person;
use brain_parse::Location;
use brain_store::{Hit, SearchFilter};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result};
use crate::inference::EmbedText;
use crate::retrieval::{self, RetrievalRequest, SearchMode, SearchableIndex};

/// A search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub query: String,
    /// Results wanted.
    pub k: usize,
    /// `None`: the mode from settings.
    pub mode: Option<SearchMode>,
    /// Only files under this folder.
    pub folder: Option<PathBuf>,
    /// Only files this person may read; `None`: the index's owner (everything indexed).
    pub person: Option<Person>,
}

impl SearchRequest {
    pub fn new(query: impl Into<String>) -> Self {
        SearchRequest { query: query.into(), k: 10, mode: None, folder: None, person: None }
    }
}

/// One result: a chunk of a file and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SearchResult {
    /// Absolute path of the file.
    pub path: String,
    pub location: Location,
    /// Rank score of the mode used (higher is better; comparable within one search only).
    pub score: f32,
    pub text: String,
    /// Cosine similarity of the chunk to the query, when the query was embedded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub similarity: Option<f32>,
    /// The heading path or title the chunk sits under.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub context: Option<String>,
    /// Position of the chunk in its file (0-based).
    pub ordinal: u32,
}

impl From<Hit> for SearchResult {
    fn from(h: Hit) -> Self {
        SearchResult {
            location: h.location,
            path: h.path,
            score: h.score,
            text: h.text,
            similarity: h.similarity,
            context: h.context,
            ordinal: h.ordinal,
        }
    }
}

pub(crate) async fn run(engine: &Engine, request: &SearchRequest) -> Result<Vec<SearchResult>> {
    if request.k == 0 {
        return Err(EngineError::InvalidArgument("k must be at least 1".into()));
    }
    if request.query.trim().is_empty() {
        return Err(EngineError::InvalidArgument("the search query is empty".into()));
    }
    if !engine.has_index().await? {
        return Ok(Vec::new());
    }
    let retrieve = engine.retrieval_request(&request.query, request.mode, request.k, request.folder.as_deref(), request.person.as_ref());
    let hits = retrieval::best_chunks(&engine.searchable_index(retrieve.mode).await?, &retrieve).await?;
    Ok(hits.into_iter().map(SearchResult::from).collect())
}

impl Engine {
    /// A retrieval of `text` with the settings' defaults where the caller leaves them open,
    /// limited to `folder` and to what `person` may read.
    pub(crate) fn retrieval_request(
        &self,
        text: &str,
        mode: Option<SearchMode>,
        k: usize,
        folder: Option<&std::path::Path>,
        person: Option<&Person>,
    ) -> RetrievalRequest {
        let folder = folder.map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.to_path_buf()).display().to_string());
        let filter = SearchFilter { folder, paths: None, person: person.cloned() };
        RetrievalRequest { text: text.to_string(), mode: mode.unwrap_or(self.settings().search_mode), k, filter, vector: None }
    }

    /// The user's index to retrieve from, with the embedder when `mode` needs one.
    pub(crate) async fn searchable_index(&self, mode: SearchMode) -> Result<SearchableIndex> {
        let embedder: Option<Arc<dyn EmbedText>> = match mode {
            SearchMode::Keyword => None,
            _ => Some(self.search_embedder().await?),
        };
        let adapter = embedder.as_deref().and_then(|e| self.adapter.in_use(&self.tune_dir(), e));
        Ok(SearchableIndex { store: self.store().await?, embedder, adapter })
    }
}
