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
        /// Who may read the folders' files, in place of their file system permissions:
        /// comma-separated `everyone`, `user:NAME`, `group:NAME` (`!user:NAME`, `!group:NAME`
        /// to keep someone out). Given again for a registered folder, it replaces its policy.
        #[arg(long, value_delimiter = ',', value_name = "READERS")]
        readers: Option<Vec<String>>,
        /// Back to the file system's permissions for these registered folders.
        #[arg(long, conflicts_with = "readers")]
        file_system_readers: bool,
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
        FoldersCommand::Add { paths, readers, file_system_readers } => {
            for p in engine.add_folders(&paths)? {
                println!("added {}", p.display());
            }
            if readers.is_some() || file_system_readers {
                for p in &paths {
                    let folder = engine.set_folder_readers(p, readers.clone())?;
                    match &readers {
                        Some(r) => println!("{}: readable by {} only", folder.display(), r.join(", ")),
                        None => println!("{}: readable as its file system permissions say", folder.display()),
                    }
                }
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
