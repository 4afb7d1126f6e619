//! `brain-parse` turns one file's bytes into text [`Section`]s, each carrying the [`Location`] a
//! citation points to (a PDF page, a slide, a sheet and its rows, a heading path, an e-mail
//! attachment, ...).
//!
//! Key design decision: parsing is a pure function of `(path, bytes)`. It does no I/O, starts no
//! process, keeps no state and decides no policy (time budgets, size limits, which folders to
//! walk): the engine runs it in a worker process and enforces budgets around it. What needs the outside world, OCR
//! (Tesseract) and drawing a scanned PDF page (poppler), the engine supplies as trait objects
//! ([`Ocr`]). Every failure is a typed [`ParseError`] whose message is written for the person
//! who owns the file ("encrypted DOCX", "no text layer (scanned)"), because it ends up verbatim
//! in `brain status`.
//!
//! What brain knows about kinds of files is one table, [`formats::FORMATS`]: each format's
//! extensions, content signature, names, parser and what its citations point to; beside it the
//! extensions that are never documents ([`is_never_a_document`], which the engine's folder walk
//! asks).
//!
//! Files are untrusted, so the crate defends itself rather than relying on the engine alone:
//! every read out of a zip or OLE container is capped per entry and per file (zip bombs), XML is
//! walked as a stream with a depth cap, e-mail attachments are opened at most
//! [`limits::MAX_ATTACHMENT_DEPTH`] levels deep, extracted text is capped per file, and a panic in
//! any parser (ours or a dependency's) is caught here and reported as [`ParseError::Crashed`].
//! Embedded images and other media are never decoded: only text is read.

mod delimited;
mod docx;
mod email;
mod eml;
mod epub;
pub mod formats;
mod html;
mod limits;
mod location;
mod markdown;
mod msg;
mod ocr;
mod odf;
mod ods;
mod odt;
mod ooxml;
mod org;
mod outline;
mod pdf;
mod picture;
mod pptx;
mod rst;
mod rtf;
mod spreadsheet;
mod tables;
mod text;
mod xml;
mod zipped;

pub use formats::{Format, format_for_path, is_never_a_document};
pub use location::{LOW_OCR_CONFIDENCE, Location};
pub use ocr::{Ocr, PageError, PageImage, Recognize, Recognized, RenderPage};
pub use tables::{Table, TableRow};
pub use text::{DecodedText, decode_text};

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use limits::Budget;

/// One piece of a document's text and where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// The text as it reads in the document (Markdown stays Markdown).
    pub text: String,
    /// Where this text is. For line-based formats `lines` is filled in by the chunker per chunk,
    /// from `first_line`.
    pub location: Location,
    /// 1-based line number of the first line of `text` in the file, for formats where lines mean
    /// something to the reader (text, Markdown, reStructuredText, Org, source code).
    pub first_line: Option<u32>,
    /// Context that every chunk of this section carries into its embedding, e.g. the heading path
    /// "Handbook > Leave > Sick leave" or a sheet's header row; it makes a chunk deep in a section
    /// findable by its topic.
    pub context: Option<String>,
}

/// The parsed document. Serialisable so that parsing can run in another process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ParsedDocument {
    pub format: Format,
    pub sections: Vec<Section>,
    /// Notes worth showing next to an indexed file, e.g. "decoded as windows-1252" or
    /// "pages 4, 9 unreadable: ...". They do not make the file fail.
    pub warnings: Vec<String>,
    /// The sheets of a spreadsheet or CSV as tables, every row under its header (for questions
    /// answered by a query over a sheet): filled by [`parse_keeping_tables`] only, empty from
    /// [`parse`] and [`parse_with`] and for other formats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
}

/// Why a file could not be turned into text. The `Display` text is what the user sees.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ParseError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("no text: the file holds only whitespace")]
    NoText,
    /// A document that opens fine but has no text: pictures only, empty sheets, blank slides.
    #[error("no text: the {0} has nothing to index, only pictures, shapes or empty pages")]
    NothingToIndex(&'static str),
    #[error("binary content: not a document format brain can read{}", .0.as_deref().map(|e| format!(" (.{e})")).unwrap_or_default())]
    Binary(Option<String>),
    #[error("invalid UTF-8 (first bad byte at offset {offset}) and not text in any legacy encoding brain recognises")]
    InvalidText { offset: usize },
    #[error("not a PDF: {0}")]
    NotPdf(String),
    #[error("encrypted PDF: it needs a password to open")]
    EncryptedPdf,
    #[error("no text layer (scanned): the PDF has {pages} page(s) of images and no text to index")]
    ScannedPdf { pages: usize },
    #[error("malformed PDF: {0}")]
    MalformedPdf(String),
    /// A password-protected office or e-book file; the string is the format's label.
    #[error("encrypted {0}: it needs a password to open")]
    Encrypted(&'static str),
    /// An S/MIME or PGP encrypted e-mail; the string names the scheme.
    #[error("encrypted e-mail ({0}): only the recipient's private key can open the message body")]
    EncryptedEmail(&'static str),
    /// The file claims a format (by name or content) but its structure is broken.
    #[error("not a valid {format}: {reason}")]
    Invalid { format: &'static str, reason: String },
    /// A known format brain does not read; the string says what it is and what to do.
    #[error("unsupported format: {0}")]
    Unsupported(String),
    #[error("zip bomb suspected: {0}")]
    ZipBomb(String),
    #[error("nested too deeply: {0}")]
    TooDeep(String),
    #[error("too much text: the file expands to more than {limit_mib} MiB of text, more than brain indexes from one file")]
    TooMuchText { limit_mib: usize },
    #[error("image too large: {width} × {height} pixels (the limit is {limit} pixels on a side)")]
    ImageTooLarge { width: u32, height: u32, limit: u32 },
    /// Scanned pages or an image, and no OCR to read them (or it failed on every page).
    #[error("{0}")]
    Ocr(String),
    /// A parser panicked; caught here so that one hostile file cannot take the indexer down.
    #[error("the {format} reader crashed on this file ({detail})")]
    Crashed { format: &'static str, detail: String },
}

/// Parse a file. `path` is used for the format decision and for titles, never read.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    parse_with(path, bytes, None)
}

/// [`parse`], with OCR for images and for the pages of a PDF that have no text layer.
pub fn parse_with(path: &Path, bytes: &[u8], ocr: Option<Ocr<'_>>) -> Result<ParsedDocument, ParseError> {
    let mut budget = Budget::new();
    budget.ocr = ocr;
    parse_nested(path, bytes, &mut budget)
}

/// [`parse`], keeping each sheet of a spreadsheet or CSV whole in [`ParsedDocument::tables`].
pub fn parse_keeping_tables(path: &Path, bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    parse_nested(path, bytes, &mut Budget::keeping_tables())
}

/// [`parse`] for a file inside another one (an e-mail attachment): it shares the outer file's
/// budget, so a hundred attached zip bombs cost no more than one.
pub(crate) fn parse_nested(path: &Path, bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let format = format_for_path(path).map_or("file", Format::label);
    let doc = guarded(format, || parse_unguarded(path, bytes, budget))?;
    let total: usize = doc.sections.iter().map(|s| s.text.len()).sum();
    if total > limits::MAX_TEXT_BYTES {
        return Err(ParseError::TooMuchText { limit_mib: limits::MAX_TEXT_BYTES >> 20 });
    }
    Ok(doc)
}

/// Run a parser, turning a panic (ours or a dependency's) into [`ParseError::Crashed`].
fn guarded(format: &'static str, parser: impl FnOnce() -> Result<ParsedDocument, ParseError>) -> Result<ParsedDocument, ParseError> {
    catch_unwind(AssertUnwindSafe(parser)).unwrap_or_else(|panic| Err(ParseError::Crashed { format, detail: panic_detail(&panic) }))
}

fn parse_unguarded(path: &Path, bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::NoText);
    }
    if let Some(unsupported) = formats::legacy_office(path, bytes) {
        return Err(unsupported);
    }
    let (format, note) = formats::detect_format(path, bytes);
    let row = format.row();
    let title = title_of(path);
    let mut doc = (row.parse)(&formats::Input { path, bytes, title: &title, format }, budget)?;
    if let Some(note) = note {
        doc.warnings.insert(0, note);
    }
    if !doc.sections.iter().any(|s| has_text(&s.text)) {
        return Err(row.without_text_error());
    }
    Ok(doc)
}

/// Whether text holds something worth indexing: letters or digits, or symbols beyond ASCII
/// punctuation (a sheet of emoji is content; a table of " | " separators is not).
fn has_text(text: &str) -> bool {
    text.chars().any(|c| c.is_alphanumeric() || (!c.is_ascii() && !c.is_whitespace() && !c.is_control()))
}

/// A readable title from a file name: "sick-leave_policy.md" -> "sick leave policy".
pub fn title_of(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    stem.replace(['-', '_'], " ").trim().to_string()
}

/// The message of a caught panic, for error reports.
pub fn panic_detail(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Entry points for the cargo-fuzz targets in `fuzz/`: the parsers written in this crate, fed
/// raw bytes without the container around them. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    pub fn rtf(bytes: &[u8]) {
        let _ = rtf::parse(bytes, "fuzz", &mut Budget::new());
    }

    pub fn docx_document_xml(bytes: &[u8]) {
        let xml = xml::decode(bytes);
        let _ = docx::blocks(&xml, &docx::Styles::default(), "word/document.xml", &mut |_| Ok(()));
        let _ = docx::Styles::parse(&xml);
    }

    pub fn pptx_slide_xml(bytes: &[u8]) {
        let xml = xml::decode(bytes);
        let _ = pptx::slide_text(&xml, "ppt/slides/slide1.xml");
        let _ = pptx::slide_order(&xml);
    }

    pub fn odf_content_xml(bytes: &[u8]) {
        let xml = xml::decode(bytes);
        let _ = odt::sections_of_content(&xml, "fuzz", &mut Budget::new());
        let _ = ods::sheets_of_content(&xml, &mut Budget::new());
    }

    pub fn marked_up_headings(bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        for headings in [rst::headings(&text), org::headings(&text)] {
            let _ = outline::line_sections(&text, &headings, "fuzz");
        }
    }

    pub fn decode_text(bytes: &[u8]) {
        let _ = text::decode_text(bytes);
    }

    pub fn whole(path: &str, bytes: &[u8]) {
        let _ = super::parse(Path::new(path), bytes);
    }

    /// The file names `parse_any` chooses from: one per format (its usual extension), a legacy
    /// Word binary's and none at all.
    pub fn file_names() -> Vec<String> {
        let per_format = formats::FORMATS.iter().map(|row| format!("a.{}", row.extensions[0]));
        per_format.chain(["a.doc".to_string(), "noext".to_string()]).collect()
    }

    /// The whole `parse()`, the first byte choosing the file name from [`file_names`]: one corpus
    /// reaches every format, and the content sniffing that overrides a wrong extension.
    pub fn parse_any(data: &[u8]) {
        static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(file_names);
        if let Some((&pick, rest)) = data.split_first() {
            whole(&NAMES[usize::from(pick) % NAMES.len()], rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_an_error() {
        assert_eq!(parse(Path::new("a.txt"), b"").unwrap_err(), ParseError::Empty);
    }

    #[test]
    fn whitespace_only_is_no_text() {
        assert_eq!(parse(Path::new("a.txt"), b"  \n\t\n").unwrap_err(), ParseError::NoText);
    }

    #[test]
    fn unknown_extension_binary_is_reported_as_binary() {
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let err = parse(Path::new("blob.bin"), &bytes).unwrap_err();
        assert_eq!(err, ParseError::Binary(Some("bin".into())));
        assert!(err.to_string().contains("binary content"));
    }

    #[test]
    fn unknown_extension_text_is_indexed_as_text() {
        let doc = parse(Path::new("NOTES"), b"plain words here\nand more").unwrap();
        assert_eq!(doc.format, Format::Text);
        assert_eq!(doc.sections[0].first_line, Some(1));
    }

    #[test]
    fn pdf_magic_wins_over_unknown_extension() {
        let err = parse(Path::new("x.dat"), b"%PDF-1.4 garbage").unwrap_err();
        assert!(matches!(err, ParseError::MalformedPdf(_)), "{err:?}");
    }

    #[test]
    fn rtf_named_doc_is_read_as_rtf_with_a_note() {
        let doc = parse(Path::new("memo.doc"), br"{\rtf1\ansi Hello from Word}").unwrap();
        assert_eq!(doc.format, Format::Rtf);
        assert!(doc.warnings[0].contains("read as RTF"), "{:?}", doc.warnings);
    }

    #[test]
    fn email_without_extension_is_sniffed() {
        let doc = parse(Path::new("message"), b"Received: from x\r\nFrom: a@example.com\r\nSubject: Hi\r\n\r\nBody words").unwrap();
        assert_eq!(doc.format, Format::Eml);
        let doc = parse(Path::new("notes"), b"Subject: not a mail\njust notes about a subject").unwrap();
        assert_eq!(doc.format, Format::Text);
    }

    #[test]
    fn legacy_word_binary_is_unsupported_with_advice() {
        let mut bytes = formats::OLE_MAGIC.to_vec();
        bytes.extend_from_slice(&[0; 600]);
        let err = parse(Path::new("old.doc"), &bytes).unwrap_err();
        assert!(err.to_string().contains("save it as .docx"), "{err}");
    }

    #[test]
    fn every_format_name_is_lowercase() {
        for f in formats::FORMATS.iter().map(|row| row.format) {
            assert_eq!(f.as_str(), f.as_str().to_ascii_lowercase());
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
    }

    #[test]
    fn the_fuzz_names_reach_every_format() {
        let names = fuzzing::file_names();
        for row in formats::FORMATS {
            assert!(names.iter().any(|n| format_for_path(Path::new(n)) == Some(row.format)), "{:?}", row.format);
        }
        assert!(names.contains(&"a.doc".to_string()) && names.contains(&"noext".to_string()), "{names:?}");
    }

    #[test]
    fn a_panicking_parser_becomes_an_error() {
        let err = guarded("DOCX", || panic!("index out of bounds")).unwrap_err();
        assert_eq!(err, ParseError::Crashed { format: "DOCX", detail: "index out of bounds".into() });
        assert_eq!(err.to_string(), "the DOCX reader crashed on this file (index out of bounds)");
    }

    #[test]
    fn title_from_file_name() {
        assert_eq!(title_of(Path::new("/a/sick-leave_policy.md")), "sick leave policy");
    }
}
