//! The breakdown of a run's misses by cause, largest first, so that the next change aims at the
//! largest.

use serde::Serialize;

use super::Outcome;

/// How many questions missed for one cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub outcome: Outcome,
    pub questions: usize,
    /// Of the questions of its group (answerable or unanswerable) the model was asked.
    pub share: f64,
}

/// Every cause of a miss among `outcomes`, largest first; equal counts in decision order.
/// Right outcomes are not misses and are left out.
pub fn misses(outcomes: &[Outcome]) -> Vec<Miss> {
    let group_size = |answerable: bool| outcomes.iter().filter(|o| o.of_answerable() == answerable).count();
    let mut out: Vec<Miss> = Outcome::ALL
        .into_iter()
        .filter(|o| !o.is_right())
        .map(|outcome| {
            let questions = outcomes.iter().filter(|&&o| o == outcome).count();
            Miss { outcome, questions, share: questions as f64 / group_size(outcome.of_answerable()).max(1) as f64 }
        })
        .filter(|m| m.questions > 0)
        .collect();
    // A stable sort keeps `Outcome::ALL`'s decision order among equal counts.
    out.sort_by_key(|m| std::cmp::Reverse(m.questions));
    out
}

/// The breakdown as a Markdown table, one row per cause in the order given.
pub fn misses_table(misses: &[Miss]) -> String {
    if misses.is_empty() {
        return "no misses\n".to_string();
    }
    let mut out = String::from("| miss | questions | share |\n|---|---:|---:|\n");
    for m in misses {
        let group = if m.outcome.of_answerable() { "answerable" } else { "unanswerable" };
        out.push_str(&format!("| {} | {} | {:.0}% of {group} |\n", m.outcome.name(), m.questions, m.share * 100.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Vec<Outcome> {
        use Outcome::*;
        vec![
            Right,
            Right,
            WrongFigure,
            PassageNotRetrieved,
            WrongFigure,
            DocumentNotRetrieved,
            PassageNotRetrieved,
            RefusedByModel,
            Right,
            WrongFigure,
            Refused,
            AnsweredUnanswerable,
            Refused,
            Refused,
        ]
    }

    #[test]
    fn misses_are_counted_largest_first_with_shares_of_their_group() {
        let m = misses(&run());
        let order: Vec<(Outcome, usize)> = m.iter().map(|m| (m.outcome, m.questions)).collect();
        assert_eq!(
            order,
            vec![
                (Outcome::WrongFigure, 3),
                (Outcome::PassageNotRetrieved, 2),
                // Equal counts: in decision order.
                (Outcome::DocumentNotRetrieved, 1),
                (Outcome::RefusedByModel, 1),
                (Outcome::AnsweredUnanswerable, 1),
            ]
        );
        assert!((m[0].share - 0.3).abs() < 1e-9, "3 of 10 answerable: {}", m[0].share);
        assert!((m[4].share - 0.25).abs() < 1e-9, "1 of 4 unanswerable: {}", m[4].share);
    }

    #[test]
    fn the_printed_breakdown_is_largest_first() {
        let table = misses_table(&misses(&run()));
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(
            rows,
            vec![
                "| wrong_figure | 3 | 30% of answerable |",
                "| passage_not_retrieved | 2 | 20% of answerable |",
                "| document_not_retrieved | 1 | 10% of answerable |",
                "| refused_by_model | 1 | 10% of answerable |",
                "| answered_unanswerable | 1 | 25% of unanswerable |",
            ]
        );
        assert_eq!(misses_table(&misses(&[Outcome::Right, Outcome::Refused])), "no misses\n");
    }
}
