//! Robustness check: parse every file under a folder and report, per extension, how many parsed
//! and why the others failed, with timings and peak memory. Files are only read, never copied.
//!
//! cargo run --release -p brain-parse --example robustness -- /path/to/folder [--verbose]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A parse taking longer than this is reported as a hang.
const HANG: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Tally {
    ok: usize,
    failed: usize,
    sections: usize,
    reasons: BTreeMap<String, usize>,
    time: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose");
    let root = args.iter().find(|a| !a.starts_with("--")).map_or("/work/shared/data/company-docs", String::as_str);
    let mut files = Vec::new();
    walk(Path::new(root), &mut files);
    files.sort();

    let started = Instant::now();
    let mut by_ext: BTreeMap<String, Tally> = BTreeMap::new();
    let mut slowest: Vec<(Duration, PathBuf)> = Vec::new();
    let mut hangs = 0;
    for path in &files {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("(none)").to_ascii_lowercase();
        let Ok(bytes) = std::fs::read(path) else { continue };
        let (tx, rx) = mpsc::channel();
        let p = path.clone();
        let t = Instant::now();
        std::thread::spawn(move || {
            let _ = tx.send(brain_parse::parse(&p, &bytes));
        });
        let tally = by_ext.entry(ext).or_default();
        match rx.recv_timeout(HANG) {
            Ok(Ok(doc)) => {
                tally.ok += 1;
                tally.sections += doc.sections.len();
                if verbose {
                    let first = doc.sections.first().map(|s| s.location.describe()).unwrap_or_default();
                    println!(
                        "ok   {} ({} sections, first at '{first}'){}",
                        path.display(),
                        doc.sections.len(),
                        if doc.warnings.is_empty() { String::new() } else { format!(" warnings: {:?}", doc.warnings) }
                    );
                }
            }
            Ok(Err(e)) => {
                tally.failed += 1;
                *tally.reasons.entry(reason(&e.to_string())).or_default() += 1;
                if verbose {
                    println!("FAIL {}: {e}", path.display());
                }
            }
            Err(_) => {
                hangs += 1;
                tally.failed += 1;
                *tally.reasons.entry("HANG (over 60 s)".into()).or_default() += 1;
                println!("HANG {}", path.display());
            }
        }
        let elapsed = t.elapsed();
        tally.time += elapsed;
        slowest.push((elapsed, path.clone()));
    }
    let total = started.elapsed();

    println!("\n{:<10} {:>5} {:>6} {:>9} {:>10}  failure reasons", "extension", "ok", "failed", "sections", "time");
    for (ext, t) in &by_ext {
        let reasons: Vec<String> = t.reasons.iter().map(|(r, n)| format!("{n}× {r}")).collect();
        println!("{ext:<10} {:>5} {:>6} {:>9} {:>9.2}s  {}", t.ok, t.failed, t.sections, t.time.as_secs_f64(), reasons.join("; "));
    }
    let ok: usize = by_ext.values().map(|t| t.ok).sum();
    let failed: usize = by_ext.values().map(|t| t.failed).sum();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    println!("\n{} files: {ok} ok, {failed} failed, {hangs} hangs, {:.1} s in all", files.len(), total.as_secs_f64());
    println!("slowest:");
    for (d, p) in slowest.iter().take(5) {
        println!("  {:>7.2} s  {}", d.as_secs_f64(), p.display());
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(peak) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!("peak memory: {}", peak.trim_start_matches("VmHWM:").trim());
    }
}

/// A failure message without file-specific details (offsets, names), so that alike ones group.
fn reason(message: &str) -> String {
    let cut = message.find(" (").unwrap_or(message.len());
    let mut r = message[..cut].to_string();
    if r.len() > 110 {
        r.truncate(r.char_indices().nth(110).map_or(r.len(), |(i, _)| i));
        r.push('…');
    }
    r
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}
