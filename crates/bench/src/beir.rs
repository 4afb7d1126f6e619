//! Retrieval quality on a BEIR-format dataset (`corpus.jsonl`, `queries.jsonl`,
//! `qrels/<split>.tsv`): nDCG@10, recall@10, recall@100 and MRR@10 for each search mode.
//!
//! The corpus goes through the engine's own indexing pipeline and retrieval
//! ([`Engine::corpus_index`]; each document becomes "title" context + text), so the figures
//! measure the product, not a side path. Chunk hits are mapped back to documents (best chunk per
//! document). The built index is kept under the data dir, keyed by the corpus, embedder and
//! chunking, so a second run only searches.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use brain_engine::{AdapterStatus, CorpusDocument, CorpusIndex, Engine, LabelledPair, PairOrigin, SearchMode, TuneReport, TuneRequest};
use serde::Serialize;

use crate::BenchError;

type Result<T, E = BenchError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModeScores {
    /// With one relevant document per query (SQuAD-style sets), the share found in the top 5.
    #[serde(rename = "recall@5")]
    pub recall_at_5: f64,
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    #[serde(rename = "recall@10")]
    pub recall_at_10: f64,
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub dataset: String,
    pub split: String,
    pub documents: usize,
    pub chunks: usize,
    pub queries: usize,
    /// Each mode as the product searches: with the index's query adapter when one is in use.
    pub modes: HashMap<String, ModeScores>,
    /// The query adapter the figures were measured with (`None`: the plain embedder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<AdapterStatus>,
    /// With an adapter in use, the same searches without it (the reference run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_adapter: Option<HashMap<String, ModeScores>>,
    /// What tuning did before the searches, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning: Option<TuneReport>,
    /// Time to build the index (0 when a cached one was used), and to run all searches.
    pub index_ms: u64,
    pub search_ms: u64,
}

/// Progress reports while evaluating.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum EvalStep {
    Indexing { done: usize, total: usize },
    Tuning(brain_engine::TuneStep),
    Searching { mode: String, done: usize, total: usize },
}

/// Tuning the corpus index's query adapter before the searches, and whether to use it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Train on this split's judgements (`train`) as labelled pairs.
    pub labels: Option<String>,
    /// Questions the answer model writes for passages of the corpus.
    pub questions: usize,
    /// Headings (the documents' titles) paired with their text.
    pub headings: bool,
    /// Train on pairs of these origins only (empty: all the index has kept).
    pub only: Vec<PairOrigin>,
    /// Search with the adapter when it won its held-out pairs (`false`: never).
    pub use_adapter: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { labels: None, questions: 0, headings: false, only: Vec::new(), use_adapter: true }
    }
}

impl Tuning {
    fn trains(&self) -> bool {
        self.labels.is_some() || self.questions > 0 || self.headings
    }
}

/// A retrieval set: documents (id, title, text), queries (id, text) and graded judgements.
pub(crate) struct Dataset {
    pub name: String,
    pub corpus: Vec<(String, String, String)>,
    pub queries: Vec<(String, String)>,
    pub qrels: HashMap<String, HashMap<String, u32>>,
}

fn text_field(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn load(dir: &Path, split: &str) -> Result<Dataset> {
    let corpus = crate::read_jsonl::<serde_json::Value>(&dir.join("corpus.jsonl"))?
        .iter()
        .map(|v| (text_field(v, "_id"), text_field(v, "title"), text_field(v, "text")))
        .collect();
    let queries = crate::read_jsonl::<serde_json::Value>(&dir.join("queries.jsonl"))?
        .iter()
        .map(|v| (text_field(v, "_id"), text_field(v, "text")))
        .collect();
    let qrels_path = dir.join("qrels").join(format!("{split}.tsv"));
    let qrels_text = std::fs::read_to_string(&qrels_path).map_err(|source| BenchError::DatasetFile { path: qrels_path.clone(), source })?;
    let mut qrels: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (i, line) in qrels_text.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 || (i == 0 && cols[2].parse::<u32>().is_err()) {
            continue; // header
        }
        let score: u32 =
            cols[2].trim().parse().map_err(|_| BenchError::Dataset(format!("{} line {}: bad score", qrels_path.display(), i + 1)))?;
        qrels.entry(cols[0].to_string()).or_default().insert(cols[1].to_string(), score);
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("dataset").to_string();
    Ok(Dataset { name, corpus, queries, qrels })
}

/// Evaluate retrieval on a BEIR dataset in every mode, after tuning the query adapter when
/// `tuning` asks for it.
pub async fn beir(engine: &Engine, dir: &Path, split: &str, tuning: &Tuning, progress: impl FnMut(EvalStep) + Send) -> Result<EvalReport> {
    let dataset = {
        let (dir, split) = (dir.to_path_buf(), split.to_string());
        tokio::task::spawn_blocking(move || load(&dir, &split)).await??
    };
    let labelled = match &tuning.labels {
        Some(labels) if labels == split => {
            return Err(BenchError::Dataset(format!(
                "the adapter would learn the {split} split it is measured on: train on another split"
            )));
        }
        Some(labels) => {
            let (dir, labels) = (dir.to_path_buf(), labels.clone());
            let train = tokio::task::spawn_blocking(move || load(&dir, &labels)).await??;
            labelled_pairs(&train)
        }
        None => Vec::new(),
    };
    evaluate(engine, dataset, split, tuning, labelled, progress).await
}

/// Each query of `dataset` with a relevant document, paired with each such document.
fn labelled_pairs(dataset: &Dataset) -> Vec<LabelledPair> {
    let mut pairs = Vec::new();
    for (id, text) in &dataset.queries {
        let Some(relevant) = dataset.qrels.get(id) else { continue };
        let mut documents: Vec<&String> = relevant.iter().filter(|(_, s)| **s > 0).map(|(d, _)| d).collect();
        documents.sort();
        pairs.extend(documents.into_iter().map(|d| LabelledPair { query: text.clone(), path: d.clone() }));
    }
    pairs
}

/// Index `dataset`'s corpus (or reuse its index), tune its adapter when asked, and score every
/// query in every mode (and without the adapter too, when one is in use).
pub(crate) async fn evaluate(
    engine: &Engine,
    dataset: Dataset,
    split: &str,
    tuning: &Tuning,
    labelled: Vec<LabelledPair>,
    mut progress: impl FnMut(EvalStep) + Send,
) -> Result<EvalReport> {
    let key = {
        let mut h = blake3::Hasher::new();
        for (id, title, text) in &dataset.corpus {
            h.update(id.as_bytes()).update(title.as_bytes()).update(text.as_bytes());
        }
        h.finalize().to_hex()[..16].to_string()
    };
    let index = engine.corpus_index(&format!("{}-{key}", dataset.name)).await?;
    let index_started = std::time::Instant::now();
    let mut index_ms = 0;
    if !index.is_built() {
        let total = dataset.corpus.len();
        for (batch_no, batch) in dataset.corpus.chunks(256).enumerate() {
            let documents =
                batch.iter().map(|(id, title, text)| CorpusDocument { id: id.clone(), title: title.clone(), text: text.clone() }).collect();
            index.add(documents).await?;
            progress(EvalStep::Indexing { done: ((batch_no + 1) * 256).min(total), total });
        }
        index.finish().await?;
        index_ms = index_started.elapsed().as_millis() as u64;
    }
    let chunks = index.chunk_count().await?;
    let tuned = if tuning.trains() {
        let request = TuneRequest { questions: tuning.questions, headings: tuning.headings, labelled, only: tuning.only.clone() };
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        Some(index.tune(engine, request, cancel, |step| progress(EvalStep::Tuning(step))).await?)
    } else {
        None
    };
    // The index's directory is keyed by its embedder: an adapter kept there was trained for it.
    let adapter = index.adapter_status()?.filter(|a| tuning.use_adapter && a.in_use);
    index.use_adapter(tuning.use_adapter);

    let queries: Vec<&(String, String)> =
        dataset.queries.iter().filter(|(id, _)| dataset.qrels.get(id).is_some_and(|r| r.values().any(|&s| s > 0))).collect();
    if queries.is_empty() {
        return Err(BenchError::Dataset(format!("no query of {} has a relevant document in qrels/{split}.tsv", dataset.name)));
    }
    let query_vectors = index.embed(queries.iter().map(|(_, q)| q.clone()).collect()).await?;
    let search_started = std::time::Instant::now();
    let modes = score_modes(&index, &SearchMode::ALL, &dataset.qrels, &queries, &query_vectors, &mut progress).await?;
    let without_adapter = match adapter {
        Some(_) => {
            // Keyword search reads no vector: its scores are the same, not searched again.
            index.use_adapter(false);
            let by_meaning = [SearchMode::Hybrid, SearchMode::Vector];
            let mut without = score_modes(&index, &by_meaning, &dataset.qrels, &queries, &query_vectors, &mut progress).await?;
            without.insert(SearchMode::Keyword.as_str().to_string(), modes[SearchMode::Keyword.as_str()].clone());
            Some(without)
        }
        None => None,
    };
    Ok(EvalReport {
        dataset: dataset.name,
        split: split.to_string(),
        documents: dataset.corpus.len(),
        chunks,
        queries: queries.len(),
        modes,
        adapter,
        without_adapter,
        tuning: tuned,
        index_ms,
        search_ms: search_started.elapsed().as_millis() as u64,
    })
}

/// Every query searched in each of `modes`, scored against its judgements.
async fn score_modes(
    index: &CorpusIndex,
    modes: &[SearchMode],
    qrels: &HashMap<String, HashMap<String, u32>>,
    queries: &[&(String, String)],
    query_vectors: &[Vec<f32>],
    progress: &mut (impl FnMut(EvalStep) + Send),
) -> Result<HashMap<String, ModeScores>> {
    let mut scores_by_mode = HashMap::new();
    for &mode in modes {
        let mut sums = ModeScores::default();
        for (i, ((qid, text), vector)) in queries.iter().map(|q| (&q.0, &q.1)).zip(query_vectors).enumerate() {
            // Several chunks may come from one document: fetch enough to still rank 100 documents.
            let hits = index.search(text, Some(vector.clone()), mode, 300).await?;
            let mut ranked: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for h in hits {
                if seen.insert(h.path.clone()) {
                    ranked.push(h.path);
                }
            }
            let scores = score(&ranked, &qrels[qid.as_str()]);
            sums.recall_at_5 += scores.recall_at_5;
            sums.ndcg_at_10 += scores.ndcg_at_10;
            sums.recall_at_10 += scores.recall_at_10;
            sums.recall_at_100 += scores.recall_at_100;
            sums.mrr_at_10 += scores.mrr_at_10;
            if (i + 1) % 50 == 0 || i + 1 == queries.len() {
                progress(EvalStep::Searching { mode: mode.as_str().into(), done: i + 1, total: queries.len() });
            }
        }
        let n = queries.len() as f64;
        let round = |x: f64| (x / n * 10000.0).round() / 10000.0;
        scores_by_mode.insert(
            mode.as_str().to_string(),
            ModeScores {
                recall_at_5: round(sums.recall_at_5),
                ndcg_at_10: round(sums.ndcg_at_10),
                recall_at_10: round(sums.recall_at_10),
                recall_at_100: round(sums.recall_at_100),
                mrr_at_10: round(sums.mrr_at_10),
            },
        );
    }
    Ok(scores_by_mode)
}

/// Metrics of one ranked list of document ids against graded relevance judgements.
pub fn score(ranked: &[String], relevant: &HashMap<String, u32>) -> ModeScores {
    let gain = |id: &String| relevant.get(id).copied().unwrap_or(0) as f64;
    let dcg: f64 = ranked.iter().take(10).enumerate().map(|(i, id)| gain(id) / ((i + 2) as f64).log2()).sum();
    let mut ideal: Vec<f64> = relevant.values().map(|&s| s as f64).filter(|&g| g > 0.0).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal.iter().take(10).enumerate().map(|(i, g)| g / ((i + 2) as f64).log2()).sum();
    let relevant_count = relevant.values().filter(|&&s| s > 0).count() as f64;
    let found = |k: usize| ranked.iter().take(k).filter(|id| gain(id) > 0.0).count() as f64;
    let mrr = ranked.iter().take(10).position(|id| gain(id) > 0.0).map_or(0.0, |p| 1.0 / (p + 1) as f64);
    ModeScores {
        recall_at_5: if relevant_count > 0.0 { found(5) / relevant_count } else { 0.0 },
        ndcg_at_10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        recall_at_10: if relevant_count > 0.0 { found(10) / relevant_count } else { 0.0 },
        recall_at_100: if relevant_count > 0.0 { found(100) / relevant_count } else { 0.0 },
        mrr_at_10: mrr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_known_ranking() {
        let relevant: HashMap<String, u32> = [("a".to_string(), 1), ("c".to_string(), 1)].into();
        let ranked: Vec<String> = ["b", "a", "x", "c"].iter().map(|s| s.to_string()).collect();
        let s = score(&ranked, &relevant);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg_at_10 - dcg / idcg).abs() < 1e-9);
        assert_eq!((s.recall_at_5, s.recall_at_10), (1.0, 1.0));
        assert_eq!(s.mrr_at_10, 0.5);
        let none = score(&["x".to_string()], &relevant);
        assert_eq!((none.ndcg_at_10, none.recall_at_100, none.mrr_at_10), (0.0, 0.0, 0.0));
    }
}
