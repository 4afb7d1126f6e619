//! `brain eval …`: retrieval and answer quality.

use std::path::PathBuf;

use brain_bench::beir::{self, EvalStep};
use brain_engine::Engine;
use clap::Subcommand;

use crate::output::{print_json, spinner};

#[derive(Subcommand)]
pub enum EvalCommand {
    /// nDCG@10, recall@10/100 and MRR@10 of each search mode on a BEIR-format folder.
    Beir {
        dir: PathBuf,
        #[arg(long, default_value = "test")]
        split: String,
        #[arg(long)]
        json: bool,
    },
}

impl EvalCommand {
    pub fn wants_json(&self) -> bool {
        match self {
            EvalCommand::Beir { json, .. } => *json,
        }
    }
}

pub async fn run(engine: &Engine, command: EvalCommand) -> anyhow::Result<i32> {
    match command {
        EvalCommand::Beir { dir, split, json } => beir(engine, dir, split, json).await,
    }
}

async fn beir(engine: &Engine, dir: PathBuf, split: String, json: bool) -> anyhow::Result<i32> {
    let bar = spinner();
    let report = beir::beir(engine, &dir, &split, |step| match step {
        EvalStep::Indexing { done, total } => bar.set_message(format!("indexing corpus {done}/{total}")),
        EvalStep::Searching { mode, done, total } => bar.set_message(format!("{mode} search {done}/{total}")),
    })
    .await?;
    bar.finish_and_clear();
    if json {
        print_json(&report)?;
        return Ok(0);
    }
    println!(
        "{} ({} split): {} documents, {} chunks, {} queries",
        report.dataset, report.split, report.documents, report.chunks, report.queries
    );
    println!("| mode | nDCG@10 | recall@10 | recall@100 | MRR@10 |");
    println!("|---|---|---|---|---|");
    for mode in ["hybrid", "vector", "keyword"] {
        let m = &report.modes[mode];
        println!("| {mode} | {:.4} | {:.4} | {:.4} | {:.4} |", m.ndcg_at_10, m.recall_at_10, m.recall_at_100, m.mrr_at_10);
    }
    Ok(0)
}
