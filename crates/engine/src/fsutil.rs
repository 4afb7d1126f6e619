//! Small filesystem helpers the engine needs in several places.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{EngineError, Result};

/// Remove a file or a folder with everything in it; one that is not there is fine.
pub(crate) fn remove(path: &Path) -> Result<()> {
    let removed = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match removed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EngineError::io(path, e)),
    }
}

/// Write a file so that readers see the old or the new content, never a torn one: write a
/// sibling temporary file, flush it, rename it over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| EngineError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| EngineError::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| EngineError::io(path, e))?;
    tmp.persist(path).map_err(|e| EngineError::io(path, e.error))?;
    Ok(())
}

/// Make a path absolute and clean (no `.`/`..`, symlinks resolved) so the same folder always
/// has the same name in the index.
pub(crate) fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::FolderNotFound(path.to_path_buf()),
        _ => EngineError::io(path, e),
    })
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i64)
}

/// Whether files can be created in `dir` (made if missing): a probe file is written and removed.
pub(crate) fn is_writable_dir(dir: &Path) -> bool {
    std::fs::create_dir_all(dir).is_ok() && tempfile::NamedTempFile::new_in(dir).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_writable_when_a_file_can_be_made_in_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(is_writable_dir(&dir.path().join("models/new")), "made when missing");
        assert_eq!(std::fs::read_dir(dir.path().join("models/new")).unwrap().count(), 0, "the probe is removed");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert!(!is_writable_dir(&file), "a file is not a folder");
    }
}
