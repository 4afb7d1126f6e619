//! The languages the documents are written in, and whether the embedder in use can read them.
//!
//! The default embedder, all-MiniLM-L6-v2, was trained on English: over German paragraphs it
//! puts a question's own paragraph among the top five by meaning 78 % of the time, over Chinese
//! 29 %, against 99 % and 98 % for the catalog's multilingual-e5-small (README, *Languages*). A
//! user with German documents who never opens the model settings would get an assistant that
//! mostly says "not found". So after each sync that changed the index, a sample of its passages
//! is read and each passage's language told; when a quarter or more are not English and the user
//! has chosen no embedder, the multilingual one is chosen — written into the settings, as the
//! user's own choice would be — and the index is built again with it, beside the old one, which
//! answers until the new one is complete (`reembed.rs`).
//!
//! Key design decisions:
//! - Told by `whichlang` (Quickwit's: 16 languages, a linear model over character n-grams, no
//!   dependencies of its own). Only "English or not" decides anything here; the languages are
//!   named for the user.
//! - Measured on the stored passages after a sync, not inside the pipeline: the pipeline stays
//!   one path, and what is measured is what is searched (a PDF's text layer, the words OCR read).
//! - Except before the first index is embedded: then a few files spread over those to index are
//!   prepared as indexing prepares them (parsed, chunked; OCR'd pages are cached, so indexing
//!   does not read them again) and their passages told, so that documents mostly in another
//!   language are embedded once, with the multilingual embedder, rather than first with the
//!   English-only one and then again. The measure after that sync reads the whole index as
//!   always; a sample that missed a language costs only the second pass it would have saved.
//! - Counted per passage, not per letter: passages are bounded in tokens, so each holds about
//!   the same content, where a Chinese passage holds a quarter of an English one's characters.
//!   A passage with too few letters to tell (a row of figures, a heading) is not counted.
//! - The questions count too: the languages of the last questions asked are kept (their codes,
//!   not their words), and when a quarter of them are not English the multilingual embedder is
//!   chosen as for documents: an English corpus asked in German is searched by meaning across
//!   the two languages only with it (0.62 of XQuAD's German questions find their English
//!   paragraph with the default embedder, 0.97 with E5). Chosen after the answer, so the answer
//!   itself is never held up; the next sync (the watcher's at once) builds the index again.
//! - One way only: the multilingual embedder reads English about as well as the default (0.994
//!   against 0.982 on XQuAD-en), so it is never swapped back on its own; an embedder the user
//!   names, or `embedder_by_language` off, always wins.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use whichlang::Lang;

use crate::Engine;
use crate::error::Result;
use crate::events::{IndexEvent, SyncSummary};
use crate::pipeline::Work;
use crate::pipeline::prepare::{self, Prepared};
use crate::settings::Settings;
use crate::sync::walk::DiskFile;

/// Passages read to tell the documents' languages (spread evenly over the index).
const SAMPLE: usize = 600;
/// Files prepared at most to tell a first index's languages before it is embedded: enough to
/// see a folder of another language among several, few enough to cost seconds (each is parsed
/// once more by indexing).
const FIRST_SAMPLE_FILES: usize = 24;
/// Passages told that end that sample early: a decision at a quarter is settled by far fewer
/// than the 600 of the whole index's measure, and a filing's PDF alone holds two hundred (the
/// twenty 10-Q filings, all parsed, took 14 s).
const FIRST_SAMPLE_PASSAGES: usize = 200;
/// Time after which that sample ends with the files read so far: a scan read by OCR or a file
/// that runs into its parse time limit (60 s by default) must not hold the first index back
/// for long (OCR'd pages are cached and not read again; a file that timed out is tried again).
const FIRST_SAMPLE_TIME: std::time::Duration = std::time::Duration::from_secs(20);
/// Letters a passage needs for its language to be told.
const MIN_LETTERS: usize = 40;
/// Letters a question needs for its language to be told (a Chinese question holds about ten
/// characters; of XQuAD's 1,190 Chinese questions, 21 hold fewer than eight).
const MIN_QUESTION_LETTERS: usize = 8;
/// Questions whose languages are kept: the last ones asked, the oldest dropped first.
const QUESTIONS_KEPT: usize = 32;
/// Questions told before their languages decide anything. `whichlang` takes some English
/// questions for another language (of XQuAD's 1,190 English questions 0.5 %, of SciFact's 1,109
/// claims 2.2 %: "IL-10 production by monocytes…" reads as French), so a few mistaken ones
/// among the first must not choose: with ten, the rule fires for 1 in 500 users asking only
/// SciFact-like English claims over their first 200 questions (simulated), against 1 in 80
/// with eight; a user asking in another language crosses it within the first ten.
const QUESTIONS_TO_DECIDE: usize = 10;
/// Characters of a passage read to tell its language: its opening tells it as well as the whole.
const READ_CHARS: usize = 1_500;
/// The share of passages in other languages than English from which the multilingual embedder
/// is chosen: a quarter of the documents unread is a quarter of the answers lost, while the
/// multilingual embedder costs English documents nothing in quality (only embedding time).
pub(crate) const MULTILINGUAL_SHARE: f32 = 0.25;
/// The last measure, in the data dir.
const FILE: &str = "languages.json";
/// The catalog's multilingual embedder (`assets/models.toml`).
pub const MULTILINGUAL_EMBEDDER: &str = "multilingual-e5-small";

/// One language's share of the documents' passages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct LanguageShare {
    /// ISO 639-3 ("deu").
    pub code: String,
    /// Its name in English ("German").
    pub name: String,
    /// Of the passages (or questions) whose language was told.
    pub share: f32,
}

/// The languages of the documents, as a sample of their passages tells; or of the questions
/// asked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct LanguageProfile {
    /// Largest share first.
    pub languages: Vec<LanguageShare>,
    /// Passages (in a profile of the questions asked: questions) whose language was told, of
    /// those read; a row of figures is not.
    #[serde(alias = "passages")]
    pub told: usize,
}

/// Passages counted by language as they come (a sample read a few files at a time tells each
/// passage once).
#[derive(Debug, Default)]
struct LanguageCounts {
    counts: BTreeMap<String, usize>,
    told: usize,
}

impl LanguageCounts {
    /// Tell a passage's language and count it (not counted: too few letters to tell).
    fn add(&mut self, passage: &str) {
        if let Some(language) = passage_language(passage) {
            self.add_code(language.three_letter_code());
        }
    }

    /// Count one text already told (ISO 639-3).
    fn add_code(&mut self, code: &str) {
        *self.counts.entry(code.to_string()).or_default() += 1;
        self.told += 1;
    }

    fn profile(&self) -> LanguageProfile {
        let told = self.told;
        let mut languages: Vec<LanguageShare> = self
            .counts
            .iter()
            .map(|(code, &n)| LanguageShare { code: code.clone(), name: language_name(code).to_string(), share: n as f32 / told as f32 })
            .collect();
        languages.sort_by(|a, b| b.share.total_cmp(&a.share).then_with(|| a.code.cmp(&b.code)));
        LanguageProfile { languages, told }
    }
}

impl LanguageProfile {
    /// Tell the language of each passage and count them.
    pub fn of<'a>(passages: impl IntoIterator<Item = &'a str>) -> LanguageProfile {
        let mut counts = LanguageCounts::default();
        passages.into_iter().for_each(|p| counts.add(p));
        counts.profile()
    }

    /// The share of passages in other languages than English.
    pub fn other_than_english(&self) -> f32 {
        if self.told == 0 {
            return 0.0;
        }
        1.0 - self.languages.iter().find(|l| l.code == "eng").map_or(0.0, |l| l.share)
    }

    /// Whether an English-only embedder would leave too much of the documents unread.
    pub fn wants_multilingual(&self) -> bool {
        self.told > 0 && self.other_than_english() >= MULTILINGUAL_SHARE
    }

    /// Whether, as the profile of the questions asked, it wants the multilingual embedder:
    /// enough questions told, and a quarter of them or more not in English (which an
    /// English-only embedder cannot match to any passage by meaning).
    fn questions_want_multilingual(&self) -> bool {
        self.told >= QUESTIONS_TO_DECIDE && self.other_than_english() >= MULTILINGUAL_SHARE
    }

    /// "German 62 %, English 35 %, French 3 %" (the three largest, rounded).
    pub fn describe(&self) -> String {
        describe_shares(&self.languages)
    }
}

/// "German 62 %, English 35 %, French 3 %": the first three shares, rounded.
pub fn describe_shares(shares: &[LanguageShare]) -> String {
    let shown: Vec<String> = shares.iter().take(3).map(|l| format!("{} {} %", l.name, (l.share * 100.0).round() as u32)).collect();
    shown.join(", ")
}

/// Up to `n` indices of a list of `len`, in an order whose every beginning is spread over the
/// whole list (0, ½, ¼, ¾, ⅛ … of the way along: van der Corput's sequence): the walk lists a
/// folder's files together, so the first files would be one folder's, and a sample that stops
/// early must still have seen every part.
fn spread(len: usize, n: usize) -> Vec<usize> {
    let wanted = n.min(len);
    let mut picked = Vec::with_capacity(wanted);
    let mut seen = vec![false; len];
    let mut j: u32 = 0;
    while picked.len() < wanted {
        let (mut bits, mut fraction, mut unit) = (j, 0.0f64, 0.5f64);
        while bits > 0 {
            fraction += f64::from(bits & 1) * unit;
            unit /= 2.0;
            bits >>= 1;
        }
        let i = ((fraction * len as f64) as usize).min(len - 1);
        if !seen[i] {
            seen[i] = true;
            picked.push(i);
        }
        j += 1;
    }
    picked
}

/// The passages prepared files were cut into (failed files have none).
fn prepared_passages(prepared: &[Prepared]) -> impl Iterator<Item = &str> {
    prepared
        .iter()
        .flat_map(|p| match p {
            Prepared::Chunks { chunks, .. } => chunks.as_slice(),
            Prepared::Touch(_) | Prepared::Failed(_) => &[],
        })
        .map(|c| c.text.as_str())
}

/// A passage's words (runs of letters and apostrophes), one space apart. Figures, currency
/// signs and table bars say nothing of a language and lead the detector astray: read whole, 7 %
/// of a set of English 10-Q filings' passages (their table rows) were told French, Turkish or
/// Spanish; read as words, 1 %.
fn words_of(text: &str) -> String {
    let words: Vec<&str> = text.split(|c: char| !c.is_alphabetic() && c != '\'' && c != '’').filter(|w| !w.is_empty()).collect();
    words.join(" ")
}

/// A question's language (ISO 639-3), from its words; `None` when it has too few letters to tell.
fn question_language(question: &str) -> Option<&'static str> {
    short_text_language(question).map(Lang::three_letter_code)
}

/// The language of a short text — a question, a claim read with its question — from its words;
/// `None` when it has too few letters to tell.
pub(crate) fn short_text_language(text: &str) -> Option<Lang> {
    told(text, MIN_QUESTION_LETTERS)
}

/// The language of a passage, from the words of its opening; `None` when it has too few letters
/// to tell (a row of figures).
pub(crate) fn passage_language(passage: &str) -> Option<Lang> {
    let opening = match passage.char_indices().nth(READ_CHARS) {
        Some((end, _)) => &passage[..end],
        None => passage,
    };
    told(opening, MIN_LETTERS)
}

/// The question's language where languages are compared at all: told only for an embedder that
/// reads across languages (with any other, a question and a passage are always read on one
/// language's scale, and nothing is told).
pub(crate) fn asked_in(embedder: &dyn crate::inference::EmbedText, question: &str) -> Option<Lang> {
    if embedder.reads_across_languages() { short_text_language(question) } else { None }
}

/// Whether `passage` is in another language than a question asked in `asked_in` ([`asked_in`]);
/// the passage's language is only told when the question's was.
pub(crate) fn passage_differs(asked_in: Option<Lang>, passage: &str) -> bool {
    asked_in.is_some() && differ(asked_in, passage_language(passage))
}

/// Whether two texts told apart are in different languages: a German question and an English
/// passage, which a multilingual embedder puts less close than one language's pair (see
/// `brain_embed::Embedder::calibrate_across_languages`). False when either was not told.
pub(crate) fn differ(a: Option<Lang>, b: Option<Lang>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

fn told(text: &str, min_letters: usize) -> Option<Lang> {
    let words = words_of(text);
    (words.chars().filter(|c| c.is_alphabetic()).count() >= min_letters).then(|| whichlang::detect_language(&words))
}

/// Whether a text is in a language that capitalises its nouns (German, of those told), where a
/// capital letter does not mark a name: "Stadtteilen" is "districts", not a place.
pub(crate) fn capitalizes_nouns(text: &str) -> bool {
    let words = words_of(text);
    words.chars().filter(|c| c.is_alphabetic()).count() >= 12 && whichlang::detect_language(&words) == Lang::Deu
}

fn language_name(code: &str) -> &'static str {
    const NAMES: &[(Lang, &str)] = &[
        (Lang::Ara, "Arabic"),
        (Lang::Cmn, "Chinese"),
        (Lang::Deu, "German"),
        (Lang::Eng, "English"),
        (Lang::Fra, "French"),
        (Lang::Hin, "Hindi"),
        (Lang::Ita, "Italian"),
        (Lang::Jpn, "Japanese"),
        (Lang::Kor, "Korean"),
        (Lang::Nld, "Dutch"),
        (Lang::Por, "Portuguese"),
        (Lang::Rus, "Russian"),
        (Lang::Spa, "Spanish"),
        (Lang::Swe, "Swedish"),
        (Lang::Tur, "Turkish"),
        (Lang::Vie, "Vietnamese"),
    ];
    NAMES.iter().find(|(lang, _)| lang.three_letter_code() == code).map_or("another language", |(_, name)| name)
}

/// What the languages of the documents, and of the questions asked, mean for the embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum EmbedderFit {
    /// The embedder in use reads them: they are mostly English, or it is multilingual.
    Reads,
    /// The multilingual embedder was chosen for them — the documents, or the questions asked
    /// (before the first index, or the index built again with it).
    ChosenForThem,
    /// They want the multilingual embedder, which is not in the models dir
    /// (`brain models fetch --embedder multilingual-e5-small`); the next sync after it is
    /// fetched chooses it.
    NotFetched,
    /// They want the multilingual embedder, but the user named another embedder or turned
    /// `embedder_by_language` off.
    KeptByUser,
}

/// The documents' languages and what they mean for the embedder (`status`).
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct LanguagesStatus {
    /// The documents'.
    pub profile: LanguageProfile,
    /// The last questions asked (up to 32 whose language could be told).
    pub questions: LanguageProfile,
    pub embedder: EmbedderFit,
}

/// The embedder in use and the user's choices, as the rule reads them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmbedderState {
    /// The embedder in use reads other languages (E5).
    pub multilingual_in_use: bool,
    /// The user named an embedder, or turned the choice by language off.
    pub chosen_by_user: bool,
    /// The multilingual embedder's file is in the models dir.
    pub multilingual_fetched: bool,
    /// The engine chose the multilingual embedder before (it is in the settings because of this rule).
    pub chosen_for_languages: bool,
}

impl EmbedderState {
    fn of(settings: &Settings, embedder_in_use: &Path, multilingual: Option<&Path>, chosen_for_languages: bool) -> EmbedderState {
        EmbedderState {
            multilingual_in_use: brain_embed::e5::is_e5_file(embedder_in_use),
            chosen_by_user: settings.embedder.is_some() || !settings.embedder_by_language,
            multilingual_fetched: multilingual.is_some_and(Path::is_file),
            chosen_for_languages,
        }
    }
}

/// What wants the multilingual embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// A quarter or more of the documents' passages are not in English.
    ForDocuments,
    /// The documents are English, but a quarter or more of the questions asked are not.
    ForQuestions,
}

/// The rule.
pub(crate) fn fit(wanted: Option<Wanted>, state: EmbedderState) -> EmbedderFit {
    if state.multilingual_in_use {
        return if state.chosen_for_languages { EmbedderFit::ChosenForThem } else { EmbedderFit::Reads };
    }
    if wanted.is_none() {
        EmbedderFit::Reads
    } else if state.chosen_by_user {
        EmbedderFit::KeptByUser
    } else if !state.multilingual_fetched {
        EmbedderFit::NotFetched
    } else {
        // To be chosen at the end of this sync or answer (`Engine::choose_multilingual`).
        EmbedderFit::ChosenForThem
    }
}

/// Whether the engine chooses the multilingual embedder now.
pub(crate) fn should_choose(wanted: Option<Wanted>, state: EmbedderState) -> bool {
    !state.multilingual_in_use && fit(wanted, state) == EmbedderFit::ChosenForThem
}

/// The last measure and what the engine did about it, in the data dir.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Record {
    profile: LanguageProfile,
    /// The multilingual embedder is in the settings because of this rule.
    chosen_for_languages: bool,
    /// Files indexed or removed since the measure.
    #[serde(default)]
    changed_since: usize,
    /// The languages (ISO 639-3) of the last questions asked whose language could be told,
    /// oldest first — their codes only, not their words.
    #[serde(default)]
    questions: Vec<String>,
}

impl Record {
    /// The languages of the questions asked.
    fn question_profile(&self) -> LanguageProfile {
        let mut counts = LanguageCounts::default();
        self.questions.iter().for_each(|code| counts.add_code(code));
        counts.profile()
    }

    /// What wants the multilingual embedder, if anything: the documents first.
    fn wanted(&self) -> Option<Wanted> {
        if self.profile.wants_multilingual() {
            Some(Wanted::ForDocuments)
        } else if self.question_profile().questions_want_multilingual() {
            Some(Wanted::ForQuestions)
        } else {
            None
        }
    }

    /// Keep a question's language, dropping the oldest beyond those kept.
    fn remember_question(&mut self, code: &str) {
        self.questions.push(code.to_string());
        let over = self.questions.len().saturating_sub(QUESTIONS_KEPT);
        self.questions.drain(..over);
    }
}

/// The share of the files that must have changed since the last measure for the languages to be
/// told again: the sample reads the whole table's text, too much to do for every file a watcher
/// sees saved, and a few files do not turn a corpus's language.
const REMEASURE_SHARE: f64 = 0.05;

/// Whether the languages are told again after a sync: never told, or enough files changed since.
fn remeasure(record: Option<&Record>, summary: &SyncSummary) -> bool {
    record.is_none_or(|r| {
        let changed = r.changed_since + summary.indexed + summary.removed;
        changed > 0 && changed as f64 >= REMEASURE_SHARE * summary.files as f64
    })
}

fn read_record(data_dir: &Path) -> Option<Record> {
    let text = std::fs::read_to_string(data_dir.join(FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_record(data_dir: &Path, record: &Record) -> Result<()> {
    let text = serde_json::to_vec_pretty(record).map_err(|e| crate::error::EngineError::Settings(e.to_string()))?;
    crate::fsutil::write_atomic(&data_dir.join(FILE), &text)
}

impl Engine {
    fn embedder_state(&self, chosen_for_languages: bool) -> EmbedderState {
        let multilingual = crate::models::embedder_path(&self.options.models_dir, MULTILINGUAL_EMBEDDER);
        EmbedderState::of(&self.settings(), &self.model_paths().embedder, multilingual.as_deref(), chosen_for_languages)
    }

    /// Read the record, change it and write it back, one change at a time in this process: a
    /// question's language is remembered while a sync measures the documents.
    fn update_record(&self, change: impl FnOnce(&mut Record)) -> Result<Record> {
        let _one_at_a_time = self.languages_record.lock().unwrap_or_else(|p| p.into_inner());
        let mut record = read_record(&self.options.data_dir).unwrap_or_default();
        change(&mut record);
        write_record(&self.options.data_dir, &record)?;
        Ok(record)
    }

    /// After a sync: tell the documents' languages again if the index changed (or was never
    /// measured) and, where the rule says so, choose the multilingual embedder for them (or for
    /// the questions asked). True when it was chosen: the caller builds the index again with it.
    pub(crate) async fn choose_embedder_by_language(&self, summary: &SyncSummary) -> Result<bool> {
        // A team's shared index changes embedder only when its administrator says (`sync`).
        if self.home.bucket().is_some() || !self.has_index().await? {
            return Ok(false);
        }
        let earlier = read_record(&self.options.data_dir);
        let record = if remeasure(earlier.as_ref(), summary) {
            let store = self.store().await?;
            let passages = store.sample_chunks(SAMPLE).await?;
            let profile = crate::blocking(move || LanguageProfile::of(passages.iter().map(|(text, _)| text.as_str()))).await?;
            self.update_record(|r| {
                r.profile = profile;
                r.changed_since = 0;
            })?
        } else if summary.indexed + summary.removed > 0 {
            self.update_record(|r| r.changed_since += summary.indexed + summary.removed)?
        } else {
            earlier.unwrap_or_default()
        };
        let state = self.embedder_state(record.chosen_for_languages);
        let wanted = record.wanted();
        if !should_choose(wanted, state) {
            if fit(wanted, state) == EmbedderFit::NotFetched {
                tracing::warn!(
                    "{}: `brain models fetch --embedder {MULTILINGUAL_EMBEDDER}` lets them be found by meaning",
                    what_wants_it(&record, wanted)
                );
            }
            return Ok(false);
        }
        self.choose_multilingual(&record, true).await
    }

    /// After a question was answered: its language is kept with the last questions'; when the
    /// rule now says so, the multilingual embedder is chosen for them (with an index there, the
    /// next sync builds it again, and the watcher syncs at once: the settings changed; without
    /// one, the first index is built with it). `question` is not kept, only its language.
    pub(crate) async fn remember_question_language(&self, question: &str) -> Result<()> {
        if self.home.bucket().is_some() {
            return Ok(());
        }
        let Some(code) = question_language(question) else { return Ok(()) };
        let record = self.update_record(|r| r.remember_question(code))?;
        if should_choose(record.wanted(), self.embedder_state(record.chosen_for_languages)) {
            let built_again = self.has_index().await?;
            self.choose_multilingual(&record, built_again).await?;
        }
        Ok(())
    }

    /// Before an index is embedded from nothing — a first index (`files`: those to index), or
    /// the index built again for another embedder (`None`) — choose the multilingual embedder
    /// where the rule says so: for the documents' languages as last measured or, never measured,
    /// as a few of `files` tell, or for the questions asked. Documents mostly in another
    /// language are then embedded once, with it, rather than with the English-only one first and
    /// again after the sync's measure (which still reads the whole index and decides as always).
    /// True when chosen.
    pub(crate) async fn choose_embedder_before_embedding(&self, files: Option<&[DiskFile]>) -> Result<bool> {
        if self.home.bucket().is_some() {
            return Ok(false);
        }
        let state = self.embedder_state(false);
        // Nothing a measure could change (the rule's other cases): no file is read.
        if state.multilingual_in_use || state.chosen_by_user || !state.multilingual_fetched {
            return Ok(false);
        }
        let mut record = read_record(&self.options.data_dir).unwrap_or_default();
        // Never measured (at most questions asked so far) and nothing decided yet: a few of the
        // files tell.
        if record.profile.told == 0 && record.wanted().is_none() {
            match files {
                Some(files) if !files.is_empty() => record.profile = self.tell_first_files(files).await?,
                _ => return Ok(false),
            }
        }
        if !should_choose(record.wanted(), state) {
            // A sample's measure is not written: the one after the sync is the first of the whole index.
            return Ok(false);
        }
        // An index there is (built with another embedder) is built again with this one.
        let built_with = self.meta().await?.and_then(|m| m.embedder_path);
        let built_again = built_with.is_some_and(|p| !brain_embed::e5::is_e5_file(&p));
        self.choose_multilingual(&record, built_again).await
    }

    /// The languages of a few of a first index's files, prepared as indexing prepares them:
    /// spread over them, as many at a time as there are cores, until enough passages are told.
    async fn tell_first_files(&self, files: &[DiskFile]) -> Result<LanguageProfile> {
        let started = std::time::Instant::now();
        let pipeline = self.pipeline_for_corpus().await?;
        let work = |f: &DiskFile| Work::File {
            path: f.path.clone(),
            folder: f.folder.clone(),
            size: f.size,
            mtime_ns: f.mtime_ns,
            previous: None,
            readers: None,
        };
        // As many files at a time as indexing prepares on the cores, until enough passages are told.
        let at_once = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (mut counts, mut files_read) = (LanguageCounts::default(), 0);
        for group in spread(files.len(), FIRST_SAMPLE_FILES).chunks(at_once) {
            let prepared = prepare::start(&pipeline, group.iter().map(|&i| work(&files[i])).collect()).finish().await?;
            files_read += group.len();
            // Each new passage told once, off the async threads.
            counts = crate::blocking(move || {
                prepared_passages(&prepared).for_each(|p| counts.add(p));
                counts
            })
            .await?;
            if counts.told >= FIRST_SAMPLE_PASSAGES || started.elapsed() >= FIRST_SAMPLE_TIME {
                break;
            }
        }
        let profile = counts.profile();
        tracing::info!(
            "before the first index: {} passages of {files_read} files told in {} ms ({})",
            profile.told,
            started.elapsed().as_millis(),
            profile.describe()
        );
        Ok(profile)
    }

    /// Choose the multilingual embedder for what `record` says wants it (its documents, or the
    /// questions asked): written into the settings and the record, and said (`built_again`: an
    /// index built with the English-only embedder is to be built again; false before the first).
    /// True when chosen.
    async fn choose_multilingual(&self, record: &Record, built_again: bool) -> Result<bool> {
        let data_dir = self.options.data_dir.clone();
        let Some(path) = crate::models::embedder_path(&self.options.models_dir, MULTILINGUAL_EMBEDDER) else {
            return Ok(false);
        };
        // Into the saved settings (not this run's, which may carry a model given for one run).
        let mut saved = Settings::load(&data_dir)?;
        saved.embedder = Some(path.clone());
        saved.save(&data_dir)?;
        let mut now = self.settings();
        now.embedder = Some(path);
        self.apply_settings(now).await?;
        // The measure it was chosen for (a first index's sample) is kept; so are the questions
        // remembered since `record` was read.
        let profile = record.profile.clone();
        self.update_record(|r| {
            r.profile = profile;
            r.chosen_for_languages = true;
        })?;
        let wanted = record.wanted();
        tracing::info!(
            "{}: {} with {MULTILINGUAL_EMBEDDER}",
            what_wants_it(record, wanted),
            if built_again { "building the index again" } else { "indexing them" }
        );
        let for_questions = wanted == Some(Wanted::ForQuestions);
        let languages = if for_questions { record.question_profile().languages } else { record.profile.languages.clone() };
        self.emit(IndexEvent::EmbedderChosen { embedder: MULTILINGUAL_EMBEDDER.to_string(), languages, built_again, for_questions });
        Ok(true)
    }

    /// The documents' languages as last measured, the questions' asked, and what they mean for
    /// the embedder in use; `None` before the first sync or question.
    pub(crate) fn languages_status(&self) -> Option<LanguagesStatus> {
        if self.home.bucket().is_some() {
            return None;
        }
        let record = read_record(&self.options.data_dir)?;
        let embedder = fit(record.wanted(), self.embedder_state(record.chosen_for_languages));
        Some(LanguagesStatus { questions: record.question_profile(), profile: record.profile, embedder })
    }
}

/// "31 % of the documents' passages are not in English (German 31 %, …)", or the same of the
/// questions asked, for the log.
fn what_wants_it(record: &Record, wanted: Option<Wanted>) -> String {
    let (profile, of) = match wanted {
        Some(Wanted::ForQuestions) => (record.question_profile(), "the last questions asked"),
        _ => (record.profile.clone(), "the documents' passages"),
    };
    format!("{:.0} % of {of} are not in English ({})", profile.other_than_english() * 100.0, profile.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGLISH: &str = "Every full-time employee is entitled to 28 days of annual leave. Days not taken expire on 31 March of the following year, unless the manager agrees otherwise in writing.";
    const GERMAN: &str = "Jede Vollzeitkraft hat Anspruch auf 28 Urlaubstage im Jahr. Nicht genommene Tage verfallen am 31. März des Folgejahres, es sei denn, die Führungskraft stimmt schriftlich zu.";
    const SPANISH: &str = "Cada empleado a tiempo completo tiene derecho a 28 días de vacaciones al año. Los días no disfrutados caducan el 31 de marzo del año siguiente.";
    const CHINESE: &str = "每位全职员工每年享有二十八天带薪年假。未使用的假期将在次年三月三十一日失效，除非经理书面同意延期。所有请假申请必须提前两周通过人事系统提交。";
    const FIGURES: &str = "| 2023 | 1,577 | 1,462 | 8.0 % |";
    const TABLE_ROW: &str =
        "Total net sales | Three Months Ended July 1, 2023: 81,797 | Three Months Ended June 25, 2022: 82,959 | Nine Months Ended: 282,973";
    /// Rows of a 10-Q's table the detector reads as French when given their figures too.
    const TABLE_ROWS: &str = "Corporate debt securities | $4,221 | $— | $(19) | $4,202 | $239 | $3,963 Treasury | 4,176 | 1 | (60) | 4,117 | 1 | 4,116 \
        Debt securities issued by U.S. government agencies | 2,259 | — | (4) | 2,255 | 344 | 1,911 Certificates of deposit | 316";

    /// What the documents of `profile` want, no question asked.
    fn wanted(profile: &LanguageProfile) -> Option<Wanted> {
        Record { profile: profile.clone(), ..Record::default() }.wanted()
    }

    fn state() -> EmbedderState {
        EmbedderState { multilingual_in_use: false, chosen_by_user: false, multilingual_fetched: true, chosen_for_languages: false }
    }

    #[test]
    fn a_sample_is_spread_over_all_the_files_from_its_beginning() {
        assert_eq!(spread(100, 4), vec![0, 50, 25, 75], "one from each quarter, not the first folder's four");
        assert_eq!(spread(100, 2), vec![0, 50], "stopped after two: both halves seen");
        let picked = spread(100, 24);
        assert_eq!(picked.len(), 24);
        assert!((0..4).all(|quarter| picked[..8].iter().any(|&i| i / 25 == quarter)), "the first eight cover every quarter: {picked:?}");
        let mut few = spread(3, 24);
        few.sort_unstable();
        assert_eq!(few, vec![0, 1, 2], "all of them when there are no more");
        assert!(spread(0, 24).is_empty());
    }

    #[test]
    fn each_passage_is_counted_in_its_language() {
        let profile = LanguageProfile::of([ENGLISH, GERMAN, GERMAN, SPANISH, CHINESE]);
        assert_eq!(profile.told, 5);
        let share = |code: &str| profile.languages.iter().find(|l| l.code == code).map_or(0.0, |l| l.share);
        assert_eq!((share("eng"), share("deu"), share("spa"), share("cmn")), (0.2, 0.4, 0.2, 0.2), "{profile:?}");
        assert_eq!(profile.languages[0].name, "German", "largest first");
        assert!((profile.other_than_english() - 0.8).abs() < 1e-6);
        assert!(profile.describe().starts_with("German 40 %, "), "{}", profile.describe());
    }

    #[test]
    fn rows_of_figures_and_a_filing_table_row_do_not_count_against_english() {
        // A row of figures has no language; a filing's table row, its labels, is English.
        assert_ne!(whichlang::detect_language(TABLE_ROWS), Lang::Eng, "read with its figures");
        let profile = LanguageProfile::of([ENGLISH, FIGURES, TABLE_ROW, TABLE_ROWS, ENGLISH, "Contents", ""]);
        assert_eq!(profile.told, 4, "{profile:?}");
        assert_eq!(profile.other_than_english(), 0.0, "{profile:?}");
        assert!(!profile.wants_multilingual());
        assert!(!LanguageProfile::default().wants_multilingual(), "nothing told, nothing wanted");
    }

    #[test]
    fn a_quarter_of_the_passages_in_other_languages_wants_the_multilingual_embedder() {
        let mostly_english = LanguageProfile::of([ENGLISH, ENGLISH, ENGLISH, ENGLISH, GERMAN]);
        assert!(!mostly_english.wants_multilingual(), "a fifth: {mostly_english:?}");
        let quarter = LanguageProfile::of([ENGLISH, ENGLISH, ENGLISH, GERMAN]);
        assert!(quarter.wants_multilingual(), "{quarter:?}");
        assert!(LanguageProfile::of([CHINESE]).wants_multilingual());
    }

    #[test]
    fn the_multilingual_embedder_is_chosen_only_while_the_user_has_chosen_none() {
        let german = wanted(&LanguageProfile::of([GERMAN, GERMAN, ENGLISH]));
        let english = wanted(&LanguageProfile::of([ENGLISH, ENGLISH, GERMAN, ENGLISH, ENGLISH]));
        assert!(should_choose(german, state()));
        assert_eq!(fit(german, state()), EmbedderFit::ChosenForThem);
        assert!(!should_choose(english, state()));
        assert_eq!(fit(english, state()), EmbedderFit::Reads);

        // The user named an embedder, or turned the choice off: advice only.
        let user = EmbedderState { chosen_by_user: true, ..state() };
        assert!(!should_choose(german, user));
        assert_eq!(fit(german, user), EmbedderFit::KeptByUser);
        // Not fetched: nothing to choose, the status says how to get it.
        let missing = EmbedderState { multilingual_fetched: false, ..state() };
        assert!(!should_choose(german, missing));
        assert_eq!(fit(german, missing), EmbedderFit::NotFetched);
        // In use already: nothing to do, whether it was chosen here or by the user; never
        // swapped back when the documents turn English.
        let in_use = EmbedderState { multilingual_in_use: true, chosen_by_user: true, ..state() };
        assert!(!should_choose(german, in_use) && !should_choose(english, in_use));
        assert_eq!(fit(english, in_use), EmbedderFit::Reads);
        let chosen_here = EmbedderState { chosen_for_languages: true, ..in_use };
        assert_eq!(fit(english, chosen_here), EmbedderFit::ChosenForThem);
    }

    #[test]
    fn a_question_is_told_by_its_words_and_only_its_language_is_kept() {
        assert_eq!(question_language("Wie viele Urlaubstage hat eine Vollzeitkraft im Jahr?"), Some("deu"));
        assert_eq!(question_language("How many days of annual leave does a full-time employee get?"), Some("eng"));
        assert_eq!(question_language("¿Cuántos días de vacaciones tiene un empleado al año?"), Some("spa"));
        assert_eq!(question_language("每位全职员工每年有多少天年假？"), Some("cmn"));
        assert_eq!(question_language("What was Apple's Q3 2022 revenue?"), Some("eng"), "figures are not words");
        assert_eq!(question_language("Q3 2022 10-Q?"), None, "too few letters to tell");
    }

    #[test]
    fn a_question_and_a_passage_in_different_languages_are_told_apart() {
        let leave = "Every full-time employee is entitled to 28 days of annual leave per year.";
        assert!(differ(short_text_language("Wie viele Urlaubstage hat eine Vollzeitkraft im Jahr?"), passage_language(leave)));
        assert!(differ(short_text_language("每位全职员工每年有多少天年假？"), passage_language(leave)));
        assert!(!differ(short_text_language("How many days of annual leave does a full-time employee get?"), passage_language(leave)));
        // What cannot be told is not told apart.
        assert!(!differ(short_text_language("Q3 2022?"), passage_language(leave)));
        assert_eq!(passage_language("Net sales | 2023: 81,797 | 2022: 82,959"), None, "a row of figures");

        let mut record = Record::default();
        for i in 0..40 {
            record.remember_question(if i < 8 { "deu" } else { "eng" });
        }
        assert_eq!(record.questions.len(), QUESTIONS_KEPT, "the last ones only");
        assert!(record.questions.iter().all(|code| code == "eng"), "the oldest (German) dropped first: {:?}", record.questions);
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("Urlaub") && json.contains("\"eng\""), "codes, not words: {json}");
    }

    #[test]
    fn a_quarter_of_ten_questions_or_more_in_other_languages_wants_the_multilingual_embedder() {
        let english_documents = LanguageProfile::of([ENGLISH, ENGLISH, ENGLISH, ENGLISH]);
        let asked = |german: usize, english: usize| {
            let mut record = Record { profile: english_documents.clone(), ..Record::default() };
            (0..english).for_each(|_| record.remember_question("eng"));
            (0..german).for_each(|_| record.remember_question("deu"));
            record
        };
        assert_eq!(asked(0, 20).wanted(), None);
        assert_eq!(asked(3, 6).wanted(), None, "nine questions told: too few to tell a user's language from the detector's mistakes");
        assert_eq!(asked(3, 7).wanted(), Some(Wanted::ForQuestions), "three of ten");
        assert_eq!(asked(2, 8).wanted(), None, "two of ten: a fifth");
        assert_eq!(asked(10, 0).wanted(), Some(Wanted::ForQuestions));
        assert_eq!(asked(8, 24).wanted(), Some(Wanted::ForQuestions), "a quarter of those kept");
        // The documents decide first; questions in English do not keep the default for them.
        let german_documents = Record { profile: LanguageProfile::of([GERMAN, GERMAN, ENGLISH]), ..asked(0, 20) };
        assert_eq!(german_documents.wanted(), Some(Wanted::ForDocuments));
        // The rule's other cases hold for questions as for documents.
        let wanted = asked(5, 5).wanted();
        assert!(should_choose(wanted, state()));
        assert_eq!(fit(wanted, EmbedderState { chosen_by_user: true, ..state() }), EmbedderFit::KeptByUser);
        assert_eq!(fit(wanted, EmbedderState { multilingual_fetched: false, ..state() }), EmbedderFit::NotFetched);
        assert_eq!(asked(5, 5).question_profile().describe(), "German 50 %, English 50 %", "equal shares by code");
    }

    #[test]
    fn a_record_written_before_questions_were_kept_is_read() {
        let old = r#"{"profile":{"languages":[{"code":"eng","name":"English","share":1.0}],"passages":575},"chosen_for_languages":false,"changed_since":3}"#;
        let record: Record = serde_json::from_str(old).unwrap();
        assert_eq!((record.profile.told, record.changed_since, record.questions.len()), (575, 3, 0));
        assert_eq!(record.wanted(), None);
    }

    #[test]
    fn german_is_told_as_a_language_that_capitalises_its_nouns() {
        assert!(capitalizes_nouns("Welche Partei ist in Melbournes wohlhabenden Stadtteilen am stärksten?"));
        assert!(capitalizes_nouns(GERMAN));
        for other in [ENGLISH, SPANISH, CHINESE, TABLE_ROWS, "Which party is strongest in Melbourne's wealthy suburbs?", "Yes"] {
            assert!(!capitalizes_nouns(other), "{other}");
        }
    }

    #[test]
    fn the_languages_are_told_again_once_a_twentieth_of_the_files_changed() {
        let summary = |files, indexed, removed| SyncSummary { files, indexed, removed, ..SyncSummary::default() };
        assert!(remeasure(None, &summary(100, 0, 0)), "never told");
        let told = Record::default();
        assert!(!remeasure(Some(&told), &summary(100, 0, 0)), "nothing changed");
        assert!(!remeasure(Some(&told), &summary(100, 3, 1)), "4 of 100 files");
        assert!(remeasure(Some(&told), &summary(100, 3, 2)));
        // Changes add up over syncs (a watcher sees one file at a time).
        let after_four = Record { changed_since: 4, ..Record::default() };
        assert!(remeasure(Some(&after_four), &summary(100, 1, 0)));
        assert!(remeasure(Some(&told), &summary(3, 1, 0)), "a small corpus: any change");
    }

    #[test]
    fn the_settings_decide_who_has_chosen() {
        let default = Settings::default();
        let minilm = Path::new("/models/all-MiniLM-L6-v2-int8");
        assert!(!EmbedderState::of(&default, minilm, None, false).chosen_by_user, "by default the rule chooses");
        assert!(!EmbedderState::of(&default, minilm, None, false).multilingual_fetched);
        let named = Settings { embedder: Some(minilm.to_path_buf()), ..Settings::default() };
        assert!(EmbedderState::of(&named, minilm, None, false).chosen_by_user);
        let off = Settings { embedder_by_language: false, ..Settings::default() };
        assert!(EmbedderState::of(&off, minilm, None, false).chosen_by_user);
    }
}
