//! The registered folders, kept in `folders.json` in the data dir.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::fsutil;

/// A folder the user asked to keep indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    /// Absolute, canonical path.
    pub path: PathBuf,
    /// When it was added, milliseconds since the Unix epoch.
    pub added_ms: i64,
    /// Paused by the user: neither walked nor watched, and its files stay in the index as they
    /// are (like a missing folder's) until it is resumed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Who may read its files, as set by an administrator (`brain folders add PATH --readers
    /// group:finance`): replaces what the file system says, for shares whose permissions do not
    /// name the company's people (every file owned by the indexing account). `None`: the file
    /// system's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readers: Option<Vec<String>>,
}

const FILE: &str = "folders.json";

pub(crate) fn load(data_dir: &Path) -> Result<Vec<Folder>> {
    let path = data_dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| EngineError::damaged(&path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(EngineError::io(path, e)),
    }
}

fn save(data_dir: &Path, folders: &[Folder]) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(folders).map_err(|e| EngineError::Internal(e.to_string()))?;
    fsutil::write_atomic(&data_dir.join(FILE), &bytes)
}

/// Register folders; returns the canonical paths newly added (already registered ones are
/// skipped). A folder inside a registered one, or containing one, is allowed: files are indexed
/// once, under the first folder that holds them.
pub(crate) fn add(data_dir: &Path, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut folders = load(data_dir)?;
    let mut added = Vec::new();
    for path in paths {
        let canonical = fsutil::canonical(path)?;
        if !canonical.is_dir() {
            return Err(EngineError::NotAFolder(canonical));
        }
        if folders.iter().any(|f| f.path == canonical) {
            continue;
        }
        folders.push(Folder { path: canonical.clone(), added_ms: fsutil::now_ms(), paused: false, readers: None });
        added.push(canonical);
    }
    save(data_dir, &folders)?;
    Ok(added)
}

/// Unregister a folder (its files leave the index at the next sync). The path may no longer
/// exist on disk.
pub(crate) fn remove(data_dir: &Path, path: &Path) -> Result<PathBuf> {
    let mut folders = load(data_dir)?;
    let wanted = fsutil::canonical(path).unwrap_or_else(|_| absolute(path));
    let before = folders.len();
    folders.retain(|f| f.path != wanted);
    if folders.len() == before {
        return Err(EngineError::FolderNotRegistered(wanted));
    }
    save(data_dir, &folders)?;
    Ok(wanted)
}

/// Pause or resume a registered folder; returns its canonical path.
pub(crate) fn set_paused(data_dir: &Path, path: &Path, paused: bool) -> Result<PathBuf> {
    change(data_dir, path, |folder| std::mem::replace(&mut folder.paused, paused) != paused)
}

/// Change the registered folder at `path` with `change` (which says whether it changed
/// anything: only then is the list written); returns its canonical path.
fn change(data_dir: &Path, path: &Path, change: impl FnOnce(&mut Folder) -> bool) -> Result<PathBuf> {
    let mut folders = load(data_dir)?;
    let wanted = fsutil::canonical(path).unwrap_or_else(|_| absolute(path));
    let folder = folders.iter_mut().find(|f| f.path == wanted).ok_or_else(|| EngineError::FolderNotRegistered(wanted.clone()))?;
    if change(folder) {
        save(data_dir, &folders)?;
    }
    Ok(wanted)
}

/// Set (or, with `None`, drop) a registered folder's readers policy; returns its canonical path.
/// Each token is `everyone`, `user:NAME`, `group:NAME`, `!user:NAME` or `!group:NAME`.
pub(crate) fn set_readers(data_dir: &Path, path: &Path, readers: Option<Vec<String>>) -> Result<PathBuf> {
    if let Some(tokens) = &readers {
        if tokens.is_empty() {
            return Err(EngineError::InvalidArgument("a readers policy names at least one reader".into()));
        }
        if let Some(bad) = tokens.iter().find(|t| !brain_access::is_reader_token(t)) {
            return Err(EngineError::InvalidArgument(format!(
                "{bad:?} is not a reader: use everyone, user:NAME, group:NAME, !user:NAME or !group:NAME"
            )));
        }
    }
    let readers = readers.map(|t| brain_access::Rule::from_tokens(&t).tokens());
    change(data_dir, path, |folder| std::mem::replace(&mut folder.readers, readers.clone()) != readers)
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_folder_list_is_a_damaged_file_not_a_bad_setting() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join(FILE), b"[{\"path\": ").unwrap();
        let error = load(data.path()).unwrap_err();
        assert_eq!(error.code(), crate::ErrorCode::DamagedFile);
        assert!(error.to_string().contains("folders.json is damaged"), "{error}");
    }

    #[test]
    fn add_list_remove() {
        let data = tempfile::tempdir().unwrap();
        let docs = tempfile::tempdir().unwrap();
        let added = add(data.path(), &[docs.path().to_path_buf(), docs.path().join(".")]).unwrap();
        assert_eq!(added.len(), 1, "the same folder twice is added once");
        assert_eq!(load(data.path()).unwrap()[0].path, docs.path().canonicalize().unwrap());
        assert!(matches!(add(data.path(), &[docs.path().join("missing")]), Err(EngineError::FolderNotFound(_))));
        remove(data.path(), docs.path()).unwrap();
        assert!(load(data.path()).unwrap().is_empty());
        assert!(matches!(remove(data.path(), docs.path()), Err(EngineError::FolderNotRegistered(_))));
    }

    #[test]
    fn pause_and_resume_persist_and_old_files_read_as_active() {
        let data = tempfile::tempdir().unwrap();
        let docs = tempfile::tempdir().unwrap();
        // A folders.json written before the flag existed: not paused.
        let canonical = docs.path().canonicalize().unwrap();
        let old = serde_json::json!([{ "path": canonical, "added_ms": 1 }]);
        std::fs::write(data.path().join(FILE), old.to_string()).unwrap();
        assert!(!load(data.path()).unwrap()[0].paused);
        set_paused(data.path(), docs.path(), true).unwrap();
        assert!(load(data.path()).unwrap()[0].paused);
        let text = std::fs::read_to_string(data.path().join(FILE)).unwrap();
        assert!(text.contains("\"paused\": true"), "{text}");
        set_paused(data.path(), docs.path(), false).unwrap();
        assert!(!load(data.path()).unwrap()[0].paused);
        assert!(!std::fs::read_to_string(data.path().join(FILE)).unwrap().contains("paused"), "an active folder is written as before");
        let other = tempfile::tempdir().unwrap();
        assert!(matches!(set_paused(data.path(), other.path(), true), Err(EngineError::FolderNotRegistered(_))));
    }

    #[test]
    fn a_readers_policy_is_checked_kept_sorted_and_dropped() {
        let data = tempfile::tempdir().unwrap();
        let docs = tempfile::tempdir().unwrap();
        add(data.path(), &[docs.path().to_path_buf()]).unwrap();
        let tokens = |t: &[&str]| Some(t.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        set_readers(data.path(), docs.path(), tokens(&["user:carol", "group:finance"])).unwrap();
        assert_eq!(load(data.path()).unwrap()[0].readers, tokens(&["group:finance", "user:carol"]));
        let bad = set_readers(data.path(), docs.path(), tokens(&["finance"])).unwrap_err();
        assert!(bad.to_string().contains("\"finance\" is not a reader"), "{bad}");
        assert!(set_readers(data.path(), docs.path(), tokens(&[])).is_err());
        set_readers(data.path(), docs.path(), None).unwrap();
        assert_eq!(load(data.path()).unwrap()[0].readers, None);
    }
}
