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
//! engine's public API (or the `brain` executable), so a benchmark measures what users run. The
//! crash test kills real processes of any `brain` build, which also lets it be pointed at an
//! older build to show what that one got wrong.

pub mod beir;
pub mod crash;
pub mod qa;
pub mod scale;
pub mod speed;

/// What a benchmark can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Engine(#[from] brain_engine::EngineError),
    #[error("{0}")]
    Process(String),
    #[error("{0}")]
    Io(String),
    #[error("invalid dataset: {0}")]
    Dataset(String),
}

/// An I/O error with the path it happened at.
pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> BenchError {
    BenchError::Io(format!("{}: {e}", path.display()))
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
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    if !ok {
        return 0.0;
    }
    // SAFETY: initialised by the successful call above.
    unsafe { usage.assume_init() }.ru_maxrss as f64 / 1024.0
}

/// Store errors are reported as the engine reports them (same codes).
impl From<brain_store::StoreError> for BenchError {
    fn from(e: brain_store::StoreError) -> Self {
        BenchError::Engine(e.into())
    }
}

impl BenchError {
    /// The stable code of the error, as the engine's errors have.
    pub fn code(&self) -> brain_engine::ErrorCode {
        match self {
            BenchError::Engine(e) => e.code(),
            BenchError::Dataset(_) => brain_engine::ErrorCode::Dataset,
            BenchError::Io(_) => brain_engine::ErrorCode::Io,
            BenchError::Process(_) => brain_engine::ErrorCode::Internal,
        }
    }
}
