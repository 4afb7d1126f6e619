//! Tuning (`brain tune`): a query-side adapter for the embedder, learned on this machine from the
//! index's own documents, so that searches meet passages in the company's own words.
//!
//! ```text
//! pairs (labelled · headings · questions the answer model writes) ─► examples (query vector,
//! its passages, the passages the plain embedder puts first) ─► train ─► judge on held-out pairs
//! ─► adapter.safetensors + adapter.json (in use only if it won)
//! ```
//!
//! Key decisions:
//! - Only the query side moves ([`adapter`]): stored vectors stay as they are, nothing is
//!   re-embedded, and the adapter can be dropped at any time.
//! - Pairs come from what is already on the machine: labelled pairs a user gives, headings with
//!   their sections, and questions the answer model writes for sampled passages ([`questions`]).
//!   They are kept ([`pairs`]), so each run adds to them and a stopped run resumes.
//! - A fifth of the pairs is held back. The adapter is used only when it ranks their files
//!   higher than the plain embedder does (MRR@10 of a vector search over the whole index); the
//!   figures are kept beside it for `status`.
//! - The adapter belongs to the embedder it was trained for; under another one it is ignored.
//! - It changes the order of the vector list only: the similarities the gate and the answer's
//!   checks read are still the plain query vector's.

pub(crate) mod adapter;
mod export;
pub(crate) mod idle;
pub(crate) mod lock;
mod pairs;
mod questions;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use brain_store::{SearchFilter, Store};
use serde::{Deserialize, Serialize};

pub(crate) use adapter::QueryAdapter;
use adapter::{Example, PoolChunk, TrainOptions};
pub use export::ExportReport;
pub(crate) use export::export;
use pairs::TuningPair;
pub use pairs::{Feedback, LabelledPair, PairOrigin, Verdict};

use crate::error::{EngineError, Result};
use crate::inference::{EmbedText, Generate};

const PAIRS_FILE: &str = "pairs.jsonl";
const ADAPTER_FILE: &str = "adapter.safetensors";
const STATUS_FILE: &str = "adapter.json";
/// Held-out pairs needed to judge an adapter; with fewer it stays off.
const MIN_HELD_OUT: usize = 20;
/// What the adapter must gain on the held-out pairs (MRR@10) to be used: less is noise on a few
/// dozen pairs. Measured: an adapter of SciFact's synthetic questions that won by 0.0096 on its
/// 28 held-out pairs lost 0.002 nDCG@10 on the 300 test queries.
const MIN_GAIN: f64 = 0.01;
/// Passages of a file marked wrong for a question held against it in training.
const MARKED_WRONG_NEGATIVES: usize = 4;
/// Nearest chunks looked up per pair as hard negatives (those of the pair's own file dropped).
const HARD_NEGATIVES: usize = 40;
/// Random chunks every pair is also contrasted with.
const POOL: usize = 1024;
/// Chunks read for headings to pair with their sections.
const HEADING_SAMPLE: usize = 4000;
/// Files a held-out pair's file must be among (MRR@10).
const RANK_DEPTH: usize = 10;
/// Pairs trained on at most (a fixed choice by hash beyond it): memory stays bounded (each pair
/// holds ~40 vectors while training) whatever a user gives.
const MAX_TRAINING_PAIRS: usize = 4000;
/// Passages of a file kept as a pair's positives: those nearest its query.
const MAX_POSITIVES: usize = 8;

/// What a tuning run does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TuneRequest {
    /// Questions the answer model writes, each for a passage it has not written one for.
    pub questions: usize,
    /// Pair headings and titles with the sections under them.
    pub headings: bool,
    /// Queries and the files that answer them, given by the user.
    pub labelled: Vec<LabelledPair>,
    /// Train and judge on pairs of these origins only (empty: all kept pairs).
    pub only: Vec<PairOrigin>,
}

/// The adapter as trained: whether it is used, and the figures that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AdapterStatus {
    pub in_use: bool,
    /// Why it is, or is not, in use.
    pub reason: String,
    /// The embedder it was trained for.
    pub embedder: String,
    pub trained_pairs: usize,
    pub held_out_pairs: usize,
    /// MRR@10 of the held-out pairs' files by vector search, without and with the adapter.
    pub plain_mrr: f64,
    pub adapted_mrr: f64,
    /// How far the map is from the identity (Frobenius norm of its residual).
    pub change: f64,
    /// When it was trained, milliseconds since the Unix epoch.
    pub trained_at_ms: i64,
}

/// Pairs kept, by where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PairCounts {
    pub questions: usize,
    pub headings: usize,
    pub labelled: usize,
    /// Verdicts on answers' sources (👍/👎), and sources opened from answers.
    pub feedback: usize,
    pub opened: usize,
}

/// What a tuning run did.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct TuneReport {
    pub pairs: PairCounts,
    pub questions_written: usize,
    /// Pairs whose file or passage is no longer in the index (left out).
    pub stale_pairs: usize,
    pub adapter: AdapterStatus,
    pub questions_ms: u64,
    pub train_ms: u64,
}

/// Progress of a tuning run.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum TuneStep {
    Questions { done: usize, total: usize },
    Preparing { pairs: usize },
    Training { pairs: usize },
    Judging { pairs: usize },
}

/// The index a run tunes for, and where its pairs and adapter are kept.
pub(crate) struct TuneTarget {
    pub store: Store,
    pub embedder: Arc<dyn EmbedText>,
    pub dir: PathBuf,
    /// The data dir whose answers question writing yields to.
    pub data_dir: PathBuf,
}

/// Keep a person's feedback as pairs for the next run (appended to the pairs file; the same
/// verdict twice is kept once). Returns how many pairs were new.
pub(crate) fn record(dir: &Path, feedback: &Feedback) -> Result<usize> {
    if feedback.question.trim().is_empty() || feedback.paths.is_empty() {
        return Err(EngineError::InvalidArgument("feedback needs the question and at least one source's file".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let path = dir.join(PAIRS_FILE);
    let known = pairs::read(&path)?;
    // A verdict repeated after another on the same source is new (the last one counts).
    let last_same = |p: &TuningPair| {
        known.iter().rev().find(|k| k.origin == p.origin && k.path == p.path && k.query.trim().eq_ignore_ascii_case(p.query.trim()))
            == Some(p)
    };
    let new: Vec<TuningPair> = feedback.pairs().into_iter().filter(|p| !last_same(p)).collect();
    pairs::append(&path, &new)?;
    Ok(new.len())
}

/// Collect pairs, train an adapter, judge it, keep it.
pub(crate) async fn run(
    target: &TuneTarget,
    llm: Option<Arc<dyn Generate>>,
    request: TuneRequest,
    cancel: Arc<AtomicBool>,
    progress: &mut (dyn FnMut(TuneStep) + Send),
) -> Result<TuneReport> {
    std::fs::create_dir_all(&target.dir).map_err(|e| EngineError::io(&target.dir, e))?;
    let pairs_path = target.dir.join(PAIRS_FILE);
    let mut pairs = pairs::read(&pairs_path)?;
    let add = |pairs: &mut Vec<TuningPair>, new: Vec<TuningPair>| -> Result<()> {
        let new = pairs::not_yet_known(pairs, new);
        pairs::append(&pairs_path, &new)?;
        pairs.extend(new);
        Ok(())
    };
    let labelled = request
        .labelled
        .into_iter()
        .filter(|l| !l.query.trim().is_empty())
        .map(|l| TuningPair { query: l.query, path: l.path, chunk_hash: None, origin: PairOrigin::Labelled, negative: false })
        .collect();
    add(&mut pairs, labelled)?;
    if request.headings {
        let chunks = target.store.sample_chunks_with_vectors(HEADING_SAMPLE).await?;
        let chunks: Vec<_> = chunks.into_iter().map(|(c, path)| (path, c.context, c.chunk_hash)).collect();
        add(&mut pairs, pairs::heading_pairs(&chunks))?;
    }

    let started = Instant::now();
    let mut questions_written = 0;
    if request.questions > 0 {
        let llm = llm.ok_or_else(|| EngineError::InvalidArgument("writing questions needs the answer model".into()))?;
        questions_written = write_questions(target, llm, request.questions, &cancel, &mut pairs, &pairs_path, progress).await?;
    }
    let questions_ms = started.elapsed().as_millis() as u64;

    let started = Instant::now();
    let current = pairs::latest_verdicts(&pairs);
    let used: Vec<&TuningPair> = current.into_iter().filter(|p| request.only.is_empty() || request.only.contains(&p.origin)).collect();
    // Sources marked wrong train as negatives of their question, never as examples.
    let (wrong, used): (Vec<&TuningPair>, Vec<&TuningPair>) = used.into_iter().partition(|p| p.negative);
    let (held, mut train): (Vec<&TuningPair>, Vec<&TuningPair>) = used.into_iter().partition(|p| pairs::is_held_out(&p.query));
    if train.len() > MAX_TRAINING_PAIRS {
        train.sort_by_key(|p| *blake3::hash(p.query.as_bytes()).as_bytes());
        train.truncate(MAX_TRAINING_PAIRS);
    }
    progress(TuneStep::Preparing { pairs: train.len() + held.len() });
    let (training, stale_train) = examples(target, &train, Some(&wrong)).await?;
    let (judged, stale_held) = examples(target, &held, None).await?;
    let pool: Vec<PoolChunk> =
        target.store.sample_chunks_with_vectors(POOL).await?.into_iter().map(|(c, path)| PoolChunk { path, vector: c.vector }).collect();
    progress(TuneStep::Training { pairs: training.len() });
    let dimension = target.embedder.dimension();
    let trained = {
        let cancel = Arc::clone(&cancel);
        crate::blocking(move || adapter::train(&training, &pool, dimension, &TrainOptions::default(), &cancel)).await??
    };
    progress(TuneStep::Judging { pairs: judged.len() });
    let (plain_mrr, adapted_mrr) = judge(&target.store, &judged, &trained).await?;
    let in_use = judged.len() >= MIN_HELD_OUT && adapted_mrr >= plain_mrr + MIN_GAIN;
    let reason = if judged.len() < MIN_HELD_OUT {
        format!("too few held-out pairs to judge it ({} of the {MIN_HELD_OUT} needed)", judged.len())
    } else if in_use {
        format!("it ranks the held-out pairs' files higher (MRR@10 {adapted_mrr:.4} against {plain_mrr:.4} without it)")
    } else {
        format!(
            "it does not rank the held-out pairs' files higher by {MIN_GAIN} or more (MRR@10 {adapted_mrr:.4} against {plain_mrr:.4} \
             without it)"
        )
    };
    let status = AdapterStatus {
        in_use,
        reason,
        embedder: target.embedder.identity().to_string(),
        trained_pairs: train.len() - stale_train,
        held_out_pairs: judged.len(),
        plain_mrr: round4(plain_mrr),
        adapted_mrr: round4(adapted_mrr),
        change: f64::from(trained.distance_from_identity()),
        trained_at_ms: crate::fsutil::now_ms(),
    };
    // The status goes first and comes back last: a search in another process meanwhile finds no
    // adapter in use, never new weights under the old verdict.
    remove(&target.dir)?;
    trained.save(&target.dir.join(ADAPTER_FILE))?;
    let json = serde_json::to_vec_pretty(&status).map_err(|e| EngineError::Internal(e.to_string()))?;
    crate::fsutil::write_atomic(&target.dir.join(STATUS_FILE), &json)?;
    let count = |origin| pairs.iter().filter(|p| p.origin == origin).count();
    Ok(TuneReport {
        pairs: PairCounts {
            questions: count(PairOrigin::Question),
            headings: count(PairOrigin::Heading),
            labelled: count(PairOrigin::Labelled),
            feedback: count(PairOrigin::Feedback),
            opened: count(PairOrigin::Opened),
        },
        questions_written,
        stale_pairs: stale_train + stale_held,
        adapter: status,
        questions_ms,
        train_ms: started.elapsed().as_millis() as u64,
    })
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Write up to `wanted` questions for passages not asked about yet, each pair kept as soon as it
/// is made. Returns how many were written.
async fn write_questions(
    target: &TuneTarget,
    llm: Arc<dyn Generate>,
    wanted: usize,
    cancel: &Arc<AtomicBool>,
    pairs: &mut Vec<TuningPair>,
    pairs_path: &Path,
    progress: &mut (dyn FnMut(TuneStep) + Send),
) -> Result<usize> {
    let asked: HashSet<String> = pairs.iter().filter(|p| p.origin == PairOrigin::Question).filter_map(|p| p.chunk_hash.clone()).collect();
    // Spread over the whole index; more than wanted, as some were asked about or are too short.
    let sample = target.store.sample_chunks_with_vectors(asked.len() + wanted * 3).await?;
    let passages: Vec<_> = sample
        .into_iter()
        .filter(|(c, _)| !asked.contains(&c.chunk_hash) && c.text.split_whitespace().count() >= questions::MIN_PASSAGE_WORDS)
        .take(wanted)
        .collect();
    let total = passages.len();
    let mut written = 0;
    for (done, (chunk, path)) in passages.into_iter().enumerate() {
        // A question interrupted by an answer is asked again once the answer is done.
        let output = loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let (llm, cancel, yielding) = (Arc::clone(&llm), Arc::clone(cancel), crate::yielding::Yield::new(&target.data_dir));
            let (text, context) = (chunk.text.clone(), chunk.context.clone());
            if let Some(output) = crate::blocking(move || ask_for_question(&*llm, &text, context.as_deref(), &yielding, &cancel)).await?? {
                break output;
            }
        };
        if let Some(query) = questions::parse_question(&output) {
            let pair = TuningPair { query, path, chunk_hash: Some(chunk.chunk_hash), origin: PairOrigin::Question, negative: false };
            pairs::append(pairs_path, std::slice::from_ref(&pair))?;
            pairs.push(pair);
            written += 1;
        }
        progress(TuneStep::Questions { done: done + 1, total });
    }
    Ok(written)
}

/// Ask the model for a question about `text` once no answer is being generated, and stop it as
/// soon as one starts (llama.cpp's threads busy-wait: beside an answer, both would crawl).
/// Returns its output, or `None` when an answer interrupted it.
fn ask_for_question(
    llm: &dyn Generate,
    text: &str,
    context: Option<&str>,
    yielding: &crate::yielding::Yield,
    cancel: &AtomicBool,
) -> Result<Option<String>> {
    yielding.wait();
    let prompt = llm.format_chat(&questions::prompt(text, context))?;
    let stop = Arc::new(AtomicBool::new(false));
    let (finished, answered) = (AtomicBool::new(false), AtomicBool::new(false));
    let mut output = String::new();
    let generated = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !finished.load(Ordering::Relaxed) {
                let answering = yielding.answer_now();
                if answering || cancel.load(Ordering::Relaxed) {
                    answered.store(answering, Ordering::Relaxed);
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let generated = llm.generate(&prompt, questions::options(), Arc::clone(&stop), &mut |piece| output.push_str(piece));
        finished.store(true, Ordering::Relaxed);
        generated
    });
    generated?;
    Ok((!answered.load(Ordering::Relaxed)).then_some(output))
}

/// The pairs as training examples: the query's plain vector, its passages' vectors and (for
/// training: `marked_wrong` given) negatives — the nearest passages of other files, and the
/// passages nearest the query of the files people marked wrong for it. Returns them and the
/// number of pairs whose file or passage is gone.
async fn examples(target: &TuneTarget, pairs: &[&TuningPair], marked_wrong: Option<&[&TuningPair]>) -> Result<(Vec<Example>, usize)> {
    if pairs.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let with_negatives = marked_wrong.is_some();
    let marked_wrong = marked_wrong.unwrap_or_default();
    let mut wrong_files: Vec<String> = marked_wrong.iter().map(|p| p.path.clone()).collect();
    wrong_files.sort();
    wrong_files.dedup();
    let wrong_chunks = if wrong_files.is_empty() { Vec::new() } else { target.store.chunk_vectors_of(&wrong_files).await? };
    let same_query = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let queries: Vec<String> = pairs.iter().map(|p| p.query.clone()).collect();
    let embedder = Arc::clone(&target.embedder);
    let vectors = crate::blocking(move || embedder.embed_queries(&queries)).await??;
    let hashes: Vec<String> = pairs.iter().filter_map(|p| p.chunk_hash.clone()).collect();
    let by_hash = target.store.vectors_by_chunk_hash(&hashes).await?;
    let mut positives: Vec<Vec<Vec<f32>>> =
        pairs.iter().map(|p| p.chunk_hash.as_ref().and_then(|h| by_hash.get(h).cloned()).into_iter().collect()).collect();
    // A pair naming a file: that file's passages nearest its query, read a few files at a time so
    // that long files never sit in memory together.
    let mut whole_files: Vec<String> = pairs.iter().filter(|p| p.chunk_hash.is_none()).map(|p| p.path.clone()).collect();
    whole_files.sort();
    whole_files.dedup();
    for group in whole_files.chunks(64) {
        let chunks = target.store.chunk_vectors_of(group).await?;
        for ((pair, query), kept) in pairs.iter().zip(&vectors).zip(positives.iter_mut()) {
            if pair.chunk_hash.is_some() || !group.contains(&pair.path) {
                continue;
            }
            let mut of_file: Vec<&Vec<f32>> = chunks.iter().filter(|c| c.path == pair.path).map(|c| &c.vector).collect();
            of_file.sort_by(|a, b| brain_embed::cosine(b, query).total_cmp(&brain_embed::cosine(a, query)));
            kept.extend(of_file.into_iter().take(MAX_POSITIVES).cloned());
        }
    }
    let mut out = Vec::with_capacity(pairs.len());
    let mut stale = 0;
    for ((pair, query), positives) in pairs.iter().zip(vectors).zip(positives) {
        if positives.is_empty() {
            stale += 1;
            continue;
        }
        let mut negatives: Vec<Vec<f32>> = if with_negatives {
            let nearest = target.store.nearest_chunk_vectors(&query, HARD_NEGATIVES).await?;
            nearest.into_iter().filter(|c| c.path != pair.path).map(|c| c.vector).collect()
        } else {
            Vec::new()
        };
        for wrong in marked_wrong.iter().filter(|w| same_query(&w.query, &pair.query) && w.path != pair.path) {
            let mut of_file: Vec<&Vec<f32>> = wrong_chunks.iter().filter(|c| c.path == wrong.path).map(|c| &c.vector).collect();
            of_file.sort_by(|a, b| brain_embed::cosine(b, &query).total_cmp(&brain_embed::cosine(a, &query)));
            negatives.extend(of_file.into_iter().take(MARKED_WRONG_NEGATIVES).cloned());
        }
        out.push(Example { query, positives, negatives, path: pair.path.clone() });
    }
    Ok((out, stale))
}

/// Mean reciprocal rank (within the first [`RANK_DEPTH`] files) of each example's file, by
/// vector search over the whole index, with the plain query vector and with the adapter's.
async fn judge(store: &Store, examples: &[Example], adapter: &QueryAdapter) -> Result<(f64, f64)> {
    if examples.is_empty() {
        return Ok((0.0, 0.0));
    }
    let (mut plain, mut adapted) = (0.0, 0.0);
    for e in examples {
        plain += reciprocal_rank(store, &e.query, &e.path).await?;
        adapted += reciprocal_rank(store, &adapter.apply(&e.query), &e.path).await?;
    }
    let n = examples.len() as f64;
    Ok((plain / n, adapted / n))
}

async fn reciprocal_rank(store: &Store, vector: &[f32], path: &str) -> Result<f64> {
    // Chunks, several per file: deep enough to rank RANK_DEPTH files.
    let hits = store.search_vector(vector, RANK_DEPTH * 5, &SearchFilter::default()).await?;
    let mut files: Vec<&str> = Vec::new();
    for h in &hits {
        if !files.contains(&h.path.as_str()) {
            files.push(&h.path);
        }
    }
    Ok(files.iter().take(RANK_DEPTH).position(|f| *f == path).map_or(0.0, |i| 1.0 / (i + 1) as f64))
}

/// The adapter kept in `dir`, as trained (`None` when there is none).
pub(crate) fn status(dir: &Path) -> Result<Option<AdapterStatus>> {
    let path = dir.join(STATUS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| EngineError::damaged(&path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EngineError::io(&path, e)),
    }
}

/// Drop the adapter kept in `dir` (its pairs stay). Returns whether there was one.
pub(crate) fn remove(dir: &Path) -> Result<bool> {
    let mut removed = false;
    for name in [STATUS_FILE, ADAPTER_FILE] {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(EngineError::io(dir.join(name), e)),
        }
    }
    Ok(removed)
}

/// The adapter in use for an index, read again only when its status file changes (another
/// process may have trained a new one).
#[derive(Default)]
pub(crate) struct AdapterSlot {
    cached: std::sync::Mutex<Option<CachedAdapter>>,
}

/// What was found for an embedder when the status file had this mtime.
struct CachedAdapter {
    status_mtime: i64,
    embedder: String,
    adapter: Option<Arc<QueryAdapter>>,
}

impl AdapterSlot {
    /// The adapter kept in `dir` when it is in use and was trained for `embedder`. A damaged
    /// adapter is logged and left out: searches go on without it.
    pub(crate) fn in_use(&self, dir: &Path, embedder: &dyn EmbedText) -> Option<Arc<QueryAdapter>> {
        let mtime = std::fs::metadata(dir.join(STATUS_FILE)).ok().map(|m| crate::fsutil::mtime_ns(&m))?;
        let mut cached = self.cached.lock().ok()?;
        if let Some(c) = cached.as_ref()
            && c.status_mtime == mtime
            && c.embedder == embedder.identity()
        {
            return c.adapter.clone();
        }
        let adapter = match load_in_use(dir, embedder) {
            Ok(a) => a.map(Arc::new),
            Err(e) => {
                tracing::warn!("the query adapter is not used: {e}");
                None
            }
        };
        *cached = Some(CachedAdapter { status_mtime: mtime, embedder: embedder.identity().to_string(), adapter: adapter.clone() });
        adapter
    }
}

fn load_in_use(dir: &Path, embedder: &dyn EmbedText) -> Result<Option<QueryAdapter>> {
    match status(dir)? {
        Some(s) if s.in_use && s.embedder == embedder.identity() => {
            Ok(Some(QueryAdapter::load(&dir.join(ADAPTER_FILE), embedder.dimension())?))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use brain_store::IndexLock;

    use super::*;

    #[test]
    fn feedback_is_kept_as_pairs_and_a_repeated_verdict_once() {
        let dir = tempfile::tempdir().unwrap();
        let feedback = |verdict, paths: &[&str]| Feedback {
            question: "Who approves flights?".into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            verdict,
        };
        assert_eq!(record(dir.path(), &feedback(Verdict::Helpful, &["/d/travel.docx", "/d/it.md"])).unwrap(), 2);
        assert_eq!(record(dir.path(), &feedback(Verdict::Helpful, &["/d/travel.docx"])).unwrap(), 0, "said already");
        assert_eq!(record(dir.path(), &feedback(Verdict::Wrong, &["/d/it.md"])).unwrap(), 1);
        assert_eq!(record(dir.path(), &feedback(Verdict::Opened, &["/d/travel.docx"])).unwrap(), 1);
        let kept = pairs::read(&dir.path().join(PAIRS_FILE)).unwrap();
        let standing: Vec<(&str, PairOrigin, bool)> =
            pairs::latest_verdicts(&kept).iter().map(|p| (p.path.as_str(), p.origin, p.negative)).collect();
        assert_eq!(standing, [("/d/travel.docx", PairOrigin::Feedback, false), ("/d/it.md", PairOrigin::Feedback, true)]);
        assert!(record(dir.path(), &feedback(Verdict::Helpful, &[])).is_err());
        assert!(record(dir.path(), &Feedback { question: "  ".into(), ..feedback(Verdict::Helpful, &["/d/a.md"]) }).is_err());
    }
    use crate::inference::fakes::{DIMENSION, WordVectors};
    use crate::pipeline::tests::fake_pipeline;
    use crate::pipeline::{Work, batches};

    /// Files about subjects whose code names they never use, indexed through the real pipeline
    /// (word-bag vectors) into a real LanceDB.
    async fn indexed(dir: &Path, subjects: &[&str]) -> (Store, Vec<String>) {
        let (docs, data) = (dir.join("docs"), dir.join("data"));
        std::fs::create_dir_all(&docs).unwrap();
        let embedder: Arc<dyn EmbedText> = Arc::new(WordVectors::default());
        let pipeline = fake_pipeline(&data, embedder);
        let store = Store::open(&data.join("lancedb"), DIMENSION).await.unwrap();
        let lock = IndexLock::acquire(&data.join("index.lock"), |_| {}, || false).await.unwrap();
        let (writer, _) = store.writer(lock).await.unwrap();
        let mut paths = Vec::new();
        let work: Vec<Work> = subjects
            .iter()
            .enumerate()
            .map(|(i, subject)| {
                let path = docs.join(format!("{i}.txt"));
                std::fs::write(&path, format!("{subject} report and plans")).unwrap();
                paths.push(path.display().to_string());
                Work::File { previous: None, path, folder: docs.clone(), size: 10, mtime_ns: 1, readers: None }
            })
            .collect();
        let writer = Arc::new(writer);
        pipeline.run(&writer, batches(work), &AtomicBool::new(false), |_| {}, |_, _| {}).await.unwrap();
        writer.maintain().await.unwrap();
        (store, paths)
    }

    const SUBJECTS: &[&str] = &[
        "payroll migration",
        "solar roofs",
        "canteen menu",
        "drone deliveries",
        "flood defences",
        "parcel lockers",
        "pension changes",
        "fire inspections",
        "graduate mentoring",
        "charging points",
        "supplier audit",
        "cold storage",
    ];
    const CODES: &[&str] =
        &["granite", "lantern", "saffron", "falcon", "riverstone", "pebble", "thistle", "ember", "velvet", "aurora", "quartz", "tundra"];

    /// A model that writes a token every 10 ms until it is stopped or has written 100.
    struct SlowModel;

    impl Generate for SlowModel {
        fn context_size(&self) -> u32 {
            4096
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
        fn format_chat(&self, messages: &[brain_llm::ChatMessage]) -> Result<String> {
            Ok(messages.iter().map(|m| m.content.as_str()).collect())
        }
        fn generate(
            &self,
            _prompt: &str,
            _options: brain_llm::GenerateOptions,
            cancel: Arc<AtomicBool>,
            on_token: &mut dyn FnMut(&str),
        ) -> Result<brain_llm::GenerationStats> {
            let started = std::time::Instant::now();
            let mut generated = 0;
            while generated < 100 && !cancel.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(10));
                on_token("word ");
                generated += 1;
            }
            let stop = if generated < 100 { brain_llm::StopReason::Cancelled } else { brain_llm::StopReason::MaxTokens };
            Ok(brain_llm::GenerationStats {
                prompt_tokens: 1,
                reused_prompt_tokens: 0,
                generated_tokens: generated,
                time_to_first_token: None,
                total: started.elapsed(),
                stop,
            })
        }
    }

    #[test]
    fn a_question_being_written_stops_as_soon_as_an_answer_starts() {
        let dir = tempfile::tempdir().unwrap();
        let yielding = crate::yielding::Yield::new(dir.path());
        let not_cancelled = AtomicBool::new(false);
        let whole = ask_for_question(&SlowModel, "a passage", None, &yielding, &not_cancelled).unwrap();
        assert_eq!(whole.map(|o| o.split_whitespace().count()), Some(100), "no answer: the question is written whole");

        let data_dir = dir.path().to_path_buf();
        let answer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(150));
            let _answering = crate::yielding::begin(&data_dir).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(400));
        });
        let started = std::time::Instant::now();
        let interrupted = ask_for_question(&SlowModel, "a passage", None, &yielding, &not_cancelled).unwrap();
        assert_eq!(interrupted, None, "an answer started: the question is dropped, to be asked again");
        assert!(started.elapsed() < std::time::Duration::from_millis(900), "stopped at once, not after 100 tokens");
        answer.join().unwrap();
    }

    async fn tuned(request: TuneRequest, store: Store, dir: &Path) -> TuneReport {
        let target = TuneTarget { store, embedder: Arc::new(WordVectors::default()), dir: dir.join("tune"), data_dir: dir.join("data") };
        run(&target, None, request, Arc::new(AtomicBool::new(false)), &mut |_| {}).await.unwrap()
    }

    #[tokio::test]
    async fn code_names_are_learned_from_labelled_pairs_and_the_adapter_is_used_only_when_it_wins() {
        let dir = tempfile::tempdir().unwrap();
        let (store, paths) = indexed(dir.path(), SUBJECTS).await;
        let asking = ["who leads {}", "status of {}", "budget for {}", "when does {} end", "news about {}", "risks of {}", "team of {}"];
        let mut labelled: Vec<LabelledPair> = CODES
            .iter()
            .zip(&paths)
            .flat_map(|(code, path)| asking.iter().map(move |a| LabelledPair { query: a.replace("{}", code), path: path.clone() }))
            .collect();
        labelled.push(LabelledPair { query: "who leads nothing".into(), path: "/gone/file.txt".into() });
        let report = tuned(TuneRequest { labelled: labelled.clone(), ..TuneRequest::default() }, store.clone(), dir.path()).await;
        assert_eq!(report.pairs.labelled, labelled.len());
        assert_eq!(report.stale_pairs, 1, "the pair of a file not in the index is left out");
        let a = &report.adapter;
        assert!(a.held_out_pairs >= MIN_HELD_OUT, "{a:?}");
        assert!(a.adapted_mrr > a.plain_mrr, "{a:?}");
        assert!(a.in_use, "{a:?}");
        assert_eq!(status(&dir.path().join("tune")).unwrap().as_ref(), Some(a));
        let slot = AdapterSlot::default();
        assert!(slot.in_use(&dir.path().join("tune"), &WordVectors::default()).is_some());

        // A second run adds no pair twice; training on questions only finds none to judge on.
        let again = tuned(TuneRequest { labelled, only: vec![PairOrigin::Question], ..TuneRequest::default() }, store, dir.path()).await;
        assert_eq!(again.pairs.labelled, report.pairs.labelled);
        assert_eq!((again.adapter.trained_pairs, again.adapter.held_out_pairs, again.adapter.in_use), (0, 0, false));
        assert!(again.adapter.reason.contains("too few held-out pairs"), "{}", again.adapter.reason);
        assert!(slot.in_use(&dir.path().join("tune"), &WordVectors::default()).is_none(), "a new status file is read again");
        assert!(remove(&dir.path().join("tune")).unwrap());
        assert_eq!(status(&dir.path().join("tune")).unwrap(), None);
    }
}
