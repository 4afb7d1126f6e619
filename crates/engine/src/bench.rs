//! `brain bench FOLDER`: indexing speed, embedding overhead, search latency and answer speed on a
//! folder, in a throw-away data dir (the user's index is not touched).
//!
//! Speeds are reported with a reference measured in the same process on the same inputs where
//! one exists: embedding throughput as a ratio to the bare ONNX model run on the same texts
//! (same tokenizer, same batch size), so the figure says what our pipeline costs over the model.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use brain_embed::EmbedderFiles;
use brain_embed::raw::RawModel;
use brain_store::SearchMode;
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::{AskRequest, Engine, EngineOptions, SearchRequest};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub folder: PathBuf,
    /// Search queries per mode.
    pub queries: usize,
    /// Questions answered (0 skips the LLM).
    pub questions: usize,
    /// Texts embedded for the embedding comparison.
    pub embed_texts: usize,
}

impl BenchOptions {
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        BenchOptions { folder: folder.into(), queries: 50, questions: 3, embed_texts: 256 }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexFigures {
    pub files: usize,
    pub failed: usize,
    pub chunks: usize,
    pub megabytes: f64,
    pub seconds: f64,
    pub files_per_second: f64,
    pub chunks_per_second: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EmbedFigures {
    pub texts: usize,
    pub embedder_texts_per_second: f64,
    pub raw_onnx_texts_per_second: f64,
    /// embedder / raw ONNX throughput (1.0 = no overhead).
    pub ratio_to_raw_onnx: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencyFigures {
    pub mode: String,
    pub queries: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AnswerFigures {
    pub questions: usize,
    pub first_token_p50_ms: f64,
    pub tokens_per_second_mean: f64,
    pub answer_tokens_mean: f64,
    /// Loading the LLM (once, before the first question).
    pub model_load_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BenchReport {
    pub folder: String,
    pub threads: usize,
    pub index: IndexFigures,
    pub embedding: EmbedFigures,
    pub search: Vec<LatencyFigures>,
    pub answer: Option<AnswerFigures>,
}

pub fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (sorted_ms.len() - 1) as f64).round() as usize;
    sorted_ms[rank.min(sorted_ms.len() - 1)]
}

/// Run the benchmark. `engine` provides the models dir and settings; the index is built in a
/// temporary data dir.
pub async fn run(engine: &Engine, options: &BenchOptions, mut progress: impl FnMut(&str)) -> Result<BenchReport> {
    let folder = std::fs::canonicalize(&options.folder).map_err(|_| EngineError::FolderNotFound(options.folder.clone()))?;
    let scratch = tempfile::tempdir().map_err(|e| EngineError::io(std::env::temp_dir(), e))?;
    let bench = Engine::open(EngineOptions { data_dir: scratch.path().to_path_buf(), models_dir: engine.options().models_dir.clone() })?;
    bench.update_settings(engine.settings()).await?;
    bench.add_folders(&[folder.clone()])?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut report = BenchReport { folder: folder.display().to_string(), threads, ..Default::default() };

    // Load the embedder before timing so the figure is indexing, not model loading.
    let embedder = bench.embedder().await?;
    progress("indexing");
    let megabytes = folder_megabytes(&folder);
    let started = Instant::now();
    let summary = bench.sync(&AtomicBool::new(false)).await?;
    let seconds = started.elapsed().as_secs_f64();
    report.index = IndexFigures {
        files: summary.indexed,
        failed: summary.failed,
        chunks: summary.chunks,
        megabytes,
        seconds,
        files_per_second: summary.indexed as f64 / seconds,
        chunks_per_second: summary.chunks as f64 / seconds,
    };

    progress("embedding");
    let store = bench.store().await?;
    let samples = store.sample_chunks(options.embed_texts).await?;
    let texts: Vec<String> = samples
        .iter()
        .map(|(t, c)| match c {
            Some(c) => format!("{c}\n{t}"),
            None => t.clone(),
        })
        .collect();
    if !texts.is_empty() {
        let paths = bench.model_paths();
        let files = EmbedderFiles { model_dir: paths.embedder, onnxruntime: paths.onnxruntime };
        let tokenizer = embedder.tokenizer().clone();
        let embedder = Arc::clone(&embedder);
        let threads_setting = engine.settings().threads();
        report.embedding = tokio::task::spawn_blocking(move || -> Result<EmbedFigures> {
            let mut raw = RawModel::load(&files, threads_setting)?;
            // Warm both once, then alternate: each measured twice, best of two.
            embedder.embed(&texts[..texts.len().min(8)])?;
            raw.run(&tokenizer, &texts[..texts.len().min(8)], 32)?;
            let mut ours = f64::MAX;
            let mut bare = f64::MAX;
            for _ in 0..2 {
                let t = Instant::now();
                embedder.embed(&texts)?;
                ours = ours.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                raw.run(&tokenizer, &texts, 32)?;
                bare = bare.min(t.elapsed().as_secs_f64());
            }
            let n = texts.len() as f64;
            Ok(EmbedFigures {
                texts: texts.len(),
                embedder_texts_per_second: n / ours,
                raw_onnx_texts_per_second: n / bare,
                ratio_to_raw_onnx: bare / ours,
            })
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))??;
    }

    progress("searching");
    let queries: Vec<String> = store
        .sample_chunks(options.queries)
        .await?
        .into_iter()
        .map(|(t, _)| t.split_whitespace().take(8).collect::<Vec<_>>().join(" "))
        .filter(|q| q.chars().any(char::is_alphanumeric))
        .collect();
    for mode in SearchMode::ALL {
        let mut times = Vec::new();
        for q in &queries {
            let request = SearchRequest { query: q.clone(), k: 10, mode: Some(mode), folder: None };
            let t = Instant::now();
            bench.search(&request).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        report.search.push(LatencyFigures {
            mode: mode.as_str().into(),
            queries: times.len(),
            p50_ms: percentile(&times, 50.0),
            p95_ms: percentile(&times, 95.0),
        });
    }

    if options.questions > 0 && !queries.is_empty() {
        progress("answering");
        let load = Instant::now();
        bench.llm().await?;
        let model_load_ms = load.elapsed().as_millis() as u64;
        let mut first = Vec::new();
        let mut speeds = Vec::new();
        let mut tokens = Vec::new();
        for q in queries.iter().take(options.questions) {
            let question = format!("What does the documentation say about {q}?");
            let answer = bench.ask(&AskRequest::new(question), Arc::new(AtomicBool::new(false)), |_| {}).await?;
            if let Some(ms) = answer.timings_ms.first_token_ms {
                first.push(ms as f64);
            }
            speeds.push(answer.timings_ms.tokens_per_second);
            tokens.push(answer.answer_tokens as f64);
        }
        first.sort_by(f64::total_cmp);
        let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        report.answer = Some(AnswerFigures {
            questions: tokens.len(),
            first_token_p50_ms: percentile(&first, 50.0),
            tokens_per_second_mean: mean(&speeds),
            answer_tokens_mean: mean(&tokens),
            model_load_ms,
        });
    }
    Ok(report)
}

fn folder_megabytes(folder: &Path) -> f64 {
    let bytes: u64 = ignore::WalkBuilder::new(folder)
        .build()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 51.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
