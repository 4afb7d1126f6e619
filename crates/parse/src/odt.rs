//! ODT (OpenDocument text): paragraphs, lists and tables in order, `text:h` headings (with their
//! outline level) as a heading path. Like DOCX, no page numbers exist until the text is laid out.

use crate::limits::Budget;
use crate::outline::Outline;
use crate::xml::{Node, Walker};
use crate::{Format, ParseError, ParsedDocument, Section, odf};

const FORMAT: &str = Format::Odt.label();

pub(crate) fn parse(bytes: &[u8], title: &str, budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let mut package = odf::open(bytes, FORMAT, budget)?;
    let content = package.require_text("content.xml", budget)?;
    let sections = sections_of_content(&content, title, budget)?;
    Ok(ParsedDocument { format: Format::Odt, sections, warnings: Vec::new(), tables: Vec::new() })
}

enum Container {
    Paragraph { text: String, heading_level: Option<u8> },
    Table { rows: Vec<String>, cells: Vec<String>, cell: String },
}

/// Sections of an ODT's content.xml.
pub(crate) fn sections_of_content(xml: &str, title: &str, budget: &mut Budget) -> Result<Vec<Section>, ParseError> {
    let mut walker = Walker::new(xml, FORMAT, "content.xml");
    let mut outline = Outline::new(title);
    let mut open: Vec<Container> = Vec::new();
    while let Some(node) = walker.next()? {
        match node {
            Node::Open(tag) => {
                let name = tag.name();
                if odf::is_not_running_text(name) {
                    walker.skip()?;
                    continue;
                }
                match name {
                    "p" | "h" => {
                        let heading_level =
                            (name == "h").then(|| tag.attr("outline-level").and_then(|l| l.parse::<u8>().ok()).unwrap_or(1).clamp(1, 10));
                        open.push(Container::Paragraph { text: String::new(), heading_level });
                    }
                    "table" => open.push(Container::Table { rows: Vec::new(), cells: Vec::new(), cell: String::new() }),
                    "table-cell" | "covered-table-cell" => {
                        if let Some(Container::Table { cell, .. }) = open.last_mut() {
                            cell.clear();
                        }
                    }
                    _ => {
                        if let Some(text) = odf::inline_element_text(&tag)
                            && let Some(Container::Paragraph { text: p, .. }) = open.last_mut()
                        {
                            p.push_str(&text);
                        }
                    }
                }
            }
            Node::Text(text) => {
                if let Some(Container::Paragraph { text: p, .. }) = open.last_mut() {
                    p.push_str(&text);
                }
            }
            Node::Close(name) => match name.as_str() {
                "p" | "h" => {
                    let Some(Container::Paragraph { text, heading_level }) = open.pop() else { continue };
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    match open.last_mut() {
                        Some(Container::Table { cell, .. }) => {
                            if !cell.is_empty() {
                                cell.push(' ');
                            }
                            cell.push_str(text);
                        }
                        Some(Container::Paragraph { .. }) => outline.block(text, budget)?,
                        None => match heading_level {
                            Some(level) => outline.heading(level, text, budget)?,
                            None => outline.block(text, budget)?,
                        },
                    }
                }
                "table-cell" | "covered-table-cell" => {
                    if let Some(Container::Table { cells, cell, .. }) = open.last_mut() {
                        cells.push(std::mem::take(cell).replace('\n', " "));
                    }
                }
                "table-row" => {
                    if let Some(Container::Table { rows, cells, .. }) = open.last_mut() {
                        let row = std::mem::take(cells);
                        let used = row.iter().rposition(|c| !c.is_empty()).map_or(0, |i| i + 1);
                        if used > 0 {
                            rows.push(row[..used].join(" | "));
                        }
                    }
                }
                "table" => {
                    let Some(Container::Table { rows, .. }) = open.pop() else { continue };
                    if rows.is_empty() {
                        continue;
                    }
                    match open.last_mut() {
                        Some(Container::Table { cell, .. }) => {
                            if !cell.is_empty() {
                                cell.push(' ');
                            }
                            cell.push_str(&rows.join("; "));
                        }
                        _ => outline.block(&rows.join("\n"), budget)?,
                    }
                }
                _ => {}
            },
        }
    }
    Ok(outline.finish())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::zipped::tests::zip_of;

    pub(crate) fn odt_with_body(body: &str, manifest_extra: &str) -> Vec<u8> {
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:text>{body}</office:text></office:body></office:document-content>"#
        );
        let manifest = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">{manifest_extra}</manifest:file-entry></manifest:manifest>"#
        );
        zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content.as_bytes()),
            ("META-INF/manifest.xml", manifest.as_bytes()),
        ])
    }

    #[test]
    fn headings_lists_tables_and_spaces() {
        let body = r#"<text:p>Opening words.</text:p><text:h text:outline-level="1">Security</text:h><text:h text:outline-level="2">Passwords</text:h><text:list><text:list-item><text:p>Use<text:s text:c="2"/>a manager<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>Such as KeePass.</text:p></text:note-body></text:note>.</text:p></text:list-item></text:list><table:table><table:table-row><table:table-cell><text:p>Length</text:p></table:table-cell><table:table-cell><text:p>12</text:p></table:table-cell></table:table-row></table:table><text:tracked-changes><text:changed-region><text:p>deleted words</text:p></text:changed-region></text:tracked-changes>"#;
        let s = sections_of_content(&format!("<r xmlns:text='t' xmlns:table='tb'>{body}</r>"), "policy", &mut Budget::new()).unwrap();
        assert_eq!(s[0].context.as_deref(), Some("policy"));
        assert_eq!(s[1].location.heading.as_deref(), Some("Security > Passwords"));
        assert_eq!(s[1].text, "Passwords\n\nSuch as KeePass.\n\nUse  a manager.\n\nLength | 12");
        assert!(!s.iter().any(|s| s.text.contains("deleted")));
    }

    #[test]
    fn encrypted_odt_is_reported() {
        let bytes = odt_with_body("<text:p>x</text:p>", r#"<manifest:encryption-data manifest:checksum-type="SHA1/1K"/>"#);
        assert_eq!(parse(&bytes, "t", &mut Budget::new()).unwrap_err().to_string(), "encrypted ODT: it needs a password to open");
    }

    #[test]
    fn missing_content_is_named() {
        let bytes = zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.text")]);
        assert_eq!(parse(&bytes, "t", &mut Budget::new()).unwrap_err().to_string(), "not a valid ODT: missing content.xml");
    }
}
