//! Opening a file (already checked by `Engine::resolve_openable`) in the system's default
//! application, or revealing it in the file manager.
//!
//! `BRAIN_OPENER`, when set, names a program run instead: `$BRAIN_OPENER PATH [--page N]` to
//! open, `$BRAIN_OPENER --reveal PATH` to reveal. Tests point it at a recorder; an administrator
//! can point it at a viewer of their choice.

use std::path::Path;
use std::process::Command;

fn custom_opener() -> Option<std::ffi::OsString> {
    std::env::var_os("BRAIN_OPENER").filter(|v| !v.is_empty())
}

/// Run a program without waiting for it (a viewer stays open); a thread reaps it when it ends.
fn spawn(mut command: Command) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command.spawn().map_err(|e| format!("cannot run {program}: {e}"))?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

pub fn open(path: &Path, page: Option<u32>) -> Result<(), String> {
    if let Some(program) = custom_opener() {
        let mut command = Command::new(program);
        command.arg(path);
        if let Some(page) = page {
            command.arg("--page").arg(page.to_string());
        }
        return spawn(command);
    }
    if let Some(page) = page
        && let Some(command) = pdf_viewer_at_page(path, page)
    {
        return spawn(command);
    }
    tauri_plugin_opener::open_path(path, None::<&str>).map_err(|e| e.to_string())
}

pub fn reveal(path: &Path) -> Result<(), String> {
    if let Some(program) = custom_opener() {
        let mut command = Command::new(program);
        command.arg("--reveal").arg(path);
        return spawn(command);
    }
    tauri_plugin_opener::reveal_item_in_dir(path).map_err(|e| e.to_string())
}

/// The user's default PDF viewer started at a page, where it takes one on its command line
/// (Evince, Okular, Atril, Zathura on Linux). Other platforms and viewers open at the start.
#[cfg(target_os = "linux")]
fn pdf_viewer_at_page(path: &Path, page: u32) -> Option<Command> {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")) {
        return None;
    }
    let output = Command::new("xdg-mime").args(["query", "default", "application/pdf"]).output().ok()?;
    let desktop = String::from_utf8_lossy(&output.stdout).to_ascii_lowercase();
    let (program, args): (&str, Vec<String>) = if desktop.contains("evince") {
        ("evince", vec![format!("--page-label={page}")])
    } else if desktop.contains("okular") {
        ("okular", vec!["--page".into(), page.to_string()])
    } else if desktop.contains("atril") {
        ("atril", vec![format!("--page-label={page}")])
    } else if desktop.contains("zathura") {
        ("zathura", vec![format!("--page={page}")])
    } else {
        return None;
    };
    let found = std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()));
    if !found {
        return None;
    }
    let mut command = Command::new(program);
    command.args(args).arg(path);
    Some(command)
}

#[cfg(not(target_os = "linux"))]
fn pdf_viewer_at_page(_path: &Path, _page: u32) -> Option<Command> {
    None
}
