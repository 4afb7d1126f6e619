//! Spreadsheets: XLSX and XLS through calamine, and the layout every sheet format shares (ODS and
//! CSV use it too): sections of up to [`ROWS_PER_SECTION`] rows, cited by sheet and row range, each
//! carrying the sheet's header row as context so a chunk of row 900 still says what its columns are.
//!
//! calamine is handed only files that passed our own checks, because some of its allocations
//! follow what the file declares: XLSX archives are inflated once through the zip caps and the
//! shared-string count is checked against the strings really there; XLS sheets are measured from
//! their cell records first, since calamine allocates every sheet as a dense rectangle.

use std::io::{Cursor, Read};

use calamine::{Data, DataRef, Reader, Xls, XlsError, Xlsx, XlsxError};

use crate::limits::{Budget, MAX_ENTRY_BYTES, MAX_ROW_CELLS};
use crate::tables::{SheetRows, Table, cleaned};
use crate::zipped::invalid;
use crate::{Format, Location, ParseError, ParsedDocument, Section, ooxml};

/// Rows per section: few enough that a citation's row range points somewhere useful.
const ROWS_PER_SECTION: usize = 40;
/// A section also ends once its text reaches this size (wide rows), so it stays about one chunk.
const CHARS_PER_SECTION: usize = 2_000;
/// Largest sheet rectangle (rows x columns) an XLS may span before calamine lays it out in memory.
const MAX_XLS_SHEET_CELLS: u64 = 4_000_000;

/// Collects one sheet's rows into sections, and into the sheet's [`Table`].
pub(crate) struct SheetSections<'a> {
    sheet: String,
    header: Option<String>,
    text: String,
    rows: Option<[u32; 2]>,
    count: usize,
    out: &'a mut Vec<Section>,
    table: SheetRows,
}

impl<'a> SheetSections<'a> {
    pub(crate) fn new(sheet: &str, out: &'a mut Vec<Section>) -> Self {
        SheetSections {
            sheet: sheet.to_string(),
            header: None,
            text: String::new(),
            rows: None,
            count: 0,
            out,
            table: SheetRows::default(),
        }
    }

    /// Add a row (1-based number; `last_row` > `first_row` for a row the file repeats).
    pub(crate) fn row(&mut self, first_row: u32, last_row: u32, cells: &[String], budget: &mut Budget) -> Result<(), ParseError> {
        let cells = cleaned(cells);
        if cells.is_empty() {
            return Ok(());
        }
        let line = cells.join(" | ");
        if self.header.is_none() {
            self.header = Some(format!("{}: {line}", self.sheet));
        }
        if self.count >= ROWS_PER_SECTION || (self.count > 0 && self.text.len() + line.len() > CHARS_PER_SECTION) {
            self.flush();
        }
        budget.text(line.len() + 1)?;
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&line);
        if budget.keep_tables {
            self.table.push(first_row, cells);
        }
        self.rows = Some(match self.rows {
            Some([first, _]) => [first, last_row],
            None => [first_row, last_row],
        });
        self.count += 1;
        Ok(())
    }

    fn flush(&mut self) {
        if let Some(rows) = self.rows.take() {
            self.out.push(Section {
                text: std::mem::take(&mut self.text),
                location: Location { sheet: Some(self.sheet.clone()), rows: Some(rows), ..Default::default() },
                first_line: None,
                context: self.header.clone(),
            });
        }
        self.count = 0;
    }

    /// The last section written; the sheet as tables (none when it has no rows).
    pub(crate) fn finish(mut self) -> Vec<Table> {
        self.flush();
        self.table.into_tables(&self.sheet)
    }
}

/// "a | b | c", without trailing empty cells; a cell's own line breaks become spaces.
#[cfg(test)]
fn row_text(cells: &[String]) -> String {
    cleaned(cells).join(" | ")
}

/// Put a cell's text at column `col` of a row being built, padding short gaps with empty cells so
/// values stay under their headers; a far-away column is appended without padding.
pub(crate) fn place_cell(row: &mut Vec<String>, col: usize, text: String) {
    if row.len() >= MAX_ROW_CELLS {
        return;
    }
    if col >= row.len() && col - row.len() <= 64 {
        row.resize(col, String::new());
    }
    row.push(text);
}

const XLSX: &str = Format::Xlsx.label();
const XLS: &str = Format::Xls.label();

pub(crate) fn parse_xlsx(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    const FORMAT: &str = XLSX;
    let mut package = ooxml::open(bytes, FORMAT)?;
    // calamine reads XML parts and their relationships, never media.
    package.check_entries(budget, |name| {
        let name = name.to_ascii_lowercase();
        name.ends_with(".xml") || name.ends_with(".rels")
    })?;
    for name in package.names().to_vec() {
        if name.to_ascii_lowercase().ends_with("sharedstrings.xml")
            && let Some(xml) = package.read(&name, budget)?
        {
            check_shared_string_count(&xml, &name)?;
        }
    }
    if !package.contains("xl/workbook.xml") && !package.names().iter().any(|n| n.ends_with("workbook.xml")) {
        return Err(invalid(FORMAT, "missing xl/workbook.xml".into()));
    }
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_error)?;
    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    let mut tables = Vec::new();
    for name in workbook.sheet_names() {
        let mut cells = match workbook.worksheet_cells_reader(&name) {
            Ok(cells) => cells,
            // Chart sheets and dialog sheets hold no cells.
            Err(XlsxError::NotAWorksheet(_)) => continue,
            Err(e) => {
                warnings.push(format!("sheet {name} unreadable: {}", xlsx_error(e)));
                continue;
            }
        };
        let mut sheet = SheetSections::new(&name, &mut sections);
        let mut row: Vec<String> = Vec::new();
        let mut row_number = None;
        loop {
            let cell = match cells.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(e) => {
                    warnings.push(format!("sheet {name} read only in part: {}", xlsx_error(e)));
                    break;
                }
            };
            let (r, c) = cell.get_position();
            if row_number != Some(r) {
                if let Some(previous) = row_number {
                    sheet.row(previous + 1, previous + 1, &row, budget)?;
                }
                row.clear();
                row_number = Some(r);
            }
            let text = data_ref_text(cell.get_value());
            if !text.is_empty() {
                place_cell(&mut row, c as usize, text);
            }
        }
        if let Some(last) = row_number {
            sheet.row(last + 1, last + 1, &row, budget)?;
        }
        tables.extend(sheet.finish());
    }
    Ok(ParsedDocument { format: Format::Xlsx, sections, warnings, tables })
}

/// calamine reserves room for the shared-string count the file declares; a declared count far
/// beyond the strings really present is an attempt to exhaust memory.
fn check_shared_string_count(xml: &[u8], part: &str) -> Result<(), ParseError> {
    let head = String::from_utf8_lossy(&xml[..xml.len().min(4096)]);
    let Some(declared) = head
        .split("uniqueCount=")
        .nth(1)
        .and_then(|rest| rest.get(1..))
        .and_then(|rest| rest.split(['"', '\'']).next())
        .and_then(|n| n.trim().parse::<u64>().ok())
    else {
        return Ok(());
    };
    let present = count_string_items(xml);
    if declared > present.saturating_mul(2) + 1024 {
        return Err(invalid(XLSX, format!("{part} declares {declared} shared strings but holds {present}, a forged count")));
    }
    Ok(())
}

/// Occurrences of `<si>`, `<si ...>`, `<x:si>`: the shared-string items.
fn count_string_items(xml: &[u8]) -> u64 {
    xml.windows(4).filter(|w| (w[0] == b'<' || w[0] == b':') && w[1] == b's' && w[2] == b'i' && matches!(w[3], b'>' | b' ' | b'/')).count()
        as u64
}

fn xlsx_error(e: XlsxError) -> ParseError {
    match e {
        XlsxError::Password => ParseError::Encrypted(XLSX),
        other => invalid(XLSX, other.to_string()),
    }
}

pub(crate) fn parse_xls(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    const FORMAT: &str = XLS;
    let mut ole =
        cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| invalid(FORMAT, format!("it is not an Excel 97-2003 workbook ({e})")))?;
    let stream_name = ["/Workbook", "/Book"].into_iter().find(|n| ole.is_stream(n)).ok_or_else(|| {
        if ole.is_stream("/EncryptedPackage") {
            ParseError::Encrypted(FORMAT)
        } else {
            invalid(FORMAT, "missing the Workbook stream".into())
        }
    })?;
    let stream = ole.open_stream(stream_name).map_err(|e| invalid(FORMAT, format!("the Workbook stream cannot be read ({e})")))?;
    let mut workbook_stream = Vec::new();
    let read = stream
        .take(MAX_ENTRY_BYTES.min(budget.unpacked_left()) + 1)
        .read_to_end(&mut workbook_stream)
        .map_err(|e| invalid(FORMAT, format!("the Workbook stream is damaged ({e})")))?;
    budget.unpack(read as u64)?;
    check_xls_records(&workbook_stream)?;
    drop(workbook_stream);

    let mut workbook = Xls::new(Cursor::new(bytes)).map_err(|e| match e {
        XlsError::Password => ParseError::Encrypted(FORMAT),
        other => invalid(FORMAT, other.to_string()),
    })?;
    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    let mut tables = Vec::new();
    for name in workbook.sheet_names() {
        let range = match workbook.worksheet_range(&name) {
            Ok(range) => range,
            Err(e) => {
                warnings.push(format!("sheet {name} unreadable: {e}"));
                continue;
            }
        };
        let Some((first_row, first_col)) = range.start() else { continue };
        let mut sheet = SheetSections::new(&name, &mut sections);
        for (i, cells) in range.rows().enumerate() {
            let mut row = Vec::new();
            for (j, value) in cells.iter().enumerate() {
                let text = data_text(value);
                if !text.is_empty() {
                    place_cell(&mut row, first_col as usize + j, text);
                }
            }
            let number = first_row + i as u32 + 1;
            sheet.row(number, number, &row, budget)?;
        }
        tables.extend(sheet.finish());
    }
    Ok(ParsedDocument { format: Format::Xls, sections, warnings, tables })
}

/// Walk the BIFF records of an XLS workbook stream: refuse encrypted files up front and sheets
/// whose cells span a rectangle too large to lay out.
fn check_xls_records(stream: &[u8]) -> Result<(), ParseError> {
    const BOF: u16 = 0x0809;
    const FILEPASS: u16 = 0x002F;
    const CELL_RECORDS: &[u16] = &[0x0006, 0x00FD, 0x0203, 0x027E, 0x00BD, 0x0201, 0x00BE, 0x0205, 0x0204, 0x00D6];
    const MULTI_CELL: &[u16] = &[0x00BD, 0x00BE];
    let mut bounds: Option<(u16, u16, u16, u16)> = None;
    let check = |b: Option<(u16, u16, u16, u16)>| -> Result<(), ParseError> {
        if let Some((r0, r1, c0, c1)) = b {
            let cells = (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1);
            if cells > MAX_XLS_SHEET_CELLS {
                return Err(ParseError::ZipBomb(format!(
                    "a sheet spans {cells} cells (rows {}–{}, columns {}–{}), more than brain lays out",
                    u32::from(r0) + 1,
                    u32::from(r1) + 1,
                    u32::from(c0) + 1,
                    u32::from(c1) + 1
                )));
            }
        }
        Ok(())
    };
    let mut pos = 0usize;
    while let Some(header) = stream.get(pos..pos + 4) {
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let data = stream.get(pos + 4..pos + 4 + len).unwrap_or(&[]);
        pos += 4 + len;
        match kind {
            FILEPASS => return Err(ParseError::Encrypted(XLS)),
            BOF => {
                check(bounds.take())?;
            }
            k if CELL_RECORDS.contains(&k) && data.len() >= 4 => {
                let row = u16::from_le_bytes([data[0], data[1]]);
                let first_col = u16::from_le_bytes([data[2], data[3]]);
                let last_col = if MULTI_CELL.contains(&k) && data.len() >= 6 {
                    u16::from_le_bytes([data[data.len() - 2], data[data.len() - 1]]).max(first_col)
                } else {
                    first_col
                };
                bounds = Some(match bounds {
                    None => (row, row, first_col, last_col),
                    Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(first_col), c1.max(last_col)),
                });
            }
            _ => {}
        }
    }
    check(bounds)
}

fn data_text(value: &Data) -> String {
    match value {
        Data::Float(f) => float_text(*f),
        Data::DateTime(dt) => date_text(dt),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        other => other.to_string(),
    }
}

fn data_ref_text(value: &DataRef) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        DataRef::DateTime(dt) => date_text(dt),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

/// Whole numbers without ".0"; others in Rust's shortest round-trip form.
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 { format!("{}", f as i64) } else { format!("{f}") }
}

/// An Excel date as ISO 8601 ("2024-03-01", or with the time when it has one).
fn date_text(dt: &calamine::ExcelDateTime) -> String {
    if !dt.is_datetime() {
        return float_text(dt.as_f64());
    }
    let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
    if (h, mi, s) == (0, 0, 0) { format!("{y:04}-{mo:02}-{d:02}") } else { format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zipped::tests::zip_of;

    pub(crate) fn xlsx_with_rows(rows: usize) -> Vec<u8> {
        let mut sheet = String::from(
            r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        sheet.push_str(r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>"#);
        for r in 2..=rows {
            let name = if r == 57 { "Zoe Quartermaine".to_string() } else { format!("Person {r}") };
            sheet.push_str(&format!(
                r#"<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{name}</t></is></c><c r="B{r}" t="s"><v>3</v></c><c r="C{r}"><v>{}</v></c></row>"#,
                1000 * r
            ));
        }
        sheet.push_str("</sheetData></worksheet>");
        let shared = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4"><si><t>Name</t></si><si><t>Dept</t></si><si><t>Salary</t></si><si><t>Sales</t></si></sst>"#;
        let workbook = r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Staff" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
        let workbook_rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
        let root_rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
        zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", root_rels.as_bytes()),
            ("xl/workbook.xml", workbook.as_bytes()),
            ("xl/_rels/workbook.xml.rels", workbook_rels.as_bytes()),
            ("xl/sharedStrings.xml", shared.as_bytes()),
            ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        ])
    }

    #[test]
    fn xlsx_rows_grouped_with_header_context() {
        assert!(parse_xlsx(&xlsx_with_rows(100), &mut Budget::new()).unwrap().tables.is_empty(), "indexing keeps no tables");
        let doc = parse_xlsx(&xlsx_with_rows(100), &mut Budget::keeping_tables()).unwrap();
        let s = &doc.sections;
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].location.rows, Some([1, 40]));
        assert_eq!(s[1].location.rows, Some([41, 80]));
        assert_eq!(s[1].location.sheet.as_deref(), Some("Staff"));
        assert_eq!(s[1].context.as_deref(), Some("Staff: Name | Dept | Salary"));
        assert!(s[1].text.contains("Zoe Quartermaine | Sales | 57000"), "{}", s[1].text);
        assert!(s[0].text.starts_with("Name | Dept | Salary\nPerson 2 | Sales | 2000"));
        // The sheet whole, as a table: every row under its header, with its number.
        let table = &doc.tables[0];
        assert_eq!((table.sheet.as_str(), table.header_row), ("Staff", 1));
        assert_eq!(table.columns, vec!["Name", "Dept", "Salary"]);
        assert_eq!(table.rows.len(), 99);
        assert_eq!((table.rows[0].row, table.rows[0].cells.clone()), (2, vec!["Person 2".to_string(), "Sales".into(), "2000".into()]));
    }

    #[test]
    fn forged_shared_string_count_is_refused() {
        let xml = br#"<sst uniqueCount="4000000000"><si><t>a</t></si></sst>"#;
        let err = check_shared_string_count(xml, "xl/sharedStrings.xml").unwrap_err();
        assert!(err.to_string().starts_with("not a valid XLSX: xl/sharedStrings.xml declares 4000000000 shared strings"), "{err}");
    }

    #[test]
    fn xls_sheet_spanning_too_many_cells_is_refused() {
        let mut stream = Vec::new();
        let mut record = |kind: u16, data: &[u8]| {
            stream.extend_from_slice(&kind.to_le_bytes());
            stream.extend_from_slice(&(data.len() as u16).to_le_bytes());
            stream.extend_from_slice(data);
        };
        record(0x0809, &[0; 16]);
        record(0x0203, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        record(0x0203, &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let err = check_xls_records(&stream).unwrap_err();
        assert!(err.to_string().starts_with("zip bomb suspected: a sheet spans 4294967296 cells"), "{err}");
    }

    #[test]
    fn row_text_and_numbers() {
        assert_eq!(row_text(&["a".into(), "".into(), "c\nd".into(), "".into()]), "a |  | c d");
        assert_eq!(float_text(3.0), "3");
        assert_eq!(float_text(0.25), "0.25");
    }
}
