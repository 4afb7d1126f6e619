//! Shared helpers for the end-to-end tests: a scratch data dir, the real models, and the real
//! `brain` binary run as a user would run it (by `brain_testkit::process`, the driver the crash
//! harness uses too).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use brain_testkit::process::{BrainRunner, Watcher};
use serde_json::Value;

/// The real models, a file writer and in-code fixtures, shared with the other crates' tests.
#[allow(unused_imports)] // each test binary uses its own subset
pub use brain_testkit::{models_dir, pdf_with_pages, write};

/// The `brain` executable under test, and the harnesses' `brain-bench` beside it.
const BRAIN: &str = env!("CARGO_BIN_EXE_brain");
const BRAIN_BENCH: &str = env!("CARGO_BIN_EXE_brain-bench");

/// A `brain` with its own data dir.
pub struct Brain {
    pub data: tempfile::TempDir,
    pub models: PathBuf,
    /// Run every command with the network switched off (`unshare -n`).
    pub offline: bool,
}

impl Brain {
    pub fn new() -> Brain {
        Brain { data: tempfile::tempdir().unwrap(), models: models_dir(), offline: false }
    }

    pub fn offline() -> Brain {
        let probe = Command::new("unshare").args(["-n", "true"]).status();
        assert!(
            probe.is_ok_and(|s| s.success()),
            "`unshare -n` is needed to prove the pipeline works without a network (run the tests as root, or in a user namespace)"
        );
        Brain { offline: true, ..Brain::new() }
    }

    /// `exe` on this data dir and models, as the shared driver runs it.
    fn runner(&self, exe: &str) -> BrainRunner {
        BrainRunner { offline: self.offline, ..BrainRunner::new(exe, self.data.path(), &self.models) }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.runner(BRAIN).command(args)
    }

    /// Run and require success.
    pub fn run(&self, args: &[&str]) -> Output {
        self.runner(BRAIN).run(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Run with `--json` and parse stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        json_of(&self.runner(BRAIN), args)
    }

    /// `brain-bench ARGS` on this data dir and models.
    pub fn bench_command(&self, args: &[&str]) -> Command {
        self.runner(BRAIN_BENCH).command(args)
    }

    /// `brain-bench ARGS --json`, required to succeed, its stdout parsed.
    pub fn bench_json(&self, args: &[&str]) -> Value {
        json_of(&self.runner(BRAIN_BENCH), args)
    }

    /// A running `brain watch --json`.
    pub fn watch(&self) -> Watcher {
        self.runner(BRAIN).watch(None).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn add_folder(&self, folder: &Path) {
        self.run(&["folders", "add", folder.to_str().unwrap()]);
    }

    pub fn search(&self, query: &str, mode: &str) -> Vec<Value> {
        self.json(&["search", query, "--mode", mode, "--k", "5"])["results"].as_array().cloned().unwrap_or_default()
    }
}

fn json_of(runner: &BrainRunner, args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    runner.json(&all).unwrap_or_else(|e| panic!("{e}"))
}

/// (file name, reason) of every failed file, as `brain status` lists them (sorted by path).
pub fn failures(brain: &Brain) -> Vec<(String, String)> {
    let status = brain.json(&["status"]);
    status["failures"].as_array().unwrap().iter().map(|f| (file_name(f), f["error"].as_str().unwrap().to_string())).collect()
}

/// The reason `name` failed; panics if it is not listed.
pub fn reason(failures: &[(String, String)], name: &str) -> String {
    failures
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, e)| e.clone())
        .unwrap_or_else(|| panic!("{name} is not listed as failed: {failures:?}"))
}

pub fn file_name(v: &Value) -> String {
    Path::new(v["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into()
}
