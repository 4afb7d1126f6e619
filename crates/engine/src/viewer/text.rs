//! A document shown as its text (DOCX, ODT, HTML, Markdown, e-mail, slides, ...) or a sheet as a
//! table, with the cited passage marked: built from the file parsed again, so what is shown is
//! the file as it is now, in the parser's reading order (the order chunks were cut in).

use std::ops::Range;

use brain_parse::{Location, Section, Table};

use super::passage;
use super::{Marked, SheetRow, TextBlock, TextPiece};

/// The most blocks shown of one document (a paragraph each): a long file is shown around the
/// passage.
const MAX_BLOCKS: usize = 4_000;
/// The most rows of a sheet shown, around the cited ones.
const MAX_ROWS: usize = 500;
/// The most columns of a sheet shown.
const MAX_COLUMNS: usize = 40;

/// What heads a part of the document that the reader should see as one: a slide, a page, a
/// sheet, an attachment (a heading path's own titles are in the text).
fn part_title(location: &Location) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(a) = &location.attachment {
        parts.push(format!("Attachment {a}"));
    }
    if let Some(s) = location.slide {
        parts.push(format!("Slide {s}"));
    }
    if let Some(p) = location.page {
        parts.push(format!("Page {p}"));
    }
    if let Some(s) = &location.sheet {
        parts.push(format!("Sheet {s}"));
    }
    if let Some(s) = &location.section {
        parts.push(s.clone());
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// A paragraph that is a heading: one line that Markdown marks as one (`## Title`), or the title
/// the parser put at the top of its section (the last part of the section's heading path).
fn heading_text(paragraph: &str, section_heading: Option<&str>) -> Option<String> {
    if paragraph.contains('\n') {
        return None;
    }
    let hashes = paragraph.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) && paragraph[hashes..].starts_with(' ') {
        return Some(paragraph[hashes..].trim().to_string());
    }
    let title = section_heading?.rsplit(" > ").next()?.trim();
    (paragraph.trim() == title).then(|| title.to_string())
}

/// The document's sections as blocks (headings and paragraphs), the passage and its evidence
/// marked, and whether the passage was found.
pub(crate) fn blocks(sections: &[Section], marked: Marked) -> (Vec<TextBlock>, bool) {
    // Paragraphs first, as (is a heading, text), then the words of all of them in order.
    let mut paragraphs: Vec<(bool, String)> = Vec::new();
    let mut last_part: Option<String> = None;
    for section in sections {
        let part = part_title(&section.location);
        if part.is_some() && part != last_part {
            paragraphs.push((true, part.clone().unwrap_or_default()));
        }
        last_part = part;
        for paragraph in section.text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            match heading_text(paragraph, section.location.heading.as_deref()) {
                Some(title) => paragraphs.push((true, title)),
                None => paragraphs.push((false, paragraph.to_string())),
            }
        }
    }
    // Each word's paragraph and byte range, beside its normalised forms.
    let mut words: Vec<String> = Vec::new();
    let mut places: Vec<(usize, Range<usize>)> = Vec::new();
    for (i, (_, text)) in paragraphs.iter().enumerate() {
        for (start, token) in token_spans(text) {
            let before = words.len();
            passage::push_normalised(token, &mut words);
            places.extend(std::iter::repeat_n((i, start..start + token.len()), words.len() - before));
        }
    }
    let found = passage::find(&words, marked.passage);
    // The evidence is looked for inside the passage only.
    let evidence: Vec<std::ops::RangeInclusive<usize>> = match &found {
        Some(range) => marked
            .evidence
            .iter()
            .filter_map(|e| passage::find(&words[range.clone()], e))
            .map(|r| range.start() + r.start()..=range.start() + r.end())
            .collect(),
        None => Vec::new(),
    };
    // Each range one span per paragraph it crosses: the words of one mark and the spaces and
    // punctuation between them, never the text between two ranges.
    let spans_of = |ranges: &mut dyn Iterator<Item = std::ops::RangeInclusive<usize>>| {
        let mut spans: Vec<Vec<Range<usize>>> = vec![Vec::new(); paragraphs.len()];
        for range in ranges {
            let mut open: Option<usize> = None;
            for (paragraph, span) in &places[range] {
                let of_paragraph = &mut spans[*paragraph];
                match of_paragraph.last_mut() {
                    Some(last) if open == Some(*paragraph) => last.end = last.end.max(span.end),
                    _ => {
                        of_paragraph.push(span.clone());
                        open = Some(*paragraph);
                    }
                }
            }
        }
        for of_paragraph in &mut spans {
            of_paragraph.sort_by_key(|s| s.start);
        }
        spans
    };
    let cited = spans_of(&mut found.clone().into_iter());
    let evidence = spans_of(&mut evidence.into_iter());
    // Around the passage when the document is long.
    let centre = found.as_ref().map_or(0, |r| places[*r.start()].0);
    let first = centre.saturating_sub(MAX_BLOCKS / 2).min(paragraphs.len().saturating_sub(MAX_BLOCKS));
    let blocks = paragraphs
        .into_iter()
        .zip(cited.into_iter().zip(evidence))
        .skip(first)
        .take(MAX_BLOCKS)
        .map(|((heading, text), (cited, evidence))| TextBlock { heading, pieces: pieces(&text, &cited, &evidence) })
        .collect();
    (blocks, found.is_some())
}

/// The whitespace-separated tokens of `text` with their byte offsets.
fn token_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace().map(move |token| (token.as_ptr() as usize - text.as_ptr() as usize, token))
}

/// `text` cut into pieces at the edges of the `cited` and `evidence` spans (each sorted), each
/// piece knowing whether it lies in either.
fn pieces(text: &str, cited: &[Range<usize>], evidence: &[Range<usize>]) -> Vec<TextPiece> {
    let inside = |spans: &[Range<usize>], at: usize| spans.iter().any(|s| s.contains(&at));
    let mut edges: Vec<usize> = cited.iter().chain(evidence).flat_map(|s| [s.start, s.end]).chain([0, text.len()]).collect();
    edges.sort_unstable();
    edges.dedup();
    let mut out: Vec<TextPiece> = Vec::new();
    for pair in edges.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (is_cited, is_evidence) = (inside(cited, a), inside(evidence, a));
        match out.last_mut() {
            Some(last) if last.cited == is_cited && last.evidence == is_evidence => last.text.push_str(&text[a..b]),
            _ => out.push(TextPiece { text: text[a..b].to_string(), cited: is_cited, evidence: is_evidence }),
        }
    }
    if out.is_empty() {
        out.push(TextPiece { text: String::new(), cited: false, evidence: false });
    }
    out
}

/// A sheet's rows, those of `cited` (first and last row, inclusive) marked and, among them, those
/// the `evidence` is (a row's words, the evidence's run of three or its figures and names), at
/// most [`MAX_ROWS`] around them; and how many rows were left out before and after.
pub(crate) fn sheet_rows(table: &Table, cited: Option<[u32; 2]>, evidence: &[String]) -> (Vec<SheetRow>, u32, u32) {
    let is_cited = |row: u32| cited.is_some_and(|[a, b]| (a..=b).contains(&row));
    // Each evidence text's words, once for all rows.
    let evidence: Vec<Vec<String>> = evidence.iter().map(|e| passage::normalised_words(&passage::as_printed(e))).collect();
    let centre = table.rows.iter().position(|r| is_cited(r.row)).unwrap_or(0);
    let first = centre.saturating_sub(MAX_ROWS / 5).min(table.rows.len().saturating_sub(MAX_ROWS));
    let shown: Vec<SheetRow> = table
        .rows
        .iter()
        .skip(first)
        .take(MAX_ROWS)
        .map(|r| {
            let cited = is_cited(r.row);
            let rests_on = cited && is_evidence(r, &evidence);
            SheetRow { row: r.row, cells: r.cells.iter().take(MAX_COLUMNS).cloned().collect(), cited, evidence: rests_on }
        })
        .collect();
    let after = table.rows.len() - first - shown.len();
    (shown, first as u32, after as u32)
}

/// The row is in one of the evidence texts (their words): its words, in order, in the evidence's
/// (a row indexed with its columns named read as printed).
fn is_evidence(row: &brain_parse::TableRow, evidence: &[Vec<String>]) -> bool {
    let words = passage::normalised_words(&row.cells.join(" "));
    !words.is_empty() && evidence.iter().any(|e| e.windows(words.len()).any(|w| w == words.as_slice()))
}

/// The table of `sheet` that holds the cited rows (a sheet with a repeated header is several).
pub(crate) fn sheet_table<'a>(tables: &'a [Table], sheet: &str, cited: Option<[u32; 2]>) -> Option<&'a Table> {
    let of_sheet = || tables.iter().filter(|t| t.sheet == sheet && t.page.is_none());
    cited
        .and_then(|[a, b]| of_sheet().find(|t| t.rows.iter().any(|r| (a..=b).contains(&r.row)) || (a..=b).contains(&t.header_row)))
        .or_else(|| of_sheet().next())
}

/// At most [`MAX_COLUMNS`] header cells.
pub(crate) fn columns(table: &Table) -> Vec<String> {
    table.columns.iter().take(MAX_COLUMNS).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use brain_parse::TableRow;

    fn section(text: &str, location: Location) -> Section {
        Section { text: text.into(), location, first_line: None, context: None }
    }

    /// The marked text of each block, blocks joined by " | ".
    fn marked(blocks: &[TextBlock]) -> String {
        let of_block = |b: &TextBlock| b.pieces.iter().filter(|p| p.cited).map(|p| p.text.as_str()).collect::<String>();
        blocks.iter().map(of_block).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" | ")
    }

    #[test]
    fn headings_paragraphs_and_the_passage_marked_across_them() {
        let heading = |h: &str| Location { heading: Some(h.into()), ..Default::default() };
        let sections = [
            section("# Leave Policy\n\nNorthwind Trading's rules for time off.", heading("Leave Policy")),
            section(
                "Sabbatical\n\nAfter five years of service, employees may take a sabbatical of up to eight weeks.\n\nThe sabbatical is unpaid and must be approved by the department head three months ahead.",
                heading("Leave Policy > Sabbatical"),
            ),
            section("Parental leave follows the law.", heading("Leave Policy > Parental Leave")),
        ];
        let passage = "Sabbatical\n\nAfter five years of service, employees may take a sabbatical of up to eight weeks. The sabbatical is unpaid and must be approved by the department head three months ahead.";
        let evidence =
            ["employees may take a sabbatical of up to eight weeks.".to_string(), "must be approved by the department head".to_string()];
        let (blocks, found) = blocks(&sections, Marked { passage, evidence: &evidence });
        assert!(found);
        let strongly: Vec<&str> = blocks.iter().flat_map(|b| &b.pieces).filter(|p| p.evidence).map(|p| p.text.as_str()).collect();
        assert_eq!(strongly, ["employees may take a sabbatical of up to eight weeks.", "must be approved by the department head"]);
        assert!(blocks.iter().flat_map(|b| &b.pieces).all(|p| p.cited || !p.evidence), "evidence only inside the passage");
        let headings: Vec<String> =
            blocks.iter().filter(|b| b.heading).map(|b| b.pieces.iter().map(|p| p.text.as_str()).collect()).collect();
        assert_eq!(headings, ["Leave Policy", "Sabbatical"]);
        assert_eq!(
            marked(&blocks),
            "Sabbatical | After five years of service, employees may take a sabbatical of up to eight weeks. | The sabbatical is unpaid and must be approved by the department head three months ahead."
        );
        // Nothing outside the passage is marked, and no text is lost in the cutting.
        assert!(blocks.iter().flat_map(|b| &b.pieces).filter(|p| !p.cited).all(|p| !p.text.contains("eight")));
        let all: String =
            blocks.iter().map(|b| b.pieces.iter().map(|p| p.text.as_str()).collect::<String>()).collect::<Vec<_>>().join("\n");
        assert!(all.contains("Northwind Trading's rules for time off.") && all.contains("Parental leave follows the law."));
    }

    #[test]
    fn slides_are_headed_and_a_passage_not_in_the_file_marks_nothing() {
        let slide = |n: u32| Location { slide: Some(n), ..Default::default() };
        let sections =
            [section("Quarterly review", slide(1)), section("Revenue grew eleven percent.\n\nNotes: mention Rotterdam.", slide(2))];
        let (blocks, found) = blocks(&sections, Marked { passage: "Revenue grew eleven percent.", evidence: &[] });
        assert!(found);
        assert_eq!(blocks[0].pieces[0].text, "Slide 1");
        assert!(blocks[0].heading && blocks[2].heading && blocks[2].pieces[0].text == "Slide 2");
        assert_eq!(marked(&blocks), "Revenue grew eleven percent.");
        let (blocks, found) = blocks_without(&sections);
        assert!(!found && marked(&blocks).is_empty());
    }

    fn blocks_without(sections: &[Section]) -> (Vec<TextBlock>, bool) {
        // Evidence outside a passage that is not there is not marked either.
        let evidence = ["Revenue grew eleven percent.".to_string()];
        blocks(sections, Marked { passage: "The warehouse in Hamburg closes on Fridays at noon.", evidence: &evidence })
    }

    #[test]
    fn the_cited_rows_of_the_right_table_are_marked() {
        let rows = |from: u32, to: u32| {
            (from..=to).map(|r| TableRow { row: r, cells: vec![format!("Person {r}"), format!("{}", r * 10)] }).collect()
        };
        let table = |sheet: &str, header_row: u32, rows| Table {
            sheet: sheet.into(),
            page: None,
            caption: vec![],
            header_row,
            columns: vec!["Name".into(), "Sales".into()],
            rows,
        };
        let tables = [table("Staff", 1, rows(2, 30)), table("Staff", 32, rows(33, 1200)), table("Other", 1, rows(2, 5))];
        let chosen = sheet_table(&tables, "Staff", Some([300, 301])).unwrap();
        assert_eq!(chosen.header_row, 32);
        let evidence = ["Person 301 | Sales: 3010".to_string(), "Person 3 | 30".to_string()];
        let (shown, before, after) = sheet_rows(chosen, Some([300, 301]), &evidence);
        assert_eq!(shown.iter().filter(|r| r.evidence).map(|r| r.row).collect::<Vec<_>>(), [301]);
        assert_eq!(shown.len(), MAX_ROWS);
        assert_eq!(shown.iter().filter(|r| r.cited).map(|r| r.row).collect::<Vec<_>>(), [300, 301]);
        assert_eq!(before as usize + shown.len() + after as usize, 1168);
        assert!(shown.iter().position(|r| r.cited).unwrap() == MAX_ROWS / 5);
        assert_eq!(sheet_table(&tables, "Other", None).unwrap().sheet, "Other");
        assert!(sheet_table(&tables, "Missing", Some([2, 2])).is_none());
    }
}
