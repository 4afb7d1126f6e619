//! RTF: the plain text of a document, read by a small tokenizer written here.
//!
//! Why not a crate: the one maintained RTF crate (`rtf-parser` 0.4) takes `&str`, so a file with
//! raw 8-bit bytes fails before parsing, it reads `\'hh` as Latin-1 whatever `\ansicpg` or the
//! font's `\fcharset` says (Cyrillic and Greek RTF come out as mojibake), and it unwraps on
//! malformed input. Plain-text extraction needs only a tokenizer and a table of destinations to
//! skip, about as much code as adapting the crate would take.
//!
//! What is read: body text, `\uN` Unicode escapes (with `\ucN` fallback skipping and surrogate
//! pairs), `\'hh` bytes decoded in the current font's charset or the document's code page, table
//! cells as " | ". What is skipped: font, colour and style tables, document info, pictures and
//! embedded objects (never decoded), field instructions, headers and footers, and every `\*`
//! destination the reader does not know.

use std::collections::HashMap;

use encoding_rs::Encoding;

use crate::limits::{Budget, MAX_RTF_DEPTH};
use crate::{Format, Location, ParseError, ParsedDocument, Section};

const FORMAT: &str = Format::Rtf.label();

/// Destinations whose content is not document text.
const SKIPPED_DESTINATIONS: &[&str] = &[
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "objdata",
    "objclass",
    "objname",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "fldinst",
    "filetbl",
    "revtbl",
    "pgdsctbl",
    "header",
    "headerl",
    "headerr",
    "headerf",
    "footer",
    "footerl",
    "footerr",
    "footerf",
    "annotation",
    "atnid",
    "atnauthor",
    "atndate",
    "atnref",
    "bkmkstart",
    "bkmkend",
    "nonshppict",
    "shppict",
    "sp",
    "sn",
    "sv",
    "private",
    "userprops",
    "docvar",
    "template",
    "passwordhash",
    "xe",
    "tc",
    "ftnsep",
    "ftnsepc",
    "aftnsep",
    "aftnsepc",
    "pntxta",
    "pntxtb",
    "wgrffmtfilter",
    "fchars",
    "lchars",
    "blipuid",
    "factoidname",
    "protusertbl",
    "listpicture",
    "mhtmltag",
    "htmltag",
];

#[derive(Clone, Copy, PartialEq)]
enum Destination {
    Text,
    FontTable,
    Skip,
}

#[derive(Clone, Copy)]
struct Group {
    destination: Destination,
    /// Fallback characters after each `\uN` (`\ucN`).
    uc: usize,
    font: Option<i32>,
}

struct Reader {
    out: String,
    /// Undecoded 8-bit bytes of the current run, decoded together (multi-byte code pages).
    pending: Vec<u8>,
    pending_encoding: &'static Encoding,
    /// A `\uN` high surrogate waiting for its low half.
    high_surrogate: Option<u16>,
    /// Fallback characters still to skip after a `\uN`.
    skip_chars: usize,
    document_encoding: &'static Encoding,
    font_charsets: HashMap<i32, i32>,
    font_being_defined: Option<i32>,
}

pub(crate) fn parse(bytes: &[u8], title: &str, budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let (text, warnings) = extract(bytes)?;
    budget.text(text.len())?;
    let section =
        Section { text, location: Location::default(), first_line: None, context: (!title.is_empty()).then(|| title.to_string()) };
    Ok(ParsedDocument { format: Format::Rtf, sections: vec![section], warnings, tables: Vec::new() })
}

/// The plain text of an RTF file, and warnings.
pub(crate) fn extract(bytes: &[u8]) -> Result<(String, Vec<String>), ParseError> {
    if !bytes.starts_with(b"{\\rtf") {
        return Err(ParseError::Invalid { format: FORMAT, reason: "it does not start with {\\rtf".into() });
    }
    let mut r = Reader {
        out: String::new(),
        pending: Vec::new(),
        pending_encoding: encoding_rs::WINDOWS_1252,
        high_surrogate: None,
        skip_chars: 0,
        document_encoding: encoding_rs::WINDOWS_1252,
        font_charsets: HashMap::new(),
        font_being_defined: None,
    };
    let mut stack: Vec<Group> = Vec::new();
    let mut group = Group { destination: Destination::Text, uc: 1, font: None };
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            b'{' => {
                r.flush();
                if stack.len() >= MAX_RTF_DEPTH {
                    return Err(ParseError::TooDeep(format!("the RTF nests groups more than {MAX_RTF_DEPTH} levels deep")));
                }
                stack.push(group);
                r.skip_chars = 0;
            }
            b'}' => {
                r.flush();
                // A stray closing brace (malformed, but seen in the wild) is ignored.
                if let Some(outer) = stack.pop() {
                    group = outer;
                }
                r.skip_chars = 0;
                if stack.is_empty() {
                    // The document's closing brace: what follows is not RTF.
                    break;
                }
            }
            b'\r' | b'\n' => {}
            b'\\' => {
                let Some(&c) = bytes.get(i) else { break };
                if c.is_ascii_alphabetic() {
                    let start = i;
                    while i < bytes.len() && bytes[i].is_ascii_alphabetic() && i - start < 32 {
                        i += 1;
                    }
                    let word = std::str::from_utf8(&bytes[start..i]).unwrap_or_default();
                    let param_start = i;
                    if bytes.get(i) == Some(&b'-') {
                        i += 1;
                    }
                    while i < bytes.len() && bytes[i].is_ascii_digit() && i - param_start < 11 {
                        i += 1;
                    }
                    let param = std::str::from_utf8(&bytes[param_start..i]).ok().and_then(|p| p.parse::<i64>().ok());
                    if bytes.get(i) == Some(&b' ') {
                        i += 1;
                    }
                    if word == "bin" {
                        // Raw binary data: skipped unread, however long it says it is.
                        let n = usize::try_from(param.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
                        i = i.saturating_add(n).min(bytes.len());
                        continue;
                    }
                    r.control_word(word, param, &mut group);
                } else {
                    i += 1;
                    match c {
                        b'\'' => {
                            let byte =
                                bytes.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
                            if byte.is_some() {
                                i += 2;
                            }
                            if r.skip_one() {
                                continue;
                            }
                            if let Some(byte) = byte
                                && group.destination == Destination::Text
                            {
                                let encoding = r.encoding_for(group.font);
                                r.push_byte(byte, encoding);
                            }
                        }
                        b'*' => group.destination = Destination::Skip,
                        _ => {
                            if r.skip_one() {
                                continue;
                            }
                            if group.destination == Destination::Text {
                                match c {
                                    b'~' => r.push_str(" "),
                                    b'_' => r.push_str("-"),
                                    b'{' | b'}' | b'\\' => r.push_str(if c == b'{' {
                                        "{"
                                    } else if c == b'}' {
                                        "}"
                                    } else {
                                        "\\"
                                    }),
                                    b'\n' | b'\r' => r.push_str("\n"),
                                    _ => {} // \- optional hyphen, \| \: index marks
                                }
                            }
                        }
                    }
                }
            }
            _ => {
                if r.skip_one() {
                    continue;
                }
                if group.destination != Destination::Text {
                    continue;
                }
                if b < 0x80 {
                    r.push_str(std::str::from_utf8(&[b]).unwrap_or_default());
                } else {
                    let encoding = r.encoding_for(group.font);
                    r.push_byte(b, encoding);
                }
            }
        }
    }
    r.flush();
    if !stack.is_empty() {
        warnings.push("the RTF ends before all its groups close, so it may be cut off".into());
    }
    Ok((crate::text::tidy_layout(&r.out), warnings))
}

impl Reader {
    fn control_word(&mut self, word: &str, param: Option<i64>, group: &mut Group) {
        if group.destination == Destination::FontTable {
            match word {
                "f" => self.font_being_defined = param.and_then(|p| i32::try_from(p).ok()),
                "fcharset" => {
                    if let (Some(font), Some(charset)) = (self.font_being_defined, param) {
                        self.font_charsets.insert(font, i32::try_from(charset).unwrap_or(0));
                    }
                }
                _ => {}
            }
            return;
        }
        if word == "fonttbl" {
            group.destination = Destination::FontTable;
            return;
        }
        if SKIPPED_DESTINATIONS.contains(&word) {
            group.destination = Destination::Skip;
            return;
        }
        match word {
            "ansicpg" => {
                if let Some(encoding) = param.and_then(|p| u16::try_from(p).ok()).and_then(codepage::to_encoding) {
                    self.document_encoding = encoding;
                }
            }
            "mac" => self.document_encoding = encoding_rs::MACINTOSH,
            "uc" => group.uc = usize::try_from(param.unwrap_or(1).clamp(0, 8)).unwrap_or(1),
            "f" => group.font = param.and_then(|p| i32::try_from(p).ok()),
            _ => {}
        }
        if group.destination != Destination::Text {
            return;
        }
        match word {
            "u" => {
                let Some(n) = param else { return };
                self.flush();
                // \u takes a signed 16-bit number: negative values are code units above 32767.
                let unit = (n.rem_euclid(65_536)) as u16;
                self.push_utf16(unit);
                self.skip_chars = group.uc;
            }
            "par" | "line" | "sect" | "page" | "row" | "softline" => self.push_str("\n"),
            "tab" | "emspace" | "enspace" | "qmspace" => self.push_str(" "),
            "cell" | "nestcell" => self.push_str(" | "),
            "emdash" => self.push_str("—"),
            "endash" => self.push_str("–"),
            "bullet" => self.push_str("•"),
            "lquote" => self.push_str("‘"),
            "rquote" => self.push_str("’"),
            "ldblquote" => self.push_str("“"),
            "rdblquote" => self.push_str("”"),
            _ => {}
        }
    }

    /// Consume one fallback character after `\uN`, if any are due.
    fn skip_one(&mut self) -> bool {
        if self.skip_chars > 0 {
            self.skip_chars -= 1;
            true
        } else {
            false
        }
    }

    fn encoding_for(&self, font: Option<i32>) -> &'static Encoding {
        font.and_then(|f| self.font_charsets.get(&f)).and_then(|&charset| charset_encoding(charset)).unwrap_or(self.document_encoding)
    }

    fn push_byte(&mut self, byte: u8, encoding: &'static Encoding) {
        if encoding != self.pending_encoding {
            self.flush();
            self.pending_encoding = encoding;
        }
        self.pending.push(byte);
    }

    fn push_utf16(&mut self, unit: u16) {
        match (self.high_surrogate.take(), unit) {
            (None, 0xD800..=0xDBFF) => self.high_surrogate = Some(unit),
            (Some(high), 0xDC00..=0xDFFF) => {
                let c = char::decode_utf16([high, unit]).next().and_then(Result::ok).unwrap_or('\u{FFFD}');
                self.out.push(c);
            }
            (_, unit) => self.out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{FFFD}')),
        }
    }

    fn push_str(&mut self, s: &str) {
        self.flush();
        self.high_surrogate = None;
        self.out.push_str(s);
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let (text, _, _) = self.pending_encoding.decode(&self.pending);
            self.out.push_str(&text);
            self.pending.clear();
        }
    }
}

/// A font's `\fcharset` as an encoding; `None` for "use the document's code page".
fn charset_encoding(charset: i32) -> Option<&'static Encoding> {
    let code_page: u16 = match charset {
        77 => 10000,
        128 => 932,
        129 => 949,
        134 => 936,
        136 => 950,
        161 => 1253,
        162 => 1254,
        163 => 1258,
        177 => 1255,
        178 => 1256,
        186 => 1257,
        204 => 1251,
        222 => 874,
        238 => 1250,
        _ => return None,
    };
    codepage::to_encoding(code_page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rtf: &[u8]) -> String {
        extract(rtf).unwrap().0
    }

    #[test]
    fn skips_tables_and_reads_body() {
        let rtf = br"{\rtf1\ansi\deff0{\fonttbl{\f0 Times New Roman;}}{\colortbl;\red0\green0\blue0;}{\info{\title Secret title}}\pard Hello, {\b world}!\par Second line.\par}";
        assert_eq!(text(rtf), "Hello, world!\nSecond line.");
    }

    #[test]
    fn unicode_escapes_with_fallbacks_and_surrogates() {
        assert_eq!(text(br"{\rtf1 Gr\u252?\u223?e}"), "Grüße");
        assert_eq!(text(br"{\rtf1 Gr\'fc\'dfe}"), "Grüße");
        assert_eq!(text(br"{\rtf1\uc2 caf\u233\'65\'65!}"), "café!");
        assert_eq!(text(br"{\rtf1 \u-10179?\u-8704?}"), "😀");
    }

    #[test]
    fn hex_bytes_follow_code_page_and_font_charset() {
        assert_eq!(text(br"{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2}"), "Привет");
        let rtf = br"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0\fnil\fcharset0 Arial;}{\f1\fnil\fcharset161 Greek;}}\f0 caf\'e9 \f1\'e1\'e2\'e3}";
        assert_eq!(text(rtf), "café αβγ");
        assert_eq!(text(br"{\rtf1\ansi\ansicpg932 \'93\'fa\'96\'7b}"), "日本");
    }

    #[test]
    fn pictures_fields_and_unknown_destinations_are_skipped() {
        let rtf = br"{\rtf1 A{\*\shppict{\pict\pngblip 89504e47}}B{\field{\*\fldinst HYPERLINK x}{\fldrslt link}}C{\*\unknown junk}\bin4 \x00\x01\x02\x03D}";
        assert_eq!(text(rtf), "ABlinkCD");
    }

    #[test]
    fn table_cells() {
        assert_eq!(text(br"{\rtf1 \trowd a\cell b\cell\row c\cell d\cell\row}"), "a | b |\nc | d |");
    }

    #[test]
    fn not_rtf_and_too_deep() {
        assert_eq!(extract(b"hello").unwrap_err().to_string(), "not a valid RTF: it does not start with {\\rtf");
        let mut deep = b"{\\rtf1 ".to_vec();
        deep.extend(std::iter::repeat_n(b'{', 100_000));
        let err = extract(&deep).unwrap_err();
        assert_eq!(err.to_string(), "nested too deeply: the RTF nests groups more than 512 levels deep");
    }

    #[test]
    fn cut_off_rtf_keeps_text_and_warns() {
        let (text, warnings) = extract(br"{\rtf1 Partial {\b text").unwrap();
        assert_eq!(text, "Partial text");
        assert_eq!(warnings.len(), 1);
    }
}
