//! Whether the pinned files are intact: each is checked against its sha256 in the manifest, with
//! the result remembered per (size, mtime) so that a normal start does not hash a gigabyte.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Availability;
use super::manifest::{ManifestFile, manifest};
use crate::error::{EngineError, Result};
use crate::fsutil;

pub(super) fn availability(cache: &mut VerifiedCache, path: &Path, sha256: &str) -> Availability {
    match cache.check(path, sha256) {
        Ok(()) => Availability::Ok,
        Err(EngineError::CorruptModel { .. }) => Availability::Corrupt,
        Err(_) => Availability::Missing,
    }
}

/// One pinned file and how it stands on disk.
#[derive(Debug, Clone, Serialize)]
pub struct FileState {
    pub path: PathBuf,
    pub package: String,
    pub state: Availability,
}

/// Check the pinned files `brain models fetch` installs by default (the embedder, ONNX Runtime,
/// the default answer model), hashing only files not verified before.
pub fn verify_all(models_dir: &Path) -> Result<Vec<FileState>> {
    let manifest = manifest();
    let mut cache = VerifiedCache::load(models_dir);
    let mut out = Vec::new();
    for package in &manifest.package {
        for file in &package.file {
            let path = models_dir.join(&file.dest);
            let state = availability(&mut cache, &path, &file.sha256);
            out.push(FileState { path, package: format!("{}=={}", package.name, package.version), state });
        }
    }
    let llm = manifest.default_llm();
    let path = models_dir.join(&llm.file);
    let state = availability(&mut cache, &path, &llm.sha256);
    out.push(FileState { path, package: format!("{} ({} part(s))", llm.name, llm.part.len()), state });
    cache.save(models_dir);
    Ok(out)
}

/// Before loading a default model file, make sure it is the pinned one. Files the user pointed
/// at elsewhere are not in the manifest and are not checked here (their loaders validate them).
pub(crate) fn verify_if_pinned(models_dir: &Path, path: &Path) -> Result<()> {
    let Ok(relative) = path.strip_prefix(models_dir) else { return Ok(()) };
    let manifest = manifest();
    let llms: Vec<ManifestFile> = manifest
        .llm
        .iter()
        .chain(&manifest.embedder)
        .map(|m| ManifestFile { member: String::new(), inner: None, dest: m.file.clone(), sha256: m.sha256.clone() })
        .collect();
    let pinned: Vec<&ManifestFile> = manifest
        .package
        .iter()
        .flat_map(|p| &p.file)
        .chain(&llms)
        .filter(|f| Path::new(&f.dest) == relative || Path::new(&f.dest).starts_with(relative))
        .collect();
    if pinned.is_empty() {
        return Ok(());
    }
    let mut cache = VerifiedCache::load(models_dir);
    let mut result = Ok(());
    for file in pinned {
        let full = models_dir.join(&file.dest);
        if !full.exists() {
            continue; // the loader reports missing files with their own hint
        }
        if let Err(e) = cache.check(&full, &file.sha256) {
            result = Err(e);
            break;
        }
    }
    cache.save(models_dir);
    result
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Remembers which files were hashed and found right, keyed by (size, mtime).
pub(super) struct VerifiedCache {
    entries: HashMap<String, (u64, i64, String)>,
    dirty: bool,
}

const VERIFIED_FILE: &str = ".verified.json";

impl VerifiedCache {
    pub(super) fn load(models_dir: &Path) -> Self {
        let entries = std::fs::read(models_dir.join(VERIFIED_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        VerifiedCache { entries, dirty: false }
    }

    pub(super) fn check(&mut self, path: &Path, expected: &str) -> Result<()> {
        let meta = std::fs::metadata(path).map_err(|e| EngineError::io(path, e))?;
        let key = path.to_string_lossy().to_string();
        let stamp = (meta.len(), fsutil::mtime_ns(&meta));
        if let Some((size, mtime, sha)) = self.entries.get(&key)
            && (*size, *mtime) == stamp
            && sha == expected
        {
            return Ok(());
        }
        let found = sha256_file(path).map_err(|e| EngineError::io(path, e))?;
        if found != expected {
            self.entries.remove(&key);
            self.dirty = true;
            return Err(EngineError::CorruptModel { path: path.to_path_buf(), found, expected: expected.to_string() });
        }
        self.entries.insert(key, (stamp.0, stamp.1, found));
        self.dirty = true;
        Ok(())
    }

    pub(super) fn save(&self, models_dir: &Path) {
        if self.dirty
            && let Ok(bytes) = serde_json::to_vec_pretty(&self.entries)
        {
            // Only a cache: failing to write it costs a re-hash next time, nothing more.
            let _ = fsutil::write_atomic(&models_dir.join(VERIFIED_FILE), &bytes);
        }
    }
}
