//! Typed events the engine publishes while it indexes. The CLI turns them into a progress bar,
//! the desktop app forwards them to its window; the engine never knows who listens. (An answer's
//! events, [`AnswerEvent`](crate::AnswerEvent), stream from `answer`, beside the answer itself.)

use serde::Serialize;

/// What happened during a sync. Serialised with an `event` tag, e.g.
/// `{"event":"file_failed","path":"/docs/a.pdf","error":"encrypted PDF: ..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum IndexEvent {
    /// A sync began over this many registered folders.
    SyncStarted { folders: usize },
    /// Another process is writing the index (`holder`: which, when known); this sync waits.
    WaitingForIndex { holder: Option<String> },
    /// What a crash or an earlier writer left broken was repaired, without re-embedding; the
    /// files it concerned are redone by this sync.
    IndexRepaired { violations: usize, duplicate_documents_removed: usize, duplicate_chunks_removed: usize, documents_to_redo: usize },
    /// A registered folder is not on disk (unmounted?); its files are kept, not removed.
    FolderMissing { path: String },
    /// The folders were walked and compared with the index.
    Scanned { files: usize, queued: usize, removed: usize },
    /// A file is new or changed and waits to be indexed.
    FileQueued { path: String },
    /// A file is being read, parsed and embedded.
    FileIndexing { path: String },
    /// OCR read page `done` of the `pages` a file needs read (a long scan advances visibly).
    OcrPage { path: String, done: usize, pages: usize },
    /// A file is searchable.
    FileIndexed { path: String, chunks: usize },
    /// A file could not be indexed; `error` says why. The sync goes on.
    FileFailed { path: String, error: String },
    /// A file left the index (deleted, ignored, or its folder was removed).
    FileRemoved { path: String },
    /// Much of the documents, or of the questions asked, is in languages the embedder in use
    /// cannot read: the multilingual `embedder` was chosen for them (`languages`: their
    /// shares). `built_again`: the index is built again with it, beside the old one, which
    /// answers until the new one is complete; false: chosen before the first index was
    /// embedded, which is built with it. `for_questions`: chosen for the questions asked, not
    /// the documents (which are English); `languages` are then the questions'.
    EmbedderChosen { embedder: String, languages: Vec<crate::languages::LanguageShare>, built_again: bool, for_questions: bool },
    /// Files done out of files queued in this sync.
    Progress { done: usize, total: usize },
    /// The sync finished; the index matches the folders.
    Idle(SyncSummary),
    /// A sync could not run (the watcher keeps going and retries at the next change).
    SyncFailed { code: crate::ErrorCode, error: String },
}

/// The outcome of one sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SyncSummary {
    /// Files in the registered folders.
    pub files: usize,
    /// Files (re)indexed in this sync.
    pub indexed: usize,
    /// Files that failed in this sync.
    pub failed: usize,
    /// Files removed from the index in this sync.
    pub removed: usize,
    /// Files already up to date.
    pub unchanged: usize,
    /// Chunks written in this sync.
    pub chunks: usize,
    /// Of those, chunks that had to be embedded (the others reused a stored vector of the same
    /// text: unchanged parts of an edited file, a renamed file, work saved before a crash).
    pub embedded: usize,
    /// Pages read by OCR in this sync (cached pages not counted), and the time OCR took.
    pub ocr_pages: usize,
    pub ocr_ms: u64,
    /// Files whose content was unchanged but whose readers changed (`chmod`, `chown`,
    /// `setfacl`): rewritten without parsing or embedding.
    #[serde(default)]
    pub readers_changed: usize,
    /// Where the indexing time went, as the embedder (the stage that bounds it) saw it.
    pub stages: StageTimes,
    pub elapsed_ms: u64,
}

/// Wall time of the indexing pipeline, milliseconds: the embedder waiting for parsed files,
/// embedding (vector reuse lookups included), and waiting for a write to commit; then updating
/// the search indexes. Whatever `elapsed_ms` has beyond their sum was spent scanning the folders
/// and planning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct StageTimes {
    pub parse_wait_ms: u64,
    pub embed_ms: u64,
    pub write_wait_ms: u64,
    pub maintain_ms: u64,
}
