// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    brain_engine::limit_allocator_memory();
    // This executable doubles as the engine's parse worker: serve before anything else starts.
    brain_engine::Parsers::serve_worker_if_requested();
    brain_app::run();
}
