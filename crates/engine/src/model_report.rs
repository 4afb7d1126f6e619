//! Whether the model files in use are there, for a front end's first-run screen: one state per
//! model (the LLM, the embedder, the ONNX Runtime), for the defaults and for files the user chose.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Result;
use crate::models::{self, Availability, FileState, LlmChoice, ModelPaths};
use crate::settings::Settings;

/// One model as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ModelState {
    pub path: PathBuf,
    /// True when it is the pinned default in the models dir, false when the user chose it.
    pub default: bool,
    pub state: Availability,
}

/// The three models in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ModelReport {
    pub llm: ModelState,
    pub embedder: ModelState,
    pub onnxruntime: ModelState,
    /// Everything is "ok": indexing and answering can run.
    pub ready: bool,
    pub models_dir: PathBuf,
    /// The answer models to pick from by name.
    pub llms: Vec<LlmChoice>,
}

/// The worst state of the pinned files at or under `path`.
fn pinned_state(pinned: &[FileState], path: &Path) -> Option<Availability> {
    let mine: Vec<&FileState> = pinned.iter().filter(|f| f.path == path || f.path.starts_with(path)).collect();
    if mine.is_empty() {
        return None;
    }
    Some(if mine.iter().any(|f| f.state == Availability::Corrupt) {
        Availability::Corrupt
    } else if mine.iter().any(|f| f.state == Availability::Missing) {
        Availability::Missing
    } else {
        Availability::Ok
    })
}

/// Which model files are in use and whether they are present and intact. Hashes a default file
/// only the first time it is seen (the result is cached per size and mtime); loads no model.
pub(crate) fn report(models_dir: &Path, settings: &Settings, paths: &ModelPaths) -> Result<ModelReport> {
    let models_dir = models_dir.to_path_buf();
    let pinned = models::verify_all(&models_dir)?;
    let state_of = |path: &Path, chosen: bool, present: bool| ModelState {
        path: path.to_path_buf(),
        default: !chosen,
        state: match pinned_state(&pinned, path) {
            Some(s) if !chosen => s,
            _ if present => Availability::Ok,
            _ => Availability::Missing,
        },
    };
    // An ONNX model directory with its files, or one E5S1 file.
    let embedder_present =
        brain_embed::MODEL_FILES.iter().all(|f| paths.embedder.join(f).is_file()) || brain_embed::e5::is_e5_file(&paths.embedder);
    let llm = state_of(&paths.llm, settings.llm.is_some(), paths.llm.is_file());
    let embedder = state_of(&paths.embedder, settings.embedder.is_some(), embedder_present);
    let onnxruntime = state_of(&paths.onnxruntime, settings.onnxruntime.is_some(), paths.onnxruntime.is_file());
    let ready = [&llm, &embedder, &onnxruntime].iter().all(|m| m.state == Availability::Ok);
    let llms = models::catalog(&models_dir, &paths.llm);
    Ok(ModelReport { llm, embedder, onnxruntime, ready, models_dir, llms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, EngineOptions, Parsers, Settings};

    #[tokio::test]
    async fn empty_models_dir_is_missing_and_chosen_files_are_checked_for_presence() {
        let data = tempfile::tempdir().unwrap();
        let models = tempfile::tempdir().unwrap();
        let options = EngineOptions {
            data_dir: data.path().into(),
            models_dir: models.path().into(),
            parsers: Parsers::Threads,
            shared_index: None,
            replica: false,
        };
        let engine = Engine::open(options).unwrap();
        let report = engine.model_report().await.unwrap();
        assert!(!report.ready);
        assert_eq!((report.llm.state, report.llm.default), (Availability::Missing, true));
        assert_eq!(report.embedder.state, Availability::Missing);

        // A default file with the wrong bytes is corrupt, not ok.
        std::fs::write(models.path().join(&models::manifest().default_llm().file), b"not the pinned model").unwrap();
        assert_eq!(engine.model_report().await.unwrap().llm.state, Availability::Corrupt);

        // A GGUF the user chose is only checked for presence (its loader validates it).
        let chosen = models.path().join("mine.gguf");
        std::fs::write(&chosen, b"GGUF").unwrap();
        engine.update_settings(Settings { llm: Some(chosen.clone()), ..engine.settings() }).await.unwrap();
        let report = engine.model_report().await.unwrap();
        assert_eq!(report.llm, ModelState { path: chosen, default: false, state: Availability::Ok });
    }
}
