//! The window's TypeScript types, generated from the Rust types that cross the IPC (ts-rs), the
//! app's events ([`crate::events`]) and its command names ([`crate::COMMANDS`]), and what
//! `brain serve` adds for the same window in a browser (its error codes, sign-in, whoami):
//! `ui/src/bindings.ts` is checked against what they generate, so the two cannot drift.
//! `UPDATE_BINDINGS=1 cargo test -p corporate-brain-app bindings` rewrites it.

use brain_engine::{
    AdapterStatus, AnswerStop, Availability, ConversationSummary, DocumentView, EmbedderFit, ErrorCode, ErrorPayload, FailedFile, Feedback,
    FetchStep, FileCounts, FolderLora, FolderStatus, IndexEvent, IntegrityStatus, LanguageProfile, LanguageShare, LanguagesStatus,
    LlmChoice, Location, MarkBox, ModelReport, ModelState, OcrStatus, PageView, PairCounts, ReadableStatus, SearchMode, Settings, SheetRow,
    StageTimes, Status, SyncSummary, TextBlock, TextPiece, TuneReport, TuneStep, Verdict, ViewContent,
};
use brain_serve::{ServerErrorCode, SignedIn, WhoAmI};
use ts_rs::{Config, TS};

use crate::views::{AnswerView, AppInfo, AskEvent, AskOutcome, CitationView, ConversationView, PassageView, SearchResultView, TurnView};
use crate::{COMMANDS, events};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts");

fn declaration<T: TS>(cfg: &Config) -> String {
    format!("export {}\n", T::decl(cfg))
}

/// The names the window may invoke (`invoke` in ui/src/api.ts takes only these).
fn command_names() -> String {
    let names: Vec<String> = COMMANDS.iter().map(|name| format!("\"{name}\"")).collect();
    format!("export type CommandName = {};\n", names.join(" | "))
}

/// Every type of the IPC, in one TypeScript module: the types of the values, the events the
/// window can listen for and the commands it can invoke.
fn generate() -> String {
    // JSON numbers, not bigints: no count or timestamp here comes near 2^53.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from("// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit.\n\n");
    for decl in [
        declaration::<ErrorCode>(&cfg),
        declaration::<ErrorPayload>(&cfg),
        declaration::<Location>(&cfg),
        declaration::<SearchMode>(&cfg),
        declaration::<Settings>(&cfg),
        declaration::<FolderLora>(&cfg),
        declaration::<FileCounts>(&cfg),
        declaration::<FailedFile>(&cfg),
        declaration::<FolderStatus>(&cfg),
        declaration::<IntegrityStatus>(&cfg),
        declaration::<OcrStatus>(&cfg),
        declaration::<AdapterStatus>(&cfg),
        declaration::<LanguageShare>(&cfg),
        declaration::<LanguageProfile>(&cfg),
        declaration::<EmbedderFit>(&cfg),
        declaration::<LanguagesStatus>(&cfg),
        declaration::<Status>(&cfg),
        declaration::<StageTimes>(&cfg),
        declaration::<SyncSummary>(&cfg),
        declaration::<IndexEvent>(&cfg),
        declaration::<Availability>(&cfg),
        declaration::<ModelState>(&cfg),
        declaration::<LlmChoice>(&cfg),
        declaration::<ModelReport>(&cfg),
        declaration::<FetchStep>(&cfg),
        declaration::<ConversationSummary>(&cfg),
        declaration::<AppInfo>(&cfg),
        declaration::<PassageView>(&cfg),
        declaration::<CitationView>(&cfg),
        declaration::<AnswerStop>(&cfg),
        declaration::<AnswerView>(&cfg),
        declaration::<TurnView>(&cfg),
        declaration::<ConversationView>(&cfg),
        declaration::<AskOutcome>(&cfg),
        declaration::<AskEvent>(&cfg),
        declaration::<SearchResultView>(&cfg),
        declaration::<TextPiece>(&cfg),
        declaration::<TextBlock>(&cfg),
        declaration::<SheetRow>(&cfg),
        declaration::<ViewContent>(&cfg),
        declaration::<DocumentView>(&cfg),
        declaration::<MarkBox>(&cfg),
        declaration::<PageView>(&cfg),
        declaration::<Verdict>(&cfg),
        declaration::<Feedback>(&cfg),
        declaration::<PairCounts>(&cfg),
        declaration::<TuneStep>(&cfg),
        declaration::<TuneReport>(&cfg),
        // The same window in a browser, on `brain serve`'s HTTP API.
        declaration::<ServerErrorCode>(&cfg),
        declaration::<ReadableStatus>(&cfg),
        declaration::<WhoAmI>(&cfg),
        declaration::<SignedIn>(&cfg),
        format!("export {}\n", events::typescript_declaration(&cfg)),
        command_names(),
    ] {
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[test]
fn typescript_bindings_are_generated_from_the_rust_types() {
    let generated = generate();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(FILE, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(FILE).unwrap_or_default();
    assert!(
        checked_in == generated,
        "ui/src/bindings.ts differs from what the Rust types generate: run `UPDATE_BINDINGS=1 cargo test -p corporate-brain-app bindings`"
    );
}
