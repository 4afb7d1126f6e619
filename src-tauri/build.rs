//! Tauri's build step, with the app's commands declared: every command then needs an explicit
//! `allow-<command>` in `capabilities/main.json`, so the web view can call nothing undeclared.

/// Keep in step with `tauri::generate_handler!` in src/lib.rs.
const COMMANDS: &[&str] = &[
    "app_info",
    "status",
    "add_folders",
    "pick_folders",
    "remove_folder",
    "pause_folder",
    "resume_folder",
    "models",
    "fetch_models",
    "use_llm",
    "pick_model_file",
    "pick_model_folder",
    "settings",
    "save_settings",
    "rebuild_index",
    "ask",
    "stop",
    "conversations",
    "conversation",
    "delete_conversation",
    "search",
    "open_file",
    "reveal_file",
];

fn main() {
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri build step");
}
