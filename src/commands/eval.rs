//! `brain eval …`: retrieval and answer quality.

use std::path::PathBuf;

use brain_bench::beir::{self, EvalStep};
use brain_bench::qa::{QaOptions, QaReport, Rates, misses_table};
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
    /// Retrieval on a SQuAD-format file (XQuAD): each question must find its paragraph; recall@5
    /// is the share found in the top 5. `--questions` asks the questions of a parallel file in
    /// another language (cross-lingual retrieval).
    Squad {
        /// The paragraphs searched.
        passages: PathBuf,
        /// The questions asked (default: the passages' file).
        #[arg(long)]
        questions: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Answer quality on a JSON-lines file of {question, answer, files?, pages?, answerable?, type?}
    /// over the index (index the documents first): right file and page retrieved and cited, gold
    /// figures, groundedness, refusals, first-token time; and the misses by cause (document or
    /// passage not retrieved, refused by the gate, model or check, wrong figure, arithmetic, cut
    /// short), largest first.
    Qa {
        file: PathBuf,
        /// Search results looked at for the retrieval figures.
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Only the retrieval figures: no model runs.
        #[arg(long)]
        retrieval_only: bool,
        /// Every n-th question only.
        #[arg(long, default_value_t = 1)]
        every: usize,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
    },
}

impl EvalCommand {
    pub fn wants_json(&self) -> bool {
        match self {
            EvalCommand::Beir { json, .. } | EvalCommand::Squad { json, .. } | EvalCommand::Qa { json, .. } => *json,
        }
    }
}

pub async fn run(engine: &Engine, command: EvalCommand) -> anyhow::Result<i32> {
    match command {
        EvalCommand::Beir { dir, split, json } => beir(engine, dir, split, json).await,
        EvalCommand::Squad { passages, questions, json } => squad(engine, passages, questions, json).await,
        EvalCommand::Qa { file, k, retrieval_only, every, limit, json } => {
            qa(engine, file, QaOptions { k, retrieval_only, every: every.max(1), limit }, json).await
        }
    }
}

fn progress(bar: &indicatif::ProgressBar) -> impl FnMut(EvalStep) + '_ {
    |step| match step {
        EvalStep::Indexing { done, total } => bar.set_message(format!("indexing corpus {done}/{total}")),
        EvalStep::Searching { mode, done, total } => bar.set_message(format!("{mode} search {done}/{total}")),
    }
}

async fn beir(engine: &Engine, dir: PathBuf, split: String, json: bool) -> anyhow::Result<i32> {
    let bar = spinner();
    let report = beir::beir(engine, &dir, &split, progress(&bar)).await?;
    bar.finish_and_clear();
    print_retrieval(&report, json)
}

async fn squad(engine: &Engine, passages: PathBuf, questions: Option<PathBuf>, json: bool) -> anyhow::Result<i32> {
    let bar = spinner();
    let report = brain_bench::squad::squad(engine, &passages, questions.as_deref(), progress(&bar)).await?;
    bar.finish_and_clear();
    print_retrieval(&report, json)
}

fn print_retrieval(report: &beir::EvalReport, json: bool) -> anyhow::Result<i32> {
    if json {
        print_json(report)?;
        return Ok(0);
    }
    println!(
        "{} ({}): {} documents, {} chunks, {} queries, indexed in {:.1} s",
        report.dataset,
        report.split,
        report.documents,
        report.chunks,
        report.queries,
        report.index_ms as f64 / 1000.0
    );
    println!("| mode | recall@5 | nDCG@10 | recall@10 | recall@100 | MRR@10 |");
    println!("|---|---|---|---|---|---|");
    for mode in ["hybrid", "vector", "keyword"] {
        let m = &report.modes[mode];
        println!(
            "| {mode} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
            m.recall_at_5, m.ndcg_at_10, m.recall_at_10, m.recall_at_100, m.mrr_at_10
        );
    }
    Ok(0)
}

async fn qa(engine: &Engine, file: PathBuf, options: QaOptions, json: bool) -> anyhow::Result<i32> {
    let bar = spinner();
    let report = brain_bench::qa::run(engine, &file, &options, |done, total| bar.set_message(format!("question {done}/{total}"))).await?;
    bar.finish_and_clear();
    if json {
        print_json(&report)?;
    } else {
        print_qa(&report);
    }
    Ok(0)
}

fn print_qa(r: &QaReport) {
    let pct = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{:.0}%", x * 100.0));
    let row = |name: &str, x: &Rates| {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            x.questions,
            pct(x.retrieved_file),
            pct(x.retrieved_page),
            pct(x.cited_file),
            pct(x.gold_figure),
            pct(x.refused),
            x.grounded_mean.map_or("–".into(), |g| format!("{g:.2}")),
            pct(x.cited_page)
        )
    };
    println!("{} (model {}, top {})", r.file, r.model, r.k);
    println!("| questions | n | file in top k | page in top k | cites the file | gold figure | refused | grounded | cites the page |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (kind, rates) in &r.by_type {
        row(kind, rates);
    }
    row("all answerable", &r.answerable);
    if r.unanswerable.questions > 0 {
        row("unanswerable", &r.unanswerable);
    }
    println!(
        "first token p50 {:.0} ms, p95 {:.0} ms; answer p50 {:.0} ms, p95 {:.0} ms; {} unsupported claim(s) shown, every one marked",
        r.first_token_ms.p50, r.first_token_ms.p95, r.total_ms.p50, r.total_ms.p95, r.unsupported_claims
    );
    if r.questions.iter().any(|q| q.outcome.is_some()) {
        println!("\nmisses by cause, largest first (each question's `outcome` is in --json):");
        print!("{}", misses_table(&r.misses));
    }
}
