//! The document a cited passage stands in, as a front end shows it with the passage marked:
//! a PDF page by page (each page drawn as an image with boxes over the passage's words, from
//! the text layer or, on a scanned page, from OCR), a sheet as a table with the cited rows
//! marked, every other format as its text with headings and the passage marked.
//!
//! Key design decisions:
//! - What is shown is the file as it is now, parsed again in a parse worker under the indexing
//!   budget (or drawn by poppler in a process of its own): nothing of a document runs in the
//!   front end, which receives text and PNG images only. A passage no longer in the file
//!   (edited since indexing) is shown unmarked, and the view says so.
//! - Where the passage stands is found from its words ([`passage`]), not from offsets kept at
//!   index time: the same rule serves a PDF page's words, a scan's OCR'd words and a
//!   document's text, and survives the file's reformatting by poppler or the parser.
//! - Only files inside registered folders are shown (the same check as opening one).

mod passage;
mod pdf_page;
mod text;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use brain_parse::{Format, Location};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{EngineError, Result};
use crate::{Engine, Person, blocking};

/// A document as a front end shows it, around a passage.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DocumentView {
    pub path: String,
    /// The format's name ("PDF", "Word document").
    pub format: String,
    pub content: ViewContent,
}

/// What the document is shown as.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ViewContent {
    /// A PDF: ask for each page ([`Engine::view_page`]), the cited one first.
    Pages { pages: u32, cited: u32 },
    /// The document's text, the passage marked (`found`: the passage is still in the file).
    Text { blocks: Vec<TextBlock>, found: bool },
    /// A sheet: its header and rows, the cited ones marked, with how many rows are not shown.
    Sheet { sheet: String, columns: Vec<String>, rows: Vec<SheetRow>, rows_before: u32, rows_after: u32 },
}

/// A heading or a paragraph.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TextBlock {
    pub heading: bool,
    pub pieces: Vec<TextPiece>,
}

/// A run of text, inside the passage or not, and inside the evidence of an answer's claim.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TextPiece {
    pub text: String,
    pub cited: bool,
    pub evidence: bool,
}

/// A row of a sheet and its number in the sheet; `evidence`: a cited row an answer's claim
/// rests on.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SheetRow {
    pub row: u32,
    pub cells: Vec<String>,
    pub cited: bool,
    pub evidence: bool,
}

/// What to mark in a document: a cited passage (the text of a citation or a search result) and,
/// inside it, the sentences an answer's claims rest on (the check's evidence), marked more
/// strongly.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marked<'a> {
    pub passage: &'a str,
    pub evidence: &'a [String],
}

/// A PDF page drawn, and where the passage is on it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PageView {
    pub page: u32,
    pub width: u32,
    pub height: u32,
    /// The page as a PNG (base64 in JSON and across the app's IPC).
    #[serde(serialize_with = "base64_string")]
    #[ts(type = "string")]
    pub png: Vec<u8>,
    /// Boxes over the passage, one per line of it.
    pub marks: Vec<MarkBox>,
    /// Boxes over the evidence inside the passage.
    pub evidence_marks: Vec<MarkBox>,
    /// The page's words inside the marks, in reading order.
    pub marked_text: String,
    /// The words were read by OCR (a scanned page).
    pub ocr: bool,
}

/// A box on a page, as fractions of its width and height from the top left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
pub struct MarkBox {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

fn base64_string<S: serde::Serializer>(bytes: &[u8], serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn not_viewable(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::NotViewable { path: path.to_path_buf(), reason: reason.into() }
}

/// A page's words normalised as the passage is, and for each normalised word its page word.
fn normalised_page(words: &[pdf_page::PageWord]) -> (Vec<String>, Vec<usize>) {
    let mut normalised = Vec::with_capacity(words.len());
    let mut word_of = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let before = normalised.len();
        passage::push_normalised(&word.text, &mut normalised);
        word_of.extend(std::iter::repeat_n(i, normalised.len() - before));
    }
    (normalised, word_of)
}

fn is_pdf(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 5];
    brain_parse::format_for_path(path) == Some(Format::Pdf)
        || std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok_and(|_| &head == b"%PDF-")
}

impl Engine {
    /// The document at `path` as the viewer shows it, around the passage at `location`, marked.
    /// Only files inside registered folders.
    pub async fn view_document(&self, path: &Path, location: &Location, marked: Marked<'_>) -> Result<DocumentView> {
        let path = self.resolve_openable(path)?;
        self.view_document_at(path, location, marked).await
    }

    /// [`Engine::view_document`] for `person` through a server: only an indexed file they may
    /// read (by its stored readers, as in [`Engine::readable_document`]); any other path is
    /// `not_openable`, the same for a file that does not exist and one that is not theirs.
    pub async fn view_document_as(&self, person: &Person, path: &str, location: &Location, marked: Marked<'_>) -> Result<DocumentView> {
        let path = self.readable_path(person, path).await?;
        self.view_document_at(path, location, marked).await
    }

    /// [`Engine::view_page`] for `person` through a server (see [`Engine::view_document_as`]).
    pub async fn view_page_as(&self, person: &Person, path: &str, page: u32, marked: Marked<'_>) -> Result<PageView> {
        let path = self.readable_path(person, path).await?;
        self.view_page_at(path, page, marked).await
    }

    async fn readable_path(&self, person: &Person, path: &str) -> Result<PathBuf> {
        if !self.readable_document(path, person).await? {
            return Err(EngineError::NotOpenable(PathBuf::from(path)));
        }
        Ok(PathBuf::from(path))
    }

    async fn view_document_at(&self, path: PathBuf, location: &Location, marked: Marked<'_>) -> Result<DocumentView> {
        if !path.is_file() {
            return Err(not_viewable(&path, "not a file"));
        }
        let format = brain_parse::format_for_path(&path);
        let label = format.map_or("document", |f| f.label()).to_string();
        let shown = path.display().to_string();
        if is_pdf(&path) && location.attachment.is_none() {
            let pdf = path.clone();
            let pages = blocking(move || pdf_page::page_count(&pdf)).await?.map_err(|e| not_viewable(&path, e))?;
            let cited = location.page.unwrap_or(1).clamp(1, pages.max(1));
            return Ok(DocumentView { path: shown, format: label, content: ViewContent::Pages { pages, cited } });
        }
        if let Some(sheet) = &location.sheet
            && matches!(format, Some(Format::Xlsx | Format::Xls | Format::Ods | Format::Csv))
        {
            let tables = self.sheet_tables(&path).await.map_err(|e| not_viewable(&path, e))?;
            // A passage of header rows only (a sheet of repeated headers, a header chunk) is
            // marked in the sheet's text instead.
            if let Some(table) = text::sheet_table(&tables, sheet, location.rows)
                && table.rows.iter().any(|r| location.rows.is_some_and(|[a, b]| (a..=b).contains(&r.row)))
            {
                let (rows, rows_before, rows_after) = text::sheet_rows(table, location.rows, marked.evidence);
                let content = ViewContent::Sheet { sheet: sheet.clone(), columns: text::columns(table), rows, rows_before, rows_after };
                return Ok(DocumentView { path: shown, format: label, content });
            }
        }
        let parsed = self.parsed_again(&path).await.map_err(|e| not_viewable(&path, e))?;
        let (passage, evidence) = (marked.passage.to_string(), marked.evidence.to_vec());
        let (blocks, found) = blocking(move || text::blocks(&parsed.sections, Marked { passage: &passage, evidence: &evidence })).await?;
        Ok(DocumentView { path: shown, format: label, content: ViewContent::Text { blocks, found } })
    }

    /// Page `page` of the PDF at `path`, drawn, with the passage marked where it stands on it.
    pub async fn view_page(&self, path: &Path, page: u32, marked: Marked<'_>) -> Result<PageView> {
        let path = self.resolve_openable(path)?;
        self.view_page_at(path, page, marked).await
    }

    async fn view_page_at(&self, path: PathBuf, page: u32, marked: Marked<'_>) -> Result<PageView> {
        if !is_pdf(&path) {
            return Err(not_viewable(&path, "not a PDF"));
        }
        let languages = crate::ocr::languages(&self.settings().ocr_languages);
        let (passage, evidence, pdf) = (marked.passage.to_string(), marked.evidence.to_vec(), path.clone());
        blocking(move || -> std::result::Result<PageView, String> {
            // A page past the end is poppler's to refuse ("Wrong page range given"): the page
            // count was read once, for the document.
            if page == 0 {
                return Err("pages are counted from 1".into());
            }
            let (png, width, height) = pdf_page::draw(&pdf, page)?;
            let mut words = pdf_page::text_layer_words(&pdf, page)?;
            let ocr = words.is_empty();
            // A scanned page is read by Tesseract only when there is a passage to mark on it.
            if ocr && !passage.trim().is_empty() {
                words = pdf_page::scanned_words(&pdf, page, &languages)?;
            }
            // The passage in the page's reading order (prose, columns) or line by line (a
            // table's rows), whichever holds more of it; the evidence inside it.
            let by_lines = pdf_page::by_lines(&words);
            let found = [words, by_lines]
                .into_iter()
                .filter_map(|words| {
                    let (normalised, word_of) = normalised_page(&words);
                    let (range, count) = passage::find_counted(&normalised, &passage)?;
                    let evidence: Vec<_> = evidence
                        .iter()
                        .filter_map(|e| passage::find(&normalised[range.clone()], e))
                        .map(|r| word_of[range.start() + r.start()]..=word_of[range.start() + r.end()])
                        .collect();
                    Some((count, word_of[*range.start()]..=word_of[*range.end()], evidence, words))
                })
                .max_by_key(|(count, ..)| *count);
            let (marks, evidence_marks, marked_text) = match found {
                Some((_, range, evidence, words)) => {
                    let text = words[range.clone()].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
                    let evidence_marks = evidence.into_iter().flat_map(|r| pdf_page::line_boxes(&words, r)).collect();
                    (pdf_page::line_boxes(&words, range), evidence_marks, text)
                }
                None => (Vec::new(), Vec::new(), String::new()),
            };
            Ok(PageView { page, width, height, png, marks, evidence_marks, marked_text, ocr })
        })
        .await?
        .map_err(|e| not_viewable(&path, e))
    }
}
