//! The groundedness check: every claim of an answer against the passages it was made from,
//! independent of the model that wrote it.
//!
//! The answer is cut into claims (sentences, list items). A claim is supported by a source when
//! 1. every figure in it (number, amount, percentage, date part) occurs in that source, compared
//!    as numbers ("$1,577 million", "1577.00" and "1,577" are the same figure), and every proper
//!    name in it occurs in that source, its place or what its document is (a computed result's
//!    figures and names may come from several sources), and
//! 2. it is close in meaning to a sentence of that source (cosine similarity of the embedder's
//!    vectors, the model already loaded for retrieval) — for a claim stating figures, a long
//!    sentence is as close as its clause that holds them ([`parts_of`]).
//!
//! A claim stating a result the engine computed (`answer::arithmetic`) needs its operands in
//! the sources rather than its result; and a change it computed, `(a − b) / b`, needs its two
//! figures to be one thing at two times — one row or sentence, or rows of one line item
//! ([`compare_like`]): both figures being somewhere in the sources is not enough.
//!
//! Claims are read with their question. A terse claim — a figure, a name, a date, "Yes, …" — says
//! nothing on its own ("37" is close in meaning to no sentence), so its meaning is that of the
//! question answered by it ("How many vans run from the depot? 37"); its own figures and words
//! must still be in the source, so a wrong figure is still caught.
//!
//! Not every claim counts the same: the claims that answer the question do — the first one (the
//! prompt asks for the answer first) and any that is at least as close to the question. They
//! decide whether the answer is shown and what `grounded` says; sentences copied from a source
//! around them neither rescue an unsupported answer nor pad its score.
//!
//! A claim supported by a source it did not cite gets that citation; a claim no source supports
//! is marked unsupported. Sentences that repeat the prompt's own instructions are dropped. The
//! caller decides what an answer whose answering claims are unsupported becomes.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;
use whichlang::Lang;

use crate::citations::CitationSpan;
use crate::error::{EngineError, Result};
use crate::inference::EmbedText;
use crate::languages;
use crate::retrieval::Hit;

/// Least cosine similarity between a claim and a sentence of its source. MiniLM puts a faithful
/// paraphrase of a sentence around 0.6–0.9 and a sentence on the same topic that says something
/// else around 0.3–0.5; the tests in `tests/e2e.rs` hold both sides of the line.
pub const MIN_CLAIM_SIMILARITY: f32 = 0.55;
/// Below this similarity a claim also needs its own words in the source: at least half of its
/// content words. A small model that pins a figure of the sources on another subject ("the meal
/// allowance is 0.42", when 0.42 is the mileage rate) reads close to the source in meaning but
/// shares none of its subject's words.
pub const STRONG_CLAIM_SIMILARITY: f32 = 0.8;
const MIN_WORD_COVERAGE: f32 = 0.5;
/// Least similarity between a claim and a table row's cell that holds its figure, names its line
/// item and its period: "The value of Apple's inventories on June 25, 2022 was $5,433 million"
/// reads only so close to "Current assets: Inventories, June 25, 2022: 5,433".
pub const MIN_ROW_CLAIM_SIMILARITY: f32 = 0.4;

/// One claim of an answer and what supports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Claim {
    /// The claim as the answer states it (without its citation markers).
    pub text: String,
    /// Where it is in the answer's text (byte offsets, markers included).
    pub start: usize,
    pub end: usize,
    pub supported: bool,
    /// The sources (their numbers) that support it; for an unsupported claim, those it cited.
    pub sources: Vec<usize>,
    /// The source sentence closest to the claim.
    pub evidence: Option<String>,
    /// The claim answers the question (the first claim, or one at least as close to the
    /// question): such claims decide whether the answer is shown.
    #[serde(default)]
    pub answers: bool,
}

/// The outcome of the check.
impl Claim {
    /// The figures in `text` as the check compares them: numbers with their grouping and
    /// trailing zeros removed ("$1,577.00 million" → "1577"). For evaluations that grade
    /// answers by their figures the same way.
    pub fn figures_in(text: &str) -> HashSet<String> {
        figures(text)
    }

    /// The evidence as a viewer marks it: a source "sentence" runs on across the lines of a
    /// table (rows end without a full stop), so of its lines only those sharing the most of the
    /// claim's names and figures (words of four letters or more, numbers) are kept — the row the
    /// claim states, not its neighbours. Prose, one line, is kept whole.
    pub fn evidence_lines(&self) -> Vec<String> {
        let Some(evidence) = &self.evidence else { return Vec::new() };
        // One line, or one sentence a PDF wrapped across lines: marked whole.
        if crate::wrapped::logical_lines(evidence).len() <= 1 {
            return vec![evidence.clone()];
        }
        let lines: Vec<&str> = evidence.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let telling = |text: &str| -> HashSet<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 4 || w.chars().any(|c| c.is_ascii_digit()))
                .map(str::to_lowercase)
                .collect()
        };
        let claimed = telling(&self.text);
        let shared: Vec<usize> = lines.iter().map(|l| telling(l).intersection(&claimed).count()).collect();
        let best = shared.iter().copied().max().unwrap_or(0);
        if best == 0 {
            return vec![evidence.clone()];
        }
        lines.iter().zip(&shared).filter(|(_, n)| **n == best).map(|(l, _)| l.to_string()).collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Grounding {
    /// The answer with instruction echoes dropped and missing citations added.
    pub answer: String,
    pub claims: Vec<Claim>,
    /// The model said the sources do not hold the answer (and claimed nothing else).
    pub refused: bool,
}

impl Grounding {
    /// The share of the answering claims the sources support; `None` when there is no claim.
    pub fn grounded(&self) -> Option<f32> {
        let answering: Vec<&Claim> = self.claims.iter().filter(|c| c.answers).collect();
        (!answering.is_empty()).then(|| answering.iter().filter(|c| c.supported).count() as f32 / answering.len() as f32)
    }

    /// Whether some claim answers the question and none of those is supported.
    pub fn answer_unsupported(&self) -> bool {
        let mut answering = self.claims.iter().filter(|c| c.answers).peekable();
        answering.peek().is_some() && answering.all(|c| !c.supported)
    }
}

/// A piece of the answer that may be a claim: its span and its text without markers.
struct Piece {
    start: usize,
    end: usize,
    text: String,
    cited: Vec<usize>,
}

/// The question an answer answers, and what each source's document is.
#[derive(Debug, Default)]
pub(crate) struct Asked<'a> {
    pub question: &'a str,
    /// Each source's document identity by path (its name, title, headings and the names and
    /// periods of its first page; `pipeline/identity.rs`): a passage of a filing's table rarely
    /// names the company or the quarter, its document does.
    pub documents: HashMap<String, String>,
}

#[cfg(test)]
impl<'a> Asked<'a> {
    /// A question with no document identities at hand.
    pub(crate) fn question(question: &'a str) -> Asked<'a> {
        Asked { question, documents: HashMap::new() }
    }
}

/// Check `answer` against `sources` (numbered 1.. in order). `refusal` is the sentence a model
/// writes when the sources do not hold the answer; `instructions`, the prompt's own rules. An
/// embedder that fails fails the check: every claim would otherwise read as unsupported.
/// `computed`: results the engine computed from the answer's calculations (see
/// `answer::arithmetic`); no source holds them, so a claim stating one needs its operands in
/// the sources it draws on instead (in one source or across several).
pub(crate) fn check(
    answer: &str,
    asked: &Asked,
    sources: &[Hit],
    embedder: &dyn EmbedText,
    refusal: &str,
    instructions: &str,
    computed: &HashSet<String>,
) -> Result<Grounding> {
    let pieces = pieces(answer);
    let instruction_words = words(instructions);
    let mut kept: Vec<Piece> = Vec::new();
    let mut refused = false;
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    for piece in pieces {
        if is_refusal(&piece.text, refusal) {
            refused = true;
            kept.push(piece);
            continue;
        }
        if echoes(&piece.text, &instruction_words) {
            dropped.push((piece.start, piece.end));
            continue;
        }
        kept.push(piece);
    }
    let claims: Vec<&Piece> = kept.iter().filter(|p| is_claim(&p.text) && !is_refusal(&p.text, refusal)).collect();

    // Embed every claim and every source sentence in one call (nothing when there is no claim:
    // a refusal needs no model).
    let source_sentences: Vec<Vec<(String, Option<RowFact>)>> =
        if claims.is_empty() { vec![Vec::new(); sources.len()] } else { sources.iter().map(|s| sentences(&s.text)).collect() };
    let question = asked.question.trim();
    let mut texts: Vec<String> = Vec::new();
    if !claims.is_empty() {
        texts.push(question.to_string());
        texts.extend(claims.iter().map(|c| as_read(&c.text, question, computed)));
    }
    for list in &source_sentences {
        texts.extend(list.iter().map(|(text, _)| text.clone()));
    }
    // A long sentence is also read by its parts that state a claim's figures (only those are
    // compared with a claim: embedding the others would be work for nothing).
    let claims_figures: Vec<HashSet<String>> = claims.iter().map(|c| figures(&c.text)).filter(|f| !f.is_empty()).collect();
    let source_parts: Vec<Vec<Part>> = source_sentences
        .iter()
        .map(|list| {
            let parts = parts_of(list).into_iter().filter(|part| claims_figures.iter().any(|f| f.is_subset(&part.figures)));
            parts.take(MOST_PARTS).collect()
        })
        .collect();
    for list in &source_parts {
        texts.extend(list.iter().map(|part| part.text.clone()));
    }
    let mut sentence_vectors = if texts.is_empty() { Vec::new() } else { embedder.embed_queries(&texts)? };
    if sentence_vectors.len() != texts.len() {
        return Err(EngineError::Internal(format!("the embedder gave {} vectors for {} texts", sentence_vectors.len(), texts.len())));
    }
    let question_vector = if claims.is_empty() { Vec::new() } else { sentence_vectors.remove(0) };
    let claim_vectors: Vec<Vec<f32>> = sentence_vectors.drain(..claims.len()).collect();
    // The first claim answers (the prompt asks for the answer first), and so does any claim at
    // least as close to the question.
    let closeness: Vec<f32> = claim_vectors.iter().map(|v| embedder.calibrate(dot(v, &question_vector))).collect();
    let answers = |i: usize| i == 0 || closeness[i] >= closeness[0];
    let mut per_source: Vec<Vec<Vec<f32>>> = Vec::new();
    for list in &source_sentences {
        let rest = sentence_vectors.split_off(list.len().min(sentence_vectors.len()));
        per_source.push(std::mem::replace(&mut sentence_vectors, rest));
    }
    let mut parts_per_source: Vec<Vec<Vec<f32>>> = Vec::new();
    for list in &source_parts {
        let rest = sentence_vectors.split_off(list.len().min(sentence_vectors.len()));
        parts_per_source.push(std::mem::replace(&mut sentence_vectors, rest));
    }
    // A source's figures, and the years its context names: a table's rows are dated by their
    // headers ("December 31, 2022"), the filing they stand in by its name ("2023 Q1 AAPL"), and a
    // claim may date a figure either way ("in the first quarter of 2023").
    let figures_of: Vec<HashSet<String>> = sources
        .iter()
        .map(|s| {
            let mut found = figures(&s.text);
            found.extend(figures(s.context.as_deref().unwrap_or("")).into_iter().filter(|f| crate::terms::is_year(f)));
            found
        })
        .collect();
    // What each source is, lower-cased: its text, its place (headings, file) and its document's
    // identity. Names are looked for there.
    let about: Vec<String> = sources
        .iter()
        .map(|s| {
            let document = asked.documents.get(&s.path).map_or("", String::as_str);
            format!("{} {} {} {}", s.text, s.context.as_deref().unwrap_or(""), path_words(&s.path), document).to_lowercase()
        })
        .collect();
    let names_in = about.join(" ");
    // Each source's language, and the answer's: a terse claim read with its question in
    // another language than its source's is compared as a question with a passage across
    // languages (`calibrate_across_languages`); a claim that is a statement of its own stays on
    // the plain scale (two statements lose little to the change of language). Only a
    // multilingual embedder compares across languages at all.
    let across = embedder.reads_across_languages();
    let source_languages: Vec<Option<Lang>> =
        sources.iter().map(|s| if across { languages::passage_language(&s.text) } else { None }).collect();
    let question_language = languages::asked_in(embedder, question);
    // Told from the whole answer, not claim by claim: a sentence of a few words is the language
    // identifier's weakest case, and an English claim taken for another language would skip the
    // word check below. A terse claim is read with its question: the question's language.
    let answer_language = if across { languages::short_text_language(answer).or(question_language) } else { None };
    let asked_words = question.to_lowercase();

    // A claim read with its question states the question too: "37" says "37 electric vans run
    // from the Dunmore depot", so the question's names and figures must be in the source or in
    // what its document is. Otherwise a figure of the right kind from another company, period
    // or place ("$81,797" for Tesla's revenue, from Apple's filing) would pass.
    let mut question_names: Vec<String> = names(question).iter().map(|n| n.to_lowercase()).collect();
    // German capitalises every noun, so its capitals are not all names: a question's noun that
    // no source holds as written ("Sächsischen Gärten" where they say "Sächsischer Garten") is
    // phrased otherwise, not a name a terse answer's source must hold ("Ogród Saski" answering
    // what the Saxon Garden is called in Polish). Names the sources do hold are still required
    // of the source that answers. (A claim's own capitals stay names: letting a claim that
    // restates its question leave out the question's nouns showed four more right German
    // answers and two more wrong ones of ten unanswerable questions — README.)
    let nouns_capitalized = languages::capitalizes_nouns(&format!("{question} {answer}"));
    // Likewise a question asked in another language than every source's: its names that no
    // source holds are written in its language ("Jardín Sajón", "Warschau" over sources that say
    // "Saxon Garden", "Warsaw"); names the sources hold ("Tesla", "Panthers") are still required.
    let asked_across = across
        && !source_languages.iter().any(|l| l.is_some() && *l == question_language)
        && source_languages.iter().any(|l| languages::differ(question_language, *l));
    if nouns_capitalized || asked_across {
        question_names.retain(|n| named_in(&names_in, n));
    }
    let question_figures = figures(question);
    let states_question: Vec<bool> = about
        .iter()
        .map(|a| question_names.iter().all(|n| named_in(a, n)) && (question_figures.is_empty() || question_figures.is_subset(&figures(a))))
        .collect();

    let mut out_claims = Vec::new();
    let mut additions: Vec<(usize, usize)> = Vec::new(); // (insert at, source number)
    let all_figures: HashSet<String> = figures_of.iter().flatten().cloned().collect();
    let all_sentences: Vec<&(String, Option<RowFact>)> = source_sentences.iter().flatten().collect();
    for (i, piece) in claims.iter().enumerate() {
        let mut claim_figures = figures(&piece.text);
        let stated = StatedClaim::new(claim_figures.clone(), as_read(&piece.text, question, computed));
        let terse = is_terse(&piece.text);
        // A computed result is the engine's; its operands (the claim's other figures) may come
        // from several sources.
        let is_computed = claim_figures.iter().any(|f| computed.contains(f));
        claim_figures.retain(|f| !computed.contains(f));
        let operands_found = is_computed && claim_figures.is_subset(&all_figures);
        // A change it computed compares one thing at two times: its two figures must be that.
        let changes_compare_like = !is_computed
            || crate::answer::arithmetic::formulas_in(&piece.text)
                .into_iter()
                .filter_map(crate::answer::arithmetic::change_compares)
                .all(|(later, earlier)| compare_like(&later, &earlier, &all_sentences));
        // A name that opens the claim is told from "The" by the question: "Netflix held …"
        // answering "How much cash did Netflix hold?" names Netflix. So is the first word of a
        // name of several words: "Kingston Lane Freight [1]" names Kingston, which a source
        // holding only "Harbor Lane Freight" lacks.
        let mut claim_names = names(&piece.text);
        let mut words = piece.text.unicode_words().map(|w| w.trim_end_matches("'s"));
        if let Some(first) = words.next() {
            let named_by_question = question_names.iter().any(|n| n.eq_ignore_ascii_case(first));
            let opens_a_name = words.next().is_some_and(|second| claim_names.first().is_some_and(|n| n == second))
                && first.chars().next().is_some_and(char::is_uppercase)
                && !opens_sentences(first);
            if named_by_question || opens_a_name {
                claim_names.push(first.to_string());
            }
        }
        // A claim rests on one source: the names it states are that source's (in its text, its
        // place or what its document is), or a sentence of Microsoft's filing would support a
        // claim about NVIDIA whose name only another source holds. A computed result's operands
        // may come from several sources, and so may its names.
        //
        // A claim in another language than its source restates its question in the question's
        // words ("Die Firma erstattet … für ein Hotel in einer Hauptstadt" over "the company
        // refunds … in capital cities"): the question's capitalised words that no source holds
        // are its language's (German nouns, names translated), not names the source must hold;
        // a name the claim brings itself, or one some source holds, still is.
        let reads_question = (terse || is_computed) && !question.is_empty();
        let claim_language = if reads_question { question_language } else { answer_language };
        let required = |n: &&String, s: usize| {
            !(languages::differ(claim_language, source_languages[s]) && named_in(&asked_words, n) && !named_in(&names_in, n))
        };
        let names_ok_in =
            |s: usize| claim_names.iter().filter(|n| required(n, s)).all(|n| named_in(if is_computed { &names_in } else { &about[s] }, n));
        // The best source: figures all present, then one holding the claim's names, then closest
        // in meaning; cited sources first. (source, similarity with the cited bonus, sentence,
        // whether it is a table row's whose figures and period the claim states, whether the
        // source holds the claim's names)
        let mut best: Option<(usize, f32, String, bool, bool)> = None;
        for (s, sentences) in source_sentences.iter().enumerate() {
            if !(operands_found || claim_figures.is_subset(&figures_of[s])) || (reads_question && !states_question[s]) {
                continue;
            }
            let names_here = names_ok_in(s);
            let Some(claim_vector) = claim_vectors.get(i) else { continue };
            for (j, v) in per_source[s].iter().enumerate() {
                if let Some(fact) = &sentences[j].1
                    && !is_computed
                    && !fact.supports(&stated)
                {
                    continue;
                }
                // A long sentence is as close to a claim as its part that states the claim's
                // figures: the sentence's other clauses dilute its vector, not what that clause
                // says (see `parts_of`).
                let cosine = source_parts[s]
                    .iter()
                    .zip(&parts_per_source[s])
                    .filter(|(part, _)| part.of == j && !is_computed && !claim_figures.is_empty() && claim_figures.is_subset(&part.figures))
                    .map(|(_, part)| dot(claim_vector, part))
                    .fold(dot(claim_vector, v), f32::max);
                let similarity =
                    embedder.calibrate_question(cosine, reads_question && languages::differ(claim_language, source_languages[s]));
                let cited_bonus = if piece.cited.contains(&(s + 1)) { 0.05 } else { 0.0 };
                if best.as_ref().is_none_or(|(_, b, _, _, named)| (names_here, similarity + cited_bonus) > (*named, *b)) {
                    let states_its_period = sentences[j].1.as_ref().is_some_and(|fact| fact.states_its_period(&stated.figures));
                    best = Some((s, similarity + cited_bonus, sentences[j].0.clone(), states_its_period, names_here));
                }
            }
        }
        let supported = best.as_ref().is_some_and(|(s, sim, sentence, row_with_its_period, names_here)| {
            if !names_here {
                return false;
            }
            let sim = sim - if piece.cited.contains(&(s + 1)) { 0.05 } else { 0.0 };
            // A table row's cell has already shown the claim's figure, its line item and its
            // period or date (`RowFact`); meaning only has to agree, not match a sentence a
            // row never reads like.
            let least = if *row_with_its_period { MIN_ROW_CLAIM_SIMILARITY } else { MIN_CLAIM_SIMILARITY };
            // A terse claim reads close to its source through its question: its own words
            // must be there too, whatever the similarity.
            // The source's words include its context: a table's title and units ("Apple Inc.
            // … (In millions)") stand in its heading, not in each row.
            let source = &sources[*s];
            // A claim in the question's language checked against a source in its own (a
            // multilingual embedder): their words cannot be compared, so meaning must agree
            // as closely as a same-language claim's with its words found; its figures and
            // names are still required in the source (above).
            let coverage =
                if across && (languages::differ(claim_language, source_languages[*s]) || words_incomparable(&piece.text, sentence)) {
                    1.0
                } else {
                    word_coverage(&piece.text, &format!("{} {}", source.text, source.context.as_deref().unwrap_or("")))
                };
            if is_computed {
                sim >= MIN_CLAIM_SIMILARITY && changes_compare_like
            } else if terse {
                sim >= least && coverage >= MIN_WORD_COVERAGE
            } else {
                sim >= STRONG_CLAIM_SIMILARITY || (sim >= least && coverage >= MIN_WORD_COVERAGE)
            }
        });
        let (sources_of_claim, evidence) = match (&best, supported) {
            (Some((s, _, sentence, _, _)), true) => {
                let n = s + 1;
                if !piece.cited.contains(&n) {
                    additions.push((piece.end, n));
                }
                let mut list = vec![n];
                list.extend(piece.cited.iter().copied().filter(|&c| c != n && c <= sources.len()));
                if is_computed {
                    // "computed from [2] and [3]": every source holding an operand.
                    let holders = (0..sources.len()).filter(|&o| claim_figures.iter().any(|f| figures_of[o].contains(f)));
                    list.extend(holders.map(|o| o + 1).filter(|o| *o != n));
                    list.sort_unstable();
                    list.dedup();
                }
                (list, Some(sentence.clone()))
            }
            (best, _) => (piece.cited.clone(), best.as_ref().map(|(_, _, s, _, _)| s.clone())),
        };
        out_claims.push(Claim {
            text: piece.text.clone(),
            start: piece.start,
            end: piece.end,
            supported,
            sources: sources_of_claim,
            evidence,
            answers: answers(i),
        });
    }

    let refused = refused && out_claims.is_empty();
    let answer = rewrite(answer, &dropped, &additions);
    // Claims' places in the rewritten answer.
    let claims = relocate(&answer, out_claims);
    Ok(Grounding { answer, claims, refused })
}

/// Fewer content words than this make a claim terse: read with its question.
const TERSE_WORDS: usize = 5;

/// A claim that says little on its own: a figure, a name, a date, a short phrase, or one that
/// opens with "yes" or "no" ("Yes, it is capital-intensive").
fn is_terse(claim: &str) -> bool {
    let words: Vec<&str> = claim.unicode_words().collect();
    let opens_yes_no = words.first().is_some_and(|w| w.eq_ignore_ascii_case("yes") || w.eq_ignore_ascii_case("no"));
    words.len() < TERSE_WORDS || opens_yes_no
}

/// A claim as its meaning is compared: a terse one, or one stating a computed result (which
/// reads like no sentence of a source), with its question before it.
fn as_read(claim: &str, question: &str, computed: &HashSet<String>) -> String {
    let states_a_result = figures(claim).iter().any(|f| computed.contains(f));
    if (is_terse(claim) || states_a_result) && !question.is_empty() { format!("{question} {claim}") } else { claim.to_string() }
}

/// The answer without the dropped spans and with " [n]" added after claims that lacked it.
fn rewrite(answer: &str, dropped: &[(usize, usize)], additions: &[(usize, usize)]) -> String {
    let mut edits: Vec<(usize, usize, String)> = dropped.iter().map(|&(a, b)| (a, b, String::new())).collect();
    for &(at, n) in additions {
        // After the sentence's own punctuation would read "... weeks. [1]": put it before.
        let before_punctuation = answer[..at].trim_end().trim_end_matches(['.', '!', '?', ';', ':']).len();
        edits.push((before_punctuation, before_punctuation, format!(" [{n}]")));
    }
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = String::with_capacity(answer.len() + 16);
    let mut at = 0;
    for (start, end, text) in edits {
        if start < at {
            continue;
        }
        out.push_str(&answer[at..start]);
        out.push_str(&text);
        at = end;
    }
    out.push_str(&answer[at..]);
    out.split('\n').map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string()
}

/// Find each claim's text again in the rewritten answer (in order) for its offsets.
fn relocate(answer: &str, claims: Vec<Claim>) -> Vec<Claim> {
    let mut from = 0;
    claims
        .into_iter()
        .map(|mut c| {
            let first_word = c.text.split_whitespace().next().unwrap_or("");
            if let Some(at) = answer[from..].find(first_word).map(|i| from + i) {
                let end = pieces(&answer[at..]).first().map_or(answer.len(), |p| at + p.end);
                c.start = at;
                c.end = end.max(at);
                from = c.end;
            }
            c
        })
        .collect()
}

/// The answer cut into sentences and list items; citation markers at the start of a piece (as
/// in "… weeks. [1] The …") belong to the piece before it.
fn pieces(answer: &str) -> Vec<Piece> {
    let markers = CitationSpan::find(answer);
    let mut out: Vec<Piece> = Vec::new();
    let mut offset = 0;
    for line in answer.split_inclusive('\n') {
        // A list item's number would be a "sentence" of its own ("1.") to the segmenter.
        let marker = line.len() - strip_list_marker(line).len();
        for (i, sentence) in line[marker..].split_sentence_bound_indices() {
            let (start, end) = (offset + marker + i, offset + marker + i + sentence.len());
            let mut cited: Vec<usize> = Vec::new();
            let mut plain = String::new();
            let mut at = start;
            let mut leading = true;
            for m in markers.iter().filter(|m| m.start >= start && m.end <= end) {
                let between = &answer[at..m.start];
                if leading && between.trim().is_empty() {
                    // Leading markers cite the previous piece.
                    if let Some(previous) = out.last_mut() {
                        previous.cited.extend(&m.sources);
                        previous.end = m.end;
                        at = m.end;
                        continue;
                    }
                }
                leading = false;
                plain.push_str(between);
                cited.extend(&m.sources);
                at = m.end;
            }
            plain.push_str(&answer[at..end]);
            let text = tidy(strip_list_marker(plain.trim()));
            if text.chars().any(char::is_alphanumeric) {
                out.push(Piece { start, end, text, cited });
            } else if let Some(previous) = out.last_mut() {
                previous.cited.extend(cited);
            }
        }
        offset += line.len();
    }
    for p in &mut out {
        p.cited.sort_unstable();
        p.cited.dedup();
    }
    out
}

/// One space between words, none before punctuation (where a marker was taken out).
fn tidy(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    [" .", " ,", " ;", " :", " !", " ?"].iter().fold(joined, |t, p| t.replace(p, &p[1..]))
}

fn strip_list_marker(text: &str) -> &str {
    let t = text.trim_start();
    // A bullet is followed by a space: "-5%" keeps its sign.
    let t = t.strip_prefix(['-', '*', '•']).filter(|rest| rest.starts_with(' ')).map(str::trim_start).unwrap_or(t);
    match t.split_once(['.', ')']) {
        Some((n, rest)) if !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()) && rest.starts_with(' ') => {
            rest.trim_start()
        }
        _ => t,
    }
}

/// A piece that states something: a figure ("27 days"), a few words, or a one-word answer.
fn is_claim(text: &str) -> bool {
    // A one-word answer ("37", "Dunmore", "Yes") is a claim too, read with its question; a lone
    // filler word or a label the model wrote before its answer is not.
    const FILLER: &[&str] = &["sure", "okay", "ok", "answer", "note", "sources", "source", "question"];
    let words: Vec<String> = text.unicode_words().map(str::to_lowercase).collect();
    !figures(text).is_empty() || words.len() >= 3 || words.iter().any(|w| w.chars().count() >= 2 && !FILLER.contains(&w.as_str()))
}

fn is_refusal(text: &str, refusal: &str) -> bool {
    let t = text.to_lowercase();
    t.contains(&refusal.to_lowercase().trim_end_matches('.').to_string()) || t.contains("could not find this in your documents")
}

fn words(text: &str) -> HashSet<String> {
    text.unicode_words().map(str::to_lowercase).filter(|w| w.len() > 2).collect()
}

/// A sentence made mostly of the prompt's own words (a small model repeating its instructions).
fn echoes(text: &str, instructions: &HashSet<String>) -> bool {
    let mine: Vec<String> = text.unicode_words().map(str::to_lowercase).filter(|w| w.len() > 2).collect();
    if mine.len() < 4 || instructions.is_empty() {
        return false;
    }
    let shared = mine.iter().filter(|w| instructions.contains(*w)).count();
    shared * 10 >= mine.len() * 7
        && mine.iter().any(|w| ["cite", "source", "sources", "brackets", "context", "answer"].contains(&w.as_str()))
}

/// A source's sentences (and, for a short one, the whole of it), each with what it states when
/// it comes from a table row whose cells name their columns ("Net income | Three Months Ended
/// July 30, 2023: 6,188 | …", as PDF tables are written). Such a row is also read cell by cell,
/// each cell with the row's label ("Net income, Three Months Ended July 30, 2023: 6,188"): a claim
/// states one figure of a row, and is close in meaning to that cell, not to the row of four
/// periods.
fn sentences(text: &str) -> Vec<(String, Option<RowFact>)> {
    let mut out: Vec<(String, Option<RowFact>)> = Vec::new();
    // Prose whole across the lines a PDF wrapped it at: a claim is close to the sentence, not to
    // the half of it on one line.
    for line in crate::wrapped::logical_lines(text) {
        if let Some(row) = crate::table_row::Row::parse(line) {
            let value = |cell: &str| figures(crate::table_row::value(cell));
            let item = row.item().to_string();
            let row_values = row.cells.iter().flat_map(|c| value(c)).collect();
            out.push((line.to_string(), Some(RowFact::new(&item, row_values, line))));
            for cell in row.cells {
                let sentence = format!("{}, {cell}", row.label);
                let fact = RowFact::new(&item, value(cell), &sentence);
                out.push((sentence, Some(fact)));
            }
            continue;
        }
        for s in crate::wrapped::sentences(line) {
            if s.split_whitespace().count() >= 3 {
                out.push((s.to_string(), None));
            }
        }
    }
    // Table rows split across lines: a window of two lines catches a row and its heading (kept
    // on two lines: a viewer marks the one the claim states, `Claim::evidence_lines`).
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !crate::table_row::names_its_columns(l)).collect();
    for pair in lines.windows(2) {
        if pair.iter().all(|l| l.chars().any(|c| c.is_ascii_digit())) {
            out.push((format!("{}\n{}", pair[0], pair[1]), None));
        }
    }
    if out.is_empty() {
        out.push((text.trim().to_string(), None));
    }
    out.truncate(64);
    out
}

/// A prose sentence of at least this many words is also read by its parts (see [`parts_of`]).
const LONG_SENTENCE_WORDS: usize = 16;
/// A part of fewer words says too little to be compared on its own.
const LEAST_PART_WORDS: usize = 4;
/// At most this many parts of one source are compared with claims: a bound on the embedder's
/// work per source.
const MOST_PARTS: usize = 48;

/// A part of a long sentence (see [`parts_of`]).
struct Part {
    /// The sentence's index among its source's sentences.
    of: usize,
    /// A slice of the sentence.
    text: String,
    figures: HashSet<String>,
}

/// The parts of a source's long prose sentences a claim stating figures is also compared with:
/// each clause (cut at commas, semicolons, colons, dashes and brackets) with the one after it,
/// and alone, where it states a figure.
///
/// A filing's or an article's sentence runs on over three clauses ("…, Jared Allen, a 5-time pro
/// bowler who was the NFL's active career sack leader with 136, along with Thomas Davis, …"),
/// and a claim states one of them: compared with the whole sentence, the other clauses' words
/// pull its vector away, and a right claim reads below [`MIN_CLAIM_SIMILARITY`]. A part keeps
/// its clause's neighbour so that a clause that says "which decreased 39 %" is read with what
/// decreased. Its figures and names are still checked against the whole source, and the
/// evidence is still the whole sentence.
///
/// Only a claim stating figures is read against parts, and only against a part holding them
/// all: the figure anchors the part to the claim's fact. Parts read against every claim were
/// measured (README, *Languages*) to show wrong answers a clause alone seems to say — "Corporal
/// punishment is no longer practiced in the United States" on "…, but it remains lawful in the
/// United States …" — and across languages more wrong ones than right.
///
/// Written here: clause punctuation is a rule of a few lines; no maintained crate cuts clauses
/// across languages.
fn parts_of(sentences: &[(String, Option<RowFact>)]) -> Vec<Part> {
    let mut out = Vec::new();
    for (j, (sentence, fact)) in sentences.iter().enumerate() {
        let words = sentence.unicode_words().count();
        // Rows, and the windows of two table lines (`sentences`), are not prose.
        let lines: Vec<&str> = sentence.lines().collect();
        let table_lines = lines.len() > 1 && lines.iter().all(|l| l.chars().any(|c| c.is_ascii_digit()));
        if fact.is_some() || table_lines || words < LONG_SENTENCE_WORDS {
            continue;
        }
        let clauses = clauses(sentence);
        if clauses.len() < 2 {
            continue;
        }
        for (k, clause) in clauses.iter().enumerate() {
            // The clause alone, and with the one after it.
            for end in std::iter::once(clause.end).chain(clauses.get(k + 1).map(|next| next.end)) {
                let part = sentence[clause.start..end].trim();
                let n = part.unicode_words().count();
                let figures = figures(part);
                if n >= LEAST_PART_WORDS && n < words && !figures.is_empty() && !out.iter().any(|p: &Part| p.text == part) {
                    out.push(Part { of: j, text: part.to_string(), figures });
                }
            }
        }
    }
    out
}

/// The clauses of a sentence as byte ranges, cut after a comma, semicolon or colon followed by a
/// space (not "1,577"), before a dash and around brackets; full-width punctuation too.
fn clauses(sentence: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = sentence.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let cut_after = match c {
            ',' | ';' | ':' => next.is_some_and(char::is_whitespace),
            '，' | '；' | '：' | '、' => true,
            ')' | '）' => next.is_none_or(char::is_whitespace),
            _ => false,
        };
        let cut_before = matches!(c, '(' | '（' | '—' | '–');
        if cut_before && at > start {
            out.push(start..at);
            start = at;
        }
        if cut_after {
            let end = at + c.len_utf8();
            if end > start {
                out.push(start..end);
            }
            start = end;
        }
    }
    if start < sentence.len() && !sentence[start..].trim().is_empty() {
        out.push(start..sentence.len());
    }
    out.retain(|r| sentence[r.clone()].chars().any(char::is_alphanumeric));
    out
}

/// A claim as a table row is checked against it, read once per claim: the figures it states, its
/// text read with its question (a terse one states the question), the months that text names.
struct StatedClaim {
    figures: HashSet<String>,
    read: String,
    months: HashSet<String>,
}

impl StatedClaim {
    fn new(figures: HashSet<String>, read: String) -> StatedClaim {
        let months = crate::table_row::months(&read);
        StatedClaim { figures, read, months }
    }
}

/// What a sentence drawn from a table row states: the row's line item (its label without the
/// group: "Research and development") and the figures of its cells (without the dates of their
/// headers).
#[derive(Debug, Clone, PartialEq)]
struct RowFact {
    item: String,
    values: HashSet<String>,
    /// Every figure of the sentence: its values and its headers' dates.
    figures: HashSet<String>,
    /// The months its headers name ("Three Months Ended Sep 30, 2023": `sep`).
    months: HashSet<String>,
}

impl RowFact {
    fn new(item: &str, values: HashSet<String>, sentence: &str) -> RowFact {
        RowFact { item: item.to_string(), values, figures: figures(sentence), months: crate::table_row::months(sentence) }
    }

    /// A claim can rest on a row (or a cell) only when it states one of its figures, names its
    /// line item (half of the item's words) and, when both name months, one of the same: "Intel's
    /// net revenue was $369 million" does not rest on the row of Intel Foundry Services'
    /// operating loss of 369, nor "in the three months ended June 30" on the cell of the three
    /// months ended September 30 (the same line of the next quarter's filing).
    fn supports(&self, claim: &StatedClaim) -> bool {
        !self.values.is_disjoint(&claim.figures)
            && word_coverage(&self.item, &claim.read) >= MIN_WORD_COVERAGE
            && (claim.months.is_empty() || self.months.is_empty() || !claim.months.is_disjoint(&self.months))
    }

    /// The claim states no figure the row or cell lacks: its period is the cell's own (a claim
    /// that names the period its own way — "the first quarter of 2023" for the three months ended
    /// December 31, 2022 — is still checked, at the usual similarity).
    fn states_its_period(&self, claim_figures: &HashSet<String>) -> bool {
        claim_figures.is_subset(&self.figures)
    }
}

/// Whether `name` occurs in `text` (lower case) as a word of its own, or with a plural or
/// possessive ending ("Panthers", "NVIDIA's"); a month's name also as its abbreviation, the way
/// statements head their columns ("October 1, 2022" is "Oct 1, 2022").
///
/// A word, not a piece of one: a name is often short, and as substrings "Wi" and "Fi" ("the
/// Wi-Fi password") are in "wireless" and "file", "AI" in "said", "Cal" in "California" — a
/// claim naming them needed no source that does.
fn named_in(text: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    has_word(text, &name)
        || crate::table_row::month_of(&name)
            .is_some_and(|month| text.split(|c: char| !c.is_alphanumeric()).any(|word| crate::table_row::month_of(word) == Some(month)))
}

/// A file's path with its camel-case words apart ("HarborLaneFreight.docx" is "Harbor Lane
/// Freight.docx"): names are looked for as words, and a file name often runs them together.
fn path_words(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    let mut previous: Option<char> = None;
    for c in path.chars() {
        if c.is_uppercase() && previous.is_some_and(char::is_lowercase) {
            out.push(' ');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Whether `word` occurs in `text` between word boundaries, a plural or possessive ending ("s",
/// "es", "'s", "’s") allowed after it. Han, kana and hangul bound a word too: Chinese and
/// Japanese text runs on into the Latin names it holds ("BSkyB的标清广播").
fn has_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let in_word = |c: char| c.is_alphanumeric() && !brain_store::is_cjk(c);
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let rest = &text[at + word.len()..];
        let rest =
            ["'s", "’s", "es", "s"].iter().find_map(|ending| rest.strip_prefix(ending)).filter(|r| !r.starts_with(in_word)).unwrap_or(rest);
        !before.is_some_and(in_word) && !rest.starts_with(in_word)
    })
}

/// Whether two texts are in different languages, as far as words can tell: written in different
/// scripts, or sharing no word of three letters or more at all (two sentences of one language
/// share "the", "and", "die", "des" even when their subjects differ). Not the language
/// identifier of `languages.rs`: what is asked is whether the two texts' words can be compared
/// at all, which their words answer directly, where telling the language of a claim of a few
/// words is the identifier's weakest case.
fn words_incomparable(a: &str, b: &str) -> bool {
    if script_of(a) != script_of(b) {
        return true;
    }
    let words = |t: &str| -> HashSet<String> {
        t.unicode_words().filter(|w| w.chars().count() >= 3 && w.chars().all(char::is_alphabetic)).map(str::to_lowercase).collect()
    };
    let (x, y) = (words(a), words(b));
    !x.is_empty() && !y.is_empty() && x.is_disjoint(&y)
}

/// The script most of a text's letters are in: Han, kana and hangul (CJK), Cyrillic, Greek,
/// Arabic, Hebrew, or other (Latin and the rest).
fn script_of(text: &str) -> u8 {
    let mut counts = [0usize; 6];
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        let k = match c as u32 {
            _ if brain_store::is_cjk(c) => 1,
            0x0400..=0x04FF => 2,
            0x0370..=0x03FF => 3,
            0x0600..=0x06FF => 4,
            0x0590..=0x05FF => 5,
            _ => 0,
        };
        counts[k] += 1;
    }
    (0..6).max_by_key(|&k| counts[k]).unwrap_or(0) as u8
}

/// A word's first five letters, lower-cased and without accents: "reimbursed" meets
/// "reimbursement", "Gärten" meets "Garten", "región" meets "regiones".
fn stem(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    word.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).flat_map(char::to_lowercase).take(5).collect()
}

/// Words nearly every sentence has, which say nothing of what it is about.
const COMMON_WORDS: &[&str] = &[
    "the", "and", "for", "was", "are", "has", "had", "its", "our", "per", "all", "any", "not", "but", "that", "this", "with", "from",
    "have", "were", "will", "your", "they", "their", "which", "there", "about", "been", "also", "each", "than", "must", "should", "would",
    "could", "them", "these", "those", "some", "only", "just", "here",
];

/// The share of the claim's content words (four letters or more, not common words) found in
/// the source, compared by their stems.
fn word_coverage(claim: &str, source: &str) -> f32 {
    let source_stems: HashSet<String> = source.unicode_words().map(stem).collect();
    let words: Vec<String> = claim
        .unicode_words()
        .filter(|w| w.chars().count() >= 4 && !COMMON_WORDS.contains(&w.to_lowercase().as_str()))
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .map(stem)
        .collect();
    if words.is_empty() {
        return 1.0;
    }
    words.iter().filter(|w| source_stems.contains(*w)).count() as f32 / words.len() as f32
}

/// Whether the two figures a change compares (`later`, `earlier`: see
/// `answer::arithmetic::change_compares`) are one quantity at two times or places in the
/// sources: both in one row or sentence, or in two that say the same of them — rows of one line
/// item ("Net income" in two filings), sentences of the same words ("Total net sales in the
/// third quarter of 2022 were 1,577 million" and "… of 2021 were 1,462 million"), or a row and a
/// sentence that names its line item. A small model that writes "(6,188 − 793) / 793 × 100" takes
/// net income and income tax from two rows of one table: both figures are in the sources, and
/// the percentage it gets says nothing.
fn compare_like(later: &str, earlier: &str, sentences: &[&(String, Option<RowFact>)]) -> bool {
    let holds = |(text, fact): &(String, Option<RowFact>), figure: &str| match fact {
        Some(fact) => fact.values.contains(figure),
        None => figures(text).contains(figure),
    };
    let alike = |a: &(String, Option<RowFact>), b: &(String, Option<RowFact>)| {
        if a.0 == b.0 {
            return true;
        }
        match (&a.1, &b.1) {
            (Some(x), Some(y)) => same_words(&x.item, &y.item),
            (Some(row), None) => names_item(&row.item, &b.0),
            (None, Some(row)) => names_item(&row.item, &a.0),
            (None, None) => same_words(&a.0, &b.0),
        }
    };
    // Cells that say how long their period is: "Six Months Ended July 30, 2023: $8,232" against
    // "Three Months Ended July 31, 2022: $656" is half a year against a quarter, whatever row.
    let lengths = |figure: &str| -> HashSet<u32> {
        sentences.iter().filter(|s| s.1.is_some() && holds(s, figure)).filter_map(|(text, _)| period_length(text)).collect()
    };
    let (later_lengths, earlier_lengths) = (lengths(later), lengths(earlier));
    if !later_lengths.is_empty() && !earlier_lengths.is_empty() && later_lengths.is_disjoint(&earlier_lengths) {
        return false;
    }
    let with_later: Vec<_> = sentences.iter().filter(|s| holds(s, later)).collect();
    sentences.iter().filter(|s| holds(s, earlier)).any(|e| with_later.iter().any(|l| alike(l, e)))
}

/// The months a table cell's period lasts, by its header ("Three Months Ended …", "Nine months
/// ended …", "Year Ended …"); `None` when it names none, or several (a whole row).
fn period_length(text: &str) -> Option<u32> {
    let words: Vec<String> = text.unicode_words().map(str::to_lowercase).collect();
    let mut found = HashSet::new();
    for (i, word) in words.iter().enumerate() {
        let next = words.get(i + 1).map(String::as_str);
        let months = match (word.as_str(), next) {
            ("three" | "3", Some("months")) => 3,
            ("six" | "6", Some("months")) => 6,
            ("nine" | "9", Some("months")) => 9,
            ("twelve" | "12", Some("months")) | ("year" | "years", Some("ended")) => 12,
            _ => continue,
        };
        found.insert(months);
    }
    let mut lengths = found.into_iter();
    match (lengths.next(), lengths.next()) {
        (Some(months), None) => Some(months),
        _ => None,
    }
}

/// Share of each text's words the other must hold for two line items or sentences to say the
/// same: "Net income" and "Net income (loss)" (1 and 2/3), "Total net sales" and "Net sales";
/// not "Net income" and "Income tax expense" (1/2), "Operating income" and "Operating expenses".
const SAME_WORDS: f32 = 0.6;

/// Two line items or sentences that say the same of their figures (see [`SAME_WORDS`]).
fn same_words(a: &str, b: &str) -> bool {
    share_held(a, b).min(share_held(b, a)) >= SAME_WORDS
}

/// A sentence that names a row's line item: most of the item's words are in it.
fn names_item(item: &str, sentence: &str) -> bool {
    share_held(item, sentence) >= SAME_WORDS
}

/// The share of `text`'s [`item_words`] that `other` holds; 0 when it has none (a figure alone
/// says nothing of what it is).
fn share_held(text: &str, other: &str) -> f32 {
    let (words, other) = (item_words(text), item_words(other));
    if words.is_empty() {
        return 0.0;
    }
    words.intersection(&other).count() as f32 / words.len() as f32
}

/// The stems of the words that name what a line item or sentence is about: three letters or
/// more ("net", "tax" tell net income from income tax), no figures, not the words every
/// sentence has.
fn item_words(text: &str) -> HashSet<String> {
    text.unicode_words()
        .filter(|w| w.chars().count() >= 3 && w.chars().all(char::is_alphabetic) && !COMMON_WORDS.contains(&w.to_lowercase().as_str()))
        .map(stem)
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The figures in `text`, normalised: digits with their grouping commas and trailing zeros
/// removed ("$1,577.00 million" → "1577"), as strings so that they compare exactly.
pub(crate) fn figures(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A number starts here unless it is glued to a word ("Q3", "10-Q" are names, not figures).
        let glued = i > 0 && chars[i - 1].is_alphabetic();
        let mut j = i;
        let mut raw = String::new();
        while j < chars.len() {
            let c = chars[j];
            let separator = (c == ',' || c == '.') && j + 1 < chars.len() && chars[j + 1].is_ascii_digit();
            if c.is_ascii_digit() || separator {
                raw.push(c);
                j += 1;
            } else {
                break;
            }
        }
        let glued_after = j < chars.len() && chars[j].is_alphabetic() && !matches!(chars[j], 'k' | 'm' | 'b' | 'K' | 'M' | 'B');
        if !glued
            && !glued_after
            && let Some(n) = normalise(&raw)
        {
            out.insert(n);
        }
        i = j.max(i + 1);
    }
    out
}

/// "20.583" in an answer whose sources hold 20,583 and not 20.583: a small model that wrote the
/// thousands separator as a dot (the spelling of other locales). The answer is written back with
/// the sources' spelling, so that the person reads the figure the sources give and the check
/// compares like with like. A dot before other than groups of three digits is a decimal point and
/// left alone.
pub(crate) fn respell_grouped_figures(answer: &str, sources: &[Hit]) -> String {
    let in_sources: HashSet<String> = sources.iter().flat_map(|s| figures(&s.text)).collect();
    let mut out = String::with_capacity(answer.len());
    let mut rest = answer;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let glued_before = rest[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == ',' || c == '.');
        let run_len = rest[start..].find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len() - start);
        let token = rest[start..start + run_len].trim_end_matches('.');
        let end = start + token.len();
        let groups: Vec<&str> = token.split('.').collect();
        let grouped = groups.len() >= 2
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && !rest[end..].starts_with(|c: char| c.is_ascii_digit());
        out.push_str(&rest[..start]);
        let whole = groups.concat();
        if !glued_before
            && grouped
            && normalise(token).is_some_and(|n| !in_sources.contains(&n))
            && in_sources.contains(whole.trim_start_matches('0'))
        {
            out.push_str(&groups.join(","));
        } else {
            out.push_str(token);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn normalise(raw: &str) -> Option<String> {
    // "1,577" groups thousands; "1,5" (a decimal comma) is rare in English filings: read as 15.
    let digits: String = raw.replace(',', "");
    let (whole, fraction) = digits.split_once('.').unwrap_or((&digits, ""));
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    Some(if fraction.is_empty() { whole.to_string() } else { format!("{whole}.{fraction}") })
}

/// Whether `word` is one that opens sentences before a name ("Both Apple and Microsoft …", "Die
/// Labour Party …", "During March …") rather than being the name's first word ("Labour
/// Party"): articles, determiners, pronouns, prepositions and conjunctions, in the languages the
/// engine answers most (English, German, Spanish), and titles. Only a claim's first word is
/// asked: inside a sentence a capitalised one is a name's ("Leave Without Pay", "Doctors
/// Without Borders"), so `names` keeps its own, shorter list of capitals that are never names.
fn opens_sentences(word: &str) -> bool {
    // Whitespace-separated, by language.
    const OPENERS: [&str; 3] = [
        // English
        "a an the this that these those it its our their his her my your we they both all each every \
         either neither some most many several only no yes not and but or so then thus there here what \
         which who where when why how while if although though because since as at by in on of to for \
         from with within without into onto under over after before during until between among across \
         against through per like unlike about around approximately nearly including following despite \
         according however total net mr mrs ms dr prof sir",
        // German
        "der die das den dem des ein eine einer eines einem einen im am beim vom zum zur laut nach von \
         seit bei mit für auf über unter es er sie wir ja nein und oder aber",
        // Spanish
        "el la los las un una en del al según desde por para con sí y o",
    ];
    let word = word.to_lowercase();
    OPENERS.iter().any(|list| list.split_whitespace().any(|opener| opener == word))
}

/// Proper names in a claim: capitalised words that do not start it, and all-capital words.
pub(crate) fn names(text: &str) -> Vec<String> {
    const COMMON: &[&str] = &[
        "I",
        "The",
        "A",
        "An",
        "In",
        "On",
        "For",
        "It",
        "This",
        "That",
        "These",
        "Those",
        "Yes",
        "No",
        "However",
        "According",
        "Source",
        "Sources",
        "Total",
        "Net",
        "Q1",
        "Q2",
        "Q3",
        "Q4",
    ];
    let mut out = Vec::new();
    for (i, word) in text.unicode_words().enumerate() {
        let starts_upper = word.chars().next().is_some_and(char::is_uppercase);
        if i == 0 || !starts_upper || COMMON.contains(&word) || word.len() < 2 {
            continue;
        }
        if word.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push(word.trim_end_matches("'s").to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_evidence_of_a_table_is_the_row_the_claim_states() {
        let claim = |text: &str, evidence: &str| super::Claim {
            text: text.into(),
            start: 0,
            end: text.len(),
            supported: true,
            sources: vec![1],
            evidence: Some(evidence.into()),
            answers: true,
        };
        let rows = "Depot 26 | 12 | Manager 26\nLarchfield | 12 | Tomasz Nowak\nDepot 28 | 14 | Manager 28";
        assert_eq!(claim("Tomasz Nowak manages the Larchfield depot.", rows).evidence_lines(), ["Larchfield | 12 | Tomasz Nowak"]);
        assert_eq!(
            claim("Depots 26 and 28 hold 12 and 14 vans.", rows).evidence_lines(),
            ["Depot 26 | 12 | Manager 26", "Depot 28 | 14 | Manager 28"]
        );
        let prose = "After five years of service, employees may take a sabbatical of up to eight weeks.";
        assert_eq!(claim("A sabbatical lasts up to eight weeks.", prose).evidence_lines(), [prose]);
        assert_eq!(claim("Yes.", rows).evidence_lines(), [rows], "nothing shared: the evidence as it is");
        let wrapped = "The decrease in operating loss is primarily due to increased unit sales and\nincreased advertising sales.";
        assert_eq!(claim("Operating loss fell on higher unit sales.", wrapped).evidence_lines(), [wrapped], "one sentence a PDF wrapped");
        assert!(super::Claim { evidence: None, ..claim("x", "") }.evidence_lines().is_empty());
    }

    #[test]
    fn a_claim_and_its_translation_are_told_apart_from_one_language() {
        let claim = "The maximum hotel cost per night in capital cities is 140 euros.";
        assert!(words_incomparable(claim, "Für Übernachtungen in Hauptstädten erstattet die Firma höchstens 140 Euro pro Nacht."));
        assert!(words_incomparable(claim, "首都城市的酒店每晚最多报销140欧元。"));
        assert!(!words_incomparable(claim, "Hotels in capital cities are refunded up to 140 euros per night."));
        assert!(!words_incomparable("Annual leave is 27 days.", "Annual leave: 27 days"));
        // One language, another subject: still one language (the claim's words are compared).
        assert!(!words_incomparable("The meal allowance is 0.42 euros.", "The mileage rate is 0.42 euros per kilometre."));
    }
    use super::*;

    #[test]
    fn figures_compare_as_numbers() {
        let a = figures("Net sales were $1,577 million in 2022, up 12.50% from Q3.");
        let b = figures("Total 1577.00 and 1,577; growth 12.5 percent; fiscal 2022");
        assert!(a.is_subset(&b), "{a:?} vs {b:?}");
        assert!(a.contains("1577") && a.contains("12.5") && a.contains("2022") && !a.contains("3"), "Q3 is a name: {a:?}");
        assert!(!figures("the 10-Q").contains("10") || figures("the 10-Q").len() == 1);
        assert_ne!(figures("$1,578 million"), figures("$1,577 million"));
    }

    #[test]
    fn answers_are_cut_into_claims_with_their_citations() {
        let p = pieces("Staff get 27 days of leave [1]. A sabbatical lasts up to eight weeks. [2]\n- It is unpaid [2].\n1. Ask HR first.");
        let texts: Vec<&str> = p.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, vec!["Staff get 27 days of leave.", "A sabbatical lasts up to eight weeks.", "It is unpaid.", "Ask HR first."]);
        assert_eq!(p[0].cited, vec![1]);
        assert_eq!(p[1].cited, vec![2], "a marker after the full stop cites the sentence before it");
        assert_eq!(p[2].cited, vec![2]);
    }

    #[test]
    fn missing_citations_are_added_before_the_full_stop_and_echoes_dropped() {
        let answer = "It lasts eight weeks. Cite the context like [1].";
        let echo = answer.find("Cite").unwrap();
        assert_eq!(rewrite(answer, &[(echo, answer.len())], &[(echo, 2)]), "It lasts eight weeks [2].");
        let instructions = words("Answer briefly and cite the context like [1]. Use only the numbered sources.");
        assert!(echoes("Answer briefly and cite the context like [2].", &instructions));
        assert!(!echoes("The sabbatical must be approved by the department head.", &instructions));
    }

    /// A claim as stated without a question.
    fn stated(claim: &str) -> StatedClaim {
        StatedClaim::new(figures(claim), claim.to_string())
    }

    #[test]
    fn a_row_that_names_its_columns_is_read_cell_by_cell() {
        let row = "Net income | Three Months Ended July 30, 2023: $6,188 | Three Months Ended July 31, 2022: $656";
        let got = sentences(&format!("{row}\nSee the notes to the statements."));
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                row,
                "Net income, Three Months Ended July 30, 2023: $6,188",
                "Net income, Three Months Ended July 31, 2022: $656",
                "See the notes to the statements."
            ]
        );
        let cell = got[1].1.clone().unwrap();
        assert_eq!((cell.item.as_str(), cell.values.iter().map(String::as_str).collect::<Vec<_>>()), ("Net income", vec!["6188"]));
        assert!(got[3].1.is_none());

        // A claim rests on a cell when it states the cell's figure and names the row's item.
        let claim = "NVIDIA's net income for the three months ended July 30, 2023 was $6,188 million.";
        assert!(cell.supports(&stated(claim)));
        let other_item = "NVIDIA's revenue for the three months ended July 30, 2023 was $6,188 million.";
        assert!(!cell.supports(&stated(other_item)), "another line item");
        let other_figure = "NVIDIA's net income for the three months ended July 30, 2023 was $656 million.";
        assert!(!cell.supports(&stated(other_figure)), "another cell's figure");
        // A claim of another period may rest on the cell only at the usual similarity.
        assert!(cell.states_its_period(&figures(claim)));
        let other_period = "NVIDIA's net income for the three months ended July 31, 2022 was $6,188 million.";
        assert!(!cell.states_its_period(&figures(other_period)), "another period");
        assert!(named_in("three months ended oct 1, 2022: 4,302", "October") && !named_in("three months ended oct", "November"));
        assert!(named_in("three months ended october 1, 2022", "Oct"));
        // A name is a word, not a piece of one; plural and possessive endings allowed.
        assert!(!named_in("the guest wireless network is gsa guest.", "Wi") && !named_in("he said so", "AI"));
        assert!(named_in("nvidia's revenue", "NVIDIA") && named_in("the panthers line", "Panther") && named_in("wi-fi", "Fi"));
        assert!(named_in("bskyb的标清广播", "BSkyB"), "Chinese text runs on into a Latin name");
        assert!(!named_in("the panthersville line", "Panther"));
        assert!(named_in(&path_words("/docs/HarborLaneFreight.docx").to_lowercase(), "Lane"));
        let grouped = &sentences("Operating income (loss): Intel Foundry Services | Nine Months Ended Sep 30, 2023: (369)")[1];
        let wrong = "Intel's net revenue for the nine months ended September 30, 2023 was $369 million.";
        assert!(!grouped.1.as_ref().unwrap().supports(&stated(wrong)), "{grouped:?}");
        // The same line of the next quarter's filing: its figure, its item, another month.
        let next_quarter = &sentences("Purchases of property and equipment | Three Months Ended September 30, 2023: (12,479)")[1];
        let dated = "Amazon spent $12,479 on purchases of property and equipment in the three months ended June 30, 2023.";
        assert!(!next_quarter.1.as_ref().unwrap().supports(&stated(dated)), "another month");
        let undated = "Amazon spent $12,479 on purchases of property and equipment in the third quarter of 2023.";
        assert!(next_quarter.1.as_ref().unwrap().supports(&stated(undated)), "no month named");
    }

    #[test]
    fn a_figure_grouped_with_dots_takes_the_sources_spelling() {
        let sources = [crate::retrieval::test_hit("/d/a.pdf", "Fulfillment | Three Months Ended September 30, 2022: 20,583 | Rate: 1.125")];
        assert_eq!(
            respell_grouped_figures("Fulfillment expenses were $20.583 million [1].", &sources),
            "Fulfillment expenses were $20,583 million [1]."
        );
        // A decimal the sources hold, a decimal that is no grouping, a figure the sources lack:
        // left as written.
        for kept in ["The rate is 1.125.", "It was 20.58 million.", "It was 30.583 million.", "Version 2.0.583"] {
            assert_eq!(respell_grouped_figures(kept, &sources), kept);
        }
    }

    #[test]
    fn a_claim_needs_its_own_words_in_the_source() {
        let source = "Private car journeys are reimbursed at 0.42 per kilometre.";
        assert!(word_coverage("Car journeys get reimbursement of 0.42 per kilometre.", source) >= 0.75);
        assert!(word_coverage("The daily meal allowance is 0.42.", source) < 0.1);
    }

    mod with_a_fake_embedder {
        use super::super::*;
        use crate::inference::fakes::WordVectors;
        use crate::retrieval::test_hit as hit;

        const REFUSAL: &str = "I could not find this in your documents.";
        const RULES: &str = "Answer from the numbered sources and cite them like [1].";

        fn check_one(answer: &str, sources: &[&str]) -> Grounding {
            let hits: Vec<Hit> = sources.iter().enumerate().map(|(i, s)| hit(&format!("/d/{i}.md"), s)).collect();
            check(answer, &Asked::default(), &hits, &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap()
        }

        #[test]
        fn a_figure_absent_from_the_source_makes_a_claim_unsupported() {
            let source = "Staff get 27 days of annual leave per year.";
            assert!(check_one("Staff get 27 days of annual leave per year [1].", &[source]).claims[0].supported);
            let wrong = check_one("Staff get 28 days of annual leave per year [1].", &[source]);
            assert!(!wrong.claims[0].supported, "{:?}", wrong.claims);
            assert_eq!(wrong.grounded(), Some(0.0));
        }

        #[test]
        fn a_name_absent_from_every_source_makes_a_claim_unsupported() {
            let source = "The travel policy is owned by Finance.";
            assert!(check_one("The travel policy is owned by Finance [1].", &[source]).claims[0].supported);
            assert!(!check_one("The travel policy is owned by Marketing [1].", &[source]).claims[0].supported);
        }

        #[test]
        fn a_name_is_a_word_of_the_source_not_a_piece_of_one() {
            // "Wi" and "Fi" are pieces of "wireless" and "file", not words of the source.
            let source = "The guest wireless network in the building is GSA Guest. The password changes monthly; ask in the file room.";
            let g = check_one("The Wi-Fi password of the guest network is GSA Guest [1].", &[source]);
            assert!(!g.claims[0].supported, "{:?}", g.claims);
            assert!(check_one("The guest wireless network in the building is GSA Guest [1].", &[source]).claims[0].supported);
            let named = source.replace("guest wireless network", "guest Wi-Fi network");
            assert!(check_one("The guest Wi-Fi network in the building is GSA Guest [1].", &[&named]).claims[0].supported);
        }

        #[test]
        fn a_claim_far_in_meaning_from_its_source_is_unsupported_and_its_citation_kept() {
            let g = check_one("Parking spaces are assigned by lottery every spring [1].", &["Staff get 27 days of annual leave."]);
            assert!(!g.claims[0].supported);
            assert_eq!(g.claims[0].sources, vec![1], "an unsupported claim keeps what it cited");
        }

        #[test]
        fn a_claim_rests_on_one_source_its_names_included() {
            // Another company's sentence holds the figures and reads close; the claim's company
            // is named only by another source.
            let devices =
                "Devices revenue decreased $927 million or 39% driven by weakness and execution challenges on new product launches.";
            let other = "NVIDIA expects demand for its data center products to grow.";
            let claim = "The revenue from NVIDIA's new product launches decreased $927 million or 39% driven by execution challenges [1].";
            let g = check_one(claim, &[devices, other]);
            assert!(!g.claims[0].supported, "{:?}", g.claims);
            assert!(g.claims[0].evidence.as_deref() == Some(devices), "still the closest sentence, to quote: {:?}", g.claims);
            // Its own name in the source: supported.
            let named = "NVIDIA: devices revenue decreased $927 million or 39% driven by execution challenges on new product launches.";
            assert!(check_one(claim, &[named, other]).claims[0].supported);
        }

        #[test]
        fn a_supported_claim_gets_the_citation_of_the_source_that_supports_it() {
            let g = check_one(
                "Parking spaces are assigned by lottery every spring.",
                &["Leave is approved by managers.", "Parking spaces are assigned by lottery every spring."],
            );
            assert!(g.claims[0].supported);
            assert_eq!(g.claims[0].sources, vec![2]);
            assert_eq!(g.answer, "Parking spaces are assigned by lottery every spring [2].");
        }

        #[test]
        fn a_claim_is_read_against_a_sentence_whole_across_the_lines_a_pdf_wrapped_it_at() {
            // As PDF text comes: the page's line breaks inside the sentence.
            let source = "The decrease in International operating loss in absolute dollars, compared to the comparable prior\n\
                year periods, is primarily due to increased unit sales and increased advertising sales, partially offset by\n\
                increased fulfillment and shipping costs.\n25";
            let claim = "The decrease in International operating loss is primarily due to increased unit sales and advertising sales [1].";
            let g = check_one(claim, &[source]);
            assert!(g.claims[0].supported, "{:?}", g.claims);
            let evidence = g.claims[0].evidence.clone().unwrap();
            assert!(evidence.starts_with("The decrease") && evidence.ends_with("shipping costs."), "{evidence}");
            assert!(source.contains(&evidence), "the evidence is the passage's own text: {evidence}");
            // Each line alone is too far from the claim: read line by line, it was unsupported.
            let lines: Vec<&str> = source.lines().collect();
            assert!(!check_one(claim, &lines[..2]).claims[0].supported, "the two halves as separate sources");
        }

        #[test]
        fn a_claim_is_read_against_the_clause_of_a_long_sentence_that_states_it() {
            let source = "The depot's fleet grew under Harbor Lane Freight, a regional carrier that has run electric vans at \
                Dunmore since 2019 with 37 of them in service, along with two diesel trucks kept for the winter routes over \
                the hills, and a cargo bike that serves the narrow streets of the old town centre.";
            let claim = "Harbor Lane Freight has run 37 electric vans at Dunmore since 2019 [1].";
            // The whole sentence is too far from the claim: its other clauses pull it away.
            let whole = dot(&WordVectors::vector(claim), &WordVectors::vector(source));
            assert!(whole < MIN_CLAIM_SIMILARITY, "{whole}");
            let g = check_one(claim, &[source]);
            assert!(g.claims[0].supported, "{:?}", g.claims);
            assert_eq!(g.claims[0].evidence.as_deref(), Some(source), "the evidence is still the whole sentence");
            // Its figures are still checked against the source.
            assert!(!check_one("Harbor Lane Freight has run 38 electric vans at Dunmore since 2019 [1].", &[source]).claims[0].supported);
            // Only the parts holding a claim's figures are embedded: none for a claim without.
            let embedder = WordVectors::default();
            let hits = vec![hit("/d/0.md", source)];
            check("Harbor Lane Freight runs electric vans [1].", &Asked::default(), &hits, &embedder, REFUSAL, RULES, &HashSet::new())
                .unwrap();
            let texts = embedder.embedded.load(std::sync::atomic::Ordering::Relaxed);
            assert_eq!(texts, 3, "the question, the claim and the one sentence");
            // A short sentence is read whole only; so are table lines.
            assert!(parts_of(&sentences("Harbor Lane Freight, a carrier, runs 37 vans.")).is_empty());
            assert!(parts_of(&sentences("Net sales 1,577 1,462\nCost of sales, products and services 1,001 998")).is_empty());
        }

        #[test]
        fn a_claim_without_figures_is_read_against_whole_sentences_only() {
            // Its clause alone reads like the claim; the sentence says the opposite.
            let source = "Most depots of the region, from the harbour yards in the north to the rail terminals and the \
                warehouses along the river in the south, have stopped asking their drivers for overtime work on Sundays and \
                public holidays, but it remains lawful at the Dunmore depot under a local agreement with the drivers' union \
                that is renewed every spring.";
            let claim = "Overtime work on Sundays is no longer lawful at the Dunmore depot [1].";
            let clause = "but it remains lawful at the Dunmore depot under a local agreement with the drivers' union";
            assert!(source.contains(clause));
            let close = dot(&WordVectors::vector(claim), &WordVectors::vector(clause));
            assert!(close >= MIN_CLAIM_SIMILARITY, "read against the clause it would pass: {close}");
            let whole = dot(&WordVectors::vector(claim), &WordVectors::vector(source));
            assert!(whole < MIN_CLAIM_SIMILARITY, "{whole}");
            let g = check_one(claim, &[source]);
            assert!(!g.claims[0].supported, "{:?}", g.claims);
        }

        #[test]
        fn clauses_are_cut_at_their_punctuation_not_inside_figures() {
            let sentence = "Revenue rose to $1,577 million, up 8% (a record); costs fell — mostly freight: 12 percent.";
            let cut: Vec<&str> = clauses(sentence).into_iter().map(|r| sentence[r].trim()).collect();
            assert_eq!(cut, ["Revenue rose to $1,577 million,", "up 8%", "(a record);", "costs fell", "— mostly freight:", "12 percent."]);
            let chinese = "公司收入增长了百分之八，成本下降了；利润创下纪录。";
            assert_eq!(clauses(chinese).len(), 3);
        }

        fn check_terse(answer: &str, question: &str, source: &str) -> Claim {
            let hits = vec![hit("/d/0.md", source)];
            let g = check(answer, &Asked::question(question), &hits, &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap();
            assert_eq!(g.claims.len(), 1, "{:?}", g.claims);
            g.claims[0].clone()
        }

        const VANS: &str = "Harbor Lane Freight runs 37 electric vans from the Dunmore depot since March 2021.";

        #[test]
        fn terse_claims_are_read_with_their_question() {
            let q = "How many electric vans run from the Dunmore depot?";
            assert!(check_terse("37 [1]", q, VANS).supported, "a figure");
            assert!(!check_terse("38 [1]", q, VANS).supported, "a wrong figure");
            let q = "Which depot do the electric vans run from?";
            assert!(check_terse("Dunmore [1]", q, VANS).supported, "a name");
            assert!(!check_terse("Kingston [1]", q, VANS).supported, "a name the source lacks");
            let q = "Which company runs the electric vans from the Dunmore depot?";
            assert!(check_terse("Harbor Lane Freight [1]", q, VANS).supported, "a name of several words");
            assert!(!check_terse("Kingston Lane Freight [1]", q, VANS).supported, "a name whose first word the source lacks");
            assert!(check_terse("The Harbor Lane Freight [1]", q, VANS).supported, "an article before a name");
            let q = "Since when do the electric vans run from the Dunmore depot?";
            assert!(check_terse("March 2021 [1]", q, VANS).supported, "a date");
            assert!(!check_terse("March 2020 [1]", q, VANS).supported, "a wrong date");
            let q = "Does Harbor Lane Freight run electric vans?";
            assert!(check_terse("Yes, 37 of them [1].", q, VANS).supported, "yes, with a figure");
            assert!(!check_terse("Yes, 12 of them [1].", q, VANS).supported, "yes, with a wrong figure");
        }

        #[test]
        fn in_german_a_noun_of_the_question_is_not_a_name_but_a_name_still_is() {
            const PARTIES: &str = "Die Liberal Party ist in den wohlhabenden Vororten Melbournes am stärksten.";
            let q = "Welche Partei ist in Melbournes wohlhabenden Stadtteilen am stärksten?";
            // The question's "Partei" and "Stadtteilen", in no source, are nouns the source words
            // otherwise, not names it must hold.
            assert!(check_terse("Liberal Party [1]", q, PARTIES).supported);
            // A name of the answer the source lacks is still one.
            assert!(!check_terse("Die Labour Party [1]", q, PARTIES).supported);
            assert!(!check_terse("Labour Party [1]", q, PARTIES).supported, "its first word is the name's");
            // The question's name that a source holds still is one: the source without it does
            // not answer.
            let sources = [
                hit("/d/0.md", "Die Liberal Party ist in den wohlhabenden Vororten Sydneys am stärksten."),
                hit("/d/1.md", "Melbournes Parks sind im Frühling am schönsten."),
            ];
            let g = check("Liberal Party [1]", &Asked::question(q), &sources, &WordVectors::default(), REFUSAL, RULES, &HashSet::new())
                .unwrap();
            assert!(!g.claims[0].supported, "{:?}", g.claims);
            // In English a capital still marks a name: the question's "Party", absent, blocks it.
            let english = check_terse("Labour [1]", "Which Party is strongest in Melbourne?", "Labour is strongest in Melbourne.");
            assert!(!english.supported, "{english:?}");
        }

        #[test]
        fn claims_in_the_questions_language_are_checked_against_sources_in_another() {
            use crate::inference::fakes::Bilingual;
            let check_with = |embedder: &Bilingual, answer: &str, question: &str, source: &str| {
                let hits = vec![hit("/d/0.md", source)];
                check(answer, &Asked::question(question), &hits, embedder, REFUSAL, RULES, &HashSet::new()).unwrap().claims[0].clone()
            };
            let across = Bilingual { mark: 1.0, one_scale: false };
            let q = "Wie viele elektrische Transporter fahren vom Dunmore depot?";
            assert!(check_with(&across, "37 [1]", q, VANS).supported, "the German question's figure, in the English source");
            assert!(!check_with(&across, "38 [1]", q, VANS).supported, "a wrong figure");
            // The same English question: the same verdicts (the pair is in one language).
            let english = "How many electric vans run from the Dunmore depot?";
            assert!(check_with(&across, "37 [1]", english, VANS).supported);
            assert!(!check_with(&across, "38 [1]", english, VANS).supported);
            // Read on the scale of one language, the German question's pair reads too far from
            // its source: what refused such answers before.
            assert!(!check_with(&Bilingual { mark: 1.0, one_scale: true }, "37 [1]", q, VANS).supported);
            // A claim that restates the German question in its words: its nouns, capitalised,
            // are the question's, not names the English source must hold; a name the claim
            // brings itself still is one.
            // Two statements lose little to the change of language: a light mark.
            const HOTELS: &str = "For overnight stays in capital cities the company refunds at most 140 euros per night.";
            let q = "Wie viel erstattet die Firma höchstens pro Nacht für ein Hotel in einer Hauptstadt?";
            let statements = Bilingual { mark: 0.05, one_scale: false };
            let claim = |answer: &str| check_with(&statements, answer, q, HOTELS);
            assert!(claim("Die Firma erstattet höchstens 140 Euro pro Nacht für ein Hotel in einer Hauptstadt [1].").supported);
            assert!(!claim("Die Firma erstattet höchstens 180 Euro pro Nacht für ein Hotel in einer Hauptstadt [1].").supported);
            assert!(!claim("Die Firma Globex erstattet höchstens 140 Euro pro Nacht für ein Hotel in einer Hauptstadt [1].").supported);
            // A name of the question written in its own language ("Jardín Sajón"), which no
            // English source can hold, is not required of the source; a name the sources hold
            // still is.
            const GARDEN: &str = "The Saxon Garden near the Summer Theatre is called Ogród Saski in Polish.";
            let q = "¿Cómo se llama el Jardín Sajón en polaco?";
            assert!(check_with(&across, "Ogród Saski [1]", q, GARDEN).supported);
            assert!(!check_with(&across, "Ogród Wilanów [1]", q, GARDEN).supported, "a name the source lacks");
            // Not told apart: a name the question and the claim share that no source holds ("Wie
            // hoch war der Umsatz von Globex?" over another company's filing). The claim's
            // meaning and figures are what still refuse it (README, *Answers in other
            // languages*).
        }

        #[test]
        fn words_are_compared_without_their_accents() {
            let source = "In der Nähe, in Ogród Saski (Sächsischer Garten), war das Sommertheater in Betrieb.";
            assert_eq!(word_coverage("Die Gärten heißen Ogrod Saski.", source), 0.75, "gärten, ogrod, saski of four");
        }

        #[test]
        fn a_terse_claim_needs_a_source_that_answers_its_question() {
            // The figure is there, but the source is about something else.
            let q = "How many parking spaces does the head office have?";
            assert!(!check_terse("37 [1]", q, VANS).supported);
        }

        #[test]
        fn a_terse_claim_states_its_question_whose_names_and_figures_the_source_or_its_document_must_hold() {
            const SALES: &str = "Total net sales were $81,797 million in the three months ended July 1, 2023.";
            let filing = "/filings/2023 Q3 AAPL.pdf";
            let hits = vec![hit(filing, SALES)];
            let ask = |question: &str, documents: &[(&str, &str)]| {
                let documents = documents.iter().map(|(p, i)| (p.to_string(), i.to_string())).collect();
                let asked = Asked { question, documents };
                let g = check("$81,797 million [1].", &asked, &hits, &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap();
                g.claims[0].supported
            };
            let apple = [(filing, "2023 Q3 AAPL\nForm 10-Q\n\n2023 q3 aapl apple inc form 10q july 1 2023")];
            let q = "What were Apple's total net sales in the three months ended July 1, 2023?";
            assert!(ask(q, &apple), "the company is named by the passage's document");
            assert!(!ask(q, &[]), "nothing says the passage is Apple's");
            assert!(!ask("What were Tesla's total net sales in the three months ended July 1, 2023?", &apple), "another company");
            assert!(!ask("What were Apple's total net sales in the three months ended December 28, 2019?", &apple), "another period");
            // The vans fixture names its depot in the passage itself.
            let q = "How many electric vans run from the Dunmore depot?";
            assert!(check_terse("37 [1]", q, VANS).supported);
            assert!(!check_terse("37 [1]", "How many electric vans run from the Kingston depot?", VANS).supported);
        }

        #[test]
        fn a_table_cell_supports_its_figure_stated_with_the_units_of_the_table_title() {
            let filing = "/filings/2023 Q2 NVDA.pdf";
            let mut row = hit(filing, "Net income | Three Months Ended July 30, 2023: $6,188 | Three Months Ended July 31, 2022: $656");
            row.context = Some("2023 Q2 NVDA › page 4 › NVIDIA CONDENSED CONSOLIDATED STATEMENTS OF INCOME (In millions)".into());
            let documents = [(filing.to_string(), "2023 Q2 NVDA\nnvidia corporation form 10q".to_string())].into();
            let q = "What was NVIDIA's net income for the three months ended July 31, 2022?";
            let asked = Asked { question: q, documents };
            let check_answer = |answer: &str| {
                check(answer, &asked, std::slice::from_ref(&row), &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap()
            };
            let g = check_answer("$656 million [1]");
            assert!(g.claims[0].supported, "{g:?}");
            assert_eq!(g.claims[0].evidence.as_deref(), Some("Net income, Three Months Ended July 31, 2022: $656"));
            // The other period's figure is another cell.
            assert!(!check_answer("$6,100 million [1]").claims[0].supported);
        }

        #[test]
        fn a_claim_may_date_a_row_by_the_year_its_filing_names() {
            const ROW: &str = "Operating expenses: Research and development | Three Months Ended December 31, 2022: 7,709";
            let claim = "Apple spent $7,709 million on research and development in the first quarter of 2023 [1].";
            let evidence = |context: Option<&str>| {
                let mut row = hit("/filings/2023 Q1 AAPL.pdf", ROW);
                row.context = context.map(str::to_string);
                let asked = Asked::question("How much did Apple spend on R&D?");
                let g = check(claim, &asked, &[row], &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap();
                g.claims[0].evidence.clone()
            };
            assert_eq!(evidence(None), None, "nothing in the source says 2023");
            // The filing's name dates it: the row is weighed (meaning decides; the fake
            // embedder's bag of words is no measure of that).
            assert_eq!(evidence(Some("2023 Q1 AAPL › page 4 › Apple Inc. STATEMENTS OF OPERATIONS (In millions)")).as_deref(), Some(ROW));
        }

        #[test]
        fn a_name_of_the_question_opening_a_claim_must_be_in_the_sources() {
            let q = "How much cash did Netflix hold at the end of June 2023?";
            let source = "Cash and cash equivalents were $31.4 billion at the end of June 2023.";
            let hits = vec![hit("/filings/2023 Q2 AAPL.pdf", source)];
            let answer = "Netflix held $31.4 billion in cash at the end of June 2023 [1].";
            let g = check(answer, &Asked::question(q), &hits, &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap();
            assert!(!g.claims[0].supported, "nothing says the passage is Netflix's");
            let documents = [("/filings/2023 Q2 AAPL.pdf".to_string(), "2023 Q2 NFLX\nnetflix inc form 10q".to_string())].into();
            let asked = Asked { question: q, documents };
            let g = check(answer, &asked, &hits, &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap();
            assert!(g.claims[0].supported, "its document is Netflix's filing");
        }

        #[test]
        fn the_first_claim_and_those_as_close_to_the_question_answer_it() {
            let hits = vec![hit("/d/0.md", VANS)];
            let q = "How many electric vans run from the Dunmore depot?";
            let answer = "The company is based in Ireland [1]. Harbor Lane Freight runs 37 electric vans from the Dunmore depot [1].";
            let g = check(answer, &Asked::question(q), &hits, &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap();
            assert_eq!(g.claims.iter().map(|c| (c.answers, c.supported)).collect::<Vec<_>>(), vec![(true, false), (true, true)]);
            assert!(!g.answer_unsupported(), "a supported answering claim shows the answer");
            assert_eq!(g.grounded(), Some(0.5));
        }

        #[test]
        fn a_computed_result_needs_its_operands_in_the_sources_not_itself() {
            let hits = vec![
                hit("/10q/q3-2022.md", "Total net sales in the third quarter of 2022 were 1,577 million."),
                hit("/10q/q3-2021.md", "Total net sales in the third quarter of 2021 were 1,462 million."),
            ];
            let q = "What was the growth of total net sales in the third quarter of 2022?";
            let computed: HashSet<String> = ["7.87", "100"].map(String::from).into();
            let answer = "Total net sales in the third quarter grew by 7.87 (= (1,577 − 1,462) / 1,462 × 100) percent [1][2].";
            let g = check(answer, &Asked::question(q), &hits, &WordVectors::default(), REFUSAL, RULES, &computed).unwrap();
            assert!(g.claims[0].supported, "{:?}", g.claims);
            assert_eq!(g.claims[0].sources, vec![1, 2], "computed from [1] and [2]");
            let wrong_operand = "Total net sales in the third quarter grew by 7.87 (= (1,578 − 1,462) / 1,462 × 100) percent [1][2].";
            let g = check(wrong_operand, &Asked::question(q), &hits, &WordVectors::default(), REFUSAL, RULES, &computed).unwrap();
            assert!(!g.claims[0].supported, "an operand no source holds");
            let not_computed = check(answer, &Asked::question(q), &hits, &WordVectors::default(), REFUSAL, RULES, &HashSet::new()).unwrap();
            assert!(!not_computed.claims[0].supported, "a result the model wrote itself is a figure like any other");
        }

        #[test]
        fn a_change_computed_over_two_different_things_is_unsupported() {
            use crate::answer::arithmetic::{Calculation, compute};
            let ask = |answer: &str, hits: &[Hit]| {
                let (answer, done) = compute(answer);
                let computed: HashSet<String> = done.iter().flat_map(Calculation::exempt_figures).collect();
                let q = "How did net income change in the three months ended July 30, 2023?";
                check(&answer, &Asked::question(q), hits, &WordVectors::default(), REFUSAL, RULES, &computed).unwrap().claims[0].supported
            };
            let income_statement = vec![hit(
                "/10q/q2.md",
                "Net income | Three Months Ended July 30, 2023: $6,188 | Three Months Ended July 31, 2022: $656\n\
                 Income tax expense (benefit) | Three Months Ended July 30, 2023: 793 | Three Months Ended July 31, 2022: (181)",
            )];
            let claim = |formula: &str| format!("Net income grew by <<{formula}>>% in the three months ended July 30, 2023 [1].");
            assert!(ask(&claim("(6,188 - 656) / 656 * 100"), &income_statement), "one row, two periods");
            assert!(!ask(&claim("(6,188 - 793) / 793 * 100"), &income_statement), "net income against income tax");
            // Rows of one line item in two filings; the same sentence of two periods (the test above).
            let filings = vec![
                hit("/10q/2023-q2.md", "Net income | Three Months Ended July 30, 2023: $6,188"),
                hit(
                    "/10q/2022-q2.md",
                    "Net income | Three Months Ended July 31, 2022: $656\nIncome tax expense | Three Months Ended July 31, 2022: 793",
                ),
            ];
            assert!(ask(&claim("(6,188 - 656) / 656 * 100"), &filings), "the same line item");
            assert!(!ask(&claim("(6,188 - 793) / 793 * 100"), &filings), "another line item");
            // One row, but half a year against a quarter.
            let periods = vec![hit(
                "/10q/q2.md",
                "Net income | Three Months Ended July 30, 2023: $6,188 | Three Months Ended July 31, 2022: $656 | \
                 Six Months Ended July 30, 2023: $8,232 | Six Months Ended July 31, 2022: $2,274",
            )];
            assert!(ask(&claim("(6,188 - 656) / 656 * 100"), &periods), "two quarters");
            assert!(ask(&claim("(8,232 - 2,274) / 2,274 * 100"), &periods), "two half years");
            assert!(!ask(&claim("(8,232 - 656) / 656 * 100"), &periods), "a half year against a quarter");
            // Only a change is held to it: a ratio may divide one thing by another.
            let ratio = "Net income was <<6,188 / 793>> times the income tax in the three months ended July 30, 2023 [1].";
            assert!(ask(ratio, &income_statement), "a ratio of two things");
        }

        #[test]
        fn a_refusal_is_no_claim_and_needs_no_embedder() {
            let hits = vec![hit("/a.md", "Staff get 27 days of annual leave.")];
            let g = check(
                REFUSAL,
                &Asked::default(),
                &hits,
                &WordVectors { fail: true, ..Default::default() },
                REFUSAL,
                RULES,
                &HashSet::new(),
            )
            .unwrap();
            assert!(g.refused && g.claims.is_empty());
            assert_eq!(g.grounded(), None);
        }

        #[test]
        fn an_embedder_failure_is_an_error_not_an_unsupported_answer() {
            let hits = vec![hit("/a.md", "Staff get 27 days of annual leave.")];
            assert!(
                check(
                    "Staff get 27 days of annual leave [1].",
                    &Asked::default(),
                    &hits,
                    &WordVectors { fail: true, ..Default::default() },
                    REFUSAL,
                    RULES,
                    &HashSet::new()
                )
                .is_err()
            );
        }
    }

    #[test]
    fn line_items_and_sentences_say_the_same_of_their_figures_or_not() {
        assert!(same_words("Net income", "Net income (loss)"));
        assert!(same_words("Total net sales", "Net sales"));
        assert!(!same_words("Net income", "Income tax expense"));
        assert!(!same_words("Operating income", "Operating expenses"));
        assert!(!same_words("Income tax was an expense of $793 million.", "Net income was $6,188 million."));
        assert!(same_words(
            "Total net sales in the third quarter of 2022 were 1,577 million.",
            "Total net sales in the third quarter of 2021 were 1,462 million."
        ));
        assert!(!same_words("2023", "2022"), "figures alone say nothing");
        assert!(names_item("Net income", "Net income rose to $6,188 million."));
        assert!(!names_item("Net income", "Income tax was an expense of $793 million."));
        assert_eq!(period_length("Net income, Six Months Ended July 30, 2023: $8,232"), Some(6));
        assert_eq!(period_length("Revenue, Year Ended June 30, 2023: 211,915"), Some(12));
        assert_eq!(period_length("Net income | Three Months Ended …: 6,188 | Nine Months Ended …: 8,232"), None, "a whole row");
        assert_eq!(period_length("Total assets, June 30, 2023: 411,976"), None);
    }

    #[test]
    fn names_are_the_capitalised_words_inside_a_sentence() {
        assert_eq!(names("Revenue of Apple and Microsoft grew in June."), vec!["Apple", "Microsoft", "June"]);
        assert!(names("The sabbatical is unpaid.").is_empty());
    }
}
