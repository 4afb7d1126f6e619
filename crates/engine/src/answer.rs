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
    /// False when retrieval found nothing relevant: the answer is then [`NOT_FOUND`] and no
    /// model ran. True when relevant sources were given to the model.
    pub found: bool,
    pub timings_ms: AnswerTimings,
    pub prompt_tokens: usize,
    pub answer_tokens: usize,
    /// Why generation stopped: "end", "max_tokens", "context_full", "cancelled", "not_found".
    pub stop: String,
}

const SYSTEM_PROMPT: &str = "You are a helpful assistant. Answer the user's question using only the numbered sources they give you. \
Keep the answer short and copy numbers and names exactly as the sources write them. \
Cite the source of each fact with its number in square brackets, like [1]. \
If the sources do not answer the question, say: I could not find this in your documents.";

pub(crate) async fn run(engine: &Engine, request: &AskRequest, cancel: Arc<AtomicBool>, events: AnswerSink) -> Result<Answer> {
    let started = Instant::now();
    let question = request.question.trim();
    if question.is_empty() {
        return Err(EngineError::InvalidArgument("the question is empty".into()));
    }
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
            answer_tokens: 0,
            stop: "not_found".into(),
        };
        let _ = events.send(AnswerEvent::Sources { citations: Vec::new() });
        let _ = events.send(AnswerEvent::Token { text: NOT_FOUND.to_string() });
        let _ = events.send(AnswerEvent::Done { answer: Box::new(answer.clone()) });
        return Ok(answer);
    }

    let load_started = Instant::now();
    let llm = engine.load_llm().await?;
    let model_load_ms = load_started.elapsed().as_millis() as u64;
    let max_answer_tokens = settings.max_answer_tokens;
    let history = request.history.clone();
    let question_owned = question.to_string();
    let token_events = events.clone();
    let (answer_text, sources, stats) = tokio::task::spawn_blocking(move || -> Result<_> {
        let (prompt, sources) = build_prompt(&llm, &question_owned, &history, &relevant, max_answer_tokens)?;
        let _ = token_events.send(AnswerEvent::Sources { citations: citations_of(&sources, &[]) });
        let mut text = String::new();
        let options = GenerateOptions {
            max_tokens: max_answer_tokens,
            // A small model that starts a new round of the prompt format has finished its answer.
            stop: ["\nQuestion:", "\nContext:", "\n\n\n"].map(String::from).to_vec(),
            ..GenerateOptions::default()
        };
        let stats = llm.generate(&prompt, options, cancel, |piece| {
            text.push_str(piece);
            let _ = token_events.send(AnswerEvent::Token { text: piece.to_string() });
        })?;
        Ok((text, sources, stats))
    })
    .await
    .map_err(|e| EngineError::Internal(e.to_string()))??;

    let answer_text = answer_text.trim().to_string();
    let citations = citations_of(&sources, &citations::cited_numbers(&answer_text));
    let answer = Answer {
        answer: answer_text,
        citations,
        // Relevant sources were found (the model may still phrase its answer as not found).
        found: true,
        timings_ms: AnswerTimings {
            retrieval_ms,
            model_load_ms,
            first_token_ms: stats.time_to_first_token.map(|d| d.as_millis() as u64),
            generation_ms: stats.total.as_millis() as u64,
            total_ms: started.elapsed().as_millis() as u64,
            tokens_per_second: stats.tokens_per_second(),
        },
        prompt_tokens: stats.prompt_tokens,
        answer_tokens: stats.generated_tokens,
        stop: match stats.stop {
            StopReason::EndOfText | StopReason::StopString => "end",
            StopReason::MaxTokens => "max_tokens",
            StopReason::ContextFull => "context_full",
            StopReason::Cancelled => "cancelled",
        }
        .into(),
    };
    let _ = events.send(AnswerEvent::Done { answer: Box::new(answer.clone()) });
    Ok(answer)
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

/// One source as the model sees it: its number and its words on one line. Tried on
/// SmolLM2-135M against headers naming the file and section: with headers the small model copied
/// the header pattern and wandered off; this form answered all five sample questions right
/// (see the closing note of the engine issue).
fn source_block(n: usize, hit: &Hit) -> String {
    let text = strip_heading_line(hit.text.trim()).split_whitespace().collect::<Vec<_>>().join(" ");
    format!("[{n}] {text}\n")
}

/// A chunk that starts with its own Markdown heading repeats what the source header says.
fn strip_heading_line(text: &str) -> &str {
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest.trim_start(),
        _ => text,
    }
}

fn user_message(question: &str, blocks: &[String]) -> String {
    format!("Context:\n{}\nQuestion: {question}\nAnswer briefly and cite the context like [1].", blocks.join("\n"))
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
