//! Shared helpers for the end-to-end tests: a scratch data dir, the real models, and the real
//! `brain` binary run as a user would run it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The real models, a file writer and in-code fixtures, shared with the other crates' tests.
#[allow(unused_imports)] // each test binary uses its own subset
pub use brain_testkit::{models_dir, pdf_with_pages, write};

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

    pub fn command(&self, args: &[&str]) -> Command {
        let exe = env!("CARGO_BIN_EXE_brain");
        let mut cmd = if self.offline {
            let mut c = Command::new("unshare");
            c.arg("-n").arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args)
            .env("BRAIN_DATA_DIR", self.data.path())
            .env("BRAIN_MODELS_DIR", &self.models)
            .env_remove("BRAIN_LLM")
            .env_remove("BRAIN_EMBEDDER")
            .env_remove("BRAIN_ONNXRUNTIME")
            .env("BRAIN_LOG", "error");
        cmd
    }

    /// Run and require success.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("run brain");
        assert!(
            out.status.success(),
            "brain {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run with `--json` and parse stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("brain {all:?}: bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    pub fn add_folder(&self, folder: &Path) {
        self.run(&["folders", "add", folder.to_str().unwrap()]);
    }

    pub fn search(&self, query: &str, mode: &str) -> Vec<Value> {
        self.json(&["search", query, "--mode", mode, "--k", "5"])["results"].as_array().cloned().unwrap_or_default()
    }
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
