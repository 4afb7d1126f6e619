//! `brain-bench serve`: many clients searching a team server (`brain_bench::serve`), its report.

use std::path::PathBuf;

use brain_bench::scale::ScaleOptions;
use brain_bench::serve::{self, Load, ServeBenchOptions, ServeReport};
use brain_engine::Engine;
use clap::Args;

use crate::output::{print_json, spinner};

#[derive(Args)]
pub struct ServeArgs {
    /// Chunks in the served index (made as `scale` makes them).
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Searches each client sends, one after another.
    #[arg(long, default_value_t = 20)]
    searches: usize,
    /// Where the index is built and kept (a later run with the same --chunks reuses it; a
    /// `scale` run's work dir will do).
    #[arg(long, value_name = "DIR")]
    work_dir: PathBuf,
    /// Serve it from object storage instead (`s3://bucket/prefix`, with the AWS_* settings):
    /// uploaded there first, unless the same index already is.
    #[arg(long, value_name = "S3_URI")]
    shared_index: Option<String>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(engine: &Engine, args: ServeArgs) -> anyhow::Result<i32> {
    let ServeArgs { chunks, clients, searches, work_dir, shared_index, seed, json } = args;
    let scale = ScaleOptions { work_dir: Some(work_dir), seed, ..ScaleOptions::new(chunks) };
    let options = ServeBenchOptions { scale, clients, searches_per_client: searches, shared_index };
    let bar = spinner();
    let report = serve::run(engine, &options, |step| bar.set_message(step.to_string())).await?;
    bar.finish_and_clear();
    if json {
        print_json(&report)?;
    } else {
        print_serve(&report);
    }
    Ok(0)
}

fn print_serve(r: &ServeReport) {
    println!(
        "{} chunks in {} files on {}; {} clients, {} searches per run (hybrid, k 10)",
        r.chunks, r.files, r.store, r.clients, r.searches
    );
    let line = |what: &str, l: &Load| {
        println!("  {what:<34} p50 {:>7.1} ms   p95 {:>7.1} ms   {:>6.1} searches/s", l.p50_ms, l.p95_ms, l.searches_per_s)
    };
    line("HTTP, as a team member", &r.http_as_person);
    line("engine, as the same team member", &r.engine_as_person);
    line("engine, as the index's owner", &r.engine_as_owner);
    if let Some(from_bucket) = &r.engine_as_person_from_bucket {
        line("engine, member, reading the bucket", from_bucket);
    }
    println!("  readers filter: p95 ×{:.2}; serving over HTTP: p95 ×{:.2}", r.filter_p95_ratio, r.http_p95_ratio);
    if let (Some(copy_s), Some(speedup)) = (r.copy_s, r.copy_p50_speedup) {
        println!("  the replica's copy made in {copy_s:.1} s; searching it: p50 ×{speedup:.1} faster than reading the bucket");
    }
}
