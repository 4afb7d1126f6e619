//! `brain-parse` turns one file's bytes into text [`Section`]s, each carrying the [`Location`] a
//! citation points to (a PDF page, a Markdown heading path and line range, ...).
//!
//! Key design decision: parsing is a pure function of `(path, bytes)`. It does no I/O, keeps no
//! state and never decides policy (size limits, time budgets, what to skip): the engine runs it on
//! a worker thread, catches panics and enforces budgets around it. Every failure is a typed
//! [`ParseError`] whose message is written for the person who owns the file ("encrypted PDF",
//! "no text layer (scanned)"), because it ends up verbatim in `brain status`.

mod location;
mod markdown;
mod pdf;
mod text;

pub use location::Location;
pub use text::{DecodedText, decode_text};

use std::path::Path;

/// One piece of a document's text and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The text as it reads in the document (Markdown stays Markdown).
    pub text: String,
    /// Where this text is. For line-based formats `lines` is filled in by the chunker per chunk,
    /// from `first_line`.
    pub location: Location,
    /// 1-based line number of the first line of `text` in the file, for formats where lines mean
    /// something to the reader (text, Markdown, source code).
    pub first_line: Option<u32>,
    /// Context that every chunk of this section carries into its embedding, e.g. the heading path
    /// "Handbook > Leave > Sick leave"; it makes a chunk deep in a section findable by its topic.
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
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Code => "code",
            Format::Pdf => "pdf",
        }
    }
}

/// The parsed document.
#[derive(Debug, Clone)]
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
    #[error("binary content: not a document format brain can read{}", .0.as_deref().map(|e| format!(" (.{e})")).unwrap_or_default())]
    Binary(Option<String>),
    #[error(
        "invalid UTF-8 (first bad byte at offset {offset}) and not text in any legacy encoding brain recognises"
    )]
    InvalidText { offset: usize },
    #[error("not a PDF: {0}")]
    NotPdf(String),
    #[error("encrypted PDF: it needs a password to open")]
    EncryptedPdf,
    #[error("no text layer (scanned): the PDF has {pages} page(s) of images and no text to index")]
    ScannedPdf { pages: usize },
    #[error("malformed PDF: {0}")]
    MalformedPdf(String),
}

/// Which parser a path gets, by extension. `None` means "look at the content".
pub fn format_for_path(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "md" | "markdown" | "mdown" | "mkd" => Format::Markdown,
        "txt" | "text" | "log" | "csv" | "tsv" | "rst" | "org" | "adoc" | "json" | "yaml"
        | "yml" | "toml" | "xml" | "ini" | "cfg" | "conf" => Format::Text,
        "pdf" => Format::Pdf,
        "rs" | "py" | "js" | "ts" | "tsx" | "jsx" | "go" | "java" | "kt" | "c" | "h" | "cc"
        | "cpp" | "hpp" | "cs" | "rb" | "php" | "swift" | "scala" | "sh" | "bash" | "zsh"
        | "ps1" | "sql" | "r" | "lua" | "pl" | "hs" | "ml" | "ex" | "exs" | "erl" | "clj"
        | "dart" | "vue" | "svelte" | "css" | "scss" | "html" | "htm" | "tf" | "proto"
        | "gradle" | "cmake" | "mk" => Format::Code,
        _ => return None,
    })
}

/// Parse a file. `path` is used for the format decision and for titles, never read.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let format = match format_for_path(path) {
        Some(f) => f,
        // A PDF renamed to .dat is still a PDF; anything else unknown is read as text if it is text.
        None if bytes.starts_with(b"%PDF-") => Format::Pdf,
        None => Format::Text,
    };
    let unknown_ext = format_for_path(path).is_none();
    match format {
        Format::Pdf => pdf::parse(bytes),
        Format::Markdown | Format::Text | Format::Code => {
            let decoded = text::decode_text(bytes).map_err(|e| match e {
                // An unknown extension with non-text content is a binary file, not bad text.
                ParseError::InvalidText { .. } | ParseError::Binary(_) if unknown_ext => {
                    ParseError::Binary(
                        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase),
                    )
                }
                other => other,
            })?;
            let mut warnings = Vec::new();
            if let Some(encoding) = decoded.encoding {
                warnings.push(format!("decoded as {encoding}"));
            }
            let title = title_of(path);
            let sections = match format {
                Format::Markdown => markdown::sections(&decoded.text),
                _ => text::sections(&decoded.text, &title),
            };
            if sections.iter().all(|s| s.text.trim().is_empty()) {
                return Err(ParseError::NoText);
            }
            Ok(ParsedDocument { format, sections, warnings })
        }
    }
}

/// A readable title from a file name: "sick-leave_policy.md" -> "sick leave policy".
pub fn title_of(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    stem.replace(['-', '_'], " ").trim().to_string()
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
    fn title_from_file_name() {
        assert_eq!(title_of(Path::new("/a/sick-leave_policy.md")), "sick leave policy");
    }
}
