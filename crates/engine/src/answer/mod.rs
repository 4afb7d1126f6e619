//! `ask`: retrieve the sources (see [`crate::retrieval`]), then [`respond`]: build a prompt with
//! the GGUF's chat template that fits the model's context ([`prompt`]), stream the answer as
//! [`AnswerEvent`]s, check its claims against the sources and decide what is shown.
//!
//! This file holds what front ends see (the request, the answer, its events) and the glue that
//! takes the locks and loads the models; the decisions are in [`respond`], over the model traits
//! of [`crate::inference`], and are unit-tested there with fakes.

pub(crate) mod arithmetic;
pub(crate) mod excerpt;
pub(crate) mod house_style;
pub(crate) mod parts;
pub(crate) mod prompt;
pub(crate) mod respond;
pub(crate) mod sheet_query;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use brain_parse::Location;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::grounding::Claim;
use crate::retrieval::gate::Gate;
use crate::retrieval::{self, SearchMode};
use crate::{AnswerSink, Engine};
pub use arithmetic::Calculation;
pub use sheet_query::SheetQuery;

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
    /// Answer only from files this person may read; `None`: the index's owner.
    pub person: Option<brain_access::Person>,
    /// Asked by a benchmark (`brain eval qa`, `brain bench`), not a person: its language does
    /// not count toward the embedder's choice (`languages.rs`), so a benchmark never changes
    /// the settings it measures.
    pub benchmark: bool,
}

impl AskRequest {
    pub fn new(question: impl Into<String>) -> Self {
        AskRequest { question: question.into(), ..Default::default() }
    }

    /// A question a benchmark asks ([`AskRequest::benchmark`]).
    pub fn of_benchmark(question: impl Into<String>) -> Self {
        AskRequest { benchmark: true, ..AskRequest::new(question) }
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
    /// Why the answer ended, or why there is none.
    pub stop: AnswerStop,
    /// The answer's claims, each checked against the sources (see [`Claim`]).
    pub claims: Vec<Claim>,
    /// The share of the claims that answer the question that the sources support; `None` when
    /// there is no claim.
    pub grounded: Option<f32>,
    /// The calculations the model asked for, computed by the engine (their results stand in
    /// the answer with their formulas).
    pub calculations: Vec<Calculation>,
    /// The query that answered a question over a sheet (see [`sheet_query`]); the answer is its
    /// result, and its one citation the rows it read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub query: Option<SheetQuery>,
    /// The LoRA adapter the model wrote the answer with, when one was: the model's own, or the
    /// house style of the folder the answer comes from (see `Settings::folder_loras`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub lora: Option<String>,
}

/// Why an answer ended, or why there is none. Persisted in conversations and sent to front ends
/// as its `snake_case` name (`"not_found"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStop {
    /// The model finished its answer.
    End,
    /// The answer reached the most tokens an answer may have.
    MaxTokens,
    /// The model's context filled up.
    ContextFull,
    /// Stopped by the user; the answer is what came before.
    Cancelled,
    /// Nothing relevant was retrieved: no model ran.
    NotFound,
    /// The model found no answer in the sources.
    Refused,
    /// The sources support none of what the model wrote: the answer is the closest passages,
    /// quoted.
    Unsupported,
}

impl AnswerStop {
    /// Whether the text shown differs from what streamed: a refusal, or quoted passages.
    pub fn replaced_the_answer(self) -> bool {
        matches!(self, AnswerStop::Refused | AnswerStop::Unsupported)
    }
}

/// An answer as it is made, in order: the sources found (before the model runs), the text as it
/// is generated, the finished answer. Serialised with a `kind` tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerEvent {
    /// The numbered sources the answer may cite (empty when nothing relevant was found).
    Sources { citations: Vec<Citation> },
    /// A piece of the answer's text, to append to what came before.
    Token { text: String },
    /// The whole answer, citations resolved.
    Done { answer: Box<Answer> },
}

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
    let relevant = if engine.has_index().await? {
        // The gate decides on the cosine similarity: the query is embedded in every mode.
        let index = engine.searchable_index(SearchMode::Hybrid).await?;
        let gate = Gate { min_similarity: settings.min_similarity, per_file: SOURCES_PER_FILE };
        // A question that compares is searched whole and side by side (see `parts`).
        let mut lists = Vec::new();
        for text in std::iter::once(retrieval_query).chain(parts::parts(question)) {
            let retrieve = engine.retrieval_request(&text, None, k, request.folder.as_deref(), request.person.as_ref());
            lists.push(retrieval::sources(&index, &retrieve, &gate).await?);
        }
        parts::interleave(lists, k)
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
            stop: AnswerStop::NotFound,
            claims: Vec::new(),
            grounded: None,
            calculations: Vec::new(),
            query: None,
            lora: None,
        };
        let _ = events.send(AnswerEvent::Sources { citations: Vec::new() });
        let _ = events.send(AnswerEvent::Token { text: NOT_FOUND.to_string() });
        let _ = events.send(AnswerEvent::Done { answer: Box::new(answer.clone()) });
        return Ok(answer);
    }

    // A question over a sheet's rows (a count, a sum, the largest) is answered by a query over
    // the whole sheet when one is among the first sources (see `sheet_query`); over a PDF's
    // table too, when the settings say so.
    let tables = sheet_query::Queried { sheets: settings.sheet_queries, pdf_tables: settings.pdf_table_queries };
    if (tables.sheets || tables.pdf_tables)
        && sheet_query::asks_over_rows(question)
        && let Some(answer) = sheet_query::answer(engine, tables, question, &relevant, &events, started, retrieval_ms).await
    {
        return Ok(answer);
    }

    // What each source's document is: a terse answer is checked as the statement its question
    // makes, whose company or period a passage's document names more often than the passage.
    let mut paths: Vec<String> = relevant.iter().map(|h| h.path.clone()).collect();
    paths.sort_unstable();
    paths.dedup();
    let documents = engine.store().await?.identities(Some(&paths)).await?;
    let embedder = engine.search_embedder().await?;
    let load_started = Instant::now();
    let llm = engine.load_llm().await?;
    let model_load_ms = load_started.elapsed().as_millis() as u64;
    let style = house_style::choose(&settings, &relevant);
    let history = request.history.clone();
    let question = question.to_string();
    let token_events = events.clone();
    let (max_answer_tokens, show_unsupported) = (settings.max_answer_tokens, settings.show_unsupported_answers);
    let response = crate::blocking(move || {
        let inputs = respond::Inputs {
            question: &question,
            history: &history,
            sources: relevant,
            documents,
            max_answer_tokens,
            show_unsupported,
            adapter: style.adapter,
        };
        respond::respond(inputs, llm.as_ref(), embedder.as_ref(), cancel, &token_events)
    })
    .await??;

    let stats = response.stats;
    let answer = Answer {
        grounded: response.grounded,
        claims: response.claims,
        calculations: response.calculations,
        query: None,
        lora: style.lora.map(|p| p.display().to_string()),
        answer: response.answer,
        citations: response.citations,
        found: response.found,
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
        stop: response.stop,
    };
    let _ = events.send(AnswerEvent::Done { answer: Box::new(answer.clone()) });
    Ok(answer)
}

/// Most chunks of one file among an answer's sources.
const SOURCES_PER_FILE: usize = 2;
