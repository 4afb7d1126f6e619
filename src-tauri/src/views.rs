//! The app's own screen types (where its data lives); the engine's results as the window shows
//! them are `brain-views`', shared with the served web UI.

use std::path::PathBuf;

pub use brain_views::*;
use serde::Serialize;
use ts_rs::TS;

use crate::AppState;

/// Where the app's data lives, and whether the environment chose it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: PathBuf,
    pub models_dir: PathBuf,
    pub data_dir_from_env: bool,
    pub models_dir_from_env: bool,
}

impl AppInfo {
    pub fn new(state: &AppState) -> Self {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: state.engine.data_dir().to_path_buf(),
            models_dir: state.engine.options().models_dir.clone(),
            data_dir_from_env: state.data_dir_from_env,
            models_dir_from_env: state.models_dir_from_env,
        }
    }
}
