//! Stage 1 of a sync, the walk: the files of the folders, by metadata only (size, mtime, and
//! who may read them: owner, group, mode, POSIX ACL and the folders above, by `brain-access`),
//! and what cannot be indexed found on the way (symlink loops, broken links, files over the size
//! limit). Honours `.gitignore`/`.ignore` and the user's exclude patterns; hidden entries and
//! files that are never documents are skipped silently.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::fsutil;
use crate::settings::Settings;

/// A file found on disk.
#[derive(Debug, Clone)]
pub(crate) struct DiskFile {
    pub path: PathBuf,
    pub folder: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    /// Who may read it (reader tokens); `None` where its permissions could not be read: no
    /// person's search finds it.
    pub readers: Option<Vec<String>>,
}

/// Something in a folder that cannot be indexed, found while walking.
#[derive(Debug, Clone)]
pub(crate) struct WalkFailure {
    pub path: PathBuf,
    pub folder: PathBuf,
    pub error: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// Who may read it: even a failure's name is shown only to them.
    pub readers: Option<Vec<String>>,
}

#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub files: Vec<DiskFile>,
    pub failures: Vec<WalkFailure>,
}

/// Files that are never documents (audio, video, archives, programs, …; see brain-parse's
/// format table): skipped silently, like ignored files, rather than reported as failures by the
/// hundred in a folder of music. (PNG, JPEG, TIFF, WebP and BMP are documents: scans and photos
/// of text, read by OCR.)
fn is_not_a_document(path: &Path) -> bool {
    brain_parse::is_never_a_document(path)
}

/// Walk the folders honouring .gitignore/.ignore, skipping hidden entries, following symlinks
/// (loops are reported, not followed forever). A folder in `reader_policies` gives its files
/// those readers; the others' are read from the file system.
pub(crate) fn walk(folders: &[PathBuf], reader_policies: &HashMap<PathBuf, Vec<String>>, settings: &Settings) -> Walk {
    let mut out = Walk::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut readers_of = brain_access::ReadersOf::new();
    for folder in folders {
        let policy = reader_policies.get(folder);
        let mut readers = |path: &Path| match policy {
            Some(tokens) => Some(tokens.clone()),
            None => match readers_of.readers(path) {
                Ok(tokens) => Some(tokens),
                Err(e) => {
                    // A broken link among the failures is the usual case: not worth a warning each sync.
                    tracing::debug!(path = %path.display(), error = %e, "cannot read who may read this file; it is shown to no one but the index's owner");
                    None
                }
            },
        };
        let mut builder = ignore::WalkBuilder::new(folder);
        builder
            .hidden(true)
            .ignore(true)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .parents(false)
            .follow_links(true);
        if !settings.exclude.is_empty() {
            let mut overrides = ignore::overrides::OverrideBuilder::new(folder);
            for pattern in &settings.exclude {
                // In an override, "!pattern" means "ignore what matches".
                if overrides.add(&format!("!{pattern}")).is_err() {
                    tracing::warn!(pattern, "ignoring an invalid exclude pattern");
                }
            }
            if let Ok(o) = overrides.build() {
                builder.overrides(o);
            }
        }
        for entry in builder.build() {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    if let Some(mut f) = walk_failure(folder, &err)
                        && seen.insert(f.path.clone())
                    {
                        f.readers = readers(&f.path);
                        out.failures.push(f);
                    }
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path().to_path_buf();
            if is_not_a_document(&path) || !seen.insert(path.clone()) {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    out.failures.push(WalkFailure {
                        readers: readers(&path),
                        path,
                        folder: folder.clone(),
                        error: format!("cannot read: {e}"),
                        size: 0,
                        mtime_ns: 0,
                    });
                    continue;
                }
            };
            let (size, mtime_ns) = (meta.len(), fsutil::mtime_ns(&meta));
            if size > settings.max_file_size {
                out.failures.push(WalkFailure {
                    readers: readers(&path),
                    path,
                    folder: folder.clone(),
                    error: format!(
                        "too large: {} (the limit is {}; raise max_file_size to index it)",
                        human_bytes(size),
                        human_bytes(settings.max_file_size)
                    ),
                    size,
                    mtime_ns,
                });
                continue;
            }
            out.files.push(DiskFile { readers: readers(&path), path, folder: folder.clone(), size, mtime_ns });
        }
    }
    out
}

fn walk_failure(folder: &Path, err: &ignore::Error) -> Option<WalkFailure> {
    fn inner(err: &ignore::Error, path: Option<&Path>) -> Option<(PathBuf, String)> {
        match err {
            ignore::Error::WithPath { path, err } => inner(err, Some(path)),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => inner(err, path),
            ignore::Error::Loop { ancestor, child } => {
                Some((child.clone(), format!("symlink loop: it leads back to {}", ancestor.display())))
            }
            ignore::Error::Io(e) => {
                let p = path?.to_path_buf();
                let reason = if e.kind() == std::io::ErrorKind::NotFound && p.is_symlink() {
                    "broken symlink: its target does not exist".to_string()
                } else {
                    format!("cannot read: {e}")
                };
                Some((p, reason))
            }
            // .gitignore syntax errors and the like: not about a document.
            _ => None,
        }
    }
    let (path, error) = inner(err, None)?;
    Some(WalkFailure { path, folder: folder.to_path_buf(), error, size: 0, mtime_ns: 0, readers: None })
}

pub(crate) fn human_bytes(n: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if n as f64 >= MB { format!("{:.1} MB", n as f64 / MB) } else { format!("{:.1} KB", n as f64 / 1024.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_reports_loops_large_files_and_skips_hidden_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("a.md"), "# A\nalpha").unwrap();
        std::fs::write(root.join(".hidden.md"), "secret").unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join("ignored.txt"), "nope").unwrap();
        std::fs::write(root.join("song.mp3"), [0u8; 10]).unwrap();
        std::fs::write(root.join("big.txt"), vec![b'x'; 2048]).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("missing"), root.join("dangling.md")).unwrap();
        let settings = Settings { max_file_size: 1024, ..Settings::default() };
        let walk = walk(std::slice::from_ref(&root), &HashMap::new(), &settings);
        let files: Vec<String> = walk.files.iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(files, vec!["a.md"]);
        let mut failures: Vec<(String, String)> =
            walk.failures.iter().map(|f| (f.path.strip_prefix(&root).unwrap().display().to_string(), f.error.clone())).collect();
        failures.sort();
        assert_eq!(failures.len(), 3, "{failures:?}");
        assert!(failures[0].0 == "big.txt" && failures[0].1.starts_with("too large: 2.0 KB"), "{failures:?}");
        assert!(failures[1].0 == "dangling.md" && failures[1].1.starts_with("broken symlink"), "{failures:?}");
        assert!(failures[2].0 == "sub/loop" && failures[2].1.starts_with("symlink loop"), "{failures:?}");
        assert!(walk.files[0].readers.is_some(), "read from the file system");

        // A folder with a readers policy: its files and failures get the policy's readers.
        let policy = vec!["group:finance".to_string()];
        let by_policy = super::walk(std::slice::from_ref(&root), &HashMap::from([(root.clone(), policy.clone())]), &settings);
        assert_eq!(by_policy.files[0].readers.as_ref(), Some(&policy));
        assert!(by_policy.failures.iter().all(|f| f.readers.as_ref() == Some(&policy)));
    }
}
