//! Stage 3b, rows: a chunk holding a table row that names what the question asks — every word
//! of its line item, and the column the question names (its period) — comes first.
//!
//! Why a stage of its own: a financial statement's chunk is a dozen rows of one vocabulary
//! ("Cash and cash equivalents", "Total assets", "Net revenue" under the same title), and so is
//! the cash-flow statement beside it and the segment table after it. Neither the embedding of a
//! whole chunk nor BM25 over it tells which chunk holds *the* row asked for: measured on 10-Q
//! figure look-ups, the statement's chunk ranked 5th to 41st of the fused list, behind chunks
//! of the same words in other rows. Read row by row, it is plain: the question names the item
//! and the period, and one row has both. Only rows that name their columns (`label | header:
//! value`, as the PDF and sheet parsers write them) are read, so prose and unlabelled tables are
//! untouched and keep their fused order; so are questions that compare rows ("which segment had
//! the highest net sales?"), whose named row is the measure compared, not the answer.

use std::collections::HashSet;

use brain_store::Hit;

use crate::table_row::{self, Row};

/// Chunks lifted at most: the rest of the answer's sources keep the fused order, so a question
/// a row seems to answer still gets the passages around it.
pub(crate) const MAX_LIFTED: usize = 3;

/// Least score of a row that lifts its chunk (see [`row_score`]): more than a one-word item
/// ("Total", 2) that a question happens to contain, with nothing else it names.
const MIN_ROW_SCORE: usize = 4;

/// `hits` (fused order) with the chunks whose rows name what `question` asks best first (those
/// whose row scores the best score, at most [`MAX_LIFTED`], in fused order), the others after
/// them in their order; the first `k`. Only the best: the same line of last quarter's filing
/// names the item as well and the period less well, and a small model reads a figure off
/// whichever row comes first.
pub(crate) fn lift(question: &str, mut hits: Vec<Hit>, k: usize) -> Vec<Hit> {
    // "Which segment had the highest net sales?" names the row it compares ("Net sales"), not
    // the one that answers it: lifting the statement's line would hide the segment table.
    if table_row::compares_rows(question) {
        hits.truncate(k);
        return hits;
    }
    let asked = table_row::terms(question);
    let scored: Vec<(usize, usize)> = hits
        .iter()
        .enumerate()
        .filter_map(|(rank, hit)| best_row(&hit.text, &asked).filter(|&score| score >= MIN_ROW_SCORE).map(|score| (rank, score)))
        .collect();
    let best = scored.iter().map(|&(_, score)| score).max().unwrap_or(0);
    let mut lifted: Vec<(usize, usize)> = scored.into_iter().filter(|&(_, score)| score == best).collect();
    lifted.truncate(MAX_LIFTED);
    let mut slots: Vec<Option<Hit>> = hits.into_iter().map(Some).collect();
    let mut out: Vec<Hit> = lifted.iter().filter_map(|&(rank, _)| slots[rank].take()).collect();
    out.extend(slots.into_iter().flatten());
    out.truncate(k);
    out
}

/// The score of the row of `text` that best names what was asked, if any row's item is named
/// whole by the question.
fn best_row(text: &str, asked: &HashSet<String>) -> Option<usize> {
    text.lines().filter_map(Row::parse).filter_map(|row| row_score(&row, asked)).max()
}

/// How well a row names what was asked: none unless the question names all of its item's terms;
/// then each item term counts twice (the line item is what a look-up asks for), and once each
/// term of its group and of its best column header that the item has not already counted ("Cash
/// | … Cash and Cash Equivalents: 12,852" names "cash and cash equivalents" in its header, not
/// as its item).
fn row_score(row: &Row, asked: &HashSet<String>) -> Option<usize> {
    let item = table_row::terms(row.item());
    if item.is_empty() || !item.is_subset(asked) {
        return None;
    }
    let new_terms = |text: &str| table_row::terms(text).iter().filter(|t| asked.contains(*t) && !item.contains(*t)).count();
    let group = new_terms(row.group());
    let column = row.cells.iter().map(|cell| new_terms(table_row::header(cell))).max().unwrap_or(0);
    Some(2 * item.len() + group + column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::test_hit as hit;

    const CASH_FLOWS: &str = "Net increase (decrease) in cash and cash equivalents | Nine Months Ended Sep 30, 2023: (3,523) | \
Nine Months Ended Oct 1, 2022: 1,067\nCash and cash equivalents, end of period | Nine Months Ended Sep 30, 2023: $7,621 | \
Nine Months Ended Oct 1, 2022: $5,211";
    const BALANCE_SHEET: &str = "Current assets: Cash and cash equivalents | Sep 30, 2023: $7,621 | Dec 31, 2022: $11,144\n\
Current assets: Short-term investments | Sep 30, 2023: 3,417 | Dec 31, 2022: 4,525\nNon-current assets: Total assets | \
Sep 30, 2023: $187,493 | Dec 31, 2022: $182,103";
    const PROSE: &str = "Cash and cash equivalents were lower on September 30, 2023 than at year end, chiefly after capital spending.";

    fn paths(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.path.as_str()).collect()
    }

    #[test]
    fn the_chunk_whose_row_names_the_item_and_period_comes_first() {
        let hits = vec![hit("/prose", PROSE), hit("/cash-flows", CASH_FLOWS), hit("/balance-sheet", BALANCE_SHEET)];
        let lifted = lift("How much cash and cash equivalents did Intel have on September 30, 2023?", hits.clone(), 3);
        // The balance sheet's row is the item whole; the cash-flow rows add words not asked
        // ("net increase", "end of period").
        assert_eq!(paths(&lifted), vec!["/balance-sheet", "/prose", "/cash-flows"]);
        assert_eq!(
            paths(&lift("What were Intel's total assets on September 30, 2023?", hits.clone(), 2)),
            vec!["/balance-sheet", "/prose"]
        );
    }

    #[test]
    fn questions_no_row_answers_keep_the_fused_order() {
        let hits = vec![hit("/prose", PROSE), hit("/cash-flows", CASH_FLOWS), hit("/balance-sheet", BALANCE_SHEET)];
        // No row's item named whole, or an item of one word and nothing more.
        for question in ["Why did cash fall in 2023?", "What is the total?", "Where are Intel's investments held?", "Is cash king?"] {
            assert_eq!(paths(&lift(question, hits.clone(), 3)), paths(&hits), "{question}");
        }
        // An item of three terms is named enough without a period.
        let lifted = lift("What were Intel's short-term investments?", hits.clone(), 3);
        assert_eq!(paths(&lifted)[0], "/balance-sheet");
    }

    #[test]
    fn a_question_comparing_rows_keeps_the_fused_order() {
        let hits = vec![hit("/prose", PROSE), hit("/balance-sheet", BALANCE_SHEET)];
        let compares = "Which of Intel's current assets was the largest on September 30, 2023, cash and cash equivalents or investments?";
        assert_eq!(paths(&lift(compares, hits.clone(), 2)), vec!["/prose", "/balance-sheet"]);
    }

    #[test]
    fn a_sheet_row_is_lifted_by_its_name_and_column() {
        let roster = "Depot: Ashcombe | Vans: 37 | Drivers: 52\nDepot: Larchfield | Vans: 12 | Drivers: 19";
        let hits = vec![hit("/handbook", PROSE), hit("/fleet.csv", roster)];
        let lifted = lift("How many vans run from the Larchfield depot?", hits, 1);
        assert_eq!(paths(&lifted), vec!["/fleet.csv"]);
    }

    #[test]
    fn only_the_rows_that_name_it_best_are_lifted() {
        let line = |period: &str| format!("Purchases of property and equipment | Three Months Ended {period}: (12,479)");
        let hits = vec![
            hit("/prose", PROSE),
            hit("/q1", &line("March 31, 2023")),
            hit("/q3", &line("September 30, 2023")),
            hit("/q2", &line("June 30, 2023")),
            // "Cash and Cash Equivalents" in a header is not the item "Cash".
            hit("/securities", "Cash | June 30, 2023 Cash and Cash Equivalents: $12,852"),
            hit("/balance-sheet", "Current assets: Cash and cash equivalents | June 30, 2023: $27,502"),
        ];
        let question = "How much did Amazon spend on purchases of property and equipment in the three months ended June 30, 2023?";
        assert_eq!(paths(&lift(question, hits.clone(), 3)), vec!["/q2", "/prose", "/q1"]);
        let cash = lift("How much cash and cash equivalents did Amazon hold on June 30, 2023?", hits, 2);
        assert_eq!(paths(&cash), vec!["/balance-sheet", "/prose"]);
    }

    #[test]
    fn at_most_a_few_chunks_are_lifted_and_ties_keep_their_order() {
        let row = |n: usize| format!("Net revenue | Three Months Ended Sep 30, 2023: {n},000");
        let mut hits: Vec<Hit> = (0..6).map(|n| hit(&format!("/r{n}"), &row(n))).collect();
        hits.insert(0, hit("/prose", PROSE));
        let lifted = lift("What was net revenue in the three months ended September 30, 2023?", hits, 7);
        assert_eq!(paths(&lifted), vec!["/r0", "/r1", "/r2", "/prose", "/r3", "/r4", "/r5"]);
    }
}
