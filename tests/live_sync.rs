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
fn the_watcher_learns_the_companys_language_while_nobody_asks_within_the_days_allowance() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().canonicalize().unwrap();
    let topics = [
        (
            "bluebird.md",
            "# Bluebird\n\nBluebird is the customer loyalty programme: members collect one point for every euro spent in the stores and on the website, and every hundred points become a five euro voucher that is sent by post at the end of each quarter.",
        ),
        (
            "kestrel.md",
            "# Kestrel\n\nKestrel is the project that replaces the warehouse scanners: the new handheld devices arrive in March, each depot trains two staff members first, and the old scanners are collected and recycled by the supplier in May.",
        ),
        (
            "heron.md",
            "# Heron\n\nHeron is the new expense system: receipts are photographed with the phone app, a manager approves each claim within five working days, and approved expenses are paid with the next monthly salary payment.",
        ),
        (
            "osprey.md",
            "# Osprey\n\nOsprey is the office move to the riverside building: the finance and legal teams move in the first week of June, everyone else in the second week, and parking permits for the new garage are requested from facilities.",
        ),
    ];
    for (name, text) in topics {
        write(&root.join(name), text);
    }
    brain.add_folder(&root);
    // Learning after one second unused, three questions a day at most, written by the smallest
    // model (the test is about when questions are written, not how well).
    brain.run(&["models", "use", "--llm", "smollm2-135m"]);
    let path = brain.data.path().join("settings.toml");
    let mut settings: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    settings.insert("learn_after_idle_secs".into(), 1.into());
    settings.insert("learn_questions_per_day".into(), 3.into());
    write(&path, settings.to_string());
    let mut watcher = brain.watch();
    wait_for(&mut watcher, "idle", Duration::from_secs(120));
    let questions = || -> usize {
        std::fs::read_to_string(brain.data.path().join("tune/pairs.jsonl"))
            .map(|text| text.lines().filter(|line| line.contains("\"question\"")).count())
            .unwrap_or(0)
    };
    // A batch writes the day's three questions (each kept as it is written), then trains.
    eventually("the adapter is trained while nobody asks", Duration::from_secs(300), || !brain.json(&["status"])["adapter"].is_null());
    let written = questions();
    assert!((1..=3).contains(&written), "{written} questions written");
    let adapter = brain.json(&["status"])["adapter"].clone();
    assert_eq!(adapter["trained_pairs"].as_u64().unwrap() + adapter["held_out_pairs"].as_u64().unwrap(), written as u64, "{adapter}");
    // The day's allowance is spent: nothing more, however long nobody asks — nor after a restart.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(questions(), written);
    assert!(terminate(watcher).success());
    let mut watcher = brain.watch();
    wait_for(&mut watcher, "idle", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(questions(), written, "the day's allowance holds across restarts");
    assert!(terminate(watcher).success());
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

/// Run a system command (useradd, chown, setfacl …) and require success.
fn system(program: &str, args: &[&str]) {
    let out = std::process::Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A user of this machine, made for the test if it is not there (a second run reuses it).
fn os_user(name: &str, groups: &[&str]) {
    let exists = std::process::Command::new("id").arg(name).output().is_ok_and(|o| o.status.success());
    if !exists {
        // Another test may make it at the same moment: "already exists" (9) is fine.
        let status = std::process::Command::new("useradd")
            .args(["--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name])
            .status()
            .unwrap();
        assert!(status.success() || status.code() == Some(9), "useradd {name}: {status}");
    }
    for g in groups {
        system("usermod", &["--append", "--groups", g, name]);
    }
}

fn os_group(name: &str) {
    let exists = std::process::Command::new("getent").args(["group", name]).output().is_ok_and(|o| o.status.success());
    if !exists {
        let status = std::process::Command::new("groupadd").arg(name).status().unwrap();
        assert!(status.success() || status.code() == Some(9), "groupadd {name}: {status}");
    }
}

fn paths_as(brain: &Brain, person: &str, query: &str, mode: &str, k: &str) -> Vec<String> {
    let results = brain.json(&["search", query, "--mode", mode, "--k", k, "--as", person]);
    results["results"].as_array().unwrap().iter().map(|h| h["path"].as_str().unwrap().to_string()).collect()
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The accounts the access tests use (alice in the finance group, bob alone), a `brain` and a
/// folder open to all (a temp dir is 700): `None` when not root — the test is skipped, except
/// in CI, which must run it.
fn accounts_and_a_folder() -> Option<(Brain, tempfile::TempDir)> {
    if brain_access::effective_uid() != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI must run this test as root: it makes OS users");
        eprintln!("skipped: making OS users needs root");
        return None;
    }
    os_group("cbfinance");
    os_user("cbalice", &["cbfinance"]);
    os_user("cbbob", &[]);
    let docs = tempfile::tempdir().unwrap();
    chmod(docs.path(), 0o755);
    Some((Brain::new(), docs))
}

/// Access as the file system grants it, with real accounts made by the test: what a person may
/// not read is never among their results by any search mode nor in an answer's sources; the k
/// results are the best k they may read even when the best 20 overall are someone else's; and
/// `setfacl` / `chmod` open and close a file to them live, through the watcher, without
/// re-embedding it. Needs root (useradd, chown); CI runs as root.
#[test]
fn a_person_sees_only_what_their_account_may_read_and_permissions_are_followed_live() {
    let Some((brain, docs)) = accounts_and_a_folder() else { return };
    let root = docs.path().canonicalize().unwrap();
    write(&root.join("open/cafeteria.md"), "# Cafeteria\n\nThe cafeteria serves lunch from noon until two.\n");
    write(&root.join("open/pay.md"), "# Pay\n\nPay is reviewed once a year, in March, by each department.\n");
    write(&root.join("finance/budget.md"), "# Budget\n\nThe finance team's travel budget for 2027 is 18,000 euros.\n");
    let secret = root.join("private/bob-salary-review.md");
    write(&secret, "# Salary review: Bob\n\nBob's salary review grants the quince-marmalade bonus of 4,200 euros.\n");
    // Twenty-four more of bob's salary reviews: the best 20 results for "salary review" are his.
    for i in 0..24 {
        write(
            &root.join(format!("private/review-{i:02}.md")),
            format!("# Salary review {i}\n\nSalary review notes, meeting {i}: salary review pending.\n"),
        );
    }
    for entry in std::fs::read_dir(root.join("private")).unwrap() {
        let path = entry.unwrap().path();
        system("chown", &["cbbob:cbbob", path.to_str().unwrap()]);
        chmod(&path, 0o640);
    }
    chmod(&root.join("private"), 0o755);
    system("chgrp", &["cbfinance", root.join("finance/budget.md").to_str().unwrap()]);
    chmod(&root.join("finance/budget.md"), 0o640);
    chmod(&root.join("finance"), 0o755);
    for f in ["open/cafeteria.md", "open/pay.md"] {
        chmod(&root.join(f), 0o644);
    }
    brain.add_folder(&root);
    let mut watcher = brain.watch();
    wait_for(&mut watcher, "idle", Duration::from_secs(120));

    let private = root.join("private").display().to_string();
    let secret_s = secret.display().to_string();
    for mode in ["hybrid", "vector", "keyword"] {
        let found = paths_as(&brain, "cbalice", "quince-marmalade bonus in Bob's salary review", mode, "20");
        assert!(found.iter().all(|p| !p.starts_with(&private)), "{mode}: alice found bob's files: {found:?}");
        assert!(paths_as(&brain, "cbbob", "quince-marmalade bonus", mode, "5").contains(&secret_s), "{mode}: bob finds his own file");
    }
    assert!(paths_as(&brain, "cbalice", "quince", "keyword", "20").is_empty(), "an exact secret word finds nothing");
    // The owner of the index (root here) sees everything; alice sees her group's file.
    assert!(brain.search("quince", "keyword").iter().any(|h| h["path"] == secret_s.as_str()));
    assert_eq!(
        paths_as(&brain, "cbalice", "travel budget 2027", "hybrid", "1"),
        vec![root.join("finance/budget.md").display().to_string()]
    );
    assert!(
        !paths_as(&brain, "cbbob", "travel budget 2027", "hybrid", "5").contains(&root.join("finance/budget.md").display().to_string())
    );
    // The best 20 for "salary review" are bob's; alice still gets the best she may read.
    let everyone = brain.json(&["search", "salary review", "--mode", "hybrid", "--k", "20"])["results"].as_array().unwrap().clone();
    let bobs = everyone.iter().filter(|h| h["path"].as_str().unwrap().starts_with(&private)).count();
    assert_eq!(bobs, 20, "the fixture's premise: {everyone:?}");
    let alices = paths_as(&brain, "cbalice", "salary review", "hybrid", "3");
    assert_eq!(alices.first(), Some(&root.join("open/pay.md").display().to_string()), "{alices:?}");
    assert!(alices.iter().all(|p| !p.starts_with(&private)), "{alices:?}");

    // An answer for alice: nothing of bob's among its sources, his figure nowhere in it.
    let answer = brain.json(&["ask", "What is the quince-marmalade bonus in Bob's salary review?", "--as", "cbalice"]);
    let sources: Vec<&str> = answer["citations"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert!(sources.iter().all(|p| !p.starts_with(&private)), "{sources:?}");
    assert!(!answer["answer"].as_str().unwrap().contains("4,200"), "{answer}");

    // setfacl opens bob's file to alice, live; chmod 600 (the ACL's mask) closes it again.
    system("setfacl", &["-m", "u:cbalice:r", &secret_s]);
    eventually("an ACL entry opens the file to alice", LIMIT, || {
        paths_as(&brain, "cbalice", "quince", "keyword", "5") == vec![secret_s.clone()]
    });
    let readers_only = wait_for(&mut watcher, "idle", LIMIT);
    assert_eq!((readers_only["readers_changed"].as_u64(), readers_only["embedded"].as_u64()), (Some(1), Some(0)), "{readers_only}");
    chmod(&secret, 0o600);
    eventually("chmod 600 closes it again", LIMIT, || paths_as(&brain, "cbalice", "quince", "keyword", "5").is_empty());
    assert_eq!(paths_as(&brain, "cbbob", "quince", "keyword", "5"), vec![secret_s.clone()]);

    // A share whose files only the indexing account may read, opened to a group by a folder
    // policy (the registry change is followed by the watcher too).
    let share = tempfile::tempdir().unwrap();
    let share_root = share.path().canonicalize().unwrap();
    chmod(&share_root, 0o700);
    write(&share_root.join("forecast.md"), "# Forecast\n\nThe walrus-lantern forecast expects 7 % growth.\n");
    chmod(&share_root.join("forecast.md"), 0o600);
    brain.run(&["folders", "add", share_root.to_str().unwrap(), "--readers", "group:cbfinance"]);
    let forecast = share_root.join("forecast.md").display().to_string();
    eventually("the policy's group finds the share's file", LIMIT, || {
        paths_as(&brain, "cbalice", "walrus-lantern", "keyword", "5") == vec![forecast.clone()]
    });
    assert!(paths_as(&brain, "cbbob", "walrus-lantern", "keyword", "5").is_empty(), "not in the policy's group");
    assert!(terminate(watcher).success());
}

/// One HTTP/1.1 request over a plain socket (the test needs no HTTP client): the status and the
/// raw body (chunked bodies are left as they came; the checks look for words in them).
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        request.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn url_encoded(path: &str) -> String {
    path.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `brain serve` for a team, with real accounts: each person's token gets only what their account
/// may read, by search, answer, follow-up and file; a conversation is its asker's alone; hostile
/// requests get clear errors and leak nothing; a client leaving mid-answer does not leave the
/// server stuck; every request is in the audit log.
#[test]
fn a_team_server_answers_each_person_only_from_what_they_may_read() {
    let Some((brain, docs)) = accounts_and_a_folder() else { return };
    let root = docs.path().canonicalize().unwrap();
    let open = root.join("cafeteria.md");
    write(&open, "# Cafeteria\n\nThe cafeteria serves lunch from noon until two.\n");
    chmod(&open, 0o644);
    let secret = root.join("bob-salary-review.md");
    write(&secret, "# Salary review: Bob\n\nBob's salary review grants the quince-marmalade bonus of 4,200 euros.\n");
    system("chown", &["cbbob:cbbob", secret.to_str().unwrap()]);
    chmod(&secret, 0o640);
    brain.add_folder(&root);
    brain.run(&["index"]);

    let token = |user: &str, extra: &[&str]| {
        let mut args = vec!["serve", "tokens", "add", user];
        args.extend_from_slice(extra);
        String::from_utf8(brain.run(&args).stdout).unwrap().trim().to_string()
    };
    let (alice, bob, expired) = (token("cbalice", &[]), token("cbbob", &[]), token("cbalice", &["--days", "0"]));
    let (mut server, addr) = serving(brain.command(&[]), &[]);

    // Who is asking: no token, a wrong one and an expired one are refused.
    assert_eq!(http(&addr, "GET", "/api/whoami", None, None).0, 401);
    assert_eq!(http(&addr, "GET", "/api/whoami", Some("cbt_0000"), None).0, 401);
    let (status, body) = http(&addr, "GET", "/api/whoami", Some(&expired), None);
    assert!(status == 401 && body.contains("expired"), "{status} {body}");
    let (status, body) = http(&addr, "GET", "/api/whoami", Some(&alice), None);
    assert!(status == 200 && body.contains("cbfinance"), "{status} {body}");

    // Search by every mode: nothing of bob's for alice, his own file for bob.
    let secret_s = secret.display().to_string();
    for mode in ["hybrid", "vector", "keyword"] {
        let query = format!(r#"{{"query": "quince-marmalade bonus", "mode": "{mode}", "k": 10}}"#);
        let (status, body) = http(&addr, "POST", "/api/search", Some(&alice), Some(&query));
        assert!(status == 200 && !body.contains("bob-salary"), "{mode}: {status} {body}");
        let (_, body) = http(&addr, "POST", "/api/search", Some(&bob), Some(&query));
        assert!(body.contains(&secret_s), "{mode}: bob finds his file: {body}");
    }
    // A file's bytes: only an indexed file the person may read; anything else the same 404.
    let file = |token: &str, path: &str| http(&addr, "GET", &format!("/api/file?path={}", url_encoded(path)), Some(token), None);
    assert_eq!(file(&alice, &secret_s).0, 404);
    let (status, body) = file(&bob, &secret_s);
    assert!(status == 200 && body.contains("quince"), "{status}");
    assert_eq!(file(&alice, &format!("{}/../{}/bob-salary-review.md", root.display(), root.file_name().unwrap().to_string_lossy())).0, 404);
    assert_eq!(file(&alice, "/etc/passwd").0, 404);
    assert_eq!(file(&alice, &open.display().to_string()).0, 200);
    // Served as a download that nothing runs, never as a page of the server's site.
    let headers = std::process::Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "-H", &format!("Authorization: Bearer {alice}")])
        .arg(format!("http://{addr}/api/file?path={}", url_encoded(&open.display().to_string())))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout).to_lowercase();
    assert!(headers.contains("content-disposition: attachment; filename*=utf-8''cafeteria.md") && headers.contains("sandbox"), "{headers}");
    // Hostile bodies.
    let huge = format!(r#"{{"query": "{}"}}"#, "a".repeat(20_000));
    assert_eq!(http(&addr, "POST", "/api/search", Some(&alice), Some(&huge)).0, 413);
    assert_eq!(http(&addr, "POST", "/api/search", Some(&alice), Some("{not json")).0, 400);
    assert_eq!(http(&addr, "POST", "/api/search", Some(&alice), Some(r#"{"query": "lunch", "mode": "psychic"}"#)).0, 400);

    // An answer for alice streams without bob's figure or file, in a conversation of hers.
    let (status, body) =
        http(&addr, "POST", "/api/ask", Some(&alice), Some(r#"{"question": "What bonus does Bob's salary review grant?"}"#));
    assert!(status == 200 && body.contains("event: done"), "{status} {body}");
    assert!(!body.contains("4,200") && !body.contains("bob-salary"), "{body}");
    let id =
        body.split("event: conversation").nth(1).and_then(|rest| rest.split("\"id\":\"").nth(1)).and_then(|rest| rest.split('"').next());
    let id = id.unwrap_or_else(|| panic!("no conversation event: {body}")).to_string();
    // Her follow-up stays hers; bob cannot continue (or see) it.
    let follow_up = format!(r#"{{"question": "And how large is that bonus in euros?", "conversation": "{id}"}}"#);
    let (status, body) = http(&addr, "POST", "/api/ask", Some(&alice), Some(&follow_up));
    assert!(status == 200 && body.contains("event: done") && !body.contains("4,200") && !body.contains("bob-salary"), "{status} {body}");
    let (status, body) = http(&addr, "POST", "/api/ask", Some(&bob), Some(&follow_up));
    assert!(status == 404 && body.contains("conversation_not_found"), "{status} {body}");
    let (status, _) = http(&addr, "POST", "/api/ask", Some(&alice), Some(r#"{"question": "x?", "conversation": "../../etc/passwd"}"#));
    assert_eq!(status, 404);
    // What each may read of the index, in counts: nothing of the rest, not even how much.
    let (status, body) = http(&addr, "GET", "/api/status", Some(&alice), None);
    assert!(status == 200 && body.contains("\"documents\":1,"), "alice reads the cafeteria only: {status} {body}");
    let (_, body) = http(&addr, "GET", "/api/status", Some(&bob), None);
    assert!(body.contains("\"documents\":2,"), "bob reads both: {body}");
    assert_eq!(http(&addr, "GET", "/api/status", None, None).0, 401);
    // The conversation lists are each person's own; nobody deletes or reads another's.
    let (status, body) = http(&addr, "GET", "/api/conversations", Some(&alice), None);
    assert!(status == 200 && body.contains(&id), "{status} {body}");
    let (status, body) = http(&addr, "GET", "/api/conversations", Some(&bob), None);
    assert!(status == 200 && !body.contains(&id), "{status} {body}");
    for (method, path) in [
        ("GET", format!("/api/conversations/{id}")),
        ("GET", format!("/api/ui/conversations/{id}")),
        ("DELETE", format!("/api/conversations/{id}")),
    ] {
        assert_eq!(http(&addr, method, &path, Some(&bob), None).0, 404, "{method} {path}");
    }
    let (status, body) = http(&addr, "GET", &format!("/api/ui/conversations/{id}"), Some(&alice), None);
    assert!(status == 200 && body.contains("\"html\"") && !body.contains("4,200"), "{status} {body}");
    // The viewer: bob's file is "not found" for alice, his own for him; the page is a download.
    let view = |token: &str, path: &str| {
        let body = serde_json::json!({ "path": path, "location": {}, "passage": "quince-marmalade bonus", "evidence": [] }).to_string();
        http(&addr, "POST", "/api/ui/document", Some(token), Some(&body))
    };
    let (status, body) = view(&alice, &secret_s);
    assert!(status == 404 && !body.contains("quince"), "{status} {body}");
    let (status, body) = view(&bob, &secret_s);
    assert!(status == 200 && body.contains("\"cited\":true") && body.contains("quince-marmalade bonus"), "{status} {body}");

    // Bob starts an answer and hangs up after its sources: the server carries on.
    {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        let question = r#"{"question": "What bonus does Bob's salary review grant, and how large is it?"}"#;
        let request = format!(
            "POST /api/ask HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bob}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{question}",
            question.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut first = [0u8; 256];
        let _ = stream.read(&mut first).unwrap();
    }
    let (status, body) = http(&addr, "POST", "/api/ask", Some(&bob), Some(r#"{"question": "What bonus does Bob's salary review grant?"}"#));
    assert!(status == 200 && body.contains("event: done") && body.contains(&secret_s), "{status} {body}");

    // Permissions that change afterwards reach saved conversations: bob's file opened to alice
    // (setfacl) is among her answer's sources; once closed again (chmod 600), that turn of her
    // conversation shows its question only — nothing of the file, by either view.
    system("setfacl", &["-m", "u:cbalice:r", &secret_s]);
    brain.run(&["index"]);
    let asked = r#"{"question": "What bonus does Bob's salary review grant?"}"#;
    // The server follows the index's commits within a second.
    std::thread::sleep(Duration::from_millis(1500));
    let (status, opened) = http(&addr, "POST", "/api/ask", Some(&alice), Some(asked));
    assert!(status == 200 && opened.contains(&secret_s), "alice's answer draws on bob's file once it is opened to her: {opened}");
    let opened_id =
        opened.split("event: conversation").nth(1).and_then(|rest| rest.split("\"id\":\"").nth(1)).and_then(|rest| rest.split('"').next());
    let opened_id = opened_id.unwrap_or_else(|| panic!("no conversation event: {opened}")).to_string();
    let (_, body) = http(&addr, "GET", &format!("/api/conversations/{opened_id}"), Some(&alice), None);
    assert!(body.contains("quince-marmalade"), "{body}");
    chmod(&secret, 0o600);
    brain.run(&["index"]);
    eventually("the closed file's turn is withheld from alice", LIMIT, || {
        [format!("/api/conversations/{opened_id}"), format!("/api/ui/conversations/{opened_id}")].iter().all(|path| {
            let (status, body) = http(&addr, "GET", path, Some(&alice), None);
            status == 200
                && body.contains("withheld")
                && body.contains("What bonus does Bob")
                && !body.contains("quince")
                && !body.contains("bob-salary")
        })
    });

    let audit = std::fs::read_to_string(brain.data.path().join("audit.log")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"user\":\"cbalice\"") && l.contains("\"action\":\"search\"")), "{audit}");
    assert!(
        audit.lines().any(|l| l.contains("\"user\":\"cbbob\"") && l.contains("\"action\":\"file\"") && l.contains(&secret_s)),
        "{audit}"
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// A Garage cluster (three nodes on loopback, replication factor 3) started by CI's own script,
/// `.ci/garage-cluster`; stopped when dropped.
struct GarageCluster {
    dir: tempfile::TempDir,
}

impl GarageCluster {
    /// `None` when Garage is not installed — the test is skipped, except in CI, which must run it.
    fn start() -> Option<GarageCluster> {
        let installed = std::process::Command::new("sh").args(["-c", "command -v garage || test -x \"$HOME/.cargo/bin/garage\""]).output();
        if !installed.is_ok_and(|o| o.status.success()) {
            assert!(std::env::var_os("CI").is_none(), "CI must run this test: .ci/setup installs Garage");
            eprintln!("skipped: Garage is not installed (cargo install garage, see .ci/setup)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // Ports of their own per run, away from Garage's defaults (3900…).
        let base = 40_000 + (std::process::id() % 500) * 40;
        let cluster = GarageCluster { dir };
        cluster.script(&["start", &cluster.dir.path().to_string_lossy(), &base.to_string()]);
        Some(cluster)
    }

    fn script(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/garage-cluster");
        let out = std::process::Command::new(&script).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "garage-cluster {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The `AWS_*` settings that reach node `n`.
    fn settings(&self, n: u32) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.dir.path().join(format!("env{n}"))).unwrap();
        text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn stop_node(&self, n: u32) {
        self.script(&["stop", &self.dir.path().to_string_lossy(), &n.to_string()]);
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/garage-cluster");
        let _ = std::process::Command::new(script).args(["stop", &self.dir.path().to_string_lossy()]).output();
    }
}

/// `brain ARGS` on the shared index `uri` through Garage node `node`, with this machine's part
/// of it (settings, folders, tokens) under `home`.
fn on_shared_index(brain: &Brain, cluster: &GarageCluster, node: u32, uri: &str, home: &Path, args: &[&str]) -> std::process::Command {
    let mut command = brain.command(args);
    command.env("BRAIN_DATA_DIR", uri).env("XDG_DATA_HOME", home).envs(cluster.settings(node));
    command
}

fn succeeded(mut command: std::process::Command) -> String {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A `brain serve [EXTRA]` and its address.
fn serving(mut command: std::process::Command, extra: &[&str]) -> (std::process::Child, String) {
    let mut server = command.args(["serve", "--listen", "127.0.0.1:0"]).args(extra).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(server.stdout.take().unwrap()), &mut first_line).unwrap();
    let line = first_line.trim();
    let addr = line.strip_prefix("listening on http://").or_else(|| line.strip_prefix("listening on https://"));
    (server, addr.unwrap_or_else(|| panic!("{first_line}")).to_string())
}

/// The shared index of a team in object storage: one indexer writes it to a real Garage cluster;
/// two `brain serve` replicas, each with its own local folder and each through another node,
/// read it (from copies on their disks, kept current from the bucket); a file the indexer adds
/// is found by both within seconds; with one of the three nodes stopped, the replicas keep
/// answering and the indexer keeps writing; the indexer rebuilds and the replicas follow; with
/// every node stopped, the replicas answer from their copies. Bad settings are clear errors.
#[test]
fn a_shared_index_in_object_storage_is_written_by_one_indexer_and_read_by_replicas_while_a_node_is_down() {
    let Some(cluster) = GarageCluster::start() else { return };
    let brain = Brain::new();
    let uri = "s3://brain/team-index";
    let (writer_home, replica1_home, replica2_home) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().canonicalize().unwrap();
    write(&root.join("harbour.md"), "# Harbour\n\nThe harbour master logs the tide at the quillwort pier every morning.\n");
    let writer = |args: &[&str]| succeeded(on_shared_index(&brain, &cluster, 1, uri, writer_home.path(), args));
    writer(&["folders", "add", root.to_str().unwrap()]);
    let indexed: Value = serde_json::from_str(&writer(&["index", "--json"])).unwrap();
    assert_eq!(indexed["summary"]["indexed"], 1, "{indexed}");

    // One writer among machines: another machine's live lease (planted with curl's SigV4, as
    // that machine would have written it) makes this indexer wait, saying whose it is; once
    // it is gone the indexer writes, and releases its own lease when done.
    let settings: std::collections::HashMap<String, String> = cluster.settings(1).into_iter().collect();
    let lease_url = format!("{}/brain/team-index/writer.json", settings["AWS_ENDPOINT_URL"]);
    let s3 = |args: &[&str]| {
        let user = format!("{}:{}", settings["AWS_ACCESS_KEY_ID"], settings["AWS_SECRET_ACCESS_KEY"]);
        let out = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4", &format!("aws:amz:{}:s3", settings["AWS_REGION"])])
            .args(["--user", &user, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
            .args(args)
            .arg(&lease_url)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let renewed_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let planted = format!(r#"{{"id":"0123456789abcdef","host":"indexer-2","pid":4242,"command":"brain watch","renewed_ms":{renewed_ms}}}"#);
    assert_eq!(s3(&["-X", "PUT", "--data-binary", &planted]), "200");
    write(&root.join("quay.md"), "# Quay\n\nThe quay crane lifts the kelp barges at slack water.\n");
    let mut waiting =
        on_shared_index(&brain, &cluster, 1, uri, writer_home.path(), &["index"]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(6));
    assert!(waiting.try_wait().unwrap().is_none(), "the indexer waits while another machine's lease is live");
    assert_eq!(s3(&["-X", "DELETE"]), "204");
    let out = waiting.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("process 4242 (brain watch) on indexer-2"), "{said}");
    assert_eq!(s3(&[]), "404", "the lease is released when the indexer is done");

    // Bad settings: a clear error naming what is missing or refused, not a hang or a local index.
    let mut no_keys = on_shared_index(&brain, &cluster, 1, uri, replica1_home.path(), &["search", "tide"]);
    no_keys.env_remove("AWS_ACCESS_KEY_ID");
    let out = no_keys.output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"), "{out:?}");
    let mut wrong_secret = on_shared_index(&brain, &cluster, 1, uri, replica1_home.path(), &["search", "tide"]);
    wrong_secret.env("AWS_SECRET_ACCESS_KEY", "0".repeat(64));
    let out = wrong_secret.output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("shared index"), "{out:?}");

    // Two replicas, each through another node, each with its own tokens.
    let me = brain_access::user_name(brain_access::effective_uid());
    let token = |home: &Path, node| {
        succeeded(on_shared_index(&brain, &cluster, node, uri, home, &["serve", "tokens", "add", &me])).trim().to_string()
    };
    let replicas = [(replica1_home.path(), 1), (replica2_home.path(), 2)]
        .map(|(home, node)| (token(home, node), serving(on_shared_index(&brain, &cluster, node, uri, home, &[]), &[])));
    let found = |phrase: &str| {
        replicas.iter().all(|(token, (_, addr))| {
            let query = format!(r#"{{"query": "{phrase}", "mode": "keyword", "k": 5}}"#);
            let (status, body) = http(addr, "POST", "/api/search", Some(token), Some(&query));
            // Not 200 only while a replica still holds a rebuilt index's deleted tables (< 1 s).
            status == 200 && body.contains(phrase.split(' ').next().unwrap())
        })
    };
    assert!(found("quillwort pier"), "both replicas read what the indexer wrote");
    // Each replica searches a copy of the index on its own disk, not the bucket.
    for home in [replica1_home.path(), replica2_home.path()] {
        let copy = home.join("corporate-brain/shared/brain_team-index/shared-index-copy/lancedb");
        for table in ["documents", "chunks", "identities"] {
            assert!(copy.join(format!("{table}.lance/_versions")).is_dir(), "{} has no copy of {table}", copy.display());
        }
    }

    // A new file, indexed by the writer: both replicas find it within seconds.
    write(&root.join("ferry.md"), "# Ferry\n\nThe ferry to the saltmarsh island leaves from berth nine at dawn.\n");
    writer(&["index"]);
    let written = Instant::now();
    eventually("both replicas find the new file", Duration::from_secs(10), || found("saltmarsh island"));
    eprintln!("replicas found the new file {:?} after the indexer's commit", written.elapsed());

    // One node of three stops: reads and writes still reach a quorum of two.
    cluster.stop_node(3);
    let node3 = cluster.settings(3).into_iter().find(|(k, _)| k == "AWS_ENDPOINT_URL").unwrap().1;
    assert!(std::net::TcpStream::connect(node3.trim_start_matches("http://")).is_err(), "node 3 is down");
    assert!(found("quillwort pier"), "replicas keep answering with a node down");
    write(&root.join("lighthouse.md"), "# Lighthouse\n\nThe lighthouse lamp on the cormorant rock is cleaned each Sunday.\n");
    writer(&["index"]);
    eventually("both replicas follow the writer with a node down", Duration::from_secs(10), || found("cormorant rock"));
    let status: Value =
        serde_json::from_str(&succeeded(on_shared_index(&brain, &cluster, 2, uri, replica2_home.path(), &["status", "--json"]))).unwrap();
    assert_eq!((status["files"]["indexed"].as_u64(), status["files"]["pending"].as_u64()), (Some(4), Some(0)), "{status}");
    assert_eq!(status["shared_index"], uri, "{status}");

    // The indexer rebuilds (the prefix's objects deleted, everything indexed again): the
    // replicas, which had the old index open, follow the new one.
    let rebuilt: Value = serde_json::from_str(&writer(&["index", "--rebuild", "--json"])).unwrap();
    assert_eq!(rebuilt["summary"]["indexed"], 4, "{rebuilt}");
    eventually("both replicas read the rebuilt index", Duration::from_secs(10), || found("cormorant rock") && found("quillwort pier"));

    // The whole store down: each replica answers from its copy as it last was.
    cluster.stop_node(1);
    cluster.stop_node(2);
    std::thread::sleep(Duration::from_secs(2));
    assert!(found("cormorant rock") && found("saltmarsh island"), "replicas answer from their copies with the store down");

    for (_, (mut server, _)) in replicas {
        let _ = server.kill();
        let _ = server.wait();
    }
}

/// `brain serve` over HTTPS (rustls) with a certificate made by openssl: a client trusting that
/// certificate gets the API; one trusting only the system's authorities, and plain HTTP to the
/// same port, get nothing; a key that is not the certificate's, and plain HTTP on an address
/// other machines reach (unless asked for), are refused before anything listens.
#[test]
fn a_team_server_speaks_https_with_its_certificate_and_plain_http_only_on_loopback() {
    let brain = Brain::new();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().to_string();
    let (cert, key, other_key) = (path("cert.pem"), path("key.pem"), path("other-key.pem"));
    let p256 = ["-pkeyopt", "ec_paramgen_curve:P-256"];
    system(
        "openssl",
        &[
            &["req", "-x509", "-newkey", "ec"][..],
            &p256,
            &["-nodes", "-days", "1", "-subj", "/CN=brain-test", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", &key, "-out", &cert],
        ]
        .concat(),
    );
    system("openssl", &[&["genpkey", "-algorithm", "EC"][..], &p256, &["-out", &other_key]].concat());
    let me = brain_access::user_name(brain_access::effective_uid());
    let token = String::from_utf8(brain.run(&["serve", "tokens", "add", &me]).stdout).unwrap().trim().to_string();

    let (mut server, addr) = serving(brain.command(&[]), &["--tls-cert", &cert, "--tls-key", &key]);
    let curl = |args: &[&str]| std::process::Command::new("curl").args(["-sS", "--max-time", "20"]).args(args).output().unwrap();
    let auth = format!("Authorization: Bearer {token}");
    let out = curl(&["--cacert", &cert, "-H", &auth, &format!("https://{addr}/api/whoami")]);
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && body.contains(&format!("\"{me}\"")), "{out:?}");
    let out = curl(&["--cacert", &cert, &format!("https://{addr}/api/whoami")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("unauthenticated"), "over TLS, a token is still needed: {out:?}");
    let out = curl(&["-H", &auth, &format!("https://{addr}/api/whoami")]);
    assert!(!out.status.success(), "a client that does not trust the certificate gets nothing: {out:?}");
    let out = curl(&["-H", &auth, &format!("http://{addr}/api/whoami")]);
    assert!(!out.status.success() && out.stdout.is_empty(), "plain HTTP to the TLS port gets nothing: {out:?}");
    // The server still answers after those.
    assert!(curl(&["--cacert", &cert, "-H", &auth, &format!("https://{addr}/api/whoami")]).status.success());
    let _ = server.kill();
    let _ = server.wait();

    let refused = |args: &[&str]| {
        let out = brain.command(&[&["serve"][..], args].concat()).output().unwrap();
        assert!(!out.status.success(), "{args:?} must be refused");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let stderr = refused(&["--listen", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &other_key]);
    assert!(stderr.contains("TLS") && stderr.contains("other-key.pem"), "{stderr}");
    let stderr = refused(&["--listen", "127.0.0.1:0", "--tls-cert", &key, "--tls-key", &key]);
    assert!(stderr.contains("no certificate"), "{stderr}");
    let stderr = refused(&["--listen", "0.0.0.0:0"]);
    assert!(stderr.contains("--tls-cert") && stderr.contains("--plain-http"), "{stderr}");
}

/// `POST /api/sign-in` on a `brain serve --pam`: the account's password, checked by the real PAM
/// stack (pam_unix over /etc/shadow, the password set with chpasswd), gives a session token that
/// acts as that person; a wrong password and an unknown account get the same 401; after five
/// failures an account is refused without a password being checked; without `--pam` the route
/// is off.
#[test]
fn a_person_signs_in_with_their_account_password_through_pam() {
    let Some((brain, _docs)) = accounts_and_a_folder() else { return };
    let password = alice_can_sign_in();
    let (mut off, addr) = serving(brain.command(&[]), &[]);
    let (status, _) = http(&addr, "POST", "/api/sign-in", None, Some(&format!(r#"{{"user": "cbalice", "password": "{password}"}}"#)));
    assert_eq!(status, 404, "sign-in by password is off without --pam");
    let _ = off.kill();
    let _ = off.wait();

    let (mut server, addr) = serving(brain.command(&[]), &["--pam"]);
    let sign_in = |user: &str, password: &str| {
        http(&addr, "POST", "/api/sign-in", None, Some(&format!(r#"{{"user": "{user}", "password": "{password}"}}"#)))
    };
    let (status, wrong) = sign_in("cbalice", "marmalade");
    assert_eq!(status, 401, "{wrong}");
    let (status, unknown) = sign_in("cbnobody", "marmalade");
    assert_eq!((status, unknown.contains("wrong user name or password")), (401, true), "{unknown}");
    assert_eq!(sign_in("../etc", "x").0, 400);
    let (status, body) = sign_in("cbalice", password);
    assert_eq!(status, 200, "{body}");
    let token = body.split("\"token\":\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_string();
    let (status, body) = http(&addr, "GET", "/api/whoami", Some(&token), None);
    assert!(status == 200 && body.contains("\"cbalice\"") && body.contains("cbfinance"), "{status} {body}");
    // Five failures lock bob's sign-ins, right password or not; alice's are not.
    for _ in 0..5 {
        assert_eq!(sign_in("cbbob", "guess").0, 401);
    }
    let (status, body) = sign_in("cbbob", "guess");
    assert!(status == 429 && body.contains("too many failed sign-ins"), "{status} {body}");
    assert_eq!(sign_in("cbalice", password).0, 200);
    let _ = server.kill();
    let _ = server.wait();
    let audit = std::fs::read_to_string(brain.data.path().join("audit.log")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"user\":\"cbalice\"") && l.contains("\"action\":\"sign-in\"")), "{audit}");
    assert!(audit.lines().any(|l| l.contains("\"user\":\"cbnobody\"") && l.contains("sign-in refused")), "{audit}");
}

/// The PAM service the package installs (a test machine without the package gets it here), and
/// a password for cbalice; returns it.
fn alice_can_sign_in() -> &'static str {
    let service = Path::new("/etc/pam.d/corporate-brain");
    if !service.exists() {
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri/packaging/pam-corporate-brain"), service).unwrap();
    }
    let password = "Quince-Marmalade-2026";
    let mut chpasswd = std::process::Command::new("chpasswd").stdin(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut chpasswd.stdin.take().unwrap(), format!("cbalice:{password}\n").as_bytes()).unwrap();
    assert!(chpasswd.wait().unwrap().success());
    password
}

/// Single sign-on behind a reverse proxy: `--trusted-header X-Remote-User --trusted-proxy IP`
/// believes the header only on connections from that address; from anywhere else it is ignored
/// (the request needs a token), and a proxy naming an unknown account is refused.
#[test]
fn a_trusted_proxy_names_the_person_and_nobody_else_can() {
    let brain = Brain::new();
    let me = brain_access::user_name(brain_access::effective_uid());
    let whoami = |addr: &str, user: &str| {
        let out = std::process::Command::new("curl")
            .args(["-sS", "--max-time", "20", "-H", &format!("X-Remote-User: {user}"), &format!("http://{addr}/api/whoami")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let (mut server, addr) = serving(brain.command(&[]), &["--trusted-header", "X-Remote-User", "--trusted-proxy", "127.0.0.1"]);
    assert!(whoami(&addr, &me).contains(&format!("\"user\":\"{me}\"")), "the proxy names the person");
    assert!(whoami(&addr, "cb-no-such-account").contains("unknown account"));
    assert_eq!(http(&addr, "GET", "/api/whoami", None, None).0, 401, "without the header: a token is needed");
    let _ = server.kill();
    let _ = server.wait();
    // The same header from a peer that is not the proxy is not believed.
    let (mut server, addr) = serving(brain.command(&[]), &["--trusted-header", "X-Remote-User", "--trusted-proxy", "192.0.2.1"]);
    let body = whoami(&addr, &me);
    assert!(body.contains("unauthenticated") && !body.contains(&format!("\"user\":\"{me}\"")), "{body}");
    let _ = server.kill();
    let _ = server.wait();
}

/// One WebDriver request: chromedriver keeps connections open whatever the request says, so the
/// reply is read by its Content-Length, not to the end of the stream.
fn webdriver(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    use std::io::{BufRead, Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = std::io::BufReader::new(stream);
    let (mut status, mut length) = (0u16, 0usize);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
        if line.starts_with("HTTP/") {
            status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        } else if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut reply = vec![0u8; length];
    reader.read_exact(&mut reply).unwrap();
    (status, String::from_utf8_lossy(&reply).into_owned())
}

/// Headless Chromium driven over WebDriver (chromedriver), for the served web UI; the browser
/// and its driver are killed when dropped.
struct Browser {
    driver: std::process::Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` when Chromium's driver is not installed — the test is skipped, except in CI.
    fn start(downloads: &Path) -> Option<Browser> {
        let Some(driver) = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].into_iter().find(|p| Path::new(p).is_file()) else {
            assert!(std::env::var_os("CI").is_none(), "CI must run the browser test: apt install chromium chromium-driver (.ci/setup)");
            eprintln!("skipped: no chromedriver (Debian: chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = std::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let addr = format!("127.0.0.1:{port}");
        eventually("chromedriver listening", Duration::from_secs(30), || std::net::TcpStream::connect(&addr).is_ok());
        let profile = tempfile::tempdir().unwrap();
        let capabilities = serde_json::json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
            // As root (CI) Chromium's sandbox cannot start; the page is the test's own.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.path().display())],
            "prefs": { "download.default_directory": downloads.display().to_string(), "download.prompt_for_download": false }
        } } } });
        let (status, body) = webdriver(&addr, "POST", "/session", Some(&capabilities.to_string()));
        assert_eq!(status, 200, "a Chromium session: {body}");
        let reply: Value = serde_json::from_str(&body).unwrap();
        let session = reply["value"]["sessionId"].as_str().unwrap().to_string();
        Some(Browser { driver, addr, session, _profile: profile })
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" { None } else { Some(body.to_string()) };
        let (status, reply) = webdriver(&self.addr, method, &format!("/session/{}{path}", self.session), body.as_deref());
        assert_eq!(status, 200, "{method} {path}: {reply}");
        serde_json::from_str::<Value>(&reply).unwrap()["value"].take()
    }

    fn script(&self, js: &str, args: Value) -> Value {
        self.command("POST", "/execute/sync", serde_json::json!({ "script": js, "args": args }))
    }

    /// Wait until `js` (a function body) returns something truthy, and return it.
    fn until(&self, what: &str, limit: Duration, js: &str) -> Value {
        let start = std::time::Instant::now();
        loop {
            let value = self.script(js, serde_json::json!([]));
            if !(value.is_null() || value == false || value == "") {
                return value;
            }
            assert!(start.elapsed() < limit, "{what}: not within {limit:?}; page: {}", self.page_text());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn page_text(&self) -> String {
        self.script("return document.body.innerText", serde_json::json!([])).as_str().unwrap_or_default().to_string()
    }

    fn element(&self, css: &str) -> String {
        let found = self.command("POST", "/element", serde_json::json!({ "using": "css selector", "value": css }));
        found.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_string()
    }

    /// Click the element like a person (WebDriver's click: scrolled into view, real events).
    fn click(&self, css: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/click"), serde_json::json!({}));
    }

    /// A PNG of the page, saved as `dir/name` for the README (coreutils decodes WebDriver's base64).
    fn screenshot(&self, dir: &Path, name: &str) {
        let encoded = self.command("GET", "/screenshot", Value::Null);
        let mut decode = std::process::Command::new("base64")
            .arg("-d")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut decode.stdin.take().unwrap(), encoded.as_str().unwrap().as_bytes()).unwrap();
        let png = decode.wait_with_output().unwrap().stdout;
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a PNG screenshot of the page");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/clear"), serde_json::json!({}));
        self.command("POST", &format!("/element/{id}/value"), serde_json::json!({ "text": text }));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = webdriver(&self.addr, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The web UI that `brain serve` gives browsers, in real headless Chromium: alice signs in with
/// her account's password (a wrong one is refused on the page), asks, gets an answer streamed
/// with its sources, opens a citation (the passage marked in its document, drawn by the server)
/// and downloads the file; nothing of bob's private file appears on any screen, by answer or by
/// search; the desktop-only views are not there. Needs root (accounts, PAM) and chromium-driver.
#[test]
fn the_served_web_ui_signs_in_asks_and_opens_a_citation_in_a_real_browser() {
    let Some((brain, docs)) = accounts_and_a_folder() else { return };
    let downloads = tempfile::tempdir().unwrap();
    let Some(browser) = Browser::start(downloads.path()) else { return };
    let password = alice_can_sign_in();
    let root = docs.path().canonicalize().unwrap();
    let fleet = root.join("fleet.md");
    write(&fleet, "# Fleet\n\nHarbor Lane Freight runs 37 electric vans from the Dunmore depot.\n");
    chmod(&fleet, 0o644);
    let secret = root.join("bob-fleet-bonus.md");
    write(&secret, "# Bob's fleet bonus\n\nBob's fleet bonus for the electric vans is the quince-marmalade award of 4,200 euros.\n");
    system("chown", &["cbbob:cbbob", secret.to_str().unwrap()]);
    chmod(&secret, 0o640);
    brain.add_folder(&root);
    brain.run(&["index"]);
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist");
    assert!(ui.join("index.html").is_file(), "the web UI is built by .ci/setup (cd ui && npm ci && npm run build)");
    let (mut server, addr) = serving(brain.command(&[]), &["--pam", "--ui", ui.to_str().unwrap()]);

    // Screenshots for the README, as the desktop app's test takes them.
    let screenshots = std::env::var_os("BRAIN_SCREENSHOTS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots"));

    // Signing in: the form first; a wrong password is said on the page; the right one signs in.
    browser.command("POST", "/url", serde_json::json!({ "url": format!("http://{addr}/") }));
    browser.until("the sign-in form", Duration::from_secs(30), "return !document.getElementById('sign-in').hidden");
    browser.screenshot(&screenshots, "web-sign-in.png");
    browser.type_into("#sign-in-user", "cbalice");
    browser.type_into("#sign-in-password", "not-her-password");
    browser.click("#sign-in-submit");
    let refusal = browser.until("the refusal", Duration::from_secs(30), "return document.getElementById('sign-in-error').textContent");
    assert!(refusal.as_str().unwrap().contains("wrong user name or password"), "{refusal}");
    browser.type_into("#sign-in-password", password);
    browser.click("#sign-in-submit");
    browser.until("signed in", Duration::from_secs(30), "return document.body.dataset.ready === 'true'");
    let who = browser.script("return document.getElementById('signed-in-as').textContent", serde_json::json!([]));
    assert_eq!(who, "cbalice");
    let hidden = browser.script(
        "return ['nav-folders','nav-settings','panel-reveal'].every(id => document.getElementById(id).hidden)",
        serde_json::json!([]),
    );
    assert_eq!(hidden, true, "the index's folders and settings are the server's, not the browser's");
    let readable = browser.script("return document.getElementById('activity').textContent", serde_json::json!([]));
    assert_eq!(readable, "1 document you may read", "bob's file is not counted");

    // Asking: the answer streams in, with sources; none is bob's.
    browser.type_into("#question", "How many electric vans run from the Dunmore depot, and what is Bob's fleet bonus?");
    browser.click("#send");
    browser.until(
        "the answer with its sources",
        Duration::from_secs(600),
        "return !document.getElementById('stop').hidden ? '' : document.querySelectorAll('.answer .sources [data-cite]').length",
    );
    let page = browser.page_text();
    assert!(
        page.contains("fleet.md") && !page.contains("bob-fleet-bonus") && !page.contains("4,200") && !page.contains("quince"),
        "{page}"
    );

    // Opening the citation: the side panel with the passage, marked where it stands in the file.
    browser.click(".answer .sources [data-cite]");
    browser.until(
        "the passage in its document",
        Duration::from_secs(60),
        "return document.getElementById('viewer-body').dataset.shown === 'true'",
    );
    let marked = browser.script(
        "return [document.getElementById('panel-file').textContent, [...document.querySelectorAll('#viewer-body mark.cited')].map(m => m.textContent).join(' ')]",
        serde_json::json!([]),
    );
    assert!(marked[0].as_str().unwrap().contains("fleet.md"), "{marked}");
    assert!(marked[1].as_str().unwrap().contains("37 electric vans"), "the passage is marked in the document: {marked}");
    browser.screenshot(&screenshots, "web-answer.png");
    // Download: the file's bytes, through the person's own token.
    browser.click("#panel-open");
    let saved = downloads.path().join("fleet.md");
    eventually("the download", Duration::from_secs(30), || std::fs::read_to_string(&saved).is_ok_and(|t| t.contains("37 electric vans")));

    // The conversation is listed; search by exact words finds nothing of bob's.
    browser.until(
        "the conversation in the list",
        Duration::from_secs(10),
        "return document.querySelectorAll('#conversation-list li').length === 1",
    );
    browser.click("#nav-search");
    browser.type_into("#search-query", "quince-marmalade award");
    browser.script("document.getElementById('search-mode').value = 'keyword'", serde_json::json!([]));
    browser.click("#search-form button[type=submit]");
    let summary = browser.until(
        "search results",
        Duration::from_secs(30),
        "return document.getElementById('search-summary').textContent.replace('Searching…', '')",
    );
    assert!(!browser.page_text().contains("bob-fleet-bonus"), "{summary}");

    // A session that is no longer valid brings the sign-in form back.
    browser.script("sessionStorage.setItem('corporate-brain-token', 'cbs_0000'); location.reload()", serde_json::json!([]));
    browser.until("the sign-in form again", Duration::from_secs(30), "return !document.getElementById('sign-in').hidden");
    drop(browser);
    let _ = server.kill();
    let _ = server.wait();
    let audit = std::fs::read_to_string(brain.data.path().join("audit.log")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"user\":\"cbalice\"") && l.contains("\"action\":\"view\"")), "{audit}");
}

/// The serve benchmark (`brain-bench serve`, short version): an index made as the scale
/// benchmark makes it, served by `brain serve` in the benchmark's process, loaded by clients
/// searching at once over HTTP as a team member (every hit checked to be the team's, or the run
/// fails), then the same searches on the engine as the member and as the index's owner.
#[test]
fn the_serve_benchmark_loads_a_team_server_with_concurrent_clients() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    for (i, topic) in ["vans", "depots", "leave", "travel", "payroll", "security"].iter().enumerate() {
        let text = format!(
            "# {topic}\n\nThe {topic} policy number {i} covers the {topic} of Harbor Lane Freight, its staff and its sites.\n\nQuestions about {topic} go to the {topic} office in Dunmore.\n"
        );
        write(&docs.path().join(format!("{topic}.md")), &text);
    }
    brain.add_folder(docs.path());
    brain.run(&["index"]);
    let work = tempfile::tempdir().unwrap();
    let work_dir = work.path().to_str().unwrap();
    let serve = brain.bench_json(&["serve", "--chunks", "3000", "--clients", "4", "--searches", "3", "--work-dir", work_dir]);
    assert_eq!((serve["searches"].as_u64(), serve["store"].as_str()), (Some(12), Some("local disk")), "{serve}");
    for run in ["http_as_person", "engine_as_person", "engine_as_owner"] {
        let (p50, p95) = (serve[run]["p50_ms"].as_f64().unwrap(), serve[run]["p95_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p95 >= p50 && serve[run]["searches_per_s"].as_f64().unwrap() > 0.0, "{run}: {serve}");
    }
}
