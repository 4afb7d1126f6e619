//! Which paths a front end may open or reveal on the user's behalf: only what lies inside a
//! registered folder. A path arrives from a web view that also shows untrusted text (documents,
//! model output), so it is checked here, after resolving `..` and symlinks, not trusted.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::folders::Folder;

/// `path`, canonicalised, if it is a file or folder inside (or equal to) one of `folders` (paused
/// ones included). Anything else, a relative path, a missing file, or a symlink that leads out
/// of the folders, is refused with [`EngineError::NotOpenable`] (`not_openable`).
pub(crate) fn resolve(folders: &[Folder], path: &Path) -> Result<PathBuf> {
    let refused = || EngineError::NotOpenable(path.to_path_buf());
    if !path.is_absolute() {
        return Err(refused());
    }
    let canonical = std::fs::canonicalize(path).map_err(|_| refused())?;
    let meta = std::fs::metadata(&canonical).map_err(|_| refused())?;
    if !(meta.is_file() || meta.is_dir()) {
        return Err(refused());
    }
    let inside = folders.iter().any(|f| {
        // Registered paths are canonical when added; a folder renamed since is compared by
        // its current canonical name too.
        let root = std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone());
        canonical.starts_with(&root)
    });
    if inside { Ok(canonical) } else { Err(refused()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, EngineOptions, Parsers};

    #[test]
    fn only_paths_inside_registered_folders_are_openable() {
        let data = tempfile::tempdir().unwrap();
        let docs = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = docs.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.md"), "# A").unwrap();
        std::fs::write(outside.path().join("secret.txt"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("link.txt")).unwrap();
        // A sibling whose name starts with the folder's name is not inside it.
        let sibling = PathBuf::from(format!("{}-evil", root.display()));
        std::fs::create_dir(&sibling).unwrap();
        std::fs::write(sibling.join("x.md"), "x").unwrap();

        let engine = Engine::open(EngineOptions {
            data_dir: data.path().into(),
            models_dir: data.path().join("models"),
            parsers: Parsers::Threads,
            shared_index: None,
            replica: false,
        })
        .unwrap();
        engine.add_folders(std::slice::from_ref(&root)).unwrap();

        assert_eq!(engine.resolve_openable(&root.join("sub/a.md")).unwrap(), root.join("sub/a.md"));
        assert_eq!(engine.resolve_openable(&root.join("sub/../sub/a.md")).unwrap(), root.join("sub/a.md"));
        assert_eq!(engine.resolve_openable(&root).unwrap(), root);
        for refused in [
            outside.path().join("secret.txt"),
            root.join("link.txt"),
            root.join("sub/../../").join(outside.path().file_name().unwrap()).join("secret.txt"),
            root.join("missing.md"),
            sibling.join("x.md"),
            PathBuf::from("sub/a.md"),
            PathBuf::from("/etc/passwd"),
        ] {
            let err = engine.resolve_openable(&refused).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::NotOpenable, "{}", refused.display());
        }
        // Paused folders stay openable; removed ones do not.
        engine.pause_folder(&root).unwrap();
        assert!(engine.resolve_openable(&root.join("sub/a.md")).is_ok());
        engine.remove_folder(&root).unwrap();
        assert_eq!(engine.resolve_openable(&root.join("sub/a.md")).unwrap_err().code(), crate::ErrorCode::NotOpenable);
        let _ = std::fs::remove_dir_all(&sibling);
    }
}
