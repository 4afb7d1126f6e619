//! Live sync end to end: a real `brain watch` process follows every kind of change, a `kill -9`
//! at any moment loses nothing, and in every case the index ends equal to a clean index of the
//! same tree (same files, same chunk texts).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use brain_testkit::process::Watcher;
use common::{Brain, write};
use serde_json::Value;

/// (path, status, chunk texts) of every file, as `brain inspect` reports them.
fn snapshot(brain: &Brain) -> Vec<(String, String, Vec<String>)> {
    let v = brain.json(&["inspect"]);
    v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let chunks = d["chunks"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
            (d["path"].as_str().unwrap().to_string(), d["status"].as_str().unwrap().to_string(), chunks)
        })
        .collect()
}

/// What a brand-new index of the same folders holds.
fn clean_snapshot(folders: &[&Path]) -> Vec<(String, String, Vec<String>)> {
    let clean = Brain::new();
    for f in folders {
        clean.add_folder(f);
    }
    clean.run(&["index"]);
    snapshot(&clean)
}

fn assert_equals_clean_index(brain: &Brain, folders: &[&Path]) {
    let ours = snapshot(brain);
    let clean = clean_snapshot(folders);
    let paths = |s: &[(String, String, Vec<String>)]| s.iter().map(|d| d.0.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&ours), paths(&clean), "same files");
    assert_eq!(ours, clean, "same statuses and chunk texts");
}

/// Poll until `check` holds (the watcher works asynchronously), or fail after `limit`.
fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not reached within {limit:?}");
}

fn paths_found(brain: &Brain, query: &str) -> Vec<String> {
    brain.search(query, "keyword").iter().map(|h| h["path"].as_str().unwrap().to_string()).collect()
}

/// Wait for an event of this kind from the watcher; returns it.
fn wait_for(watcher: &mut Watcher, kind: &str, limit: Duration) -> Value {
    watcher.wait_for(kind, limit).unwrap_or_else(|| panic!("no {kind} event within {limit:?}"))
}

/// SIGTERM the watcher; how it exited.
fn terminate(watcher: Watcher) -> std::process::ExitStatus {
    watcher.terminate(Duration::from_secs(10)).expect("watch did not stop within 10 s of SIGTERM")
}

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn watcher_follows_every_change_and_ends_equal_to_a_clean_index() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().canonicalize().unwrap();
    write(&root.join("notes/alpha.md"), "# Alpha\n\nThe alpha project ships marmalade crates.\n");
    write(&root.join("notes/beta.txt"), "Beta meetings happen on Tuesdays in the walnut room.\n");
    brain.add_folder(&root);
    let mut watcher = brain.watch();
    let first = wait_for(&mut watcher, "idle", LIMIT);
    assert_eq!(first["indexed"], 2, "start-up reconciliation indexes what is there: {first}");

    // Create.
    write(&root.join("notes/gamma.md"), "# Gamma\n\nGamma rays are measured with a quokkameter.\n");
    eventually("a created file is searchable", LIMIT, || paths_found(&brain, "quokkameter").len() == 1);

    // Edit: the new text is found, the old text is gone.
    write(&root.join("notes/beta.txt"), "Beta meetings moved to Thursdays in the cedar room.\n");
    eventually("an edit is searchable", LIMIT, || !paths_found(&brain, "cedar").is_empty() && paths_found(&brain, "walnut").is_empty());

    // Rename and move into a new directory.
    std::fs::create_dir_all(root.join("archive/2026")).unwrap();
    std::fs::rename(root.join("notes/alpha.md"), root.join("archive/2026/alpha-renamed.md")).unwrap();
    eventually("a moved file has its new path only", LIMIT, || {
        paths_found(&brain, "marmalade") == vec![root.join("archive/2026/alpha-renamed.md").display().to_string()]
    });

    // Delete a file, then a whole directory.
    std::fs::remove_file(root.join("notes/gamma.md")).unwrap();
    eventually("a deleted file disappears", LIMIT, || paths_found(&brain, "quokkameter").is_empty());
    std::fs::remove_dir_all(root.join("archive")).unwrap();
    eventually("a deleted directory disappears", LIMIT, || paths_found(&brain, "marmalade").is_empty());

    // A file that becomes ignored leaves the index.
    write(&root.join("notes/secret.txt"), "The vault code is pelican.\n");
    eventually("new file indexed", LIMIT, || !paths_found(&brain, "pelican").is_empty());
    write(&root.join(".gitignore"), "secret.txt\n");
    eventually("an ignored file leaves the index", LIMIT, || paths_found(&brain, "pelican").is_empty());

    // Another process registers a second folder, then removes it.
    let other = tempfile::tempdir().unwrap();
    let other_root = other.path().canonicalize().unwrap();
    write(&other_root.join("minutes.md"), "# Minutes\n\nThe board approved the lighthouse budget.\n");
    brain.add_folder(&other_root);
    eventually("a newly registered folder is indexed", LIMIT, || !paths_found(&brain, "lighthouse").is_empty());
    write(&other_root.join("later.md"), "# Later\n\nChanges in the new folder are watched: zeppelin.\n");
    eventually("the new folder is watched", LIMIT, || !paths_found(&brain, "zeppelin").is_empty());
    brain.run(&["folders", "remove", other_root.to_str().unwrap()]);
    eventually("an unregistered folder leaves the index", LIMIT, || paths_found(&brain, "lighthouse").is_empty());

    // A burst: hundreds of files at once converge.
    for i in 0..300 {
        write(&root.join(format!("burst/file-{i:03}.txt")), format!("Burst file number {i} mentions token burst{i}.\n"));
    }
    eventually("a burst converges", Duration::from_secs(120), || brain.json(&["status"])["files"]["indexed"].as_u64() == Some(301));

    assert_equals_clean_index(&brain, &[&root]);
    let status = terminate(watcher);
    assert!(status.success(), "watch exits 0 on SIGTERM: {status}");
}

#[test]
fn kill_9_mid_sync_then_resume_gives_the_clean_index_without_redoing_work() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().canonicalize().unwrap();
    for i in 0..240 {
        let body: String =
            (0..12).map(|j| format!("Paragraph {j} of report {i} covers depot {} and route {}.\n\n", i * 7 + j, i + j)).collect();
        write(&root.join(format!("reports/report-{i:03}.md")), format!("# Report {i}\n\n{body}"));
    }
    brain.add_folder(&root);

    // Kill the indexer once a few batches are committed, at different points of a batch.
    let mut committed_before_kill = 0;
    for wait_for_files in [40, 110] {
        let mut watcher = brain.watch();
        let mut seen = 0;
        while seen < wait_for_files {
            wait_for(&mut watcher, "file_indexed", LIMIT);
            seen += 1;
        }
        assert!(watcher.kill(), "killed by SIGKILL mid-sync");
        committed_before_kill = brain.json(&["status"])["files"]["indexed"].as_u64().unwrap();
        assert!(committed_before_kill >= 32, "at least one batch was committed before the kill");
    }

    let resumed = brain.json(&["index"]);
    let unchanged = resumed["summary"]["unchanged"].as_u64().unwrap();
    assert_eq!(unchanged, committed_before_kill, "files committed before the kill are not redone: {resumed}");
    assert_eq!(resumed["summary"]["indexed"].as_u64().unwrap() + unchanged, 240, "{resumed}");
    assert_equals_clean_index(&brain, &[&root]);
}

/// The crash test (`brain-bench crash`, see `crates/bench/src/crash.rs`), short version: a small
/// corpus indexed in batches of 4 files, killed at 24 points (named crash points between and
/// around the two tables' commits and the repairs, and random delays), a watcher killed while it
/// takes bursts of edits, renames, copies and deletes, and two writers at once. Every resumed
/// index must equal a clean index of the same tree, with nothing committed redone.
#[test]
fn crash_test_kills_at_many_points_and_every_resume_equals_the_clean_index() {
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().canonicalize().unwrap();
    let words = ["depot", "route", "invoice", "pallet", "forklift", "audit", "quarter", "warehouse", "shipment", "ledger"];
    for i in 0..40usize {
        let paragraphs: Vec<String> = (0..1 + i % 5)
            .map(|j| (0..40).map(|w| words[(i * 7 + j * 3 + w) % words.len()]).collect::<Vec<_>>().join(" ") + &format!(" item{i}-{j}."))
            .collect();
        let (name, body) = if i % 3 == 0 {
            (format!("dept-{}/note-{i:02}.txt", i % 4), paragraphs.join("\n\n"))
        } else {
            (format!("dept-{}/note-{i:02}.md", i % 4), format!("# Note {i}\n\n{}", paragraphs.join("\n\n")))
        };
        write(&root.join(name), body + "\n");
    }
    write(&root.join("routes.csv"), (0..30).map(|i| format!("r{i},depot {i},{}\n", i * 3)).collect::<String>());
    write(&root.join("empty.txt"), ""); // a failed file, recorded with its reason
    let work = tempfile::tempdir().unwrap();
    let brain = Brain::new();
    // `brain-bench` finds the `brain` under test beside itself.
    let out = brain
        .bench_command(&[
            "crash",
            root.to_str().unwrap(),
            "--kills",
            "24",
            "--watch-rounds",
            "3",
            "--batch-files",
            "4",
            "--seed",
            "11",
            "--work-dir",
            work.path().to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad report ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["mismatches"], serde_json::json!([]), "{report:#}");
    assert!(report["passed"].as_bool().unwrap() && out.status.success(), "{report:#}");
    assert_eq!(report["files"], 42);
    assert!(report["kills"].as_u64().unwrap() >= 20, "at least 20 processes killed: {report:#}");
    let points = report["kills_at_points"].as_object().unwrap();
    assert!(points.len() >= 5, "kills at many named points: {points:?}");
    for point in ["store:chunks-committed", "store:documents-committed"] {
        assert!(points.contains_key(point), "a kill between the two tables' commits ({point}): {points:?}");
    }
    assert!(report["kills_at_delays"].as_u64().unwrap() >= 6, "{report:#}");
    assert!(report["broken_after_kill"].as_u64().unwrap() >= 1, "some kill left something to repair: {report:#}");
    assert!(report["resumes_compared"].as_u64().unwrap() >= 5, "{report:#}");
    assert_eq!(report["work_redone_files"], 0, "files committed before a kill are not indexed again");
    let scenarios = report["scenarios"].as_array().unwrap();
    for name in ["two `brain index` at once (round 0)", "`brain index` beside `brain watch`"] {
        assert!(scenarios.iter().any(|s| s["name"] == name && s["passed"] == true), "{name}: {scenarios:#?}");
    }
    assert_eq!(report["watch_rounds"], 3);

    // Independently of the harness's own comparison: its last two-writers index, read here,
    // equals a clean index made here.
    let two_writers = Brain { data: tempfile::tempdir().unwrap(), ..Brain::new() };
    let copied = work.path().join("two-indexers-1");
    let snapshot_of = |data: &Path| {
        let out = brain.command(&["inspect", "--json"]).env("BRAIN_DATA_DIR", data).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["path"].clone(), d["status"].clone(), d["chunks"].clone(), d["locations"].clone()))
            .collect::<Vec<_>>()
    };
    two_writers.add_folder(&root);
    two_writers.run(&["index"]);
    assert_eq!(snapshot_of(&copied), snapshot_of(two_writers.data.path()), "same files, chunk texts and locations");
    let check = brain.command(&["check", "--json"]).env("BRAIN_DATA_DIR", &copied).output().unwrap();
    assert!(check.status.success(), "no extra rows: {}", String::from_utf8_lossy(&check.stdout));
}
