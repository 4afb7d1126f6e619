//! Shared helpers for the end-to-end tests: a scratch data dir, the real models, and the real
//! `brain` binary run as a user would run it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The models dir the tests use: `BRAIN_MODELS_DIR`, or the default one `brain models fetch`
/// fills. The tests need the real models; without them they fail and say how to get them.
pub fn models_dir() -> PathBuf {
    // The same default as the engine's (EngineOptions::resolve); spelled out here so this test
    // binary does not link the whole engine.
    let dir = std::env::var_os("BRAIN_MODELS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::data_dir().unwrap().join("corporate-brain").join("models"));
    let gguf = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        gguf.is_file(),
        "the end-to-end tests run the real models, and {} is missing: run `cargo run -- models fetch` (or set BRAIN_MODELS_DIR)",
        gguf.display()
    );
    dir
}

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
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("brain {all:?}: bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
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
    status["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (file_name(f), f["error"].as_str().unwrap().to_string()))
        .collect()
}

/// The reason `name` failed; panics if it is not listed.
pub fn reason(failures: &[(String, String)], name: &str) -> String {
    failures
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, e)| e.clone())
        .unwrap_or_else(|| panic!("{name} is not listed as failed: {failures:?}"))
}

pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

pub fn file_name(v: &Value) -> String {
    Path::new(v["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into()
}

/// A PDF with one line of text per page, built with lopdf so no binary fixture is checked in.
pub fn pdf_with_pages(pages: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for text in pages {
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![72.into(), 700.into()]),
                Operation::new("Tj", vec![Object::string_literal(*text)]),
                Operation::new("ET", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        kids.push(doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id }).into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}
