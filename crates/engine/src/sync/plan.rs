//! Stage 2 of a sync, the plan: the difference between what the walk found on disk and what the
//! index holds — files to (re)index, failures to record, paths to remove.
//!
//! Key design decision: a pure function of plain values (the walk, the index's document rows,
//! the folders' states), so that every rule of what a sync does is unit-tested in milliseconds:
//! an edited file is redone, a renamed one is indexed under its new path and removed under the
//! old (the pipeline reuses its vectors by chunk hash, because removals are applied last), a
//! deleted or newly ignored one is removed, and the files of a paused or missing folder are kept
//! untouched (an unplugged drive must not empty the index).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use brain_store::{DocStatus, DocumentRecord};

use super::walk::{DiskFile, Walk, WalkFailure};
use crate::folders::Folder;

/// The registered folders as a sync treats them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FolderStates {
    /// On disk and not paused: walked and synced.
    pub present: Vec<PathBuf>,
    /// Paused by the user: neither walked nor watched; their files are kept.
    pub paused: Vec<PathBuf>,
    /// Registered but not on disk (unmounted, deleted): their files are kept.
    pub missing: Vec<PathBuf>,
    /// Folders whose files' readers are set by policy (see [`Folder::readers`]), not read from
    /// the file system.
    pub reader_policies: HashMap<PathBuf, Vec<String>>,
}

impl FolderStates {
    /// Sort the folders by state; `is_dir` says whether a folder is on disk.
    pub(crate) fn of(folders: &[Folder], is_dir: impl Fn(&Path) -> bool) -> FolderStates {
        let mut states = FolderStates::default();
        for f in folders {
            if let Some(readers) = &f.readers {
                states.reader_policies.insert(f.path.clone(), readers.clone());
            }
            if f.paused {
                states.paused.push(f.path.clone());
            } else if is_dir(&f.path) {
                states.present.push(f.path.clone());
            } else {
                states.missing.push(f.path.clone());
            }
        }
        states
    }

    /// Folders whose indexed files stay as they are.
    fn kept(&self) -> impl Iterator<Item = &PathBuf> {
        self.paused.iter().chain(&self.missing)
    }
}

/// A file to (re)index.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub file: DiskFile,
    /// Its row in the index, when the row may stand if the content turns out unchanged (a file
    /// only touched). `None` for a new file, and for one that must be redone whatever its
    /// content (an index of an older chunk format).
    pub indexed: Option<DocumentRecord>,
}

/// What a sync has to do: the difference between the disk and the index.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// New or changed files, in the order walked.
    pub queue: Vec<Queued>,
    /// Walk failures not yet recorded (or recorded with another reason).
    pub failures: Vec<WalkFailure>,
    /// Indexed paths no longer on disk, sorted.
    pub removed: Vec<String>,
    /// Rows of unchanged files whose readers changed, with the new readers.
    pub readers_changed: Vec<DocumentRecord>,
    pub unchanged: usize,
}

/// Compare a walk with the index. With `redo_indexed` (an index of an older chunk format),
/// every indexed file is queued again.
pub(crate) fn plan(walk: &Walk, existing: &HashMap<String, DocumentRecord>, folders: &FolderStates, redo_indexed: bool) -> Plan {
    // Paths as the index spells them.
    let mut on_disk: HashSet<String> = HashSet::new();
    let mut plan = Plan::default();
    for file in &walk.files {
        let key = file.path.display().to_string();
        let row = existing.get(&key);
        match row {
            Some(d) if is_current(d, file) && !(redo_indexed && d.status == DocStatus::Indexed) => {
                if d.readers == file.readers {
                    plan.unchanged += 1
                } else {
                    plan.readers_changed.push(DocumentRecord { readers: file.readers.clone(), ..d.clone() })
                }
            }
            _ => plan.queue.push(Queued { file: file.clone(), indexed: row.filter(|_| !redo_indexed).cloned() }),
        }
        on_disk.insert(key);
    }
    for f in &walk.failures {
        let key = f.path.display().to_string();
        match existing.get(&key) {
            Some(d)
                if d.status == DocStatus::Failed
                    && d.error.as_deref() == Some(f.error.as_str())
                    && d.size == f.size
                    && d.readers == f.readers =>
            {
                plan.unchanged += 1
            }
            _ => plan.failures.push(f.clone()),
        }
        on_disk.insert(key);
    }
    let kept: Vec<&PathBuf> = folders.kept().collect();
    plan.removed = existing
        .values()
        .filter(|d| !on_disk.contains(&d.path))
        .filter(|d| !kept.iter().any(|k| Path::new(&d.folder) == k.as_path()))
        .map(|d| d.path.clone())
        .collect();
    plan.removed.sort();
    plan
}

/// Whether the index holds this version of the file: same size and mtime, and done.
fn is_current(d: &DocumentRecord, file: &DiskFile) -> bool {
    d.size == file.size && d.mtime_ns == file.mtime_ns && d.status != DocStatus::Pending
}

impl Plan {
    /// Files the sync will process or record.
    pub(crate) fn work(&self) -> usize {
        self.queue.len() + self.failures.len() + self.readers_changed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = "/docs";

    fn disk(path: &str, size: u64, mtime_ns: i64) -> DiskFile {
        DiskFile { path: path.into(), folder: folder_of(path).into(), size, mtime_ns, readers: None }
    }

    fn folder_of(path: &str) -> &str {
        if path.starts_with("/usb") { "/usb" } else { DOCS }
    }

    fn indexed(path: &str, size: u64, mtime_ns: i64) -> DocumentRecord {
        DocumentRecord {
            path: path.into(),
            folder: folder_of(path).into(),
            hash: Some("h".into()),
            size,
            mtime_ns,
            status: DocStatus::Indexed,
            error: None,
            format: Some("markdown".into()),
            chunks: 1,
            updated_ms: 0,
            readers: None,
        }
    }

    fn index(records: Vec<DocumentRecord>) -> HashMap<String, DocumentRecord> {
        records.into_iter().map(|d| (d.path.clone(), d)).collect()
    }

    fn present() -> FolderStates {
        FolderStates { present: vec![DOCS.into()], ..Default::default() }
    }

    fn queued(plan: &Plan) -> Vec<&str> {
        plan.queue.iter().map(|q| q.file.path.to_str().unwrap()).collect()
    }

    #[test]
    fn unchanged_files_are_left_and_new_ones_queued() {
        let walk = Walk { files: vec![disk("/docs/a.md", 10, 1), disk("/docs/new.md", 5, 1)], failures: vec![] };
        let plan = plan(&walk, &index(vec![indexed("/docs/a.md", 10, 1)]), &present(), false);
        assert_eq!(queued(&plan), vec!["/docs/new.md"]);
        assert_eq!((plan.unchanged, plan.removed.len()), (1, 0));
    }

    #[test]
    fn an_edit_is_seen_by_size_or_by_mtime() {
        let existing = index(vec![indexed("/docs/a.md", 10, 1), indexed("/docs/b.md", 10, 1)]);
        let walk = Walk { files: vec![disk("/docs/a.md", 11, 1), disk("/docs/b.md", 10, 2)], failures: vec![] };
        let plan = plan(&walk, &existing, &present(), false);
        assert_eq!(queued(&plan), vec!["/docs/a.md", "/docs/b.md"]);
        assert_eq!(plan.unchanged, 0);
        assert!(plan.queue[1].indexed.is_some(), "a touched file may keep its row if its content is unchanged");
    }

    #[test]
    fn new_readers_of_an_unchanged_file_are_written_without_indexing_it_again() {
        let mut walked = disk("/docs/a.md", 10, 1);
        walked.readers = Some(vec!["user:alice".into(), "user:bob".into()]);
        let mut row = indexed("/docs/a.md", 10, 1);
        row.readers = Some(vec!["user:bob".into()]);
        let first = plan(&Walk { files: vec![walked.clone()], failures: vec![] }, &index(vec![row.clone()]), &present(), false);
        assert!(first.queue.is_empty());
        assert_eq!(first.unchanged, 0);
        assert_eq!(first.readers_changed, vec![DocumentRecord { readers: walked.readers.clone(), ..row }]);
        // Written: the next walk finds them equal.
        let next = plan(&Walk { files: vec![walked.clone()], failures: vec![] }, &index(first.readers_changed.clone()), &present(), false);
        assert_eq!((next.unchanged, next.readers_changed.len()), (1, 0));
    }

    #[test]
    fn a_rename_indexes_the_new_path_and_removes_the_old() {
        let walk = Walk { files: vec![disk("/docs/renamed.md", 10, 1)], failures: vec![] };
        let plan = plan(&walk, &index(vec![indexed("/docs/a.md", 10, 1)]), &present(), false);
        assert_eq!(queued(&plan), vec!["/docs/renamed.md"]);
        assert_eq!(plan.removed, vec!["/docs/a.md"]);
    }

    #[test]
    fn deleted_and_newly_ignored_files_are_removed() {
        // An ignored file is simply not in the walk: the same as a deleted one.
        let existing = index(vec![indexed("/docs/a.md", 1, 1), indexed("/docs/gone.md", 1, 1), indexed("/docs/ignored.log", 1, 1)]);
        let walk = Walk { files: vec![disk("/docs/a.md", 1, 1)], failures: vec![] };
        let plan = plan(&walk, &existing, &present(), false);
        assert!(plan.queue.is_empty());
        assert_eq!(plan.removed, vec!["/docs/gone.md", "/docs/ignored.log"]);
    }

    #[test]
    fn files_of_paused_and_missing_folders_are_kept() {
        let existing = index(vec![indexed("/docs/a.md", 1, 1), indexed("/usb/b.md", 1, 1)]);
        let folders = |states: FolderStates| plan(&Walk::default(), &existing, &states, false).removed;
        assert_eq!(folders(FolderStates { paused: vec![DOCS.into(), "/usb".into()], ..Default::default() }), Vec::<String>::new());
        assert_eq!(
            folders(FolderStates { present: vec![DOCS.into()], missing: vec!["/usb".into()], ..Default::default() }),
            vec!["/docs/a.md"]
        );
        // A folder that is neither paused nor missing but no longer registered loses its files.
        assert_eq!(folders(FolderStates::default()), vec!["/docs/a.md", "/usb/b.md"]);
    }

    #[test]
    fn folder_states_put_paused_before_missing() {
        let folder = |path: &str, paused| Folder { path: path.into(), added_ms: 0, paused, readers: None };
        let folders = vec![folder("/docs", false), folder("/usb", false), folder("/paused-and-gone", true)];
        let states = FolderStates::of(&folders, |p| p == Path::new("/docs"));
        assert_eq!(states.present, vec![PathBuf::from("/docs")]);
        assert_eq!(states.missing, vec![PathBuf::from("/usb")]);
        assert_eq!(states.paused, vec![PathBuf::from("/paused-and-gone")], "a paused folder counts as paused even when not on disk");
    }

    #[test]
    fn pending_files_are_redone_and_an_older_index_format_redoes_every_indexed_file() {
        let mut pending = indexed("/docs/p.md", 1, 1);
        pending.status = DocStatus::Pending;
        let existing = index(vec![pending, indexed("/docs/a.md", 1, 1)]);
        let walk = Walk { files: vec![disk("/docs/a.md", 1, 1), disk("/docs/p.md", 1, 1)], failures: vec![] };
        assert_eq!(queued(&plan(&walk, &existing, &present(), false)), vec!["/docs/p.md"]);
        let redo = plan(&walk, &existing, &present(), true);
        assert_eq!(queued(&redo), vec!["/docs/a.md", "/docs/p.md"]);
        assert!(redo.queue.iter().all(|q| q.indexed.is_none()), "no row may stand for a file that must be redone");
    }

    #[test]
    fn a_failure_is_recorded_once_and_again_when_its_reason_changes() {
        let failure = |error: &str| WalkFailure {
            path: "/docs/big.pdf".into(),
            folder: DOCS.into(),
            error: error.into(),
            size: 9,
            mtime_ns: 1,
            readers: None,
        };
        let mut recorded = indexed("/docs/big.pdf", 9, 1);
        recorded.status = DocStatus::Failed;
        recorded.error = Some("too large: 9 B".into());
        let existing = index(vec![recorded]);
        let same = plan(&Walk { files: vec![], failures: vec![failure("too large: 9 B")] }, &existing, &present(), false);
        assert_eq!((same.failures.len(), same.unchanged, same.removed.len()), (0, 1, 0));
        let other = plan(&Walk { files: vec![], failures: vec![failure("symlink loop")] }, &existing, &present(), false);
        assert_eq!(other.failures.len(), 1);
        assert_eq!(other.work(), 1);
    }
}
