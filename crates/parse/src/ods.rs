//! ODS (OpenDocument spreadsheet), read as a stream with our XML walker rather than calamine.
//!
//! Why not calamine here: ODS compresses repetition into attributes
//! (`table:number-rows-repeated="1048576"`, `table:number-columns-repeated="16384"`), and
//! calamine expands them into a dense in-memory range of up to 100 million cells (gigabytes) from
//! a few hundred bytes of XML. Streaming keeps memory to one row: a repeated row is emitted once
//! and cited with the whole row range it covers, and repeated cells are capped.

use crate::limits::Budget;
use crate::spreadsheet::{SheetSections, place_cell};
use crate::tables::Table;
use crate::xml::{Node, Walker};
use crate::{Format, ParseError, ParsedDocument, Section, odf};

const FORMAT: &str = Format::Ods.label();
/// Copies of one repeated non-empty cell written into a row.
const MAX_CELL_REPEATS: usize = 32;

pub(crate) fn parse(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let mut package = odf::open(bytes, FORMAT, budget)?;
    let content = package.require_text("content.xml", budget)?;
    let (sections, tables) = sheets_of_content(&content, budget)?;
    Ok(ParsedDocument { format: Format::Ods, sections, warnings: Vec::new(), tables })
}

/// Sections of an ODS content.xml, sheet by sheet, and the sheets as tables.
pub(crate) fn sheets_of_content(xml: &str, budget: &mut Budget) -> Result<(Vec<Section>, Vec<Table>), ParseError> {
    let mut walker = Walker::new(xml, FORMAT, "content.xml");
    let mut sections = Vec::new();
    let mut tables = Vec::new();
    let mut sheet: Option<(String, Vec<BufferedRow>)> = None;
    // Rows of the current sheet are buffered as (first, last, cells) only until the sheet ends;
    // SheetSections borrows `sections`, so it is created per sheet at that point.
    let mut next_row: u64 = 1;
    let mut row: Vec<String> = Vec::new();
    let mut row_repeat: u64 = 1;
    let mut col: usize = 0;
    let mut cell: Option<(String, usize, Option<String>)> = None;
    while let Some(node) = walker.next()? {
        match node {
            Node::Open(tag) => match tag.name() {
                "table" if sheet.is_none() => {
                    let name = tag.attr("name").unwrap_or_else(|| format!("Sheet{}", sections.len() + 1));
                    sheet = Some((name, Vec::new()));
                    next_row = 1;
                }
                "table-row" => {
                    row.clear();
                    col = 0;
                    row_repeat = repeat(&tag, "number-rows-repeated");
                }
                "table-cell" | "covered-table-cell" => {
                    // The typed value, for cells whose display text is missing.
                    let value = ["value", "date-value", "time-value", "boolean-value", "string-value"].iter().find_map(|a| tag.attr(a));
                    cell = Some((String::new(), repeat(&tag, "number-columns-repeated") as usize, value));
                }
                "p" => {
                    if let Some((text, _, _)) = cell.as_mut()
                        && !text.is_empty()
                    {
                        text.push('\n');
                    }
                }
                name if odf::is_not_running_text(name) => walker.skip()?,
                _ => {
                    if let Some(text) = odf::inline_element_text(&tag)
                        && let Some((cell_text, _, _)) = cell.as_mut()
                    {
                        cell_text.push_str(&text);
                    }
                }
            },
            Node::Text(text) => {
                if let Some((cell_text, _, _)) = cell.as_mut()
                    && odf::in_paragraph(&walker)
                {
                    cell_text.push_str(&text);
                }
            }
            Node::Close(name) => match name.as_str() {
                "table-cell" | "covered-table-cell" => {
                    let Some((text, repeats, value)) = cell.take() else { continue };
                    let text = if text.trim().is_empty() { value.unwrap_or_default() } else { text };
                    if !text.trim().is_empty() {
                        for k in 0..repeats.min(MAX_CELL_REPEATS) {
                            place_cell(&mut row, col.saturating_add(k), text.clone());
                        }
                    }
                    col = col.saturating_add(repeats);
                }
                "table-row" => {
                    if let Some((_, rows)) = sheet.as_mut()
                        && row.iter().any(|c| !c.trim().is_empty())
                    {
                        let first = clamp_row(next_row);
                        let last = clamp_row(next_row.saturating_add(row_repeat - 1));
                        budget.text(row.iter().map(|c| c.len() + 3).sum())?;
                        rows.push((first, last, std::mem::take(&mut row)));
                    }
                    next_row = next_row.saturating_add(row_repeat);
                }
                "table" => {
                    if walker.inside("table") {
                        continue; // a sub-table inside a cell
                    }
                    if let Some((name, rows)) = sheet.take() {
                        let mut sheet_sections = SheetSections::new(&name, &mut sections);
                        // The text was counted as rows were read; don't count it twice.
                        let mut uncounted = Budget::new();
                        uncounted.keep_tables = budget.keep_tables;
                        for (first, last, cells) in rows {
                            sheet_sections.row(first, last, &cells, &mut uncounted)?;
                        }
                        tables.extend(sheet_sections.finish());
                    }
                }
                _ => {}
            },
        }
    }
    Ok((sections, tables))
}

/// A row with content: first and last row number (a repeated row covers several), its cells.
type BufferedRow = (u32, u32, Vec<String>);

fn repeat(tag: &crate::xml::Tag, attr: &str) -> u64 {
    tag.attr(attr).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(1).max(1)
}

fn clamp_row(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zipped::tests::zip_of;

    const NS: &str = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0""#;

    fn cell(text: &str) -> String {
        format!("<table:table-cell><text:p>{text}</text:p></table:table-cell>")
    }

    pub(crate) fn ods_bytes(table: &str, manifest_extra: &str) -> Vec<u8> {
        let content = format!(
            r#"<?xml version="1.0"?><office:document-content {NS}><office:body><office:spreadsheet>{table}</office:spreadsheet></office:body></office:document-content>"#
        );
        let manifest = format!(
            r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml">{manifest_extra}</manifest:file-entry></manifest:manifest>"#
        );
        zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            ("content.xml", content.as_bytes()),
            ("META-INF/manifest.xml", manifest.as_bytes()),
        ])
    }

    #[test]
    fn rows_repeats_and_header_context() {
        let table = format!(
            r#"<table:table table:name="Budget"><table:table-row>{}{}</table:table-row><table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="2"/></table:table-row><table:table-row>{}<table:table-cell office:value-type="float" office:value="1200"/></table:table-row><table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="16384"/></table:table-row></table:table>"#,
            cell("Item"),
            cell("Cost"),
            cell("Printer toner")
        );
        let doc = parse(&ods_bytes(&table, ""), &mut Budget::keeping_tables()).unwrap();
        assert_eq!(doc.sections.len(), 1);
        let s = &doc.sections[0];
        assert_eq!(s.location.sheet.as_deref(), Some("Budget"));
        assert_eq!(s.location.rows, Some([1, 5]));
        assert_eq!(s.text, "Item | Cost\nPrinter toner | 1200");
        assert_eq!(s.context.as_deref(), Some("Budget: Item | Cost"));
        // The sheet as a table: the header, and the one row under it with its number.
        let table = &doc.tables[0];
        assert_eq!((table.sheet.as_str(), table.columns.clone()), ("Budget", vec!["Item".to_string(), "Cost".into()]));
        assert_eq!(
            table.rows.iter().map(|r| (r.row, r.cells.clone())).collect::<Vec<_>>(),
            vec![(5, vec!["Printer toner".to_string(), "1200".into()])]
        );
    }

    #[test]
    fn repeated_content_rows_are_emitted_once_with_their_range() {
        let table = r#"<table:table table:name="S"><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell></table:table-row></table:table>"#;
        let doc = parse(&ods_bytes(table, ""), &mut Budget::new()).unwrap();
        assert_eq!(doc.sections[0].location.rows, Some([1, 1_000_000]));
        assert!(doc.sections[0].text.len() < 200);
    }

    #[test]
    fn encrypted_ods_is_reported() {
        let bytes = ods_bytes("", "<manifest:encryption-data/>");
        assert_eq!(parse(&bytes, &mut Budget::new()).unwrap_err(), ParseError::Encrypted("ODS"));
    }
}
