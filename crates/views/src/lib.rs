//! `brain-views`: what a screen shows of the engine's results — the engine's values plus a file
//! name, a place in words, and untrusted text already rendered to safe HTML by `brain-render`.
//!
//! Key design decision: **one set of screen types for every front end.** The desktop app sends
//! these over its IPC and `brain serve` over HTTP to the same web UI, whose TypeScript types are
//! generated from them (`TS`; `src-tauri/src/bindings.rs` writes `ui/src/bindings.ts`). No
//! decisions are made here, and nothing of a document reaches a screen unrendered.

use std::path::Path;

use brain_engine::{
    Answer, AnswerEvent, AnswerStop, Citation, CitationSpan, Claim, Conversation, ConversationSummary, Location, SearchResult, Turn,
};
use serde::Serialize;
use ts_rs::TS;

fn file_name(path: &str) -> String {
    Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.to_string())
}

/// A passage of a file: a citation or a search result.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PassageView {
    pub path: String,
    pub file_name: String,
    pub location: Location,
    /// The location in words ("page 3", "Leave > Sick, lines 10–24").
    pub place: String,
    /// The passage as sanitised HTML.
    pub html: String,
    /// The passage as indexed (plain text: the viewer finds it in its document by its words).
    pub text: String,
}

impl PassageView {
    fn new(path: &str, location: &Location, text: &str) -> Self {
        PassageView {
            path: path.to_string(),
            file_name: file_name(path),
            place: location.describe(),
            location: location.clone(),
            html: brain_render::passage(text),
            text: text.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct CitationView {
    pub n: usize,
    pub cited: bool,
    pub similarity: f32,
    /// The source sentences the answer's supported claims citing this source rest on (the
    /// check's evidence), for the viewer to mark; empty until the answer is checked.
    pub evidence: Vec<String>,
    #[serde(flatten)]
    #[ts(flatten)]
    pub passage: PassageView,
}

impl From<&Citation> for CitationView {
    fn from(c: &Citation) -> Self {
        CitationView {
            n: c.n,
            cited: c.cited,
            similarity: c.similarity,
            evidence: Vec::new(),
            passage: PassageView::new(&c.path, &c.location, &c.text),
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AnswerView {
    pub text: String,
    /// The answer as sanitised HTML, its citation markers (as the engine parses them) as chips
    /// and its unsupported claims in `<span class="unsupported">`.
    pub html: String,
    pub citations: Vec<CitationView>,
    pub found: bool,
    pub stop: AnswerStop,
    /// Claims of the answer, as the engine checked them against the sources.
    pub claims: usize,
    pub unsupported: usize,
}

/// An answer's text as safe HTML: chips exactly where the engine sees citations, marks exactly
/// on the claims it found unsupported.
pub fn answer_html(text: &str, claims: &[Claim]) -> String {
    let markers: Vec<brain_render::Marker> =
        CitationSpan::find(text).into_iter().map(|s| brain_render::Marker { range: s.start..s.end, sources: s.sources }).collect();
    let unsupported: Vec<std::ops::Range<usize>> =
        claims.iter().filter(|c| !c.supported && c.start <= c.end && c.end <= text.len()).map(|c| c.start..c.end).collect();
    brain_render::answer(text, &markers, &unsupported)
}

impl AnswerView {
    fn new(text: &str, citations: &[Citation], claims: &[Claim], found: bool, stop: AnswerStop) -> Self {
        AnswerView {
            text: text.to_string(),
            html: answer_html(text, claims),
            citations: citations
                .iter()
                .map(|c| {
                    let mut view = CitationView::from(c);
                    view.evidence = claims
                        .iter()
                        .filter(|claim| claim.supported && claim.sources.contains(&c.n))
                        .flat_map(|claim| claim.evidence_lines())
                        .collect();
                    view.evidence.dedup();
                    view
                })
                .collect(),
            found,
            stop,
            claims: claims.len(),
            unsupported: claims.iter().filter(|c| !c.supported).count(),
        }
    }
}

impl From<&Answer> for AnswerView {
    fn from(a: &Answer) -> Self {
        AnswerView::new(&a.answer, &a.citations, &a.claims, a.found, a.stop)
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TurnView {
    pub question: String,
    pub answer: AnswerView,
    #[ts(type = "number")]
    pub asked_ms: i64,
}

impl From<&Turn> for TurnView {
    fn from(t: &Turn) -> Self {
        TurnView {
            question: t.question.clone(),
            answer: AnswerView::new(&t.answer, &t.citations, &t.claims, t.found, t.stop),
            asked_ms: t.asked_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ConversationView {
    pub id: String,
    pub title: String,
    pub turns: Vec<TurnView>,
}

impl From<&Conversation> for ConversationView {
    fn from(c: &Conversation) -> Self {
        ConversationView { id: c.id.clone(), title: c.title.clone(), turns: c.turns.iter().map(TurnView::from).collect() }
    }
}

/// What `ask` returns once the answer is complete.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AskOutcome {
    pub conversation: ConversationSummary,
    pub answer: AnswerView,
    #[ts(type = "number")]
    pub total_ms: u64,
}

impl AskOutcome {
    pub fn new(conversation: &Conversation, answer: &Answer) -> Self {
        AskOutcome { conversation: conversation.summary(), answer: answer.into(), total_ms: answer.timings_ms.total_ms }
    }
}

/// An answer as it streams: the sources, each new piece of text (appended by the window, shown
/// as plain text until the answer is done), then the whole answer as safe HTML.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AskEvent {
    Sources { citations: Vec<CitationView> },
    Token { text: String },
    Done { answer: AnswerView },
}

impl From<AnswerEvent> for AskEvent {
    fn from(e: AnswerEvent) -> Self {
        match e {
            AnswerEvent::Sources { citations } => AskEvent::Sources { citations: citations.iter().map(CitationView::from).collect() },
            AnswerEvent::Token { text } => AskEvent::Token { text },
            AnswerEvent::Done { answer } => AskEvent::Done { answer: AnswerView::from(answer.as_ref()) },
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SearchResultView {
    pub score: f32,
    pub similarity: Option<f32>,
    #[serde(flatten)]
    #[ts(flatten)]
    pub passage: PassageView,
}

impl From<&SearchResult> for SearchResultView {
    fn from(r: &SearchResult) -> Self {
        SearchResultView { score: r.score, similarity: r.similarity, passage: PassageView::new(&r.path, &r.location, &r.text) }
    }
}
