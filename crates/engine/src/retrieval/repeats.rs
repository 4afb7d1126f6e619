//! Repeats: a passage whose words a source already chosen holds is no source of its own. The
//! measure the gate ([`super::gate`]) and the interleaving of a comparison's parts apply.
//!
//! Why: documents of one kind repeat themselves. Every quarterly filing ends in the same
//! certifications ("I have reviewed this quarterly report …"), each quarter's filing says its
//! risks and climate paragraph again word for word, a report's page footer ("See accompanying
//! notes …") is a chunk of its own on every page, and chunks of one file overlap. Measured on
//! the 20 10-Q questions of the README (the first 10 hits of each search), 36 of the 200 hits,
//! in 15 of the questions, held 80 % or more of the word sequences of a hit ranked above them:
//! four copies of one certification were the first four hits of "From Apple's Q3 2023 10-Q, how
//! does the information in the operational expenses section relate …". A copy tells the model nothing new and takes the place, and the share of the
//! prompt, of a passage that might; the answer cites the copy ranked first.
//!
//! A copy is told by its word sequences (three words, lowercased, figures kept): a hit of which
//! [`REPEAT_SHARE`] or more also occurs in a source already chosen. Figures are words, so the
//! same table row of two quarters (other figures) is not a copy; one-sided, so a longer passage
//! that holds a shorter one and more is kept. Against the sources chosen, not every hit ranked
//! above: a copy of a passage the gate left out (its file had given its share) still says
//! something the sources do not. Only an answer's sources are thinned: a search lists every
//! file that holds the words, which is what a search for a phrase is for.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Share of a passage's word sequences that, found in one source already chosen, make it a copy
/// of that source. Measured on the 10-Q sources: copies (a certification in two filings, one with its
/// officer's name, footers that differ in the page number) share 0.83–1.0; passages of two
/// quarters that say the same thing of other figures or events ("The Company's effective tax
/// rate for the second quarter …", "The growth in R&D expense during the first quarter …")
/// 0.3–0.76.
pub(crate) const REPEAT_SHARE: f32 = 0.8;

/// Words taken together: three keeps a copy's share high across a changed name or page number
/// and a reworded passage's low.
const SEQUENCE: usize = 3;

/// The word sequences of a passage, hashed: its words lowercased, split at anything that is
/// not a letter or a digit (so "10-Q" is "10", "q" and "$1,234" is "1", "234").
pub(crate) fn sequences(text: &str) -> HashSet<u64> {
    let words: Vec<String> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let hash = |window: &[String]| {
        let mut hasher = DefaultHasher::new();
        window.hash(&mut hasher);
        hasher.finish()
    };
    if words.len() < SEQUENCE {
        return if words.is_empty() { HashSet::new() } else { HashSet::from([hash(&words)]) };
    }
    words.windows(SEQUENCE).map(hash).collect()
}

/// Whether a passage of `later` sequences says again what one of `earlier` sequences said.
pub(crate) fn repeats(later: &HashSet<u64>, earlier: &HashSet<u64>) -> bool {
    if later.is_empty() {
        return false;
    }
    let shared = later.iter().filter(|s| earlier.contains(s)).count();
    shared as f32 >= REPEAT_SHARE * later.len() as f32
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const CERTIFICATION: &str = "Exhibit 31.1 CERTIFICATION I, {officer}, certify that: 1. I have reviewed this \
        quarterly report on Form 10-Q of {company}; 2. Based on my knowledge, this report does not contain any \
        untrue statement of a material fact or omit to state a material fact necessary to make the statements \
        made, in light of the circumstances under which such statements were made, not misleading with respect \
        to the period covered by this report; 3. Based on my knowledge, the financial statements, and other \
        financial information included in this report, fairly present in all material respects the financial \
        condition, results of operations and cash flows of the registrant.";

    pub(crate) fn certification(officer: &str, company: &str) -> String {
        CERTIFICATION.replace("{officer}", officer).replace("{company}", company)
    }

    fn copies(later: &str, earlier: &str) -> bool {
        repeats(&sequences(later), &sequences(earlier))
    }

    #[test]
    fn a_certification_signed_by_another_officer_or_company_is_a_copy() {
        let first = certification("Timothy D. Cook", "Apple Inc.");
        assert!(copies(&certification("Luca Maestri", "Apple Inc."), &first));
        assert!(copies(&certification("Andrew R. Jassy", "Amazon.com, Inc."), &first));
        assert!(!copies("Total operating expenses increased 5% to $13,415 million, driven by research and development.", &first));
    }

    #[test]
    fn page_footers_that_differ_in_their_number_are_copies() {
        let footer = |page: u32| format!("See accompanying notes to consolidated financial statements.\n{page}");
        assert!(copies(&footer(4), &footer(3)));
    }

    #[test]
    fn the_same_row_of_another_period_or_the_same_words_of_other_figures_are_not() {
        assert!(!copies(
            "Net income | Three Months Ended October 29, 2023: $9,243 | Three Months Ended October 30, 2022: $680",
            "Net income | Three Months Ended July 30, 2023: $6,188 | Three Months Ended July 31, 2022: $656",
        ));
        assert!(!copies(
            "The Company's effective tax rate for the third quarter of 2022 was higher compared to the same quarter \
             of 2021 due primarily to a higher effective tax rate on foreign earnings and the impact of U.S. rules.",
            "The Company's effective tax rate for the second quarter of 2023 was lower than the statutory federal \
             income tax rate due primarily to a lower effective tax rate on foreign earnings.",
        ));
    }

    #[test]
    fn a_passage_holding_a_shorter_one_and_more_is_not_its_copy_but_the_shorter_is() {
        let short = "Forward-looking statements are not guarantees of future performance and actual results may differ.";
        let long = format!("{short} Risks include supply constraints on new products, competition and currency moves in Asia.");
        assert!(!copies(&long, short));
        assert!(copies(short, &long));
    }

    #[test]
    fn short_and_empty_passages() {
        assert!(copies("Total", "Total"));
        assert!(!copies("Total", "Net sales"));
        assert!(!copies("", ""));
        assert!(!copies("— | —", "anything at all here"));
        // Punctuation and case are not words.
        assert_eq!(sequences("Net  sales, TOTAL."), sequences("net sales total"));
    }
}
