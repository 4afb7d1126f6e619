//! `brain folders …`.

use std::path::PathBuf;

use brain_engine::Engine;
use clap::Subcommand;

use crate::output::print_json;

#[derive(Subcommand)]
pub enum FoldersCommand {
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    Remove {
        path: PathBuf,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

impl FoldersCommand {
    pub fn wants_json(&self) -> bool {
        matches!(self, FoldersCommand::List { json: true })
    }
}

pub fn run(engine: &Engine, command: FoldersCommand) -> anyhow::Result<i32> {
    match command {
        FoldersCommand::Add { paths } => {
            for p in engine.add_folders(&paths)? {
                println!("added {}", p.display());
            }
            println!("run `brain index` to index it");
        }
        FoldersCommand::Remove { path } => {
            let removed = engine.remove_folder(&path)?;
            println!("removed {} (its files leave the index at the next `brain index`)", removed.display());
        }
        FoldersCommand::List { json } => {
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
        }
    }
    Ok(0)
}
