//! One writer per shared index, across machines: a lease object beside the tables
//! (`PREFIX/writer.json`: who writes, renewed while they do).
//!
//! The local [`crate::IndexLock`] keeps two writers on one machine apart; two indexers on
//! different machines pointed at the same prefix would both commit, and LanceDB's
//! `merge_insert` is no uniqueness constraint between writers (see `lock.rs`). S3's conditional
//! writes are not offered by every S3-compatible store, so the lease is taken the way any store
//! allows: read it; if another writer renewed it within [`TTL_MS`], wait; else write ours, let
//! [`SETTLE`] pass — longer than a competing write takes to land — and read it again: whoever
//! reads their own id is the writer, the other waits. The holder renews it every [`RENEW`]
//! while it writes and deletes it when done; one that dies (`kill -9`, a machine lost) stops
//! renewing, and its lease lapses after [`TTL_MS`]. The machines' clocks must agree within
//! TTL − RENEW (45 s), which NTP gives.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Bucket, Result, StoreError};

/// The lease object, under the prefix.
pub const LEASE: &str = "writer.json";
/// A lease not renewed for this long is free.
const TTL_MS: i64 = 60_000;
/// How often the holder renews it.
const RENEW: Duration = Duration::from_secs(15);
/// How long a new holder waits before reading its lease back.
const SETTLE: Duration = Duration::from_secs(2);
/// How often a waiting writer looks again.
const RETRY: Duration = Duration::from_secs(1);

/// Who writes a shared index, as their lease says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    /// This process's id for leases (random, made once per process).
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    /// When it was last renewed (ms since the Unix epoch, by the holder's clock).
    pub renewed_ms: i64,
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} ({}) on {}", self.pid, self.command, self.host)
    }
}

/// The held lease: renewed in the background until dropped (it then lapses, unless this
/// process takes it again first).
#[derive(Debug)]
pub struct WriterLease {
    renewing: tokio::task::JoinHandle<()>,
    bucket: Bucket,
}

impl Drop for WriterLease {
    /// Released at once rather than left to lapse, so that the next writer — often this
    /// machine's next `brain index` — need not wait [`TTL_MS`]. On a thread and runtime of its
    /// own (a drop cannot await), with a client of its own, for at most 5 s.
    fn drop(&mut self) {
        self.renewing.abort();
        let Ok(bucket) = self.bucket.with_new_client() else { return };
        let releasing = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async {
                let release = async {
                    if let Ok(Some(holder)) = read(&bucket).await
                        && holder.id == process_id()
                    {
                        let _ = bucket.delete(LEASE).await;
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(5), release).await;
            });
        });
        let _ = releasing.join();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// This process's lease id.
fn process_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        // std's hasher keys are random per process: two processes never share an id.
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_i64(now_ms());
        format!("{:016x}", hasher.finish())
    })
}

fn ours() -> LeaseHolder {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "?".into());
    LeaseHolder { id: process_id().to_string(), host, pid: std::process::id(), command: crate::lock::command_line(), renewed_ms: now_ms() }
}

async fn read(bucket: &Bucket) -> Result<Option<LeaseHolder>> {
    // A damaged lease is nobody's.
    Ok(bucket.read(LEASE).await?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

async fn write(bucket: &Bucket, holder: &LeaseHolder) -> Result<()> {
    bucket.write(LEASE, serde_json::to_vec(holder).unwrap_or_default()).await
}

/// Is `holder` another writer's live lease (as of `now`)?
fn held_by_another(holder: &LeaseHolder, now: i64) -> bool {
    holder.id != process_id() && now - holder.renewed_ms < TTL_MS
}

impl WriterLease {
    /// Become the shared index's one writer: wait while another holds the lease (`on_wait` is
    /// called once, with the holder), stop waiting when `cancelled`.
    pub async fn acquire(bucket: &Bucket, mut on_wait: impl FnMut(&LeaseHolder), cancelled: impl Fn() -> bool) -> Result<WriterLease> {
        let mut announced = false;
        loop {
            let current = read(bucket).await?;
            if let Some(holder) = current.as_ref().filter(|h| held_by_another(h, now_ms())) {
                if !announced {
                    announced = true;
                    on_wait(holder);
                }
                if cancelled() {
                    return Err(StoreError::Cancelled);
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
            write(bucket, &ours()).await?;
            // Our own lease, still live: nobody can have taken it meanwhile.
            if current.is_none_or(|h| h.id != process_id() || now_ms() - h.renewed_ms >= TTL_MS) {
                tokio::time::sleep(SETTLE).await;
                if read(bucket).await?.is_none_or(|h| h.id != process_id()) {
                    continue; // another writer's landed last: theirs
                }
            }
            break;
        }
        let renewed = bucket.clone();
        let renewing = tokio::spawn(async move {
            let bucket = renewed;
            loop {
                tokio::time::sleep(RENEW).await;
                match read(&bucket).await {
                    Ok(Some(h)) if h.id != process_id() => {
                        // Only when this process could not renew for a whole TTL (a store
                        // unreachable): said loudly, and not fought over.
                        tracing::error!("the shared index's writer lease was taken by {h} while this process was writing");
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("cannot read the writer lease: {e}"),
                }
                if let Err(e) = write(&bucket, &ours()).await {
                    tracing::warn!("cannot renew the writer lease: {e}");
                }
            }
        });
        Ok(WriterLease { renewing, bucket: bucket.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_another_writers_while_renewed_and_never_this_process() {
        let now = now_ms();
        let theirs = LeaseHolder {
            id: "0123456789abcdef".into(),
            host: "indexer-2".into(),
            pid: 7,
            command: "brain watch".into(),
            renewed_ms: now - 5_000,
        };
        assert!(held_by_another(&theirs, now));
        assert!(!held_by_another(&LeaseHolder { renewed_ms: now - TTL_MS, ..theirs.clone() }, now), "lapsed");
        assert!(!held_by_another(&LeaseHolder { id: process_id().into(), ..theirs.clone() }, now), "our own");
        assert_eq!(theirs.to_string(), "process 7 (brain watch) on indexer-2");
        assert_eq!(process_id(), process_id(), "one id per process");
    }
}
