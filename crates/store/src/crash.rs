//! Named crash points for the crash tests (in the spirit of SQLite's crash tests).
//!
//! `BRAIN_TEST_CRASH_AT=name[:n]` makes the process SIGKILL itself the `n`-th time (default: the
//! first) it passes the crash point `name`: exactly what `kill -9` does, at exactly the instant
//! the test wants, such as between the chunks table's commit and the documents table's. The
//! variable is read once; unset (always, outside tests) a crash point costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the crash point.
pub const CRASH_AT_ENV: &str = "BRAIN_TEST_CRASH_AT";

/// Every crash point of the store, in the order a write passes them. The engine adds its own
/// (see its `sync` module); the crash test enumerates both lists.
pub const STORE_CRASH_POINTS: &[&str] = &[
    "store:journal-written",
    "store:chunks-committed",
    "store:identities-committed",
    "store:documents-committed",
    "store:removed-chunks",
    "store:removed-documents",
    "store:repair-documents",
    "store:repair-chunks",
    "store:repair-pending",
    "store:maintain-fts",
    "store:maintain-compact",
];

struct Target {
    name: String,
    nth: u64,
    passed: AtomicU64,
}

fn target() -> Option<&'static Target> {
    static TARGET: OnceLock<Option<Target>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let spec = std::env::var(CRASH_AT_ENV).ok().filter(|s| !s.is_empty())?;
            let (name, nth) = match spec.rsplit_once(':') {
                Some((name, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => (name.to_string(), n.parse().unwrap_or(1)),
                _ => (spec, 1),
            };
            Some(Target { name, nth: nth.max(1), passed: AtomicU64::new(0) })
        })
        .as_ref()
}

/// A point where a crash must leave a recoverable index. Dies here when the test asked for it.
#[allow(unsafe_code)]
pub fn crash_point(name: &str) {
    let Some(target) = target() else { return };
    if target.name == name && target.passed.fetch_add(1, Ordering::SeqCst) + 1 == target.nth {
        // What `kill -9` does: no unwinding, no destructors, no flushing.
        #[cfg(unix)]
        // SAFETY: `kill` and `getpid` take and return plain integers and touch no memory of
        // ours; signalling our own pid is always permitted, and SIGKILL ends the process here.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        std::process::abort();
    }
}
