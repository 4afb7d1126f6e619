//! The crash test: SIGKILL a real `brain` at many points of its work, resume, and compare the
//! index with a clean index of the same tree. In the spirit of SQLite's crash tests.
//!
//! It drives the `brain` executable from outside, as a user's machine would: `brain index` is
//! killed at points named by the code (`BRAIN_TEST_CRASH_AT`, between the two tables' commits and
//! the like) and after random delays; a chain of killed runs on one data dir ends with a run that
//! completes, whose index must then equal the clean one — same files and statuses, same chunk
//! texts, locations and identities, no extra rows (`brain check`) — without redoing files
//! committed before the kills. A `brain watch` is killed while it takes a burst of edits,
//! renames, copies and deletes, and two writers are started on one data dir at once (a second
//! `brain index`, or the CLI beside a watcher). Every figure comes from processes of the
//! executable under test, so the same harness can be pointed at an older build (`--brain`) to
//! show what it got wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use brain_testkit::process::{BrainRunner, Ended, died_of_sigkill};
use serde::Serialize;
use serde_json::Value;

use crate::{BenchError, io};

/// What to run and how hard.
#[derive(Debug, Clone)]
pub struct CrashOptions {
    /// The `brain` executable under test.
    pub brain: PathBuf,
    /// The folder to index (not modified: the watcher phase works on a copy).
    pub corpus: PathBuf,
    /// Scratch space; emptied first.
    pub work_dir: PathBuf,
    pub models_dir: PathBuf,
    /// Kills of `brain index` (named points and random delays, about half each).
    pub kills: usize,
    pub seed: u64,
    /// Files per committed batch (smaller: more commits, so more points to die at).
    pub batch_files: usize,
    /// Crash points to kill at. Empty: random delays only (an executable without crash points).
    pub points: Vec<String>,
    /// Watcher rounds: a burst of changes, a kill, a restart.
    pub watch_rounds: usize,
    /// Also start two writers on one data dir at once.
    pub concurrent_writers: bool,
    /// Progress lines go here.
    pub verbose: bool,
}

/// What the crash test saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CrashReport {
    pub corpus: String,
    /// The clean index: files, chunks and the time it took.
    pub files: usize,
    pub chunks: usize,
    pub clean_index_s: f64,
    /// Processes killed, in all.
    pub kills: usize,
    /// Kills at each named crash point.
    pub kills_at_points: BTreeMap<String, usize>,
    /// Kills after a random delay.
    pub kills_at_delays: usize,
    /// Named points a run passed through without reaching the asked-for occurrence.
    pub points_not_reached: Vec<String>,
    /// Runs that completed after one or more kills, and were compared with the clean index.
    pub resumes_compared: usize,
    /// Kills after which `brain check` found the index broken (repaired by the next run).
    pub broken_after_kill: usize,
    /// Files committed before a kill that the completing run indexed again.
    pub work_redone_files: usize,
    /// Chunks the completing runs had to embed (the rest reused stored vectors).
    pub chunks_embedded_on_resume: usize,
    pub watch_rounds: usize,
    pub scenarios: Vec<Scenario>,
    /// Every difference from the clean index, in words. Empty when the test passed.
    pub mismatches: Vec<String>,
    pub elapsed_s: f64,
    pub passed: bool,
}

/// One compared outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// How a run is ended.
#[derive(Debug, Clone, PartialEq)]
enum Kill {
    Point { name: String, nth: u32 },
    After(Duration),
    Never,
}

impl std::fmt::Display for Kill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kill::Point { name, nth } => write!(f, "{name}:{nth}"),
            Kill::After(d) => write!(f, "after {} ms", d.as_millis()),
            Kill::Never => write!(f, "no kill"),
        }
    }
}

/// The executable under test, run on one data dir at a time (the driver is the end-to-end
/// tests'), and what the harness reads from its JSON.
struct Brain<'a> {
    options: &'a CrashOptions,
    runner: BrainRunner,
}

impl Brain<'_> {
    fn new(options: &CrashOptions) -> Brain<'_> {
        // Every run names its data dir (`on`); the work dir stands in until then.
        let mut runner = BrainRunner::new(&options.brain, &options.work_dir, &options.models_dir);
        runner.env.push(("BRAIN_TEST_BATCH_FILES".into(), options.batch_files.to_string().into()));
        Brain { options, runner }
    }

    /// The executable under test on the data dir `data`.
    fn on(&self, data: &Path) -> BrainRunner {
        self.runner.on_data_dir(data)
    }

    /// Start `args`, end it as `kill` says, and report how it ended. A run that should end by
    /// itself and takes longer than `patience` is hung: an error.
    fn run(&self, data: &Path, args: &[&str], kill: &Kill, patience: Duration) -> Result<Ended, BenchError> {
        let crash_at = match kill {
            Kill::Point { .. } => Some(kill.to_string()),
            _ => None,
        };
        let mut running = self.on(data).spawn(args, crash_at.as_deref())?;
        Ok(match kill {
            Kill::After(delay) => match running.wait_up_to(*delay)? {
                Some(ended) => ended,
                None => running.kill()?,
            },
            _ => running.wait(patience)?,
        })
    }

    /// (files indexed, chunks) as `status` reports them.
    fn counts(&self, data: &Path) -> Result<(usize, usize), BenchError> {
        let v = self.on(data).json(&["status", "--json"])?;
        Ok((v["files"]["indexed"].as_u64().unwrap_or(0) as usize, v["chunks"].as_u64().unwrap_or(0) as usize))
    }

    /// Violations `brain check` finds; `None` when the executable has no `check`.
    fn violations(&self, data: &Path) -> Result<Option<Vec<String>>, BenchError> {
        let out = self.on(data).output(&["check", "--json"])?;
        let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) else { return Ok(None) };
        let Some(list) = v["found"]["violations"].as_array() else { return Ok(None) };
        Ok(Some(list.iter().map(|x| x.to_string()).collect()))
    }

    /// Every file with its status and chunks, normalised for comparison.
    fn snapshot(&self, data: &Path) -> Result<Vec<Value>, BenchError> {
        let v = self.on(data).json(&["inspect", "--json"])?;
        let docs = v["documents"].as_array().cloned().unwrap_or_default();
        Ok(docs
            .into_iter()
            .map(|mut d| {
                // `hash` is compared through the chunks; the error text of a failed file is kept.
                if let Some(o) = d.as_object_mut() {
                    o.remove("hash");
                }
                d
            })
            .collect())
    }
}

/// Differences between two snapshots, in words (at most a few per comparison).
fn differences(ours: &[Value], clean: &[Value]) -> Vec<String> {
    let key = |d: &Value| d["path"].as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for d in ours {
        counts.entry(key(d)).or_default().0 += 1;
    }
    for d in clean {
        counts.entry(key(d)).or_default().1 += 1;
    }
    for (path, (a, b)) in &counts {
        if a != b {
            out.push(format!("{path}: {a} document row(s), the clean index has {b}"));
        }
    }
    let by_path: BTreeMap<String, &Value> = clean.iter().map(|d| (key(d), d)).collect();
    for d in ours {
        if let Some(c) = by_path.get(&key(d))
            && d != *c
        {
            let what = if d["status"] != c["status"] {
                format!("status {} instead of {}", d["status"], c["status"])
            } else if d["chunks"] != c["chunks"] {
                let n = |v: &Value| v["chunks"].as_array().map_or(0, Vec::len);
                format!("{} chunk(s) that differ from the clean index's {}", n(d), n(c))
            } else {
                "different locations, error text or identity".to_string()
            };
            out.push(format!("{}: {what}", key(d)));
        }
    }
    out.truncate(10);
    out
}

/// The clean index of `folder`, in its own data dir.
fn clean_index(brain: &Brain, work: &Path, name: &str, folder: &Path) -> Result<(Vec<Value>, f64), BenchError> {
    let data = fresh_dir(&work.join(name))?;
    brain.on(&data).add_folder(folder)?;
    let started = Instant::now();
    brain.on(&data).json(&["index", "--json"])?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((brain.snapshot(&data)?, seconds))
}

fn fresh_dir(dir: &Path) -> Result<PathBuf, BenchError> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    Ok(dir.to_path_buf())
}

/// Run the crash test.
pub fn run(options: &CrashOptions) -> Result<CrashReport, BenchError> {
    let started = Instant::now();
    let work = fresh_dir(&options.work_dir)?;
    let brain = Brain::new(options);
    let say = |line: String| {
        if options.verbose {
            eprintln!("{line}");
        }
    };
    let corpus = std::fs::canonicalize(&options.corpus).map_err(|e| io(&options.corpus, e))?;
    let mut report = CrashReport { corpus: corpus.display().to_string(), ..Default::default() };
    let mut rng = fastrand::Rng::with_seed(options.seed);

    let (clean, clean_s) = clean_index(&brain, &work, "clean", &corpus)?;
    report.files = clean.len();
    report.chunks = clean.iter().map(|d| d["chunks"].as_array().map_or(0, Vec::len)).sum();
    report.clean_index_s = clean_s;
    say(format!("clean index: {} files, {} chunks in {clean_s:.1} s", report.files, report.chunks));
    // However slow the machine, a run that takes this long is hung.
    let patience = Duration::from_secs_f64((clean_s * 20.0).max(120.0));

    // Chains of kills on one data dir, each ending with a run that completes. A kill that does
    // not happen (the run finished first: it asked for a later batch than was left) ends its
    // chain early; it is tried again at an earlier batch, with the rest of its chain, on a fresh
    // data dir.
    let mut chains: std::collections::VecDeque<Vec<Kill>> = schedule(options, report.files, clean_s, &mut rng).into();
    let mut chain = 0;
    while let Some(kills) = chains.pop_front() {
        let data = fresh_dir(&work.join(format!("chain-{chain}")))?;
        brain.on(&data).add_folder(&corpus)?;
        let mut killed_in_chain = 0;
        let mut kills = kills.into_iter();
        loop {
            let kill = kills.next().unwrap_or(Kill::Never);
            let (indexed_before, _) = brain.counts(&data)?;
            match brain.run(&data, &["index", "--json"], &kill, patience)? {
                Ended::Killed => {
                    killed_in_chain += 1;
                    report.kills += 1;
                    match &kill {
                        Kill::Point { name, .. } => *report.kills_at_points.entry(name.clone()).or_default() += 1,
                        _ => report.kills_at_delays += 1,
                    }
                    if brain.violations(&data)?.is_some_and(|v| !v.is_empty()) {
                        report.broken_after_kill += 1;
                    }
                    say(format!("chain {chain}: killed {kill}"));
                }
                Ended::Exited { success, stdout, stderr } => {
                    if !success {
                        report
                            .mismatches
                            .push(format!("chain {chain}: `brain index` failed after {killed_in_chain} kill(s): {}", stderr.trim()));
                        break;
                    }
                    let mut rest: Vec<Kill> = kills.by_ref().collect();
                    match &kill {
                        Kill::Point { name, nth } if *nth > 1 => rest.insert(0, Kill::Point { name: name.clone(), nth: 1 + (nth - 1) / 3 }),
                        Kill::Point { name, nth } => report.points_not_reached.push(format!("{name}:{nth}")),
                        // Later than the work left: try earlier.
                        Kill::After(d) if *d > Duration::from_millis(300) => rest.insert(0, Kill::After(*d / 2)),
                        _ => {}
                    }
                    if !rest.is_empty() {
                        chains.push_front(rest);
                    }
                    let summary: Value = serde_json::from_str(&stdout).unwrap_or_default();
                    let unchanged = summary["summary"]["unchanged"].as_u64().unwrap_or(0) as usize;
                    if killed_in_chain > 0 {
                        report.resumes_compared += 1;
                        report.work_redone_files += indexed_before.saturating_sub(unchanged);
                        report.chunks_embedded_on_resume += summary["summary"]["embedded"].as_u64().unwrap_or(0) as usize;
                        compare(&brain, &data, &clean, &format!("chain {chain} ({killed_in_chain} kill(s), last {kill})"), &mut report)?;
                    }
                    break;
                }
            }
        }
        chain += 1;
    }

    if options.concurrent_writers {
        concurrent_writers(&brain, &work, &corpus, &clean, clean_s, patience, &mut rng, &mut report)?;
    }
    if options.watch_rounds > 0 {
        watch_rounds(&brain, &work, &corpus, clean_s, &mut rng, &mut report, &say)?;
    }
    report.points_not_reached.sort();
    report.points_not_reached.dedup();
    report.elapsed_s = started.elapsed().as_secs_f64();
    report.passed = report.mismatches.is_empty() && report.work_redone_files == 0 && report.scenarios.iter().all(|s| s.passed);
    Ok(report)
}

/// Compare a data dir with the clean snapshot; record the outcome.
fn compare(brain: &Brain, data: &Path, clean: &[Value], name: &str, report: &mut CrashReport) -> Result<bool, BenchError> {
    let mut problems = differences(&brain.snapshot(data)?, clean);
    if let Some(violations) = brain.violations(data)? {
        problems.extend(violations.into_iter().take(5).map(|v| format!("check: {v}")));
    }
    let passed = problems.is_empty();
    for p in &problems {
        report.mismatches.push(format!("{name}: {p}"));
    }
    let detail = if passed { "equal to the clean index".to_string() } else { format!("{} difference(s)", problems.len()) };
    report.scenarios.push(Scenario { name: name.to_string(), passed, detail });
    Ok(passed)
}

/// How often a crash point is passed in one `brain index` run.
enum Frequency {
    /// Once per committed batch.
    PerBatch,
    /// Once per sync.
    PerSync,
    /// Only while repairing what an earlier kill broke.
    Repair,
    /// Not by `brain index` on an unchanged tree (removals, rebuild, compaction).
    Elsewhere,
}

fn frequency(point: &str) -> Frequency {
    match point {
        "store:journal-written"
        | "store:chunks-committed"
        | "store:identities-committed"
        | "store:documents-committed"
        | "engine:batch-prepared" => Frequency::PerBatch,
        "engine:sync-planned" | "engine:queue-written" | "engine:orphans-removed" | "store:maintain-fts" => Frequency::PerSync,
        p if p.starts_with("store:repair-") => Frequency::Repair,
        _ => Frequency::Elsewhere,
    }
}

/// Chains of kills, each ending with a run that completes. A per-batch point dies at an early,
/// middle or late batch; a repair point is preceded in its chain by a kill between the two
/// tables' commits, which leaves something to repair; delays are spread over the clean run.
fn schedule(options: &CrashOptions, files: usize, clean_s: f64, rng: &mut fastrand::Rng) -> Vec<Vec<Kill>> {
    let batches = files.div_ceil(options.batch_files.max(1)).max(1) as u32;
    let points: Vec<&String> = options.points.iter().filter(|p| !matches!(frequency(p), Frequency::Elsewhere)).collect();
    let mut episodes: Vec<Vec<Kill>> = Vec::new();
    let named = if points.is_empty() { 0 } else { options.kills.div_ceil(2) };
    let mut planned = 0;
    let mut i = 0;
    while planned < named {
        let name = points[i % points.len()].clone();
        i += 1;
        let point = |name: &str, nth: u32| Kill::Point { name: name.to_string(), nth };
        let episode = match frequency(&name) {
            Frequency::PerBatch => vec![point(&name, 1 + rng.u32(0..batches))],
            Frequency::PerSync => vec![point(&name, 1)],
            Frequency::Repair => vec![point("store:chunks-committed", 1 + rng.u32(0..batches)), point(&name, 1)],
            Frequency::Elsewhere => continue,
        };
        planned += episode.len();
        episodes.push(episode);
    }
    let process_start = 0.15_f64;
    while planned < options.kills {
        let at = process_start + rng.f64() * (clean_s - process_start).max(0.1);
        episodes.push(vec![Kill::After(Duration::from_secs_f64(at))]);
        planned += 1;
    }
    rng.shuffle(&mut episodes);
    // Two to four kills per chain: each resumed run continues where the killed one stopped.
    let mut chains: Vec<Vec<Kill>> = Vec::new();
    let mut current: Vec<Kill> = Vec::new();
    let mut size = rng.usize(2..=4);
    for episode in episodes {
        current.extend(episode);
        if current.len() >= size {
            chains.push(std::mem::take(&mut current));
            size = rng.usize(2..=4);
        }
    }
    if !current.is_empty() {
        chains.push(current);
    }
    chains
}

/// Two writers at once on one data dir: a second `brain index`, and `brain index` beside a
/// running `brain watch`. Both must end with the clean index.
#[allow(clippy::too_many_arguments)]
fn concurrent_writers(
    brain: &Brain,
    work: &Path,
    corpus: &Path,
    clean: &[Value],
    clean_s: f64,
    patience: Duration,
    rng: &mut fastrand::Rng,
    report: &mut CrashReport,
) -> Result<(), BenchError> {
    let failed = |ended: &Ended| match ended {
        Ended::Exited { success: true, .. } => None,
        Ended::Exited { stderr, .. } => Some(stderr.trim().to_string()),
        Ended::Killed => Some("killed".to_string()),
    };
    for round in 0..2 {
        let data = fresh_dir(&work.join(format!("two-indexers-{round}")))?;
        let on_data = brain.on(&data);
        on_data.add_folder(corpus)?;
        let first = on_data.spawn(&["index", "--json"], None)?;
        std::thread::sleep(Duration::from_secs_f64(rng.f64() * clean_s * 0.5));
        let second = on_data.spawn(&["index", "--json"], None)?.wait(patience)?;
        let first = first.wait(patience)?;
        if let Some(problem) = failed(&second).or_else(|| failed(&first)) {
            report.mismatches.push(format!("two indexers (round {round}): an indexer failed: {problem}"));
        }
        compare(brain, &data, clean, &format!("two `brain index` at once (round {round})"), report)?;
    }

    let data = fresh_dir(&work.join("index-beside-watch"))?;
    let on_data = brain.on(&data);
    on_data.add_folder(corpus)?;
    let watcher = on_data.watch(None)?;
    std::thread::sleep(Duration::from_secs_f64(rng.f64() * clean_s * 0.5));
    if let Some(problem) = failed(&on_data.spawn(&["index", "--json"], None)?.wait(patience)?) {
        report.mismatches.push(format!("index beside watch: `brain index` failed: {problem}"));
    }
    on_data.wait_until_settled(Duration::from_secs_f64((clean_s * 10.0).max(60.0)))?;
    watcher.terminate(TERMINATE_GRACE);
    compare(brain, &data, clean, "`brain index` beside `brain watch`", report)?;
    Ok(())
}

/// How long a watcher gets to stop after SIGTERM before it is killed.
const TERMINATE_GRACE: Duration = Duration::from_secs(20);

/// Rounds of: a watcher takes a burst of changes and is killed (at a crash point or after a
/// delay); a fresh watcher reconciles; the index must equal a clean index of the changed tree.
fn watch_rounds(
    brain: &Brain,
    work: &Path,
    corpus: &Path,
    clean_s: f64,
    rng: &mut fastrand::Rng,
    report: &mut CrashReport,
    say: &dyn Fn(String),
) -> Result<(), BenchError> {
    let live = work.join("live");
    copy_tree(corpus, &live)?;
    let live = std::fs::canonicalize(&live).map_err(|e| io(&live, e))?;
    let data = fresh_dir(&work.join("watch"))?;
    let on_data = brain.on(&data);
    on_data.add_folder(&live)?;
    on_data.json(&["index", "--json"])?;
    let limit = Duration::from_secs_f64((clean_s * 10.0).max(60.0));
    for round in 0..brain.options.watch_rounds {
        // Crash points count from the watcher's start: its first sync finds nothing to do, so
        // the burst's syncs are the ones that pass the store's points.
        let watch_points: Vec<&String> = brain
            .options
            .points
            .iter()
            .filter(|p| {
                !matches!(frequency(p), Frequency::Repair) && !p.contains("rebuild") && !p.contains("compact") && !p.contains("failures")
            })
            .collect();
        let point = (!watch_points.is_empty() && round % 2 == 0).then(|| {
            let p = watch_points[rng.usize(0..watch_points.len())];
            // These pass in every sync, the start-up one included.
            let every_sync = ["engine:sync-planned", "engine:queue-written", "engine:orphans-removed"].contains(&p.as_str());
            let nth = if every_sync { 2 } else { 1 + rng.u32(0..2) };
            format!("{p}:{nth}")
        });
        let mut watcher = on_data.watch(point.as_deref())?;
        if watcher.wait_for("idle", limit).is_none() {
            report.mismatches.push(format!(
                "watch round {round}: the watcher did not reach idle after starting ({})",
                point.as_deref().unwrap_or("no crash point")
            ));
            continue;
        }
        let changes = burst(&live, round, rng)?;
        let killed = match &point {
            Some(_) => {
                // Dies at the point, or reaches idle without passing it.
                let deadline = Instant::now() + limit;
                let mut died = false;
                while Instant::now() < deadline {
                    if let Some(status) = watcher.exited() {
                        died = died_of_sigkill(&status);
                        break;
                    }
                    if let Some(v) = watcher.next_event(Duration::from_millis(50))
                        && v["event"] == "idle"
                        && v["indexed"].as_u64().unwrap_or(0) + v["removed"].as_u64().unwrap_or(0) > 0
                    {
                        break;
                    }
                }
                if !died {
                    report.points_not_reached.push(format!("watch {}", point.clone().unwrap_or_default()));
                    watcher.kill();
                }
                died
            }
            None => {
                std::thread::sleep(Duration::from_secs_f64(0.05 + rng.f64() * clean_s.min(3.0)));
                watcher.kill()
            }
        };
        drop(watcher);
        if killed {
            report.kills += 1;
            match &point {
                Some(p) => {
                    *report.kills_at_points.entry(format!("watch {}", p.rsplit_once(':').map_or(p.as_str(), |x| x.0))).or_default() += 1
                }
                None => report.kills_at_delays += 1,
            }
            if brain.violations(&data)?.is_some_and(|v| !v.is_empty()) {
                report.broken_after_kill += 1;
            }
        }
        say(format!("watch round {round}: {changes} changes, killed: {killed} ({})", point.as_deref().unwrap_or("delay")));
        let mut resumed = on_data.watch(None)?;
        if resumed.wait_for("idle", limit).is_none() {
            report.mismatches.push(format!("watch round {round}: the restarted watcher did not reach idle"));
        }
        resumed.terminate(TERMINATE_GRACE);
        let (clean, _) = clean_index(brain, work, "watch-clean", &live)?;
        compare(
            brain,
            &data,
            &clean,
            &format!("watch round {round} ({changes} changes, {})", if killed { "killed" } else { "not killed" }),
            report,
        )?;
        report.watch_rounds += 1;
    }
    Ok(())
}

/// Edits, renames, copies, deletes and new files in `live`; returns how many.
fn burst(live: &Path, round: usize, rng: &mut fastrand::Rng) -> Result<usize, BenchError> {
    let mut files = list_files(live);
    files.sort();
    let n = (files.len() / 8).clamp(4, 40);
    let moved = live.join(format!("moved-{round}"));
    std::fs::create_dir_all(&moved).map_err(|e| io(&moved, e))?;
    let mut done = 0;
    for i in 0..n {
        let pick = |rng: &mut fastrand::Rng, files: &Vec<PathBuf>| (!files.is_empty()).then(|| files[rng.usize(0..files.len())].clone());
        let text = |p: &Path| p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "md" | "txt"));
        match rng.u8(0..5) {
            0 => {
                if let Some(f) = pick(rng, &files).filter(|f| text(f)) {
                    let mut body = std::fs::read_to_string(&f).unwrap_or_default();
                    body.push_str(&format!("\n\nRevision {round}-{i}: the review moved to room {}.\n", rng.u32(100..999)));
                    std::fs::write(&f, body).map_err(|e| io(&f, e))?;
                    done += 1;
                }
            }
            1 => {
                if let Some(f) = pick(rng, &files) {
                    let to = moved.join(format!("{i}-{}", f.file_name().unwrap_or_default().to_string_lossy()));
                    std::fs::rename(&f, &to).map_err(|e| io(&f, e))?;
                    files.retain(|x| x != &f);
                    files.push(to);
                    done += 1;
                }
            }
            2 => {
                if let Some(f) = pick(rng, &files) {
                    let to = moved.join(format!("copy-{i}-{}", f.file_name().unwrap_or_default().to_string_lossy()));
                    std::fs::copy(&f, &to).map_err(|e| io(&f, e))?;
                    files.push(to);
                    done += 1;
                }
            }
            3 => {
                if files.len() > 4
                    && let Some(f) = pick(rng, &files)
                {
                    std::fs::remove_file(&f).map_err(|e| io(&f, e))?;
                    files.retain(|x| x != &f);
                    done += 1;
                }
            }
            _ => {
                let to = live.join(format!("new-{round}-{i}.md"));
                std::fs::write(
                    &to,
                    format!("# Note {round}-{i}\n\nA new note about shipment {} and depot {}.\n", rng.u32(1000..9999), rng.u32(1..99)),
                )
                .map_err(|e| io(&to, e))?;
                files.push(to);
                done += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..30)));
    }
    Ok(done)
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        if p.is_dir() {
            out.extend(list_files(&p));
        } else if p.is_file() {
            out.push(p);
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for e in std::fs::read_dir(from).map_err(|e| io(from, e))?.flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &target)?;
        } else if p.is_file() {
            std::fs::copy(&p, &target).map_err(|e| io(&p, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spreads_kills_over_points_and_delays() {
        let options = CrashOptions {
            brain: "brain".into(),
            corpus: ".".into(),
            work_dir: ".".into(),
            models_dir: ".".into(),
            kills: 24,
            seed: 3,
            batch_files: 2,
            points: vec![
                "store:chunks-committed".into(),
                "engine:sync-planned".into(),
                "store:repair-pending".into(),
                "engine:rebuild-deleted".into(),
            ],
            watch_rounds: 0,
            concurrent_writers: false,
            verbose: false,
        };
        let chains = schedule(&options, 40, 10.0, &mut fastrand::Rng::with_seed(3));
        let all: Vec<&Kill> = chains.iter().flatten().collect();
        assert!((24..=25).contains(&all.len()), "{}", all.len());
        assert!(chains.iter().all(|c| (1..=5).contains(&c.len())));
        let named = all.iter().filter(|k| matches!(k, Kill::Point { .. })).count();
        assert!((12..=13).contains(&named));
        for name in ["store:chunks-committed", "engine:sync-planned", "store:repair-pending"] {
            assert!(all.iter().any(|k| matches!(k, Kill::Point { name: n, .. } if n == name)), "{name} is used");
        }
        assert!(!all.iter().any(|k| matches!(k, Kill::Point { name, .. } if name == "engine:rebuild-deleted")), "index never passes it");
        // A repair point follows a kill that leaves something to repair.
        for chain in &chains {
            for (i, k) in chain.iter().enumerate() {
                if matches!(k, Kill::Point { name, .. } if name == "store:repair-pending") {
                    assert!(i > 0 && matches!(&chain[i - 1], Kill::Point { name, .. } if name == "store:chunks-committed"));
                }
            }
        }
        for k in &all {
            if let Kill::Point { name, nth } = k
                && name == "store:chunks-committed"
            {
                assert!((1..=20).contains(nth), "one of the 20 batches of 40 files by 2");
            }
        }
        assert!(all.iter().all(|k| match k {
            Kill::After(d) => d.as_secs_f64() <= 10.0,
            _ => true,
        }));
    }

    #[test]
    fn differences_name_extra_rows_and_changed_chunks() {
        let doc = |p: &str, chunks: &[&str]| serde_json::json!({"path": p, "status": "indexed", "chunks": chunks});
        let clean = vec![doc("/a", &["x"]), doc("/b", &["y"])];
        assert!(differences(&clean, &clean).is_empty());
        let ours = vec![doc("/a", &["x"]), doc("/a", &[]), doc("/b", &["z"])];
        let found = differences(&ours, &clean);
        assert!(found[0].contains("/a: 2 document row(s), the clean index has 1"), "{found:?}");
        assert!(found.iter().any(|d| d.starts_with("/b: 1 chunk(s) that differ")), "{found:?}");
    }
}
