//! `brain-bench scale --chunks N`: search speed, ANN recall, build time, disk and memory of an
//! index of N chunks, without embedding N chunks.
//!
//! The index is made from a sample of an existing index (the data dir's own): every synthetic
//! chunk takes the text of a real chunk with a third of its words from another, and a vector
//! that keeps the real embedder's distribution — the real vector of the first, a little of the
//! second's, and a little Gaussian noise, normalised. Rows go through the engine's own store
//! writer in file-sized groups ([`CorpusIndex::write_embedded`]), and the indexes are built by
//! the same `maintain` the engine runs after a sync, under the same [`IndexPolicy`]. Searches go
//! through the engine's retrieval stages (query → candidates → fuse) with the query vectors made
//! beforehand by the real embedder, so the figures are the store's and fusion's, not the query
//! embedding's (reported on its own).
//!
//! Every synthetic file has readers, as a sync records them: one of [`TEAMS`] groups. The
//! searches are timed as the index's owner (no permission filter) and as a person in one team
//! (the filter inside the vector and keyword searches, a seventh of the files theirs), and no
//! hit of the person's searches may be another team's.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use brain_engine::harness::{self, IndexedChunk};
use brain_engine::{
    AnnIndexKind, CorpusIndex, EmbeddedChunk, EmbeddedDocument, Engine, IndexPolicy, Person, SearchMode, SearchResult, VectorIndexState,
};
use serde::{Deserialize, Serialize};

use crate::speed::percentile;
use crate::{BenchError, io, peak_rss_mb, rss_mb};

type Result<T, E = BenchError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub chunks: usize,
    /// Real chunks (with their vectors) the synthetic ones are made from.
    pub sample: usize,
    /// Queries per search mode.
    pub queries: usize,
    pub chunks_per_file: usize,
    /// Files are spread over this many folders; the filtered search asks for one of them.
    pub folders: usize,
    /// Where the index is built. An index of the same size already there (kept by an earlier
    /// run) is reused: that run measures an index opened cold, as an app would.
    pub work_dir: Option<PathBuf>,
    pub policy: IndexPolicy,
    pub seed: u64,
}

impl ScaleOptions {
    pub fn new(chunks: usize) -> ScaleOptions {
        ScaleOptions {
            chunks,
            sample: 10_000,
            queries: 100,
            chunks_per_file: 50,
            folders: 10,
            work_dir: None,
            policy: IndexPolicy::default(),
            seed: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchLatencies {
    pub hybrid: Latency,
    pub vector: Latency,
    pub keyword: Latency,
    pub hybrid_filtered: Latency,
    pub vector_filtered: Latency,
    /// As a person who may read a seventh of the files (their team's).
    #[serde(default)]
    pub hybrid_as_person: Latency,
    #[serde(default)]
    pub vector_as_person: Latency,
    #[serde(default)]
    pub keyword_as_person: Latency,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScaleReport {
    pub chunks: usize,
    pub files: usize,
    /// Writing every row and building the indexes, seconds.
    pub build_s: f64,
    pub write_s: f64,
    pub index_s: f64,
    /// Whether this run reused an index built by an earlier one (`build_s` is that run's).
    pub reused: bool,
    pub disk_bytes: u64,
    /// Resident memory after the timed searches (embedder loaded, index open), and before the
    /// index was opened or built (the embedder alone). `peak_rss_mb` includes the build and the
    /// exact scans of the recall reference.
    pub rss_mb: f64,
    pub rss_before_index_mb: f64,
    pub peak_rss_mb: f64,
    pub search_ms: SearchLatencies,
    /// Embedding one query (the same for every index size), milliseconds, p50.
    pub query_embedding_ms: f64,
    /// The ANN index and its parameters (`None`: the table is below the threshold and vector
    /// search scans every row).
    pub vector_index: Option<AnnIndexKind>,
    pub vector_index_state: Option<VectorIndexState>,
    /// The same after the update was folded in (and removed again).
    pub vector_index_state_after_update: Option<VectorIndexState>,
    pub nprobes: usize,
    pub refine_factor: u32,
    /// Mean share of the exact top 10 that the indexed vector search returns.
    pub ann_recall_at_10: f64,
    /// From the start of a write of 1,000 new chunks and the removal of a file to both being
    /// visible to searches (before any index is updated).
    pub update_visible_ms: f64,
    /// Folding those rows into the indexes afterwards (what the engine does in the background).
    pub update_optimise_ms: f64,
    pub sample_chunks: usize,
    pub queries: usize,
}

/// A built index's record, so a later run can reuse it.
#[derive(Serialize, Deserialize)]
struct Built {
    chunks: usize,
    files: usize,
    write_s: f64,
    index_s: f64,
    seed: u64,
    /// Built with readers on every file (an index built before is made again).
    #[serde(default)]
    readers: bool,
}

const BUILT: &str = "scale-built.json";

pub async fn run(engine: &Engine, options: &ScaleOptions, mut progress: impl FnMut(&str)) -> Result<ScaleReport> {
    progress("reading the sample");
    let sample = sample_of(engine, options).await?;
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let query_texts = queries_from(&sample, options.queries, &mut rng);
    let mut embed_ms = Vec::new();
    let mut query_vectors = Vec::new();
    for q in &query_texts {
        let t = Instant::now();
        let v = harness::embed(engine, vec![q.clone()]).await?;
        embed_ms.push(ms(t.elapsed()));
        query_vectors.push(v.into_iter().next().unwrap_or_default());
    }
    embed_ms.sort_by(f64::total_cmp);
    let rss_before_index_mb = rss_mb();

    let scratch;
    let dir = match &options.work_dir {
        Some(d) => d.clone(),
        None => {
            scratch = tempfile::tempdir().map_err(|e| io(&std::env::temp_dir(), e))?;
            scratch.path().to_path_buf()
        }
    };
    let (index, built, reused) = open_or_build(engine, options, &dir, &sample, &mut rng, &mut progress).await?;
    let vector_index = index.ann_index_kind().await?;

    progress("searching");
    let folder = folder_name(options.folders / 2);
    let person = Person { user: "scale-reader".into(), groups: vec![team(PERSONS_TEAM)] };
    let mut search_ms = SearchLatencies::default();
    for (slot, mode, filter, as_person) in [
        (&mut search_ms.hybrid, SearchMode::Hybrid, None, None),
        (&mut search_ms.vector, SearchMode::Vector, None, None),
        (&mut search_ms.keyword, SearchMode::Keyword, None, None),
        (&mut search_ms.hybrid_filtered, SearchMode::Hybrid, Some(folder.as_str()), None),
        (&mut search_ms.vector_filtered, SearchMode::Vector, Some(folder.as_str()), None),
        (&mut search_ms.hybrid_as_person, SearchMode::Hybrid, None, Some(&person)),
        (&mut search_ms.vector_as_person, SearchMode::Vector, None, Some(&person)),
        (&mut search_ms.keyword_as_person, SearchMode::Keyword, None, Some(&person)),
    ] {
        // One warm-up query (opens the indexes), then every query timed.
        if let (Some(q), Some(v)) = (query_texts.first(), query_vectors.first()) {
            index.search_in(q, Some(v.clone()), mode, 10, filter, as_person).await?;
        }
        let mut times = Vec::new();
        for (q, v) in query_texts.iter().zip(&query_vectors) {
            let t = Instant::now();
            let hits = index.search_in(q, Some(v.clone()), mode, 10, filter, as_person).await?;
            times.push(ms(t.elapsed()));
            if let Some(f) = filter
                && let Some(h) = hits.iter().find(|h| !h.path.starts_with(&format!("{f}/")))
            {
                return Err(BenchError::FilterLeaked { folder: f.to_string(), path: h.path.clone() });
            }
            if as_person.is_some()
                && let Some(h) = hits.iter().find(|h| team_of_path(&h.path) != Some(PERSONS_TEAM))
            {
                return Err(BenchError::FilterLeaked { folder: team(PERSONS_TEAM), path: h.path.clone() });
            }
        }
        times.sort_by(f64::total_cmp);
        *slot = Latency { p50: percentile(&times, 50.0), p95: percentile(&times, 95.0) };
    }

    // What an app holds with the index open and searched (the exact scans below, the recall
    // reference, read every vector and would inflate it).
    let rss_mb_after_search = rss_mb();

    progress("measuring recall");
    let mut recall = 0.0;
    for (q, v) in query_texts.iter().zip(&query_vectors) {
        let exact = index.search_vector_exact(v, 10).await?;
        // Through the ANN index: a vector search with its vector given is the store's alone.
        let found = index.search(q, Some(v.clone()), SearchMode::Vector, 10).await?;
        let same_chunk = |a: &SearchResult, b: &SearchResult| a.path == b.path && a.ordinal == b.ordinal;
        let common = exact.iter().filter(|e| found.iter().any(|f| same_chunk(f, e))).count();
        recall += common as f64 / exact.len().max(1) as f64;
    }
    let ann_recall_at_10 = recall / query_vectors.len().max(1) as f64;
    let disk_bytes = index.disk_bytes();

    let vector_index_state = index.vector_index_state().await?;
    progress("updating");
    let (update_visible_ms, update_optimise_ms) = update(&index, options, &sample, &mut rng).await?;
    let vector_index_state_after_update = index.vector_index_state().await?;

    Ok(ScaleReport {
        chunks: options.chunks,
        files: built.files,
        build_s: built.write_s + built.index_s,
        write_s: built.write_s,
        index_s: built.index_s,
        reused,
        disk_bytes,
        rss_mb: rss_mb_after_search,
        rss_before_index_mb,
        peak_rss_mb: peak_rss_mb(),
        search_ms,
        query_embedding_ms: percentile(&embed_ms, 50.0),
        vector_index,
        vector_index_state,
        vector_index_state_after_update,
        nprobes: options.policy.nprobes,
        refine_factor: options.policy.refine_factor,
        ann_recall_at_10,
        update_visible_ms,
        update_optimise_ms,
        sample_chunks: sample.len(),
        queries: query_vectors.len(),
    })
}

/// The real chunks (texts and vectors) the synthetic ones are made from: the data dir's index.
async fn sample_of(engine: &Engine, options: &ScaleOptions) -> Result<Vec<IndexedChunk>> {
    let sample = harness::sample_indexed_chunks(engine, options.sample).await?;
    if sample.is_empty() {
        return Err(BenchError::Dataset(
            "the scale index is made from the chunks and vectors of an existing index: index a folder into this data dir first".into(),
        ));
    }
    Ok(sample)
}

/// Queries of eight words from random sample chunks, as a person would type a phrase they recall.
fn queries_from(sample: &[IndexedChunk], n: usize, rng: &mut fastrand::Rng) -> Vec<String> {
    (0..n)
        .map(|_| {
            let chunk = &sample[rng.usize(..sample.len())].chunk;
            let words: Vec<&str> = chunk.text.split_whitespace().collect();
            let start = rng.usize(..words.len().saturating_sub(8).max(1));
            words.iter().skip(start).take(8).copied().collect::<Vec<_>>().join(" ")
        })
        .filter(|q| q.chars().any(char::is_alphanumeric))
        .collect()
}

/// The scale index in `dir`, as an earlier run with the same options left it, or built now.
async fn open_or_build(
    engine: &Engine,
    options: &ScaleOptions,
    dir: &std::path::Path,
    sample: &[IndexedChunk],
    rng: &mut fastrand::Rng,
    progress: &mut impl FnMut(&str),
) -> Result<(CorpusIndex, Built, bool)> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let built: Option<Built> = std::fs::read(dir.join(BUILT))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|b: &Built| b.chunks == options.chunks && b.seed == options.seed && b.readers);
    let reused = built.is_some();
    if !reused {
        let _ = std::fs::remove_dir_all(dir.join("lancedb"));
    }
    let index = harness::corpus_index_at(engine, dir, options.policy).await?;
    let built = match built {
        Some(b) => b,
        None => {
            let b = build(&index, options, sample, rng, progress).await?;
            std::fs::write(dir.join(BUILT), serde_json::to_vec(&b).unwrap_or_default()).map_err(|e| io(dir, e))?;
            b
        }
    };
    Ok((index, built, reused))
}

/// The scale index of `options` in `dir` — reused, or built as [`run`] builds it — and query
/// texts from the sample it is made of: for a benchmark that serves it (`brain-bench serve`).
/// Returns the number of files and the queries.
pub async fn index_for_serving(
    engine: &Engine,
    options: &ScaleOptions,
    dir: &std::path::Path,
    mut progress: impl FnMut(&str),
) -> Result<(usize, Vec<String>)> {
    progress("reading the sample");
    let sample = sample_of(engine, options).await?;
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let queries = queries_from(&sample, options.queries, &mut rng);
    let (_, built, _) = open_or_build(engine, options, dir, &sample, &mut rng, &mut progress).await?;
    Ok((built.files, queries))
}

/// Groups the synthetic files are spread over (file `i` belongs to team `i % TEAMS`): not a
/// divisor of the folders, so a person's files lie in every folder.
const TEAMS: usize = 7;
/// The team of the person whose searches are timed.
pub(crate) const PERSONS_TEAM: usize = 3;

pub(crate) fn team(i: usize) -> String {
    format!("team-{i}")
}

fn readers_of_file(file: usize) -> Vec<String> {
    vec![format!("group:{}", team(file % TEAMS)), format!("user:owner-{}", file % 50)]
}

/// The team of a file of [`file_path`], from its number.
pub(crate) fn team_of_path(path: &str) -> Option<usize> {
    let number = path.rsplit("file-").next()?.strip_suffix(".txt")?;
    number.parse::<usize>().ok().map(|n| n % TEAMS)
}

fn folder_name(i: usize) -> String {
    format!("/scale/folder-{i:02}")
}

fn file_path(options: &ScaleOptions, file: usize) -> String {
    format!("{}/file-{file:07}.txt", folder_name(file % options.folders.max(1)))
}

/// A synthetic file of the scale index.
fn document(path: String, chunks: Vec<EmbeddedChunk>, readers: Vec<String>) -> EmbeddedDocument {
    EmbeddedDocument { path, folder: "/scale".into(), chunks, readers: Some(readers) }
}

/// A synthetic chunk from two real ones: `a`'s words with the last third taken from `b`, and
/// a's vector moved a little towards b's and by Gaussian noise.
fn synthetic_chunk(a: &EmbeddedChunk, b: &EmbeddedChunk, rng: &mut fastrand::Rng, marker: Option<&str>) -> EmbeddedChunk {
    let a_words: Vec<&str> = a.text.split_whitespace().collect();
    let b_words: Vec<&str> = b.text.split_whitespace().collect();
    let keep = a_words.len() * 2 / 3;
    let mut words: Vec<&str> = a_words[..keep].to_vec();
    words.extend(b_words.iter().skip(b_words.len() * 2 / 3).take(a_words.len() - keep));
    if let Some(m) = marker {
        words.push(m);
    }
    let text = words.join(" ");
    let mut vector: Vec<f32> = a.vector.iter().zip(&b.vector).map(|(x, y)| x + 0.3 * y + 0.02 * gaussian(rng)).collect();
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    vector.iter_mut().for_each(|x| *x /= norm);
    EmbeddedChunk { text, context: a.context.clone(), location: a.location.clone(), vector }
}

/// A synthetic chunk from two sample chunks picked at random.
fn random_chunk(sample: &[IndexedChunk], rng: &mut fastrand::Rng, marker: Option<&str>) -> EmbeddedChunk {
    let a = &sample[rng.usize(..sample.len())].chunk;
    let b = &sample[rng.usize(..sample.len())].chunk;
    synthetic_chunk(a, b, rng, marker)
}

/// A standard normal sample (Box–Muller).
fn gaussian(rng: &mut fastrand::Rng) -> f32 {
    let u1 = rng.f32().max(f32::MIN_POSITIVE);
    let u2 = rng.f32();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

async fn build(
    index: &CorpusIndex,
    options: &ScaleOptions,
    sample: &[IndexedChunk],
    rng: &mut fastrand::Rng,
    progress: &mut impl FnMut(&str),
) -> Result<Built> {
    let per_file = options.chunks_per_file.max(1);
    let files = options.chunks.div_ceil(per_file);
    // About 10,000 chunks per commit, as a big first sync writes them.
    let files_per_write = (10_000 / per_file).max(1);
    let started = Instant::now();
    let mut written = 0;
    let mut file = 0;
    while file < files {
        let mut batch = Vec::new();
        for f in file..(file + files_per_write).min(files) {
            let n = per_file.min(options.chunks - written);
            let chunks: Vec<EmbeddedChunk> = (0..n).map(|_| random_chunk(sample, rng, None)).collect();
            written += n;
            batch.push(document(file_path(options, f), chunks, readers_of_file(f)));
        }
        file += batch.len();
        index.write_embedded(batch, Vec::new()).await?;
        progress(&format!("writing: {written} of {} chunks", options.chunks));
    }
    let write_s = started.elapsed().as_secs_f64();
    progress("building the indexes");
    let started = Instant::now();
    index.maintain().await?;
    Ok(Built { chunks: options.chunks, files, write_s, index_s: started.elapsed().as_secs_f64(), seed: options.seed, readers: true })
}

/// Add a file of 1,000 chunks and remove another; the time until a search sees both, then the
/// time to fold them into the indexes. The index is left as it was.
async fn update(index: &CorpusIndex, options: &ScaleOptions, sample: &[IndexedChunk], rng: &mut fastrand::Rng) -> Result<(f64, f64)> {
    let marker = format!("scaleupdatemarker{}", rng.u32(..));
    let added_path = format!("{}/added-{marker}.txt", folder_name(0));
    let chunks: Vec<EmbeddedChunk> = (0..1_000).map(|_| random_chunk(sample, rng, Some(&marker))).collect();
    let probe = chunks[500].vector.clone();
    // The file to remove: written first (untimed), so the index is left as it was built.
    let removed = format!("{}/to-remove-{marker}.txt", folder_name(1));
    let doomed: Vec<EmbeddedChunk> = (0..options.chunks_per_file.max(1)).map(|_| random_chunk(sample, rng, None)).collect();
    index.write_embedded(vec![document(removed.clone(), doomed, readers_of_file(0))], Vec::new()).await?;
    let limit = Duration::from_secs(120);
    let started = Instant::now();
    // One write, as a sync writes a changed and a deleted file together.
    index.write_embedded(vec![document(added_path.clone(), chunks, readers_of_file(0))], vec![removed.clone()]).await?;
    loop {
        let by_keyword = index.search(&marker, None, SearchMode::Keyword, 10).await?;
        let by_vector = index.search(&marker, Some(probe.clone()), SearchMode::Vector, 1).await?;
        let gone = index.chunk_count_of(&removed).await? == 0;
        if by_keyword.iter().any(|h| h.path == added_path) && by_vector.first().is_some_and(|h| h.path == added_path) && gone {
            break;
        }
        if started.elapsed() > limit {
            return Err(BenchError::NotSearchable { what: "the update".into(), limit });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let visible = ms(started.elapsed());
    let started = Instant::now();
    index.optimise_indexes().await?;
    let optimise = ms(started.elapsed());
    // Leave the index as it was built, so that a later run measures the same thing.
    index.write_embedded(Vec::new(), vec![added_path]).await?;
    Ok((visible, optimise))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
