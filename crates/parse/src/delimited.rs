//! CSV and TSV: one "sheet" named after the file, rows grouped and cited like a spreadsheet's.
//! The encoding is detected as for plain text; the delimiter (comma, semicolon, tab or pipe) is
//! the one that splits the first records into the same number of fields most consistently.

use std::path::Path;

use crate::limits::{Budget, MAX_ROW_CELLS};
use crate::spreadsheet::SheetSections;
use crate::{Format, ParseError, ParsedDocument, text};

const CANDIDATES: &[u8] = b",;\t|";

pub(crate) fn parse(path: &Path, bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let decoded = text::decode_text(bytes)?;
    let mut warnings: Vec<String> = decoded.encoding.map(|e| format!("decoded as {e}")).into_iter().collect();
    let is_tsv = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("tsv") || e.eq_ignore_ascii_case("tab"));
    let delimiter = if is_tsv { b'\t' } else { detect_delimiter(&decoded.text) };
    let sheet_name = path.file_stem().and_then(|s| s.to_str()).filter(|s| !s.is_empty()).unwrap_or("Sheet1");

    let mut sections = Vec::new();
    let mut sheet = SheetSections::new(sheet_name, &mut sections);
    let mut reader = reader(&decoded.text, delimiter);
    for (i, record) in reader.records().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        match record {
            Ok(record) => {
                let cells: Vec<String> = record.iter().take(MAX_ROW_CELLS).map(str::to_string).collect();
                sheet.row(row, row, &cells, budget)?;
            }
            Err(e) => {
                warnings.push(format!("row {row} unreadable ({e}); the rows after it were not read"));
                break;
            }
        }
    }
    let tables = sheet.finish();
    Ok(ParsedDocument { format: Format::Csv, sections, warnings, tables })
}

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes())
}

/// The candidate delimiter that gives the first records the same field count (above one) most
/// often; comma when none splits anything.
pub(crate) fn detect_delimiter(text: &str) -> u8 {
    let sample = match text.char_indices().nth(64 * 1024) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let mut best = (0usize, 0usize, b',');
    for &candidate in CANDIDATES {
        let counts: Vec<usize> = reader(sample, candidate).records().take(30).flatten().map(|r| r.len()).collect();
        let Some(mode) = most_common(&counts) else { continue };
        if mode < 2 {
            continue;
        }
        let agreeing = counts.iter().filter(|&&c| c == mode).count();
        if (agreeing, mode) > (best.0, best.1) {
            best = (agreeing, mode, candidate);
        }
    }
    best.2
}

fn most_common(counts: &[usize]) -> Option<usize> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    sorted.chunk_by(|a, b| a == b).max_by_key(|run| run.len()).map(|run| run[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter("a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(detect_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(detect_delimiter("just one column\nanother\n"), b',');
    }

    #[test]
    fn rows_and_header_context() {
        let mut csv = String::from("Name;Team;Phone\n");
        for i in 2..=50 {
            csv.push_str(&format!("Person {i};Ops;\"+49 30 {i}\"\n"));
        }
        let doc = parse(Path::new("/x/phone-list.csv"), csv.as_bytes(), &mut Budget::keeping_tables()).unwrap();
        assert_eq!(doc.sections[1].location.sheet.as_deref(), Some("phone-list"));
        assert_eq!(doc.sections[1].location.rows, Some([41, 50]));
        assert_eq!(doc.sections[1].context.as_deref(), Some("phone-list: Name | Team | Phone"));
        assert!(doc.sections[1].text.starts_with("Person 41 | Ops | +49 30 41"));
        let table = &doc.tables[0];
        assert_eq!((table.sheet.as_str(), table.columns.len(), table.rows.len()), ("phone-list", 3, 49));
        assert_eq!(table.rows.last().map(|r| (r.row, r.cells[2].as_str())), Some((50, "+49 30 50")));
    }

    #[test]
    fn binary_csv_is_an_error() {
        assert_eq!(parse(Path::new("a.csv"), b"a,b\0\0\0", &mut Budget::new()).unwrap_err(), ParseError::Binary(None));
    }
}
