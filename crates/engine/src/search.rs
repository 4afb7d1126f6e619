//! Search requests and results as front ends see them.

use std::path::PathBuf;

use brain_parse::Location;
use brain_store::{Hit, SearchFilter, SearchMode};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::Engine;

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
}

impl SearchRequest {
    pub fn new(query: impl Into<String>) -> Self {
        SearchRequest { query: query.into(), k: 10, mode: None, folder: None }
    }
}

/// One result: a chunk of a file and where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    /// Absolute path of the file.
    pub path: String,
    pub location: Location,
    /// Rank score of the mode used (higher is better; comparable within one search only).
    pub score: f32,
    pub text: String,
    /// Cosine similarity of the chunk to the query, when the query was embedded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
    /// The heading path or title the chunk sits under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Position of the chunk in its file (0-based).
    pub ordinal: u32,
}

impl From<Hit> for SearchResult {
    fn from(h: Hit) -> Self {
        SearchResult {
            location: serde_json::from_str(&h.location).unwrap_or_default(),
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
    let hits = hits(engine, request).await?;
    Ok(hits.into_iter().map(SearchResult::from).collect())
}

/// The raw hits of a search (the answer builder needs them too).
pub(crate) async fn hits(engine: &Engine, request: &SearchRequest) -> Result<Vec<Hit>> {
    let query = request.query.trim();
    if query.is_empty() {
        return Err(EngineError::InvalidArgument("the search query is empty".into()));
    }
    if request.k == 0 {
        return Err(EngineError::InvalidArgument("k must be at least 1".into()));
    }
    if !engine.has_index() {
        return Ok(Vec::new());
    }
    let mode = request.mode.unwrap_or(engine.settings().search_mode);
    let store = engine.store().await?;
    let filter = SearchFilter { folder: request.folder.as_ref().map(|f| {
        std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()).display().to_string()
    }) };
    let vector = match mode {
        SearchMode::Keyword => None,
        SearchMode::Vector | SearchMode::Hybrid => Some(embed_query(engine, query).await?),
    };
    Ok(store.search(mode, query, vector.as_deref(), request.k, &filter).await?)
}

pub(crate) async fn embed_query(engine: &Engine, query: &str) -> Result<Vec<f32>> {
    let embedder = engine.index_embedder().await?;
    let query = query.to_string();
    let mut vectors = tokio::task::spawn_blocking(move || embedder.embed(&[query]))
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))??;
    vectors.pop().ok_or_else(|| EngineError::Internal("the embedder returned no vector".into()))
}
