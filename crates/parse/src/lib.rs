//! `brain-parse` turns one file's bytes into text [`Section`]s, each carrying the [`Location`] a
//! citation points to (a PDF page, a slide, a sheet and its rows, a heading path, an e-mail
//! attachment, ...).
//!
//! Key design decision: parsing is a pure function of `(path, bytes)`. It does no I/O, keeps no
//! state and never decides policy (which files to skip, time budgets): the engine runs it on a
//! worker thread and enforces budgets around it. Every failure is a typed [`ParseError`] whose
//! message is written for the person who owns the file ("encrypted DOCX", "no text layer
//! (scanned)"), because it ends up verbatim in `brain status`.
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
mod html;
mod limits;
mod location;
mod markdown;
mod msg;
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
mod text;
mod xml;
mod zipped;

pub use location::{LOW_OCR_CONFIDENCE, Location};
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

/// What kind of document a file is, decided from its extension and, failing that, its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Markdown,
    Text,
    Code,
    Pdf,
    Docx,
    Pptx,
    Xlsx,
    Xls,
    Ods,
    /// CSV and TSV.
    Csv,
    Odt,
    Rtf,
    Epub,
    Html,
    Eml,
    Msg,
    Rst,
    Org,
    /// PNG, JPEG, TIFF, WebP, BMP: read by OCR.
    Image,
}

impl Format {
    /// The lowercase name stored in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Code => "code",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Pptx => "pptx",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Csv => "csv",
            Format::Odt => "odt",
            Format::Rtf => "rtf",
            Format::Epub => "epub",
            Format::Html => "html",
            Format::Eml => "eml",
            Format::Msg => "msg",
            Format::Rst => "rst",
            Format::Org => "org",
            Format::Image => "image",
        }
    }

    /// The name a person knows the format by, used in error messages.
    pub fn label(self) -> &'static str {
        match self {
            Format::Markdown => "Markdown",
            Format::Text => "text",
            Format::Code => "source code",
            Format::Pdf => "PDF",
            Format::Docx => "DOCX",
            Format::Pptx => "PPTX",
            Format::Xlsx => "XLSX",
            Format::Xls => "XLS",
            Format::Ods => "ODS",
            Format::Csv => "CSV",
            Format::Odt => "ODT",
            Format::Rtf => "RTF",
            Format::Epub => "EPUB",
            Format::Html => "HTML",
            Format::Eml => "e-mail",
            Format::Msg => "Outlook message",
            Format::Rst => "reStructuredText",
            Format::Org => "Org",
            Format::Image => "image",
        }
    }
}

/// A page to read by OCR: 8-bit grey pixels, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
    /// The resolution it was rendered or scanned at, when known.
    pub dpi: u32,
}

/// What OCR read on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognized {
    pub text: String,
    /// Mean confidence, 0–100.
    pub confidence: u8,
}

/// Reads text in page images: the engine's OCR (Tesseract, with its cache), given to
/// [`parse_with`]. Parsing itself knows nothing of Tesseract.
pub trait Recognize {
    /// The text of one page. An error fails this page only (a warning); an unavailable OCR
    /// says so in its error, which becomes the file's reason when nothing else has text.
    fn recognize(&mut self, page: &PageImage) -> Result<Recognized, String>;
    /// Called after each page read by OCR: `done` of `pages`.
    fn progress(&mut self, _done: usize, _pages: usize) {}
}

/// The parsed document. Serialisable so that parsing can run in another process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ParsedDocument {
    pub format: Format,
    pub sections: Vec<Section>,
    /// Notes worth showing next to an indexed file, e.g. "decoded as windows-1252" or
    /// "pages 4, 9 unreadable: ...". They do not make the file fail.
    pub warnings: Vec<String>,
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

/// Which parser a path gets, by extension. `None` means "look at the content".
pub fn format_for_path(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "md" | "markdown" | "mdown" | "mkd" => Format::Markdown,
        "txt" | "text" | "log" | "adoc" | "json" | "ndjson" | "jsonl" | "yaml" | "yml" | "toml" | "xml" | "ini" | "cfg" | "conf" => {
            Format::Text
        }
        "pdf" => Format::Pdf,
        "docx" | "docm" | "dotx" | "dotm" => Format::Docx,
        "pptx" | "pptm" | "ppsx" | "ppsm" | "potx" => Format::Pptx,
        "xlsx" | "xlsm" | "xltx" | "xltm" => Format::Xlsx,
        "xls" | "xlt" => Format::Xls,
        "ods" => Format::Ods,
        "csv" | "tsv" | "tab" => Format::Csv,
        "odt" | "ott" => Format::Odt,
        "rtf" => Format::Rtf,
        "epub" => Format::Epub,
        "html" | "htm" | "xhtml" | "xht" => Format::Html,
        "eml" | "mht" | "mhtml" => Format::Eml,
        "msg" => Format::Msg,
        "rst" | "rest" => Format::Rst,
        "org" => Format::Org,
        "png" | "jpg" | "jpeg" | "tif" | "tiff" | "webp" | "bmp" => Format::Image,
        "rs" | "py" | "js" | "ts" | "tsx" | "jsx" | "go" | "java" | "kt" | "c" | "h" | "cc" | "cpp" | "hpp" | "cs" | "rb" | "php"
        | "swift" | "scala" | "sh" | "bash" | "zsh" | "ps1" | "sql" | "r" | "lua" | "pl" | "hs" | "ml" | "ex" | "exs" | "erl" | "clj"
        | "dart" | "vue" | "svelte" | "css" | "scss" | "tf" | "proto" | "gradle" | "cmake" | "mk" => Format::Code,
        _ => return None,
    })
}

/// Parse a file. `path` is used for the format decision and for titles, never read.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    parse_with(path, bytes, None)
}

/// [`parse`], with OCR for images and for the pages of a PDF that have no text layer.
pub fn parse_with(path: &Path, bytes: &[u8], ocr: Option<&mut dyn Recognize>) -> Result<ParsedDocument, ParseError> {
    let mut budget = Budget::new();
    budget.ocr = ocr;
    parse_nested(path, bytes, &mut budget)
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
    if let Some(unsupported) = legacy_office(path, bytes) {
        return Err(unsupported);
    }
    let (format, note) = detect_format(path, bytes);
    let title = title_of(path);
    let mut doc = match format {
        Format::Pdf => pdf::parse(bytes, budget),
        Format::Image => picture::parse(bytes, budget),
        Format::Markdown | Format::Text | Format::Code => plain(path, bytes, format),
        Format::Docx => docx::parse(bytes, &title, budget),
        Format::Pptx => pptx::parse(bytes, budget),
        Format::Xlsx => spreadsheet::parse_xlsx(bytes, budget),
        Format::Xls => spreadsheet::parse_xls(bytes, budget),
        Format::Ods => ods::parse(bytes, budget),
        Format::Csv => delimited::parse(path, bytes, budget),
        Format::Odt => odt::parse(bytes, &title, budget),
        Format::Rtf => rtf::parse(bytes, &title, budget),
        Format::Epub => epub::parse(bytes, budget),
        Format::Html => html::parse(bytes, &title, budget),
        Format::Eml => eml::parse(bytes, budget),
        Format::Msg => msg::parse(bytes, budget),
        Format::Rst | Format::Org => marked_up_text(bytes, format, &title),
    }?;
    if let Some(note) = note {
        doc.warnings.insert(0, note);
    }
    if !doc.sections.iter().any(|s| has_text(&s.text)) {
        return Err(match format {
            Format::Markdown | Format::Text | Format::Code | Format::Rst | Format::Org | Format::Csv => ParseError::NoText,
            _ => ParseError::NothingToIndex(format.label()),
        });
    }
    Ok(doc)
}

/// The format to parse `bytes` as, and a note when the content overrode the file name (a Word
/// document saved as RTF but named `.doc`, a spreadsheet exported as HTML and named `.xls`).
fn detect_format(path: &Path, bytes: &[u8]) -> (Format, Option<String>) {
    let by_name = format_for_path(path);
    let by_content = sniff(bytes);
    let note = |found: Format| extension(path).map(|ext| format!("read as {} although the file is named .{ext}", found.label()));
    match (by_name, by_content) {
        (Some(named), Some(found)) if named != found && !content_fits(named, bytes) => (found, note(found)),
        (Some(named), _) => (named, None),
        // An extension brain does not know ("memo.doc" holding RTF): say what it was read as.
        (None, Some(found)) => (found, note(found)),
        // Anything else unknown is read as text if it is text; `plain` reports binary otherwise.
        (None, None) => (Format::Text, None),
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Whether the bytes could be what the extension says; a mismatch lets the content decide.
fn content_fits(named: Format, bytes: &[u8]) -> bool {
    match named {
        Format::Docx | Format::Pptx | Format::Xlsx => bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(OLE_MAGIC),
        Format::Odt | Format::Ods | Format::Epub => bytes.starts_with(ZIP_MAGIC),
        Format::Xls | Format::Msg => bytes.starts_with(OLE_MAGIC),
        Format::Pdf => bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-"),
        Format::Rtf => bytes.starts_with(b"{\\rtf"),
        Format::Image => picture::is_image(bytes),
        // Text formats hold whatever text they hold.
        _ => true,
    }
}

/// The format the content shows, for the few formats with an unmistakable signature.
fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    if bytes.starts_with(b"{\\rtf") {
        return Some(Format::Rtf);
    }
    if picture::is_image(bytes) {
        return Some(Format::Image);
    }
    if bytes.starts_with(ZIP_MAGIC) {
        return zipped::sniff(bytes);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Some(Format::Html);
    }
    if looks_like_email(head) {
        return Some(Format::Eml);
    }
    None
}

/// A message saved without its extension: it opens with RFC 5322 header lines.
fn looks_like_email(head: &str) -> bool {
    const HEADERS: &[&str] =
        &["received", "return-path", "from", "to", "cc", "subject", "date", "message-id", "mime-version", "delivered-to", "reply-to"];
    let mut known = 0;
    for line in head.lines().take_while(|l| !l.trim().is_empty()) {
        if line.starts_with([' ', '\t']) {
            continue; // a folded header's continuation
        }
        let Some((name, _)) = line.split_once(':') else { return false };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return false;
        }
        known += usize::from(HEADERS.contains(&name));
    }
    known >= 2
}

/// Word and PowerPoint 97-2003 binaries: named for what they are, with what to do about it.
fn legacy_office(path: &Path, bytes: &[u8]) -> Option<ParseError> {
    if !bytes.starts_with(OLE_MAGIC) {
        return None;
    }
    let what = match extension(path).as_deref() {
        Some("doc" | "dot") => "Word 97-2003 document (.doc); save it as .docx to index it",
        Some("ppt" | "pps" | "pot") => "PowerPoint 97-2003 presentation (.ppt); save it as .pptx to index it",
        _ => return None,
    };
    Some(ParseError::Unsupported(what.into()))
}

fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

fn plain(path: &Path, bytes: &[u8], format: Format) -> Result<ParsedDocument, ParseError> {
    let unknown_ext = format_for_path(path).is_none();
    let decoded = text::decode_text(bytes).map_err(|e| match e {
        // An unknown extension with non-text content is a binary file, not bad text.
        ParseError::InvalidText { .. } | ParseError::Binary(_) if unknown_ext => ParseError::Binary(extension(path)),
        other => other,
    })?;
    let mut warnings = Vec::new();
    if let Some(encoding) = decoded.encoding {
        warnings.push(format!("decoded as {encoding}"));
    }
    let sections = match format {
        Format::Markdown => markdown::sections(&decoded.text),
        _ => text::sections(&decoded.text, &title_of(path)),
    };
    Ok(ParsedDocument { format, sections, warnings })
}

/// reStructuredText and Org: text with heading paths and line numbers, like Markdown.
fn marked_up_text(bytes: &[u8], format: Format, title: &str) -> Result<ParsedDocument, ParseError> {
    let decoded = text::decode_text(bytes)?;
    let warnings = decoded.encoding.map(|e| format!("decoded as {e}")).into_iter().collect();
    let headings = match format {
        Format::Rst => rst::headings(&decoded.text),
        _ => org::headings(&decoded.text),
    };
    let sections = outline::line_sections(&decoded.text, &headings, title);
    Ok(ParsedDocument { format, sections, warnings })
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
        let mut bytes = OLE_MAGIC.to_vec();
        bytes.extend_from_slice(&[0; 600]);
        let err = parse(Path::new("old.doc"), &bytes).unwrap_err();
        assert!(err.to_string().contains("save it as .docx"), "{err}");
    }

    #[test]
    fn every_format_name_is_lowercase() {
        for f in [
            Format::Docx,
            Format::Pptx,
            Format::Xlsx,
            Format::Xls,
            Format::Ods,
            Format::Csv,
            Format::Odt,
            Format::Rtf,
            Format::Epub,
            Format::Html,
            Format::Eml,
            Format::Msg,
            Format::Rst,
            Format::Org,
        ] {
            assert_eq!(f.as_str(), f.as_str().to_ascii_lowercase());
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
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
