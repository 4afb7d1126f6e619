//! `ask`: retrieve the sources (see [`crate::retrieval`]), build a prompt with the GGUF's chat
//! template that fits the model's context, stream the answer as [`AnswerEvent`]s, map its `[n]`
//! citations back to files and places.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use brain_llm::{ChatMessage, GenerateOptions, Llm, Role, StopReason};
use brain_parse::Location;
use brain_store::Hit;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::events::AnswerEvent;
use crate::grounding::{self, Claim, Grounding};
use crate::retrieval::gate::Gate;
use crate::retrieval::{self, SearchMode, context};
use crate::{AnswerSink, Engine, citations};

/// What the answer says when the documents hold nothing relevant.
pub const NOT_FOUND: &str = "I could not find this in your documents.";

/// A question.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AskRequest {
    pub question: String,
    /// Sources to retrieve; `None` = settings.
    pub k: Option<usize>,
    /// Only files under this folder.
    pub folder: Option<PathBuf>,
    /// Earlier turns of the conversation (question, answer), oldest first, for follow-ups.
    pub history: Vec<(String, String)>,
}

impl AskRequest {
    pub fn new(question: impl Into<String>) -> Self {
        AskRequest { question: question.into(), ..Default::default() }
    }
}

/// A numbered source the answer may cite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Citation {
    pub n: usize,
    pub path: String,
    pub location: Location,
    pub text: String,
    /// Whether the answer's text refers to it as [n].
    pub cited: bool,
    /// Cosine similarity of the source to the question.
    pub similarity: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct AnswerTimings {
    pub retrieval_ms: u64,
    /// Loading the LLM, the first time only.
    pub model_load_ms: u64,
    /// From the start of generation to the first token.
    pub first_token_ms: Option<u64>,
    pub generation_ms: u64,
    pub total_ms: u64,
    /// Generated tokens per second after the first.
    pub tokens_per_second: f64,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Answer {
    pub answer: String,
    /// The sources given to the model, numbered as the answer cites them.
    pub citations: Vec<Citation>,
    /// False when the documents do not hold an answer: the answer then starts with
    /// [`NOT_FOUND`] (see `stop` for who said so). True when it is made from the sources.
    pub found: bool,
    pub timings_ms: AnswerTimings,
    pub prompt_tokens: usize,
    /// Leading prompt tokens (the template and the system prompt) whose model state was kept
    /// from before and not computed again.
    pub prompt_tokens_reused: usize,
    pub answer_tokens: usize,
    /// Why the answer ended: "end", "max_tokens", "context_full", "cancelled"; or why there is
    /// none: "not_found" (nothing relevant retrieved: no model ran), "refused" (the model found
    /// no answer in the sources), "unsupported" (the sources support none of what it wrote: the
    /// answer is then the closest passages, quoted).
    pub stop: String,
    /// The answer's claims, each checked against the sources (see [`Claim`]).
    pub claims: Vec<Claim>,
    /// The share of claims the sources support; `None` when there is no claim.
    pub grounded: Option<f32>,
}

/// The model's instructions. They live in the system message only: what the user message holds
/// is sources and the question, so a small model that repeats its prompt repeats no rule (and
/// the groundedness check drops a sentence that does).
const SYSTEM_PROMPT: &str = "You answer questions about the user's documents using only the numbered sources in the message. \
Write one to three short sentences. \
Copy every number, amount, date and name exactly as the source writes it, with its unit and its period. \
End each sentence with the number of the source it comes from in square brackets, like [2]. \
If the sources do not contain the answer, reply only: I could not find this in your documents.";

pub(crate) async fn run(engine: &Engine, request: &AskRequest, cancel: Arc<AtomicBool>, events: AnswerSink) -> Result<Answer> {
    let started = Instant::now();
    let question = request.question.trim();
    if question.is_empty() {
        return Err(EngineError::InvalidArgument("the question is empty".into()));
    }
    // Indexing (in this process or another) pauses from now until the answer is done: taken
    // before retrieval and model loading, so that an indexer in the middle of a batch has
    // reached its next pause point by the time generation starts.
    let _answering = engine.answering_now()?;
    let settings = engine.settings();
    let k = request.k.unwrap_or(settings.sources).max(1);
    // A follow-up ("and who approves it?") names its topic only through the question before it,
    // so retrieval searches both; the model still answers the follow-up alone.
    let retrieval_query = match request.history.last() {
        Some((previous, _)) => format!("{previous}\n{question}"),
        None => question.to_string(),
    };
    let relevant = if engine.has_index() {
        let retrieve = engine.retrieve_request(&retrieval_query, None, k, request.folder.as_deref());
        // The gate decides on the cosine similarity: the query is embedded in every mode.
        let index = engine.retrieval_index(SearchMode::Hybrid).await?;
        let gate = Gate { min_similarity: settings.min_similarity, per_file: SOURCES_PER_FILE };
        retrieval::sources(&index, &retrieve, &gate).await?
    } else {
        Vec::new()
    };
    let retrieval_ms = started.elapsed().as_millis() as u64;

    if relevant.is_empty() {
        let answer = Answer {
            answer: NOT_FOUND.to_string(),
            citations: Vec::new(),
            found: false,
            timings_ms: AnswerTimings { retrieval_ms, total_ms: started.elapsed().as_millis() as u64, ..Default::default() },
            prompt_tokens: 0,
            prompt_tokens_reused: 0,
            answer_tokens: 0,
            stop: "not_found".into(),
            claims: Vec::new(),
            grounded: None,
        };
        let _ = events.send(AnswerEvent::Sources { citations: Vec::new() });
        let _ = events.send(AnswerEvent::Token { text: NOT_FOUND.to_string() });
        let _ = events.send(AnswerEvent::Done { answer: Box::new(answer.clone()) });
        return Ok(answer);
    }

    let embedder = engine.index_embedder().await?;
    let load_started = Instant::now();
    let llm = engine.load_llm().await?;
    let model_load_ms = load_started.elapsed().as_millis() as u64;
    let max_answer_tokens = settings.max_answer_tokens;
    let history = request.history.clone();
    let question_owned = question.to_string();
    let token_events = events.clone();
    let show_unsupported = settings.show_unsupported_answers;
    let (answer_text, sources, stats, grounding) = tokio::task::spawn_blocking(move || -> Result<_> {
        let (prompt, sources) = build_prompt(&llm, &question_owned, &history, &relevant, max_answer_tokens)?;
        let _ = token_events.send(AnswerEvent::Sources { citations: citations_of(&sources, &[]) });
        let mut text = String::new();
        let options = GenerateOptions {
            max_tokens: max_answer_tokens,
            // A small model that starts a new round of the prompt format has finished its answer.
            stop: ["\nQuestion:", "\nSources:", "\n\n\n"].map(String::from).to_vec(),
            ..GenerateOptions::default()
        };
        let stats = llm.generate(&prompt, options, cancel, |piece| {
            text.push_str(piece);
            let _ = token_events.send(AnswerEvent::Token { text: piece.to_string() });
        })?;
        let grounding = grounding::check(text.trim(), &sources, &embedder, NOT_FOUND, SYSTEM_PROMPT);
        Ok((text, sources, stats, grounding))
    })
    .await
    .map_err(|e| EngineError::Internal(e.to_string()))??;

    let cancelled = stats.stop == StopReason::Cancelled;
    let (answer_text, found, outcome) = outcome(answer_text.trim(), &grounding, &sources, cancelled, show_unsupported);
    let citations = citations_of(&sources, &citations::cited_numbers(&answer_text));
    let grounded = grounding.grounded();
    let claims = if outcome == Outcome::Quoted { Vec::new() } else { grounding.claims };
    let answer = Answer {
        answer: answer_text,
        citations,
        found,
        timings_ms: AnswerTimings {
            retrieval_ms,
            model_load_ms,
            first_token_ms: stats.time_to_first_token.map(|d| d.as_millis() as u64),
            generation_ms: stats.total.as_millis() as u64,
            total_ms: started.elapsed().as_millis() as u64,
            tokens_per_second: stats.tokens_per_second(),
        },
        prompt_tokens: stats.prompt_tokens,
        prompt_tokens_reused: stats.reused_prompt_tokens,
        answer_tokens: stats.generated_tokens,
        stop: match (outcome, stats.stop) {
            (Outcome::Refused, _) => "refused",
            (Outcome::Quoted, _) => "unsupported",
            (_, StopReason::EndOfText | StopReason::StopString) => "end",
            (_, StopReason::MaxTokens) => "max_tokens",
            (_, StopReason::ContextFull) => "context_full",
            (_, StopReason::Cancelled) => "cancelled",
        }
        .into(),
        claims,
        grounded,
    };
    let _ = events.send(AnswerEvent::Done { answer: Box::new(answer.clone()) });
    Ok(answer)
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
    let nothing_supported = !grounding.claims.is_empty() && grounding.claims.iter().all(|c| !c.supported);
    if nothing_supported && !cancelled && !show_unsupported {
        return (quote_closest(grounding, sources), false, Outcome::Quoted);
    }
    let text = if grounding.answer.is_empty() { raw.to_string() } else { grounding.answer.clone() };
    (text, true, Outcome::Checked)
}

/// "Not found", then the source sentences closest to what the model claimed, with citations.
fn quote_closest(grounding: &Grounding, sources: &[Hit]) -> String {
    let mut out = format!("{NOT_FOUND} The closest passages:");
    let mut quoted: Vec<(String, usize)> = Vec::new();
    for claim in &grounding.claims {
        let Some(evidence) = &claim.evidence else { continue };
        let n = sources.iter().position(|s| s.text.contains(evidence.as_str())).map(|i| i + 1).or(claim.sources.first().copied());
        if let Some(n) = n
            && !quoted.iter().any(|(e, _)| e == evidence)
        {
            quoted.push((evidence.clone(), n));
        }
    }
    if quoted.is_empty()
        && let Some(first) = sources.first()
    {
        let sentence = first.text.split_inclusive(['.', '\n']).next().unwrap_or(&first.text).trim().to_string();
        quoted.push((sentence, 1));
    }
    for (evidence, n) in quoted.into_iter().take(3) {
        out.push_str(&format!("\n\n> “{}” [{n}]", evidence.trim()));
    }
    out
}

/// The sources as citations numbered 1.., marked cited when `cited` holds their number.
fn citations_of(sources: &[Hit], cited: &[usize]) -> Vec<Citation> {
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

/// Most chunks of one file among an answer's sources.
const SOURCES_PER_FILE: usize = 2;

/// One source as the model sees it: its number, the file and place it comes from (so that the
/// answer can tell look-alike documents apart: five companies' "Total net sales"), then its
/// words on one line.
fn source_block(n: usize, hit: &Hit) -> String {
    let text = strip_heading_line(hit.text.trim()).split_whitespace().collect::<Vec<_>>().join(" ");
    let file = std::path::Path::new(&hit.path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let place = hit.location.describe();
    let header = if place.is_empty() { file } else { format!("{file}, {place}") };
    format!("[{n}] ({header}) {text}\n")
}

/// A chunk that starts with its own Markdown heading repeats what the source header says.
fn strip_heading_line(text: &str) -> &str {
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest.trim_start(),
        _ => text,
    }
}

/// The start every answer's prompt shares: the chat template's opening and the system prompt,
/// rendered as a prompt is (what [`Llm::prime`] computes once per loaded model).
pub(crate) fn prompt_start(llm: &Llm) -> Result<String> {
    let full = llm.format_chat(&[
        ChatMessage { role: Role::System, content: SYSTEM_PROMPT.to_string() },
        ChatMessage { role: Role::User, content: String::new() },
    ])?;
    // Up to the end of the system prompt: what follows depends on the question.
    let end = full.find(SYSTEM_PROMPT).map_or(0, |i| i + SYSTEM_PROMPT.len());
    Ok(full[..end].to_string())
}

fn user_message(question: &str, blocks: &[String]) -> String {
    format!("Sources:\n{}\nQuestion: {question}", blocks.join("\n"))
}

/// Build the prompt with as many sources as fit in the context, leaving room for the answer.
/// Returns the prompt and the sources it numbers.
fn build_prompt(
    llm: &Llm,
    question: &str,
    history: &[(String, String)],
    sources: &[Hit],
    max_answer_tokens: u32,
) -> Result<(String, Vec<Hit>)> {
    let budget = (llm.context_size() as usize).saturating_sub(max_answer_tokens as usize + 16);
    let mut messages = vec![ChatMessage { role: Role::System, content: SYSTEM_PROMPT.to_string() }];
    // Keep the most recent turns that fit in a quarter of the budget.
    let mut turns: Vec<ChatMessage> = Vec::new();
    let mut history_tokens = 0;
    for (q, a) in history.iter().rev() {
        let cost = llm.count_tokens(q) + llm.count_tokens(a) + 8;
        if history_tokens + cost > budget / 4 {
            break;
        }
        history_tokens += cost;
        turns.splice(
            0..0,
            [ChatMessage { role: Role::User, content: q.clone() }, ChatMessage { role: Role::Assistant, content: a.clone() }],
        );
    }
    messages.extend(turns);

    let render = |sources: &[Hit]| -> Result<String> {
        let blocks: Vec<String> = sources.iter().enumerate().map(|(i, hit)| source_block(i + 1, hit)).collect();
        let mut m = messages.clone();
        m.push(ChatMessage { role: Role::User, content: user_message(question, &blocks) });
        Ok(llm.format_chat(&m)?)
    };
    let used = context::assemble(sources, |candidate| Ok(llm.count_tokens(&render(candidate)?) <= budget))?;
    Ok((render(&used)?, used))
}
