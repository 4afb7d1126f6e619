//! Part of stage 1 (prepare): a document's identity, one short text that says what the file is,
//! made while its parse is in memory and stored beside its chunks (the store's `identities`
//! table) for the retrieval stage that finds the documents a question names
//! (`retrieval/documents.rs`).
//!
//! Four lines: the file's name (with the folders it sits in below its registered folder), its
//! title, its headings, and the distinctive terms (see [`crate::terms`]) of these and of its
//! beginning, such as the company on a filing's cover, the period it covers and the form it is.
//! The first three are the document's own naming, which [`naming_terms`] reads back: a term
//! there names the document more surely than one found only on its first page.
//!
//! Key decisions:
//! - The beginning, not the whole text: a document says what it is on its first page (cover,
//!   title block, letterhead), while later pages mention everything (customers, competitors,
//!   other years) and would make every document seem to be about everything.
//! - The beginning only of a long document (at least [`LONG_DOCUMENT_CHARS`]): there the
//!   first page is a cover whose names the passages far from it do not carry, which is what
//!   the identity is for. A short document's beginning is its content (an abstract, a memo, a
//!   handbook page): a question's names found there are what it is about, not what it is, and
//!   its passages are found by them anyway. Measured: with the terms of every abstract's text,
//!   BEIR SciFact's hybrid nDCG@10 fell from 0.707 to 0.671 (claims name genes and years that
//!   many abstracts mention); only titles name an abstract.
//! - Text only, no model: one small text per document (at most about 2 KB), no embedding. A
//!   passage's vector already carries the file's name (the chunker embeds it); the identity is
//!   what lets a question's names pick documents *before* passages are compared.
//! - The terms line spells codes and periods as questions are read ("Form 10-Q" → `10q`, "third
//!   quarter" → `q3`), so that a term found in a question is found in the identity.

use std::collections::HashSet;

use brain_parse::ParsedDocument;

use crate::terms::{Reading, distinctive_terms};

/// Characters of the document's beginning read for terms: about a page.
const BEGINNING_CHARS: usize = 3_000;
/// A document whose text is at least this long has a beginning that is not all of it: about
/// three pages.
const LONG_DOCUMENT_CHARS: usize = 3 * BEGINNING_CHARS;
/// Characters of headings kept.
const HEADINGS_CHARS: usize = 1_000;
/// Characters of the title (or the first line standing for it) kept.
const TITLE_CHARS: usize = 200;
/// Terms kept, in order of appearance.
const MAX_TERMS: usize = 150;
/// The lines of an identity that are the document's own naming (name, title, headings); the
/// last, the terms line, also holds the terms of its beginning.
const NAMING_LINES: usize = 3;

/// The identity of the document `doc` named `name` (its path below its folder, without the
/// extension; an evaluation corpus's document id).
pub(crate) fn identity(name: &str, doc: &ParsedDocument) -> String {
    let headings = headings(doc);
    let title = doc
        .sections
        .iter()
        .find_map(|s| s.context.as_deref())
        .and_then(|c| c.split(" > ").next())
        .or_else(|| doc.sections.iter().flat_map(|s| s.text.lines()).map(str::trim).find(|l| l.chars().any(char::is_alphanumeric)))
        .map(|t| clip(t.trim(), TITLE_CHARS).to_string())
        .unwrap_or_default();
    let mut beginning = String::new();
    let long = doc.sections.iter().map(|s| s.text.len()).sum::<usize>() >= LONG_DOCUMENT_CHARS;
    for section in doc.sections.iter().filter(|_| long) {
        if beginning.len() >= BEGINNING_CHARS {
            break;
        }
        beginning.push_str(clip(&section.text, BEGINNING_CHARS - beginning.len()));
        beginning.push('\n');
    }
    let mut terms = distinctive_terms(&format!("{name}\n{title}\n{}\n{beginning}", headings.join("\n")), Reading::Titles);
    terms.truncate(MAX_TERMS);
    let naming = [name.to_string(), title, headings.join(" · ")].map(|line| line.replace(['\n', '\r'], " "));
    format!("{}\n{}", naming.join("\n"), terms.join(" "))
}

/// The terms an identity holds in its naming lines (name, title, headings), spelt as
/// [`distinctive_terms`] spells them, plus every plain word there: a term found in a document's
/// own name names it more surely than one only found on its first page.
pub(crate) fn naming_terms(identity: &str) -> HashSet<String> {
    let naming = identity.lines().take(NAMING_LINES).collect::<Vec<_>>().join("\n");
    let mut terms: HashSet<String> =
        naming.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    terms.extend(distinctive_terms(&naming, Reading::Titles));
    terms
}

/// The distinct headings of the document, outermost first, in order, within
/// [`HEADINGS_CHARS`].
fn headings(doc: &ParsedDocument) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut chars = 0;
    for heading in doc.sections.iter().filter_map(|s| s.context.as_deref()).flat_map(|c| c.split(" > ")) {
        let heading = heading.trim();
        if heading.is_empty() || out.contains(&heading) {
            continue;
        }
        chars += heading.len();
        if chars > HEADINGS_CHARS {
            break;
        }
        out.push(heading);
    }
    out
}

/// The longest start of `text` of at most `max` bytes that ends on a character boundary.
fn clip(text: &str, max: usize) -> &str {
    let end = (0..=max.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use brain_parse::{Format, Location, Section};

    use super::*;

    fn section(text: &str, page: u32, context: Option<&str>) -> Section {
        Section { text: text.into(), location: Location::page(page), first_line: None, context: context.map(str::to_string) }
    }

    #[test]
    fn a_filing_is_named_by_its_file_its_cover_and_its_period() {
        let cover = "UNITED STATES\nSECURITIES AND EXCHANGE COMMISSION\nFORM 10-Q\nFor the quarterly period ended June 25, 2022\n\
                     Apple Inc.\n(Exact name of Registrant as specified in its charter)";
        let later = "Microsoft and Samsung compete with the Company in fiscal 2019.";
        let doc = ParsedDocument {
            format: Format::Pdf,
            sections: vec![section(cover, 1, None), section(&"x ".repeat(LONG_DOCUMENT_CHARS), 2, None), section(later, 3, None)],
            warnings: vec![],
            tables: Vec::new(),
        };
        let identity = identity("filings/2022 Q3 AAPL", &doc);
        let lines: Vec<&str> = identity.lines().collect();
        assert_eq!(lines[0], "filings/2022 Q3 AAPL");
        assert_eq!(lines[1], "UNITED STATES", "without headings, the first line stands for the title");
        let terms: Vec<&str> = lines[3].split(' ').collect();
        for term in ["2022", "q3", "aapl", "10q", "apple", "june"] {
            assert!(terms.contains(&term), "{term} in {terms:?}");
        }
        for term in ["microsoft", "samsung", "2019"] {
            assert!(!terms.contains(&term), "{term} is beyond the beginning: {terms:?}");
        }
        assert!(identity.len() < 2_500, "{}", identity.len());
        let naming = naming_terms(&identity);
        for term in ["2022", "q3", "aapl", "filings", "united", "states"] {
            assert!(naming.contains(term), "{term} names it: {naming:?}");
        }
        assert!(!naming.contains("apple") && !naming.contains("june"), "on its first page only: {naming:?}");
    }

    #[test]
    fn a_handbook_is_named_by_its_title_and_headings() {
        let doc = ParsedDocument {
            format: Format::Markdown,
            sections: vec![
                section("Staff get 27 days.", 1, Some("Employee Handbook > Annual leave")),
                section("Trains go second class.", 1, Some("Employee Handbook > Travel > Rail")),
            ],
            warnings: vec![],
            tables: Vec::new(),
        };
        let identity = identity("hr/handbook", &doc);
        let lines: Vec<&str> = identity.lines().collect();
        assert_eq!(lines[1], "Employee Handbook");
        assert_eq!(lines[2], "Employee Handbook · Annual leave · Travel · Rail");
        assert!(lines[3].split(' ').any(|t| t == "travel"), "{identity}");
    }

    #[test]
    fn a_short_documents_text_is_its_content_not_its_identity() {
        let abstract_ = "ALDH1 expression in 2001 was measured by Smith in Boston.";
        let doc = ParsedDocument {
            format: Format::Text,
            sections: vec![section(abstract_, 1, Some("Stem cell markers in breast cancer"))],
            warnings: vec![],
            tables: Vec::new(),
        };
        let short = identity("4983", &doc);
        assert_eq!(short.lines().last(), Some("stem"), "only its name and title: {short}");
        // The same text at the head of a long document is its cover.
        let long =
            ParsedDocument { sections: vec![doc.sections[0].clone(), section(&"y ".repeat(LONG_DOCUMENT_CHARS), 2, None)], ..doc.clone() };
        let terms = identity("4983", &long).lines().last().unwrap().to_string();
        assert!(terms.contains("aldh1") && terms.contains("boston") && terms.contains("2001"), "{terms}");
    }
}
