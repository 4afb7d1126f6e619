// The app's commands, listed once. `build.rs` declares them to Tauri (each then needs its
// `allow-<name>` in capabilities/main.json), `lib.rs` registers their handlers and exports their
// names, from which the window's `CommandName` type is generated (ui/src/bindings.ts). Both
// `include!` this file with an `app_commands!` of their own, because a build script cannot use
// the crate it builds. `command_lists.rs` checks the capabilities, `commands.rs` and
// ui/src/api.ts against this list.
app_commands! {
    app_info,
    status,
    add_folders,
    pick_folders,
    remove_folder,
    pause_folder,
    resume_folder,
    models,
    fetch_models,
    use_llm,
    pick_model_file,
    pick_model_folder,
    use_lora,
    pick_lora_file,
    pick_subfolder,
    settings,
    save_settings,
    rebuild_index,
    ask,
    stop,
    conversations,
    conversation,
    delete_conversation,
    search,
    open_file,
    reveal_file,
    view_document,
    view_page,
    feedback,
    tune,
    stop_tuning,
    remove_adapter,
    open_team_server,
}
