//! One tuning run per data dir at a time, across processes: the app, the background watcher
//! (`brain watch`) and a `brain tune` in a terminal each write questions with an answer model of
//! their own and train the one adapter, so two runs at once would load two models on the same
//! cores and overwrite each other's adapter.
//!
//! The lock is the store's cross-process file lock (`brain_store::IndexLock`, the one index
//! writers take) on `tune/tuning.lock`, held for a whole run; it names its holder. Learning
//! while idle only tries it and, when another run holds it, looks again at its next tick. A
//! user's run waits for it, and meanwhile asks whoever holds it to make way: it writes the time
//! into `tune/yield-request` twice a second, and an idle batch that sees a request newer than its
//! own start stops (its pairs are kept), so the user waits for the question in progress, not
//! for a batch. (Within one process the batch is also stopped directly, `Engine::tune`.)

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use brain_store::IndexLock;

use crate::error::{EngineError, Result};

const LOCK_FILE: &str = "tuning.lock";
const YIELD_FILE: &str = "yield-request";
/// How often a waiting run renews its request (ms).
const RENEW_MS: i64 = 500;

/// The lock of a tuning run, or `None` when another run holds it (or it cannot be made: then no
/// run that only tries, learning while idle, starts).
pub(crate) async fn try_lock(dir: &Path) -> Option<IndexLock> {
    IndexLock::acquire(&dir.join(LOCK_FILE), |_| {}, || true).await.ok()
}

/// The lock for a run a user asked for: waits until the run holding it ends, asking an idle
/// batch to stop meanwhile. `cancel` ends the wait (`Cancelled`).
pub(crate) async fn lock_for_user(dir: &Path, cancel: &AtomicBool) -> Result<IndexLock> {
    // When the request was last written (ms; an atomic, as the wait must stay `Send`).
    let asked_ms = AtomicI64::new(i64::MIN);
    let ask = || {
        let now = crate::fsutil::now_ms();
        if now.saturating_sub(asked_ms.load(Ordering::Relaxed)) >= RENEW_MS {
            asked_ms.store(now, Ordering::Relaxed);
            if let Err(e) = crate::fsutil::write_atomic(&dir.join(YIELD_FILE), now.to_string().as_bytes()) {
                tracing::warn!("could not ask the tuning run in progress to make way: {e}");
            }
        }
    };
    let on_wait = |holder: Option<brain_store::LockHolder>| {
        let holder = holder.map_or_else(|| "another tuning run".to_string(), |h| h.to_string());
        tracing::info!("{holder} holds {}: asking it to make way", dir.join(LOCK_FILE).display());
    };
    // Polled while the lock is busy: the request is renewed as long as the wait lasts.
    let cancelled = || {
        ask();
        cancel.load(Ordering::Relaxed)
    };
    IndexLock::acquire(&dir.join(LOCK_FILE), on_wait, cancelled).await.map_err(|e| match e {
        brain_store::StoreError::Cancelled => EngineError::Cancelled,
        other => other.into(),
    })
}

/// A user's run has asked for the lock since `since_ms` (a batch's start): the batch makes way.
pub(crate) fn asked_to_yield_since(dir: &Path, since_ms: i64) -> bool {
    std::fs::read_to_string(dir.join(YIELD_FILE)).ok().and_then(|t| t.trim().parse::<i64>().ok()).is_some_and(|asked| asked >= since_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn one_run_holds_the_lock_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_lock(dir.path()).await.expect("free");
        // A second open file description is refused as another process's would be.
        assert!(try_lock(dir.path()).await.is_none(), "held");
        drop(first);
        assert!(try_lock(dir.path()).await.is_some(), "free again");
    }

    #[tokio::test]
    async fn a_users_run_asks_the_holder_to_yield_and_gets_the_lock_when_it_does() {
        let dir = tempfile::tempdir().unwrap();
        let batch_started = crate::fsutil::now_ms();
        assert!(!asked_to_yield_since(dir.path(), batch_started), "nobody asked");
        let batch = try_lock(dir.path()).await.expect("free");

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
        assert!(try_lock(dir.path()).await.is_none(), "the user's run holds it now");
        drop(lock);
        // A batch started after the request is not asked to stop by it.
        assert!(!asked_to_yield_since(dir.path(), crate::fsutil::now_ms() + 1));
    }

    #[tokio::test]
    async fn waiting_for_the_lock_ends_when_the_user_stops() {
        let dir = tempfile::tempdir().unwrap();
        let _held = try_lock(dir.path()).await.expect("free");
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
