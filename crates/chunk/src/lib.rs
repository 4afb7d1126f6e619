//! `brain-chunk` cuts parsed sections into chunks that fit the embedding model, each with its own
//! exact location (the section's page or heading, plus the chunk's own line range).
//!
//! Key design decisions:
//! - Sizes are counted with the embedding model's own tokenizer (through `text-splitter`), not
//!   with characters or words. A chunk that is "256 tokens" here is 256 tokens to the model, so
//!   nothing is silently truncated at embedding time.
//! - Every chunk carries its document's identity as context: the file's name, the place (page,
//!   slide, sheet) and the heading path, "2022 Q3 AAPL › page 4" or "leave-policy › Leave >
//!   Sick". It is embedded and keyword-indexed with the text (twenty quarterly reports all have a
//!   "Total net sales" table; only the identity tells their pages apart) but the text shown stays
//!   the document's own. The context is counted against the same token budget.
//! - A Markdown table cut between chunks keeps its header: a chunk that starts inside a table
//!   begins with the table's header rows, so a row never loses its column names.

use brain_parse::{Format, Location, ParsedDocument};
use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use tokenizers::Tokenizer;

/// How big chunks are, in the embedding model's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerConfig {
    /// Most tokens a chunk may have, context and special tokens included.
    pub max_tokens: usize,
    /// Tokens repeated between neighbouring chunks of one section, so a sentence cut at a chunk
    /// border is still whole in one of them.
    pub overlap_tokens: usize,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        ChunkerConfig { max_tokens: 256, overlap_tokens: 32 }
    }
}

/// One piece of a document, ready to embed and store.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The text shown to the user and to the LLM.
    pub text: String,
    /// The heading path or title the chunk is embedded with.
    pub context: Option<String>,
    pub location: Location,
    /// blake3 of what gets embedded (context and text): equal hashes mean equal vectors, which
    /// lets re-indexing skip unchanged chunks.
    pub hash: String,
}

impl Chunk {
    /// What the embedder sees: the context line, then the text.
    pub fn embedding_text(&self) -> String {
        embedding_text(self.context.as_deref(), &self.text)
    }
}

fn embedding_text(context: Option<&str>, text: &str) -> String {
    match context {
        Some(c) if !c.is_empty() => format!("{c}\n{text}"),
        _ => text.to_string(),
    }
}

/// Splits documents into chunks. Cheap to share across threads (`&self` only).
pub struct Chunker {
    tokenizer: Tokenizer,
    config: ChunkerConfig,
}

/// "identity › place › heading", the parts that exist.
fn context_of(identity: Option<&str>, location: &Location, heading: Option<&str>) -> Option<String> {
    let place = [
        location.page.map(|p| format!("page {p}")),
        location.slide.map(|s| format!("slide {s}")),
        location.sheet.as_ref().map(|s| format!("sheet {s}")),
    ];
    let parts: Vec<String> = identity
        .map(str::to_string)
        .into_iter()
        .chain(place.into_iter().flatten())
        .chain(heading.map(str::to_string))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" › "))
}

/// When `piece` (at `offset` in `text`) starts inside a Markdown pipe table whose header is not
/// in it, that header (the header row and its `|---|` line).
fn table_header_before(text: &str, offset: usize, piece: &str) -> Option<String> {
    let first_line = piece.lines().find(|l| !l.trim().is_empty())?;
    if !first_line.trim_start().starts_with('|') || piece.lines().any(is_table_separator) {
        return None;
    }
    // Walk back over the table's rows to its separator line; the line above it is the header.
    let before: Vec<&str> = text[..offset].lines().collect();
    let mut i = before.len();
    while i > 0 {
        let line = before[i - 1];
        if is_table_separator(line) {
            let header = before.get(i.checked_sub(2)?)?;
            return header.trim_start().starts_with('|').then(|| format!("{header}\n{line}"));
        }
        if !line.trim_start().starts_with('|') {
            return None;
        }
        i -= 1;
    }
    None
}

fn is_table_separator(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.contains("---") && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Longest heading context we carry, in characters: a runaway "heading" must not eat the budget.
const MAX_CONTEXT_CHARS: usize = 200;
/// Fewest tokens left for text in a chunk, whatever the context costs.
const MIN_TEXT_TOKENS: usize = 32;
/// `[CLS]` and `[SEP]` (or the model's equivalents) around every input.
const SPECIAL_TOKENS: usize = 2;

impl Chunker {
    /// `tokenizer` should be the embedding model's; its truncation and padding are switched off
    /// here so that sizes are true sizes.
    pub fn new(mut tokenizer: Tokenizer, config: ChunkerConfig) -> Self {
        let _ = tokenizer.with_truncation(None);
        tokenizer.with_padding(None);
        Chunker { tokenizer, config }
    }

    pub fn config(&self) -> ChunkerConfig {
        self.config
    }

    /// Number of tokens in `text` without special tokens.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer.encode_fast(text, false).map(|e| e.len()).unwrap_or(text.len() / 4 + 1)
    }

    /// Chunks of a document without identity (its sections' own context only).
    pub fn chunk(&self, doc: &ParsedDocument) -> Vec<Chunk> {
        self.chunk_document(doc, None)
    }

    /// Chunks of a document whose identity (usually its file name without extension) every
    /// chunk carries in its context, with its place and heading path.
    pub fn chunk_document(&self, doc: &ParsedDocument, identity: Option<&str>) -> Vec<Chunk> {
        let mut out = Vec::new();
        for section in &doc.sections {
            let context =
                // A section without context of its own (a PDF table) carries its heading.
                context_of(identity, &section.location, section.context.as_deref().or(section.location.heading.as_deref()))
                    .map(|c| truncate_chars(&c, MAX_CONTEXT_CHARS));
            let context_tokens = context.as_deref().map_or(0, |c| self.count_tokens(c) + 1);
            let capacity = self.config.max_tokens.saturating_sub(SPECIAL_TOKENS + context_tokens).max(MIN_TEXT_TOKENS);
            let overlap = self.config.overlap_tokens.min(capacity / 2);
            let config =
                ChunkConfig::new(capacity).with_sizer(&self.tokenizer).with_overlap(overlap).expect("overlap is at most half the capacity");
            let pieces: Vec<(usize, &str)> = if doc.format == Format::Markdown {
                MarkdownSplitter::new(config).chunk_indices(&section.text).collect()
            } else {
                TextSplitter::new(config).chunk_indices(&section.text).collect()
            };
            for (offset, piece) in pieces {
                if !piece.chars().any(char::is_alphanumeric) {
                    continue;
                }
                let mut location = section.location.clone();
                if let Some(first_line) = section.first_line {
                    let start = first_line + section.text[..offset].matches('\n').count() as u32;
                    let end = start + piece.trim_end().matches('\n').count() as u32;
                    location.lines = Some([start, end]);
                }
                let text = match table_header_before(&section.text, offset, piece) {
                    Some(header) => format!("{header}\n{piece}"),
                    None => piece.to_string(),
                };
                let hash = blake3::hash(embedding_text(context.as_deref(), &text).as_bytes()).to_hex().to_string();
                out.push(Chunk { text, context: context.clone(), location, hash });
            }
        }
        out
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::models::wordlevel::WordLevel;
    use tokenizers::pre_tokenizers::whitespace::Whitespace;

    /// A word-level tokenizer (one token per word) so sizes in tests are easy to reason about;
    /// the real model's tokenizer is exercised by the end-to-end tests.
    fn word_tokenizer() -> Tokenizer {
        let vocab = [("[UNK]".to_string(), 0u32)].into_iter().collect();
        let model = WordLevel::builder().vocab(vocab).unk_token("[UNK]".into()).build().unwrap();
        let mut t = Tokenizer::new(model);
        t.with_pre_tokenizer(Some(Whitespace {}));
        t
    }

    fn doc(format: Format, text: &str) -> ParsedDocument {
        brain_parse::parse(std::path::Path::new(if format == Format::Markdown { "a.md" } else { "a.txt" }), text.as_bytes()).unwrap()
    }

    #[test]
    fn chunks_respect_token_budget_and_report_lines() {
        let text: String = (1..=60).map(|i| format!("line{i} alpha beta gamma delta.\n")).collect();
        let chunker = Chunker::new(word_tokenizer(), ChunkerConfig { max_tokens: 40, overlap_tokens: 0 });
        let chunks = chunker.chunk(&doc(Format::Text, &text));
        assert!(chunks.len() > 5, "{}", chunks.len());
        for c in &chunks {
            let tokens = chunker.count_tokens(&c.embedding_text());
            assert!(tokens + SPECIAL_TOKENS <= 40, "{tokens} tokens: {:?}", c.text);
            let [a, b] = c.location.lines.unwrap();
            let first_word = c.text.split_whitespace().next().unwrap();
            assert_eq!(first_word, format!("line{a}"), "chunk starts on its first line");
            assert!(c.text.trim_end().ends_with('.') && b >= a);
        }
        assert_eq!(chunks.last().unwrap().location.lines.unwrap()[1], 60);
    }

    #[test]
    fn markdown_chunks_carry_heading_path() {
        let md = "# Handbook\n\nIntro.\n\n## Leave\n\nSick leave needs a note after three days.\n";
        let chunker = Chunker::new(word_tokenizer(), ChunkerConfig::default());
        let chunks = chunker.chunk(&doc(Format::Markdown, md));
        let last = chunks.last().unwrap();
        assert_eq!(last.context.as_deref(), Some("Handbook > Leave"));
        assert_eq!(last.location.heading.as_deref(), Some("Handbook > Leave"));
        assert_eq!(last.location.lines, Some([5, 7]));
        assert!(last.embedding_text().starts_with("Handbook > Leave\n## Leave"));
    }

    #[test]
    fn chunks_carry_their_document_and_place_and_tables_keep_their_header() {
        let chunker = Chunker::new(word_tokenizer(), ChunkerConfig { max_tokens: 64, overlap_tokens: 0 });
        let pdf = ParsedDocument {
            format: Format::Pdf,
            sections: vec![brain_parse::Section {
                text: "Total net sales 82,959".into(),
                location: Location::page(4),
                first_line: None,
                context: None,
            }],
            warnings: Vec::new(),
            tables: Vec::new(),
        };
        let chunks = chunker.chunk_document(&pdf, Some("2022 Q3 AAPL"));
        assert_eq!(chunks[0].context.as_deref(), Some("2022 Q3 AAPL › page 4"));
        assert_eq!(chunks[0].text, "Total net sales 82,959", "the text shown is the document's own");
        assert!(chunks[0].embedding_text().starts_with("2022 Q3 AAPL › page 4\n"));

        // A PDF table's section has no context of its own: every chunk carries its title, the
        // section's heading, and no chunk cuts a row.
        let rows: String = (1..=30).map(|i| format!("Item {i} | Three Months Ended June 25, 2022: {i},000\n")).collect();
        let mut table = pdf.clone();
        table.sections[0] = brain_parse::Section {
            text: rows,
            location: Location { page: Some(4), heading: Some("STATEMENTS OF OPERATIONS (In millions)".into()), ..Default::default() },
            first_line: None,
            context: None,
        };
        let chunks = chunker.chunk_document(&table, Some("2022 Q3 AAPL"));
        assert!(chunks.len() > 2, "{chunks:?}");
        for c in &chunks {
            assert_eq!(c.context.as_deref(), Some("2022 Q3 AAPL › page 4 › STATEMENTS OF OPERATIONS (In millions)"));
            assert!(c.text.lines().all(|l| l.starts_with("Item ") && l.ends_with(",000")), "a row is cut: {:?}", c.text);
        }

        let rows: String = (1..=40).map(|i| format!("| item{i} | {i} | {} |\n", i * 3)).collect();
        let md = format!("# Prices\n\n| Item | Units | Price |\n|---|---|---|\n{rows}");
        let chunks = chunker.chunk_document(&doc(Format::Markdown, &md), Some("prices"));
        assert!(chunks.len() > 2, "{chunks:?}");
        for c in &chunks[1..] {
            assert!(c.text.starts_with("| Item | Units | Price |\n|---|---|---|\n| item"), "a table chunk keeps its header: {:?}", c.text);
        }
        assert_eq!(chunks[1].context.as_deref(), Some("prices › Prices"));
    }

    #[test]
    fn overlap_repeats_text() {
        let text: String = (1..=150).map(|i| format!("w{i} ")).collect();
        let chunker = Chunker::new(word_tokenizer(), ChunkerConfig { max_tokens: 48, overlap_tokens: 8 });
        let chunks = chunker.chunk(&doc(Format::Text, &text));
        assert!(chunks.len() >= 3);
        let first_last_word = chunks[0].text.split_whitespace().last().unwrap();
        assert!(chunks[1].text.contains(first_last_word), "{:?}", chunks);
    }

    #[test]
    fn equal_text_equal_hash() {
        let chunker = Chunker::new(word_tokenizer(), ChunkerConfig::default());
        let a = chunker.chunk(&doc(Format::Text, "same words"));
        let b = chunker.chunk(&doc(Format::Text, "same words"));
        assert_eq!(a[0].hash, b[0].hash);
        assert_ne!(a[0].hash, chunker.chunk(&doc(Format::Text, "other words"))[0].hash);
    }
}
