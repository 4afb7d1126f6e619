//! Sheets as tables: the rows of a spreadsheet or CSV under their header, kept whole, so that a
//! question over a sheet (a count, a sum, the five largest) can be answered by a query over every
//! row instead of by the few passages retrieval returns.
//!
//! Key design decision: the header is found, not assumed to be the first row. Sheets people keep
//! open with a title and a unit line ("Stanley Cups", "In millions of CHF") above the header; the
//! header is the first row at least half as full as the fullest of the sheet's first rows, and the
//! rows above it are the table's caption.

use serde::{Deserialize, Serialize};

/// One sheet as a table, or a table of a PDF page whose structure is sure.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    /// The sheet's name (a CSV's file name without its extension); "page N" for a PDF's table.
    pub sheet: String,
    /// The page a PDF's table stands on (`None` for a sheet's).
    #[serde(default)]
    pub page: Option<u32>,
    /// The rows above the header, each as one line: a title, the units.
    pub caption: Vec<String>,
    /// The header's row number in the sheet (1-based).
    pub header_row: u32,
    /// The header's cells, one per column (empty where the header cell is).
    pub columns: Vec<String>,
    /// The rows under the header that hold anything.
    pub rows: Vec<TableRow>,
}

/// A row of a sheet: its number and its cells (as many as the sheet's row has, trailing empty
/// cells dropped).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableRow {
    pub row: u32,
    pub cells: Vec<String>,
}

/// Rows the header is looked for in.
const HEADER_SEARCH_ROWS: usize = 20;

/// Cells of a row that hold something.
fn filled(row: &TableRow) -> usize {
    row.cells.iter().filter(|c| !c.trim().is_empty()).count()
}

/// A row as one caption line: its cells that hold something.
fn caption_line(row: &TableRow) -> String {
    row.cells.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(" ")
}

impl Table {
    /// The tables of a sheet's non-empty rows, in order: one, or one per repeated header; none
    /// for a sheet without rows.
    pub(crate) fn from_rows(sheet: &str, mut rows: Vec<TableRow>) -> Vec<Table> {
        let Some(fullest) = rows.iter().take(HEADER_SEARCH_ROWS).map(filled).max() else { return Vec::new() };
        let Some(header_at) = rows.iter().position(|r| filled(r) * 2 >= fullest) else { return Vec::new() };
        let rest = rows.split_off(header_at);
        let mut rest = rest.into_iter();
        let Some(header) = rest.next() else { return Vec::new() };
        let caption = rows.iter().map(caption_line).collect();
        let first = Table {
            sheet: sheet.to_string(),
            page: None,
            caption,
            header_row: header.row,
            columns: header.cells.clone(),
            rows: Vec::new(),
        };
        let mut tables = vec![first];
        for row in rest {
            let Some(table) = tables.last_mut() else { break };
            if row.cells == header.cells {
                // The sparse rows just above the repeated header are the new table's caption.
                let keep = table.rows.iter().rposition(|r| filled(r) * 2 >= fullest).map_or(0, |i| i + 1);
                let caption = table.rows.split_off(keep).iter().map(caption_line).collect();
                tables.push(Table {
                    sheet: sheet.to_string(),
                    page: None,
                    caption,
                    header_row: row.row,
                    columns: row.cells,
                    rows: Vec::new(),
                });
            } else {
                table.rows.push(row);
            }
        }
        tables
    }

    /// The first and last row numbers of the table, its header included.
    pub fn row_span(&self) -> [u32; 2] {
        [self.header_row, self.rows.last().map_or(self.header_row, |r| r.row)]
    }

    /// Columns: the most cells any row (the header included) has.
    pub fn width(&self) -> usize {
        self.rows.iter().map(|r| r.cells.len()).chain(std::iter::once(self.columns.len())).max().unwrap_or(0)
    }
}

/// Collects a sheet's rows as the parser reads them.
#[derive(Debug, Default)]
pub(crate) struct SheetRows {
    rows: Vec<TableRow>,
}

/// A row's cells as they are shown and kept: trailing empty cells dropped, a cell's own line
/// breaks and runs of spaces made one space. Empty for a row with nothing in it.
pub(crate) fn cleaned(cells: &[String]) -> Vec<String> {
    let used = cells.iter().rposition(|c| !c.trim().is_empty()).map_or(0, |i| i + 1);
    cells[..used].iter().map(|c| c.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

impl SheetRows {
    /// Add row `row`, its cells [`cleaned`] already; a row with nothing in it is left out.
    pub(crate) fn push(&mut self, row: u32, cells: Vec<String>) {
        if !cells.is_empty() {
            self.rows.push(TableRow { row, cells });
        }
    }

    pub(crate) fn into_tables(self, sheet: &str) -> Vec<Table> {
        Table::from_rows(sheet, self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lines: &[&[&str]]) -> Vec<TableRow> {
        lines
            .iter()
            .enumerate()
            .map(|(i, cells)| TableRow { row: i as u32 + 1, cells: cells.iter().map(|c| c.to_string()).collect() })
            .collect()
    }

    #[test]
    fn the_header_is_the_first_row_half_as_full_as_the_fullest_and_a_title_above_it_is_the_caption() {
        let table = Table::from_rows(
            "Cups",
            rows(&[&["Stanley Cups"], &["In units"], &["Team", "Location", "Cups"], &["Blues", "STL", "1"], &["Flyers", "PHI", "2"]]),
        )
        .remove(0);
        assert_eq!(table.caption, vec!["Stanley Cups", "In units"]);
        assert_eq!((table.header_row, table.columns.clone()), (3, vec!["Team".to_string(), "Location".into(), "Cups".into()]));
        assert_eq!(table.rows.iter().map(|r| r.row).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(table.width(), 3);

        let plain = Table::from_rows("s", rows(&[&["Name", "Age"], &["Ann", "41"]])).remove(0);
        assert!(plain.caption.is_empty());
        assert_eq!((plain.header_row, plain.row_span()), (1, [1, 2]));
        assert!(Table::from_rows("empty", Vec::new()).is_empty());
    }

    #[test]
    fn a_repeated_header_starts_another_table_captioned_by_the_rows_above_it() {
        let tables = Table::from_rows(
            "Segments",
            rows(&[
                &["In millions of CHF", "", "January–June 2023"],
                &["", "Sales", "Profit", "Trading profit", "Depreciation"],
                &["Zone NA", "12553", "2713", "2632", "-337"],
                &["Total", "46293", "7904", "7351", "-1722"],
                &["In millions of CHF", "", "January–June 2022"],
                &["", "Sales", "Profit", "Trading profit", "Depreciation"],
                &["Zone NA", "12138", "2284", "1829", "-348"],
                &["(a) Inter-segment sales are not significant."],
            ]),
        );
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].caption, vec!["In millions of CHF January–June 2023"]);
        assert_eq!(tables[0].rows.iter().map(|r| r.cells[0].as_str()).collect::<Vec<_>>(), vec!["Zone NA", "Total"]);
        assert_eq!(tables[1].caption, vec!["In millions of CHF January–June 2022"]);
        assert_eq!((tables[1].header_row, tables[1].row_span()), (6, [6, 8]));
        assert_eq!(tables[1].rows[0].cells, vec!["Zone NA", "12138", "2284", "1829", "-348"]);
    }

    #[test]
    fn rows_keep_their_numbers_and_lose_trailing_empty_cells() {
        let mut sheet = SheetRows::default();
        sheet.push(1, cleaned(&["a".into(), "b".into(), "".into()]));
        sheet.push(2, cleaned(&["".into(), " ".into()]));
        sheet.push(7, cleaned(&["c  d".into(), "".into(), "e".into()]));
        let table = sheet.into_tables("s").remove(0);
        assert_eq!(table.columns, vec!["a", "b"]);
        assert_eq!(table.rows, vec![TableRow { row: 7, cells: vec!["c d".into(), "".into(), "e".into()] }]);
        assert_eq!(table.width(), 3);
    }
}
