//! `brain-bench` measures corporate-brain from outside its engine: benchmarks and tests that
//! drive the `brain` executable as a user's machine would, so that what they measure includes
//! process start-up, the worker processes and the file locks.
//!
//! Key design decision: nothing here is linked into the engine or the app. The crash test
//! ([`crash`]) kills real processes of any `brain` build, which also lets it be pointed at an
//! older build to show what that one got wrong.

pub mod crash;

/// What a benchmark can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Process(String),
    #[error("{0}")]
    Io(String),
}
