//! From retrieved sources to the answer a person is shown: build the prompt, stream the model's
//! text, check every claim against the sources, and decide what the answer becomes.
//!
//! Key design decision: this is a plain blocking function over the [`Generate`] and [`EmbedText`]
//! traits, with no engine, store or lock in sight, so the rules of what an answer becomes
//! (checked, refused, replaced by quoted passages, stopped) are unit-tested with fakes; the
//! caller (`answer::run`) does retrieval, loading and locking around it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use brain_llm::{GenerateOptions, GenerationStats, StopReason};
use unicode_segmentation::UnicodeSegmentation;

use super::arithmetic::{self, Calculation};
use super::excerpt;
use super::prompt::{self, SYSTEM_PROMPT};
use super::{AnswerEvent, AnswerStop, Citation, NOT_FOUND};
use crate::AnswerSink;
use crate::error::Result;
use crate::grounding::{self, Claim, Grounding};
use crate::inference::{EmbedText, Generate, Remembering};
use crate::retrieval::Hit;

/// What the answer is made from.
pub(crate) struct Inputs<'a> {
    pub question: &'a str,
    pub history: &'a [(String, String)],
    /// The sources retrieval found, best first (not empty: "not found" never reaches here).
    pub sources: Vec<Hit>,
    /// What each source's document is, by path (see [`grounding::Asked`]).
    pub documents: HashMap<String, String>,
    pub max_answer_tokens: u32,
    /// Show an answer whose claims no source supports (marked) instead of quoting passages.
    pub show_unsupported: bool,
    /// The LoRA adapter the model writes with (see `house_style`).
    pub adapter: brain_llm::Adapter,
}

/// The answer as generated and checked, before timings are added.
pub(crate) struct Response {
    pub answer: String,
    pub citations: Vec<Citation>,
    pub found: bool,
    pub stop: AnswerStop,
    /// The model's claims as checked (none when passages are quoted instead).
    pub claims: Vec<Claim>,
    /// The share of the model's claims the sources support; `None` when it made none.
    pub grounded: Option<f32>,
    /// The calculations the engine did for the answer.
    pub calculations: Vec<Calculation>,
    pub stats: GenerationStats,
}

/// Generate and check an answer from `inputs.sources`; the sources, then every token, go to
/// `events` as they come. Blocking.
pub(crate) fn respond(
    inputs: Inputs<'_>,
    model: &dyn Generate,
    embedder: &dyn EmbedText,
    cancel: Arc<AtomicBool>,
    events: &AnswerSink,
) -> Result<Response> {
    // The cut and the check embed the same question and source sentences: once each.
    let embedder = &Remembering::new(embedder);
    // The prompt reads each source cut to what bears on the question; the check and the person
    // see the whole of each source the prompt numbers.
    let excerpts = excerpt::cut(inputs.question, &inputs.sources, embedder, &|text| model.count_tokens(text), excerpt::SOURCE_TOKENS)?;
    let (prompt, numbered) = prompt::build(model, inputs.question, inputs.history, &excerpts, inputs.max_answer_tokens)?;
    let sources: Vec<Hit> =
        numbered.iter().map(|n| inputs.sources.iter().find(|s| s.id == n.id).cloned().unwrap_or_else(|| n.clone())).collect();
    tracing::debug!(prompt_tokens = model.count_tokens(&prompt), "the answer's prompt:\n{prompt}");
    let _ = events.send(AnswerEvent::Sources { citations: citations_of(&sources, &[]) });
    let mut text = String::new();
    let options = GenerateOptions {
        max_tokens: inputs.max_answer_tokens,
        // A small model that starts a new round of the prompt format has finished its answer.
        stop: ["\nQuestion:", "\nSources:", "\n\n\n"].map(String::from).to_vec(),
        adapter: inputs.adapter,
        ..GenerateOptions::default()
    };
    let stats = model.generate(&prompt, options, cancel, &mut |piece| {
        text.push_str(piece);
        let _ = events.send(AnswerEvent::Token { text: piece.to_string() });
    })?;
    // The model's calculations computed by the engine, before the check reads the answer.
    let (text, calculations) = arithmetic::compute(text.trim());
    let text = grounding::respell_grouped_figures(&text, &sources);
    let results: HashSet<String> = calculations.iter().flat_map(Calculation::exempt_figures).collect();
    let asked = grounding::Asked { question: inputs.question, documents: inputs.documents };
    let grounding = grounding::check(&text, &asked, &sources, embedder, NOT_FOUND, SYSTEM_PROMPT, &results)?;

    let cancelled = stats.stop == StopReason::Cancelled;
    let (answer, found, outcome) = outcome(&text, &grounding, &sources, cancelled, inputs.show_unsupported);
    let citations = citations_of(&sources, &crate::citations::cited_numbers(&answer));
    let stop = match (outcome, stats.stop) {
        (Outcome::Refused, _) => AnswerStop::Refused,
        (Outcome::Quoted, _) => AnswerStop::Unsupported,
        (_, StopReason::EndOfText | StopReason::StopString) => AnswerStop::End,
        (_, StopReason::MaxTokens) => AnswerStop::MaxTokens,
        (_, StopReason::ContextFull) => AnswerStop::ContextFull,
        (_, StopReason::Cancelled) => AnswerStop::Cancelled,
    };
    let grounded = grounding.grounded();
    // Quoted passages are no claims of the model's: the claims it made are not shown.
    let (claims, calculations) = if outcome == Outcome::Quoted { (Vec::new(), Vec::new()) } else { (grounding.claims, calculations) };
    Ok(Response { answer, citations, found, stop, claims, grounded, calculations, stats })
}

/// What the user is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The model's answer, checked (unsupported claims marked, missing citations added).
    Checked,
    /// The model found no answer in the sources.
    Refused,
    /// The sources support none of the model's claims: the closest passages instead.
    Quoted,
}

/// The text shown, whether it counts as found, and which outcome it is.
fn outcome(raw: &str, grounding: &Grounding, sources: &[Hit], cancelled: bool, show_unsupported: bool) -> (String, bool, Outcome) {
    if grounding.refused {
        return (NOT_FOUND.to_string(), false, Outcome::Refused);
    }
    // The claims that answer the question decide; supported sentences around an unsupported
    // answer do not rescue it.
    if grounding.answer_unsupported() && !cancelled && !show_unsupported {
        return (quote_closest(grounding, sources), false, Outcome::Quoted);
    }
    let text = if grounding.answer.is_empty() { raw.to_string() } else { grounding.answer.clone() };
    (text, true, Outcome::Checked)
}

/// "Not found", then the source sentences closest to what the model claimed (its answering
/// claims first), with citations.
fn quote_closest(grounding: &Grounding, sources: &[Hit]) -> String {
    let mut out = format!("{NOT_FOUND} The closest passages:");
    let mut quoted: Vec<(String, usize)> = Vec::new();
    let answering_first = grounding.claims.iter().filter(|c| c.answers).chain(grounding.claims.iter().filter(|c| !c.answers));
    for claim in answering_first {
        let Some(evidence) = claim.evidence.as_ref().filter(|e| quotable(e)) else { continue };
        let n = sources.iter().position(|s| s.text.contains(evidence.as_str())).map(|i| i + 1).or(claim.sources.first().copied());
        if let Some(n) = n
            && !quoted.iter().any(|(e, _)| e == evidence)
        {
            quoted.push((evidence.clone(), n));
        }
    }
    if quoted.is_empty() {
        // The first sentence of the best source that says something, cut as the check cuts them
        // ("up 1.5%" ends no sentence, nor does a PDF's line break).
        let first_quotable = sources
            .iter()
            .enumerate()
            .find_map(|(i, source)| crate::wrapped::prose_sentences(&source.text).find(|s| quotable(s)).map(|s| (s.to_string(), i + 1)));
        quoted.extend(first_quotable);
    }
    for (evidence, n) in quoted.into_iter().take(3) {
        out.push_str(&format!("\n\n> “{}” [{n}]", crate::wrapped::one_line(&evidence)));
    }
    out
}

/// Words a quoted passage has at least: a signature line ("(Principal Financial Officer)"), an
/// exhibit's number or a list marker the check found closest to a claim tells the reader nothing.
const MIN_QUOTED_WORDS: usize = 5;

fn quotable(sentence: &str) -> bool {
    !sentence.trim_start().starts_with('#')
        && sentence.unicode_words().filter(|w| w.chars().any(char::is_alphabetic)).count() >= MIN_QUOTED_WORDS
}

/// The sources as citations numbered 1.., marked cited when `cited` holds their number.
pub(crate) fn citations_of(sources: &[Hit], cited: &[usize]) -> Vec<Citation> {
    sources
        .iter()
        .enumerate()
        .map(|(i, hit)| Citation {
            n: i + 1,
            location: hit.location.clone(),
            path: hit.path.clone(),
            text: hit.text.clone(),
            cited: cited.contains(&(i + 1)),
            similarity: hit.similarity.unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    use super::*;
    use crate::inference::fakes::{ScriptedModel, WordVectors};
    use crate::retrieval::test_hit as hit;

    const VANS: &str = "Harbor Lane Freight runs 37 electric vans from the Dunmore depot.";
    const LEAVE: &str = "Staff get 27 days of annual leave. Leave must be approved by the line manager.";

    /// What an answer is made from: `question` over `sources`, no history, 64 tokens at most.
    fn inputs(question: &str, sources: Vec<Hit>) -> Inputs<'_> {
        Inputs {
            question,
            history: &[],
            sources,
            documents: HashMap::new(),
            max_answer_tokens: 64,
            show_unsupported: false,
            adapter: Default::default(),
        }
    }

    fn ask(answer: &str, sources: &[&str], show_unsupported: bool) -> (Response, Vec<AnswerEvent>) {
        ask_about("How many electric vans run from the Dunmore depot?", answer, sources, show_unsupported)
    }

    fn ask_about(question: &str, answer: &str, sources: &[&str], show_unsupported: bool) -> (Response, Vec<AnswerEvent>) {
        let model = ScriptedModel::answering(answer);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sources = sources.iter().enumerate().map(|(i, t)| hit(&format!("/docs/{i}.md"), t)).collect();
        let inputs = Inputs { show_unsupported, ..inputs(question, sources) };
        let response = respond(inputs, &model, &WordVectors::default(), Arc::new(AtomicBool::new(false)), &tx).unwrap();
        drop(tx);
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        (response, events)
    }

    #[test]
    fn a_supported_answer_is_shown_with_its_citation_and_streams_after_the_sources() {
        let (r, events) = ask("Harbor Lane Freight runs 37 electric vans from the Dunmore depot [1].", &[VANS, LEAVE], false);
        assert_eq!(r.stop, AnswerStop::End);
        assert!(r.found);
        assert_eq!(r.grounded, Some(1.0));
        assert!(r.citations[0].cited && !r.citations[1].cited, "{:?}", r.citations);
        assert!(matches!(events.first(), Some(AnswerEvent::Sources { citations }) if citations.len() == 2));
        let streamed: String =
            events.iter().filter_map(|e| if let AnswerEvent::Token { text } = e { Some(text.as_str()) } else { None }).collect();
        assert_eq!(streamed, "Harbor Lane Freight runs 37 electric vans from the Dunmore depot [1].");
    }

    #[test]
    fn a_terse_right_answer_is_shown_and_a_terse_wrong_one_is_not() {
        let (right, _) = ask("37 [1]", &[VANS, LEAVE], false);
        assert_eq!((right.stop, right.found, right.grounded), (AnswerStop::End, true, Some(1.0)), "{}", right.answer);
        assert_eq!(right.answer, "37 [1]");
        assert!(right.citations[0].cited);
        let (wrong, _) = ask("73 [1]", &[VANS, LEAVE], false);
        assert_eq!(wrong.stop, AnswerStop::Unsupported, "{}", wrong.answer);
    }

    #[test]
    fn sentences_copied_around_an_unsupported_answer_neither_rescue_nor_pad_it() {
        let dress = "Staff dress business casual in the office. Jeans are fine on Fridays. Suits are worn to client meetings.";
        let model = ScriptedModel::answering(
            "The dress code for the annual gala dinner in Monaco is business casual [1]. Staff dress business casual in the office [1]. \
             Jeans are fine on Fridays [1]. Suits are worn to client meetings [1].",
        );
        let (tx, _rx) = mpsc::unbounded_channel();
        let inputs = inputs("What is the dress code for the annual gala dinner in Monaco?", vec![hit("/hb/dress.md", dress)]);
        let r = respond(inputs, &model, &WordVectors::default(), Arc::new(AtomicBool::new(false)), &tx).unwrap();
        assert_eq!(r.stop, AnswerStop::Unsupported, "{}", r.answer);
        assert_eq!(r.grounded, Some(0.0), "only the answering claim counts");
    }

    #[test]
    fn unsupported_padding_around_a_supported_answer_is_marked_but_the_answer_is_shown() {
        let (r, _) = ask(
            "Harbor Lane Freight runs 37 electric vans from the Dunmore depot [1]. The vans were bought from a Swedish maker in 2019 [1].",
            &[VANS],
            false,
        );
        assert_eq!(r.stop, AnswerStop::End);
        assert_eq!(r.grounded, Some(1.0), "the answering claim is supported");
        assert_eq!(r.claims.iter().map(|c| (c.answers, c.supported)).collect::<Vec<_>>(), vec![(true, true), (false, false)]);
    }

    #[test]
    fn a_calculation_is_computed_by_the_engine_and_checked_by_its_operands() {
        let q3 = "Total net sales in the third quarter of 2022 were 1,577 million.";
        let q3_before = "Total net sales in the third quarter of 2021 were 1,462 million.";
        let q = "What was the growth of total net sales in the third quarter of 2022?";
        let answer = "Total net sales in the third quarter grew by <<(1,577 - 1,462) / 1,462 * 100>> percent [1][2].";
        let (r, _) = ask_about(q, answer, &[q3, q3_before], false);
        assert_eq!(r.answer, "Total net sales in the third quarter grew by 7.87 (= (1,577 − 1,462) / 1,462 × 100) percent [1][2].");
        assert_eq!(r.calculations.len(), 1);
        assert_eq!(r.stop, AnswerStop::End, "{:?}", r.claims);
        assert!(r.claims[0].supported && r.claims[0].sources == vec![1, 2], "{:?}", r.claims);
    }

    #[test]
    fn a_citation_the_model_left_out_is_added() {
        let (r, _) = ask("Harbor Lane Freight runs 37 electric vans from the Dunmore depot.", &[LEAVE, VANS], false);
        assert!(r.found);
        assert_eq!(r.answer, "Harbor Lane Freight runs 37 electric vans from the Dunmore depot [2].");
        assert!(r.citations[1].cited);
    }

    #[test]
    fn a_wrong_figure_is_not_supported_and_the_closest_passage_is_quoted_instead() {
        let (r, _) = ask("Harbor Lane Freight runs 73 electric vans from the Dunmore depot [1].", &[VANS], false);
        assert_eq!(r.stop, AnswerStop::Unsupported);
        assert!(!r.found);
        assert!(r.answer.starts_with(NOT_FOUND), "{}", r.answer);
        assert!(r.answer.contains(&format!("“{VANS}” [1]")), "{}", r.answer);
        assert!(r.claims.is_empty(), "the quoted passages are not the model's claims");
        // With the setting on, the answer is shown and its claim marked unsupported.
        let (shown, _) = ask("Harbor Lane Freight runs 73 electric vans from the Dunmore depot [1].", &[VANS], true);
        assert_eq!(shown.stop, AnswerStop::End);
        assert_eq!(shown.grounded, Some(0.0));
    }

    #[test]
    fn a_quoted_passage_says_something() {
        // No sentence holds the wrong figure: the quote is the first sentence of the best source
        // that says something, not its signature line.
        let signature = "(Principal Financial Officer)\nRevenue for the quarter was $13,507 million, up 101% from a year ago.";
        let (r, _) =
            ask_about("What was the revenue for the quarter?", "Revenue for the quarter was $99 million [1].", &[signature], false);
        assert_eq!(r.stop, AnswerStop::Unsupported, "{}", r.answer);
        assert!(r.answer.contains("“Revenue for the quarter was $13,507 million, up 101% from a year ago.” [1]"), "{}", r.answer);
        assert!(!r.answer.contains("Principal"), "{}", r.answer);
        let decimal = "Revenue for the quarter was $13.5 billion, up 1.5% from a year ago.";
        let (r, _) = ask_about("What was the revenue for the quarter?", "Revenue for the quarter was $99 million [1].", &[decimal], false);
        assert!(r.answer.contains(&format!("“{decimal}” [1]")), "a decimal point ends no sentence: {}", r.answer);
        assert!(quotable("Leave must be approved by the line manager.") && !quotable("Exhibit 10.") && !quotable("1."));
    }

    #[test]
    fn a_refusal_is_not_found_and_cites_nothing() {
        let (r, _) = ask("I could not find this in your documents.", &[LEAVE], false);
        assert_eq!(r.stop, AnswerStop::Refused);
        assert!(!r.found);
        assert_eq!(r.answer, NOT_FOUND);
        assert!(r.citations.iter().all(|c| !c.cited));
    }

    #[test]
    fn an_answer_cut_by_the_token_limit_says_so() {
        let long =
            format!("{} {}", "Harbor Lane Freight runs 37 electric vans from the Dunmore depot [1].", "Then it goes on. ".repeat(30));
        let (r, _) = ask(&long, &[VANS], false);
        assert_eq!(r.stop, AnswerStop::MaxTokens);
        assert_eq!(r.stats.generated_tokens, 64);
    }

    #[test]
    fn an_embedder_failure_fails_the_answer_instead_of_marking_every_claim_unsupported() {
        let model = ScriptedModel::answering("Harbor Lane Freight runs 37 electric vans [1].");
        let (tx, _rx) = mpsc::unbounded_channel();
        let inputs = Inputs { max_answer_tokens: 32, ..inputs("How many vans?", vec![hit("/a.md", VANS)]) };
        let broken = WordVectors { fail: true, ..Default::default() };
        let result = respond(inputs, &model, &broken, Arc::new(AtomicBool::new(false)), &tx);
        assert_eq!(result.err().map(|e| e.code()), Some(crate::ErrorCode::Embedder));
    }
}
