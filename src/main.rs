//! `brain`: the command-line front end of corporate-brain. A thin layer over `brain-engine`:
//! it parses arguments, calls one engine method per command, and renders engine events as
//! progress bars and results as text or JSON (each command's formatting sits beside it in
//! `commands/`). Scripts depend on the command names and JSON fields; keep them stable.

mod commands;
mod output;

use std::path::PathBuf;

use brain_engine::{Engine, EngineOptions, Parsers, SearchMode};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "brain", version, about = "A local, private knowledge base over your folders: index, search, ask.")]
struct Cli {
    /// Where the index, settings and folder list live; `s3://BUCKET/PREFIX` for a team's shared
    /// index in object storage (reached with the AWS_* settings of the environment).
    #[arg(long, global = true, env = "BRAIN_DATA_DIR", value_name = "DIR|S3_URI")]
    data_dir: Option<PathBuf>,
    /// Where `brain models fetch` puts the model files.
    #[arg(long, global = true, env = "BRAIN_MODELS_DIR", value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// Answer with this GGUF file (this run only; `brain models use` makes it stick).
    // A string, not a path: `models fetch` and `models use` define their own `--llm` (a model's
    // name), and clap hands the value of the same flag to both definitions.
    #[arg(long, global = true, env = "BRAIN_LLM", value_name = "GGUF")]
    llm: Option<String>,
    /// Embed with this model: an ONNX model directory or an E5S1 file (this run only).
    // A string, as `--llm` is: `models fetch` and `models use` take an embedder's name here.
    #[arg(long, global = true, env = "BRAIN_EMBEDDER", value_name = "DIR|FILE")]
    embedder: Option<String>,
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
    Models(commands::models::ModelsCommand),
    /// Register, unregister and list the folders to index.
    #[command(subcommand)]
    Folders(commands::folders::FoldersCommand),
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
        /// Search as this person: only files their account may read (root or the index's owner).
        #[arg(long = "as", value_name = "USER")]
        as_person: Option<String>,
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
        /// Answer as this person: only from files their account may read (root or the index's
        /// owner).
        #[arg(long = "as", value_name = "USER")]
        as_person: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a file as the app's viewer does, around a passage (the text of a search result or
    /// citation): a PDF page drawn (`--png`) with the passage's boxes, a sheet's rows, or the
    /// document's text with the passage marked »like this«. Only files in registered folders.
    View {
        path: PathBuf,
        /// The passage to mark.
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        passage: String,
        /// A sentence inside the passage that an answer rests on, marked more strongly
        /// (repeatable).
        #[arg(long, allow_hyphen_values = true)]
        evidence: Vec<String>,
        /// The PDF page (default: 1), or the page of a document's location.
        #[arg(long)]
        page: Option<u32>,
        /// The sheet of a spreadsheet, and its cited rows (`--rows 12-14`).
        #[arg(long)]
        sheet: Option<String>,
        #[arg(long, value_name = "FIRST-LAST")]
        rows: Option<String>,
        /// Write a PDF page's drawing here (PNG).
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Folders, file counts, failures, and whether the index is intact.
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
    /// Learn a query adapter for the embedder from the indexed documents: questions the answer
    /// model writes, headings with their sections, labelled pairs; used for searches only when it
    /// ranks held-out pairs better than the plain embedder (`status` says so).
    Tune(commands::tune::TuneArgs),
    /// Serve the index to a team over HTTP: every request as the person its API token names,
    /// who sees only what their account may read (`serve tokens add USER` makes a token).
    Serve(commands::serve::ServeArgs),
    /// Say whether an answer's sources answer its question (or that you opened them to check):
    /// kept as pairs the next `brain tune` learns from — helpful sources for the question,
    /// wrong ones held against it.
    Feedback {
        question: String,
        #[command(flatten)]
        verdict: commands::tune::VerdictArgs,
        /// The sources' files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Measure retrieval and answer quality: BEIR sets, and question sets with gold answers (`eval qa`).
    #[command(subcommand)]
    Eval(commands::eval::EvalCommand),
    /// Measure indexing, embedding, search and answer speed on a folder (in a scratch index).
    /// The crash and scale harnesses are the `brain-bench` executable.
    Bench(commands::bench::SpeedArgs),
    /// Show the settings (`settings.toml` in the data dir).
    Settings,
}

impl Command {
    fn wants_json(&self) -> bool {
        match self {
            Command::Index { json, .. }
            | Command::Search { json, .. }
            | Command::Ask { json, .. }
            | Command::Status { json }
            | Command::Check { json, .. }
            | Command::Inspect { json }
            | Command::View { json, .. }
            | Command::Feedback { json, .. } => *json,
            Command::Bench(speed) => speed.json,
            Command::Eval(e) => e.wants_json(),
            Command::Tune(t) => t.wants_json(),
            Command::Models(m) => m.wants_json(),
            Command::Folders(f) => f.wants_json(),
            Command::Watch { .. } | Command::Settings | Command::Serve(_) => false,
        }
    }
}

fn main() {
    brain_engine::limit_allocator_memory();
    // This executable doubles as the engine's parse worker.
    Parsers::serve_worker_if_requested();
    output::end_quietly_on_broken_pipe();
    let cli = Cli::parse();
    output::init_logging(cli.verbose);
    let json = cli.command.wants_json();
    output::run_and_exit(json, run(cli));
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut options = EngineOptions::resolve(cli.data_dir, cli.models_dir, Parsers::WorkerProcesses);
    // A server of a shared index reads it from a copy on this machine (see brain-store's replica).
    options.replica = matches!(&cli.command, Command::Serve(args) if args.command.is_none() && !args.no_copy);
    let engine = Engine::open(options)?;
    // `models fetch` and `models use` manage the model files themselves: a one-run override does
    // not apply (and their `--llm` is a model's name).
    let models_command =
        matches!(cli.command, Command::Models(commands::models::ModelsCommand::Fetch { .. } | commands::models::ModelsCommand::Use { .. }));
    if !models_command && (cli.llm.is_some() || cli.embedder.is_some() || cli.onnxruntime.is_some()) {
        let mut s = engine.settings();
        s.llm = cli.llm.map(PathBuf::from).or(s.llm);
        s.embedder = cli.embedder.map(PathBuf::from).or(s.embedder);
        s.onnxruntime = cli.onnxruntime.or(s.onnxruntime);
        engine.use_settings_for_this_run(s).await?;
    }
    use commands::*;
    match cli.command {
        Command::Models(command) => models::run(&engine, command).await,
        Command::Folders(command) => folders::run(&engine, command),
        Command::Index { json, rebuild } => index::index(&engine, json, rebuild).await,
        Command::Watch { json } => index::watch(&engine, json).await,
        Command::Inspect { json } => index::inspect(&engine, json).await,
        Command::Status { json } => index::status(&engine, json).await,
        Command::Check { repair, json } => index::check(&engine, repair, json).await,
        Command::Search { query, k, mode, folder, as_person, json } => {
            query::search(&engine, query, k, mode, folder, as_person, json).await
        }
        Command::Ask { question, k, folder, as_person, json } => query::ask(&engine, question, k, folder, as_person, json).await,
        Command::View { path, passage, evidence, page, sheet, rows, png, json } => {
            query::view(&engine, query::ViewArgs { path, passage, evidence, page, sheet, rows, png }, json).await
        }
        Command::Eval(command) => eval::run(&engine, command).await,
        Command::Tune(args) => commands::tune::tune(&engine, args).await,
        Command::Feedback { question, verdict, files, json } => commands::tune::feedback(&engine, question, verdict, files, json),
        Command::Bench(speed) => bench::speed(&engine, speed).await,
        Command::Settings => models::settings(&engine),
        Command::Serve(args) => commands::serve::run(engine, args).await,
    }
}
