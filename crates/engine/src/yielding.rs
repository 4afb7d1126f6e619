//! Answers keep their speed while indexing runs: indexing yields the CPU while an answer is
//! being generated, in this process or in another one on the same data dir.
//!
//! llama.cpp's worker threads meet at a barrier after every operation and wait for each other
//! by spinning. On a machine whose cores are all busy (indexing embeds on every core), a spinning
//! thread waits for one that is not running, and generation slows down by orders of magnitude.
//! So an answer holds a shared file lock on `answering.lock` in the data dir while it generates,
//! and the indexing pipeline, between files and between embedding batches, waits while anyone
//! holds it. The kernel drops the lock of a process that dies, so a crashed answer never stops
//! indexing; and a wait is bounded, so indexing always finishes.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{EngineError, Result};

const LOCK_FILE: &str = "answering.lock";
/// How often a paused indexer looks again.
const POLL: Duration = Duration::from_millis(50);
/// The longest an indexer waits for answers at one point before it goes on anyway.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// Held while an answer is generated.
pub(crate) struct Answering {
    _file: File,
}

fn open(data_dir: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(data_dir.join(LOCK_FILE))
}

/// Announce an answer in progress (until the guard is dropped).
pub(crate) fn begin(data_dir: &Path) -> Result<Answering> {
    let file = open(data_dir).map_err(|e| EngineError::io(data_dir.join(LOCK_FILE), e))?;
    file.lock_shared().map_err(|e| EngineError::io(data_dir.join(LOCK_FILE), e))?;
    Ok(Answering { _file: file })
}

/// Whether an answer is being generated in any process using `data_dir`.
pub(crate) fn answer_in_progress(file: &File) -> bool {
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

/// What the indexing pipeline calls between units of work: returns at once when no answer is
/// being generated, else when none is (or after [`MAX_WAIT`]).
#[derive(Debug, Clone)]
pub(crate) struct Yield {
    data_dir: PathBuf,
}

impl Yield {
    pub(crate) fn new(data_dir: &Path) -> Self {
        Yield { data_dir: data_dir.to_path_buf() }
    }

    /// Whether an answer is being generated now (in any process on the data dir).
    pub(crate) fn answer_now(&self) -> bool {
        open(&self.data_dir).is_ok_and(|file| answer_in_progress(&file))
    }

    /// Block (this is called on worker threads) while an answer is generated.
    pub(crate) fn wait(&self) {
        let Ok(file) = open(&self.data_dir) else { return };
        let started = Instant::now();
        while answer_in_progress(&file) && started.elapsed() < MAX_WAIT {
            std::thread::sleep(POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexing_waits_while_an_answer_is_generated() {
        let dir = tempfile::tempdir().unwrap();
        let probe = open(dir.path()).unwrap();
        assert!(!answer_in_progress(&probe));
        let answering = begin(dir.path()).unwrap();
        let second = begin(dir.path()).unwrap();
        assert!(answer_in_progress(&probe), "seen by another open file (another process)");
        let waiter = std::thread::spawn({
            let y = Yield::new(dir.path());
            move || {
                let t = Instant::now();
                y.wait();
                t.elapsed()
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        drop((answering, second));
        let waited = waiter.join().unwrap();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert!(!answer_in_progress(&probe));
    }
}
