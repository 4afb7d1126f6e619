//! One tuning run per data dir at a time, across processes: the app, the background watcher
//! (`brain watch`) and a `brain tune` in a terminal each write questions with an answer model of
//! their own and train the one adapter, so two runs at once would load two models on the same
//! cores and overwrite each other's adapter.
//!
//! An exclusive lock on `tune/tuning.lock` is held for a whole run. Learning while idle only
//! tries it and, when another run holds it, looks again at its next tick. A user's run waits for
//! it, and meanwhile asks whoever holds it to make way: it writes the time into
//! `tune/yield-request` twice a second, and an idle batch that sees a request newer than its
//! own start stops (its pairs are kept), so the user waits for the question in progress, not
//! for a batch. (Within one process the batch is also stopped directly, `Engine::tune`.)

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::{EngineError, Result};

const LOCK_FILE: &str = "tuning.lock";
const YIELD_FILE: &str = "yield-request";
/// How often a waiting run tries the lock again and renews its request.
const RETRY: Duration = Duration::from_millis(500);

/// The lock of a tuning run, or `None` when another run holds it (or it cannot be made: then no
/// run that only tries, learning while idle, starts).
pub(crate) fn try_lock(dir: &Path) -> Option<File> {
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join(LOCK_FILE)).ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// The lock for a run a user asked for: waits until the run holding it ends, asking an idle
/// batch to stop meanwhile. `cancel` ends the wait (`Cancelled`).
pub(crate) async fn lock_for_user(dir: &Path, cancel: &AtomicBool) -> Result<File> {
    let mut waited = false;
    loop {
        if let Some(lock) = try_lock(dir) {
            return Ok(lock);
        }
        if !waited {
            tracing::info!("another tuning run holds {}: asking it to make way", dir.join(LOCK_FILE).display());
            waited = true;
        }
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        crate::fsutil::write_atomic(&dir.join(YIELD_FILE), crate::fsutil::now_ms().to_string().as_bytes())?;
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// A user's run has asked for the lock since `since_ms` (a batch's start): the batch makes way.
pub(crate) fn asked_to_yield_since(dir: &Path, since_ms: i64) -> bool {
    std::fs::read_to_string(dir.join(YIELD_FILE)).ok().and_then(|t| t.trim().parse::<i64>().ok()).is_some_and(|asked| asked >= since_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn one_run_holds_the_lock_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_lock(dir.path()).expect("free");
        // A second open file description is refused as another process's would be.
        assert!(try_lock(dir.path()).is_none(), "held");
        drop(first);
        assert!(try_lock(dir.path()).is_some(), "free again");
    }

    #[tokio::test]
    async fn a_users_run_asks_the_holder_to_yield_and_gets_the_lock_when_it_does() {
        let dir = tempfile::tempdir().unwrap();
        let batch_started = crate::fsutil::now_ms();
        assert!(!asked_to_yield_since(dir.path(), batch_started), "nobody asked");
        let batch = try_lock(dir.path()).expect("free");

        // The holder (an idle batch) looks every so often and lets go once asked.
        let path = dir.path().to_path_buf();
        let holder = tokio::spawn(async move {
            while !asked_to_yield_since(&path, batch_started) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(batch);
        });
        let cancel = AtomicBool::new(false);
        let lock = tokio::time::timeout(Duration::from_secs(10), lock_for_user(dir.path(), &cancel)).await.expect("got it").unwrap();
        holder.await.unwrap();
        assert!(try_lock(dir.path()).is_none(), "the user's run holds it now");
        drop(lock);
        // A batch started after the request is not asked to stop by it.
        assert!(!asked_to_yield_since(dir.path(), crate::fsutil::now_ms() + 1));
    }

    #[tokio::test]
    async fn waiting_for_the_lock_ends_when_the_user_stops() {
        let dir = tempfile::tempdir().unwrap();
        let _held = try_lock(dir.path()).expect("free");
        let cancel = Arc::new(AtomicBool::new(false));
        let stopper = Arc::clone(&cancel);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            stopper.store(true, Ordering::Relaxed);
        });
        let waited = tokio::time::timeout(Duration::from_secs(10), lock_for_user(dir.path(), &cancel)).await.expect("ended");
        assert!(matches!(waited, Err(EngineError::Cancelled)), "{waited:?}");
    }
}
