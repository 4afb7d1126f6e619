//! Training pairs: a query and the file (or the one passage of it) that answers it, kept in
//! `pairs.jsonl` beside the adapter, one JSON object a line, appended as they are made.
//!
//! Appending a line per pair is what makes question writing resumable: a stopped run keeps every
//! question written so far, and the next run skips their passages. A torn last line (the process
//! died mid-write) is skipped when read, not an error.
//!
//! Whether a pair trains or judges the adapter is decided by its query's hash, not drawn: a
//! held-out pair stays held out on every run, so the adapter is never judged on pairs an earlier
//! one learned.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Where a pair came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairOrigin {
    /// A question the answer model wrote for a passage.
    Question,
    /// A heading or title and the section under it.
    Heading,
    /// Given by the user (a labelled set: questions and the files that answer them).
    Labelled,
    /// A person's verdict on an answer's sources (the app's 👍/👎, `brain feedback`).
    Feedback,
    /// A source a person opened from an answer to check it: a weaker "this one".
    Opened,
}

/// A query and what answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TuningPair {
    pub query: String,
    /// The file that answers it (the path a search returns).
    pub path: String,
    /// The one passage that answers it, by its chunk hash; `None`: any passage of the file (a
    /// labelled set names documents, not passages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_hash: Option<String>,
    pub origin: PairOrigin,
    /// The file does *not* answer the query (a source marked wrong): its passages are held
    /// against the query in training, never for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negative: bool,
}

/// What a person said of an answer's sources, or did with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 👍: these sources answer the question.
    Helpful,
    /// 👎: these sources do not answer it.
    Wrong,
    /// The person opened this source from the answer to check it.
    Opened,
}

/// Feedback on an answer (the app's 👍/👎 on an answer or a source, `brain feedback`): the
/// question asked and the files of the sources it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Feedback {
    pub question: String,
    pub paths: Vec<String>,
    pub verdict: Verdict,
}

impl Feedback {
    /// The pairs it makes: the question with each file (file-level: the answer's sources are
    /// whole passages of them, and a file's passages nearest the question train).
    pub(crate) fn pairs(&self) -> Vec<TuningPair> {
        let origin = if self.verdict == Verdict::Opened { PairOrigin::Opened } else { PairOrigin::Feedback };
        self.paths
            .iter()
            .map(|path| TuningPair {
                query: self.question.trim().to_string(),
                path: path.clone(),
                chunk_hash: None,
                origin,
                negative: self.verdict == Verdict::Wrong,
            })
            .collect()
    }
}

/// A query and the file that answers it, as a user gives them (`{"query", "path"}` lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledPair {
    pub query: String,
    pub path: String,
}

/// One pair in five is held back to judge the adapter (by the query's hash: stable across runs).
pub(crate) fn is_held_out(query: &str) -> bool {
    blake3::hash(query.trim().to_lowercase().as_bytes()).as_bytes()[0].is_multiple_of(5)
}

/// Every pair of the file (none when it does not exist); lines that do not parse are skipped.
pub(crate) fn read(path: &Path) -> Result<Vec<TuningPair>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(path, e)),
    };
    let mut pairs = Vec::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<TuningPair>(line) {
            Ok(pair) => pairs.push(pair),
            Err(e) => tracing::warn!("{} line {}: skipped ({e})", path.display(), number + 1),
        }
    }
    Ok(pairs)
}

/// Append `pairs` to the file (created if missing), flushed before returning.
pub(crate) fn append(path: &Path, pairs: &[TuningPair]) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for pair in pairs {
        text.push_str(&serde_json::to_string(pair).map_err(|e| EngineError::Internal(e.to_string()))?);
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| EngineError::io(path, e))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_data()).map_err(|e| EngineError::io(path, e))
}

/// The pairs of `new` not already among `known` (same query, file, passage and origin).
pub(crate) fn not_yet_known(known: &[TuningPair], new: Vec<TuningPair>) -> Vec<TuningPair> {
    let mut seen: HashSet<TuningPair> = known.iter().cloned().collect();
    new.into_iter().filter(|p| seen.insert(p.clone())).collect()
}

impl std::hash::Hash for TuningPair {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.query, &self.path, &self.chunk_hash, self.origin, self.negative).hash(state);
    }
}

/// The pairs as they stand after every verdict: of a person's verdicts on one query and file
/// only the last counts (marked helpful, then wrong: wrong), and a source opened counts only
/// while no verdict was given on it. Other pairs are kept as they are, in order.
pub(crate) fn latest_verdicts(pairs: &[TuningPair]) -> Vec<&TuningPair> {
    let key = |p: &TuningPair| (p.query.trim().to_lowercase(), p.path.clone());
    let last_of = |origin: PairOrigin| -> std::collections::HashMap<(String, String), usize> {
        pairs.iter().enumerate().filter(|(_, p)| p.origin == origin).map(|(i, p)| (key(p), i)).collect()
    };
    let (verdicts, opened) = (last_of(PairOrigin::Feedback), last_of(PairOrigin::Opened));
    pairs
        .iter()
        .enumerate()
        .filter(|(i, p)| match p.origin {
            PairOrigin::Feedback => verdicts.get(&key(p)) == Some(i),
            PairOrigin::Opened => !verdicts.contains_key(&key(p)) && opened.get(&key(p)) == Some(i),
            _ => true,
        })
        .map(|(_, p)| p)
        .collect()
}

/// Headings with fewer words say too little to be a query ("Scope", "Overview").
const MIN_HEADING_WORDS: usize = 3;

/// A chunk's own heading: the innermost part of its context ("identity › page 3 › Part > Heading"
/// as `brain-chunk` writes it), or the document's title when nothing is under it; not a place.
fn own_heading(context: &str) -> Option<&str> {
    let last = context.rsplit(" › ").next()?.trim();
    let is_place = ["page ", "slide ", "sheet "].iter().any(|p| last.starts_with(p));
    (!is_place).then(|| last.rsplit(" > ").next().unwrap_or(last).trim())
}

/// A pair of a chunk's own heading (or title) and the chunk, for chunks under a heading of at
/// least three words; one per heading and file. `chunks`: (path, context, chunk hash).
pub(crate) fn heading_pairs(chunks: &[(String, Option<String>, String)]) -> Vec<TuningPair> {
    let mut seen = HashSet::new();
    let mut pairs = Vec::new();
    for (path, context, chunk_hash) in chunks {
        let Some(heading) = context.as_deref().and_then(own_heading) else { continue };
        if heading.split_whitespace().count() < MIN_HEADING_WORDS || !seen.insert((path.clone(), heading.to_lowercase())) {
            continue;
        }
        pairs.push(TuningPair {
            query: heading.to_string(),
            path: path.clone(),
            chunk_hash: Some(chunk_hash.clone()),
            origin: PairOrigin::Heading,
            negative: false,
        });
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(query: &str, origin: PairOrigin) -> TuningPair {
        TuningPair { query: query.into(), path: "/d/a.md".into(), chunk_hash: Some("h1".into()), origin, negative: false }
    }

    #[test]
    fn pairs_are_appended_and_a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pairs.jsonl");
        assert!(read(&file).unwrap().is_empty());
        append(&file, &[pair("What is the per diem?", PairOrigin::Question)]).unwrap();
        append(&file, &[pair("Travel per diem rates", PairOrigin::Heading)]).unwrap();
        let mut torn = std::fs::read_to_string(&file).unwrap();
        torn.push_str("{\"query\": \"half a li");
        std::fs::write(&file, torn).unwrap();
        let pairs = read(&file).unwrap();
        assert_eq!(pairs, vec![pair("What is the per diem?", PairOrigin::Question), pair("Travel per diem rates", PairOrigin::Heading)]);
        let labelled = TuningPair { chunk_hash: None, ..pair("q", PairOrigin::Labelled) };
        assert!(!serde_json::to_string(&labelled).unwrap().contains("chunk_hash"));
    }

    #[test]
    fn the_last_verdict_on_a_source_counts_and_an_opened_one_only_without_a_verdict() {
        let verdict = |query: &str, path: &str, origin, negative| TuningPair {
            query: query.into(),
            path: path.into(),
            chunk_hash: None,
            origin,
            negative,
        };
        let pairs = vec![
            verdict("Who approves flights?", "/d/travel.docx", PairOrigin::Feedback, false),
            verdict("Who approves flights?", "/d/old-travel.docx", PairOrigin::Opened, false),
            verdict("who approves flights? ", "/d/travel.docx", PairOrigin::Feedback, true),
            verdict("Who approves flights?", "/d/travel.docx", PairOrigin::Opened, false),
            verdict("Who approves flights?", "/d/it.md", PairOrigin::Question, false),
        ];
        let kept: Vec<(&str, PairOrigin, bool)> = latest_verdicts(&pairs).iter().map(|p| (p.path.as_str(), p.origin, p.negative)).collect();
        assert_eq!(
            kept,
            [
                ("/d/old-travel.docx", PairOrigin::Opened, false),
                ("/d/travel.docx", PairOrigin::Feedback, true),
                ("/d/it.md", PairOrigin::Question, false),
            ]
        );
        // A negative pair says so in its line; a positive one keeps the old line's form.
        assert!(serde_json::to_string(&pairs[2]).unwrap().contains("\"negative\":true"));
        assert!(!serde_json::to_string(&pairs[0]).unwrap().contains("negative"));
    }

    #[test]
    fn known_pairs_are_not_added_twice() {
        let known = vec![pair("a?", PairOrigin::Question)];
        let new = vec![pair("a?", PairOrigin::Question), pair("b?", PairOrigin::Question), pair("b?", PairOrigin::Question)];
        assert_eq!(not_yet_known(&known, new), vec![pair("b?", PairOrigin::Question)]);
    }

    #[test]
    fn the_held_out_share_is_about_a_fifth_and_stable() {
        let queries: Vec<String> = (0..2000).map(|i| format!("question number {i}?")).collect();
        let held = queries.iter().filter(|q| is_held_out(q)).count();
        assert!((300..500).contains(&held), "{held} of 2000 held out");
        assert_eq!(is_held_out("What is the per diem?"), is_held_out("  what is the per diem?"));
    }

    #[test]
    fn headings_of_three_words_or_more_pair_with_their_first_chunk() {
        let chunk = |path: &str, context: Option<&str>, hash: &str| (path.to_string(), context.map(str::to_string), hash.to_string());
        let chunks = vec![
            chunk("/d/a.md", Some("a.md › Handbook > Travel and per diem"), "h1"),
            chunk("/d/a.md", Some("a.md › Handbook > Travel and per diem"), "h2"),
            chunk("/d/a.md", Some("a.md › Handbook > Scope"), "h3"),
            chunk("/d/b.md", None, "h4"),
            chunk("/d/c.md", Some("Leave for family reasons"), "h5"),
            chunk("/d/d.pdf", Some("Annual report of the board › page 12"), "h6"),
        ];
        let pairs = heading_pairs(&chunks);
        let got: Vec<(&str, &str)> = pairs.iter().map(|p| (p.query.as_str(), p.chunk_hash.as_deref().unwrap())).collect();
        assert_eq!(got, vec![("Travel and per diem", "h1"), ("Leave for family reasons", "h5")]);
        assert!(pairs.iter().all(|p| p.origin == PairOrigin::Heading));
    }
}
