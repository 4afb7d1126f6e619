//! One writer per index, across processes.
//!
//! LanceDB commits are atomic per table, but `merge_insert` is not a uniqueness constraint
//! between writers: two processes that both plan from the same snapshot and insert the same new
//! key both commit, and the table then holds the row twice. That is what a second `brain index`
//! (or the CLI beside the desktop app's watcher) did to the index. So every writer takes this
//! lock for the whole of its work — plan, writes, repair, maintenance — and re-reads the tables
//! after taking it ([`crate::Store::writer`]).
//!
//! The lock is an OS file lock (`flock`) on a file in the data dir: the kernel drops it when the
//! holder dies, `kill -9` included, so a crashed writer never leaves the index locked. The file
//! holds the holder's pid and command line, for the message a waiting process shows.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Result, StoreError};

/// How often a waiting writer tries again.
const RETRY: Duration = Duration::from_millis(100);

/// Who holds the lock, as the holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    /// The holder's command line, e.g. `brain watch`.
    pub command: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} ({})", self.pid, self.command)
    }
}

/// The held lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct IndexLock {
    file: File,
    path: PathBuf,
    /// Shared: a reader that must not see a write in progress (an integrity check).
    shared: bool,
    /// A shared index's writer lease, held as long as this lock (see `lease.rs`).
    lease: Option<crate::WriterLease>,
}

impl IndexLock {
    /// Take the lock at `path`, waiting while another process holds it. `on_wait` is called once,
    /// with the holder, if the lock is busy; `cancelled` is polled while waiting.
    pub async fn acquire(path: &Path, mut on_wait: impl FnMut(Option<LockHolder>), cancelled: impl Fn() -> bool) -> Result<IndexLock> {
        let io = |e: std::io::Error| StoreError::Lock { path: path.to_path_buf(), reason: e.to_string() };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if !announced {
                        announced = true;
                        on_wait(read_holder(&mut file));
                    }
                    if cancelled() {
                        return Err(StoreError::Cancelled);
                    }
                    tokio::time::sleep(RETRY).await;
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let holder = LockHolder { pid: std::process::id(), command: command_line() };
        let text = serde_json::to_string(&holder).unwrap_or_default();
        file.set_len(0).and_then(|_| file.rewind()).and_then(|_| file.write_all(text.as_bytes())).map_err(io)?;
        Ok(IndexLock { file, path: path.to_path_buf(), shared: false, lease: None })
    }

    /// Take the lock shared, without waiting: `Err(holder)` when a writer holds it. Any number of
    /// readers can hold it shared at once; a writer waits for them.
    pub fn try_shared(path: &Path) -> Result<Result<IndexLock, Option<LockHolder>>> {
        let io = |e: std::io::Error| StoreError::Lock { path: path.to_path_buf(), reason: e.to_string() };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Ok(IndexLock { file, path: path.to_path_buf(), shared: true, lease: None })),
            Err(TryLockError::WouldBlock) => Ok(Err(read_holder(&mut file))),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This lock with a shared index's writer lease, held (and renewed) as long as it is.
    pub fn with_lease(mut self, lease: crate::WriterLease) -> IndexLock {
        self.lease = Some(lease);
        self
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        if !self.shared {
            let _ = self.file.set_len(0);
        }
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

pub(crate) fn command_line() -> String {
    let mut args = std::env::args();
    let exe = args.next().map(|a| Path::new(&a).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(a)).unwrap_or_default();
    std::iter::once(exe).chain(args.take(3)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn a_second_writer_waits_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.lock");
        let first = IndexLock::acquire(&path, |_| panic!("free lock"), || false).await.unwrap();
        let waited = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&waited);
        let second = tokio::spawn({
            let path = path.clone();
            async move {
                IndexLock::acquire(
                    &path,
                    move |holder| {
                        assert_eq!(holder.map(|h| h.pid), Some(std::process::id()), "the waiter learns who holds it");
                        seen.store(true, Ordering::SeqCst);
                    },
                    || false,
                )
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(waited.load(Ordering::SeqCst) && !second.is_finished(), "the second writer waits");
        drop(first);
        second.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn readers_share_the_lock_and_keep_a_writer_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.lock");
        let reader = IndexLock::try_shared(&path).unwrap().expect("free");
        let second_reader = IndexLock::try_shared(&path).unwrap().expect("readers share");
        assert!(IndexLock::acquire(&path, |_| {}, || true).await.is_err(), "a writer waits for the readers");
        drop((reader, second_reader));
        let writer = IndexLock::acquire(&path, |_| {}, || true).await.unwrap();
        let holder = IndexLock::try_shared(&path).unwrap().expect_err("a writer keeps readers out");
        assert_eq!(holder.map(|h| h.pid), Some(std::process::id()));
        drop(writer);
    }

    #[tokio::test]
    async fn waiting_can_be_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.lock");
        let _held = IndexLock::acquire(&path, |_| {}, || false).await.unwrap();
        let err = IndexLock::acquire(&path, |_| {}, || true).await.unwrap_err();
        assert!(matches!(err, StoreError::Cancelled));
    }
}
