//! `brain-bench` measures corporate-brain from outside its engine: benchmarks and tests that
//! drive the `brain` executable as a user's machine would, so that what they measure includes
//! process start-up, the worker processes and the file locks.
//!
//! - [`beir`]: retrieval quality (nDCG@10, recall, MRR) on a BEIR dataset.
//! - [`qa`]: answer quality on questions with known answers (right file and page retrieved and
//!   cited, gold figures, groundedness, refusals, first-token time).
//! - [`speed`]: indexing, embedding, search and answer speed, and live-sync figures.
//! - [`crash`]: SIGKILL at many points, resume, compare with a clean index.
//! - [`scale`]: search, recall, build, disk and memory at 10k…1M chunks.
//!
//! Key design decision: nothing here is linked into the app, and everything goes through the
//! engine's API (its hidden `harness` module for what only a benchmark needs) or the `brain`
//! executable (driven by `brain_testkit::process`, as the end-to-end tests drive it), so a
//! benchmark measures what users run. The crash test kills real processes of any `brain` build,
//! which also lets it be pointed at an older build to show what that one got wrong. `brain`
//! runs `beir`, `qa` and `speed`; the `brain-bench` executable runs `crash` and `scale`.

pub mod beir;
pub mod crash;
pub mod qa;
pub mod scale;
pub mod serve;
pub mod speed;
pub mod squad;

use std::path::{Path, PathBuf};
use std::time::Duration;

use brain_engine::ErrorCode;
use brain_testkit::process::DriverError;

/// What a benchmark can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Engine(#[from] brain_engine::EngineError),
    /// A `brain` process the crash harness drove could not start, failed, hung or printed no JSON.
    #[error(transparent)]
    Brain(#[from] DriverError),
    /// A worker thread or task of the benchmark panicked.
    #[error("a benchmark task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("invalid dataset: {}: {source}", .path.display())]
    DatasetFile { path: PathBuf, source: std::io::Error },
    #[error("invalid dataset: {} line {line}: {source}", .path.display())]
    DatasetLine { path: PathBuf, line: usize, source: serde_json::Error },
    /// A dataset (or an index to sample) that reads but cannot be used, in words.
    #[error("invalid dataset: {0}")]
    Dataset(String),
    /// A change the benchmark made did not become searchable in time.
    #[error("{what} was not searchable within {} s", .limit.as_secs())]
    NotSearchable { what: String, limit: Duration },
    /// A search limited to a folder returned a file outside it.
    #[error("the search limited to {folder} returned {path}")]
    FilterLeaked { folder: String, path: String },
}

impl From<brain_store::StoreError> for BenchError {
    fn from(e: brain_store::StoreError) -> Self {
        BenchError::Engine(e.into())
    }
}

impl BenchError {
    /// The stable code of the error, as the engine's errors have.
    pub fn code(&self) -> ErrorCode {
        match self {
            BenchError::Engine(e) => e.code(),
            BenchError::Dataset(_) | BenchError::DatasetFile { .. } | BenchError::DatasetLine { .. } => ErrorCode::Dataset,
            BenchError::Io { .. } => ErrorCode::Io,
            BenchError::Brain(_) | BenchError::Task(_) | BenchError::NotSearchable { .. } | BenchError::FilterLeaked { .. } => {
                ErrorCode::Internal
            }
        }
    }
}

/// An I/O error with the path it happened at.
pub(crate) fn io(path: &Path, source: std::io::Error) -> BenchError {
    BenchError::Io { path: path.to_path_buf(), source }
}

/// Every non-blank line of a JSON-lines dataset file, parsed.
pub(crate) fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, BenchError> {
    use std::io::BufRead;
    let file_error = |source| BenchError::DatasetFile { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(file_error)?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(file_error)?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|source| BenchError::DatasetLine {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?);
    }
    Ok(out)
}

/// Resident memory of this process now (Linux `/proc/self/status`), megabytes.
pub(crate) fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Peak resident set size of this process so far (Linux reports kilobytes), megabytes.
pub(crate) fn peak_rss_mb() -> f64 {
    own_usage().map_or(0.0, |usage| usage.ru_maxrss as f64 / 1024.0)
}

/// This process's resource usage (CPU time, peak memory), `None` if the system would not say.
#[allow(unsafe_code)]
pub(crate) fn own_usage() -> Option<libc::rusage> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful call above.
    ok.then(|| unsafe { usage.assume_init() })
}
