//! What brain knows about kinds of files, in one place: the formats it reads ([`FORMATS`], one
//! row per format) and the files it never reads ([`SKIPPED`]).
//!
//! Key design decision: a row of [`FORMATS`] is plain data and function pointers: the format's
//! file name extensions, how its content is recognised, its names, its parser, what a citation of
//! it points to and what a file of it without text is reported as. Everything that used to match
//! on the format ([`Format::as_str`], [`Format::label`], [`format_for_path`], the content check,
//! the parser dispatch, the "no text" error) reads the row, so adding a format is its parser file,
//! its [`Format`] variant and one row here. The README's table of formats is checked against these
//! rows by a test, and the fuzz target takes its file names from them.
//!
//! The extensions that are never documents live here too ([`is_never_a_document`], for the
//! engine's folder walk), beside those skipped as e-mail attachments, so that the two lists can no
//! longer disagree by accident: where they differ, the table says so and why.

use std::path::Path;

use crate::limits::Budget;
use crate::{ParseError, ParsedDocument, Section};
use crate::{delimited, docx, eml, epub, html, markdown, msg, ods, odt, org, outline, pdf, picture, pptx, rst, rtf, spreadsheet};
use crate::{text, zipped};

/// What kind of document a file is, decided from its extension and, failing that, its content.
/// Each variant has its row in [`FORMATS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    /// This format's row of [`FORMATS`]. A `const fn`, so that the parsers' `const FORMAT`
    /// labels come from the table too (and a parser's `const FORMAT` of a variant without a row
    /// fails to compile).
    pub const fn row(self) -> &'static FormatRow {
        let mut i = 0;
        while i < FORMATS.len() {
            if FORMATS[i].format as usize == self as usize {
                return &FORMATS[i];
            }
            i += 1;
        }
        panic!("a Format variant has no row in brain_parse::formats::FORMATS: add one")
    }

    /// The lowercase name stored in the index.
    pub const fn as_str(self) -> &'static str {
        self.row().stored_name
    }

    /// The name a person knows the format by, used in error messages.
    pub const fn label(self) -> &'static str {
        self.row().label
    }
}

/// One format brain reads.
pub struct FormatRow {
    pub format: Format,
    /// The lowercase name stored in the index ([`Format::as_str`]); also its serde name.
    pub stored_name: &'static str,
    /// The name a person knows it by ([`Format::label`]): "not a valid DOCX", "encrypted PDF".
    pub label: &'static str,
    /// File name extensions, lowercase and without the dot; the first is the usual one.
    pub extensions: &'static [&'static str],
    /// What a citation of it points to.
    pub cites: Cites,
    /// An e-mail attachment of this format is skipped, not parsed.
    pub skipped_as_attachment: bool,
    /// Whether the bytes could be this format. A file whose extension names the format but whose
    /// content does not fit is read as what its content [shows](Self::shows) instead.
    pub(crate) fits: fn(&[u8]) -> bool,
    /// Whether the content shows this format unmistakably (a signature), for a file whose name
    /// says nothing or lies. `None`: only the name tells. Rows are asked in table order.
    pub(crate) shows: Option<fn(&[u8]) -> bool>,
    /// What a file of this format with nothing to index in it is reported as.
    pub(crate) without_text: WithoutText,
    pub(crate) parse: Parser,
}

/// A format's parser.
pub(crate) type Parser = fn(&Input<'_>, &mut Budget<'_>) -> Result<ParsedDocument, ParseError>;

/// What a parser is given.
pub(crate) struct Input<'a> {
    /// The file's path: for its name (titles, the CSV/TSV decision), never read.
    pub(crate) path: &'a Path,
    pub(crate) bytes: &'a [u8],
    /// A readable title from the file name, for documents that name none themselves.
    pub(crate) title: &'a str,
    /// The format it is read as.
    pub(crate) format: Format,
}

/// What a citation of a format points to: the [`Location`](crate::Location) fields its sections
/// carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cites {
    /// `page`: a PDF's page; the page of a multi-page TIFF.
    Page,
    /// `slide`.
    Slide,
    /// `sheet` and `rows`.
    SheetRows,
    /// The `heading` path.
    Heading,
    /// The `heading` path, and the `lines` the chunker counts from the section's first line.
    HeadingLines,
    /// The `lines` the chunker counts from the section's first line.
    Lines,
    /// An EPUB's chapter, as `section`.
    Chapter,
    /// The message itself, or the `attachment` and the place inside it.
    Attachment,
    /// The file as a whole: there is nothing inside it to point to (RTF has no headings brain
    /// reads and its lines are not the reader's).
    File,
}

impl Cites {
    /// The [`Location`](crate::Location) fields, by their JSON names, that such citations set.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Cites::Page => &["page"],
            Cites::Slide => &["slide"],
            Cites::SheetRows => &["sheet", "rows"],
            Cites::Heading => &["heading"],
            Cites::HeadingLines => &["heading", "lines"],
            Cites::Lines => &["lines"],
            Cites::Chapter => &["section"],
            Cites::Attachment => &["attachment"],
            Cites::File => &[],
        }
    }
}

/// What a file that parses but has nothing to index is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WithoutText {
    /// A text format holding only space and punctuation: [`ParseError::NoText`].
    NoText,
    /// A document that opens but holds only pictures, shapes, empty sheets or blank pages:
    /// [`ParseError::NothingToIndex`], naming the format.
    NothingToIndex,
}

impl FormatRow {
    /// The error for a file of this format without text.
    pub(crate) fn without_text_error(&self) -> ParseError {
        match self.without_text {
            WithoutText::NoText => ParseError::NoText,
            WithoutText::NothingToIndex => ParseError::NothingToIndex(self.label),
        }
    }
}

/// Zip containers: OOXML, ODF, EPUB.
pub(crate) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// OLE compound files: XLS, MSG, legacy Word and PowerPoint, and password-protected OOXML.
pub(crate) const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn anything(_: &[u8]) -> bool {
    true
}

fn zip(bytes: &[u8]) -> bool {
    bytes.starts_with(ZIP_MAGIC)
}

fn ole(bytes: &[u8]) -> bool {
    bytes.starts_with(OLE_MAGIC)
}

/// OOXML is a zip, or an OLE file when it is password-protected (the parser says "encrypted").
fn zip_or_ole(bytes: &[u8]) -> bool {
    zip(bytes) || ole(bytes)
}

fn rtf_signature(bytes: &[u8]) -> bool {
    bytes.starts_with(b"{\\rtf")
}

/// Every format brain reads. Sniffing asks the rows' [`FormatRow::shows`] in this order.
pub const FORMATS: &[FormatRow] = &[
    FormatRow {
        format: Format::Markdown,
        stored_name: "markdown",
        label: "Markdown",
        extensions: &["md", "markdown", "mdown", "mkd"],
        cites: Cites::HeadingLines,
        skipped_as_attachment: false,
        fits: anything,
        shows: None,
        without_text: WithoutText::NoText,
        parse: |input, _| plain(input, |text, _title| markdown::sections(text)),
    },
    FormatRow {
        format: Format::Text,
        stored_name: "text",
        label: "text",
        extensions: &["txt", "text", "log", "adoc", "json", "ndjson", "jsonl", "yaml", "yml", "toml", "xml", "ini", "cfg", "conf"],
        cites: Cites::Lines,
        skipped_as_attachment: false,
        fits: anything,
        shows: None,
        without_text: WithoutText::NoText,
        parse: |input, _| plain(input, text::sections),
    },
    FormatRow {
        format: Format::Code,
        stored_name: "code",
        label: "source code",
        extensions: &[
            "rs", "py", "js", "ts", "tsx", "jsx", "go", "java", "kt", "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php", "swift", "scala",
            "sh", "bash", "zsh", "ps1", "sql", "r", "lua", "pl", "hs", "ml", "ex", "exs", "erl", "clj", "dart", "vue", "svelte", "css",
            "scss", "tf", "proto", "gradle", "cmake", "mk",
        ],
        cites: Cites::Lines,
        skipped_as_attachment: false,
        fits: anything,
        shows: None,
        without_text: WithoutText::NoText,
        parse: |input, _| plain(input, text::sections),
    },
    FormatRow {
        format: Format::Pdf,
        stored_name: "pdf",
        label: "PDF",
        extensions: &["pdf"],
        cites: Cites::Page,
        skipped_as_attachment: false,
        fits: pdf::has_header,
        shows: Some(|bytes| bytes.starts_with(b"%PDF-")),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| pdf::parse(input.bytes, budget),
    },
    FormatRow {
        format: Format::Docx,
        stored_name: "docx",
        label: "DOCX",
        extensions: &["docx", "docm", "dotx", "dotm"],
        cites: Cites::Heading,
        skipped_as_attachment: false,
        fits: zip_or_ole,
        shows: Some(|bytes| zipped::holds_part(bytes, "word/document.xml")),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| docx::parse(input.bytes, input.title, budget),
    },
    FormatRow {
        format: Format::Pptx,
        stored_name: "pptx",
        label: "PPTX",
        extensions: &["pptx", "pptm", "ppsx", "ppsm", "potx"],
        cites: Cites::Slide,
        skipped_as_attachment: false,
        fits: zip_or_ole,
        shows: Some(|bytes| zipped::holds_part(bytes, "ppt/presentation.xml")),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| pptx::parse(input.bytes, budget),
    },
    FormatRow {
        format: Format::Xlsx,
        stored_name: "xlsx",
        label: "XLSX",
        extensions: &["xlsx", "xlsm", "xltx", "xltm"],
        cites: Cites::SheetRows,
        skipped_as_attachment: false,
        fits: zip_or_ole,
        shows: Some(|bytes| zipped::holds_part(bytes, "xl/workbook.xml")),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| spreadsheet::parse_xlsx(input.bytes, budget),
    },
    FormatRow {
        format: Format::Xls,
        stored_name: "xls",
        label: "XLS",
        extensions: &["xls", "xlt"],
        cites: Cites::SheetRows,
        skipped_as_attachment: false,
        fits: ole,
        shows: None,
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| spreadsheet::parse_xls(input.bytes, budget),
    },
    FormatRow {
        format: Format::Ods,
        stored_name: "ods",
        label: "ODS",
        extensions: &["ods"],
        cites: Cites::SheetRows,
        skipped_as_attachment: false,
        fits: zip,
        shows: Some(|bytes| zipped::declares_mimetype(bytes, "application/vnd.oasis.opendocument.spreadsheet")),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| ods::parse(input.bytes, budget),
    },
    FormatRow {
        format: Format::Csv,
        stored_name: "csv",
        label: "CSV",
        extensions: &["csv", "tsv", "tab"],
        cites: Cites::SheetRows,
        skipped_as_attachment: false,
        fits: anything,
        shows: None,
        without_text: WithoutText::NoText,
        parse: |input, budget| delimited::parse(input.path, input.bytes, budget),
    },
    FormatRow {
        format: Format::Odt,
        stored_name: "odt",
        label: "ODT",
        extensions: &["odt", "ott"],
        cites: Cites::Heading,
        skipped_as_attachment: false,
        fits: zip,
        shows: Some(|bytes| zipped::declares_mimetype(bytes, "application/vnd.oasis.opendocument.text")),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| odt::parse(input.bytes, input.title, budget),
    },
    FormatRow {
        format: Format::Rtf,
        stored_name: "rtf",
        label: "RTF",
        extensions: &["rtf"],
        cites: Cites::File,
        skipped_as_attachment: false,
        fits: rtf_signature,
        shows: Some(rtf_signature),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| rtf::parse(input.bytes, input.title, budget),
    },
    FormatRow {
        format: Format::Epub,
        stored_name: "epub",
        label: "EPUB",
        extensions: &["epub"],
        cites: Cites::Chapter,
        skipped_as_attachment: false,
        fits: zip,
        shows: Some(|bytes| zipped::declares_mimetype(bytes, "application/epub+zip")),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| epub::parse(input.bytes, budget),
    },
    FormatRow {
        format: Format::Html,
        stored_name: "html",
        label: "HTML",
        extensions: &["html", "htm", "xhtml", "xht"],
        cites: Cites::Heading,
        skipped_as_attachment: false,
        fits: anything,
        shows: Some(html::looks_like_html),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| html::parse(input.bytes, input.title, budget),
    },
    FormatRow {
        format: Format::Eml,
        stored_name: "eml",
        label: "e-mail",
        extensions: &["eml", "mht", "mhtml"],
        cites: Cites::Attachment,
        skipped_as_attachment: false,
        fits: anything,
        shows: Some(eml::looks_like_email),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| eml::parse(input.bytes, budget),
    },
    FormatRow {
        format: Format::Msg,
        stored_name: "msg",
        label: "Outlook message",
        extensions: &["msg"],
        cites: Cites::Attachment,
        skipped_as_attachment: false,
        fits: ole,
        shows: None,
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| msg::parse(input.bytes, budget),
    },
    FormatRow {
        format: Format::Rst,
        stored_name: "rst",
        label: "reStructuredText",
        extensions: &["rst", "rest"],
        cites: Cites::HeadingLines,
        skipped_as_attachment: false,
        fits: anything,
        shows: None,
        without_text: WithoutText::NoText,
        parse: |input, _| marked_up_text(input, rst::headings),
    },
    FormatRow {
        format: Format::Org,
        stored_name: "org",
        label: "Org",
        extensions: &["org"],
        cites: Cites::HeadingLines,
        skipped_as_attachment: false,
        fits: anything,
        shows: None,
        without_text: WithoutText::NoText,
        parse: |input, _| marked_up_text(input, org::headings),
    },
    FormatRow {
        format: Format::Image,
        stored_name: "image",
        label: "image",
        extensions: &["png", "jpg", "jpeg", "tif", "tiff", "webp", "bmp"],
        cites: Cites::Page,
        // In a folder an image is a scan or a photo of text, worth reading by OCR; attached to a
        // message it is nearly always a logo, a signature's picture or a photo, and reading every
        // one of them would cost each mail seconds for nothing.
        skipped_as_attachment: true,
        fits: picture::is_image,
        shows: Some(picture::is_image),
        without_text: WithoutText::NothingToIndex,
        parse: |input, budget| picture::parse(input.bytes, budget),
    },
];

/// A file's extension, lowercase.
pub(crate) fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

/// Which parser a path gets, by extension. `None` means "look at the content".
pub fn format_for_path(path: &Path) -> Option<Format> {
    let ext = extension(path)?;
    FORMATS.iter().find(|row| row.extensions.contains(&ext.as_str())).map(|row| row.format)
}

/// The format to parse `bytes` as, and a note when the content overrode the file name (a Word
/// document saved as RTF but named `.doc`, a spreadsheet exported as HTML and named `.xls`).
pub(crate) fn detect_format(path: &Path, bytes: &[u8]) -> (Format, Option<String>) {
    let note = |found: Format| extension(path).map(|ext| format!("read as {} although the file is named .{ext}", found.label()));
    match format_for_path(path) {
        Some(named) if (named.row().fits)(bytes) => (named, None),
        // The name lies when the content shows another format; otherwise its parser says what
        // is wrong with the file.
        Some(named) => match sniff(bytes) {
            Some(found) if found != named => (found, note(found)),
            _ => (named, None),
        },
        // An extension brain does not know ("memo.doc" holding RTF): say what it was read as.
        None => match sniff(bytes) {
            Some(found) => (found, note(found)),
            // Anything else unknown is read as text if it is text; `plain` reports binary otherwise.
            None => (Format::Text, None),
        },
    }
}

/// The format the content shows, for the formats with an unmistakable signature.
fn sniff(bytes: &[u8]) -> Option<Format> {
    FORMATS.iter().find(|row| row.shows.is_some_and(|shows| shows(bytes))).map(|row| row.format)
}

/// Word and PowerPoint 97-2003 binaries: formats brain does not read, named for what they are,
/// with what to do about it.
pub(crate) fn legacy_office(path: &Path, bytes: &[u8]) -> Option<ParseError> {
    if !ole(bytes) {
        return None;
    }
    let what = match extension(path).as_deref() {
        Some("doc" | "dot") => "Word 97-2003 document (.doc); save it as .docx to index it",
        Some("ppt" | "pps" | "pot") => "PowerPoint 97-2003 presentation (.ppt); save it as .pptx to index it",
        _ => return None,
    };
    Some(ParseError::Unsupported(what.into()))
}

/// Text, source code and Markdown: decoded, then laid out in sections by `sections` (given the
/// text and the title).
fn plain(input: &Input<'_>, sections: fn(&str, &str) -> Vec<Section>) -> Result<ParsedDocument, ParseError> {
    let unknown_ext = format_for_path(input.path).is_none();
    let decoded = text::decode_text(input.bytes).map_err(|e| match e {
        // An unknown extension with non-text content is a binary file, not bad text.
        ParseError::InvalidText { .. } | ParseError::Binary(_) if unknown_ext => ParseError::Binary(extension(input.path)),
        other => other,
    })?;
    let warnings = decoded.encoding.map(|e| format!("decoded as {e}")).into_iter().collect();
    Ok(ParsedDocument { format: input.format, sections: sections(&decoded.text, input.title), warnings, tables: Vec::new() })
}

/// reStructuredText and Org: text with heading paths and line numbers, like Markdown.
fn marked_up_text(input: &Input<'_>, headings: fn(&str) -> Vec<outline::LineHeading>) -> Result<ParsedDocument, ParseError> {
    let decoded = text::decode_text(input.bytes)?;
    let warnings = decoded.encoding.map(|e| format!("decoded as {e}")).into_iter().collect();
    let sections = outline::line_sections(&decoded.text, &headings(&decoded.text), input.title);
    Ok(ParsedDocument { format: input.format, sections, warnings, tables: Vec::new() })
}

/// A kind of file brain does not read, found by its extension in [`SKIPPED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Picture formats that rarely hold text, or that brain cannot decode for OCR. (PNG, JPEG,
    /// TIFF, WebP and BMP are documents: [`Format::Image`].)
    Picture,
    Audio,
    Video,
    /// Archives are not opened: their files are indexed where they are unpacked.
    Archive,
    Font,
    /// Executables, libraries, object files, bytecode.
    Program,
    Database,
    /// Model weights (brain's own among them).
    Model,
    /// Detached binary signatures (S/MIME, GnuPG).
    Signature,
    /// Lock files, editor swap files, downloads in progress, Finder's folder settings.
    Transient,
    /// A PGP signature (`.asc`), a calendar invitation (`.ics`) or a contact card (`.vcf`):
    /// skipped as an e-mail attachment only. In a message they repeat or sign what its body
    /// says (every invitation carries one); in a folder they are text worth finding, and `.asc`
    /// is as often AsciiDoc.
    MessagePart,
}

impl Skipped {
    /// Skipped by the folder walk too, not only as an e-mail attachment.
    pub fn in_folders(self) -> bool {
        self != Skipped::MessagePart
    }
}

/// Extensions of the files brain does not read, by kind: skipped silently, like ignored files,
/// rather than reported as failures by the hundred in a folder of music.
///
/// One list where there were two that disagreed: the engine's folder walk skipped all of these
/// but `emf`, `wmf`, `p7s`, `sig` and the message parts, and e-mail attachments were skipped for
/// a shorter list (images, some audio and video, a few archives and programs, signatures,
/// invitations). Now both skip every kind but one: Windows metafiles and binary signatures only
/// ever failed as "binary content" in a folder, and an attached font, archive or database was
/// opened only to fail the same way. The differences kept on purpose are
/// [`Skipped::MessagePart`] and images (the `skipped_as_attachment` of [`Format::Image`]'s row).
pub static SKIPPED: &[(Skipped, &[&str])] = &[
    (Skipped::Picture, &["gif", "ico", "icns", "heic", "svgz", "psd", "raw", "cr2", "nef", "emf", "wmf"]),
    (Skipped::Audio, &["mp3", "wav", "flac", "ogg", "m4a", "aac", "wma"]),
    (Skipped::Video, &["mp4", "mkv", "mov", "avi", "wmv", "webm", "m4v"]),
    // `.bin.gz` and the like end in one of these.
    (Skipped::Archive, &["zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "zst", "tar", "iso", "dmg"]),
    (Skipped::Font, &["ttf", "otf", "woff", "woff2", "eot"]),
    (Skipped::Program, &["exe", "dll", "so", "dylib", "o", "a", "lib", "class", "jar", "pyc", "wasm"]),
    (Skipped::Database, &["db", "sqlite", "sqlite3", "lance"]),
    (Skipped::Model, &["onnx", "gguf", "safetensors"]),
    (Skipped::Signature, &["p7s", "sig"]),
    (Skipped::Transient, &["lock", "ds_store", "swp", "tmp", "part", "crdownload"]),
    (Skipped::MessagePart, &["asc", "ics", "vcf"]),
];

/// What kind of file brain skips the extension `ext` (lowercase, without the dot) as, if any.
pub fn skipped(ext: &str) -> Option<Skipped> {
    SKIPPED.iter().find(|(_, extensions)| extensions.contains(&ext)).map(|&(kind, _)| kind)
}

/// Whether a file found in a folder is skipped by its extension: audio, video, archives, fonts,
/// programs, databases, model files, pictures that are not read by OCR (GIF, HEIC, RAW, PSD,
/// icons), ... (see [`SKIPPED`]).
pub fn is_never_a_document(path: &Path) -> bool {
    extension(path).and_then(|ext| skipped(&ext)).is_some_and(Skipped::in_folders)
}

/// Whether an e-mail attachment named `name` is skipped by its extension: everything in
/// [`SKIPPED`], and the formats whose row says so (images). Its MIME type is checked besides, by
/// the caller.
pub(crate) fn is_skipped_as_attachment(name: &str) -> bool {
    // Not `Path::extension`: an attachment named ".png" is still a picture.
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    skipped(&ext).is_some() || FORMATS.iter().any(|row| row.skipped_as_attachment && row.extensions.contains(&ext.as_str()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_row_is_consistent() {
        let mut formats = HashSet::new();
        let mut extensions = HashSet::new();
        for row in FORMATS {
            assert!(formats.insert(row.format), "{:?} has two rows", row.format);
            assert_eq!(row.format.row().stored_name, row.stored_name);
            // The stored name is the serde name: the index and the JSON agree.
            assert_eq!(serde_json::to_string(&row.format).unwrap(), format!("\"{}\"", row.stored_name));
            assert_eq!(serde_json::from_str::<Format>(&format!("\"{}\"", row.stored_name)).unwrap(), row.format);
            assert_eq!(row.stored_name, row.stored_name.to_ascii_lowercase());
            assert!(!row.extensions.is_empty(), "{:?} has no extension", row.format);
            for ext in row.extensions {
                assert_eq!(*ext, ext.to_ascii_lowercase(), "extensions are lowercase");
                assert!(extensions.insert(*ext), ".{ext} is claimed by two formats");
                assert_eq!(skipped(ext), None, ".{ext} is both a format and skipped");
                assert_eq!(format_for_path(Path::new(&format!("a.{}", ext.to_ascii_uppercase()))), Some(row.format));
            }
        }
        for (kind, list) in SKIPPED {
            for ext in *list {
                assert!(extensions.insert(*ext), ".{ext} is listed twice (last as {kind:?})");
            }
        }
    }

    #[test]
    fn files_without_text_are_reported_by_kind() {
        assert_eq!(Format::Csv.row().without_text_error(), ParseError::NoText);
        assert_eq!(Format::Markdown.row().without_text_error(), ParseError::NoText);
        assert_eq!(Format::Pptx.row().without_text_error(), ParseError::NothingToIndex("PPTX"));
        assert_eq!(Format::Html.row().without_text_error(), ParseError::NothingToIndex("HTML"));
    }

    #[test]
    fn content_decides_only_when_the_name_does_not_fit() {
        let rtf = br"{\rtf1 Hello}";
        assert_eq!(detect_format(Path::new("a.rtf"), rtf), (Format::Rtf, None));
        assert_eq!(detect_format(Path::new("a.pdf"), rtf), (Format::Rtf, Some("read as RTF although the file is named .pdf".into())));
        // A PDF header after some junk fits a .pdf, and is not a signature for an unknown name.
        let late_header = b"junk\n%PDF-1.4 rest";
        assert_eq!(detect_format(Path::new("a.pdf"), late_header), (Format::Pdf, None));
        assert_eq!(detect_format(Path::new("a.dat"), late_header), (Format::Text, None));
        // A name whose content fits nothing known keeps its format: its parser says what is wrong.
        assert_eq!(detect_format(Path::new("a.xls"), b"not a workbook"), (Format::Xls, None));
        // OOXML with a password is an OLE file: it fits, so the DOCX parser can say "encrypted".
        assert_eq!(detect_format(Path::new("a.docx"), OLE_MAGIC), (Format::Docx, None));
        // No extension, so no note: there was no name to contradict.
        assert_eq!(detect_format(Path::new("page"), b"<!DOCTYPE html><p>x"), (Format::Html, None));
    }

    #[test]
    fn never_documents_and_skipped_attachments() {
        for skipped in ["song.MP3", "a/b/archive.tar", "backup.bin.gz", "photo.heic", "font.woff2", "weights.gguf", "Cargo.lock", "x.sig"] {
            assert!(is_never_a_document(Path::new(skipped)), "{skipped}");
        }
        // Images are documents in a folder (read by OCR), as are invitations, contact cards and
        // AsciiDoc's .asc, and files without an extension.
        for read in ["scan.png", "photo.JPG", "fax.tiff", "meeting.ics", "card.vcf", "guide.asc", "README", "notes.txt"] {
            assert!(!is_never_a_document(Path::new(read)), "{read}");
        }
        // As e-mail attachments, images, signatures and invitations are skipped too.
        for skipped in [
            "logo.png",
            "image001.JPG",
            "signature.asc",
            "smime.p7s",
            "invite.ics",
            "card.vcf",
            "clip.mp4",
            "fonts.zip",
            ".png",
            ".DS_Store",
        ] {
            assert!(is_skipped_as_attachment(skipped), "{skipped}");
        }
        for read in ["report.pdf", "budget.xlsx", "notes", "forwarded.eml", "data.csv"] {
            assert!(!is_skipped_as_attachment(read), "{read}");
        }
    }

    /// The README's "What gets indexed" table, as (formats, where a citation points) cells.
    fn readme_format_table(readme: &str) -> Vec<(String, String)> {
        let mut lines = readme.lines().skip_while(|l| !l.replace(' ', "").starts_with("|format|whereacitationpoints|")).skip(2);
        let mut rows = Vec::new();
        for line in lines.by_ref().take_while(|l| l.starts_with('|')) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [_, names, cites, ..] = cells[..] {
                rows.push((names.to_string(), cites.to_string()));
            }
        }
        rows
    }

    /// Whether a README cell names the format `label`: its words, in order, case aside, outside
    /// parentheses (remarks, not names); the last may be plural ("image" in "Images: PNG, ...").
    fn names_format(cell: &str, label: &str) -> bool {
        let mut depth = 0usize;
        let outside: String = cell
            .chars()
            .filter(|&c| {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => return depth == 0,
                }
                false
            })
            .collect();
        let words = |s: &str| -> Vec<String> {
            s.split(|c: char| !c.is_alphanumeric() && c != '-').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
        };
        let (cell, label) = (words(&outside), words(label));
        cell.windows(label.len()).any(|run| {
            run.iter()
                .zip(&label)
                .enumerate()
                .all(|(i, (word, name))| word == name || (i == label.len() - 1 && word.strip_suffix('s') == Some(name.as_str())))
        })
    }

    #[test]
    fn the_readme_table_names_every_format_and_where_its_citations_point() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let table = readme_format_table(&readme);
        assert!(
            !table.is_empty(),
            "README.md has lost its table of formats (headed `| format | where a citation points |`, under \"What gets indexed\"): \
             put it back, one row per group of formats"
        );
        for row in FORMATS {
            let Some((_, cites)) = table.iter().find(|(names, _)| names_format(names, row.label)) else {
                panic!(
                    "README.md's table of formats does not name {:?} ({}): add {:?} to the first column of a row (outside \
                     parentheses) whose second column names {}, or change the label in crates/parse/src/formats.rs",
                    row.label,
                    row.stored_name,
                    row.label,
                    describe(row.cites)
                );
            };
            for field in row.cites.fields() {
                assert!(
                    cites.contains(&format!("`{field}`")),
                    "README.md's table of formats says {:?} citations point to {cites:?}, but formats.rs says they set {}: \
                     fix the README row (fields in backticks) or the row's `cites` in crates/parse/src/formats.rs",
                    row.label,
                    describe(row.cites)
                );
            }
        }
        for (names, _) in &table {
            assert!(
                FORMATS.iter().any(|row| names_format(names, row.label)),
                "README.md's table of formats has a row {names:?} that names no format of crates/parse/src/formats.rs \
                 (by its label): remove the row or fix its wording"
            );
        }
    }

    fn describe(cites: Cites) -> String {
        match cites.fields() {
            [] => "no field (the file as a whole)".into(),
            fields => fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(" and "),
        }
    }

    #[test]
    fn readme_names_are_matched_as_words() {
        assert!(names_format("Images: PNG, JPEG (EXIF orientation applied)", "image"));
        assert!(names_format("RTF, plain text (UTF-8), source code", "text"));
        assert!(names_format("E-mail (EML) and Outlook message (MSG)", "Outlook message"));
        assert!(!names_format("Word DOCX, reStructuredText, Org", "text"), "not inside a word");
        assert!(!names_format("PDF (text per page)", "text"), "not in a remark");
        assert!(!names_format("Excel XLSX", "XLS"));
    }
}
