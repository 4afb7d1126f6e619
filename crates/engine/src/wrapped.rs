//! A passage's text as it is read: each table row a line of its own, prose as whole sentences —
//! a sentence running on across the lines a PDF (or a scan's OCR) wrapped it at.
//!
//! PDF text keeps the page's line breaks: "… compared to the comparable prior\nyear periods, is
//! primarily due to increased unit sales …". Cut at every line, a sentence's subject and what it
//! says land in different pieces: neither is close in meaning to a claim that states both (the
//! check), a piece alone tells the model little (the prompt's excerpts), and a quote of one reads
//! "year periods, is primarily due to …".
//!
//! Key decisions:
//! - Lines are joined where the first does not end a sentence and the next goes on with it (see
//!   [`continues`]); table rows, list items and headings stay lines of their own. A document
//!   written with one paragraph per line (Markdown, Word) reads as before.
//! - Sentences are slices of the passage, line breaks and all (Unicode's sentence rules run over
//!   a copy whose line breaks are spaces: same bytes, same offsets), so a quote or the viewer still
//!   finds them in the passage.
//! - Written here: `unicode-segmentation` (used) cuts sentences but treats every line break as the
//!   end of one, and `text-splitter` cuts chunks, not wrapped lines back into sentences; the
//!   joining rule is a few lines over the table and list conventions of this project's parsers.

use unicode_segmentation::UnicodeSegmentation;

/// A run of lines that wrap one paragraph, or a line that stands alone (a row, a heading, a list
/// item), trimmed: slices of `text`.
pub(crate) fn logical_lines(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    // The run being built: its start in `text` and the last line it holds.
    let mut run: Option<(usize, &str)> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        run = match run {
            Some((start, last)) if continues(last, line) => Some((start, line)),
            Some((start, last)) => {
                out.push(slice_to(text, start, last));
                Some((offset_in(text, line), line))
            }
            None => Some((offset_in(text, line), line)),
        };
    }
    if let Some((start, last)) = run {
        out.push(slice_to(text, start, last));
    }
    out
}

/// The sentences of a logical line, by Unicode's rules with its line breaks read as spaces:
/// slices of `line`, trimmed, none empty.
pub(crate) fn sentences(line: &str) -> Vec<&str> {
    let flat = line.replace(['\n', '\r'], " ");
    debug_assert_eq!(flat.len(), line.len());
    // Each sentence's byte range; one ending in an initial runs on into the next.
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut at = 0;
    for s in flat.split_sentence_bounds() {
        match ranges.last_mut() {
            Some(last) if ends_with_initial(&line[last.clone()]) => last.end = at + s.len(),
            _ => ranges.push(at..at + s.len()),
        }
        at += s.len();
    }
    ranges.into_iter().map(|r| line[r].trim()).filter(|s| !s.is_empty()).collect()
}

/// Unicode's rules end a sentence at "R. Jassy" or "the U.S. Treasury": a full stop after a
/// capital's space. A text ending in an initial (single letters each with its full stop) ends no
/// sentence here.
fn ends_with_initial(text: &str) -> bool {
    let Some(word) = text.split_whitespace().last() else { return false };
    let Some(letters) = word.strip_suffix('.') else { return false };
    let letters = letters.trim_start_matches(['(', '"', '“', '\'']);
    !letters.is_empty() && letters.split('.').all(|l| l.chars().count() == 1 && l.chars().all(char::is_alphabetic))
}

/// The sentences of a passage's prose: [`sentences`] of each [`logical_lines`] line that is not a
/// table row.
pub(crate) fn prose_sentences(text: &str) -> impl Iterator<Item = &str> {
    logical_lines(text).into_iter().filter(|l| !is_row(l)).flat_map(sentences)
}

/// `text` with its runs of white space (a wrapped sentence's line breaks) as single spaces: how a
/// quoted sentence is shown.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A line of a table: cells between bars, or two figures or more that make a fifth of its words
/// or more (a sentence that mentions two figures is prose). Lines joined as one sentence's are
/// prose, however many figures they hold.
pub(crate) fn is_row(line: &str) -> bool {
    let (words, figures) = words_and_figures(line);
    line.contains(" | ") || (!line.contains('\n') && figures >= 2 && figures * 5 >= words)
}

/// A line that is surely a table's, not a wrapped sentence with figures in it ("… operating
/// income by $79 million for Q2 2023, and by"): cells between bars, or figures half its words
/// and no full stop at its end (which ends a sentence: "$32 million for Q2 2023.").
fn table_line(line: &str) -> bool {
    let (words, figures) = words_and_figures(line);
    line.contains(" | ") || (figures >= 2 && figures * 2 >= words && !line.ends_with('.'))
}

fn words_and_figures(line: &str) -> (usize, usize) {
    let words = line.split_whitespace().count();
    let figures = line.split_whitespace().filter(|w| w.chars().any(|c| c.is_ascii_digit())).count();
    (words, figures)
}

/// Words a line has at least for a capitalised next line to go on with it: a wrap before a name
/// ("… sold by\nAmazon …") happens in a full line, a heading is short.
const MIN_WRAPPED_WORDS: usize = 6;

/// Whether `next` goes on with the sentence `line` leaves open: `line` does not end one (nor is
/// a heading, a row or a Markdown line of its own), `next` is no row or list item, and either
/// starts in lower case, or with a figure or a capital after a line of prose (a full line, for
/// the capital). A list item's own wrapped lines join it.
pub(crate) fn continues(line: &str, next: &str) -> bool {
    let (line, next) = (line.trim(), next.trim());
    let Some(last) = line.chars().last() else { return false };
    let Some(first) = next.chars().next() else { return false };
    if ".!?:;。！？；：…".contains(last) || table_line(line) || table_line(next) || markdown_block(line) || starts_item(next) {
        return false;
    }
    // Text without spaces between words (Chinese, Japanese) wraps anywhere in a sentence.
    if is_cjk(last) && is_cjk(first) {
        return true;
    }
    if first.is_lowercase() {
        return true;
    }
    // A heading is followed by its first line, or by "(Unaudited)", "(in millions)".
    if title_like(line) {
        return false;
    }
    first.is_ascii_digit() || "$€£¥%,".contains(first) || (first.is_uppercase() && line.split_whitespace().count() >= MIN_WRAPPED_WORDS)
}

/// A Markdown heading, quote or table line: a block of its own.
fn markdown_block(line: &str) -> bool {
    line.starts_with(['#', '>', '|'])
}

/// A line that starts a unit of its own whatever comes before it: a Markdown block, a list item
/// ("•", "- ", "1.", "(a)", "iv)").
fn starts_item(line: &str) -> bool {
    if markdown_block(line) || line.starts_with(['•', '▪', '◦', '·', '●', '○', '■', '□', '–', '—', '*']) {
        return true;
    }
    if line.starts_with("- ") || line.starts_with("+ ") {
        return true;
    }
    // An enumerator: up to three letters or digits closed by "." or ")", or in parentheses.
    let marker = line.split_whitespace().next().unwrap_or_default();
    let inner = marker.strip_prefix('(').unwrap_or(marker);
    let Some(body) = inner.strip_suffix(['.', ')']) else { return false };
    let has_words_after = line.split_whitespace().nth(1).is_some();
    !body.is_empty()
        && body.chars().count() <= 3
        && body.chars().all(|c| c.is_alphanumeric())
        && has_words_after
        // "U.S." or "e.g." close no enumerator; one letter or a number does.
        && (body.chars().all(|c| c.is_ascii_digit()) || body.chars().count() == 1 || is_roman(body))
}

fn is_roman(word: &str) -> bool {
    word.chars().all(|c| "ivxlIVXL".contains(c))
}

/// Most words capitalised: a heading or a title ("Results of Operations", "NOTES TO CONDENSED
/// CONSOLIDATED FINANCIAL STATEMENTS"), not a sentence.
fn title_like(line: &str) -> bool {
    let words: Vec<&str> = line.unicode_words().filter(|w| w.chars().next().is_some_and(char::is_alphabetic)).collect();
    // Short function words stay lower case in a title ("of", "and", "the").
    let long: Vec<&&str> = words.iter().filter(|w| w.chars().count() > 3).collect();
    !long.is_empty() && long.iter().filter(|w| w.chars().next().is_some_and(char::is_uppercase)).count() * 10 >= long.len() * 7
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Where `part` (a slice of `text`) starts in it.
fn offset_in(text: &str, part: &str) -> usize {
    part.as_ptr() as usize - text.as_ptr() as usize
}

/// `text` from `start` to the end of `last` (a slice of it).
fn slice_to<'a>(text: &'a str, start: usize, last: &str) -> &'a str {
    &text[start..offset_in(text, last) + last.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRAPPED: &str = "The decrease in International operating loss in Q2 2023, compared to the comparable prior\n\
        year periods, is primarily due to increased unit sales and increased advertising sales, partially offset by increased\n\
        technology and infrastructure costs. Changes in foreign exchange rates positively impacted operating loss by\n\
        $32 million for Q2 2023.\n\
        25";

    #[test]
    fn a_sentence_wrapped_across_lines_is_read_whole() {
        let s: Vec<&str> = prose_sentences(WRAPPED).collect();
        assert_eq!(s.len(), 3, "{s:#?}");
        assert!(s[0].starts_with("The decrease") && s[0].ends_with("infrastructure costs."), "{}", s[0]);
        assert!(s[0].contains("prior\nyear periods"), "a slice of the passage, line break kept: {}", s[0]);
        assert!(WRAPPED.contains(s[1]) && s[1].ends_with("$32 million for Q2 2023."), "{}", s[1]);
        assert_eq!(s[2], "25", "a page number ends the run: the sentence before it ends with a full stop");
        assert_eq!(one_line(s[1]), "Changes in foreign exchange rates positively impacted operating loss by $32 million for Q2 2023.");
        // A decimal point or a percentage ends no sentence.
        assert_eq!(
            sentences("Revenue was $13.5 billion, up 1.5% from a year ago. Margins fell."),
            ["Revenue was $13.5 billion, up 1.5% from a year ago. ", "Margins fell."].map(str::trim)
        );
        // An initial ends no sentence; a word's full stop does.
        assert_eq!(
            sentences("I, Andrew R. Jassy, certify that. The U.S. Treasury issued rules. It ended."),
            ["I, Andrew R. Jassy, certify that.", "The U.S. Treasury issued rules.", "It ended."]
        );
    }

    #[test]
    fn a_wrap_before_a_name_joins_a_full_line_and_not_a_heading() {
        assert!(continues("Products sold in the quarter were mostly fulfilled and shipped by", "Amazon and its partners in Europe."));
        assert!(!continues("Results of Operations", "The following table sets forth our results."), "a heading");
        assert!(!continues("NOTES TO CONDENSED CONSOLIDATED FINANCIAL STATEMENTS", "(Unaudited)"));
        assert!(!continues("Short line", "Another line"), "a short line followed by a capital starts nothing");
        assert!(continues("Leave is approved by the", "line manager."), "a lower-case next line goes on");
    }

    #[test]
    fn rows_list_items_and_markdown_stay_lines_of_their_own() {
        let rows =
            "Net income | Three Months Ended July 30, 2023: 6,188 | Six Months Ended July 30, 2023: 8,232\nTotal revenue 13,507 6,704";
        assert_eq!(logical_lines(rows), rows.lines().collect::<Vec<_>>());
        let list = "The registrant's other certifying officer and I have disclosed\n(a) all significant deficiencies in the design\n(b) any fraud, whether or not material\n- a dash item\n• a bullet item\n1. a numbered item\niv) a roman one";
        assert_eq!(logical_lines(list).len(), 7, "{:#?}", logical_lines(list));
        let markdown = "# Leave policy\nEmployees get 25 days of leave a year.\n## Approval\n| Kind | Days |\n> a quote";
        assert_eq!(logical_lines(markdown).len(), 5);
        assert!(continues("shipped to customers in the U.S. and", "e.g. Canada"), "\"e.g.\" is no enumerator");
        assert!(!continues("Total revenue 13,507 6,704 12,100", "and more"), "a line of figures is a table's");
        assert!(continues("Changes in exchange rates impacted operating income by $79 million for Q2 2023, and by", "$351 million."));
        assert!(logical_lines("").is_empty() && logical_lines("\n \n").is_empty());
        let item = "(a) all significant deficiencies and material weaknesses in the design\nor operation of internal control.";
        assert_eq!(logical_lines(item), [item], "a list item's wrapped line joins it");
    }

    #[test]
    fn text_without_spaces_joins_across_its_wraps() {
        let zh = "公司第二季度的收入主要来自数据中\n心业务的增长。\n第三段";
        let lines = logical_lines(zh);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(sentences(lines[0]).iter().any(|s| s.ends_with("增长。")));
        assert!(!continues("收入增长。", "第三段"), "a full stop ends it");
    }
}
