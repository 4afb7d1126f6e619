//! corporate-brain's desktop app: a thin Tauri shell over `brain-engine`, the same engine the
//! `brain` CLI uses. Everything the app does is an engine call; this crate only
//! - turns engine calls into Tauri commands (errors cross the IPC as `{code, message}`),
//! - forwards the engine's [`IndexEvent`](brain_engine::IndexEvent)s to the window and streams answers through a channel,
//! - runs the engine's watcher (which reconciles on start) while the app is open,
//! - sends the engine's results as `brain-views` screen types (untrusted Markdown already rendered
//!   to safe HTML), the same ones `brain serve` sends the web UI,
//! - opens files, after the engine has checked they lie inside a registered folder.

pub mod commands;
pub mod events;
mod opener;
pub mod views;

#[cfg(test)]
mod bindings;
#[cfg(test)]
mod command_lists;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use brain_engine::{Engine, EngineOptions, ErrorPayload, Parsers};
pub use events::{INDEX_EVENT, PATHS_DROPPED, WATCH_FAILED};
use tauri::webview::NewWindowResponse;
use tauri::{Manager, Runtime, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

/// The window's label (capabilities name it).
pub const MAIN_WINDOW: &str = "main";

/// Expands the list in `command_names.rs`: the names of the app's commands, and their handler.
macro_rules! app_commands {
    ($($command:ident),* $(,)?) => {
        /// The names of the app's commands, as the window invokes them.
        pub const COMMANDS: &[&str] = &[$(stringify!($command)),*];

        fn invoke_handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$command),*]
        }
    };
}
include!("command_names.rs");

/// What the commands share.
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Whether the data and models dirs came from BRAIN_DATA_DIR / BRAIN_MODELS_DIR.
    pub data_dir_from_env: bool,
    pub models_dir_from_env: bool,
    /// Set on exit: stops the watcher.
    pub watch_stop: Arc<AtomicBool>,
    /// The stop flag of the tuning run in progress, if one is.
    pub tuning: std::sync::Mutex<Option<Arc<AtomicBool>>>,
}

impl AppState {
    pub fn new(engine: Engine) -> Self {
        let from_env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        AppState {
            engine: Arc::new(engine),
            data_dir_from_env: from_env("BRAIN_DATA_DIR"),
            models_dir_from_env: from_env("BRAIN_MODELS_DIR"),
            watch_stop: Arc::new(AtomicBool::new(false)),
            tuning: std::sync::Mutex::new(None),
        }
    }
}

/// The app's context (config, capabilities, bundled front end from `ui/dist`).
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Everything but the runtime: state, plugins, commands, window events. The real app and the
/// command-layer tests (Tauri's mock runtime) both build on this.
pub fn configure<R: Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    builder
        .manage(state)
        // Used from Rust only (folder and model pickers); no dialog command is granted to the web view.
        .plugin(tauri_plugin_dialog::init())
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                let _ = PATHS_DROPPED.emit(window, paths);
            }
        })
        .invoke_handler(invoke_handler())
}

/// Is this URL the app's own front end? Everything else is refused as a navigation target.
fn is_app_url(url: &tauri::Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// The main window. It can only show the bundled front end: navigation anywhere else and new
/// windows are refused, so a link in a document or an answer cannot take the web view away.
pub fn create_main_window<R: Runtime, M: Manager<R>>(manager: &M) -> tauri::Result<WebviewWindow<R>> {
    let window = WebviewWindowBuilder::new(manager, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
        .title("Corporate Brain")
        .inner_size(1280.0, 820.0)
        .min_inner_size(760.0, 520.0);
    held_to(window, is_app_url).build()
}

/// A window that navigates only where `allowed` says and opens no other window: a link in a
/// document, an answer or a served page cannot take it elsewhere.
fn held_to<'a, R: Runtime, M: Manager<R>>(
    window: WebviewWindowBuilder<'a, R, M>,
    allowed: impl Fn(&tauri::Url) -> bool + Send + 'static,
) -> WebviewWindowBuilder<'a, R, M> {
    window
        .on_navigation(move |url| {
            let ok = allowed(url);
            if !ok {
                tracing::warn!("refused navigation to {url}");
            }
            ok
        })
        .on_new_window(|url, _| {
            tracing::warn!("refused a new window for {url}");
            NewWindowResponse::Deny
        })
}

/// The windows a team server's web UI opens in are labelled `team-server-N`.
const TEAM_SERVER_WINDOW: &str = "team-server";

/// A window onto a team server's web UI at `url` (already checked: https, or http on this
/// machine), or the open one sent there. It gets none of the app's commands (the capability in
/// capabilities/main.json names the main window only) and, like the main window, cannot be
/// taken elsewhere: navigation off the server's origin and new windows are refused.
pub fn team_server_window<R: Runtime, M: Manager<R>>(manager: &M, url: tauri::Url) -> tauri::Result<()> {
    static OPENED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    // One team server at a time: the window of another (or the same) is replaced, under a new
    // label (a closing window keeps its label until the event loop has closed it).
    for (label, window) in manager.webview_windows() {
        if label.starts_with(TEAM_SERVER_WINDOW) {
            window.destroy()?;
        }
    }
    let label = format!("{TEAM_SERVER_WINDOW}-{}", OPENED.fetch_add(1, Ordering::Relaxed));
    let origin = url.origin();
    let window = WebviewWindowBuilder::new(manager, label, WebviewUrl::External(url))
        .title("Corporate Brain — team server")
        .inner_size(1280.0, 820.0);
    held_to(window, move |to| to.origin() == origin).build().map(drop)
}

/// Forward engine events to the window and run the engine's watcher (reconcile, then follow
/// changes) until [`AppState::watch_stop`] is set. The engine never sees the app handle.
pub fn start_background<R: Runtime>(app: &tauri::AppHandle<R>) {
    let state = app.state::<AppState>();
    let mut events = state.engine.subscribe();
    let forward_to = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match events.recv().await {
                Ok(event) => {
                    let _ = INDEX_EVENT.emit(&forward_to, &event);
                }
                // The window refreshes its status on every event: a missed one costs nothing.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    // Learning the company's language while the app is unused (settings: `learn_after_idle_secs`).
    let engine = Arc::clone(&state.engine);
    let stop = Arc::clone(&state.watch_stop);
    tauri::async_runtime::spawn(async move { engine.learn_while_idle(stop).await });
    let engine = Arc::clone(&state.engine);
    let stop = Arc::clone(&state.watch_stop);
    let report_to = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = engine.watch(stop).await {
            tracing::error!("the watcher stopped: {e}");
            let _ = WATCH_FAILED.emit(&report_to, &ErrorPayload::from(&e));
        }
    });
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRAIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,llama_cpp_2=off,llama-cpp-2=off,lance=error,lancedb=error"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Start the desktop app: the same data and models dirs as the CLI (BRAIN_DATA_DIR and
/// BRAIN_MODELS_DIR are honoured), so both share one index. Files are parsed in worker processes
/// (this executable; `main` serves them), so no hostile file can take the app down.
pub fn run() {
    init_logging();
    let options = EngineOptions::resolve(None, None, Parsers::WorkerProcesses);
    let engine = match Engine::open(options) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("corporate-brain: cannot open the data dir: {e}");
            std::process::exit(1);
        }
    };
    let app = configure(tauri::Builder::default(), AppState::new(engine))
        .setup(|app| {
            create_main_window(app)?;
            start_background(app.handle());
            Ok(())
        })
        .build(context())
        .expect("cannot start the app");
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            let state = handle.state::<AppState>();
            state.watch_stop.store(true, Ordering::Relaxed);
            state.engine.stop_answering();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_app_itself_is_a_navigation_target() {
        for ok in ["tauri://localhost/index.html", "http://tauri.localhost/", "https://tauri.localhost/x"] {
            assert!(is_app_url(&ok.parse().unwrap()), "{ok}");
        }
        for refused in [
            "https://example.com/",
            "http://localhost:1420/",
            "file:///etc/passwd",
            "tauri://evil/",
            "http://tauri.localhost.evil.com/",
            "data:text/html,hi",
            "about:blank",
        ] {
            assert!(!is_app_url(&refused.parse().unwrap()), "{refused}");
        }
    }
}
