//! `brain eval qa FILE`: answer quality on questions with known answers, over the user's index.
//!
//! The file holds one JSON object per line: `{question, answer, files?, pages?, answerable?,
//! type?}`; `files` are globs over file names (`"*2022 Q3 AAPL*"`), `pages` are 1-based,
//! `answerable` defaults to true, `type` groups the summary (e.g. "single-chunk"). For each
//! question it measures, through the engine's own `search` and `ask`:
//! - retrieval: the right file (and page) among the top k search results;
//! - the answer: whether it holds a gold figure (the reference answer's figures, compared as the
//!   groundedness check compares them), whether it cites the right file and page, how grounded
//!   it is, and whether it refused;
//! - time to the first token and in all;
//! - what became of it ([`Outcome`]: right, or the cause of the miss) and, over the run, the
//!   misses by cause, largest first ([`misses`]).

mod misses;
mod outcome;

pub use misses::{Miss, misses, misses_table};
pub use outcome::{Outcome, classify};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use brain_engine::{AnswerStop, AskRequest, Claim, Engine, SearchRequest};
use serde::{Deserialize, Serialize};

use crate::BenchError;

type Result<T, E = BenchError> = std::result::Result<T, E>;

/// One line of the questions file.
#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub question: String,
    /// The reference answer (its figures are the gold figures).
    #[serde(default)]
    pub answer: String,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub pages: Vec<u32>,
    #[serde(default = "yes")]
    pub answerable: bool,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone)]
pub struct QaOptions {
    /// Search results looked at for the retrieval figures.
    pub k: usize,
    /// Only the retrieval figures (no model runs).
    pub retrieval_only: bool,
    /// Every n-th question only (1 = all), for a quick run.
    pub every: usize,
    pub limit: Option<usize>,
}

/// What happened to one question.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionResult {
    pub question: String,
    pub kind: String,
    pub answerable: bool,
    /// The right file among the top k results (None: no files given).
    pub retrieved_file: Option<bool>,
    pub retrieved_page: Option<bool>,
    pub answer: Option<String>,
    pub refused: Option<bool>,
    /// The answer holds a gold figure (None: no model ran, or the reference has no figure).
    pub gold_figure: Option<bool>,
    /// A short reference answer (a span, as SQuAD's: a name, a date, a phrase) stands in the
    /// shown answer (None: no model ran, or the reference is long prose).
    pub reference_shown: Option<bool>,
    pub cited_file: Option<bool>,
    pub cited_page: Option<bool>,
    pub grounded: Option<f32>,
    pub unsupported_claims: usize,
    pub first_token_ms: Option<u64>,
    /// Leading prompt tokens whose model state was kept from before (see `Answer`).
    pub prompt_tokens_reused: Option<usize>,
    /// The LoRA adapter that wrote the answer, if one did (a folder's house style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lora: Option<String>,
    pub total_ms: Option<u64>,
    pub stop: Option<AnswerStop>,
    /// Right, or why not (None: no model ran).
    pub outcome: Option<Outcome>,
}

/// Shares over a group of questions (None where nothing was measured).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rates {
    pub questions: usize,
    pub retrieved_file: Option<f64>,
    pub retrieved_page: Option<f64>,
    pub cited_file: Option<f64>,
    pub cited_page: Option<f64>,
    pub gold_figure: Option<f64>,
    pub reference_shown: Option<f64>,
    pub refused: Option<f64>,
    pub grounded_mean: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct QaReport {
    pub file: String,
    pub k: usize,
    pub model: String,
    /// Answerable questions, by type, and all of them.
    pub by_type: BTreeMap<String, Rates>,
    pub answerable: Rates,
    pub unanswerable: Rates,
    /// Unsupported claims in answers that were shown (every one of them is marked).
    pub unsupported_claims: usize,
    pub first_token_ms: Percentiles,
    pub total_ms: Percentiles,
    /// The questions that missed, by cause, largest first (empty when no model ran).
    pub misses: Vec<Miss>,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
}

/// A glob over file names: `*` any run of characters, `?` one, case-insensitive.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn file_name(path: &str) -> String {
    Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The reference answer's figures worth checking: not years, not list numbers.
fn gold_figures(answer: &str) -> Vec<String> {
    let mut figures: Vec<String> = Claim::figures_in(answer)
        .into_iter()
        .filter(|f| {
            let Ok(n) = f.parse::<f64>() else { return false };
            let year = n.fract() == 0.0 && (1990.0..=2035.0).contains(&n);
            !year && (n >= 10.0 || n.fract() != 0.0)
        })
        .collect();
    figures.sort();
    figures
}

/// Words a reference answer has at most to be graded as a span: longer references (a filing's
/// prose answer) are graded by their figures.
const SPAN_WORDS: usize = 8;

fn is_span(reference: &str) -> bool {
    let words = reference.split_whitespace().count();
    words > 0 && words <= SPAN_WORDS
}

/// Whether `answer` holds the reference span, letter case, spacing and Unicode forms aside
/// ("Ogród Saski", "1943", "the Edict of Fontainebleau").
fn holds_span(answer: &str, span: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let normal = |t: &str| t.nfkc().collect::<String>().to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
    normal(answer).contains(&normal(span))
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| if v.is_empty() { 0.0 } else { v[((p / 100.0) * (v.len() - 1) as f64).round() as usize] };
    Percentiles { p50: at(50.0), p95: at(95.0) }
}

fn share(values: impl Iterator<Item = Option<bool>>) -> Option<f64> {
    let seen: Vec<bool> = values.flatten().collect();
    (!seen.is_empty()).then(|| seen.iter().filter(|&&b| b).count() as f64 / seen.len() as f64)
}

fn rates(results: &[&QuestionResult]) -> Rates {
    let grounded: Vec<f64> = results.iter().filter_map(|r| r.grounded.map(f64::from)).collect();
    Rates {
        questions: results.len(),
        retrieved_file: share(results.iter().map(|r| r.retrieved_file)),
        retrieved_page: share(results.iter().map(|r| r.retrieved_page)),
        cited_file: share(results.iter().map(|r| r.cited_file)),
        cited_page: share(results.iter().map(|r| r.cited_page)),
        gold_figure: share(results.iter().map(|r| r.gold_figure)),
        reference_shown: share(results.iter().map(|r| r.reference_shown)),
        refused: share(results.iter().map(|r| r.refused)),
        grounded_mean: (!grounded.is_empty()).then(|| grounded.iter().sum::<f64>() / grounded.len() as f64),
    }
}

/// Run the questions of `file` against the engine's index.
pub async fn run(engine: &Engine, file: &Path, options: &QaOptions, mut progress: impl FnMut(usize, usize)) -> Result<QaReport> {
    let mut questions: Vec<Question> = crate::read_jsonl(file)?;
    if options.every > 1 {
        questions = questions.into_iter().step_by(options.every).collect();
    }
    if let Some(limit) = options.limit {
        questions.truncate(limit);
    }
    let total = questions.len();
    let mut results = Vec::with_capacity(total);
    for (i, q) in questions.iter().enumerate() {
        progress(i, total);
        let matches_file = |path: &str| q.files.iter().any(|g| glob_matches(g, &file_name(path)));
        let matches_page = |path: &str, page: Option<u32>| matches_file(path) && page.is_some_and(|p| q.pages.contains(&p));
        let hits = engine.search(&SearchRequest { k: options.k, ..SearchRequest::new(q.question.clone()) }).await?;
        let retrieved_file = (!q.files.is_empty()).then(|| hits.iter().any(|h| matches_file(&h.path)));
        let retrieved_page = (!q.pages.is_empty()).then(|| hits.iter().any(|h| matches_page(&h.path, h.location.page)));
        let mut result = QuestionResult {
            question: q.question.clone(),
            kind: q.kind.clone().unwrap_or_else(|| if q.answerable { "answerable".into() } else { "unanswerable".into() }),
            answerable: q.answerable,
            retrieved_file,
            retrieved_page,
            answer: None,
            refused: None,
            gold_figure: None,
            reference_shown: None,
            cited_file: None,
            cited_page: None,
            grounded: None,
            unsupported_claims: 0,
            first_token_ms: None,
            prompt_tokens_reused: None,
            lora: None,
            total_ms: None,
            stop: None,
            outcome: None,
        };
        if !options.retrieval_only {
            let (events, _) = tokio::sync::mpsc::unbounded_channel();
            let answer = engine.ask(&AskRequest::of_benchmark(q.question.clone()), Arc::new(AtomicBool::new(false)), events).await?;
            let cited: Vec<_> = answer.citations.iter().filter(|c| c.cited).collect();
            let gold = gold_figures(&q.answer);
            let figures = Claim::figures_in(&answer.answer);
            result.refused = Some(!answer.found);
            result.gold_figure = (q.answerable && !gold.is_empty()).then(|| gold.iter().any(|g| figures.contains(g)));
            result.reference_shown = (q.answerable && is_span(&q.answer)).then(|| answer.found && holds_span(&answer.answer, &q.answer));
            result.cited_file = (q.answerable && !q.files.is_empty()).then(|| cited.iter().any(|c| matches_file(&c.path)));
            result.cited_page = (q.answerable && !q.pages.is_empty()).then(|| cited.iter().any(|c| matches_page(&c.path, c.location.page)));
            result.grounded = answer.grounded;
            result.unsupported_claims = answer.claims.iter().filter(|c| !c.supported).count();
            result.first_token_ms = answer.timings_ms.first_token_ms;
            result.prompt_tokens_reused = Some(answer.prompt_tokens_reused);
            result.lora.clone_from(&answer.lora);
            result.total_ms = Some(answer.timings_ms.total_ms);
            result.stop = Some(answer.stop);
            result.outcome = Some(classify(q, &answer));
            result.answer = Some(answer.answer);
        }
        results.push(result);
    }
    progress(total, total);
    let answerable: Vec<&QuestionResult> = results.iter().filter(|r| r.answerable).collect();
    let unanswerable: Vec<&QuestionResult> = results.iter().filter(|r| !r.answerable).collect();
    let mut by_type: BTreeMap<String, Vec<&QuestionResult>> = BTreeMap::new();
    for r in &answerable {
        by_type.entry(r.kind.clone()).or_default().push(r);
    }
    Ok(QaReport {
        file: file.display().to_string(),
        k: options.k,
        model: engine.model_paths().llm.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        by_type: by_type.into_iter().map(|(k, v)| (k, rates(&v))).collect(),
        answerable: rates(&answerable),
        unanswerable: rates(&unanswerable),
        unsupported_claims: results.iter().map(|r| r.unsupported_claims).sum(),
        first_token_ms: percentiles(results.iter().filter_map(|r| r.first_token_ms.map(|v| v as f64)).collect()),
        total_ms: percentiles(
            results.iter().filter(|r| r.stop != Some(AnswerStop::NotFound)).filter_map(|r| r.total_ms.map(|v| v as f64)).collect(),
        ),
        misses: misses(&results.iter().filter_map(|r| r.outcome).collect::<Vec<_>>()),
        questions: results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_gold_figures() {
        assert!(glob_matches("*2022 Q3 AAPL*", "2022 Q3 AAPL.pdf"));
        assert!(glob_matches("*aapl*", "2023 Q1 AAPL.pdf"));
        assert!(!glob_matches("*AAPL*", "2023 Q1 MSFT.pdf"));
        assert!(glob_matches("report-?.md", "report-1.md"));
        assert_eq!(gold_figures("In 2022 net sales were $82,959 million, up 1.9% (see item 2)."), vec!["1.9", "82959"]);
    }

    #[test]
    fn a_short_reference_is_graded_as_a_span_of_the_answer() {
        assert!(is_span("Ogród Saski") && is_span("1943") && !is_span(""));
        assert!(!is_span("The effective tax rates reported by Apple in the provided quarters are as follows"));
        assert!(holds_span("Sie heißen auf Polnisch  OGRÓD SASKI [1].", "Ogród Saski"));
        assert!(holds_span("ﬁve", "five"), "compatibility forms");
        assert!(!holds_span("The Saxon Garden is a public park [1].", "Ogród Saski"));
    }
}
