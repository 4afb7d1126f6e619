//! What became of one question: right, or which cause made it a miss. A pure function of the
//! question (its gold answer, files and pages, whether it is answerable) and the engine's
//! [`Answer`] (every source given to the model, which of them it cites, why it stopped, its text),
//! so that a run's misses can be counted by cause and the next change aimed at the largest.
//!
//! Figures are compared as the grading compares them ([`Claim::figures_in`]: "$1,577.00 million"
//! and "1577" are the same figure), so `right` agrees with the report's gold-figure rate — except
//! for quoted passages, which hold the figure but tell the user "not found" (see [`classify`]).

use brain_engine::{Answer, AnswerStop, Citation, Claim};
use serde::Serialize;

use super::{Question, file_name, glob_matches, gold_figures};

/// What became of a question. Declared in the order [`classify`] decides (answerable questions
/// first, then unanswerable), which also breaks ties in the printed breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing passed retrieval's relevance gate: "not found" without a model (stop `not_found`).
    RefusedByGate,
    /// Answered and right: a gold figure in the answer (for a reference without figures: found
    /// and citing a gold file).
    Right,
    /// No source given to the model came from a gold file.
    DocumentNotRetrieved,
    /// A gold file among the sources, but no gold figure in any source, nor one computable from
    /// the gold file's passages.
    PassageNotRetrieved,
    /// The model said the sources do not hold the answer (stop `refused`).
    RefusedByModel,
    /// The groundedness check found nothing of the answer supported and quoted passages instead
    /// (stop `unsupported`).
    RefusedByCheck,
    /// The answer stopped at the token limit, a full context or a cancel, without a gold figure.
    CutShort,
    /// The gold figure is in no source but computable from two figures of a gold file's passage
    /// (a difference, sum, ratio or percentage), and the answer does not hold it.
    Arithmetic,
    /// A gold figure was among the sources, but the answer has other figures or none.
    WrongFigure,
    /// A reference without figures: a gold file was among the sources but the answer cites none.
    WrongSource,
    /// Unanswerable, and the user was told "not found" (by the gate, the model or the check).
    Refused,
    /// Unanswerable, yet answered.
    AnsweredUnanswerable,
}

impl Outcome {
    /// Every outcome, in decision order.
    pub const ALL: [Outcome; 12] = [
        Outcome::RefusedByGate,
        Outcome::Right,
        Outcome::DocumentNotRetrieved,
        Outcome::PassageNotRetrieved,
        Outcome::RefusedByModel,
        Outcome::RefusedByCheck,
        Outcome::CutShort,
        Outcome::Arithmetic,
        Outcome::WrongFigure,
        Outcome::WrongSource,
        Outcome::Refused,
        Outcome::AnsweredUnanswerable,
    ];

    /// The name in JSON and in the printed breakdown.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::RefusedByGate => "refused_by_gate",
            Outcome::Right => "right",
            Outcome::DocumentNotRetrieved => "document_not_retrieved",
            Outcome::PassageNotRetrieved => "passage_not_retrieved",
            Outcome::RefusedByModel => "refused_by_model",
            Outcome::RefusedByCheck => "refused_by_check",
            Outcome::CutShort => "cut_short",
            Outcome::Arithmetic => "arithmetic",
            Outcome::WrongFigure => "wrong_figure",
            Outcome::WrongSource => "wrong_source",
            Outcome::Refused => "refused",
            Outcome::AnsweredUnanswerable => "answered_unanswerable",
        }
    }

    /// Whether the outcome is one of an answerable question (else of an unanswerable one).
    pub fn of_answerable(self) -> bool {
        !matches!(self, Outcome::Refused | Outcome::AnsweredUnanswerable)
    }

    /// Whether the engine did what it should: no miss.
    pub fn is_right(self) -> bool {
        matches!(self, Outcome::Right | Outcome::Refused)
    }
}

/// What became of `question` given the engine's `answer`.
///
/// An unanswerable question was answered right when the answer is not `found` (whoever refused).
/// An answerable one goes through these rules, the first that holds deciding:
/// 1. `refused_by_gate` — stop `not_found`. First because no source reached the model: the
///    answer has no sources by which to judge retrieval (the row's `retrieved_file` tells).
/// 2. `right` — found, and a gold figure in the answer (no gold figures: cites a gold file; no
///    gold files either: found). Found is required: quoted passages that hold the figure under
///    "not found" are a refusal to the user, and the check is what to look at (rule 6).
/// 3. `document_not_retrieved` — gold files given, none among the sources. Before the refusals:
///    a model or check that refuses without the document does right; retrieval is the cause.
/// 4. `passage_not_retrieved` — gold figures given, none in any source, none computable from a
///    gold file's passage (see [`computable`]). Before the refusals for the same reason.
/// 5. `refused_by_model`, 6. `refused_by_check` — the passage was there (or the figure could be
///    computed from it) and the answer was withheld.
/// 7. `cut_short` — found but stopped early without the figure: the limit, not the model's
///    reading, is the first thing to look at.
/// 8. `arithmetic` — the gold figures are in no source (so by rule 4, computable) and the answer,
///    complete, does not hold them: the model had to compute and did not.
/// 9. `wrong_figure` (the reference has figures, one was in the sources) or `wrong_source` (the
///    reference has none: the answer does not cite the gold file that was among the sources).
pub fn classify(question: &Question, answer: &Answer) -> Outcome {
    if !question.answerable {
        return if answer.found { Outcome::AnsweredUnanswerable } else { Outcome::Refused };
    }
    let gold = gold_figures(&question.answer);
    let from_gold_file = |c: &&Citation| question.files.iter().any(|g| glob_matches(g, &file_name(&c.path)));
    let gold_sources: Vec<&Citation> = answer.citations.iter().filter(from_gold_file).collect();
    let gold_in_sources = answer.citations.iter().any(|c| holds_any(&c.text, &gold));

    if answer.stop == AnswerStop::NotFound {
        return Outcome::RefusedByGate;
    }
    if answer.found && is_right(question, answer, &gold, &gold_sources) {
        return Outcome::Right;
    }
    if !question.files.is_empty() && gold_sources.is_empty() {
        return Outcome::DocumentNotRetrieved;
    }
    // Which sources the gold figures could be computed from: the gold file's (all of them when
    // the question names no file).
    let operand_sources: Vec<&Citation> = if question.files.is_empty() { answer.citations.iter().collect() } else { gold_sources };
    let needs_computing = !gold.is_empty() && !gold_in_sources;
    if needs_computing && !gold.iter().any(|g| computable(g, &operand_sources)) {
        return Outcome::PassageNotRetrieved;
    }
    match answer.stop {
        AnswerStop::Refused => return Outcome::RefusedByModel,
        AnswerStop::Unsupported => return Outcome::RefusedByCheck,
        AnswerStop::MaxTokens | AnswerStop::ContextFull | AnswerStop::Cancelled => return Outcome::CutShort,
        AnswerStop::End | AnswerStop::NotFound => {}
    }
    if needs_computing {
        Outcome::Arithmetic
    } else if gold.is_empty() {
        Outcome::WrongSource
    } else {
        Outcome::WrongFigure
    }
}

/// Rule 2: the answer (found) is right.
fn is_right(question: &Question, answer: &Answer, gold: &[String], gold_sources: &[&Citation]) -> bool {
    if !gold.is_empty() {
        return holds_any(&answer.answer, gold);
    }
    question.files.is_empty() || gold_sources.iter().any(|c| c.cited)
}

/// Whether `text` holds one of the `figures` (normalised as the grading normalises them).
fn holds_any(text: &str, figures: &[String]) -> bool {
    let found = Claim::figures_in(text);
    figures.iter().any(|f| found.contains(f))
}

/// How far apart (in figures) two operands of one computation may stand in a passage: a 10-Q
/// table row holds two to four period columns, so a row's own figures (a change between periods)
/// and the same column of the next row (a sum of two lines) are at most four apart. Any two
/// figures of a long table would, by chance, give most one-decimal percentages.
const OPERANDS_APART: usize = 4;

/// Whether the gold figure `gold` (normalised: "7.9") can be computed from two figures that
/// stand near each other in one of `sources`, as a sum, a difference, a ratio, a share in percent
/// or a percentage change, to the gold figure's own decimals (1,577 and 1,462: a change of
/// 7.87 % → "7.9"). This tells `arithmetic` (the sources hold what is needed; the model had to
/// compute) from `passage_not_retrieved` (they do not). Figures carry no sign (the grading drops
/// it: "decreased 7.9%"), so differences and changes count either way. Two figures of different
/// passages are not combined: that would find most figures by chance.
fn computable(gold: &str, sources: &[&Citation]) -> bool {
    let Ok(target) = gold.parse::<f64>() else { return false };
    let decimals = gold.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    sources.iter().any(|source| {
        let figures = figure_sequence(&source.text);
        figures.iter().enumerate().any(|(i, &a)| {
            figures[i + 1..]
                .iter()
                .take(OPERANDS_APART)
                .any(|&b| results_of(a, b).chain(results_of(b, a)).any(|x| rounds_to(x, target, decimals)))
        })
    })
}

/// The figures worth computing with in `text`, in the order they stand (the same figures as the
/// reference answer's gold figures: no years, no small counts). `Claim::figures_in` gives a set;
/// it is applied word by word to keep the order (its rules look only at neighbouring
/// characters, never across a space, so the figures are the same).
fn figure_sequence(text: &str) -> Vec<f64> {
    text.split_whitespace().flat_map(gold_figures).filter_map(|f| f.parse::<f64>().ok()).collect()
}

/// What a reference answer computes from `a` and `b` (and from `b` and `a`, by the caller).
fn results_of(a: f64, b: f64) -> impl Iterator<Item = f64> {
    let sum = a + b;
    let difference = (a - b).abs();
    let over_b = (b != 0.0).then(|| [a / b, a / b * 100.0, (a - b).abs() / b * 100.0]);
    [sum, difference].into_iter().chain(over_b.into_iter().flatten())
}

/// Whether `x` written with `decimals` decimals is `target`.
fn rounds_to(x: f64, target: f64, decimals: usize) -> bool {
    let scale = 10f64.powi(decimals as i32);
    (x * scale).round() == (target * scale).round()
}

#[cfg(test)]
mod tests {
    use brain_engine::{AnswerTimings, Location, NOT_FOUND};

    use super::*;

    fn question(answer: &str, files: &[&str]) -> Question {
        Question {
            question: "?".into(),
            answer: answer.into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            pages: Vec::new(),
            answerable: true,
            kind: None,
        }
    }

    fn unanswerable() -> Question {
        Question { answerable: false, ..question("", &[]) }
    }

    /// A source: (path, text, cited).
    type Source<'a> = (&'a str, &'a str, bool);

    fn answer(stop: AnswerStop, text: &str, sources: &[Source]) -> Answer {
        let found = matches!(stop, AnswerStop::End | AnswerStop::MaxTokens | AnswerStop::ContextFull | AnswerStop::Cancelled);
        Answer {
            answer: text.into(),
            citations: sources
                .iter()
                .enumerate()
                .map(|(i, &(path, text, cited))| Citation {
                    n: i + 1,
                    path: path.into(),
                    location: Location::default(),
                    text: text.into(),
                    cited,
                    similarity: 0.7,
                })
                .collect(),
            found,
            timings_ms: AnswerTimings::default(),
            prompt_tokens: 0,
            prompt_tokens_reused: 0,
            answer_tokens: 0,
            stop,
            calculations: Vec::new(),
            query: None,
            lora: None,
            claims: Vec::new(),
            grounded: None,
        }
    }

    const LEAVE: &str = "You are entitled to 12 weeks of paid time off.";
    const LEAVE_FILE: &str = "/docs/pages/paid-parental-leave.md";
    const LEAVE_SOURCE: Source = (LEAVE_FILE, "Employees are entitled to 12 weeks of paid parental leave.", true);
    const OTHER_SOURCE: Source = ("/docs/pages/overtime.md", "You can have up to 24 credit hours accrued.", false);

    fn leave_question() -> Question {
        question(LEAVE, &["paid-parental-leave.md"])
    }

    #[test]
    fn a_gold_figure_in_a_found_answer_is_right() {
        let a = answer(AnswerStop::End, "You get 12 weeks [1].", &[LEAVE_SOURCE]);
        assert_eq!(classify(&leave_question(), &a), Outcome::Right);
        // From another file than the gold one: still what the user needed.
        let elsewhere = answer(AnswerStop::End, "You get 12 weeks [1].", &[OTHER_SOURCE]);
        assert_eq!(classify(&leave_question(), &elsewhere), Outcome::Right);
        // Cut short after the figure: right too.
        let cut = answer(AnswerStop::MaxTokens, "You get 12 weeks [1], and in", &[LEAVE_SOURCE]);
        assert_eq!(classify(&leave_question(), &cut), Outcome::Right);
    }

    #[test]
    fn without_gold_figures_right_is_citing_the_gold_file() {
        let q = question("Yes, Intel reported the acquisition of Tower Semiconductor.", &["*INTC*"]);
        let intc = ("/10q/2023 Q1 INTC.pdf", "Intel agreed to acquire Tower Semiconductor.", true);
        assert_eq!(classify(&q, &answer(AnswerStop::End, "Yes: Tower [1].", &[intc])), Outcome::Right);
        let uncited = (intc.0, intc.1, false);
        let aapl = ("/10q/2023 Q1 AAPL.pdf", "Apple made no acquisitions.", true);
        assert_eq!(classify(&q, &answer(AnswerStop::End, "No [2].", &[uncited, aapl])), Outcome::WrongSource);
    }

    #[test]
    fn nothing_past_the_gate_is_refused_by_gate() {
        let a = answer(AnswerStop::NotFound, NOT_FOUND, &[]);
        assert_eq!(classify(&leave_question(), &a), Outcome::RefusedByGate);
    }

    #[test]
    fn no_source_of_a_gold_file_is_document_not_retrieved_even_when_refused() {
        let answered = answer(AnswerStop::End, "You can have 24 hours [1].", &[OTHER_SOURCE]);
        assert_eq!(classify(&leave_question(), &answered), Outcome::DocumentNotRetrieved);
        // The model was right to refuse: retrieval is the cause.
        let refused = answer(AnswerStop::Refused, NOT_FOUND, &[OTHER_SOURCE]);
        assert_eq!(classify(&leave_question(), &refused), Outcome::DocumentNotRetrieved);
    }

    #[test]
    fn a_gold_file_without_the_gold_figure_is_passage_not_retrieved() {
        let intro = (LEAVE_FILE, "Paid parental leave (PPL) is available to employees after 30 days.", true);
        let a = answer(AnswerStop::End, "After 30 days [1].", &[intro]);
        assert_eq!(classify(&leave_question(), &a), Outcome::PassageNotRetrieved);
        let refused = answer(AnswerStop::Refused, NOT_FOUND, &[intro]);
        assert_eq!(classify(&leave_question(), &refused), Outcome::PassageNotRetrieved);
    }

    #[test]
    fn refusals_with_the_passage_at_hand_are_the_model_s_or_the_check_s() {
        let by_model = answer(AnswerStop::Refused, NOT_FOUND, &[LEAVE_SOURCE]);
        assert_eq!(classify(&leave_question(), &by_model), Outcome::RefusedByModel);
        // Quoted passages hold the figure, but the user was told "not found".
        let quoted = format!("{NOT_FOUND} The closest passages:\n\n> “Employees are entitled to 12 weeks” [1]");
        let by_check = answer(AnswerStop::Unsupported, &quoted, &[LEAVE_SOURCE]);
        assert_eq!(classify(&leave_question(), &by_check), Outcome::RefusedByCheck);
    }

    #[test]
    fn an_answer_stopped_early_without_the_figure_is_cut_short() {
        for stop in [AnswerStop::MaxTokens, AnswerStop::ContextFull] {
            let a = answer(stop, "Employees who have worked for", &[LEAVE_SOURCE]);
            assert_eq!(classify(&leave_question(), &a), Outcome::CutShort, "{stop:?}");
        }
    }

    #[test]
    fn another_figure_with_the_gold_one_in_the_sources_is_wrong_figure() {
        let a = answer(AnswerStop::End, "You get 24 weeks [1].", &[LEAVE_SOURCE, OTHER_SOURCE]);
        assert_eq!(classify(&leave_question(), &a), Outcome::WrongFigure);
        let no_figure = answer(AnswerStop::End, "You get paid leave [1].", &[LEAVE_SOURCE]);
        assert_eq!(classify(&leave_question(), &no_figure), Outcome::WrongFigure);
    }

    const SALES_FILE: &str = "/10q/2023 Q2 ACME.pdf";

    fn growth_question() -> Question {
        question("Net sales grew 7.9% to $1,577 million.", &["*ACME*"])
    }

    #[test]
    fn a_gold_figure_computable_from_the_passage_is_arithmetic() {
        // 1,577 is not a gold figure alone here: the reference's 7.9 % is (1,577 − 1,462) / 1,462.
        let q = question("Net sales grew 7.9%.", &["*ACME*"]);
        let table = (SALES_FILE, "Net sales $ 1,577 $ 1,462 Cost of sales 950 901", true);
        let a = answer(AnswerStop::End, "Net sales rose from $1,462 to $1,577 million [1].", &[table]);
        assert_eq!(classify(&q, &a), Outcome::Arithmetic);
        // A wrong computation is arithmetic too; a refusal is the model's.
        let wrong = answer(AnswerStop::End, "Net sales grew 8.1% [1].", &[table]);
        assert_eq!(classify(&q, &wrong), Outcome::Arithmetic);
        let refused = answer(AnswerStop::Refused, NOT_FOUND, &[table]);
        assert_eq!(classify(&q, &refused), Outcome::RefusedByModel);
        // The same figures in another file's passage are no gold passage.
        let other = ("/10q/2023 Q2 OTHER.pdf", table.1, true);
        let gold_intro = (SALES_FILE, "ACME makes anvils.", false);
        assert_eq!(classify(&q, &answer(AnswerStop::End, "8.1% [1].", &[other, gold_intro])), Outcome::PassageNotRetrieved);
    }

    #[test]
    fn operands_far_apart_are_not_combined() {
        let q = question("Net sales grew 7.9%.", &["*ACME*"]);
        let far = (SALES_FILE, "Net sales $ 1,577 then 11 22 33 44 55 and later $ 1,462", true);
        assert_eq!(classify(&q, &answer(AnswerStop::End, "8.1% [1].", &[far])), Outcome::PassageNotRetrieved);
    }

    #[test]
    fn one_gold_figure_in_the_sources_is_no_computation() {
        // 1,577 is in the table: the passage was there, the answer is just wrong.
        let table = (SALES_FILE, "Net sales $ 1,577 $ 1,462", true);
        let a = answer(AnswerStop::End, "Net sales were $1,600 million [1].", &[table]);
        assert_eq!(classify(&growth_question(), &a), Outcome::WrongFigure);
    }

    #[test]
    fn computations_to_the_gold_figure_s_decimals() {
        let source = |text: &'static str| Citation {
            n: 1,
            path: SALES_FILE.into(),
            location: Location::default(),
            text: text.into(),
            cited: true,
            similarity: 0.7,
        };
        let sales = source("$ 1,577 $ 1,462");
        assert!(computable("7.9", &[&sales]), "percentage change 7.87");
        assert!(computable("7.87", &[&sales]), "7.866 to two decimals");
        assert!(!computable("7.86", &[&sales]));
        assert!(computable("115", &[&sales]), "difference");
        assert!(computable("3039", &[&sales]), "sum");
        assert!(computable("107.9", &[&sales]), "share in percent");
        assert!(computable("1.08", &[&sales]), "ratio");
        assert!(!computable("7.8", &[&sales]));
        assert!(!computable("116", &[&sales]));
        let margins = source("gross margin 45.2% 43.3%");
        assert!(computable("1.9", &[&margins]), "percentage points");
    }

    #[test]
    fn unanswerable_questions_are_refused_or_answered() {
        for stop in [AnswerStop::NotFound, AnswerStop::Refused, AnswerStop::Unsupported] {
            assert_eq!(classify(&unanswerable(), &answer(stop, NOT_FOUND, &[OTHER_SOURCE])), Outcome::Refused, "{stop:?}");
        }
        let answered = answer(AnswerStop::End, "Tesla earned $24,927 million [1].", &[OTHER_SOURCE]);
        assert_eq!(classify(&unanswerable(), &answered), Outcome::AnsweredUnanswerable);
    }

    #[test]
    fn names_are_the_json_names_and_groups_hold() {
        for outcome in Outcome::ALL {
            assert_eq!(serde_json::to_value(outcome).unwrap(), serde_json::json!(outcome.name()));
        }
        let mut sorted = Outcome::ALL;
        sorted.sort();
        assert_eq!(sorted, Outcome::ALL, "ALL is in declaration (decision) order");
        assert_eq!(Outcome::ALL.iter().filter(|o| !o.of_answerable()).count(), 2);
        assert_eq!(Outcome::ALL.iter().filter(|o| o.is_right()).count(), 2);
    }
}
