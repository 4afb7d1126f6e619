//! Learning while the computer is idle: the answer model writes questions a few at a time when
//! nobody has used the assistant for a while and the index is up to date, and the query adapter
//! is trained again after each batch.
//!
//! Key design decision: a pure rule ([`next`]) decides from what the loop observed — how long
//! the assistant has been unused, whether a sync runs, whether the computer runs on its battery,
//! how many questions the last day wrote, whether the last batch found no passage left to ask
//! about — and `Engine::learn_while_idle` only observes and runs `Engine::tune`. A batch in
//! progress still yields to every answer (the question writer waits while one is generated, in
//! any process) and stops when a sync starts or the computer is unplugged (unless
//! `learn_on_battery`), and for a user's tuning run in any process on the data dir
//! (`tune::lock`):
//! llama.cpp's spinning threads and the embedder on the same cores slow each other by orders of
//! magnitude.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::broadcast::error::TryRecvError;

use crate::settings::Settings;
use crate::{Engine, IndexEvent, TuneRequest, TuneStep};

/// How often the loop looks (and how soon a batch stops when the loop is stopped).
const TICK: Duration = Duration::from_secs(2);
const DAY_MS: i64 = 24 * 3600 * 1000;
/// The batches of the last day, in the tune dir: the day's allowance holds across restarts.
const BATCHES_FILE: &str = "idle-batches.json";
/// A batch the loop ran: when it ended, and how many questions it asked for (attempted: each
/// costs the same time, kept or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Batch {
    at_ms: i64,
    questions: usize,
}

/// The batches of the day before `now_ms` kept in `dir` (none when there is no file or it is
/// damaged: the allowance then starts afresh, which costs at most a day's questions).
fn batches_of_the_day(dir: &Path, now_ms: i64) -> Vec<Batch> {
    let batches: Vec<Batch> = std::fs::read(dir.join(BATCHES_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    batches.into_iter().filter(|b| now_ms - b.at_ms < DAY_MS).collect()
}

fn save_batches(dir: &Path, batches: &[Batch]) -> crate::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| crate::EngineError::io(dir, e))?;
    let json = serde_json::to_vec(batches).map_err(|e| crate::EngineError::Internal(e.to_string()))?;
    crate::fsutil::write_atomic(&dir.join(BATCHES_FILE), &json)
}

/// Questions written in one batch: about 40 s of the default model on 2 cores, so that a
/// question asked meanwhile waits for one question at most and a sync for one batch.
pub(crate) const BATCH: usize = 10;

/// What the idle loop saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observed {
    /// Since the assistant was last used (an answer, a search, a tuning run) or opened.
    pub unused_for: Duration,
    /// A sync is running.
    pub syncing: bool,
    /// The computer runs on its battery (`power`).
    pub on_battery: bool,
    /// Questions written by this loop in the last 24 hours.
    pub written_last_day: usize,
    /// The last batch found no passage left to ask about, and no file changed since.
    pub exhausted: bool,
}

/// What the idle loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Wait,
    /// Write this many questions, then train.
    Write(usize),
}

/// Write questions when learning is on (`learn_after_idle_secs` > 0), the assistant has been
/// unused that long, no sync runs, the computer is plugged in (or `learn_on_battery`), there are
/// passages left to ask about, and the day's allowance (`learn_questions_per_day`) is not spent.
pub(crate) fn next(observed: &Observed, settings: &Settings) -> Next {
    let idle = settings.learn_after_idle_secs;
    let left = settings.learn_questions_per_day.saturating_sub(observed.written_last_day);
    if idle == 0 || observed.unused_for < Duration::from_secs(idle) || observed.syncing || observed.exhausted || left == 0 {
        return Next::Wait;
    }
    if !power_allows(observed.on_battery, settings) {
        return Next::Wait;
    }
    Next::Write(left.min(BATCH))
}

/// Learning runs on mains power, or on battery when `learn_on_battery` says so: the rule for a
/// batch to start and for one in progress to go on.
fn power_allows(on_battery: bool, settings: &Settings) -> bool {
    !on_battery || settings.learn_on_battery
}

/// What the loop knows from the engine's events.
#[derive(Debug, Default)]
struct Seen {
    syncing: bool,
    exhausted: bool,
}

impl Seen {
    fn observe(&mut self, event: &IndexEvent) {
        match event {
            IndexEvent::SyncStarted { .. } => self.syncing = true,
            IndexEvent::Idle(_) | IndexEvent::SyncFailed { .. } => self.syncing = false,
            // New passages to ask about.
            IndexEvent::FileIndexed { .. } => self.exhausted = false,
            _ => {}
        }
    }
}

/// The loop behind `Engine::learn_while_idle`.
pub(crate) async fn run(engine: &Engine, stop: Arc<AtomicBool>) {
    let mut events = engine.subscribe();
    let mut seen = Seen::default();
    let dir: PathBuf = engine.tune_dir();
    let answering = crate::yielding::Yield::new(engine.data_dir());
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(TICK).await;
        loop {
            match events.try_recv() {
                Ok(event) => seen.observe(&event),
                Err(TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
        // An answer in another process on the same data dir (`brain ask` beside `brain watch`).
        if answering.answer_now() {
            engine.mark_used();
        }
        // The lock first (`tune::lock`): the day's count is read once, and no other process runs
        // a batch, nor a user's run, between reading it and writing more.
        let Some(_learning) = super::lock::try_lock(&dir).await else { continue };
        let mut batches = batches_of_the_day(&dir, crate::fsutil::now_ms());
        let observed = Observed {
            unused_for: engine.last_used.lock().unwrap_or_else(|p| p.into_inner()).elapsed(),
            syncing: seen.syncing,
            on_battery: crate::power::on_battery(),
            written_last_day: batches.iter().map(|b| b.questions).sum(),
            exhausted: seen.exhausted,
        };
        let Next::Write(questions) = next(&observed, &engine.settings()) else { continue };

        let batch = Arc::new(AtomicBool::new(false));
        let started_ms = crate::fsutil::now_ms();
        *engine.idle_batch.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&batch));
        let mut attempted = 0;
        let result = {
            let mut progress = |step: TuneStep| {
                if let TuneStep::Questions { done, .. } = step {
                    attempted = done;
                }
            };
            let tuning = engine.tune_now(TuneRequest { questions, ..TuneRequest::default() }, Arc::clone(&batch), &mut progress);
            tokio::pin!(tuning);
            loop {
                tokio::select! {
                    result = &mut tuning => break result,
                    event = events.recv() => {
                        if let Ok(event) = event {
                            seen.observe(&event);
                        }
                        if seen.syncing {
                            batch.store(true, Ordering::Relaxed);
                        }
                    }
                    _ = tokio::time::sleep(TICK) => {
                        // Stopped, unplugged, or a user's tuning run in another process asks
                        // for the lock this batch holds.
                        let why = if stop.load(Ordering::Relaxed) {
                            Some("the loop stops")
                        } else if !power_allows(crate::power::on_battery(), &engine.settings()) {
                            Some("on battery power")
                        } else if super::lock::asked_to_yield_since(&dir, started_ms) {
                            Some("a tuning run asked for the lock")
                        } else {
                            None
                        };
                        if let Some(why) = why && !batch.swap(true, Ordering::Relaxed) {
                            tracing::info!("learning while idle: the batch stops ({why})");
                        }
                    }
                }
            }
        };
        *engine.idle_batch.lock().unwrap_or_else(|p| p.into_inner()) = None;
        batches.push(Batch { at_ms: crate::fsutil::now_ms(), questions: attempted });
        if let Err(e) = save_batches(&dir, &batches) {
            tracing::warn!("could not keep the day's questions: {e}");
        }
        engine.release_llm_unless_answering().await;
        match result {
            Ok(report) => {
                tracing::info!(questions = report.questions_written, in_use = report.adapter.in_use, "learned while idle");
                // No passage was left to ask about: wait for the index to change.
                seen.exhausted |= attempted == 0;
            }
            Err(crate::EngineError::Cancelled) => {}
            Err(e) => {
                // No index yet, no answer model: nothing to do until a file is indexed.
                tracing::warn!("learning while idle stopped: {e}");
                seen.exhausted = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(idle: u64, per_day: usize) -> Settings {
        Settings { learn_after_idle_secs: idle, learn_questions_per_day: per_day, ..Settings::default() }
    }

    const IDLE: Observed =
        Observed { unused_for: Duration::from_secs(900), syncing: false, on_battery: false, written_last_day: 0, exhausted: false };

    #[test]
    fn questions_are_written_in_batches_once_the_assistant_has_been_unused_long_enough() {
        let s = settings(600, 100);
        assert_eq!(next(&IDLE, &s), Next::Write(BATCH));
        assert_eq!(next(&Observed { unused_for: Duration::from_secs(599), ..IDLE }, &s), Next::Wait, "used 10 minutes ago, less a second");
        assert_eq!(next(&IDLE, &Settings::default()), Next::Write(BATCH), "on by default");
    }

    #[test]
    fn the_days_batches_are_kept_across_restarts_and_older_ones_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let now = 10 * DAY_MS;
        assert_eq!(batches_of_the_day(dir.path(), now), vec![], "no file: none");
        let old = Batch { at_ms: now - DAY_MS - 1, questions: 10 };
        let recent = Batch { at_ms: now - 3600 * 1000, questions: 7 };
        save_batches(dir.path(), &[old, recent]).unwrap();
        assert_eq!(batches_of_the_day(dir.path(), now), vec![recent]);
        std::fs::write(dir.path().join(BATCHES_FILE), "{damaged").unwrap();
        assert_eq!(batches_of_the_day(dir.path(), now), vec![]);
    }

    #[test]
    fn a_sync_nothing_left_to_ask_the_days_allowance_or_the_setting_make_it_wait() {
        let s = settings(600, 100);
        assert_eq!(next(&Observed { syncing: true, ..IDLE }, &s), Next::Wait);
        assert_eq!(next(&Observed { exhausted: true, ..IDLE }, &s), Next::Wait);
        assert_eq!(next(&Observed { written_last_day: 95, ..IDLE }, &s), Next::Write(5), "the last of the allowance");
        assert_eq!(next(&Observed { written_last_day: 100, ..IDLE }, &s), Next::Wait);
        assert_eq!(next(&Observed { written_last_day: 130, ..IDLE }, &s), Next::Wait);
        assert_eq!(next(&IDLE, &settings(0, 100)), Next::Wait, "0 seconds: never");
        assert_eq!(next(&IDLE, &settings(600, 0)), Next::Wait);
    }

    #[test]
    fn on_battery_it_waits_for_mains_power_unless_told_otherwise() {
        let s = settings(600, 100);
        assert_eq!(next(&Observed { on_battery: true, ..IDLE }, &s), Next::Wait, "unplugged");
        let anyway = Settings { learn_on_battery: true, ..s };
        assert_eq!(next(&Observed { on_battery: true, ..IDLE }, &anyway), Next::Write(BATCH), "learn_on_battery");
        assert!(!Settings::default().learn_on_battery, "plugged in only, by default");
    }
}
