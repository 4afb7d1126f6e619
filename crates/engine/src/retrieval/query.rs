//! Stage 1, the query: its text, and its vector when the mode searches by meaning.

use std::sync::Arc;

use super::{SearchMode, SearchableIndex};
use crate::error::{EngineError, Result};
use crate::inference::EmbedText;

pub(crate) struct Query {
    pub text: String,
    /// The query's embedding: what similarities are measured to.
    pub vector: Option<Vec<f32>>,
    /// What the vector search ranks by when a tuned adapter is in use: `vector` mapped by it.
    pub ranking_vector: Option<Vec<f32>>,
}

impl Query {
    pub(crate) async fn new(index: &SearchableIndex, text: &str, mode: SearchMode, vector: Option<Vec<f32>>) -> Result<Query> {
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(EngineError::InvalidArgument("the search query is empty".into()));
        }
        let vector = match (mode.needs_vector(), &index.embedder) {
            (true, _) if vector.is_some() => vector,
            (true, Some(embedder)) => Some(embed(Arc::clone(embedder), &text).await?),
            (true, None) => return Err(EngineError::Internal("a vector search needs the embedder".into())),
            (false, _) => None,
        };
        let ranking_vector = index.adapter.as_ref().zip(vector.as_ref()).map(|(adapter, v)| adapter.apply(v));
        Ok(Query { text, vector, ranking_vector })
    }
}

/// Embed the query on a worker thread (ONNX Runtime work, off the async threads).
async fn embed(embedder: Arc<dyn EmbedText>, text: &str) -> Result<Vec<f32>> {
    let text = text.to_string();
    let mut vectors = crate::blocking(move || embedder.embed_queries(&[text])).await??;
    vectors.pop().ok_or_else(|| EngineError::Internal("the embedder returned no vector".into()))
}
