//! Hooks that exist only for the harnesses of `brain-bench` and the benchmarks of `brain bench`:
//! the named crash points, the chunks of an index with their vectors, corpus indexes under another
//! ANN policy, and the bare ONNX model the embedder wraps. Hidden from the engine's documented
//! API: no front end has a use for them.

use std::path::Path;
use std::sync::Arc;

use brain_embed::raw::RawModel;
use brain_embed::{Embedder, EmbedderFiles};

use crate::error::{EngineError, Result};
use crate::{CorpusIndex, Engine, IndexPolicy, blocking, corpus, sync};

pub use crate::corpus::IndexedChunk;

/// Every named crash point (see `brain_store::crash`): the store's, then the sync's. The crash
/// harness kills `brain` at each.
pub fn crash_points() -> Vec<&'static str> {
    brain_store::crash::STORE_CRASH_POINTS.iter().chain(sync::CRASH_POINTS).copied().collect()
}

/// Up to `n` chunks spread over the index: (text, heading context). The texts the speed
/// benchmark embeds and makes its queries from.
pub async fn sample_passages(engine: &Engine, n: usize) -> Result<Vec<(String, Option<String>)>> {
    if !engine.has_index().await? {
        return Ok(Vec::new());
    }
    Ok(engine.store().await?.sample_chunks(n).await?)
}

/// Up to `n` chunks spread over the index, with their files and vectors: the raw material of an
/// index made without embedding again (the scale benchmark).
pub async fn sample_indexed_chunks(engine: &Engine, n: usize) -> Result<Vec<IndexedChunk>> {
    if !engine.has_index().await? {
        return Ok(Vec::new());
    }
    Ok(engine.store().await?.sample_chunks_with_vectors(n).await?.into_iter().map(IndexedChunk::from).collect())
}

/// A corpus index in `dir` (outside the data dir) indexed and searched by `policy`: for
/// benchmarks that build indexes of their own, such as `brain-bench scale`.
pub async fn corpus_index_at(engine: &Engine, dir: &Path, policy: IndexPolicy) -> Result<CorpusIndex> {
    corpus::open_at(engine, dir, policy).await
}

/// Load the embedder now, so that what is timed next is not model loading.
pub async fn warm_up_embedder(engine: &Engine) -> Result<()> {
    engine.load_embedder().await.map(drop)
}

/// The engine's embedder and the bare ONNX model it wraps (same files, tokenizer and threads),
/// side by side: what the embedder costs over the model is the ratio of their times. An
/// embedder that is no ONNX model (E5) is set beside the default one's bare ONNX model instead:
/// the ratio is then what it costs against all-MiniLM-L6-v2.
pub struct EmbeddingReference {
    embedder: Arc<Embedder>,
    bare: RawModel,
    /// The bare model's tokenizer (the embedder's own, unless the bare model is another).
    bare_tokenizer: tokenizers::Tokenizer,
    /// The bare model's directory.
    pub bare_model: std::path::PathBuf,
}

impl EmbeddingReference {
    pub async fn load(engine: &Engine) -> Result<EmbeddingReference> {
        let embedder = engine.load_embedder().await?;
        let paths = engine.model_paths();
        let threads = engine.settings().threads();
        let other = brain_embed::e5::is_e5_file(&paths.embedder);
        let model_dir = if other { engine.options().models_dir.join(crate::models::DEFAULT_EMBEDDER_DIR) } else { paths.embedder };
        let files = EmbedderFiles { model_dir: model_dir.clone(), onnxruntime: paths.onnxruntime };
        let (bare, other_tokenizer) = blocking(move || -> Result<(RawModel, Option<tokenizers::Tokenizer>)> {
            let tokenizer = match other {
                true => Some(Embedder::load(&files, brain_embed::EmbedderOptions { threads, ..Default::default() })?.tokenizer().clone()),
                false => None,
            };
            Ok((RawModel::load(&files, threads)?, tokenizer))
        })
        .await??;
        let bare_tokenizer = other_tokenizer.unwrap_or_else(|| embedder.tokenizer().clone());
        Ok(EmbeddingReference { embedder, bare, bare_tokenizer, bare_model: model_dir })
    }

    /// Texts per batch, the embedder's and so the bare model's.
    pub fn batch_size(&self) -> usize {
        self.embedder.batch_size()
    }

    /// Embed `texts` with the engine's embedder, vectors thrown away (blocking).
    pub fn embed(&self, texts: &[String]) -> Result<()> {
        self.embedder.embed(texts).map(drop).map_err(EngineError::from)
    }

    /// Run the bare model over `texts` in the embedder's batches, outputs thrown away (blocking).
    pub fn run_bare(&mut self, texts: &[String]) -> Result<()> {
        let batch = self.embedder.batch_size();
        self.bare.run(&self.bare_tokenizer, texts, batch).map_err(EngineError::from)
    }
}

/// Embed `texts` with the engine's embedder, on a worker thread as a search embeds its query:
/// query vectors made beforehand, so that timed searches measure the store and fusion only.
pub async fn embed(engine: &Engine, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
    let embedder = engine.load_embedder().await?;
    blocking(move || embedder.embed(&texts)).await?.map_err(EngineError::from)
}
