//! The events the app emits to the window. Each is a typed constant: its name, written only here,
//! and its payload type, which [`AppEvent::emit`] enforces. The window's `AppEvents` type (name →
//! payload, in `ui/src/bindings.ts`) is generated from these constants, so the UI cannot listen
//! for a name the app does not send, nor read a payload of another shape.

use std::marker::PhantomData;
use std::path::PathBuf;

use brain_engine::{ErrorPayload, IndexEvent};
use serde::Serialize;
use tauri::{Emitter, Runtime};
#[cfg(test)]
use ts_rs::Config;
use ts_rs::TS;

use crate::MAIN_WINDOW;

/// An event the app sends the window, with payloads of type `P`.
pub struct AppEvent<P> {
    name: &'static str,
    // `fn() -> P`: the constant owns no `P`, so it is `Send`, `Sync` and `Copy` whatever `P` is.
    payload: PhantomData<fn() -> P>,
}

impl<P> Clone for AppEvent<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for AppEvent<P> {}

impl<P> AppEvent<P> {
    const fn new(name: &'static str) -> Self {
        AppEvent { name, payload: PhantomData }
    }

    /// The name the window listens for.
    pub const fn name(self) -> &'static str {
        self.name
    }
}

impl<P: Serialize + TS> AppEvent<P> {
    /// Send `payload` to the main window.
    pub fn emit<R: Runtime>(self, emitter: &impl Emitter<R>, payload: &P) -> tauri::Result<()> {
        emitter.emit_to(MAIN_WINDOW, self.name, payload)
    }

    /// `"name": Payload`, one entry of the window's `AppEvents` type.
    #[cfg(test)]
    fn typescript_entry(self, cfg: &Config) -> String {
        format!("\"{}\": {}", self.name, P::name(cfg))
    }
}

/// So that `listen` (which takes any `Into<String>`) can be given the constant itself.
impl<P> From<AppEvent<P>> for String {
    fn from(event: AppEvent<P>) -> String {
        event.name.to_string()
    }
}

/// Each [`IndexEvent`] of the engine, forwarded as it comes.
pub const INDEX_EVENT: AppEvent<IndexEvent> = AppEvent::new("index-event");
/// The watcher stopped with an error.
pub const WATCH_FAILED: AppEvent<ErrorPayload> = AppEvent::new("watch-failed");
/// Paths dropped on the window.
pub const PATHS_DROPPED: AppEvent<Vec<PathBuf>> = AppEvent::new("paths-dropped");

/// Every event above, as the window's `AppEvents` type: a new event needs its line here before
/// the window can listen for it.
#[cfg(test)]
pub(crate) fn typescript_declaration(cfg: &Config) -> String {
    let entries = [INDEX_EVENT.typescript_entry(cfg), WATCH_FAILED.typescript_entry(cfg), PATHS_DROPPED.typescript_entry(cfg)];
    format!("type AppEvents = {{ {}, }};", entries.join(", "))
}
