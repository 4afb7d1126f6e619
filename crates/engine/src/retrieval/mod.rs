//! Retrieval: from a question to the passages a result list or an answer is made of, as named
//! stages, each in its own file:
//!
//! ```text
//! query ─┬─► candidates (vector, keyword) ────────────────────────┬─► fuse ─► rows ─► gate ─► context
//!        └─► documents (named by the query) ─► candidates within ─┘
//! ```
//!
//! - [`query`]: the text searched (a follow-up also carries the question before it) and, when
//!   the mode needs one, its vector.
//! - [`candidates`]: the store's nearest chunks by vector and its best chunks by BM25.
//! - [`documents`]: the documents the question names (a company and a quarter, a policy's
//!   year), found by their identities; the candidate searches run again within them and join
//!   the global lists, so their passages come first (hybrid mode).
//! - [`fuse`]: reciprocal rank fusion of the candidate lists (hybrid mode).
//! - [`rows`]: a chunk whose table row names the question's line item and period comes first.
//! - [`gate`]: drop what is not similar enough to be a source, cap the chunks per file so one
//!   long file cannot crowd out the others, and drop a copy of a source already chosen
//!   ([`repeats`]) ("not found" when nothing is left).
//! - [`context`]: number the sources and take as many as fit the model's context.
//!
//! Plain search runs query → candidates and documents → fuse → rows; an answer runs every stage. A new
//! stage (a reranker, say) is one file here and one line in [`best_chunks`] or [`sources`].

pub(crate) mod candidates;
pub(crate) mod context;
pub(crate) mod documents;
pub(crate) mod fuse;
pub(crate) mod gate;
pub(crate) mod query;
pub(crate) mod repeats;
pub(crate) mod rows;

use std::sync::Arc;

/// A chunk as retrieval finds it: its text, file, place and scores.
pub(crate) use brain_store::Hit;
use brain_store::{SearchFilter, Store};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::inference::EmbedText;

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Vector and keyword results fused by reciprocal rank.
    #[default]
    Hybrid,
    Vector,
    Keyword,
}

impl SearchMode {
    pub const ALL: [SearchMode; 3] = [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Keyword];

    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Vector => "vector",
            SearchMode::Keyword => "keyword",
        }
    }

    fn needs_vector(self) -> bool {
        self != SearchMode::Keyword
    }
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hybrid" => Ok(SearchMode::Hybrid),
            "vector" => Ok(SearchMode::Vector),
            "keyword" => Ok(SearchMode::Keyword),
            other => Err(format!("unknown search mode {other:?} (hybrid, vector or keyword)")),
        }
    }
}

/// What to retrieve.
#[derive(Debug, Clone)]
pub(crate) struct RetrievalRequest {
    pub text: String,
    pub mode: SearchMode,
    /// Hits wanted.
    pub k: usize,
    pub filter: SearchFilter,
    /// The query's vector when the caller already has it (an evaluation embeds all its queries
    /// at once).
    pub vector: Option<Vec<f32>>,
}

/// Where retrieval reads from: a store and the embedder its vectors were made with (`None`
/// for keyword search, which needs no model), and the tuned query adapter when one is in use.
pub(crate) struct SearchableIndex {
    pub store: Store,
    pub embedder: Option<Arc<dyn EmbedText>>,
    pub adapter: Option<Arc<crate::tune::QueryAdapter>>,
}

/// query → candidates (global, and within the documents the query names) → fuse → rows: the `k`
/// best chunks.
pub(crate) async fn best_chunks(index: &SearchableIndex, request: &RetrievalRequest) -> Result<Vec<Hit>> {
    let query = query::Query::new(index, &request.text, request.mode, request.vector.clone()).await?;
    let depth = fuse::depth(request.mode, request.k);
    let (mut lists, named) =
        futures::try_join!(candidates::find(index, &query, request, depth), documents::named_by(index, &query, request))?;
    let within_named = documents::candidates_within(index, &query, request, depth, named, &mut lists).await?;
    lists.extend(within_named);
    // Fused as deep as the candidates go: a chunk whose table row names what is asked is lifted
    // from anywhere in the list.
    let fused = fuse::fuse(request.mode, lists, depth.max(request.k));
    Ok(rows::lift(&request.text, fused, request.k))
}

/// query → candidates → fuse → rows → gate: the sources an answer may use, best first (empty:
/// nothing in the index is relevant enough to answer from).
pub(crate) async fn sources(index: &SearchableIndex, request: &RetrievalRequest, gate: &gate::Gate) -> Result<Vec<Hit>> {
    // A few more than needed: the gate may drop some.
    let wider = RetrievalRequest { k: request.k * 2, ..request.clone() };
    let hits = best_chunks(index, &wider).await?;
    Ok(gate.apply(hits, request.k))
}

/// A hit of `text` in the file `path`, for unit tests of the stages that come after retrieval.
#[cfg(test)]
pub(crate) fn test_hit(path: &str, text: &str) -> Hit {
    Hit {
        id: format!("{path}#{}", blake3::hash(text.as_bytes()).to_hex()),
        path: path.into(),
        ordinal: 0,
        text: text.into(),
        context: None,
        location: Default::default(),
        score: 1.0,
        similarity: Some(0.5),
    }
}
