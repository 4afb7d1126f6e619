//! A table row as the parsers write it when its cells name their columns —
//! `Current assets: Cash and cash equivalents | June 25, 2022: $27,502 | September 25, 2021: $34,940`
//! (a PDF statement's row under its group label; a sheet's row, `Depot: Larchfield | Vans: 12`) —
//! and the terms that name its item and its columns in a question.
//!
//! One reading for every stage that looks at rows: retrieval lifts a chunk whose row names what
//! the question asks, the excerpt keeps the cells of the column it names, grounding reads a row
//! cell by cell; and one reading of questions that compute over rows rather than read one (the
//! sheet query asks for them, the lift leaves them alone). Key decision: terms are compared after folding what differs between a question
//! and a statement's print without changing the meaning — case, a plural "s", and a month's full
//! name against its abbreviation ("September 30" asked, "Sep 30, 2023" printed).

use std::collections::HashSet;

use unicode_segmentation::UnicodeSegmentation;

/// A row whose every cell after the label says its column ("header: value").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row<'a> {
    /// The first cell: the line item, after its group label when it has one.
    pub label: &'a str,
    /// The other cells, `header: value` each.
    pub cells: Vec<&'a str>,
}

impl<'a> Row<'a> {
    /// The row `line` is, when every cell after its label names its column.
    pub(crate) fn parse(line: &'a str) -> Option<Row<'a>> {
        let mut parts = line.trim().split(" | ");
        let label = parts.next()?;
        let cells: Vec<&str> = parts.collect();
        (!cells.is_empty() && cells.iter().all(|cell| cell.contains(": "))).then_some(Row { label, cells })
    }

    /// The line item: the label without its group ("Cash and cash equivalents").
    pub(crate) fn item(&self) -> &'a str {
        self.label.rsplit_once(": ").map_or(self.label, |(_, item)| item)
    }

    /// The group label the item is under ("Current assets"), empty when none.
    pub(crate) fn group(&self) -> &'a str {
        self.label.rsplit_once(": ").map_or("", |(group, _)| group)
    }
}

/// The column header of a cell ("Three Months Ended June 25, 2022" of "… June 25, 2022: 82,959").
pub(crate) fn header(cell: &str) -> &str {
    cell.rsplit_once(": ").map_or("", |(header, _)| header)
}

/// The value of a cell ("82,959").
pub(crate) fn value(cell: &str) -> &str {
    cell.rsplit_once(": ").map_or(cell, |(_, value)| value)
}

/// "Net income | Three Months Ended July 30, 2023: 6,188 | …": every cell after the label says
/// its column.
pub(crate) fn names_its_columns(line: &str) -> bool {
    Row::parse(line).is_some()
}

/// The words and numbers of a header, a label or a question that can name a column or an item,
/// folded: lower case, no function words, a plural "s" dropped, a month as its three-letter
/// abbreviation ("Months Ended September 30, 2023" → month, ended, sep, 30, 2023).
pub(crate) fn terms(text: &str) -> HashSet<String> {
    const NOT_TERMS: &[&str] = &[
        "the", "for", "and", "of", "in", "on", "at", "as", "to", "a", "an", "by", "what", "was", "were", "is", "are", "how", "much",
        "many", "did", "does", "do",
    ];
    text.unicode_words().map(str::to_lowercase).filter(|w| !NOT_TERMS.contains(&w.as_str())).map(|w| folded(&w)).collect()
}

/// Words that ask for something computed over rows rather than read from one of them.
const OVER_ROWS: &[&str] = &[
    "how many",
    "number of",
    "count",
    "total",
    "sum",
    "average",
    "mean",
    "median",
    "highest",
    "lowest",
    "largest",
    "smallest",
    "biggest",
    "most",
    "fewest",
    "least",
    "top",
    "maximum",
    "minimum",
    "more than",
    "less than",
    "fewer than",
    "at least",
    "at most",
    "list all",
    "which of",
    "rank",
    "combined",
    "altogether",
];

/// Cues of [`OVER_ROWS`] that a look-up of one row uses too: "total net sales" is a line of a
/// statement, "how many shares" a figure of one row.
const ALSO_ONE_ROW: &[&str] = &["how many", "number of", "count", "total", "sum", "combined", "altogether"];

/// The cues of [`OVER_ROWS`] in a question, in the list's order.
pub(crate) fn over_rows_cues(question: &str) -> impl Iterator<Item = &'static str> {
    let q = format!(
        " {} ",
        question.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
    );
    OVER_ROWS.iter().copied().filter(move |cue| q.contains(&format!(" {cue} ")))
}

/// Whether a question compares rows ("which segment had the highest net sales", "the average
/// of …"): the row it names ("Net sales") is what is compared, not the answer.
pub(crate) fn compares_rows(question: &str) -> bool {
    over_rows_cues(question).any(|cue| !ALSO_ONE_ROW.contains(&cue))
}

/// The months `text` names, each as its three-letter abbreviation ("September 30" and "Sep 30"
/// both `sep`); "may" only before a number, where it is a date and not a verb.
pub(crate) fn months(text: &str) -> HashSet<String> {
    let words: Vec<String> = text.unicode_words().map(str::to_lowercase).collect();
    let mut out = HashSet::new();
    for (i, word) in words.iter().enumerate() {
        let a_date = word != "may" || words.get(i + 1).is_some_and(|next| next.chars().all(|c| c.is_ascii_digit()));
        if let Some(month) = month_of(word).filter(|_| a_date) {
            out.insert(month.to_string());
        }
    }
    out
}

/// The month a lower-case word names, as its three-letter abbreviation: "sep", "sept" and
/// "september" are all `sep` ("mar" and "march" too: no row item is "Mar").
pub(crate) fn month_of(word: &str) -> Option<&'static str> {
    const MONTHS: [&str; 12] =
        ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
    MONTHS.iter().find(|m| word.len() >= 3 && m.starts_with(word)).map(|m| &m[..3])
}

/// A lower-case word as terms compare it: a month as its abbreviation, a plural "s" dropped.
pub(crate) fn folded(word: &str) -> String {
    if let Some(month) = month_of(word) {
        return month.to_string();
    }
    match word.strip_suffix('s') {
        Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') && stem.chars().all(char::is_alphabetic) => stem.to_string(),
        _ => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_read_into_group_item_and_cells() {
        let row = Row::parse("Current assets: Cash and cash equivalents | June 25, 2022: $27,502 | September 25, 2021: $34,940").unwrap();
        assert_eq!(row.group(), "Current assets");
        assert_eq!(row.item(), "Cash and cash equivalents");
        assert_eq!(row.cells.len(), 2);
        assert_eq!(header(row.cells[1]), "September 25, 2021");
        assert_eq!(value(row.cells[1]), "$34,940");
        let plain = Row::parse("Net revenue | Nine Months Ended Sep 30, 2023: $38,822").unwrap();
        assert_eq!((plain.group(), plain.item()), ("", "Net revenue"));
        // Not rows that name their columns: a sheet's bare cells, a line of figures, a note.
        assert!(Row::parse("Ashcombe | 37 | 52").is_none());
        assert!(Row::parse("Products 63,355 63,948").is_none());
        assert!(Row::parse("Note: 12 and 14").is_none());
    }

    #[test]
    fn terms_fold_case_plurals_and_month_names() {
        let asked = terms("What was Intel's net revenue for the nine months ended September 30, 2023?");
        let printed = terms("Nine Months Ended Sep 30, 2023");
        assert!(printed.is_subset(&asked), "{printed:?} ⊄ {asked:?}");
        assert!(terms("Net revenues").is_subset(&asked));
        // "gross" keeps its double s; a figure keeps its digits.
        assert!(terms("Gross margin").contains("gross"));
        assert!(terms("Q3 2023s").contains("2023s"));
        assert!(!terms("the total of assets").contains("the"));
    }

    #[test]
    fn questions_that_compare_rows_are_told_from_look_ups() {
        for compares in [
            "Which segment had the highest net sales in 2023?",
            "What was the average revenue per region?",
            "Which of the depots is largest?",
        ] {
            assert!(compares_rows(compares), "{compares}");
        }
        for look_up in ["What were Apple's total net sales in the quarter?", "How many shares were outstanding?", "What was net income?"] {
            assert!(!compares_rows(look_up), "{look_up}");
        }
        assert_eq!(over_rows_cues("How many depots have more than 40 vans?").collect::<Vec<_>>(), vec!["how many", "more than"]);
    }

    #[test]
    fn months_are_named_in_full_or_short_and_may_only_as_a_date() {
        let named = |t: &str| {
            let mut m: Vec<String> = months(t).into_iter().collect();
            m.sort();
            m
        };
        assert_eq!(named("Three Months Ended Sep 30, 2023 and October 1, 2022"), vec!["oct", "sep"]);
        assert_eq!(named("Sales may rise by May 31, 2024"), vec!["may"]);
        assert!(named("Marketable securities in the second quarter").is_empty());
    }
}
