//! `brain bench FOLDER`: indexing, embedding, search and answer speed, and live sync. (The crash
//! and scale harnesses are the `brain-bench` executable, `src/bin/brain-bench/`.)

use std::path::PathBuf;

use brain_bench::speed::{self, BenchOptions, BenchReport};
use brain_engine::Engine;
use clap::Args;

use crate::output::{print_json, spinner};

/// `brain bench FOLDER`: indexing, embedding, search and answer speed.
#[derive(Args)]
pub struct SpeedArgs {
    pub folder: PathBuf,
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

pub async fn speed(engine: &Engine, args: SpeedArgs) -> anyhow::Result<i32> {
    let SpeedArgs { folder, queries, questions, live_edits, idle_secs, live_only, json } = args;
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
        "embedding: {} texts: {:.1} texts/s vs raw ONNX {:.1} texts/s (ratio {:.2}); indexing {:.1} chunks/s = {:.2} of raw ONNX ({})",
        e.texts,
        e.embedder_texts_per_second,
        e.raw_onnx_texts_per_second,
        e.ratio_to_raw_onnx,
        i.chunks_per_second,
        i.ratio_to_raw_onnx,
        e.raw_onnx_model
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
