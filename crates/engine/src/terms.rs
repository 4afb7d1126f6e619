//! Distinctive terms: the words of a text that can name a document or a period (proper names,
//! tickers and codes, form types, years, quarters) rather than the words any document uses.
//!
//! The same rules read a document's identity when it is indexed (`pipeline/identity.rs`) and a
//! question when it is asked (`retrieval/documents.rs`), so both sides spell a term alike:
//! "10-Q" and "10Q" are `10q`; "Q3", "3Q", "third quarter" and "drittes Quartal" are `q3`;
//! "FY2023" and "FY23" are `2023`; "Apple's" is `apple`. Every term is one lower-case token of
//! letters and digits, as the identities' BM25 index splits text.
//!
//! Key decision: no list of names. A name is told by its shape (capitalised inside a sentence,
//! all capitals, mixed case, letters then digits), so the rules hold for any company, product,
//! place or person, and in any language that capitalises names. Which terms actually tell
//! documents apart is not decided here but by the documents: how few of them a term names.
//! In a question, a capitalised word that starts a sentence counts only in the possessive
//! ("Apple's …"): otherwise it is "What", "How", "Wie"…, and a question must not name documents
//! by its grammar. In a document's identity every capitalised word counts (titles and cover
//! pages capitalise names at the start of a line too); the question decides which are asked for.

/// How capitalised words at the start of a sentence are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// A question: a capitalised first word is a name only in the possessive.
    Question,
    /// Names, titles, headings, a cover page: every capitalised word may be a name.
    Titles,
}

/// Longest term kept (the identities' index drops longer tokens).
const MAX_TERM_CHARS: usize = 40;

/// The distinctive terms of `text`, each once, in order of appearance.
pub(crate) fn distinctive_terms(text: &str, reading: Reading) -> Vec<String> {
    let words = words(text);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        // "third quarter", "third fiscal quarter", "drittes Quartal": one term, `q3`.
        if let Some((quarter, used)) = ordinal_quarter(&words[i..]) {
            push_unique(&mut out, quarter);
            i += used;
            continue;
        }
        if let Some(term) = term_of(&words[i], reading) {
            push_unique(&mut out, term);
        }
        i += 1;
    }
    out
}

/// `text` without the words that spell one of `terms` ("Apple's", "Q3", "10-Q", "2023"): what a
/// question asks of a document once the terms have chosen the document.
pub(crate) fn without_terms(text: &str, terms: &[String]) -> String {
    let raw: Vec<&str> = text.split_whitespace().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        // "third quarter", "third fiscal quarter": the words of one term.
        let ahead = words(&raw[i..(i + 3).min(raw.len())].join(" "));
        if let Some((quarter, used)) = ordinal_quarter(&ahead)
            && terms.contains(&quarter)
        {
            i += used;
            continue;
        }
        let spelt = distinctive_terms(raw[i], Reading::Titles);
        if spelt.is_empty() || !spelt.iter().all(|t| terms.contains(t)) {
            kept.push(raw[i]);
        }
        i += 1;
    }
    kept.join(" ")
}

fn push_unique(out: &mut Vec<String>, term: String) {
    if term.chars().count() <= MAX_TERM_CHARS && !out.contains(&term) {
        out.push(term);
    }
}

/// A word of the text, as the rules see it.
#[derive(Debug)]
struct Word {
    /// Without surrounding punctuation or a possessive ending.
    text: String,
    lower: String,
    starts_sentence: bool,
    possessive: bool,
    /// A form type or similar code written with a hyphen ("10-Q", "S-1"), joined.
    code: bool,
}

/// The words of `text`: split at white space, stripped of punctuation around them, compounds
/// (hyphens, slashes, dots) cut into their parts unless they are codes or abbreviations.
fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut sentence_start = true;
    for raw in text.split_whitespace() {
        let core = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let ends_sentence = raw.trim_end_matches(['"', '\'', ')', ']', '»', '”', '’']).ends_with(['.', '?', '!']);
        let (core, possessive) = match core.strip_suffix("'s").or_else(|| core.strip_suffix("’s")) {
            Some(stem) => (stem, true),
            None => (core, false),
        };
        // "U.S.": an abbreviation, one word; "AMAZON.COM", "Node.js": two.
        let abbreviation = core.contains('.') && core.split('.').all(|p| p.chars().count() == 1 && p.chars().all(char::is_alphabetic));
        let core = if abbreviation { core.replace('.', "") } else { core.to_string() };
        let core = core.as_str();
        if !core.is_empty() {
            if is_hyphenated_code(core) {
                let joined: String = core.chars().filter(|c| c.is_alphanumeric()).collect();
                out.push(Word { lower: joined.to_lowercase(), text: joined, starts_sentence: sentence_start, possessive, code: true });
            } else {
                let parts = compound_parts(core);
                let last = parts.len().saturating_sub(1);
                for (n, part) in parts.into_iter().enumerate() {
                    out.push(Word {
                        text: part.to_string(),
                        lower: part.to_lowercase(),
                        starts_sentence: sentence_start && n == 0,
                        possessive: possessive && n == last,
                        code: false,
                    });
                }
            }
        }
        sentence_start = ends_sentence;
    }
    out
}

/// The parts of a compound: cut at hyphens, slashes and dots, except a decimal point ("1.5B"
/// stays one figure).
fn compound_parts(word: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, &(at, c)) in chars.iter().enumerate() {
        let decimal_point =
            c == '.' && i > 0 && chars[i - 1].1.is_ascii_digit() && chars.get(i + 1).is_some_and(|(_, next)| next.is_ascii_digit());
        if matches!(c, '-' | '/' | '–' | '—' | '.') && !decimal_point {
            parts.push(&word[start..at]);
            start = at + c.len_utf8();
        }
    }
    parts.push(&word[start..]);
    parts.retain(|p| !p.is_empty());
    parts
}

/// "10-Q", "8-K", "20-F", "S-1", "F-4": digits and one or two letters (or the reverse) around a
/// hyphen, the shape of form types.
fn is_hyphenated_code(word: &str) -> bool {
    let Some((left, right)) = word.split_once('-') else { return false };
    let digits = |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| c.is_ascii_digit());
    let letters = |s: &str| !s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_alphabetic());
    (digits(left) && letters(right)) || (letters(left) && digits(right))
}

/// A quarter written out: an ordinal, optionally "fiscal", then the word for quarter (English,
/// German, French, Spanish). Returns `qN` and the words it took.
fn ordinal_quarter(words: &[Word]) -> Option<(String, usize)> {
    let first = words.first()?;
    let number = ordinal(&first.lower)?;
    let (quarter, used) = match words.get(1) {
        Some(w) if w.lower == "fiscal" || w.lower == "financial" => (words.get(2)?, 3),
        Some(w) => (w, 2),
        None => return None,
    };
    let is_quarter = ["quarter", "quartal", "trimestre"].iter().any(|q| quarter.lower.starts_with(q));
    is_quarter.then(|| (format!("q{number}"), used))
}

fn ordinal(word: &str) -> Option<u8> {
    const ORDINALS: [(u8, &[&str]); 4] = [
        (1, &["first", "1st", "erste", "ersten", "erstes", "erster", "premier", "1er", "primer", "primero"]),
        (2, &["second", "2nd", "zweite", "zweiten", "zweites", "zweiter", "deuxième", "deuxieme", "seconde", "2e", "segundo"]),
        (3, &["third", "3rd", "dritte", "dritten", "drittes", "dritter", "troisième", "troisieme", "3e", "tercer", "tercero"]),
        (4, &["fourth", "4th", "vierte", "vierten", "viertes", "vierter", "quatrième", "quatrieme", "4e", "cuarto"]),
    ];
    ORDINALS.iter().find(|(_, spellings)| spellings.contains(&word)).map(|(n, _)| *n)
}

/// The term a word is, if it is one.
fn term_of(word: &Word, reading: Reading) -> Option<String> {
    let lower = word.lower.as_str();
    if word.code {
        return Some(lower.to_string());
    }
    // Q3, 3Q: a quarter.
    if let Some(n) = quarter_number(lower) {
        return Some(format!("q{n}"));
    }
    if is_year(lower) {
        return Some(lower.to_string());
    }
    // FY2023, FY23: the fiscal year 2023.
    if let Some(year) = lower.strip_prefix("fy").filter(|y| y.chars().all(|c| c.is_ascii_digit())) {
        return match year.len() {
            2 => Some(format!("20{year}")),
            4 if is_year(year) => Some(year.to_string()),
            _ => None,
        };
    }
    let letters: Vec<char> = word.text.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 2 && !(letters.len() == 1 && word.text.chars().any(|c| c.is_ascii_digit())) {
        return None;
    }
    let term: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let first = word.text.chars().next()?;
    if word.text.chars().any(|c| c.is_ascii_digit()) {
        // Letters then digits: a model, a part, a standard (H100, A17, ISO27001). Digits then one
        // or two capitals: a form type or a name (10Q, 8K, 3M, 18F). Other digits first are a
        // figure, a unit or an ordinal ("1.5B", "10am", "3rd").
        let digits = word.text.chars().take_while(char::is_ascii_digit).count();
        let code = (1..=3).contains(&digits)
            && (1..=2).contains(&(word.text.chars().count() - digits))
            && word.text.chars().skip(digits).all(|c| c.is_ascii_uppercase());
        return (first.is_alphabetic() || code).then_some(term);
    }
    let all_capitals = letters.iter().all(|c| c.is_uppercase());
    let inner_capital = letters.iter().skip(1).any(|c| c.is_uppercase());
    if all_capitals || inner_capital {
        return Some(term);
    }
    if !first.is_uppercase() {
        return None;
    }
    match reading {
        Reading::Titles => Some(term),
        Reading::Question => (!word.starts_sentence || word.possessive).then_some(term),
    }
}

fn quarter_number(word: &str) -> Option<char> {
    let mut chars = word.chars();
    let (a, b) = (chars.next()?, chars.next()?);
    if chars.next().is_some() {
        return None;
    }
    match (a, b) {
        ('q', n @ '1'..='4') | (n @ '1'..='4', 'q') => Some(n),
        _ => None,
    }
}

/// "2023": four digits from 1900 to 2099.
pub(crate) fn is_year(word: &str) -> bool {
    word.len() == 4 && (word.starts_with("19") || word.starts_with("20")) && word.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(text: &str) -> Vec<String> {
        distinctive_terms(text, Reading::Question)
    }

    #[test]
    fn a_question_names_companies_periods_and_forms() {
        assert_eq!(question("What was Apple's net sales in Q3 2022?"), vec!["apple", "q3", "2022"]);
        assert_eq!(question("In the third quarter of fiscal 2023, how did AMZN do?"), vec!["q3", "2023", "amzn"]);
        assert_eq!(question("Apple's cash flow as reported in the 10-Q of FY23"), vec!["apple", "10q", "2023"]);
        assert_eq!(question("How did the iPhone and the H100 sell in the first fiscal quarter?"), vec!["iphone", "h100", "q1"]);
        assert_eq!(question("Wie hoch war der Umsatz von Bosch im dritten Quartal 2022?"), vec!["umsatz", "bosch", "q3", "2022"]);
        assert_eq!(question("Quel est le chiffre d'affaires de Danone au deuxième trimestre?"), vec!["danone", "q2"]);
    }

    #[test]
    fn a_question_without_the_terms_that_chose_its_document() {
        let terms = question("Were there any acquisitions reported by Apple in the Q2 2023 10-Q?");
        assert_eq!(terms, ["apple", "q2", "2023", "10q"]);
        let stripped = without_terms("Were there any acquisitions reported by Apple's board in the Q2 2023 10-Q?", &terms);
        assert_eq!(stripped, "Were there any acquisitions reported by board in the");
        let q3 = ["acme".to_string(), "q3".to_string()];
        assert_eq!(without_terms("Acme's sales in the third fiscal quarter of 2023", &q3), "sales in the of 2023");
        // Terms that chose no document stay: they are what the question asks about.
        assert_eq!(without_terms("Intel's Data Center Group revenue", &["intel".to_string()]), "Data Center Group revenue");
    }

    #[test]
    fn a_generic_question_has_no_terms() {
        assert!(question("What is the leave policy?").is_empty());
        assert!(question("How many days of leave do staff get? Is it 27 or 30?").is_empty(), "figures are not names");
        assert!(question("Summarize the risk factors. Then list the 3rd and 4th ones.").is_empty(), "sentence starts, ordinals");
        assert!(question("What changed by $1.5B in 2nd place at 10am, by 2.5%?").is_empty());
    }

    #[test]
    fn identities_read_titles_and_codes_alike() {
        assert_eq!(distinctive_terms("2022 Q3 AAPL", Reading::Titles), vec!["2022", "q3", "aapl"]);
        assert_eq!(
            distinctive_terms("FORM 10-Q Apple Inc. For the quarterly period ended June 25, 2022", Reading::Titles),
            vec!["form", "10q", "apple", "inc", "for", "june", "2022"]
        );
        assert_eq!(distinctive_terms("Leave Policy / Sick-Leave (U.S.)", Reading::Titles), vec!["leave", "policy", "sick", "us"]);
        assert_eq!(distinctive_terms("AT&T's S-1 and Node.js", Reading::Titles), vec!["att", "s1", "node"]);
        assert_eq!(distinctive_terms("AMAZON.COM, INC.", Reading::Titles), vec!["amazon", "com", "inc"]);
        assert_eq!(
            distinctive_terms("Annual Report 10K of 3M (FY2022), revenue $1.5B", Reading::Titles),
            vec!["annual", "report", "10k", "3m", "2022"]
        );
        assert_eq!(question("Did Amazon.com's revenue grow?"), vec!["amazon"]);
    }
}
