//! `brain bench FOLDER`: indexing speed, embedding overhead, search latency and answer speed on a
//! folder, in a throw-away data dir (the user's index is not touched); and live-sync figures.
//!
//! Speeds are reported with a reference measured in the same process on the same inputs where
//! one exists: embedding throughput as a ratio to the bare ONNX model run on the same texts
//! (same tokenizer, same batch size), so the figure says what our pipeline costs over the model.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use brain_engine::harness::{self, EmbeddingReference};
use brain_engine::{AskRequest, Engine, EngineError, EngineOptions, SearchMode, SearchRequest};
use serde::Serialize;

use crate::{BenchError, io};

type Result<T, E = BenchError> = std::result::Result<T, E>;

/// A scratch engine beside `engine`: same models, settings and parsers, its own data dir.
async fn scratch_engine(engine: &Engine, data_dir: &Path) -> Result<Engine> {
    let options = EngineOptions {
        data_dir: data_dir.to_path_buf(),
        models_dir: engine.options().models_dir.clone(),
        parsers: engine.options().parsers,
        shared_index: None,
        replica: false,
    };
    let scratch = Engine::open(options)?;
    scratch.update_settings(engine.settings()).await?;
    Ok(scratch)
}

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
    /// The process's peak resident memory once indexing is done (models, parse results, ONNX
    /// Runtime's arena, LanceDB's caches), in megabytes.
    pub peak_rss_megabytes: f64,
    /// Pages read by OCR (scanned PDF pages, images), their OCR time summed over the parser
    /// workers, and that time as a share of the workers' time (wall time × workers).
    pub ocr_pages: usize,
    pub ocr_seconds: f64,
    pub ocr_pages_per_second: f64,
    pub ocr_share_of_indexing: f64,
    /// Indexing chunks/s over the bare ONNX model's texts/s on a sample of the same chunk texts
    /// with the same threads (1.0: indexing costs no more than embedding alone).
    pub ratio_to_raw_onnx: f64,
    /// Where the time went (see [`brain_engine::StageTimes`]).
    pub stages: brain_engine::StageTimes,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EmbedFigures {
    pub texts: usize,
    /// The bare ONNX model the embedder is measured against: its own, or for an embedder that
    /// is not ONNX (E5), the default all-MiniLM-L6-v2.
    pub raw_onnx_model: String,
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
    /// A model not loaded yet: loading it (and computing the system prompt) plus the first
    /// answer's first token.
    pub first_token_cold_ms: f64,
    /// The model loaded: first token of the answers after the first (p50).
    pub first_token_warm_p50_ms: f64,
    /// Prompt tokens per answer, and of those the ones whose state was kept (the system prompt).
    pub prompt_tokens_mean: f64,
    pub prompt_tokens_reused_mean: f64,
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
    let scratch = tempfile::tempdir().map_err(|e| io(&std::env::temp_dir(), e))?;
    let bench = scratch_engine(engine, scratch.path()).await?;
    bench.add_folders(std::slice::from_ref(&folder))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut report = BenchReport { folder: folder.display().to_string(), threads, ..Default::default() };

    // Load the embedder before timing so the figure is indexing, not model loading.
    harness::warm_up_embedder(&bench).await?;
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
        peak_rss_megabytes: crate::peak_rss_mb(),
        ocr_pages: summary.ocr_pages,
        ocr_seconds: summary.ocr_ms as f64 / 1000.0,
        // Pages per second of the whole run (workers in parallel), and OCR's share of the
        // parser workers' time.
        ocr_pages_per_second: if summary.ocr_ms > 0 { summary.ocr_pages as f64 / seconds } else { 0.0 },
        ocr_share_of_indexing: summary.ocr_ms as f64
            / 1000.0
            / (seconds * std::thread::available_parallelism().map_or(2, |n| n.get()) as f64),
        ratio_to_raw_onnx: 0.0,
        stages: summary.stages,
    };

    progress("embedding");
    let samples = harness::sample_passages(&bench, options.embed_texts).await?;
    let texts: Vec<String> = samples
        .iter()
        .map(|(t, c)| match c {
            Some(c) => format!("{c}\n{t}"),
            None => t.clone(),
        })
        .collect();
    if !texts.is_empty() {
        let mut reference = EmbeddingReference::load(&bench).await?;
        let raw_onnx_model = reference.bare_model.display().to_string();
        report.embedding = tokio::task::spawn_blocking(move || -> Result<EmbedFigures> {
            // The reference is the bare model at its best on these texts: in order of length,
            // in batches of the embedder's size (the least padding), outputs thrown away.
            let mut sorted = texts.clone();
            sorted.sort_by_key(String::len);
            // Warm both once, then alternate: each measured twice, best of two.
            reference.embed(&texts[..texts.len().min(8)])?;
            reference.run_bare(&sorted[..sorted.len().min(8)])?;
            let mut ours = f64::MAX;
            let mut bare = f64::MAX;
            for _ in 0..2 {
                let t = Instant::now();
                reference.embed(&texts)?;
                ours = ours.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                reference.run_bare(&sorted)?;
                bare = bare.min(t.elapsed().as_secs_f64());
            }
            let n = texts.len() as f64;
            Ok(EmbedFigures {
                texts: texts.len(),
                raw_onnx_model,
                embedder_texts_per_second: n / ours,
                raw_onnx_texts_per_second: n / bare,
                ratio_to_raw_onnx: bare / ours,
            })
        })
        .await??;
        report.index.ratio_to_raw_onnx = report.index.chunks_per_second / report.embedding.raw_onnx_texts_per_second;
    }

    progress("searching");
    let queries: Vec<String> = harness::sample_passages(&bench, options.queries)
        .await?
        .into_iter()
        .map(|(t, _)| t.split_whitespace().take(8).collect::<Vec<_>>().join(" "))
        .filter(|q| q.chars().any(char::is_alphanumeric))
        .collect();
    for mode in SearchMode::ALL {
        let mut times = Vec::new();
        for q in &queries {
            let request = SearchRequest { k: 10, mode: Some(mode), ..SearchRequest::new(q.clone()) };
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
        let model_load_ms = bench.warm_up_llm().await?.as_millis() as u64;
        let mut first = Vec::new();
        let mut speeds = Vec::new();
        let mut tokens = Vec::new();
        let mut prompt = Vec::new();
        let mut reused = Vec::new();
        for q in queries.iter().take(options.questions) {
            let question = format!("What does the documentation say about {q}?");
            let (events, _) = tokio::sync::mpsc::unbounded_channel();
            let answer = bench.ask(&AskRequest::of_benchmark(question), Arc::new(AtomicBool::new(false)), events).await?;
            if let Some(ms) = answer.timings_ms.first_token_ms {
                first.push(ms as f64);
            }
            speeds.push(answer.timings_ms.tokens_per_second);
            tokens.push(answer.answer_tokens as f64);
            if answer.prompt_tokens > 0 {
                prompt.push(answer.prompt_tokens as f64);
                reused.push(answer.prompt_tokens_reused as f64);
            }
        }
        let first_token_cold_ms = first.first().map_or(0.0, |ms| ms + model_load_ms as f64);
        let mut warm: Vec<f64> = first.iter().skip(1).copied().collect();
        warm.sort_by(f64::total_cmp);
        first.sort_by(f64::total_cmp);
        let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        report.answer = Some(AnswerFigures {
            questions: tokens.len(),
            first_token_p50_ms: percentile(&first, 50.0),
            first_token_cold_ms,
            first_token_warm_p50_ms: percentile(&warm, 50.0),
            prompt_tokens_mean: mean(&prompt),
            prompt_tokens_reused_mean: mean(&reused),
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

/// Live-sync figures: how fast an edit becomes searchable, what a small edit costs, and what
/// the idle watcher costs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveFigures {
    pub edits: usize,
    /// From a file's write to the moment a keyword search finds its new text.
    pub freshness_p50_ms: f64,
    pub freshness_p95_ms: f64,
    pub freshness_max_ms: f64,
    /// The largest text file of the folder, indexed alone from scratch, then with one line edited.
    pub edit_file: String,
    pub edit_file_chunks: usize,
    pub full_index_ms: f64,
    pub one_line_edit_ms: f64,
    /// one_line_edit_ms / full_index_ms.
    pub edit_cost_ratio: f64,
    /// Chunks re-embedded after the one-line edit.
    pub edit_embedded_chunks: usize,
    pub idle_seconds: u64,
    /// CPU time of the whole process over the idle period, as % of one core.
    pub idle_cpu_percent: f64,
}

fn cpu_seconds() -> f64 {
    let Some(usage) = crate::own_usage() else { return 0.0 };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// Copy the documents of `from` (not hidden, not ignored, under the size limit) into `to`.
fn copy_documents(from: &Path, to: &Path, max_file_size: u64) -> Result<Vec<PathBuf>> {
    let mut copied = Vec::new();
    for entry in ignore::WalkBuilder::new(from).require_git(false).build().filter_map(|e| e.ok()) {
        if !entry.file_type().is_some_and(|t| t.is_file()) || entry.metadata().map_or(true, |m| m.len() > max_file_size) {
            continue;
        }
        let relative = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::copy(entry.path(), &target).map_err(|e| io(&target, e))?;
        copied.push(target);
    }
    Ok(copied)
}

fn is_text_document(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("md" | "txt" | "markdown" | "rst"))
}

/// Measure live sync on a copy of `folder` (the folder itself is never modified).
pub async fn live(engine: &Engine, folder: &Path, edits: usize, idle_secs: u64, mut progress: impl FnMut(&str)) -> Result<LiveFigures> {
    let folder = std::fs::canonicalize(folder).map_err(|_| EngineError::FolderNotFound(folder.to_path_buf()))?;
    let scratch = tempfile::tempdir().map_err(|e| io(&std::env::temp_dir(), e))?;
    let copy_dir = scratch.path().join("docs");
    let copied = copy_documents(&folder, &copy_dir, engine.settings().max_file_size)?;
    let mut texts: Vec<PathBuf> = copied.iter().filter(|p| is_text_document(p)).cloned().collect();
    texts.sort();
    if texts.is_empty() {
        return Err(EngineError::InvalidArgument(format!("{} holds no .md/.txt file to edit", folder.display())).into());
    }
    let bench = Arc::new(scratch_engine(engine, &scratch.path().join("live-index")).await?);
    bench.add_folders(std::slice::from_ref(&copy_dir))?;
    harness::warm_up_embedder(&bench).await?;
    progress("indexing the copy");
    bench.sync(&AtomicBool::new(false)).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (bench, stop) = (Arc::clone(&bench), Arc::clone(&stop));
        tokio::spawn(async move { bench.watch(stop).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;

    progress("measuring freshness");
    let mut latencies = Vec::new();
    for i in 0..edits {
        let file = &texts[i % texts.len()];
        let token = format!("zqxfresh{i}");
        let mut content = std::fs::read_to_string(file).map_err(|e| io(file, e))?;
        content.push_str(&format!("\n\nFreshness probe {token}.\n"));
        let started = Instant::now();
        std::fs::write(file, content).map_err(|e| io(file, e))?;
        let request = SearchRequest { k: 1, mode: Some(SearchMode::Keyword), ..SearchRequest::new(token.clone()) };
        loop {
            let hits = bench.search(&request).await?;
            if hits.first().is_some_and(|h| Path::new(&h.path) == file.as_path()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(BenchError::NotSearchable { what: format!("edit {i}"), limit: Duration::from_secs(30) });
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        // Let the watcher go idle so every edit is its own burst.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    latencies.sort_by(f64::total_cmp);

    progress("measuring idle CPU");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    tokio::time::sleep(std::time::Duration::from_secs(idle_secs)).await;
    let idle_cpu_percent = (cpu_seconds() - cpu0) / wall0.elapsed().as_secs_f64() * 100.0;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    watcher.await??;

    progress("measuring a one-line edit");
    let largest = texts.iter().max_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len())).cloned().expect("non-empty");
    let alone_dir = scratch.path().join("alone");
    std::fs::create_dir_all(&alone_dir).map_err(|e| io(&alone_dir, e))?;
    let alone = alone_dir.join(largest.file_name().unwrap_or_default());
    std::fs::copy(&largest, &alone).map_err(|e| io(&alone, e))?;
    let single = scratch_engine(engine, &scratch.path().join("edit-index")).await?;
    single.add_folders(std::slice::from_ref(&alone_dir))?;
    harness::warm_up_embedder(&single).await?;
    let t = Instant::now();
    let full = single.sync(&AtomicBool::new(false)).await?;
    let full_index_ms = t.elapsed().as_secs_f64() * 1000.0;
    let text = std::fs::read_to_string(&alone).map_err(|e| io(&alone, e))?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let middle =
        lines.iter().enumerate().skip(lines.len() / 2).find(|(_, l)| l.split_whitespace().count() > 3).map_or(lines.len() / 2, |(i, _)| i);
    if let Some(line) = lines.get_mut(middle) {
        line.push_str(" (edited)");
    }
    std::fs::write(&alone, lines.join("\n") + "\n").map_err(|e| io(&alone, e))?;
    let t = Instant::now();
    let edit = single.sync(&AtomicBool::new(false)).await?;
    let one_line_edit_ms = t.elapsed().as_secs_f64() * 1000.0;

    Ok(LiveFigures {
        edits: latencies.len(),
        freshness_p50_ms: percentile(&latencies, 50.0),
        freshness_p95_ms: percentile(&latencies, 95.0),
        freshness_max_ms: latencies.last().copied().unwrap_or_default(),
        edit_file: largest.strip_prefix(&copy_dir).unwrap_or(&largest).display().to_string(),
        edit_file_chunks: full.chunks,
        full_index_ms,
        one_line_edit_ms,
        edit_cost_ratio: one_line_edit_ms / full_index_ms,
        edit_embedded_chunks: edit.embedded,
        idle_seconds: idle_secs,
        idle_cpu_percent,
    })
}
