//! `brain-bench scale --chunks N`: the scale harness (`brain_bench::scale`) and its report.

use std::path::PathBuf;

use brain_bench::scale::{self, ScaleOptions, ScaleReport};
use brain_engine::{Engine, IndexPolicy, VectorIndexKind};
use clap::Args;

use crate::output::{print_json, spinner};

#[derive(Args)]
pub struct ScaleArgs {
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
    pub json: bool,
}

pub async fn run(engine: &Engine, args: ScaleArgs) -> anyhow::Result<i32> {
    let ScaleArgs { chunks, sample, queries, work_dir, ann_min_rows, ann, nprobes, refine_factor, seed, json } = args;
    let mut policy = IndexPolicy::default();
    if let Some(kind) = ann {
        policy.vector_index =
            VectorIndexKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("unknown ANN index {kind:?} (ivf-pq, ivf-hnsw-sq or ivf-rq)"))?;
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
