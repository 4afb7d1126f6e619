//! A small streaming walker over quick-xml shared by the OOXML, ODF and EPUB readers.
//!
//! Why a wrapper: every format needs the same four things quick-xml leaves to the caller: local
//! names without namespace prefixes, entity references folded into text, a stack of open
//! elements (to know "am I inside a table cell?"), and hostile-input rules: a depth cap, and a
//! clear error for XML that is malformed or cut off. Nothing here builds a tree, so memory is the
//! text the caller keeps plus the stack.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::ParseError;
use crate::limits::MAX_XML_DEPTH;

/// Bytes of an XML part as text: BOM-aware (UTF-8, UTF-16), honouring a declared legacy encoding,
/// and lossy rather than failing, since one bad byte should not cost a whole document.
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        return Cow::Owned(encoding.decode_without_bom_handling(&bytes[bom_len..]).0.into_owned());
    }
    if let Some(encoding) = declared_encoding(bytes)
        && encoding != encoding_rs::UTF_8
    {
        return Cow::Owned(encoding.decode_without_bom_handling(bytes).0.into_owned());
    }
    String::from_utf8_lossy(bytes)
}

/// The `encoding="..."` of an `<?xml ...?>` declaration.
fn declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(200)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let decl_end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..decl_end]).ok()?;
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    // The value must be quoted; anything else (fuzzing found a multi-byte character here) is no
    // declaration brain trusts.
    let quote = after.chars().next().filter(|q| matches!(q, '"' | '\''))?;
    let label = after[quote.len_utf8()..].split(quote).next()?;
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes())?;
    // A UTF-16 label on bytes without a BOM that decoded as ASCII so far is a lie; keep UTF-8.
    (encoding != encoding_rs::UTF_16LE && encoding != encoding_rs::UTF_16BE).then_some(encoding)
}

/// One step through a document.
pub(crate) enum Node<'a> {
    /// An element opens. A self-closing element is reported as `Open` then `Close`.
    Open(Tag<'a>),
    /// An element closes; the local name.
    Close(String),
    /// Character data, entities resolved.
    Text(Cow<'a, str>),
}

/// An element's start tag.
pub(crate) struct Tag<'a>(BytesStart<'a>);

impl Tag<'_> {
    /// The local name: "p" for `<w:p>`.
    pub(crate) fn name(&self) -> &str {
        local(self.0.name().0)
    }

    /// An attribute by local name, whatever its prefix: `attr("val")` finds `w:val`.
    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        self.find_attr(|key| local(key) == name)
    }

    /// An attribute with this local name that has a namespace prefix: `r:id` rather than `id`.
    pub(crate) fn prefixed_attr(&self, name: &str) -> Option<String> {
        self.find_attr(|key| key.contains(':') && local(key) == name)
    }

    fn find_attr(&self, wanted: impl Fn(&str) -> bool) -> Option<String> {
        self.0
            .attributes()
            .with_checks(false)
            .flatten()
            .find(|a| wanted(a.key.0))
            .map(|a| a.normalized_value(XmlVersion::Implicit1_0).map(Cow::into_owned).unwrap_or_else(|_| a.value.into_owned()))
    }
}

fn local(qualified: &str) -> &str {
    qualified.rsplit(':').next().unwrap_or(qualified)
}

pub(crate) struct Walker<'a> {
    reader: Reader<&'a [u8]>,
    /// Local names of the open elements, outermost first.
    stack: Vec<String>,
    /// A self-closing element was just reported as open; its close comes next.
    close_pending: bool,
    format: &'static str,
    part: String,
}

impl<'a> Walker<'a> {
    /// Walk `xml`, the part named `part` of a `format` file (both for error messages).
    pub(crate) fn new(xml: &'a str, format: &'static str, part: &str) -> Self {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        Walker { reader, stack: Vec::new(), close_pending: false, format, part: part.to_string() }
    }

    /// Local names of the elements enclosing the current position, outermost first.
    pub(crate) fn stack(&self) -> &[String] {
        &self.stack
    }

    /// Whether an element with this local name is open.
    pub(crate) fn inside(&self, name: &str) -> bool {
        self.stack.iter().any(|n| n == name)
    }

    /// The local name of the parent of the element just opened (or of the current text).
    pub(crate) fn parent(&self) -> Option<&str> {
        let n = self.stack.len();
        if n >= 2 { Some(&self.stack[n - 2]) } else { None }
    }

    /// The next node, `None` at the end of a complete document.
    pub(crate) fn next(&mut self) -> Result<Option<Node<'a>>, ParseError> {
        if self.close_pending {
            self.close_pending = false;
            return Ok(self.stack.pop().map(Node::Close));
        }
        loop {
            let event = self.reader.read_event().map_err(|e| self.malformed(&e.to_string()))?;
            return Ok(Some(match event {
                Event::Start(start) => {
                    self.push(&start)?;
                    Node::Open(Tag(start))
                }
                Event::Empty(start) => {
                    self.push(&start)?;
                    self.close_pending = true;
                    Node::Open(Tag(start))
                }
                Event::End(_) => match self.stack.pop() {
                    Some(name) => Node::Close(name),
                    None => return Err(self.malformed("a closing tag without an opening one")),
                },
                Event::Text(text) => Node::Text(text.xml10_content()),
                Event::CData(data) => Node::Text(data.into_inner()),
                Event::GeneralRef(reference) => match resolve_reference(&reference) {
                    Some(text) => Node::Text(Cow::Owned(text)),
                    None => continue,
                },
                Event::Eof => {
                    if let Some(open) = self.stack.last() {
                        return Err(ParseError::Invalid {
                            format: self.format,
                            reason: format!("{} is cut off (the XML ends inside <{open}>)", self.part),
                        });
                    }
                    return Ok(None);
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
            }));
        }
    }

    /// Skip the rest of the element just reported as open, children included.
    pub(crate) fn skip(&mut self) -> Result<(), ParseError> {
        let depth = self.stack.len();
        while self.stack.len() >= depth {
            if self.next()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// All text inside the element just reported as open, which is consumed.
    pub(crate) fn text_of_current(&mut self) -> Result<String, ParseError> {
        let depth = self.stack.len();
        let mut out = String::new();
        while self.stack.len() >= depth {
            match self.next()? {
                Some(Node::Text(t)) => out.push_str(&t),
                Some(_) => {}
                None => break,
            }
        }
        Ok(out)
    }

    fn push(&mut self, start: &BytesStart) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_XML_DEPTH {
            return Err(ParseError::TooDeep(format!(
                "{} in this {} nests XML elements more than {MAX_XML_DEPTH} levels deep",
                self.part, self.format
            )));
        }
        self.stack.push(local(start.name().0).to_string());
        Ok(())
    }

    fn malformed(&self, detail: &str) -> ParseError {
        ParseError::Invalid { format: self.format, reason: format!("{} is not well-formed XML ({detail})", self.part) }
    }
}

/// `&amp;`, `&#233;`, ...; other named entities (which only a DTD could define) are dropped, so a
/// "billion laughs" DTD expands to nothing.
fn resolve_reference(reference: &quick_xml::events::BytesRef) -> Option<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c.to_string());
    }
    quick_xml::escape::resolve_predefined_entity(reference).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(xml: &str) -> Result<Vec<String>, ParseError> {
        let mut w = Walker::new(xml, "DOCX", "word/document.xml");
        let mut out = Vec::new();
        while let Some(node) = w.next()? {
            out.push(match node {
                Node::Open(t) => format!("<{}{}>", t.name(), t.attr("val").map(|v| format!(" {v}")).unwrap_or_default()),
                Node::Close(n) => format!("</{n}>"),
                Node::Text(t) => t.into_owned(),
            });
        }
        Ok(out)
    }

    #[test]
    fn local_names_entities_and_self_closing() {
        let got = walk(r#"<?xml version="1.0"?><w:p><w:pStyle w:val="Heading1"/>A &amp; B&#233;</w:p>"#).unwrap();
        assert_eq!(got, ["<p>", "<pStyle Heading1>", "</pStyle>", "A ", "&", " B", "é", "</p>"]);
    }

    #[test]
    fn malformed_and_cut_off_xml_say_so() {
        let err = walk("<a><b></a>").unwrap_err();
        assert!(err.to_string().starts_with("not a valid DOCX: word/document.xml is not well-formed XML"), "{err}");
        let err = walk("<a><b>text").unwrap_err();
        assert_eq!(err.to_string(), "not a valid DOCX: word/document.xml is cut off (the XML ends inside <b>)");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let xml = "<a>".repeat(MAX_XML_DEPTH + 1);
        let err = walk(&xml).unwrap_err();
        assert!(matches!(err, ParseError::TooDeep(_)), "{err:?}");
        assert!(err.to_string().contains("more than 512 levels deep"), "{err}");
    }

    #[test]
    fn dtd_entities_are_not_expanded() {
        let xml = r#"<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;&b;</x>"#;
        assert_eq!(walk(xml).unwrap(), ["<x>", "</x>"]);
    }

    #[test]
    fn skip_and_text_of_current() {
        let mut w = Walker::new("<r><skip><x>no</x></skip><t>yes <i>it</i></t></r>", "ODT", "content.xml");
        let mut seen = Vec::new();
        while let Some(node) = w.next().unwrap() {
            if let Node::Open(t) = node {
                match t.name() {
                    "skip" => w.skip().unwrap(),
                    "t" => seen.push(w.text_of_current().unwrap()),
                    _ => {}
                }
            }
        }
        assert_eq!(seen, ["yes it"]);
    }

    #[test]
    fn odd_declarations_are_ignored_not_fatal() {
        // Found by the docx_xml fuzz target: a non-ASCII byte where the quote should be.
        let crash =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fuzz-regressions/docx_xml-declaration-quote")).unwrap();
        let _ = decode(&crash);
        assert_eq!(declared_encoding("<?xml version=\"1.0\" encoding=é?>".as_bytes()), None);
        assert_eq!(declared_encoding(b"<?xml version='1.0' encoding='iso-8859-1'?>"), Some(encoding_rs::WINDOWS_1252));
    }

    #[test]
    fn declared_legacy_encoding_is_honoured() {
        let mut bytes = br#"<?xml version="1.0" encoding="windows-1252"?><a>caf"#.to_vec();
        bytes.extend_from_slice(&[0xE9]);
        bytes.extend_from_slice(b"</a>");
        assert!(decode(&bytes).contains("café"));
    }
}
