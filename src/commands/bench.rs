//! `brain bench …`: speed, live sync, and the crash test.

use std::path::PathBuf;

use brain_bench::crash::{self, CrashOptions, CrashReport};
use brain_bench::scale::{self, ScaleOptions, ScaleReport};
use brain_bench::speed::{self, BenchOptions, BenchReport};
use brain_engine::Engine;
use clap::{Args, Subcommand};

use crate::output::{print_json, spinner};

/// `brain bench FOLDER`: indexing, embedding, search and answer speed.
#[derive(Args)]
pub struct SpeedArgs {
    #[arg(required = true)]
    pub folder: Option<PathBuf>,
    #[arg(long, default_value_t = 50)]
    pub queries: usize,
    /// Questions to answer (0 skips the LLM).
    #[arg(long, default_value_t = 3)]
    pub questions: usize,
    /// Also measure live sync on a copy of the folder: this many edits for freshness.
    #[arg(long, default_value_t = 0)]
    pub live_edits: usize,
    /// Seconds of watcher idle time for the idle-CPU figure (with --live-edits).
    #[arg(long, default_value_t = 60)]
    pub idle_secs: u64,
    /// Only the live-sync figures (needs --live-edits).
    #[arg(long)]
    pub live_only: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Kill `brain index` and `brain watch` at many points (named crash points and random
    /// delays), resume, and compare with a clean index of the same folder.
    Crash {
        folder: PathBuf,
        /// Kills of `brain index` (about half at named points, half after random delays).
        #[arg(long, default_value_t = 200)]
        kills: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Files per committed batch (fewer: more commits to die between).
        #[arg(long, default_value_t = 8)]
        batch_files: usize,
        /// Rounds of a watcher taking a burst of changes and being killed.
        #[arg(long, default_value_t = 6)]
        watch_rounds: usize,
        /// Skip the two-writers-at-once scenarios.
        #[arg(long)]
        no_concurrent: bool,
        /// Random delays only (for an executable without crash points).
        #[arg(long)]
        delays_only: bool,
        /// The `brain` executable to test (default: this one).
        #[arg(long, value_name = "EXE")]
        brain: Option<PathBuf>,
        /// Scratch dir (default: a temporary one, deleted afterwards).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Search speed, ANN recall, build time, disk and memory of an index of N chunks made from
    /// this data dir's index (its texts and real vectors, varied), without embedding N chunks.
    Scale {
        #[arg(long)]
        chunks: usize,
        /// Real chunks the synthetic ones are made from.
        #[arg(long, default_value_t = 10_000)]
        sample: usize,
        #[arg(long, default_value_t = 100)]
        queries: usize,
        /// Build the index here and keep it; a later run with the same --chunks reuses it (and
        /// measures an index opened cold). Default: a temporary dir, deleted afterwards.
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// Rows from which an ANN index is built (default: the engine's).
        #[arg(long)]
        ann_min_rows: Option<usize>,
        /// ivf-pq, ivf-hnsw-sq or ivf-rq (default: the engine's).
        #[arg(long)]
        ann: Option<String>,
        #[arg(long)]
        nprobes: Option<usize>,
        #[arg(long)]
        refine_factor: Option<u32>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
}

impl BenchCommand {
    pub fn wants_json(&self) -> bool {
        match self {
            BenchCommand::Crash { json, .. } | BenchCommand::Scale { json, .. } => *json,
        }
    }
}

pub async fn run(engine: &Engine, command: BenchCommand) -> anyhow::Result<i32> {
    match command {
        BenchCommand::Scale { chunks, sample, queries, work_dir, ann_min_rows, ann, nprobes, refine_factor, seed, json } => {
            let mut policy = brain_engine::IndexPolicy::default();
            if let Some(kind) = ann {
                policy.vector_index = brain_engine::VectorIndexKind::parse(&kind)
                    .ok_or_else(|| anyhow::anyhow!("unknown ANN index {kind:?} (ivf-pq, ivf-hnsw-sq or ivf-rq)"))?;
            }
            policy.vector_index_min_rows = ann_min_rows.unwrap_or(policy.vector_index_min_rows);
            policy.nprobes = nprobes.unwrap_or(policy.nprobes);
            policy.refine_factor = refine_factor.unwrap_or(policy.refine_factor);
            let options = ScaleOptions { sample, queries, work_dir, policy, seed, ..ScaleOptions::new(chunks) };
            let bar = spinner();
            let report = scale::run(engine, &options, |step| bar.set_message(step.to_string())).await?;
            bar.finish_and_clear();
            if json {
                print_json(&report)?;
            } else {
                print_scale(&report);
            }
            Ok(0)
        }
        BenchCommand::Crash { folder, kills, seed, batch_files, watch_rounds, no_concurrent, delays_only, brain, work_dir, json } => {
            let scratch = tempfile_dir()?;
            let options = CrashOptions {
                brain: match brain {
                    Some(b) => b,
                    None => std::env::current_exe()?,
                },
                corpus: folder,
                work_dir: work_dir.unwrap_or_else(|| scratch.clone()),
                models_dir: engine.options().models_dir.clone(),
                kills,
                seed,
                batch_files,
                points: if delays_only { Vec::new() } else { Engine::crash_points().into_iter().map(String::from).collect() },
                watch_rounds,
                concurrent_writers: !no_concurrent,
                verbose: !json,
            };
            let report = tokio::task::spawn_blocking(move || crash::run(&options)).await??;
            let _ = std::fs::remove_dir_all(&scratch);
            if json {
                print_json(&report)?;
            } else {
                print_crash(&report);
            }
            Ok(if report.passed { 0 } else { 1 })
        }
    }
}

pub async fn speed(engine: &Engine, args: SpeedArgs) -> anyhow::Result<i32> {
    let SpeedArgs { folder, queries, questions, live_edits, idle_secs, live_only, json } = args;
    let folder = folder.expect("clap requires the folder");
    let bar = spinner();
    let options = BenchOptions { queries, questions, ..BenchOptions::new(&folder) };
    let report = if live_only { None } else { Some(speed::run(engine, &options, |step| bar.set_message(step.to_string())).await?) };
    let live = if live_edits > 0 {
        Some(speed::live(engine, &folder, live_edits, idle_secs, |step| bar.set_message(step.to_string())).await?)
    } else {
        None
    };
    bar.finish_and_clear();
    if json {
        print_json(&serde_json::json!({ "bench": report, "live": live }))?;
    } else {
        if let Some(report) = &report {
            print_bench(report);
        }
        if let Some(l) = &live {
            println!(
                "freshness: {} edits: write → searchable p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
                l.edits, l.freshness_p50_ms, l.freshness_p95_ms, l.freshness_max_ms
            );
            println!(
                "edit cost: one-line edit of {} ({} chunks): {:.0} ms vs {:.0} ms from scratch = {:.2}; {} chunk(s) re-embedded",
                l.edit_file, l.edit_file_chunks, l.one_line_edit_ms, l.full_index_ms, l.edit_cost_ratio, l.edit_embedded_chunks
            );
            println!("idle:      watcher process CPU {:.2}% of one core over {} s", l.idle_cpu_percent, l.idle_seconds);
        }
    }
    Ok(0)
}

/// A fresh scratch folder under the system's temporary dir.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "brain-crash-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_crash(r: &CrashReport) {
    println!("corpus: {} ({} files, {} chunks; clean index {:.1} s)", r.corpus, r.files, r.chunks, r.clean_index_s);
    println!(
        "kills:  {} ({} at named points, {} after random delays)",
        r.kills,
        r.kills_at_points.values().sum::<usize>(),
        r.kills_at_delays
    );
    for (point, n) in &r.kills_at_points {
        println!("        {n:4}  {point}");
    }
    if !r.points_not_reached.is_empty() {
        println!("        not reached (the run completed first): {}", r.points_not_reached.join(", "));
    }
    println!("index broken right after a kill (repaired by the next run): {} times", r.broken_after_kill);
    println!(
        "resumed runs compared with the clean index: {}; files redone that were committed before a kill: {}; chunks embedded on resume: {}",
        r.resumes_compared, r.work_redone_files, r.chunks_embedded_on_resume
    );
    for s in &r.scenarios {
        if !s.passed || s.name.contains("at once") || s.name.contains("beside") || s.name.starts_with("watch") {
            println!("{} {}: {}", if s.passed { "ok  " } else { "FAIL" }, s.name, s.detail);
        }
    }
    for m in &r.mismatches {
        println!("  mismatch: {m}");
    }
    println!("{} in {:.0} s", if r.passed { "PASSED" } else { "FAILED" }, r.elapsed_s);
}

fn print_scale(r: &ScaleReport) {
    println!(
        "index:   {} chunks in {} files, built in {:.1} s (writes {:.1} s, indexes {:.1} s){}; {:.1} MB on disk",
        r.chunks,
        r.files,
        r.build_s,
        r.write_s,
        r.index_s,
        if r.reused { ", reused from an earlier run" } else { "" },
        r.disk_bytes as f64 / 1e6
    );
    match &r.vector_index {
        Some(kind) => println!(
            "vector:  {kind}, nprobes {}, refine factor {}: recall@10 against an exact scan {:.3}",
            r.nprobes, r.refine_factor, r.ann_recall_at_10
        ),
        None => println!("vector:  exact scan (below the ANN threshold)"),
    }
    let s = &r.search_ms;
    for (mode, l) in [
        ("hybrid", s.hybrid),
        ("vector", s.vector),
        ("keyword", s.keyword),
        ("hybrid, one folder", s.hybrid_filtered),
        ("vector, one folder", s.vector_filtered),
    ] {
        println!("search:  {mode:18} p50 {:6.1} ms  p95 {:6.1} ms", l.p50, l.p95);
    }
    println!("query embedding p50 {:.1} ms ({} queries)", r.query_embedding_ms, r.queries);
    println!(
        "update:  1,000 chunks added + a file removed: searchable after {:.0} ms; folded into the indexes in {:.0} ms",
        r.update_visible_ms, r.update_optimise_ms
    );
    println!(
        "memory:  RSS {:.0} MB with the index open ({:.0} MB before it: the embedder), peak {:.0} MB",
        r.rss_mb, r.rss_before_index_mb, r.peak_rss_mb
    );
}

fn print_bench(r: &BenchReport) {
    println!("folder: {} ({} threads)", r.folder, r.threads);
    let i = &r.index;
    println!(
        "index:     {} files ({} failed), {} chunks, {:.1} MB in {:.1} s = {:.2} files/s, {:.1} chunks/s; peak RSS {:.0} MB",
        i.files, i.failed, i.chunks, i.megabytes, i.seconds, i.files_per_second, i.chunks_per_second, i.peak_rss_megabytes
    );
    if i.ocr_pages > 0 {
        println!(
            "OCR:       {} pages in {:.1} s of OCR ({:.2} pages/s over the run); {:.0}% of the parser workers' time",
            i.ocr_pages,
            i.ocr_seconds,
            i.ocr_pages_per_second,
            i.ocr_share_of_indexing * 100.0
        );
    }
    let st = &i.stages;
    println!(
        "stages:    embedder waited {:.1} s for parsing, embedded {:.1} s, waited {:.1} s for writes; indexes {:.1} s",
        st.parse_wait_ms as f64 / 1000.0,
        st.embed_ms as f64 / 1000.0,
        st.write_wait_ms as f64 / 1000.0,
        st.maintain_ms as f64 / 1000.0
    );
    let e = &r.embedding;
    println!(
        "embedding: {} texts: {:.1} texts/s vs raw ONNX {:.1} texts/s (ratio {:.2}); indexing {:.1} chunks/s = {:.2} of raw ONNX",
        e.texts, e.embedder_texts_per_second, e.raw_onnx_texts_per_second, e.ratio_to_raw_onnx, i.chunks_per_second, i.ratio_to_raw_onnx
    );
    for s in &r.search {
        println!("search:    {:7} p50 {:.1} ms, p95 {:.1} ms ({} queries)", s.mode, s.p50_ms, s.p95_ms, s.queries);
    }
    if let Some(a) = &r.answer {
        println!(
            "answer:    first token p50 {:.0} ms, {:.1} tokens/s, {:.0} tokens per answer ({} questions; model load {} ms)",
            a.first_token_p50_ms, a.tokens_per_second_mean, a.answer_tokens_mean, a.questions, a.model_load_ms
        );
        println!(
            "           first token cold (load + first answer) {:.0} ms, warm p50 {:.0} ms; prompt {:.0} tokens, {:.0} kept from the system prompt",
            a.first_token_cold_ms, a.first_token_warm_p50_ms, a.prompt_tokens_mean, a.prompt_tokens_reused_mean
        );
    }
}
