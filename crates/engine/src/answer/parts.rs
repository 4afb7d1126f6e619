//! Questions that compare: "How did net sales in Q3 2022 compare to Q3 2021?", "Which grew faster,
//! Apple or Microsoft?". One search finds passages about one side better than the other (the
//! query's vector sits between the two), so the answer lacks half of what it compares. Such a
//! question is split into one part per side — the question with the pair replaced by each of its
//! members — each part is retrieved on its own, and the sources are interleaved, so that both
//! sides reach the prompt; the model still answers the whole question in one generation.
//!
//! Two kinds of sides are recognised: two years anywhere in the question (each part then names
//! one of them), and a pair of the same kind — two quarters, two names — joined by "and", "or",
//! "vs", "versus", "compared to/with" or "from … to". Anything else is one part.

use std::collections::HashSet;

use unicode_segmentation::UnicodeSegmentation;

use crate::retrieval::{Hit, repeats};

/// The parts of a question: empty when it compares nothing (then the question is searched as
/// it is); otherwise one question per side.
pub(crate) fn parts(question: &str) -> Vec<String> {
    let periods = by_period(question);
    if !periods.is_empty() {
        return periods;
    }
    by_pair(question)
}

/// Two periods named by their years ("net sales in Q3 2022 compared to Q3 2021"): one part per
/// year, the question with every year replaced by that one, so each part names one period.
fn by_period(question: &str) -> Vec<String> {
    let words: Vec<(usize, &str)> = question.unicode_word_indices().collect();
    let mut years: Vec<&str> = Vec::new();
    for (_, w) in &words {
        if kind_of(w) == Some(Kind::Year) && !years.contains(w) {
            years.push(w);
        }
    }
    if years.len() != 2 {
        return Vec::new();
    }
    years
        .iter()
        .map(|year| {
            let mut out = String::new();
            let mut at = 0;
            for (start, w) in &words {
                if kind_of(w) == Some(Kind::Year) {
                    out.push_str(&question[at..*start]);
                    out.push_str(year);
                    at = start + w.len();
                }
            }
            out.push_str(&question[at..]);
            out
        })
        .collect()
}

/// Two names or quarters joined as a pair ("Apple or Microsoft", "Q2 and Q3", "from Q2 to Q3"):
/// one part per member, the pair replaced by it.
fn by_pair(question: &str) -> Vec<String> {
    let words: Vec<(usize, &str)> = question.unicode_word_indices().collect();
    for i in 0..words.len() {
        let (start, first) = words[i];
        let Some(kind) = kind_of(first) else { continue };
        // "X and Y", "X or Y", "X vs Y", "X versus Y", "X compared to Y", "X compared with Y",
        // and "from X to Y".
        let joiners: &[&[&str]] = &[&["and"], &["or"], &["vs"], &["versus"], &["compared", "to"], &["compared", "with"], &["to"]];
        for joiner in joiners {
            let j = i + 1 + joiner.len();
            let Some(&(second_start, second)) = words.get(j) else { continue };
            let joined = joiner.iter().enumerate().all(|(k, w)| words.get(i + 1 + k).is_some_and(|(_, x)| x.eq_ignore_ascii_case(w)));
            let from_to = *joiner == ["to"];
            if !joined || kind_of(second) != Some(kind) || second.eq_ignore_ascii_case(first) {
                continue;
            }
            // "to" joins a pair only after "from": "from Q2 to Q3".
            if from_to && !(i > 0 && words[i - 1].1.eq_ignore_ascii_case("from")) {
                continue;
            }
            let span_start = if from_to { words[i - 1].0 } else { start };
            let span_end = second_start + second.len();
            let (before, after) = (&question[..span_start], &question[span_end..]);
            return [first, second]
                .iter()
                .map(|side| {
                    format!("{before}{side}{after}").split_whitespace().collect::<Vec<_>>().join(" ").replace(" ?", "?").replace(" ,", ",")
                })
                .collect();
        }
    }
    Vec::new()
}

/// What a side of a comparison is: a year, a quarter or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Year,
    Quarter,
    Name,
}

fn kind_of(word: &str) -> Option<Kind> {
    let is_year = word.len() == 4 && word.chars().all(|c| c.is_ascii_digit()) && (1900..2100).contains(&word.parse::<u32>().unwrap_or(0));
    let upper = word.to_ascii_uppercase();
    let is_quarter = matches!(upper.as_str(), "Q1" | "Q2" | "Q3" | "Q4" | "H1" | "H2" | "FY");
    let is_name =
        word.chars().next().is_some_and(char::is_uppercase) && word.chars().count() >= 2 && !word.chars().all(|c| c.is_ascii_digit());
    if is_year {
        Some(Kind::Year)
    } else if is_quarter {
        Some(Kind::Quarter)
    } else if is_name {
        Some(Kind::Name)
    } else {
        None
    }
}

/// The hits of several searches as one list: taken in turn from each list (the whole question's
/// first), without repeats — the same chunk, or one that says again what a hit taken before it
/// said (see [`repeats`]: the parts of "Apple's Q3 2022 and Q3 2023" find each filing's copy of
/// the same paragraph) — at most `k`.
pub(crate) fn interleave(lists: Vec<Vec<Hit>>, k: usize) -> Vec<Hit> {
    let mut out: Vec<(Hit, HashSet<u64>)> = Vec::new();
    let mut iters: Vec<std::vec::IntoIter<Hit>> = lists.into_iter().map(Vec::into_iter).collect();
    while out.len() < k {
        let mut any = false;
        for list in &mut iters {
            for hit in list.by_ref() {
                let own = repeats::sequences(&hit.text);
                if out.iter().any(|(h, earlier)| h.id == hit.id || repeats::repeats(&own, earlier)) {
                    continue;
                }
                out.push((hit, own));
                any = true;
                break;
            }
            if out.len() == k {
                break;
            }
        }
        if !any {
            break;
        }
    }
    out.into_iter().map(|(hit, _)| hit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::test_hit as hit;

    #[test]
    fn comparisons_of_periods_and_names_are_split_into_one_question_per_side() {
        assert_eq!(
            parts("How did net sales in Q3 2022 compare to Q3 2021?"),
            vec!["How did net sales in Q3 2022 compare to Q3 2022?", "How did net sales in Q3 2021 compare to Q3 2021?"]
        );
        assert_eq!(
            parts("Did revenue grow from 2021 to 2022?"),
            vec!["Did revenue grow from 2021 to 2021?", "Did revenue grow from 2022 to 2022?"]
        );
        assert_eq!(
            parts("Which company had higher revenue, Apple or Microsoft?"),
            vec!["Which company had higher revenue, Apple?", "Which company had higher revenue, Microsoft?"]
        );
        assert_eq!(
            parts("Compare the Q2 and Q3 operating income"),
            vec!["Compare the Q2 operating income", "Compare the Q3 operating income"]
        );
        assert!(parts("How many days of annual leave do staff get?").is_empty());
        assert!(parts("What were net sales in 2022?").is_empty(), "one period");
        assert!(parts("What did Apple and its suppliers agree?").is_empty(), "a name and a common word are no pair");
        assert!(parts("Where do I go to 2 meetings?").is_empty());
    }

    #[test]
    fn lists_are_interleaved_without_repeats() {
        let (a, b, c, d) = (hit("/a", "a"), hit("/b", "b"), hit("/c", "c"), hit("/d", "d"));
        let merged = interleave(vec![vec![a.clone(), b.clone()], vec![b.clone(), c.clone()], vec![d.clone()]], 4);
        let paths: Vec<&str> = merged.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, vec!["/a", "/b", "/d", "/c"]);
        assert_eq!(interleave(vec![vec![a, b], vec![c, d]], 3).len(), 3);
    }

    #[test]
    fn a_part_finding_another_filings_copy_of_a_passage_taken_adds_nothing() {
        let said = "Foreign exchange rates did not have a material impact on our results of operations during the quarter.";
        let first = hit("/q3-2022", said);
        let copy = hit("/q3-2023", said);
        let other = hit("/q3-2023", "Revenue was $18,120 million, up 206% from a year ago, led by Data Center.");
        let merged = interleave(vec![vec![first], vec![copy, other]], 3);
        let paths: Vec<&str> = merged.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, vec!["/q3-2022", "/q3-2023"]);
        assert!(merged[1].text.starts_with("Revenue"));
    }
}
