//! Live sync: keep the index equal to the folders while the process runs.
//!
//! Design: file-system notifications (inotify through `notify`, debounced) only say *that*
//! something changed; each burst triggers the same reconciliation as `index` (a metadata walk,
//! then only the difference is processed). One mechanism for start-up, edits, renames, deletions,
//! `.gitignore` changes and lost events keeps the index provably equal to a clean index; the
//! walk costs milliseconds for thousands of files, far below embedding costs. Idle, the loop
//! sleeps on a channel: no polling of the folders.
//!
//! `notify` is used directly with a small debounce here rather than through its debouncer
//! crates: inotify reports *opens* too, so our own reading (the walk, parsing) would trigger a
//! sync after every sync unless access events are dropped, and the mini debouncer forgets the
//! event kind while the full one wakes on a timer many times a second even when idle.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};

use crate::error::{EngineError, Result};
use crate::events::IndexEvent;
use crate::{Engine, folders, settings::Settings};

/// Quiet time after the last change of a burst before syncing. Short enough for a single edit
/// to be searchable within a second, long enough to batch an editor's save (write, rename,
/// chmod) into one sync.
const DEBOUNCE: Duration = Duration::from_millis(150);
/// A burst that never goes quiet (a long copy) still gets synced this often.
const MAX_BURST: Duration = Duration::from_secs(2);
/// How often the loop looks at the stop flag and at registered folders that are not mounted.
const TICK: Duration = Duration::from_millis(250);
const MISSING_FOLDER_CHECK: Duration = Duration::from_secs(5);

/// Reconcile, then keep the index in sync until `stop` is set (see [`Engine::watch`]).
pub(crate) async fn run(engine: &Engine, stop: Arc<AtomicBool>) -> Result<()> {
    engine.watch_loop(stop).await
}

impl Engine {
    async fn watch_loop(&self, stop: Arc<AtomicBool>) -> Result<()> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Result<notify::Event>>();
        let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
            if result.as_ref().is_ok_and(|event| !may_change_a_file(&event.kind)) {
                return;
            }
            let _ = tx.send(result);
        })
        .map_err(|e| EngineError::Internal(format!("cannot start the file watcher: {e}")))?;
        let data_dir = self.data_dir().to_path_buf();
        // The registry and the settings live in the data dir: watching it (not recursively)
        // picks up folders added or removed by another process, such as the CLI.
        watcher.watch(&data_dir, RecursiveMode::NonRecursive).map_err(|e| EngineError::io(&data_dir, e))?;
        let mut watched: HashSet<PathBuf> = HashSet::new();
        self.update_watches(&mut watcher, &mut watched);

        self.sync_logged(&stop).await;
        let mut since_missing_check = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let first = match tokio::time::timeout(TICK, rx.recv()).await {
                Ok(Some(event)) => Some(event),
                Ok(None) => break,
                Err(_) => None,
            };
            let mut relevant = false;
            let mut registry_changed = false;
            let mut consider = |result: notify::Result<notify::Event>| match result {
                Ok(event) => {
                    for path in &event.paths {
                        if is_registry_file(path, &data_dir) {
                            registry_changed = true;
                            relevant = true;
                        } else if is_relevant(path, &data_dir, &watched) {
                            relevant = true;
                        }
                    }
                }
                Err(e) => {
                    // An overflowed event queue loses changes: a full reconciliation finds them.
                    tracing::warn!("file watcher error: {e}; resynchronising");
                    relevant = true;
                }
            };
            match first {
                Some(event) => {
                    consider(event);
                    // Debounce: take the rest of the burst until it goes quiet.
                    let burst = Instant::now();
                    while burst.elapsed() < MAX_BURST {
                        match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                            Ok(Some(event)) => consider(event),
                            _ => break,
                        }
                    }
                }
                None => {
                    since_missing_check += TICK;
                    if since_missing_check >= MISSING_FOLDER_CHECK {
                        since_missing_check = Duration::ZERO;
                        // A folder that appeared (a drive plugged in) or vanished changes what is watched.
                        registry_changed |= self.watch_set_changed(&watched);
                        relevant |= registry_changed;
                    }
                }
            }
            if registry_changed {
                self.reload_settings().await;
                self.update_watches(&mut watcher, &mut watched);
            }
            if relevant && !stop.load(Ordering::Relaxed) {
                self.sync_logged(&stop).await;
            }
        }
        Ok(())
    }

    async fn sync_logged(&self, stop: &AtomicBool) {
        match self.sync(stop).await {
            Ok(_) | Err(EngineError::Cancelled) => {}
            Err(e) => {
                tracing::warn!("sync failed: {e}");
                self.emit(IndexEvent::SyncFailed { code: e.code(), error: e.to_string() });
            }
        }
    }

    /// Folders that should be watched now: registered, not paused, and present.
    fn wanted_watches(&self) -> HashSet<PathBuf> {
        folders::load(self.data_dir())
            .unwrap_or_default()
            .into_iter()
            .filter(|f| !f.paused)
            .map(|f| f.path)
            .filter(|p| p.is_dir())
            .collect()
    }

    fn watch_set_changed(&self, watched: &HashSet<PathBuf>) -> bool {
        &self.wanted_watches() != watched
    }

    fn update_watches(&self, watcher: &mut impl Watcher, watched: &mut HashSet<PathBuf>) {
        let wanted = self.wanted_watches();
        for gone in watched.difference(&wanted).cloned().collect::<Vec<_>>() {
            let _ = watcher.unwatch(&gone);
            watched.remove(&gone);
        }
        for new in wanted.difference(watched).cloned().collect::<Vec<_>>() {
            match watcher.watch(&new, RecursiveMode::Recursive) {
                Ok(()) => {
                    watched.insert(new);
                }
                Err(e) => tracing::warn!("cannot watch {}: {e}", new.display()),
            }
        }
    }

    async fn reload_settings(&self) {
        match Settings::load(self.data_dir()) {
            Ok(s) if s != self.settings() => {
                if let Err(e) = self.use_settings_for_this_run(s).await {
                    tracing::warn!("ignoring changed settings: {e}");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("ignoring unreadable settings: {e}"),
        }
    }
}

/// Opens and reads change nothing (and most are our own); a write that closes does.
fn may_change_a_file(kind: &EventKind) -> bool {
    !matches!(kind, EventKind::Access(access) if *access != AccessKind::Close(AccessMode::Write))
}

/// Whether a change at `path` can alter the index. Changes that cannot are dropped here so that,
/// e.g., a busy `.git` directory inside a watched folder does not cause a sync per commit.
/// Hidden entries are never indexed; `.gitignore` and `.ignore` files are hidden but change what
/// is indexed.
fn is_relevant(path: &Path, data_dir: &Path, watched: &HashSet<PathBuf>) -> bool {
    if path.starts_with(data_dir) {
        return false; // our own writes, when the data dir is inside a watched folder
    }
    let Some(root) = watched.iter().find(|r| path.starts_with(r)) else { return true };
    let relative = path.strip_prefix(root).unwrap_or(path);
    let components: Vec<&str> = relative.iter().filter_map(|c| c.to_str()).collect();
    let Some((last, parents)) = components.split_last() else { return true };
    if parents.iter().any(|c| c.starts_with('.')) {
        return false;
    }
    !last.starts_with('.') || matches!(*last, ".gitignore" | ".ignore")
}

fn is_registry_file(path: &Path, data_dir: &Path) -> bool {
    path.parent() == Some(data_dir) && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == "folders.json" || n == Settings::FILE)
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, ModifyKind, RemoveKind};

    use super::*;

    #[test]
    fn reads_are_dropped_and_writes_kept() {
        assert!(!may_change_a_file(&EventKind::Access(AccessKind::Open(AccessMode::Read))));
        assert!(!may_change_a_file(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(may_change_a_file(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(may_change_a_file(&EventKind::Create(CreateKind::File)));
        assert!(may_change_a_file(&EventKind::Modify(ModifyKind::Any)));
        assert!(may_change_a_file(&EventKind::Remove(RemoveKind::File)));
    }

    #[test]
    fn hidden_entries_and_our_own_writes_are_not_relevant_but_ignore_files_are() {
        let watched: HashSet<PathBuf> = [PathBuf::from("/docs")].into();
        let data = Path::new("/docs/.brain-data");
        let relevant = |p: &str| is_relevant(Path::new(p), data, &watched);
        assert!(relevant("/docs/a.md"));
        assert!(relevant("/docs/sub/b.pdf"));
        assert!(relevant("/docs/.gitignore") && relevant("/docs/sub/.ignore"), "they change what is indexed");
        assert!(!relevant("/docs/.git/index"), "a busy .git must not cause a sync per commit");
        assert!(!relevant("/docs/.hidden.md"));
        assert!(!relevant("/docs/.brain-data/lancedb/x"), "our own writes");
        assert!(relevant("/elsewhere/x"), "a path outside the watched folders: reconcile to be safe");
    }

    #[test]
    fn only_the_folder_list_and_the_settings_are_registry_files() {
        let data = Path::new("/data");
        assert!(is_registry_file(Path::new("/data/folders.json"), data));
        assert!(is_registry_file(&data.join(Settings::FILE), data));
        assert!(!is_registry_file(Path::new("/data/index.json"), data));
        assert!(!is_registry_file(Path::new("/data/sub/folders.json"), data));
    }
}
