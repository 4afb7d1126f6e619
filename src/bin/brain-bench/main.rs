//! `brain-bench`: the harnesses that test corporate-brain from outside, in an executable of their
//! own so that the user's `brain` carries none of them. A thin front end over the `brain-bench`
//! library: it parses arguments, runs one harness, and prints its report as text or JSON (each
//! command's formatting sits beside it). Scripts and the tests read the JSON; keep it stable.
//!
//! - `crash FOLDER`: kill `brain index` and `brain watch` (the `brain` beside this executable, or
//!   `--brain EXE`) at many points, resume, and compare with a clean index.
//! - `scale --chunks N`: an index of N chunks made from the data dir's index, measured.
//! - `serve --work-dir DIR [--shared-index s3://…]`: 50 clients searching that index through
//!   `brain serve`, each as a team member.

mod crash;
// The output of `brain` (logging, JSON, errors with the CLI's hints), shared so that both
// executables report errors alike; this one uses part of it.
#[allow(dead_code)]
#[path = "../../output.rs"]
mod output;
mod scale;
mod serve;

use std::path::PathBuf;

use brain_engine::{Engine, EngineOptions, Parsers};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "brain-bench", version, about = "The crash and scale harnesses of corporate-brain's `brain`.")]
struct Cli {
    /// The data dir whose index `scale` makes its chunks from.
    #[arg(long, global = true, env = "BRAIN_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where the model files are.
    #[arg(long, global = true, env = "BRAIN_MODELS_DIR", value_name = "DIR")]
    models_dir: Option<PathBuf>,
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
    /// Kill `brain index` and `brain watch` at many points (named crash points and random
    /// delays), resume, and compare with a clean index of the same folder.
    Crash(crash::CrashArgs),
    /// Search speed, ANN recall, build time, disk and memory of an index of N chunks made from
    /// this data dir's index (its texts and real vectors, varied), without embedding N chunks.
    Scale(scale::ScaleArgs),
    /// Many clients searching a team server (`brain serve` in this process) over an index of N
    /// chunks made as `scale` makes it, each as a team member: latencies, throughput, and what
    /// the readers filter and HTTP cost — on the local disk or on a shared index in S3.
    Serve(serve::ServeArgs),
}

impl Command {
    fn wants_json(&self) -> bool {
        match self {
            Command::Crash(args) => args.json,
            Command::Scale(args) => args.json,
            Command::Serve(args) => args.json,
        }
    }
}

fn main() {
    // As `brain` does, so that the scale harness's memory figures are those of the product.
    brain_engine::limit_allocator_memory();
    output::end_quietly_on_broken_pipe();
    let cli = Cli::parse();
    output::init_logging(cli.verbose);
    let json = cli.command.wants_json();
    output::run_and_exit(json, run(cli));
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    // Neither harness parses a file in this process (the crash harness runs `brain`; the scale
    // harness writes rows it made): parsing stays on threads, with no worker processes to serve.
    let options = EngineOptions::resolve(cli.data_dir, cli.models_dir, Parsers::Threads);
    match cli.command {
        Command::Crash(args) => crash::run(args, options.models_dir).await,
        Command::Scale(args) => scale::run(&open_engine(options, cli.embedder, cli.onnxruntime).await?, args).await,
        Command::Serve(args) => serve::run(&open_engine(options, cli.embedder, cli.onnxruntime).await?, args).await,
    }
}

/// The engine on the data dir, with the model files given for this run.
async fn open_engine(options: EngineOptions, embedder: Option<PathBuf>, onnxruntime: Option<PathBuf>) -> anyhow::Result<Engine> {
    let engine = Engine::open(options)?;
    if embedder.is_some() || onnxruntime.is_some() {
        let mut settings = engine.settings();
        settings.embedder = embedder.or(settings.embedder);
        settings.onnxruntime = onnxruntime.or(settings.onnxruntime);
        engine.use_settings_for_this_run(settings).await?;
    }
    Ok(engine)
}
