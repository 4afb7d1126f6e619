//! `brain-bench crash FOLDER`: the crash harness (`brain_bench::crash`) and its report.

use std::path::PathBuf;

use brain_bench::crash::{self, CrashOptions, CrashReport};
use clap::Args;

use crate::output::print_json;

#[derive(Args)]
pub struct CrashArgs {
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
    /// The `brain` executable to test (default: the `brain` beside this executable).
    #[arg(long, value_name = "EXE")]
    brain: Option<PathBuf>,
    /// Scratch dir (default: a temporary one, deleted afterwards).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// Run the harness; exit status 1 when the index differed from the clean one anywhere.
pub async fn run(args: CrashArgs, models_dir: PathBuf) -> anyhow::Result<i32> {
    let CrashArgs { folder, kills, seed, batch_files, watch_rounds, no_concurrent, delays_only, brain, work_dir, json } = args;
    let brain = match brain {
        Some(exe) => exe,
        None => brain_beside_this_executable()?,
    };
    // A scratch dir of our own is deleted afterwards; a given work dir is kept.
    let (work_dir, scratch) = match work_dir {
        Some(dir) => (dir, None),
        None => {
            let dir = scratch_dir()?;
            (dir.clone(), Some(dir))
        }
    };
    let options = CrashOptions {
        brain,
        corpus: folder,
        work_dir,
        models_dir,
        kills,
        seed,
        batch_files,
        points: if delays_only { Vec::new() } else { brain_engine::harness::crash_points().into_iter().map(String::from).collect() },
        watch_rounds,
        concurrent_writers: !no_concurrent,
        verbose: !json,
    };
    let outcome = tokio::task::spawn_blocking(move || crash::run(&options)).await?;
    if let Some(scratch) = scratch {
        let _ = std::fs::remove_dir_all(scratch);
    }
    let report = outcome?;
    if json {
        print_json(&report)?;
    } else {
        print_crash(&report);
    }
    Ok(if report.passed { 0 } else { 1 })
}

/// `brain` in this executable's directory: where cargo and an install put them both.
fn brain_beside_this_executable() -> anyhow::Result<PathBuf> {
    let this = std::env::current_exe()?;
    let brain = this.with_file_name(format!("brain{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(brain.is_file(), "no `brain` beside {}: name the executable to test with --brain EXE", this.display());
    Ok(brain)
}

/// A fresh scratch folder under the system's temporary dir.
fn scratch_dir() -> anyhow::Result<PathBuf> {
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
