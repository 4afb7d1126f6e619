//! DOCX: paragraphs in order, headings (by style or outline level) as a heading path, tables as
//! rows of " | "-separated cells, and the page headers and footers.
//!
//! DOCX has no reliable page numbers (pages exist only once Word lays the text out), so the
//! citation is the heading path, like Markdown's.

use std::collections::HashMap;

use crate::limits::Budget;
use crate::outline::Outline;
use crate::xml::{Node, Walker};
use crate::{Format, Location, ParseError, ParsedDocument, Section, ooxml};

const FORMAT: &str = Format::Docx.label();

pub(crate) fn parse(bytes: &[u8], title: &str, budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let mut package = ooxml::open(bytes, FORMAT)?;
    let main = ooxml::main_part(&mut package, budget, "word/document.xml")?;
    let document = package.require_text(&main, budget)?;
    let rels = ooxml::relationships(&mut package, &main, budget)?;
    let styles_part = rels.iter().find(|r| r.kind == "styles").map_or("word/styles.xml", |r| r.target.as_str());
    let styles = match package.read_text(styles_part, budget)? {
        Some(xml) => Styles::parse(&xml)?,
        None => Styles::default(),
    };

    let mut outline = Outline::new(title);
    blocks(&document, &styles, &main, &mut |block| match block.heading_level {
        Some(level) => outline.heading(level, &block.text, budget),
        None => outline.block(&block.text, budget),
    })?;
    let mut sections = outline.finish();

    // Headers and footers: the same text usually repeats for first, odd and even pages.
    let mut warnings = Vec::new();
    for (kind, label) in [("header", "Page header"), ("footer", "Page footer")] {
        let mut seen: Vec<String> = Vec::new();
        for rel in rels.iter().filter(|r| r.kind == kind) {
            let Some(xml) = package.read_text(&rel.target, budget)? else { continue };
            let mut lines = Vec::new();
            let walked = blocks(&xml, &styles, &rel.target, &mut |block| {
                lines.push(block.text);
                Ok(())
            });
            if let Err(e) = walked {
                warnings.push(format!("{} skipped: {e}", rel.target));
                continue;
            }
            let text = lines.join("\n");
            if text.chars().any(char::is_alphanumeric) && !seen.contains(&text) {
                budget.text(text.len())?;
                seen.push(text);
            }
        }
        if !seen.is_empty() {
            sections.push(Section {
                text: seen.join("\n\n"),
                location: Location { heading: Some(label.into()), ..Default::default() },
                first_line: None,
                context: Some(label.into()),
            });
        }
    }
    Ok(ParsedDocument { format: Format::Docx, sections, warnings, tables: Vec::new() })
}

/// A paragraph or a table of the body, in document order.
#[derive(Debug, PartialEq)]
pub(crate) struct Block {
    /// `Some(level)` for a heading (0 = Title style, 1 = Heading 1, ...).
    pub(crate) heading_level: Option<u8>,
    pub(crate) text: String,
}

/// Paragraph styles: which are headings, at which level.
#[derive(Debug, Default)]
pub(crate) struct Styles {
    by_id: HashMap<String, StyleDef>,
}

#[derive(Debug, Default)]
struct StyleDef {
    name: String,
    based_on: Option<String>,
    outline_level: Option<u8>,
}

impl Styles {
    pub(crate) fn parse(xml: &str) -> Result<Styles, ParseError> {
        let mut walker = Walker::new(xml, FORMAT, "word/styles.xml");
        let mut by_id = HashMap::new();
        let mut current: Option<(String, StyleDef)> = None;
        while let Some(node) = walker.next()? {
            match node {
                Node::Open(tag) => match tag.name() {
                    "style" => {
                        let paragraph = tag.attr("type").is_none_or(|t| t == "paragraph");
                        current = tag.attr("styleId").filter(|_| paragraph).map(|id| (id, StyleDef::default()));
                    }
                    "name" if walker.parent() == Some("style") => {
                        if let Some((_, def)) = current.as_mut() {
                            def.name = tag.attr("val").unwrap_or_default();
                        }
                    }
                    "basedOn" => {
                        if let Some((_, def)) = current.as_mut() {
                            def.based_on = tag.attr("val");
                        }
                    }
                    "outlineLvl" => {
                        if let Some((_, def)) = current.as_mut() {
                            def.outline_level = tag.attr("val").and_then(|v| v.parse().ok());
                        }
                    }
                    _ => {}
                },
                Node::Close(name) if name == "style" => {
                    if let Some((id, def)) = current.take() {
                        by_id.insert(id, def);
                    }
                }
                _ => {}
            }
        }
        Ok(Styles { by_id })
    }

    /// The heading level of a paragraph style, following `basedOn` (a few hops at most: custom
    /// heading styles are usually based on a built-in one).
    fn heading_level(&self, style_id: &str) -> Option<u8> {
        let mut id = style_id;
        for _ in 0..10 {
            let Some(def) = self.by_id.get(id) else {
                return level_from_name(id);
            };
            if let Some(level) = level_from_name(&def.name) {
                return Some(level);
            }
            if let Some(level) = def.outline_level {
                return (level < 9).then_some(level + 1);
            }
            id = def.based_on.as_deref()?;
        }
        None
    }
}

/// "heading 2" / "Heading2" -> 2, "Title" -> 0. Built-in style names are English in the XML
/// whatever the user interface language, so this also works for a German "Überschrift 2".
fn level_from_name(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase().replace(' ', "");
    if lower == "title" {
        return Some(0);
    }
    let n: u8 = lower.strip_prefix("heading")?.parse().ok()?;
    (1..=9).contains(&n).then_some(n)
}

/// What encloses the current position: text goes to the innermost paragraph, paragraphs in a
/// table go to its current cell.
enum Container {
    Paragraph { text: String, style: Option<String>, outline_level: Option<u8> },
    Table { rows: Vec<String>, cells: Vec<String>, cell: String },
}

/// Walk a body (document, header or footer) and hand each top-level paragraph and table to `emit`.
pub(crate) fn blocks(
    xml: &str,
    styles: &Styles,
    part: &str,
    emit: &mut dyn FnMut(Block) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut walker = Walker::new(xml, FORMAT, part);
    let mut open: Vec<Container> = Vec::new();
    while let Some(node) = walker.next()? {
        match node {
            Node::Open(tag) => match tag.name() {
                "p" => open.push(Container::Paragraph { text: String::new(), style: None, outline_level: None }),
                "tbl" => open.push(Container::Table { rows: Vec::new(), cells: Vec::new(), cell: String::new() }),
                "tc" => {
                    if let Some(Container::Table { cell, .. }) = open.last_mut() {
                        cell.clear();
                    }
                }
                "pStyle" | "outlineLvl" if walker.parent() == Some("pPr") => {
                    if let Some(Container::Paragraph { style, outline_level, .. }) = open.last_mut() {
                        if tag.name() == "pStyle" {
                            *style = tag.attr("val");
                        } else {
                            *outline_level = tag.attr("val").and_then(|v| v.parse().ok());
                        }
                    }
                }
                // Run content: a tab stop definition is also called "tab", but lives in pPr.
                "tab" | "ptab" if walker.parent() == Some("r") => push_text(&mut open, " "),
                "br" | "cr" if walker.parent() == Some("r") => push_text(&mut open, "\n"),
                "noBreakHyphen" => push_text(&mut open, "-"),
                // The same drawing again, for older readers: reading both would double it.
                "Fallback" => walker.skip()?,
                _ => {}
            },
            // Only w:t (and m:t in equations) hold document text; w:delText and w:instrText
            // (deleted text, field codes) are ignored by not being named here.
            Node::Text(text) if walker.stack().last().is_some_and(|n| n == "t") => push_text(&mut open, &text),
            Node::Close(name) => match name.as_str() {
                "p" => {
                    let Some(Container::Paragraph { text, style, outline_level }) = open.pop() else {
                        continue;
                    };
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    match open.last_mut() {
                        Some(Container::Table { cell, .. }) => append_spaced(cell, text),
                        // A text box inside a paragraph: its own block, before the paragraph's.
                        Some(Container::Paragraph { .. }) | None => {
                            let level = outline_level
                                .filter(|l| *l < 9)
                                .map(|l| l + 1)
                                .or_else(|| style.as_deref().and_then(|s| styles.heading_level(s)));
                            // Headings are single lines; a heading inside a text box is just text.
                            let heading_level = level.filter(|_| open.is_empty());
                            emit(Block { heading_level, text: text.to_string() })?;
                        }
                    }
                }
                "tc" => {
                    if let Some(Container::Table { cells, cell, .. }) = open.last_mut() {
                        cells.push(std::mem::take(cell).replace('\n', " "));
                    }
                }
                "tr" => {
                    if let Some(Container::Table { rows, cells, .. }) = open.last_mut() {
                        let row = std::mem::take(cells);
                        if row.iter().any(|c| !c.is_empty()) {
                            rows.push(row.join(" | "));
                        }
                    }
                }
                "tbl" => {
                    let Some(Container::Table { rows, .. }) = open.pop() else { continue };
                    if rows.is_empty() {
                        continue;
                    }
                    match open.last_mut() {
                        // A table nested in a cell becomes part of that cell.
                        Some(Container::Table { cell, .. }) => append_spaced(cell, &rows.join("; ")),
                        _ => emit(Block { heading_level: None, text: rows.join("\n") })?,
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(())
}

fn push_text(open: &mut [Container], text: &str) {
    match open.last_mut() {
        Some(Container::Paragraph { text: p, .. }) => p.push_str(text),
        Some(Container::Table { cell, .. }) => cell.push_str(text),
        None => {}
    }
}

fn append_spaced(target: &mut String, text: &str) {
    if !target.is_empty() {
        target.push(' ');
    }
    target.push_str(text);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::zipped::tests::zip_of;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    pub(crate) fn paragraph(style: Option<&str>, text: &str) -> String {
        let ppr = style.map(|s| format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#)).unwrap_or_default();
        format!(r#"<w:p>{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#)
    }

    /// A DOCX with `body` as the document body, the standard styles and a header.
    pub(crate) fn docx_with_body(body: &str) -> Vec<u8> {
        let document = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>{body}<w:sectPr><w:headerReference w:type="default" r:id="rId9"/></w:sectPr></w:body></w:document>"#
        );
        let styles = format!(
            r#"<w:styles {W}><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style><w:style w:type="paragraph" w:styleId="MyChapter"><w:name w:val="My Chapter"/><w:basedOn w:val="Heading1"/></w:style></w:styles>"#
        );
        let header = format!(r#"<w:hdr {W}>{}</w:hdr>"#, paragraph(None, "ACME Confidential"));
        let rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/></Relationships>"#;
        let root_rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
        zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", root_rels.as_bytes()),
            ("word/document.xml", document.as_bytes()),
            ("word/styles.xml", styles.as_bytes()),
            ("word/header1.xml", header.as_bytes()),
            ("word/_rels/document.xml.rels", rels.as_bytes()),
        ])
    }

    #[test]
    fn headings_tables_and_headers() {
        let body = [
            paragraph(None, "Preface text."),
            paragraph(Some("Heading1"), "Policies"),
            paragraph(Some("Heading2"), "Expenses"),
            paragraph(None, "Receipts are required above 25 euros."),
            r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Item</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Limit</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>Taxi</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>40</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#.to_string(),
            paragraph(Some("MyChapter"), "Travel"),
            paragraph(None, "Book early."),
        ]
        .concat();
        let doc = parse(&docx_with_body(&body), "handbook", &mut Budget::new()).unwrap();
        let s = &doc.sections;
        assert_eq!(s[0].text, "Preface text.");
        assert_eq!(s[0].context.as_deref(), Some("handbook"));
        assert_eq!(s[1].location.heading.as_deref(), Some("Policies > Expenses"));
        assert_eq!(s[1].text, "Expenses\n\nReceipts are required above 25 euros.\n\nItem | Limit\nTaxi | 40");
        assert_eq!(s[2].location.heading.as_deref(), Some("Travel"), "basedOn Heading1");
        assert_eq!(s[3].location.heading.as_deref(), Some("Page header"));
        assert_eq!(s[3].text, "ACME Confidential");
    }

    #[test]
    fn deleted_text_and_field_codes_are_not_text() {
        let xml = format!(
            r#"<w:document {W}><w:body><w:p><w:r><w:instrText>PAGE</w:instrText></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del><w:r><w:t>kept</w:t><w:tab/><w:t>x</w:t></w:r></w:p></w:body></w:document>"#
        );
        let mut got = Vec::new();
        blocks(&xml, &Styles::default(), "word/document.xml", &mut |b| {
            got.push(b.text);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, ["kept x"]);
    }

    #[test]
    fn missing_document_part_is_named() {
        let bytes = zip_of(&[("[Content_Types].xml", b"<Types/>")]);
        let err = parse(&bytes, "t", &mut Budget::new()).unwrap_err();
        assert_eq!(err.to_string(), "not a valid DOCX: missing word/document.xml");
    }

    #[test]
    fn heading_names() {
        assert_eq!(level_from_name("heading 3"), Some(3));
        assert_eq!(level_from_name("Heading1"), Some(1));
        assert_eq!(level_from_name("Title"), Some(0));
        assert_eq!(level_from_name("Normal"), None);
        assert_eq!(level_from_name("heading 300"), None);
    }
}
