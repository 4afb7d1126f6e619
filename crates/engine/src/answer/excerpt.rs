//! Sources cut to what bears on the question, before they go into the prompt.
//!
//! A source is a chunk of ~256 tokens of which a sentence or a table row or two answer the
//! question; on 2 cores the model reads a prompt at ~100 tokens a second, so the rest of the
//! chunk costs seconds before the first token and gives a small model more to get wrong. Each
//! source is cut into units — sentences, and lines of tables whole — and the units closest to the
//! question are kept, by meaning (the embedder's cosine) and by the question's own words, with
//! what makes them readable: the line before a table row (its column headings), and the order of
//! the source. A source whose best unit is far below the best source's is dropped: when the best
//! ones are conclusive, fewer sources are read.
//!
//! The cut is measured in the answer model's own tokens, for all sources together
//! ([`SOURCE_TOKENS`]): the first token waits for every prompt token, and a table's figures cost
//! a token a digit, so a budget in words let a source of figures cost three times one of prose.
//! Each source in turn gets an even share of what the sources before it left.
//!
//! The person still sees the whole chunk of each cited source; only the prompt is cut.

use std::collections::HashSet;

use unicode_segmentation::UnicodeSegmentation;

use crate::error::{EngineError, Result};
use crate::inference::EmbedText;
use crate::languages;
use crate::retrieval::Hit;
use crate::table_row::{self, Row};
use crate::wrapped::{self, is_row};

/// The answer model's tokens all sources' texts may take together in the prompt (their headers
/// apart). The model reads a prompt at ~60 tokens a second on 2 cores: with the headers and the
/// question this keeps the first token within ~6 s.
pub(crate) const SOURCE_TOKENS: usize = 280;
/// A source whose best unit scores below this share of the best source's best unit is dropped.
const KEEP_SHARE_OF_BEST: f32 = 0.7;
/// How much the question's own words count beside the meaning (0 = meaning only).
const KEYWORD_WEIGHT: f32 = 0.3;
/// Sources always kept, however the others score (the best ones may disagree).
const MIN_SOURCES: usize = 2;

/// A piece of a source: a sentence, or a whole line of a table.
#[derive(Debug, Clone)]
struct Unit {
    text: String,
    /// A line of figures (a table row).
    row: bool,
    /// A row shown with the line before it (its column headings): one whose cells do not name
    /// their columns themselves (a PDF table's rows do: "Net income | 2023: 6,188 | …").
    needs_headings: bool,
}

/// `sources` (best first) cut to what bears on `question`, within `budget` tokens together as
/// `tokens` counts them; sources far less relevant than the best are dropped (the first
/// [`MIN_SOURCES`] are always kept). The result keeps the order and every field of each hit but
/// its text.
pub(crate) fn cut(
    question: &str,
    sources: &[Hit],
    embedder: &dyn EmbedText,
    tokens: &dyn Fn(&str) -> usize,
    budget: usize,
) -> Result<Vec<Hit>> {
    let asked_terms = table_row::terms(question);
    let units: Vec<Vec<Unit>> = sources.iter().map(|s| units_of(&s.text, &asked_terms)).collect();
    let mut texts = vec![question.to_string()];
    texts.extend(units.iter().flatten().map(|u| u.text.clone()));
    let mut vectors = embedder.embed_queries(&texts)?;
    if vectors.len() != texts.len() {
        return Err(EngineError::Internal(format!("the embedder gave {} vectors for {} texts", vectors.len(), texts.len())));
    }
    let question_vector = vectors.remove(0);
    let question_words = content_words(question);
    // A source in another language than the question's is scored on the scale of one language's
    // pair, as retrieval scored it (see `candidates`).
    let asked_in = languages::asked_in(embedder, question);
    let mut vectors = vectors.into_iter();
    let scored: Vec<Vec<f32>> = units
        .iter()
        .zip(sources)
        .map(|(list, source)| {
            let across = languages::passage_differs(asked_in, &source.text);
            list.iter()
                .map(|u| {
                    let v = vectors.next().unwrap_or_default();
                    let cosine = v.iter().zip(&question_vector).map(|(a, b)| a * b).sum();
                    let meaning = embedder.calibrate_question(cosine, across);
                    meaning + KEYWORD_WEIGHT * keyword_overlap(&question_words, &u.text)
                })
                .collect()
        })
        .collect();
    let best_of = |scores: &[f32]| scores.iter().copied().fold(f32::MIN, f32::max);
    let top = scored.iter().map(|s| best_of(s)).fold(f32::MIN, f32::max);
    let kept: Vec<usize> = (0..sources.len()).filter(|&i| i < MIN_SOURCES || best_of(&scored[i]) >= top * KEEP_SHARE_OF_BEST).collect();
    // Best first, each source an even share of what is left: a short source leaves more to the
    // ones after it.
    let mut left = budget;
    let mut out = Vec::new();
    for (n, &i) in kept.iter().enumerate() {
        let share = left / (kept.len() - n);
        let text = excerpt(&units[i], &scored[i], share, tokens);
        left = left.saturating_sub(tokens(&text));
        out.push(Hit { text, ..sources[i].clone() });
    }
    Ok(out)
}

/// The units of a text in order: each line of figures whole (a table row), prose cut into
/// sentences, a sentence whole across the lines a PDF wrapped it at (and shown on one line).
fn units_of(text: &str, asked_terms: &HashSet<String>) -> Vec<Unit> {
    let mut out = Vec::new();
    for line in wrapped::logical_lines(text) {
        if let Some(row) = Row::parse(line) {
            out.push(Unit {
                text: cells_asked_about(&row, asked_terms).unwrap_or_else(|| line.to_string()),
                row: true,
                needs_headings: false,
            });
            continue;
        }
        if is_row(line) {
            out.push(Unit { text: line.to_string(), row: true, needs_headings: true });
            continue;
        }
        for sentence in wrapped::sentences(line) {
            out.push(Unit { text: wrapped::one_line(sentence), row: false, needs_headings: false });
        }
    }
    out
}

/// A row that names its columns, with only the cells whose column the question names best: "the
/// twelve months ended June 30, 2023" keeps that column of a cash-flow row of six periods, which
/// a small model otherwise reads one column off. When no column is named more than the others
/// (a question of no period, or two periods named alike), the row is kept whole (`None`).
fn cells_asked_about(row: &Row, asked_terms: &HashSet<String>) -> Option<String> {
    let named = |cell: &str| table_row::terms(table_row::header(cell)).intersection(asked_terms).count();
    let scores: Vec<usize> = row.cells.iter().map(|c| named(c)).collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    if best < MIN_HEADER_TERMS || scores.iter().all(|&s| s == best) {
        return None;
    }
    let kept: Vec<&str> = row.cells.iter().zip(&scores).filter(|(_, s)| **s == best).map(|(c, _)| *c).collect();
    Some(format!("{} | {}", row.label, kept.join(" | ")))
}

/// Fewest header terms a question must share with a column to pick it out.
const MIN_HEADER_TERMS: usize = 2;

/// The best units within `budget` tokens (the best unit always, however long), each table row
/// that needs them with the line before it (its headings), in the source's order, a row on a line
/// of its own; gaps marked with "…". A source within the budget is kept whole.
fn excerpt(units: &[Unit], scores: &[f32], budget: usize, tokens: &dyn Fn(&str) -> usize) -> String {
    let costs: Vec<usize> = units.iter().map(|u| tokens(&u.text) + 1).collect();
    if costs.iter().sum::<usize>() <= budget {
        return joined(units.iter().map(|u| (u, false)));
    }
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut kept: Vec<bool> = vec![false; units.len()];
    let mut used = 0;
    for i in order {
        let mut take = vec![i];
        if units[i].needs_headings && i > 0 {
            take.push(i - 1);
        }
        let cost: usize = take.iter().filter(|&&j| !kept[j]).map(|&j| costs[j]).sum();
        if used > 0 && used + cost > budget {
            continue;
        }
        for j in take {
            kept[j] = true;
        }
        used += cost;
        if used >= budget {
            break;
        }
    }
    let mut gap = false;
    let mut shown = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        if kept[i] {
            shown.push((unit, gap));
            gap = false;
        } else {
            gap = true;
        }
    }
    let mut out = joined(shown.into_iter());
    if gap {
        out.push_str(" …");
    }
    out
}

/// Units in order, each after a gap marked "…": sentences joined by spaces, a table row on a line
/// of its own.
fn joined<'a>(units: impl Iterator<Item = (&'a Unit, bool)>) -> String {
    rows_on_lines(units.map(|(unit, after_gap)| (unit.text.as_str(), unit.row, after_gap)))
}

/// Pieces of text in order (`text`, whether it is a table row, whether a gap comes before it,
/// marked "…"): prose joined by spaces, a row on a line of its own — as the excerpt and the
/// prompt both show a source.
pub(crate) fn rows_on_lines<'a>(pieces: impl Iterator<Item = (&'a str, bool, bool)>) -> String {
    let mut out = String::new();
    let mut last_was_row = false;
    for (text, row, after_gap) in pieces {
        if !out.is_empty() {
            out.push(if row || last_was_row { '\n' } else { ' ' });
        }
        if after_gap {
            out.push_str("… ");
        }
        out.push_str(text);
        last_was_row = row;
    }
    out
}

/// Lowercase words of three letters or more that are not among the most common ones.
fn content_words(text: &str) -> HashSet<String> {
    const COMMON: &[&str] = &[
        "the", "and", "for", "what", "which", "who", "whom", "how", "was", "were", "are", "is", "did", "does", "do", "its", "their",
        "with", "from", "that", "this", "these", "those", "there", "have", "has", "had", "any", "can", "may", "much", "many", "when",
        "where", "why", "you", "your", "our", "all", "not", "but", "into", "about", "between", "during", "per",
    ];
    text.unicode_words().map(str::to_lowercase).filter(|w| w.chars().count() >= 3 && !COMMON.contains(&w.as_str())).collect()
}

/// The share of the question's content words found in `text` (compared by their first five
/// letters, so "reimbursed" meets "reimbursement").
fn keyword_overlap(question_words: &HashSet<String>, text: &str) -> f32 {
    if question_words.is_empty() {
        return 0.0;
    }
    let stem = |w: &str| w.chars().take(5).collect::<String>();
    let stems: HashSet<String> = text.unicode_words().map(|w| stem(&w.to_lowercase())).collect();
    question_words.iter().filter(|w| stems.contains(&stem(w))).count() as f32 / question_words.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::fakes::WordVectors;
    use crate::retrieval::test_hit as hit;

    /// Words as tokens, as the fake model counts them.
    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    /// `cut` with a budget of 70 words a source.
    fn cut_words(question: &str, hits: &[Hit]) -> Vec<Hit> {
        cut(question, hits, &WordVectors::default(), &words, 70 * hits.len()).unwrap()
    }

    const LEAVE: &str = "Annual leave is booked in the HR portal. Staff get 27 days of annual leave per year. \
Unused days may be carried over until March. The office closes between Christmas and New Year. \
Parental leave is described in its own policy. Sick days are reported to the line manager before 10:00. \
Travel is booked through the travel desk. Trains are booked in second class. Hotels must be approved. \
Flights over six hours may be booked in premium economy. Receipts are kept for seven years by the finance team. \
Mileage for private cars is paid per kilometre at the rate set each January.";

    #[test]
    fn a_long_source_keeps_the_sentences_that_bear_on_the_question_in_order() {
        let hits = vec![hit("/hb/leave.md", LEAVE)];
        let cut = cut_words("How many days of annual leave do staff get?", &hits);
        let text = &cut[0].text;
        assert!(text.contains("Staff get 27 days of annual leave per year."), "{text}");
        assert!(!text.contains("Trains are booked"), "unrelated sentences are cut: {text}");
        assert!(text.split_whitespace().filter(|w| *w != "…").count() <= 70, "{text}");
        assert_eq!(cut[0].path, "/hb/leave.md");
    }

    #[test]
    fn a_table_row_keeps_its_headings() {
        let table = "Condensed statement of operations (in millions)\nThree months ended June 25, 2022 June 26, 2021\n\
Products 63,355 63,948\nServices 19,604 17,486\nTotal net sales 82,959 81,434\nCost of sales 47,074 46,179\n\
Gross margin 35,885 35,255\nResearch and development 6,797 5,717\nSelling, general and administrative 6,012 5,412\n\
Total operating expenses 12,809 11,129\nOperating income 23,076 24,126\nOther income 10 243\nIncome before taxes 23,066 24,369\n\
Provision for income taxes 3,624 2,625\nNet income 19,442 21,744";
        let hits = vec![hit("/10q/aapl.pdf", table)];
        let cut = cut_words("What was the total net sales in the three months ended June 25, 2022?", &hits);
        let text = &cut[0].text;
        assert!(text.contains("Total net sales 82,959 81,434"), "{text}");
        assert!(text.contains("Services 19,604 17,486\nTotal net sales"), "the row before it comes along: {text}");
    }

    #[test]
    fn a_row_that_names_its_columns_comes_alone_on_its_line() {
        let rows: Vec<String> = ["Products", "Services", "Total net sales", "Cost of sales", "Gross margin", "Research and development"]
            .iter()
            .enumerate()
            .map(|(i, label)| {
                format!("{label} | Three Months Ended June 25, 2022: {},000 | Three Months Ended June 26, 2021: {},500", 60 + i, 50 + i)
            })
            .collect();
        let hits = vec![hit("/10q/aapl.pdf", &rows.join("\n"))];
        let cut = cut_words("What was the total net sales in the three months ended June 25, 2022?", &hits);
        let text = &cut[0].text;
        // The row on its own line, with the column the question names.
        assert!(text.lines().any(|l| l == "Total net sales | Three Months Ended June 25, 2022: 62,000"), "{text}");
        // Such a row needs no heading line; a sheet's row ("cells between bars") or a line of
        // bare figures does.
        assert!(table_row::names_its_columns(&rows[0]));
        assert!(!table_row::names_its_columns("Ashcombe | 37 | 52") && !table_row::names_its_columns("Note: 12 | 14"));
    }

    #[test]
    fn a_row_keeps_the_columns_the_question_names() {
        let row = "Stock-based compensation | Three Months Ended June 30, 2022: 5,209 | Three Months Ended June 30, 2023: 7,127 | \
Six Months Ended June 30, 2023: 11,875 | Twelve Months Ended June 30, 2023: 23,037";
        let asked = |q: &str| cells_asked_about(&Row::parse(row).unwrap(), &table_row::terms(q)).unwrap_or_else(|| row.to_string());
        assert_eq!(
            asked("What was Amazon's stock-based compensation for the twelve months ended June 30, 2023?"),
            "Stock-based compensation | Twelve Months Ended June 30, 2023: 23,037"
        );
        assert_eq!(
            asked("What was the stock-based compensation in the three months ended June 30, 2023?"),
            "Stock-based compensation | Three Months Ended June 30, 2023: 7,127"
        );
        // No period named, or none picked out: the whole row.
        assert_eq!(asked("How much stock-based compensation did Amazon record?"), row);
        assert_eq!(asked("Stock-based compensation as of June 30?"), row);
    }

    #[test]
    fn short_sources_are_whole_and_far_weaker_ones_dropped_after_the_first_two() {
        let hits = vec![
            hit("/a.md", "Staff get 27 days of annual leave per year."),
            hit("/b.md", "Annual leave requests go to the line manager."),
            hit("/c.md", "Annual leave days: 27 for staff."),
            hit("/d.md", "Printers are on every floor near the lifts."),
        ];
        let cut = cut_words("How many days of annual leave do staff get?", &hits);
        let paths: Vec<&str> = cut.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, vec!["/a.md", "/b.md", "/c.md"], "the printers are not read");
        assert_eq!(cut[0].text, "Staff get 27 days of annual leave per year.");
    }

    #[test]
    fn the_budget_is_shared_and_counted_in_the_models_tokens() {
        // A model that reads every digit as a token (as Qwen's tokenizer does).
        let digits_apart = |text: &str| text.split_whitespace().map(|w| w.chars().filter(char::is_ascii_digit).count().max(1)).sum();
        let row = |label: &str, a: &str, b: &str| {
            format!("{label} | Three Months Ended June 25, 2022: {a} | Three Months Ended June 26, 2021: {b}")
        };
        let rows = [
            row("Total net sales", "82,959", "81,434"),
            row("Cost of sales", "47,074", "46,179"),
            row("Net income", "19,442", "21,744"),
            row("Research and development", "6,797", "5,717"),
        ]
        .join("\n");
        let short = "Staff get 27 days of annual leave.";
        let hits = vec![hit("/a.pdf", &rows), hit("/b.md", short), hit("/c.pdf", &rows)];
        let cut = cut("What were the total net sales and the net income?", &hits, &WordVectors::default(), &digits_apart, 130).unwrap();
        let used: usize = cut.iter().map(|h| digits_apart(&h.text)).sum();
        assert!(used <= 130, "{used} tokens: {cut:?}");
        assert_eq!(cut[0].text.lines().count(), 1, "a third of the budget holds one row: {}", cut[0].text);
        assert_eq!(cut[1].text, short, "a short source is whole");
        // What the short source left goes to the one after it.
        assert_eq!(cut[2].text.lines().count(), 2, "{}", cut[2].text);
    }
}
