//! The query adapter: `q' = normalise(q + W q)`, a d×d residual map `W` applied to a search's
//! query vector only. Stored chunk vectors are never touched, so switching it on or off, or
//! training it again, re-embeds nothing.
//!
//! `W` starts at zero (the identity map) and is trained by candle's autograd with Adam on a
//! contrastive loss: each pair's query must come closer to its passage than to the passages the
//! plain embedder ranks nearest (hard negatives) and to a shared sample of the index (random
//! negatives), at a temperature of 0.05. An L2 penalty on `W` keeps the map near the identity:
//! with a few hundred pairs a full matrix would otherwise learn the pairs, not the language.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{DType, Device, Tensor, Var};

use crate::error::{EngineError, Result};

/// The tensor's name in the adapter file.
const RESIDUAL: &str = "residual";
/// Masked logits: far below any real one, finite so that `exp` gives 0 and no NaN.
const MASKED: f32 = -1e9;

/// A trained query-side map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryAdapter {
    dimension: usize,
    /// `W`, row-major.
    residual: Vec<f32>,
}

impl QueryAdapter {
    pub(crate) fn identity(dimension: usize) -> QueryAdapter {
        QueryAdapter { dimension, residual: vec![0.0; dimension * dimension] }
    }

    /// The query vector mapped: `normalise(q + W q)`. A vector of another length is returned
    /// as it is (the adapter was trained for another embedder).
    pub(crate) fn apply(&self, query: &[f32]) -> Vec<f32> {
        if query.len() != self.dimension {
            return query.to_vec();
        }
        let mut mapped: Vec<f32> = query.to_vec();
        for (out, row) in mapped.iter_mut().zip(self.residual.chunks_exact(self.dimension)) {
            *out += row.iter().zip(query).map(|(w, q)| w * q).sum::<f32>();
        }
        let norm = mapped.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            mapped.iter_mut().for_each(|x| *x /= norm);
            mapped
        } else {
            query.to_vec()
        }
    }

    /// Write as safetensors (one tensor, `residual`, d×d f32).
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let tensor = Tensor::from_slice(&self.residual, (self.dimension, self.dimension), &Device::Cpu).map_err(internal)?;
        let temporary = path.with_extension("partial");
        tensor.save_safetensors(RESIDUAL, &temporary).map_err(|e| EngineError::io(&temporary, std::io::Error::other(e.to_string())))?;
        std::fs::rename(&temporary, path).map_err(|e| EngineError::io(path, e))
    }

    /// Read an adapter file made by [`QueryAdapter::save`] for vectors of `dimension`; anything
    /// else (another shape, a damaged file, a value that is not finite) is refused.
    pub(crate) fn load(path: &Path, dimension: usize) -> Result<QueryAdapter> {
        let damaged = |message: String| EngineError::DamagedFile { path: path.to_path_buf(), message };
        let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| damaged(e.to_string()))?;
        let tensor = tensors.get(RESIDUAL).ok_or_else(|| damaged(format!("no tensor named {RESIDUAL}")))?;
        if tensor.dims() != [dimension, dimension] || tensor.dtype() != DType::F32 {
            return Err(damaged(format!("a {:?} {:?} map, not {dimension}×{dimension} f32", tensor.dims(), tensor.dtype())));
        }
        let residual: Vec<f32> = tensor.flatten_all().and_then(|t| t.to_vec1()).map_err(|e| damaged(e.to_string()))?;
        if residual.iter().any(|x| !x.is_finite()) {
            return Err(damaged("a weight is not a finite number".into()));
        }
        Ok(QueryAdapter { dimension, residual })
    }

    /// How far the map is from the identity (Frobenius norm of `W`).
    pub(crate) fn distance_from_identity(&self) -> f32 {
        self.residual.iter().map(|x| x * x).sum::<f32>().sqrt()
    }
}

/// One training example: a query's plain vector, its passages (any of them is right) and the
/// passages it must rank below them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Example {
    pub query: Vec<f32>,
    pub positives: Vec<Vec<f32>>,
    pub negatives: Vec<Vec<f32>>,
    /// The file the positives are from: random negatives from it are not held against it.
    pub path: String,
}

/// A random negative shared by every example: a chunk's vector and its file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PoolChunk {
    pub path: String,
    pub vector: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrainOptions {
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub temperature: f64,
    /// Weight of the L2 penalty on `W`.
    pub penalty: f64,
    /// Positives and hard negatives used per example, at most.
    pub max_positives: usize,
    pub max_negatives: usize,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 12,
            batch: 64,
            learning_rate: 1e-3,
            temperature: 0.05,
            penalty: 0.05,
            max_positives: 8,
            max_negatives: 32,
            seed: 7,
        }
    }
}

fn internal(e: candle_core::Error) -> EngineError {
    EngineError::Internal(format!("training the query adapter: {e}"))
}

/// Train an adapter on `examples` against the shared `pool` of random negatives. Blocking CPU
/// work (run it on a worker thread). Returns the identity map for no examples.
pub(crate) fn train(
    examples: &[Example],
    pool: &[PoolChunk],
    dimension: usize,
    options: &TrainOptions,
    cancel: &AtomicBool,
) -> Result<QueryAdapter> {
    let examples: Vec<&Example> = examples.iter().filter(|e| e.query.len() == dimension && !e.positives.is_empty()).collect();
    if examples.is_empty() {
        return Ok(QueryAdapter::identity(dimension));
    }
    let dev = Device::Cpu;
    let d = dimension;
    let n = examples.len();
    let p_max = examples.iter().map(|e| e.positives.len().min(options.max_positives)).max().unwrap_or(1);
    let k_max = examples.iter().map(|e| e.negatives.len().min(options.max_negatives)).max().unwrap_or(0);
    let m = p_max + k_max;

    // Every example's candidates (positives, then hard negatives) padded to `m`, with additive
    // masks: `all_mask` hides padding, `positive_mask` everything but the positives.
    let mut candidates = vec![0f32; n * m * d];
    let mut all_mask = vec![MASKED; n * m];
    let mut positive_mask = vec![MASKED; n * m];
    let mut queries = Vec::with_capacity(n * d);
    for (i, e) in examples.iter().enumerate() {
        queries.extend_from_slice(&e.query);
        let positives = e.positives.iter().take(options.max_positives).filter(|v| v.len() == d);
        for (j, v) in positives.enumerate() {
            candidates[(i * m + j) * d..(i * m + j + 1) * d].copy_from_slice(v);
            all_mask[i * m + j] = 0.0;
            positive_mask[i * m + j] = 0.0;
        }
        let negatives = e.negatives.iter().take(options.max_negatives).filter(|v| v.len() == d);
        for (j, v) in negatives.enumerate() {
            let slot = i * m + p_max + j;
            candidates[slot * d..(slot + 1) * d].copy_from_slice(v);
            all_mask[slot] = 0.0;
        }
    }
    let pool: Vec<&PoolChunk> = pool.iter().filter(|c| c.vector.len() == d).collect();
    let r = pool.len();
    let pool_vectors: Vec<f32> = pool.iter().flat_map(|c| c.vector.iter().copied()).collect();
    let pool_mask: Vec<f32> = examples.iter().flat_map(|e| pool.iter().map(|c| if c.path == e.path { MASKED } else { 0.0 })).collect();

    let to = |data: Vec<f32>, shape: &[usize]| Tensor::from_vec(data, shape, &dev).map_err(internal);
    let queries = to(queries, &[n, d])?;
    let candidates = to(candidates, &[n, m, d])?;
    let all_mask = to(all_mask, &[n, m])?;
    let positive_mask = to(positive_mask, &[n, m])?;
    let pool_t = if r > 0 { Some(to(pool_vectors, &[r, d])?.t().map_err(internal)?) } else { None };
    let pool_mask = to(pool_mask, &[n, r])?;

    let w = Var::zeros((d, d), DType::F32, &dev).map_err(internal)?;
    let mut adam = Adam::new(d, options.learning_rate).map_err(internal)?;
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = options.seed.max(1);
    for _epoch in 0..options.epochs {
        shuffle(&mut order, &mut rng);
        for batch in order.chunks(options.batch.max(1)) {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let index = Tensor::from_slice(batch, batch.len(), &dev).map_err(internal)?;
            let pick = |t: &Tensor| t.index_select(&index, 0).map_err(internal);
            let batch_pool = match &pool_t {
                Some(p) => Some((p, pick(&pool_mask)?)),
                None => None,
            };
            let loss = batch_loss(
                w.as_tensor(),
                &pick(&queries)?,
                &pick(&candidates)?,
                &pick(&all_mask)?,
                &pick(&positive_mask)?,
                batch_pool,
                options,
            )
            .map_err(internal)?;
            let grads = loss.backward().map_err(internal)?;
            let Some(gradient) = grads.get(w.as_tensor()) else { continue };
            adam.step(&w, gradient).map_err(internal)?;
        }
    }
    let residual: Vec<f32> = w.as_tensor().flatten_all().and_then(|t| t.to_vec1()).map_err(internal)?;
    if residual.iter().any(|x| !x.is_finite()) {
        return Err(EngineError::Internal("training the query adapter diverged".into()));
    }
    Ok(QueryAdapter { dimension: d, residual })
}

/// Mean over the batch of `−log Σ_pos p`, the softmax taken over the example's candidates and
/// the shared pool, plus the penalty on `W`.
fn batch_loss(
    w: &Tensor,
    queries: &Tensor,
    candidates: &Tensor,
    all_mask: &Tensor,
    positive_mask: &Tensor,
    pool: Option<(&Tensor, Tensor)>,
    options: &TrainOptions,
) -> candle_core::Result<Tensor> {
    // q W^T: row i of the result is Σ_j W[i][j] q[j], as `QueryAdapter::apply` computes it.
    let mapped = (queries.matmul(&w.t()?)? + queries)?;
    let mapped = mapped.broadcast_div(&mapped.sqr()?.sum_keepdim(1)?.sqrt()?)?;
    let scores = (candidates.matmul(&mapped.unsqueeze(2)?)?.squeeze(2)? / options.temperature)?;
    let mut all = (&scores + all_mask)?;
    if let Some((pool, pool_mask)) = pool {
        let pool_scores = ((mapped.matmul(pool)? / options.temperature)? + pool_mask)?;
        all = Tensor::cat(&[&all, &pool_scores], 1)?;
    }
    let positives = (&scores + positive_mask)?;
    let loss = (log_sum_exp(&all)? - log_sum_exp(&positives)?)?.mean_all()?;
    loss + (w.sqr()?.sum_all()? * options.penalty)?
}

/// `log Σ exp(x)` along dimension 1, shifted by the (constant) row maximum for stability.
fn log_sum_exp(x: &Tensor) -> candle_core::Result<Tensor> {
    let max = x.max_keepdim(1)?.detach();
    (x.broadcast_sub(&max)?.exp()?.sum_keepdim(1)?.log()? + max)?.squeeze(1)
}

/// Adam (Kingma & Ba), the optimiser of one d×d parameter: six lines of tensor arithmetic,
/// written here rather than taking candle-nn for it.
struct Adam {
    first: Tensor,
    second: Tensor,
    step: i32,
    learning_rate: f64,
}

impl Adam {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPSILON: f64 = 1e-8;

    fn new(d: usize, learning_rate: f64) -> candle_core::Result<Adam> {
        let zeros = Tensor::zeros((d, d), DType::F32, &Device::Cpu)?;
        Ok(Adam { first: zeros.clone(), second: zeros, step: 0, learning_rate })
    }

    fn step(&mut self, w: &Var, gradient: &Tensor) -> candle_core::Result<()> {
        // Detached: a gradient carries the graph of the batch it came from, and moments built on
        // it would keep every batch's graph alive (1.4 GB after 144 steps over 722 pairs).
        let gradient = &gradient.detach();
        self.step += 1;
        self.first = ((&self.first * Self::BETA1)? + (gradient * (1.0 - Self::BETA1))?)?;
        self.second = ((&self.second * Self::BETA2)? + (gradient.sqr()? * (1.0 - Self::BETA2))?)?;
        let first = (&self.first / (1.0 - Self::BETA1.powi(self.step)))?;
        let second = (&self.second / (1.0 - Self::BETA2.powi(self.step)))?;
        let update = (first / (second.sqrt()? + Self::EPSILON)?)?;
        w.set(&(w.as_tensor().detach() - (update * self.learning_rate)?)?)
    }
}

/// Fisher–Yates with xorshift64: the same order for the same seed, no `rand` needed.
fn shuffle(items: &mut [u32], state: &mut u64) {
    for i in (1..items.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        items.swap(i, (*state % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// Queries that sit between their passage and a decoy, nearer the decoy: the plain vector
    /// ranks the decoy first; a trained adapter must learn the consistent shift and rank the
    /// passage first, also for queries it never saw.
    fn shifted_set(count: usize, offset: usize) -> Vec<Example> {
        let d = 8;
        (0..count)
            .map(|i| {
                let k = (i + offset) % 4;
                let mut passage = vec![0.0; d];
                passage[k] = 1.0;
                passage[4 + (i + offset) % 3] = 0.3 + 0.1 * ((i + offset) % 5) as f32;
                let mut decoy = vec![0.0; d];
                decoy[k] = 1.0;
                decoy[7] = 1.0;
                // The query leans towards dimension 7 (the decoy), which the passages never use.
                let mut query = passage.clone();
                query[7] = 0.9;
                Example { query: unit(query), positives: vec![unit(passage)], negatives: vec![unit(decoy)], path: format!("p{i}") }
            })
            .collect()
    }

    #[test]
    fn the_identity_map_leaves_a_vector_as_it_is() {
        let a = QueryAdapter::identity(4);
        let q = unit(vec![1.0, 2.0, 3.0, 4.0]);
        assert!(a.apply(&q).iter().zip(&q).all(|(x, y)| (x - y).abs() < 1e-6));
        assert_eq!(a.apply(&[1.0, 0.0]), vec![1.0, 0.0], "another length is left alone");
        assert_eq!(a.distance_from_identity(), 0.0);
    }

    #[test]
    fn training_learns_a_shift_that_holds_on_unseen_queries() {
        let train_set = shifted_set(48, 0);
        let unseen = shifted_set(12, 100);
        let plain_right = unseen.iter().filter(|e| cosine(&e.query, &e.positives[0]) > cosine(&e.query, &e.negatives[0])).count();
        assert_eq!(plain_right, 0, "the set is built so that the plain vector is wrong");
        let options = TrainOptions { epochs: 60, batch: 16, learning_rate: 1e-2, penalty: 1e-4, ..TrainOptions::default() };
        let adapter = train(&train_set, &[], 8, &options, &AtomicBool::new(false)).unwrap();
        let adapted_right = unseen
            .iter()
            .filter(|e| {
                let q = adapter.apply(&e.query);
                cosine(&q, &e.positives[0]) > cosine(&q, &e.negatives[0])
            })
            .count();
        assert_eq!(adapted_right, unseen.len());
        assert!(adapter.distance_from_identity() > 0.0);
    }

    #[test]
    fn a_stronger_penalty_keeps_the_map_nearer_the_identity() {
        let set = shifted_set(32, 0);
        let run = |penalty| {
            let options = TrainOptions { epochs: 20, batch: 16, learning_rate: 1e-2, penalty, ..TrainOptions::default() };
            train(&set, &[], 8, &options, &AtomicBool::new(false)).unwrap().distance_from_identity()
        };
        assert!(run(1.0) < run(1e-4));
    }

    #[test]
    fn training_stops_when_cancelled_and_is_empty_without_examples() {
        let cancelled = AtomicBool::new(true);
        assert!(matches!(train(&shifted_set(8, 0), &[], 8, &TrainOptions::default(), &cancelled), Err(EngineError::Cancelled)));
        assert_eq!(train(&[], &[], 8, &TrainOptions::default(), &AtomicBool::new(false)).unwrap(), QueryAdapter::identity(8));
    }

    #[test]
    fn an_adapter_file_round_trips_and_a_wrong_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adapter.safetensors");
        let set = shifted_set(16, 0);
        let options = TrainOptions { epochs: 5, batch: 8, learning_rate: 1e-2, ..TrainOptions::default() };
        let adapter = train(&set, &[], 8, &options, &AtomicBool::new(false)).unwrap();
        adapter.save(&path).unwrap();
        assert_eq!(QueryAdapter::load(&path, 8).unwrap(), adapter);
        let wrong_shape = QueryAdapter::load(&path, 4).unwrap_err().to_string();
        assert!(wrong_shape.contains("not 4×4"), "{wrong_shape}");
        std::fs::write(&path, b"not a safetensors file").unwrap();
        assert!(matches!(QueryAdapter::load(&path, 8), Err(EngineError::DamagedFile { .. })));
    }
}
