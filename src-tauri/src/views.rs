//! What the window receives: the engine's results plus what a screen needs to show them (a file
//! name, a place in words, and untrusted text already rendered to safe HTML by `brain-render`).
//! No decisions are made here.

use std::path::Path;

use brain_engine::{Answer, Citation, Conversation, ConversationSummary, Location, SearchResult, Turn};
use serde::Serialize;

fn file_name(path: &str) -> String {
    Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.to_string())
}

/// A passage of a file: a citation or a search result.
#[derive(Debug, Clone, Serialize)]
pub struct PassageView {
    pub path: String,
    pub file_name: String,
    pub location: Location,
    /// The location in words ("page 3", "Leave > Sick, lines 10–24").
    pub place: String,
    /// The passage as sanitised HTML.
    pub html: String,
}

impl PassageView {
    fn new(path: &str, location: &Location, text: &str) -> Self {
        PassageView {
            path: path.to_string(),
            file_name: file_name(path),
            place: location.describe(),
            location: location.clone(),
            html: brain_render::passage(text),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CitationView {
    pub n: usize,
    pub cited: bool,
    pub similarity: f32,
    #[serde(flatten)]
    pub passage: PassageView,
}

impl From<&Citation> for CitationView {
    fn from(c: &Citation) -> Self {
        CitationView { n: c.n, cited: c.cited, similarity: c.similarity, passage: PassageView::new(&c.path, &c.location, &c.text) }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AnswerView {
    pub text: String,
    /// The answer as sanitised HTML, `[n]` markers as citation chips.
    pub html: String,
    pub citations: Vec<CitationView>,
    pub found: bool,
    pub stop: String,
}

impl AnswerView {
    fn new(text: &str, citations: &[Citation], found: bool, stop: &str) -> Self {
        AnswerView {
            text: text.to_string(),
            html: brain_render::answer(text),
            citations: citations.iter().map(CitationView::from).collect(),
            found,
            stop: stop.to_string(),
        }
    }
}

impl From<&Answer> for AnswerView {
    fn from(a: &Answer) -> Self {
        AnswerView::new(&a.answer, &a.citations, a.found, &a.stop)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TurnView {
    pub question: String,
    pub answer: AnswerView,
    pub asked_ms: i64,
}

impl From<&Turn> for TurnView {
    fn from(t: &Turn) -> Self {
        TurnView { question: t.question.clone(), answer: AnswerView::new(&t.answer, &t.citations, t.found, &t.stop), asked_ms: t.asked_ms }
    }
}

#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct AskOutcome {
    pub conversation: ConversationSummary,
    pub answer: AnswerView,
    pub total_ms: u64,
}

/// A piece of an answer as it streams: the new text and the whole answer so far as safe HTML.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AskEvent {
    Token { text: String, html: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResultView {
    pub score: f32,
    pub similarity: Option<f32>,
    #[serde(flatten)]
    pub passage: PassageView,
}

impl From<&SearchResult> for SearchResultView {
    fn from(r: &SearchResult) -> Self {
        SearchResultView { score: r.score, similarity: r.similarity, passage: PassageView::new(&r.path, &r.location, &r.text) }
    }
}
