//! `brain tune`: learn a query adapter for the embedder from the indexed documents.

use std::path::PathBuf;

use anyhow::Context;
use brain_engine::{Engine, Feedback, LabelledPair, PairOrigin, TuneReport, TuneRequest, TuneStep, Verdict};
use clap::{Args, Subcommand};

use crate::output::{cancel_flag, print_json, spinner};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TuneArgs {
    #[command(subcommand)]
    pub command: Option<TuneCommand>,
    /// Questions the answer model writes for passages it has not asked about yet (each about
    /// 5 s on 2 cores; stopped with Ctrl-C, the ones written are kept and the next run goes on).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub questions: usize,
    /// Also pair headings and titles with their sections. Off by default: each chunk is embedded
    /// with its headings, so the plain embedder already ranks such pairs first (BEIR SciFact's
    /// titles: MRR@10 0.99) and they teach the adapter little.
    #[arg(long)]
    pub headings: bool,
    /// Labelled pairs to add: a JSON-lines file of {"query", "path"} (the path of an indexed file).
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<PathBuf>,
    /// Train on pairs of these origins only (question, heading, labelled, feedback, opened),
    /// comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = crate::commands::eval::parse_origin)]
    pub only: Vec<PairOrigin>,
    /// Stop using the adapter and delete it (its pairs are kept).
    #[arg(long, conflicts_with_all = ["pairs", "only"])]
    pub remove: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum TuneCommand {
    /// Write a training set for fine-tuning an answer model elsewhere (JSON lines of chat
    /// `messages`): each kept question with its passage among distractors, in this engine's
    /// prompt, and an answer that quotes and cites it; one in five a refusal.
    Export {
        out: PathBuf,
        /// Distractor passages per example.
        #[arg(long, default_value_t = 3)]
        distractors: usize,
        #[arg(long)]
        json: bool,
    },
}

impl TuneArgs {
    pub fn wants_json(&self) -> bool {
        self.json || matches!(self.command, Some(TuneCommand::Export { json: true, .. }))
    }
}

/// A progress step in words.
pub fn describe(step: &TuneStep) -> String {
    match step {
        TuneStep::Questions { done, total } => format!("writing questions {done}/{total}"),
        TuneStep::Preparing { pairs } => format!("finding the passages of {pairs} pairs"),
        TuneStep::Training { pairs } => format!("training on {pairs} pairs"),
        TuneStep::Judging { pairs } => format!("judging on {pairs} held-out pairs"),
    }
}

pub async fn tune(engine: &Engine, args: TuneArgs) -> anyhow::Result<i32> {
    if let Some(TuneCommand::Export { out, distractors, json }) = &args.command {
        let report = engine.export_training_set(out, *distractors).await?;
        if *json {
            print_json(&report)?;
        } else {
            println!("{} examples ({} refusals) written to {}", report.examples, report.refusals, report.path);
            if report.skipped > 0 {
                println!("{} pairs left out: their passage is no longer in the index", report.skipped);
            }
        }
        return Ok(0);
    }
    if args.remove {
        let removed = engine.remove_adapter()?;
        if args.json {
            print_json(&serde_json::json!({ "removed": removed }))?;
        } else {
            println!("{}", if removed { "query adapter removed" } else { "there was no query adapter" });
        }
        return Ok(0);
    }
    let labelled = match &args.pairs {
        Some(file) => read_pairs(file)?,
        None => Vec::new(),
    };
    let request = TuneRequest { questions: args.questions, headings: args.headings, labelled, only: args.only };
    let bar = spinner();
    let report = engine.tune(request, cancel_flag(), |step| bar.set_message(describe(&step))).await?;
    bar.finish_and_clear();
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(0)
}

fn read_pairs(file: &std::path::Path) -> anyhow::Result<Vec<LabelledPair>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<LabelledPair>(l)
                .with_context(|| format!("{} line {}: expected {{\"query\": …, \"path\": …}}", file.display(), i + 1))
        })
        .collect()
}

fn print_report(r: &TuneReport) {
    println!(
        "pairs kept: {} questions ({} new, {:.0} s), {} headings, {} labelled, {} verdicts on sources, {} sources opened{}",
        r.pairs.questions,
        r.questions_written,
        r.questions_ms as f64 / 1000.0,
        r.pairs.headings,
        r.pairs.labelled,
        r.pairs.feedback,
        r.pairs.opened,
        if r.stale_pairs > 0 { format!("; {} no longer in the index", r.stale_pairs) } else { String::new() }
    );
    let a = &r.adapter;
    println!("trained on {} pairs in {:.1} s, judged on {} held-out pairs", a.trained_pairs, r.train_ms as f64 / 1000.0, a.held_out_pairs);
    println!("query adapter {}: {}", if a.in_use { "in use" } else { "not used" }, a.reason);
}

/// What `brain feedback` says of an answer's sources.
#[derive(Args)]
#[group(required = true, multiple = false, id = "verdict")]
pub struct VerdictArgs {
    /// The sources answer the question.
    #[arg(long)]
    helpful: bool,
    /// The sources do not answer it.
    #[arg(long)]
    wrong: bool,
    /// The sources were opened to check the answer (a weaker "these").
    #[arg(long)]
    opened: bool,
}

/// `brain feedback QUESTION --helpful|--wrong|--opened FILE...`: a verdict kept as tuning pairs.
pub fn feedback(engine: &Engine, question: String, verdict: VerdictArgs, files: Vec<PathBuf>, json: bool) -> anyhow::Result<i32> {
    let verdict = match (verdict.helpful, verdict.wrong) {
        (true, _) => Verdict::Helpful,
        (_, true) => Verdict::Wrong,
        _ => Verdict::Opened,
    };
    let paths = files
        .iter()
        .map(|f| std::path::absolute(f).map(|p| p.display().to_string()).with_context(|| f.display().to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let kept = engine.feedback(&Feedback { question, paths, verdict })?;
    if json {
        print_json(&serde_json::json!({ "new_pairs": kept }))?;
    } else {
        println!("{kept} new pair(s) kept; the next `brain tune` learns from them");
    }
    Ok(0)
}
