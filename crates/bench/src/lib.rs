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
