//! `status`: what is indexed, what failed and why, what is pending.

use std::collections::HashMap;

use brain_store::{DocStatus, DocumentRecord};
use serde::Serialize;

use crate::error::Result;
use crate::{Engine, sync};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct FileCounts {
    pub indexed: usize,
    pub failed: usize,
    /// Files on disk not yet (re)indexed, and indexed files no longer on disk: the work the
    /// next sync will do.
    pub pending: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct FolderStatus {
    pub path: String,
    /// False when the folder is registered but not on disk (unmounted, deleted).
    pub present: bool,
    /// Paused by the user: not synced or watched; its indexed files are kept.
    pub paused: bool,
    pub files: FileCounts,
    /// The files of this folder that could not be indexed, with the reason, sorted by path.
    pub failures: Vec<FailedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct FailedFile {
    pub path: String,
    pub error: String,
}

/// Whether the index keeps its invariants (see [`brain_store::integrity`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct IntegrityStatus {
    /// False when another process was writing the index: a write in progress is not a fault.
    pub checked: bool,
    pub ok: bool,
    /// What is broken, in words (empty when ok). The next sync, or `check --repair`, repairs it.
    pub violations: Vec<String>,
    /// The process writing the index, when it was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub writer: Option<String>,
}

/// What a person is told of the index through a team server: counts of what they may read,
/// nothing of the rest (not even how much more there is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ReadableStatus {
    /// Indexed documents they may read.
    pub documents: usize,
    /// Their passages.
    pub chunks: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Status {
    pub folders: Vec<FolderStatus>,
    pub files: FileCounts,
    pub chunks: usize,
    pub failures: Vec<FailedFile>,
    pub data_dir: String,
    /// The team's shared index this data dir reads (`s3://bucket/prefix`), if any.
    pub shared_index: Option<String>,
    pub integrity: IntegrityStatus,
    /// The embedding model in use is not the one the index was built with: searching by meaning
    /// and indexing need the index rebuilt.
    pub rebuild_needed: bool,
    /// Notes on indexed files worth a look: pages read by OCR with low confidence, encodings
    /// guessed, pages that could not be read.
    pub notes: Vec<FailedFile>,
    /// Whether scanned pages and images can be read, and in which languages.
    pub ocr: crate::ocr::OcrStatus,
    /// The tuned query adapter (`brain tune`): whether searches use it, and by how much it won
    /// on its held-out pairs; `null` when none was trained.
    pub adapter: Option<crate::tune::AdapterStatus>,
    /// The documents' languages (a sample of passages, told after each sync that changed the
    /// index) and whether the embedder in use reads them; `null` before the first sync.
    pub languages: Option<crate::languages::LanguagesStatus>,
}

/// Most violations listed by `status` (a full list: `check`).
const VIOLATIONS_SHOWN: usize = 20;

pub(crate) async fn run(engine: &Engine) -> Result<Status> {
    let folders = engine.folders()?;
    let mut integrity = IntegrityStatus { checked: true, ok: true, ..Default::default() };
    let (documents, chunks) = if engine.has_index().await? {
        let store = engine.store().await?;
        // Shared with other readers, exclusive of a writer: a write in progress would look like
        // a broken index.
        let reading = engine.lock_index_shared()?;
        let documents = store.documents().await?;
        let chunks = store.chunk_count().await?;
        match reading {
            Ok(_held) => {
                if store.interrupted_write().is_some() || !store.quick_check(&documents).await? {
                    let report = store.check(&brain_store::CheckScope::Everything).await?;
                    integrity.ok = report.is_ok();
                    integrity.violations = report.violations.iter().take(VIOLATIONS_SHOWN).map(ToString::to_string).collect();
                    if report.violations.len() > VIOLATIONS_SHOWN {
                        integrity.violations.push(format!("… and {} more", report.violations.len() - VIOLATIONS_SHOWN));
                    }
                }
            }
            Err(holder) => {
                integrity = IntegrityStatus { checked: false, ok: true, violations: Vec::new(), writer: holder.map(|h| h.to_string()) };
            }
        }
        (documents, chunks)
    } else {
        (Vec::new(), 0)
    };
    // Pending work: what a sync would do now (a metadata-only walk, no file is read). A replica
    // of a shared index indexes nothing: its documents are not "no longer in a folder".
    let replica = engine.shared_index().is_some() && folders.is_empty();
    let settings = engine.settings();
    let ocr_languages = settings.ocr_languages.clone();
    let mut pending_per_folder: HashMap<String, usize> = HashMap::new();
    if !replica {
        let states = sync::FolderStates::of(&folders, |p| p.is_dir());
        let (present, policies) = (states.present.clone(), states.reader_policies.clone());
        let walk = crate::blocking(move || sync::walk(&present, &policies, &settings)).await?;
        let by_path: HashMap<String, DocumentRecord> = documents.iter().map(|d| (d.path.clone(), d.clone())).collect();
        let plan = sync::plan(&walk, &by_path, &states, false);
        for q in &plan.queue {
            *pending_per_folder.entry(q.file.folder.display().to_string()).or_default() += 1;
        }
        for f in &plan.failures {
            *pending_per_folder.entry(f.folder.display().to_string()).or_default() += 1;
        }
        for p in &plan.removed {
            if let Some(d) = by_path.get(p) {
                *pending_per_folder.entry(d.folder.clone()).or_default() += 1;
            }
        }
    }
    let mut per_folder: HashMap<&str, FileCounts> = HashMap::new();
    let mut total = FileCounts::default();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for d in &documents {
        let counts = per_folder.entry(d.folder.as_str()).or_default();
        match d.status {
            DocStatus::Indexed => {
                counts.indexed += 1;
                total.indexed += 1;
                if let Some(note) = &d.error {
                    notes.push(FailedFile { path: d.path.clone(), error: note.clone() });
                }
            }
            DocStatus::Failed => {
                counts.failed += 1;
                total.failed += 1;
                failures.push(FailedFile { path: d.path.clone(), error: d.error.clone().unwrap_or_default() });
            }
            DocStatus::Pending => {}
        }
    }
    for (folder, n) in &pending_per_folder {
        per_folder.entry(folder.as_str()).or_default().pending += n;
        total.pending += n;
    }
    failures.sort_by(|a, b| a.path.cmp(&b.path));
    let folder_of: HashMap<&str, &str> = documents.iter().map(|d| (d.path.as_str(), d.folder.as_str())).collect();
    let folders = folders
        .iter()
        .map(|f| {
            let path = f.path.display().to_string();
            let failures = failures.iter().filter(|x| folder_of.get(x.path.as_str()) == Some(&path.as_str())).cloned().collect();
            FolderStatus {
                files: per_folder.get(path.as_str()).cloned().unwrap_or_default(),
                present: f.path.is_dir(),
                paused: f.paused,
                path,
                failures,
            }
        })
        .collect();
    let rebuild_needed = engine.meta().await?.and_then(|m| m.embedder_path).is_some_and(|built| built != engine.model_paths().embedder);
    notes.sort_by(|a, b| a.path.cmp(&b.path));
    let ocr = crate::ocr::status(&ocr_languages);
    // A damaged adapter file is not the index's health: searches go on without it.
    let adapter = engine.adapter_status().unwrap_or_else(|e| {
        tracing::warn!("{e}");
        None
    });
    Ok(Status {
        folders,
        files: total,
        chunks,
        failures,
        data_dir: engine.data_dir().display().to_string(),
        shared_index: engine.shared_index().map(str::to_string),
        integrity,
        rebuild_needed,
        notes,
        ocr,
        adapter,
        languages: engine.languages_status(),
    })
}
