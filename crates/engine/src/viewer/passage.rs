//! Where a cited passage stands among a document's words: the rule that decides what the viewer
//! highlights, on a PDF page's words (with their boxes), a scan's OCR'd words or a document's text.
//!
//! A chunk's text is not a verbatim slice of what the viewer shows: chunks overlap, a PDF's
//! words come back from poppler hyphenated or spaced differently, a table's row is indexed as
//! "Net income, Three Months Ended …: $6,188". So the passage is found by its word sequences:
//! the document's words that continue a run of three of the passage's words in a row (failing
//! that two, failing that its figures and long words alone), grouped into stretches broken by more
//! than [`MAX_GAP`] other words; the stretch holding the most of them is the passage, from its
//! first matched word to its last. A phrase the passage shares with another paragraph ("of the
//! company") makes a small stretch there and loses to the passage's own.

use std::collections::HashSet;

use crate::table_row::{Row, value};

/// Words not in the passage that a stretch may skip between two matched ones (a page footer, a
/// column's label between a table's cells, a word OCR read wrong).
const MAX_GAP: usize = 8;

/// The passage as its document prints it: a table row indexed with its columns named
/// ("Net income | Three Months Ended June 25, 2022: $19,442 | …") is its item and its values
/// ("Net income $19,442 …"), as the statement's line reads; the column headers stand once
/// above the table, not in the row.
pub(crate) fn as_printed(passage: &str) -> String {
    passage
        .lines()
        .map(|line| match Row::parse(line) {
            Some(row) => std::iter::once(row.item()).chain(row.cells.iter().map(|c| value(c))).collect::<Vec<_>>().join(" "),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A word as compared: lower case, letters and digits only ("$6,188." → "6188"); a run of CJK
/// characters, written without spaces, is one word per character.
pub(crate) fn normalised_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split_whitespace() {
        push_normalised(token, &mut out);
    }
    out
}

/// The normalised words of one whitespace-separated token (none for punctuation alone).
pub(crate) fn push_normalised(token: &str, out: &mut Vec<String>) {
    let mut word = String::new();
    for c in token.chars() {
        if brain_store::is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
}

/// The range of `words` (normalised, in reading order) that the passage covers, first and last
/// word included; `None` when too little of the passage is there (the file changed since it
/// was indexed, or the passage is of another page).
pub(crate) fn find(words: &[String], passage: &str) -> Option<std::ops::RangeInclusive<usize>> {
    find_counted(words, passage).map(|(range, _)| range)
}

/// [`find`], with how many of the range's words are the passage's (to choose between two
/// readings of one page).
pub(crate) fn find_counted(words: &[String], passage: &str) -> Option<(std::ops::RangeInclusive<usize>, usize)> {
    let wanted = normalised_words(&as_printed(passage));
    if wanted.is_empty() || words.is_empty() {
        return None;
    }
    let mut matched = vec![false; words.len()];
    for n in [3usize, 2, 1] {
        if n > wanted.len() {
            continue;
        }
        if n == 1 {
            // Single words only as a last resort, and only those that say something: a figure
            // or a long word (a row's cells, once its label was indexed with its columns).
            let distinctive: HashSet<&String> = wanted.iter().filter(|w| wanted.len() == 1 || is_distinctive(w)).collect();
            words.iter().zip(matched.iter_mut()).filter(|(w, _)| distinctive.contains(w)).for_each(|(_, m)| *m = true);
        } else {
            let grams: HashSet<&[String]> = wanted.windows(n).collect();
            for (i, window) in words.windows(n).enumerate() {
                if grams.contains(window) {
                    matched[i..i + n].iter_mut().for_each(|m| *m = true);
                }
            }
        }
        if let Some((first, last, count)) = best_stretch(&matched)
            // A short passage must be there whole; a longer one by at least three of its words.
            && count >= wanted.len().min(3)
        {
            return Some((first..=last, count));
        }
    }
    None
}

/// A word worth matching alone: a figure, or a word of five letters or more.
fn is_distinctive(word: &str) -> bool {
    let chars = word.chars().count();
    (chars >= 2 && word.chars().any(|c| c.is_ascii_digit())) || (chars >= 5 && !word.chars().any(brain_store::is_cjk))
}

/// The stretch of matched words (gaps of at most [`MAX_GAP`]) holding the most of them: its
/// first and last index and how many it holds.
fn best_stretch(matched: &[bool]) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    let mut current: Option<(usize, usize, usize)> = None;
    for (i, _) in matched.iter().enumerate().filter(|(_, m)| **m) {
        current = match current {
            Some((first, last, count)) if i - last <= MAX_GAP + 1 => Some((first, i, count + 1)),
            _ => {
                best = pick(best, current);
                Some((i, i, 1))
            }
        };
    }
    pick(best, current)
}

fn pick(best: Option<(usize, usize, usize)>, candidate: Option<(usize, usize, usize)>) -> Option<(usize, usize, usize)> {
    match (best, candidate) {
        (Some(b), Some(c)) if c.2 > b.2 => Some(c),
        (None, c) => c,
        (b, _) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        normalised_words(text)
    }

    fn found(text: &str, passage: &str) -> Option<String> {
        let w = words(text);
        find(&w, passage).map(|r| w[r].join(" "))
    }

    #[test]
    fn the_passage_is_found_where_it_stands_not_where_its_phrases_recur() {
        let page = "The sabbatical is unpaid, as the staff council agreed at its meeting with the board in May. \
                    Annual leave is 27 days a year. After five years of service, \
                    employees may take a sabbatical of up to eight weeks. The sabbatical is unpaid and must be \
                    approved by the department head three months ahead. Parental leave follows the law.";
        let passage = "## Sabbatical\n\nAfter five years of service, employees may take a sabbatical of up to eight weeks. \
                       The sabbatical is unpaid and must be approved by the department head three months ahead.";
        assert_eq!(
            found(page, passage).unwrap(),
            "after five years of service employees may take a sabbatical of up to eight weeks the sabbatical is unpaid \
             and must be approved by the department head three months ahead"
        );
    }

    #[test]
    fn hyphenation_spacing_and_figures_as_a_table_row_are_read_through() {
        // A statement's lines, read line by line, against its rows as they were indexed (the
        // header's words, also in the rows, are not what is marked).
        let page = "Three Months Ended June 25, 2022 June 26, 2021 Total net sales 82,959 81,434 \
                    Provision for income taxes 3,624 2,625 Net income $ 19,442 $ 21,744 Earnings per share: Basic $ 1.20";
        let rows = "Provision for income taxes | Three Months Ended June 25, 2022: 3,624 | Three Months Ended June 26, 2021: 2,625\n\
                    Net income | Three Months Ended June 25, 2022: $19,442 | Three Months Ended June 26, 2021: $21,744";
        assert_eq!(found(page, rows).unwrap(), "provision for income taxes 3624 2625 net income 19442 21744");
        // Figures and long words alone, when no run of the row's words is on the page.
        assert_eq!(
            found("Revenue 82,959 Earnings 19,442 21,744 Basic", "Net earnings | 2022: $19,442 | 2021: $21,744").unwrap(),
            "earnings 19442 21744"
        );
        // A word broken at the line's end still leaves the runs around it.
        let page = "the ware- house in Rotterdam added 4000 square metres of storage space in the third quarter";
        assert_eq!(
            found(page, "The warehouse in Rotterdam added 4000 square metres of storage space.").unwrap(),
            "in rotterdam added 4000 square metres of storage space"
        );
    }

    #[test]
    fn a_passage_that_is_not_there_is_not_found() {
        let page = "Passwords must be at least 14 characters long and are never shared.";
        assert_eq!(found(page, "Every employee gets 27 days of annual leave per calendar year."), None);
        // One shared pair of words is not the passage.
        assert_eq!(found(page, "The laptop must be returned when employment ends."), None);
        assert_eq!(found("", "anything"), None);
        assert_eq!(found(page, "!!!"), None);
    }

    #[test]
    fn short_passages_and_cjk_text() {
        assert_eq!(found("Depot Dunmore Vans 37", "37").unwrap(), "37");
        assert_eq!(
            found("年假 每位员工每年享有二十七天年假。病假另计。", "每位员工每年享有二十七天年假").unwrap(),
            "每 位 员 工 每 年 享 有 二 十 七 天 年 假"
        );
    }
}
