//! Tauri's build step, with the app's commands declared: every command then needs an explicit
//! `allow-<command>` in `capabilities/main.json`, so the web view can call nothing undeclared.

/// The command names, from the one list in src/command_names.rs (which src/lib.rs registers).
macro_rules! app_commands {
    ($($command:ident),* $(,)?) => {
        const COMMANDS: &[&str] = &[$(stringify!($command)),*];
    };
}
include!("src/command_names.rs");

fn main() {
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri build step");
}
