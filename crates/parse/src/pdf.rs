//! PDF: text per page with pdf-extract over lopdf.
//!
//! We drive pdf-extract page by page ourselves instead of calling `extract_text_by_pages`,
//! because that stops at the first page it cannot read; here one broken page becomes a warning
//! and the other pages are still indexed. pdf-extract panics on some malformed fonts, so each
//! page runs under `catch_unwind` as well.
//!
//! A page with (almost) no text layer is a scan: with OCR, it is rendered by the engine's
//! [`RenderPage`](crate::RenderPage) and read by its [`Recognize`](crate::Recognize).

mod tables;

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::limits::Budget;
use crate::ocr::page_list;
use crate::{Format, Location, PageError, ParseError, ParsedDocument, Section, Table, TableRow};

/// A page with fewer letters and digits than this in its text layer is read by OCR.
const MIN_TEXT_CHARS: usize = 16;
/// Scanned pages are rendered at this resolution for OCR (Tesseract's sweet spot).
const OCR_DPI: u32 = 300;

/// Whether a PDF header is where readers look for it: the spec allows a little junk before it,
/// within the first 1024 bytes.
pub(crate) fn has_header(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-")
}

pub(crate) fn parse(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    if !has_header(bytes) {
        return Err(ParseError::NotPdf("no %PDF- header in the first 1024 bytes".into()));
    }
    let mut doc = lopdf::Document::load_mem(bytes).map_err(|e| ParseError::MalformedPdf(e.to_string()))?;
    if doc.is_encrypted() {
        // Many PDFs are "encrypted" with an empty user password and open for anyone.
        if doc.decrypt("").is_err() {
            return Err(ParseError::EncryptedPdf);
        }
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(ParseError::MalformedPdf("the document has no pages".into()));
    }
    let mut tables = Vec::new();
    let mut sections = Vec::new();
    let mut failed_pages = Vec::new();
    let mut first_failure = None;
    let mut scanned: Vec<u32> = Vec::new();
    for &page_number in pages.keys() {
        let mut output = WordSpacing::default();
        let result = catch_unwind(AssertUnwindSafe(|| pdf_extract::output_doc_page(&doc, &mut output, page_number)));
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(panic) => Some(format!("the PDF reader crashed on this page ({})", crate::panic_detail(&panic))),
        };
        if let Some(e) = error {
            failed_pages.push(page_number);
            first_failure.get_or_insert(e);
            continue;
        }
        if output.text.chars().filter(|c| c.is_alphanumeric()).count() < MIN_TEXT_CHARS {
            scanned.push(page_number);
        }
        let (on_page, page_tables) = page_sections(page_number, &output, budget.keep_tables);
        sections.extend(on_page);
        tables.extend(page_tables);
    }
    let mut warnings = Vec::new();
    let mut ocr_error = None;
    if let Some(ocr) = budget.ocr.as_mut().filter(|_| !scanned.is_empty()) {
        let total = scanned.len();
        for (i, &page) in scanned.iter().enumerate() {
            let read = ocr.render.render_page(bytes, page, OCR_DPI).and_then(|image| ocr.recognize.recognize(&image));
            match read {
                Ok(read) => {
                    let text = crate::text::tidy_layout(&read.text);
                    if read.confidence < crate::LOW_OCR_CONFIDENCE && !text.is_empty() {
                        warnings.push(format!("page {page}: low OCR confidence ({}%)", read.confidence));
                    }
                    if text.chars().filter(|c| c.is_alphanumeric()).count() > 0 {
                        // The scan's text replaces the few characters its text layer had.
                        sections.retain(|s| s.location.page != Some(page));
                        let location = Location { page: Some(page), ocr_confidence: Some(read.confidence), ..Default::default() };
                        sections.push(Section { text, location, first_line: None, context: None });
                    }
                }
                Err(e @ PageError::Unavailable(_)) => {
                    // The other scanned pages would fail alike: one warning for them all.
                    let left = &scanned[i..];
                    warnings.push(format!("{} scanned page(s) not read ({}): {e}", left.len(), page_list(left)));
                    ocr_error.get_or_insert(e);
                    break;
                }
                Err(e) => {
                    warnings.push(format!("page {page}: {e}"));
                    ocr_error.get_or_insert(e);
                }
            }
            ocr.recognize.progress(i + 1, total);
        }
        sections.sort_by_key(|s| s.location.page);
    }
    if sections.is_empty() {
        if let Some(e) = first_failure {
            return Err(ParseError::MalformedPdf(format!("no page could be read: {e}")));
        }
        return Err(match (budget.ocr.is_some(), ocr_error) {
            (true, Some(e)) => ParseError::Ocr(format!("scanned PDF ({} page(s)): {e}", pages.len())),
            _ => ParseError::ScannedPdf { pages: pages.len() },
        });
    }
    if !failed_pages.is_empty() {
        warnings.push(format!(
            "{} page(s) unreadable ({}): {}",
            failed_pages.len(),
            page_list(&failed_pages),
            first_failure.unwrap_or_default()
        ));
    }
    Ok(ParsedDocument { format: Format::Pdf, sections, warnings, tables })
}

/// Text of a page with word breaks decided from the gaps between glyphs.
///
/// pdf-extract's own plain-text output puts a space wherever a glyph starts more than a tenth of
/// the font size after where the previous one ends, by that glyph's width. For glyphs whose width
/// it cannot find in the font (seen in SEC filings' subset fonts: "n", "o", digits) it takes 0,
/// so the next glyph seems to start a whole letter later and words fall apart: "Micro so ft",
/// "in co me", "1 7 %"; neither keyword nor meaning search finds them. Here, after a glyph of
/// unknown width only a gap wider than a letter breaks the word (such PDFs write their spaces as
/// space glyphs, which always break it).
#[derive(Default)]
struct WordSpacing {
    text: String,
    /// Every glyph where it stands, for finding tables…
    glyphs: Vec<tables::Glyph>,
    /// …and where its text starts in `text` (the break before it included).
    starts: Vec<usize>,
    last_end: f64,
    last_y: f64,
    /// The previous glyph's width was not in its font.
    last_width_unknown: bool,
    started: bool,
    page_height: f64,
}

/// A word break: the gap is at least this share of the font size…
const WORD_GAP: f64 = 0.15;
/// …or, after a glyph of unknown width, this share (a letter's width and a space).
const WORD_GAP_AFTER_UNKNOWN_WIDTH: f64 = 1.0;

impl pdf_extract::OutputDev for WordSpacing {
    fn begin_page(
        &mut self,
        _page: u32,
        media_box: &pdf_extract::MediaBox,
        _art: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        self.page_height = media_box.ury - media_box.lly;
        self.started = false;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.text.push('\n');
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        // The glyph's place on the page (y measured from the top) and its size there.
        let (x, y) = (trm.m31, self.page_height - trm.m32);
        let size_x = font_size * trm.m11 + font_size * trm.m21;
        let size_y = font_size * trm.m12 + font_size * trm.m22;
        let size = (size_x * size_y).abs().sqrt().max(1e-6);
        self.starts.push(self.text.len());
        let upright = trm.m12.abs() < 1e-6 && trm.m21.abs() < 1e-6 && trm.m11 > 0.0 && trm.m22 > 0.0;
        self.glyphs.push(tables::Glyph {
            text: char.to_string(),
            x0: x,
            x1: x + width * size,
            y,
            size,
            width_unknown: width == 0.0,
            space: char.trim().is_empty() || !upright,
            after_space: self.glyphs.last().is_some_and(|g| g.space),
        });
        if self.started {
            if (y - self.last_y).abs() > size * 1.5 || (x < self.last_end && (y - self.last_y).abs() > size * 0.5) {
                self.text.push('\n');
            } else if x > self.last_end + size * if self.last_width_unknown { WORD_GAP_AFTER_UNKNOWN_WIDTH } else { WORD_GAP }
                && !self.text.ends_with([' ', '\n'])
            {
                self.text.push(' ');
            }
        }
        if char.trim().is_empty() {
            if !self.text.ends_with([' ', '\n']) {
                self.text.push(' ');
            }
        } else {
            self.text.push_str(char);
        }
        self.started = true;
        self.last_y = y;
        self.last_end = x + width * size;
        self.last_width_unknown = width == 0.0;
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }
}

/// A page's sections, in the order the page draws them: its running text, and each table found
/// in its text layer as a section of its own (rows under their column headers, the table's title
/// and units as its heading) where the table's first glyph stood. Beside them, when `keep_tables`,
/// the tables whose structure is sure, for a query over their cells.
fn page_sections(page: u32, output: &WordSpacing, keep_tables: bool) -> (Vec<Section>, Vec<Table>) {
    let found = tables::find(&output.glyphs);
    let mut owner: Vec<Option<usize>> = vec![None; output.glyphs.len()];
    for (t, table) in found.iter().enumerate() {
        for &g in &table.glyphs {
            owner[g] = Some(t);
        }
    }
    // A space drawn between two glyphs of a table is the table's too: the owner of the glyph
    // after each space comes from one pass backwards (a page of spaces stays linear).
    let mut next_owner: Vec<Option<usize>> = vec![None; owner.len()];
    let mut following = None;
    for i in (0..owner.len()).rev() {
        next_owner[i] = following;
        if !output.glyphs[i].space {
            following = owner[i];
        }
    }
    let mut last_owner = None;
    for i in 0..owner.len() {
        if !output.glyphs[i].space {
            last_owner = owner[i];
        } else if owner[i].is_none() && last_owner.is_some() && next_owner[i] == last_owner {
            owner[i] = last_owner;
        }
    }
    let mut sections = Vec::new();
    let mut running = String::new();
    let flush = |running: &mut String, sections: &mut Vec<Section>| {
        let text = rejoin_split_numbers(&crate::text::tidy_layout(running));
        if !text.is_empty() {
            sections.push(Section { text, location: Location::page(page), first_line: None, context: None });
        }
        running.clear();
    };
    let mut emitted = vec![false; found.len()];
    running.push_str(&output.text[..output.starts.first().copied().unwrap_or(output.text.len())]);
    for (i, &start) in output.starts.iter().enumerate() {
        let end = output.starts.get(i + 1).copied().unwrap_or(output.text.len());
        match owner[i] {
            None => running.push_str(&output.text[start..end]),
            Some(t) if !emitted[t] => {
                emitted[t] = true;
                flush(&mut running, &mut sections);
                let table = &found[t];
                let location = Location { page: Some(page), heading: table.caption.clone(), ..Default::default() };
                sections.push(Section { text: table.text.clone(), location, first_line: None, context: None });
            }
            Some(_) => {}
        }
    }
    flush(&mut running, &mut sections);
    let tables =
        if keep_tables { found.into_iter().filter_map(|t| Some(query_table(page, t.caption, t.grid?))).collect() } else { Vec::new() };
    (sections, tables)
}

/// A table found on a page as a query reads it: the label column (named by the stub over it, or
/// "Line item"), the group label column when rows stand under group labels ("Group label":
/// `group` is a word of SQL), then the figure columns under their headers; rows numbered from 1
/// in the order of the page.
fn query_table(page: u32, caption: Option<String>, grid: tables::Grid) -> Table {
    let grouped = grid.rows.iter().any(|r| r.group.is_some());
    let mut columns = vec![grid.label_name.unwrap_or_else(|| "Line item".to_string())];
    if grouped {
        columns.push("Group label".to_string());
    }
    columns.extend(grid.headers);
    let rows = grid
        .rows
        .into_iter()
        .zip(1..)
        .map(|(r, row)| {
            let mut cells = vec![r.label];
            if grouped {
                cells.push(r.group.unwrap_or_default());
            }
            cells.extend(r.figures.into_iter().map(Option::unwrap_or_default));
            TableRow { row, cells }
        })
        .collect();
    Table { sheet: format!("page {page}"), page: Some(page), caption: caption.into_iter().collect(), header_row: 0, columns, rows }
}

/// pdf-extract places glyphs by their advance widths, and with some fonts it reads the gap
/// before a narrow "1" as a space: "11,129" comes out as "1 1,129" and "16,411" as "16,41 1"
/// (seen in SEC filings' tables). A figure split like that cannot be searched for or checked
/// against an answer, so the pieces are joined back when, and only when, the result is a
/// correctly grouped number and one piece could not stand alone ("1" next to a grouped number,
/// or a group of fewer than three digits after a comma).
fn rejoin_split_numbers(text: &str) -> String {
    text.lines().map(rejoin_line).collect::<Vec<_>>().join("\n")
}

fn rejoin_line(line: &str) -> String {
    let tokens: Vec<&str> = line.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let mut current = tokens[i].to_string();
        while i + 1 < tokens.len() {
            let next = tokens[i + 1];
            let joined = format!("{current}{next}");
            let lone_one = current.trim_start_matches(['$', '(']) == "1" && next.starts_with(|c: char| c.is_ascii_digit());
            let short_group = has_short_last_group(&current) && next.chars().all(|c| c.is_ascii_digit() || matches!(c, ')' | '%' | '.'));
            if (lone_one || short_group) && is_grouped_number(&joined) {
                current = joined;
                i += 1;
            } else {
                break;
            }
        }
        out.push(current);
        i += 1;
    }
    out.join(" ")
}

/// "1,234", "$12,345.67", "(1,234)": digits in groups of three after the first, at least one comma.
pub(crate) fn is_grouped_number(token: &str) -> bool {
    let core = token.trim_start_matches(['$', '(']).trim_end_matches([')', '%', ',', ';']);
    let (whole, fraction) = core.split_once('.').unwrap_or((core, ""));
    let groups: Vec<&str> = whole.split(',').collect();
    groups.len() >= 2
        && fraction.chars().all(|c| c.is_ascii_digit())
        && groups.iter().all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()))
        && groups[0].len() <= 3
        && groups[1..].iter().all(|g| g.len() == 3)
}

/// "16,41": a grouped number whose last group is short, so it cannot end there.
pub(crate) fn has_short_last_group(token: &str) -> bool {
    let core = token.trim_start_matches(['$', '(']);
    match core.rsplit_once(',') {
        Some((head, last)) => {
            !head.is_empty()
                && (1..3).contains(&last.len())
                && last.chars().all(|c| c.is_ascii_digit())
                && head.chars().all(|c| c.is_ascii_digit() || c == ',')
        }
        None => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ocr::fakes::{Reader, Renderer};

    pub(crate) use brain_testkit::pdf_with_pages;

    fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
        super::parse(bytes, &mut Budget::new())
    }

    #[test]
    fn text_per_page() {
        let bytes = pdf_with_pages(&["Alpha page one", "Bravo page two"]);
        let doc = parse(&bytes).unwrap();
        let got: Vec<(String, Option<u32>)> = doc.sections.iter().map(|s| (s.text.clone(), s.location.page)).collect();
        assert_eq!(got, vec![("Alpha page one".into(), Some(1)), ("Bravo page two".into(), Some(2))]);
    }

    #[test]
    fn figures_split_at_a_narrow_one_are_joined_back() {
        assert_eq!(rejoin_line("Total operating expenses 12,809 1 1,129 38,144"), "Total operating expenses 12,809 11,129 38,144");
        assert_eq!(rejoin_line("Services 5,589 5,280 16,41 1 15,319"), "Services 5,589 5,280 16,411 15,319");
        assert_eq!(rejoin_line("Gross margin 35,885 132,687 1 17,662"), "Gross margin 35,885 132,687 117,662");
        assert_eq!(rejoin_line("Provision $ 3,624 (1 1,830)"), "Provision $ 3,624 (11,830)");
        // Nothing else is touched: a lone 1 before a year or a word, ordinary numbers.
        for kept in ["Note 1 2022", "Item 1 Financial Statements", "1 1", "page 1 of 12", "Basic $ 1.20 $ 1.31"] {
            assert_eq!(rejoin_line(kept), kept);
        }
    }

    #[test]
    fn a_table_in_the_text_layer_is_a_section_of_rows_under_their_headers() {
        let rows: &[&[&str]] = &[
            &["Region", "Q1 2023", "Q2 2023"],
            &["North", "1,200", "1,350"],
            &["South", "980", "1,010"],
            &["East", "12,450", "2,600"],
            &["West", "75", "80"],
        ];
        let bytes = brain_testkit::pdf_with(&[brain_testkit::PdfPage::Text(&["Sales by region"]), brain_testkit::PdfPage::Table(rows)]);
        let doc = parse(&bytes).unwrap();
        let table = doc.sections.iter().find(|s| s.location.page == Some(2)).unwrap();
        assert_eq!(
            table.text.lines().collect::<Vec<_>>(),
            vec![
                "Region: North | Q1 2023: 1,200 | Q2 2023: 1,350",
                "Region: South | Q1 2023: 980 | Q2 2023: 1,010",
                "Region: East | Q1 2023: 12,450 | Q2 2023: 2,600",
                "Region: West | Q1 2023: 75 | Q2 2023: 80"
            ]
        );
        assert_eq!(table.location.heading, None, "the labels' name is no caption");
        assert_eq!(doc.sections.iter().filter(|s| s.location.page == Some(2)).count(), 1, "{:?}", doc.sections);
        assert!(doc.tables.is_empty(), "indexing keeps no tables");

        // Asked to keep them, its cells for a query: the labels under their name, a row each.
        let kept = crate::parse_keeping_tables(std::path::Path::new("sales.pdf"), &bytes).unwrap();
        assert_eq!(kept.sections, doc.sections);
        let [table] = kept.tables.as_slice() else { panic!("{:?}", kept.tables) };
        assert_eq!((table.page, table.sheet.as_str()), (Some(2), "page 2"));
        assert_eq!(table.columns, vec!["Region", "Q1 2023", "Q2 2023"]);
        let rows: Vec<(u32, Vec<&str>)> = table.rows.iter().map(|r| (r.row, r.cells.iter().map(String::as_str).collect())).collect();
        assert_eq!(rows[0], (1, vec!["North", "1,200", "1,350"]));
        assert_eq!(rows[3], (4, vec!["West", "75", "80"]));
    }

    #[test]
    fn not_a_pdf() {
        assert!(matches!(parse(b"hello, I am text"), Err(ParseError::NotPdf(_))));
    }

    #[test]
    fn truncated_pdf_is_malformed() {
        let bytes = pdf_with_pages(&["Alpha"]);
        assert!(matches!(parse(&bytes[..bytes.len() / 3]), Err(ParseError::MalformedPdf(_))));
    }

    #[test]
    fn pages_without_text_mean_scanned() {
        let bytes = pdf_with_pages(&["", ""]);
        assert_eq!(parse(&bytes).unwrap_err(), ParseError::ScannedPdf { pages: 2 });
    }

    fn parse_with_ocr(bytes: &[u8], reader: &mut Reader, renderer: &mut Renderer) -> Result<ParsedDocument, ParseError> {
        let mut budget = Budget::new();
        budget.ocr = Some(crate::Ocr { recognize: reader, render: renderer });
        super::parse(bytes, &mut budget)
    }

    const TEXT_PAGE: &str = "Alpha page one has words enough";

    #[test]
    fn scanned_pages_are_rendered_and_read_by_ocr() {
        let bytes = pdf_with_pages(&[TEXT_PAGE, "", ""]);
        let mut reader = Reader { text: "Scanned   words\n\n\nof the contract", ..Default::default() };
        let mut renderer = Renderer::default();
        let doc = parse_with_ocr(&bytes, &mut reader, &mut renderer).unwrap();
        assert_eq!(renderer.rendered, vec![(2, OCR_DPI), (3, OCR_DPI)], "only the pages without text, at OCR's resolution");
        assert_eq!(reader.progress, vec![(1, 2), (2, 2)]);
        let got: Vec<(&str, Location)> = doc.sections.iter().map(|s| (s.text.as_str(), s.location.clone())).collect();
        let scanned = |page| Location { page: Some(page), ocr_confidence: Some(91), ..Default::default() };
        assert_eq!(
            got,
            vec![
                (TEXT_PAGE, Location::page(1)),
                ("Scanned words\n\nof the contract", scanned(2)),
                ("Scanned words\n\nof the contract", scanned(3))
            ]
        );
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    }

    #[test]
    fn a_page_that_fails_is_a_warning_and_the_next_is_still_read() {
        let bytes = pdf_with_pages(&[TEXT_PAGE, "", ""]);
        let mut reader = Reader { text: "Scanned words of the contract", ..Default::default() };
        let mut renderer = Renderer {
            fail: |page| (page == 2).then(|| PageError::Failed("pdftoppm could not render the page".into())),
            ..Default::default()
        };
        let doc = parse_with_ocr(&bytes, &mut reader, &mut renderer).unwrap();
        assert_eq!(renderer.rendered.len(), 2);
        assert_eq!(doc.sections.iter().map(|s| s.location.page).collect::<Vec<_>>(), vec![Some(1), Some(3)]);
        assert_eq!(doc.warnings, vec!["page 2: pdftoppm could not render the page".to_string()]);
    }

    #[test]
    fn unavailable_ocr_is_tried_once_and_named_as_the_reason() {
        const NO_POPPLER: &str = "rendering a scanned page needs pdftoppm (install the Debian package poppler-utils)";
        let bytes = pdf_with_pages(&["", "", ""]);
        let mut reader = Reader::default();
        let mut renderer = Renderer { fail: |_| Some(PageError::Unavailable(NO_POPPLER.into())), ..Default::default() };
        let err = parse_with_ocr(&bytes, &mut reader, &mut renderer).unwrap_err();
        assert_eq!(err, ParseError::Ocr(format!("scanned PDF (3 page(s)): {NO_POPPLER}")));
        assert_eq!(renderer.rendered.len(), 1, "the other pages would fail alike");

        // With text elsewhere the file is indexed, and one warning names the pages left unread.
        let bytes = pdf_with_pages(&[TEXT_PAGE, "", ""]);
        let mut reader = Reader { error: Some(PageError::Unavailable("OCR is not available".into())), ..Default::default() };
        let doc = parse_with_ocr(&bytes, &mut reader, &mut Renderer::default()).unwrap();
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.warnings, vec!["2 scanned page(s) not read (2, 3): OCR is not available".to_string()]);
    }
}
