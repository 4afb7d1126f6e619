use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything the engine can fail with. Front ends show `to_string()` to people (it says what
/// is wrong, never which command of a front end fixes it) and branch on [`EngineError::code`].
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
    #[error("folder is not registered: {0}")]
    FolderNotRegistered(PathBuf),
    #[error("no folders registered yet")]
    NoFolders,
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// A file the engine keeps in the data dir (the folder list, the index's description, a
    /// conversation) cannot be read as what it should hold.
    #[error("{path} is damaged: {message}")]
    DamagedFile { path: PathBuf, message: String },
    #[error("invalid setting: {0}")]
    Settings(String),
    #[error("the index was built with embedder {built_with}, but the current embedder is {current}: the index must be rebuilt")]
    EmbedderChanged { built_with: String, current: String },
    #[error("model fetch failed: {0}")]
    Fetch(String),
    #[error("model file {path} is corrupt (sha256 {found}, expected {expected})")]
    CorruptModel { path: PathBuf, found: String, expected: String },
    #[error("invalid dataset: {0}")]
    Dataset(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("{0} is not inside a registered folder; only indexed folders' files are opened")]
    NotOpenable(PathBuf),
    /// A file that cannot be shown in the viewer (its page cannot be drawn, it cannot be parsed).
    #[error("{path} cannot be shown: {reason}")]
    NotViewable { path: PathBuf, reason: String },
    #[error("conversation not found: {0}")]
    ConversationNotFound(String),
    /// Asked for something only another person (root, the index's owner) may ask for.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// A person the system does not know.
    #[error("{0}")]
    Access(#[from] brain_access::AccessError),
    /// What a team's shared index in object storage cannot do.
    #[error("shared index: {0}")]
    SharedIndex(String),
    #[error("cancelled")]
    Cancelled,
    #[error("internal error: {0}")]
    Internal(String),
}

/// What went wrong, for a front end to branch on: stable across versions, `snake_case` in JSON
/// and across the app's IPC (`"model_missing"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ModelMissing,
    RuntimeMissing,
    ModelCorrupt,
    Embedder,
    Llm,
    Store,
    FolderNotFound,
    FolderNotRegistered,
    NoFolders,
    Io,
    /// A file of the engine's own in the data dir is damaged (not a setting the user wrote).
    DamagedFile,
    Settings,
    EmbedderChanged,
    Fetch,
    Dataset,
    InvalidArgument,
    NotOpenable,
    /// The system could not open a file (the app's opener).
    OpenFailed,
    NotViewable,
    ConversationNotFound,
    Forbidden,
    UnknownUser,
    /// The shared index in object storage: its address or settings, the store unreachable or
    /// refusing, or something it cannot do.
    SharedIndex,
    Cancelled,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ModelMissing => "model_missing",
            ErrorCode::RuntimeMissing => "runtime_missing",
            ErrorCode::ModelCorrupt => "model_corrupt",
            ErrorCode::Embedder => "embedder",
            ErrorCode::Llm => "llm",
            ErrorCode::Store => "store",
            ErrorCode::FolderNotFound => "folder_not_found",
            ErrorCode::FolderNotRegistered => "folder_not_registered",
            ErrorCode::NoFolders => "no_folders",
            ErrorCode::Io => "io",
            ErrorCode::DamagedFile => "damaged_file",
            ErrorCode::Settings => "settings",
            ErrorCode::EmbedderChanged => "embedder_changed",
            ErrorCode::Fetch => "fetch",
            ErrorCode::Dataset => "dataset",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::NotOpenable => "not_openable",
            ErrorCode::OpenFailed => "open_failed",
            ErrorCode::NotViewable => "not_viewable",
            ErrorCode::ConversationNotFound => "conversation_not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::UnknownUser => "unknown_user",
            ErrorCode::SharedIndex => "shared_index",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EngineError {
    /// The stable code of this error (the `code` of `{code, message}` across IPC and JSON).
    pub fn code(&self) -> ErrorCode {
        use brain_embed::EmbedError as E;
        use brain_llm::LlmError as L;
        match self {
            EngineError::Embed(E::MissingFile { .. }) | EngineError::Llm(L::MissingModel(_)) => ErrorCode::ModelMissing,
            EngineError::Embed(E::Runtime { .. }) => ErrorCode::RuntimeMissing,
            EngineError::Llm(L::NotGguf(_)) | EngineError::CorruptModel { .. } => ErrorCode::ModelCorrupt,
            EngineError::Embed(_) => ErrorCode::Embedder,
            EngineError::Llm(_) => ErrorCode::Llm,
            EngineError::Store(brain_store::StoreError::Cancelled) | EngineError::Cancelled => ErrorCode::Cancelled,
            EngineError::Store(brain_store::StoreError::DimensionMismatch { .. }) => ErrorCode::EmbedderChanged,
            EngineError::Store(brain_store::StoreError::Io { .. }) => ErrorCode::Io,
            EngineError::Store(
                brain_store::StoreError::Bucket { .. }
                | brain_store::StoreError::BucketConfig { .. }
                | brain_store::StoreError::ReadOnlyCopy,
            )
            | EngineError::SharedIndex(_) => ErrorCode::SharedIndex,
            EngineError::Store(_) => ErrorCode::Store,
            EngineError::FolderNotFound(_) | EngineError::NotAFolder(_) => ErrorCode::FolderNotFound,
            EngineError::FolderNotRegistered(_) => ErrorCode::FolderNotRegistered,
            EngineError::NoFolders => ErrorCode::NoFolders,
            EngineError::Io { .. } => ErrorCode::Io,
            EngineError::DamagedFile { .. } => ErrorCode::DamagedFile,
            EngineError::Settings(_) => ErrorCode::Settings,
            EngineError::EmbedderChanged { .. } => ErrorCode::EmbedderChanged,
            EngineError::Fetch(_) => ErrorCode::Fetch,
            EngineError::Dataset(_) => ErrorCode::Dataset,
            EngineError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            EngineError::NotOpenable(_) => ErrorCode::NotOpenable,
            EngineError::NotViewable { .. } => ErrorCode::NotViewable,
            EngineError::ConversationNotFound(_) => ErrorCode::ConversationNotFound,
            EngineError::Forbidden(_) => ErrorCode::Forbidden,
            EngineError::Access(brain_access::AccessError::UnknownUser(_)) => ErrorCode::UnknownUser,
            EngineError::Access(_) => ErrorCode::Io,
            EngineError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        EngineError::Io { path: path.into(), message: e.to_string() }
    }

    /// `path`, one of the engine's own files, does not parse.
    pub(crate) fn damaged(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        EngineError::DamagedFile { path: path.into(), message: e.to_string() }
    }
}

/// The `{code, message}` form errors take in JSON and across the desktop app's IPC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ts_rs::TS)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
}

impl From<&EngineError> for ErrorPayload {
    fn from(e: &EngineError) -> Self {
        ErrorPayload { code: e.code(), message: e.to_string() }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
