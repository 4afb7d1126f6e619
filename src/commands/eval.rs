//! `brain eval …`: retrieval and answer quality.

use std::path::PathBuf;

use brain_bench::beir::{self, EvalStep, Tuning};
use brain_bench::qa::{QaOptions, QaReport, Rates, misses_table};
use brain_engine::{Engine, PairOrigin};
use clap::Subcommand;

use crate::output::{print_json, spinner};

#[derive(Subcommand)]
pub enum EvalCommand {
    /// nDCG@10, recall@10/100 and MRR@10 of each search mode on a BEIR-format folder.
    ///
    /// The corpus's index keeps a query adapter (`brain tune`'s) when one is trained with the
    /// `--tune-*` options; searches use it when it won its held-out pairs, and are then run
    /// without it too, as the reference.
    Beir {
        dir: PathBuf,
        #[arg(long, default_value = "test")]
        split: String,
        /// Train the query adapter on this split's judgements (e.g. `train`) first.
        #[arg(long, value_name = "SPLIT")]
        tune_labels: Option<String>,
        /// Have the answer model write this many questions over the corpus and train on them.
        #[arg(long, value_name = "N", default_value_t = 0)]
        tune_questions: usize,
        /// Pair the documents' titles with their text and train on them.
        #[arg(long)]
        tune_headings: bool,
        /// Train on pairs of these origins only (question, heading, labelled), comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = parse_origin)]
        tune_only: Vec<PairOrigin>,
        /// Search without the query adapter, even when one is in use.
        #[arg(long)]
        no_adapter: bool,
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
        EvalCommand::Beir { dir, split, tune_labels, tune_questions, tune_headings, tune_only, no_adapter, json } => {
            let tuning = Tuning {
                labels: tune_labels,
                questions: tune_questions,
                headings: tune_headings,
                only: tune_only,
                use_adapter: !no_adapter,
            };
            beir(engine, dir, split, tuning, json).await
        }
        EvalCommand::Squad { passages, questions, json } => squad(engine, passages, questions, json).await,
        EvalCommand::Qa { file, k, retrieval_only, every, limit, json } => {
            qa(engine, file, QaOptions { k, retrieval_only, every: every.max(1), limit }, json).await
        }
    }
}

/// A pair origin as the command line spells it.
pub fn parse_origin(s: &str) -> Result<PairOrigin, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string()))
        .map_err(|_| format!("unknown pair origin {s:?} (question, heading, labelled, feedback or opened)"))
}

fn progress(bar: &indicatif::ProgressBar) -> impl FnMut(EvalStep) + Send + '_ {
    |step| match step {
        EvalStep::Indexing { done, total } => bar.set_message(format!("indexing corpus {done}/{total}")),
        EvalStep::Tuning(step) => bar.set_message(crate::commands::tune::describe(&step)),
        EvalStep::Searching { mode, done, total } => bar.set_message(format!("{mode} search {done}/{total}")),
    }
}

async fn beir(engine: &Engine, dir: PathBuf, split: String, tuning: Tuning, json: bool) -> anyhow::Result<i32> {
    let bar = spinner();
    let report = beir::beir(engine, &dir, &split, &tuning, progress(&bar)).await?;
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
    if let Some(t) = &report.tuning {
        println!(
            "tuned: {} questions written ({:.0} s), pairs kept: {} questions, {} headings, {} labelled; trained in {:.1} s",
            t.questions_written,
            t.questions_ms as f64 / 1000.0,
            t.pairs.questions,
            t.pairs.headings,
            t.pairs.labelled,
            t.train_ms as f64 / 1000.0
        );
        println!("adapter {}: {}", if t.adapter.in_use { "in use" } else { "not used" }, t.adapter.reason);
    }
    println!("| mode | recall@5 | nDCG@10 | recall@10 | recall@100 | MRR@10 |");
    println!("|---|---|---|---|---|---|");
    let rows = |modes: &std::collections::HashMap<String, beir::ModeScores>, suffix: &str| {
        for mode in ["hybrid", "vector", "keyword"] {
            let m = &modes[mode];
            println!(
                "| {mode}{suffix} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
                m.recall_at_5, m.ndcg_at_10, m.recall_at_10, m.recall_at_100, m.mrr_at_10
            );
        }
    };
    match &report.without_adapter {
        Some(without) => {
            rows(without, " (plain)");
            rows(&report.modes, " (adapter)");
        }
        None => rows(&report.modes, ""),
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
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            x.questions,
            pct(x.retrieved_file),
            pct(x.retrieved_page),
            pct(x.cited_file),
            pct(x.gold_figure),
            pct(x.reference_shown),
            pct(x.refused),
            x.grounded_mean.map_or("–".into(), |g| format!("{g:.2}")),
            pct(x.cited_page)
        )
    };
    println!("{} (model {}, top {})", r.file, r.model, r.k);
    println!(
        "| questions | n | file in top k | page in top k | cites the file | gold figure | short reference shown | refused | grounded | cites the page |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
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
