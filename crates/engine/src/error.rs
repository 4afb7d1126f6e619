use std::path::PathBuf;

/// Everything the engine can fail with. Front ends show `to_string()` to people and branch on
/// [`EngineError::code`], never on the text.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Embed(#[from] brain_embed::EmbedError),
    #[error(transparent)]
    Llm(#[from] brain_llm::LlmError),
    #[error(transparent)]
    Store(#[from] brain_store::StoreError),
    #[error("folder not found: {0}")]
    FolderNotFound(PathBuf),
    #[error("not a folder: {0}")]
    NotAFolder(PathBuf),
    #[error("folder is not registered: {0} (see `brain folders list`)")]
    FolderNotRegistered(PathBuf),
    #[error("no folders registered yet: add one with `brain folders add PATH`")]
    NoFolders,
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("invalid setting: {0}")]
    Settings(String),
    #[error("the index was built with embedder {built_with}, but the current embedder is {current}; rebuild it with `brain index --rebuild`")]
    EmbedderChanged { built_with: String, current: String },
    #[error("model fetch failed: {0}")]
    Fetch(String),
    #[error("model file {path} is corrupt (sha256 {found}, expected {expected}); run `brain models fetch` to restore it")]
    CorruptModel { path: PathBuf, found: String, expected: String },
    #[error("invalid dataset: {0}")]
    Dataset(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("{0} is not inside a registered folder; only indexed folders' files are opened")]
    NotOpenable(PathBuf),
    #[error("conversation not found: {0}")]
    ConversationNotFound(String),
    #[error("cancelled")]
    Cancelled,
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// A stable, machine-readable code (the `code` of `{code, message}` across IPC and JSON).
    pub fn code(&self) -> &'static str {
        use brain_embed::EmbedError as E;
        use brain_llm::LlmError as L;
        match self {
            EngineError::Embed(E::MissingFile { .. }) | EngineError::Llm(L::MissingModel(_)) => "model_missing",
            EngineError::Embed(E::Runtime { .. }) => "runtime_missing",
            EngineError::Llm(L::NotGguf(_)) | EngineError::CorruptModel { .. } => "model_corrupt",
            EngineError::Embed(_) => "embedder",
            EngineError::Llm(_) => "llm",
            EngineError::Store(_) => "store",
            EngineError::FolderNotFound(_) | EngineError::NotAFolder(_) => "folder_not_found",
            EngineError::FolderNotRegistered(_) => "folder_not_registered",
            EngineError::NoFolders => "no_folders",
            EngineError::Io { .. } => "io",
            EngineError::Settings(_) => "settings",
            EngineError::EmbedderChanged { .. } => "embedder_changed",
            EngineError::Fetch(_) => "fetch",
            EngineError::Dataset(_) => "dataset",
            EngineError::InvalidArgument(_) => "invalid_argument",
            EngineError::NotOpenable(_) => "not_openable",
            EngineError::ConversationNotFound(_) => "conversation_not_found",
            EngineError::Cancelled => "cancelled",
            EngineError::Internal(_) => "internal",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        EngineError::Io { path: path.into(), message: e.to_string() }
    }
}

/// The `{code, message}` form errors take in JSON and across the desktop app's IPC.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorPayload {
    pub code: String,
    pub message: String,
}

impl From<&EngineError> for ErrorPayload {
    fn from(e: &EngineError) -> Self {
        ErrorPayload { code: e.code().to_string(), message: e.to_string() }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
