//! PPTX: the text of each slide and its speaker notes, cited by slide number.
//!
//! Slides are numbered in the order the presentation lists them (`p:sldIdLst` in
//! presentation.xml, resolved through its relationships), which is the order the audience sees;
//! the zip's order and the part names (slide7.xml) say nothing about it once slides are moved.

use std::collections::HashMap;

use crate::limits::Budget;
use crate::xml::{Node, Walker};
use crate::{Format, Location, ParseError, ParsedDocument, Section, ooxml};

const FORMAT: &str = Format::Pptx.label();

/// Placeholders whose text is furniture, not content: slide numbers, dates, footers, and on a
/// notes page the picture of the slide.
const FURNITURE: &[&str] = &["sldNum", "dt", "ftr", "hdr", "sldImg"];

pub(crate) fn parse(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let mut package = ooxml::open(bytes, FORMAT)?;
    let main = ooxml::main_part(&mut package, budget, "ppt/presentation.xml")?;
    let presentation = package.require_text(&main, budget)?;
    // Keyed by id: a hostile file can list a million slides against a million relationships.
    let slide_rels: HashMap<String, String> =
        ooxml::relationships(&mut package, &main, budget)?.into_iter().filter(|r| r.kind == "slide").map(|r| (r.id, r.target)).collect();
    let mut warnings = Vec::new();
    let mut slide_parts: Vec<Option<String>> = slide_order(&presentation)?.iter().map(|id| slide_rels.get(id).cloned()).collect();
    if slide_parts.is_empty() {
        // No slide list: fall back to the part names' numbers, which is right for most files.
        let mut named: Vec<(u32, String)> = package
            .names()
            .iter()
            .filter_map(|n| {
                let number = n.strip_prefix("ppt/slides/slide")?.strip_suffix(".xml")?.parse().ok()?;
                Some((number, n.clone()))
            })
            .collect();
        named.sort();
        if !named.is_empty() {
            warnings.push("the presentation has no slide list; slides numbered by their part names".into());
        }
        slide_parts = named.into_iter().map(|(_, n)| Some(n)).collect();
    }

    let mut sections = Vec::new();
    let mut first_failure = None;
    for (i, part) in slide_parts.iter().enumerate() {
        let number = i as u32 + 1;
        let Some(part) = part else {
            warnings.push(format!("slide {number} is listed but missing from the file"));
            continue;
        };
        match slide_section(&mut package, part, number, budget) {
            Ok(Some(section)) => sections.push(section),
            Ok(None) => {}
            // A bomb or a budget overrun is about the whole file, not this slide.
            Err(e @ (ParseError::ZipBomb(_) | ParseError::TooMuchText { .. })) => return Err(e),
            Err(e) => {
                warnings.push(format!("slide {number} unreadable: {e}"));
                first_failure.get_or_insert(e);
            }
        }
    }
    if sections.is_empty()
        && let Some(e) = first_failure
    {
        return Err(e);
    }
    Ok(ParsedDocument { format: Format::Pptx, sections, warnings, tables: Vec::new() })
}

fn slide_section(
    package: &mut crate::zipped::Package,
    part: &str,
    number: u32,
    budget: &mut Budget,
) -> Result<Option<Section>, ParseError> {
    let Some(xml) = package.read_text(part, budget)? else {
        return Err(ParseError::Invalid { format: FORMAT, reason: format!("missing {part}") });
    };
    let slide = slide_text(&xml, part)?;
    // Without a title placeholder, the first line is what the slide is called in practice.
    let title = slide.title.or_else(|| {
        let first = slide.body.lines().map(str::trim).find(|l| !l.is_empty())?;
        Some(crate::outline::tidy_title(first))
    });
    let mut text = slide.body;
    let notes_part = ooxml::relationships(package, part, budget)?.into_iter().find(|r| r.kind == "notesSlide");
    if let Some(notes_part) = notes_part
        && let Some(notes_xml) = package.read_text(&notes_part.target, budget)?
    {
        let notes = slide_text(&notes_xml, &notes_part.target)?.body;
        if notes.chars().any(char::is_alphanumeric) {
            text.push_str(if text.is_empty() { "Notes:\n" } else { "\n\nNotes:\n" });
            text.push_str(&notes);
        }
    }
    if !text.chars().any(char::is_alphanumeric) {
        return Ok(None);
    }
    budget.text(text.len())?;
    Ok(Some(Section { text, location: Location { slide: Some(number), ..Default::default() }, first_line: None, context: title }))
}

/// The relationship ids of the slides, in presentation order.
pub(crate) fn slide_order(presentation_xml: &str) -> Result<Vec<String>, ParseError> {
    let mut walker = Walker::new(presentation_xml, FORMAT, "ppt/presentation.xml");
    let mut ids = Vec::new();
    while let Some(node) = walker.next()? {
        if let Node::Open(tag) = node
            && tag.name() == "sldId"
            && let Some(id) = tag.prefixed_attr("id")
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[derive(Debug, Default, PartialEq)]
pub(crate) struct SlideText {
    /// The title placeholder's text.
    pub(crate) title: Option<String>,
    /// Every shape's text, shapes separated by blank lines, in drawing order.
    pub(crate) body: String,
}

enum Frame {
    Shape { placeholder: Option<String>, lines: Vec<String> },
    Paragraph(String),
    Table { rows: Vec<String>, cells: Vec<String>, cell: String },
}

/// The text of a slide or notes page.
pub(crate) fn slide_text(xml: &str, part: &str) -> Result<SlideText, ParseError> {
    let mut walker = Walker::new(xml, FORMAT, part);
    let mut open: Vec<Frame> = Vec::new();
    let mut out = SlideText::default();
    while let Some(node) = walker.next()? {
        match node {
            Node::Open(tag) => match tag.name() {
                "sp" | "graphicFrame" | "cxnSp" => open.push(Frame::Shape { placeholder: None, lines: Vec::new() }),
                "ph" => {
                    if let Some(Frame::Shape { placeholder, .. }) = open.iter_mut().rev().find(|f| matches!(f, Frame::Shape { .. })) {
                        *placeholder = Some(tag.attr("type").unwrap_or_else(|| "body".into()));
                    }
                }
                "p" if walker.parent() == Some("txBody") => open.push(Frame::Paragraph(String::new())),
                "tbl" => open.push(Frame::Table { rows: Vec::new(), cells: Vec::new(), cell: String::new() }),
                "br" if walker.parent() == Some("p") => {
                    if let Some(Frame::Paragraph(p)) = open.last_mut() {
                        p.push('\n');
                    }
                }
                "Fallback" => walker.skip()?,
                _ => {}
            },
            Node::Text(text) if walker.stack().last().is_some_and(|n| n == "t") => {
                if let Some(Frame::Paragraph(p)) = open.last_mut() {
                    p.push_str(&text);
                }
            }
            Node::Close(name) => match name.as_str() {
                "p" => {
                    if !matches!(open.last(), Some(Frame::Paragraph(_))) {
                        continue;
                    }
                    let Some(Frame::Paragraph(p)) = open.pop() else { continue };
                    let p = p.trim();
                    if p.is_empty() {
                        continue;
                    }
                    match open.last_mut() {
                        Some(Frame::Table { cell, .. }) => {
                            if !cell.is_empty() {
                                cell.push(' ');
                            }
                            cell.push_str(p);
                        }
                        Some(Frame::Shape { lines, .. }) => lines.push(p.to_string()),
                        // Text outside any shape (malformed but harmless): keep it.
                        _ => push_block(&mut out.body, p),
                    }
                }
                "tc" => {
                    if let Some(Frame::Table { cells, cell, .. }) = open.last_mut() {
                        cells.push(std::mem::take(cell).replace('\n', " "));
                    }
                }
                "tr" => {
                    if let Some(Frame::Table { rows, cells, .. }) = open.last_mut() {
                        let row = std::mem::take(cells);
                        if row.iter().any(|c| !c.is_empty()) {
                            rows.push(row.join(" | "));
                        }
                    }
                }
                "tbl" => {
                    if !matches!(open.last(), Some(Frame::Table { .. })) {
                        continue;
                    }
                    if let Some(Frame::Table { rows, .. }) = open.pop()
                        && !rows.is_empty()
                    {
                        if let Some(Frame::Shape { lines, .. }) = open.last_mut() {
                            lines.push(rows.join("\n"));
                        } else {
                            push_block(&mut out.body, &rows.join("\n"));
                        }
                    }
                }
                "sp" | "graphicFrame" | "cxnSp" => {
                    if !matches!(open.last(), Some(Frame::Shape { .. })) {
                        continue;
                    }
                    let Some(Frame::Shape { placeholder, lines }) = open.pop() else { continue };
                    if lines.is_empty() || placeholder.as_deref().is_some_and(|p| FURNITURE.contains(&p)) {
                        continue;
                    }
                    let text = lines.join("\n");
                    if matches!(placeholder.as_deref(), Some("title" | "ctrTitle")) && out.title.is_none() {
                        out.title = Some(crate::outline::tidy_title(&text));
                    }
                    push_block(&mut out.body, &text);
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(out)
}

fn push_block(body: &mut String, text: &str) {
    if !body.is_empty() {
        body.push_str("\n\n");
    }
    body.push_str(text);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::zipped::tests::zip_of;

    const NS: &str = r#"xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

    fn shape(placeholder: Option<&str>, text: &str) -> String {
        let ph = placeholder.map(|p| format!(r#"<p:ph type="{p}"/>"#)).unwrap_or_default();
        format!(
            r#"<p:sp><p:nvSpPr><p:cNvPr id="2" name="x"/><p:cNvSpPr/><p:nvPr>{ph}</p:nvPr></p:nvSpPr><p:txBody><a:bodyPr/><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp>"#
        )
    }

    fn slide(shapes: &str) -> String {
        format!(r#"<?xml version="1.0"?><p:sld {NS}><p:cSld><p:spTree>{shapes}</p:spTree></p:cSld></p:sld>"#)
    }

    /// A PPTX whose slide list shows slide2.xml first, then slide1.xml (with notes).
    pub(crate) fn pptx_reordered() -> Vec<u8> {
        let presentation = format!(
            r#"<p:presentation {NS}><p:sldIdLst><p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>"#
        );
        let rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide1.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide2.xml"/></Relationships>"#;
        let slide1 =
            slide(&(shape(Some("title"), "Quarterly results") + &shape(None, "Revenue grew 12 percent") + &shape(Some("sldNum"), "2")));
        let slide2 = slide(&shape(Some("ctrTitle"), "Welcome deck"));
        let slide1_rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide" Target="../notesSlides/notesSlide1.xml"/></Relationships>"#;
        let notes = format!(
            r#"<p:notes {NS}><p:cSld><p:spTree>{}{}</p:spTree></p:cSld></p:notes>"#,
            shape(Some("sldImg"), ""),
            shape(Some("body"), "Mention the Berlin office")
        );
        zip_of(&[
            ("ppt/slides/slide1.xml", slide1.as_bytes()),
            ("ppt/slides/slide2.xml", slide2.as_bytes()),
            ("ppt/presentation.xml", presentation.as_bytes()),
            ("ppt/_rels/presentation.xml.rels", rels.as_bytes()),
            ("ppt/slides/_rels/slide1.xml.rels", slide1_rels.as_bytes()),
            ("ppt/notesSlides/notesSlide1.xml", notes.as_bytes()),
        ])
    }

    #[test]
    fn slides_in_presentation_order_with_notes() {
        let doc = parse(&pptx_reordered(), &mut Budget::new()).unwrap();
        let got: Vec<_> = doc.sections.iter().map(|s| (s.location.slide, s.context.clone(), s.text.clone())).collect();
        assert_eq!(
            got,
            [
                (Some(1), Some("Welcome deck".to_string()), "Welcome deck".to_string()),
                (
                    Some(2),
                    Some("Quarterly results".to_string()),
                    "Quarterly results\n\nRevenue grew 12 percent\n\nNotes:\nMention the Berlin office".to_string()
                ),
            ]
        );
    }

    #[test]
    fn tables_become_rows() {
        let table = r#"<p:graphicFrame><a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Region</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>Sales</a:t></a:r></a:p></a:txBody></a:tc></a:tr><a:tr><a:tc><a:txBody><a:p><a:r><a:t>North</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>7</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></a:graphicData></a:graphic></p:graphicFrame>"#;
        let got = slide_text(&slide(table), "s").unwrap();
        assert_eq!(got.body, "Region | Sales\nNorth | 7");
    }

    #[test]
    fn missing_presentation_part_is_named() {
        let bytes = zip_of(&[("ppt/slides/slide1.xml", slide(&shape(None, "x")).as_bytes())]);
        let err = parse(&bytes, &mut Budget::new()).unwrap_err();
        assert_eq!(err.to_string(), "not a valid PPTX: missing ppt/presentation.xml");
    }
}
