//! Where things live (data dir, models dir) and the user's settings (`settings.toml` in the data
//! dir). Every setting has a default, so a missing file means "defaults".

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::isolation::Parsers;
use crate::retrieval::SearchMode;

/// How an engine is set up by its front end: where it works, and how it parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// The index, settings and folder list.
    pub data_dir: PathBuf,
    /// A team's shared index in object storage (`s3://bucket/prefix`) instead of the one in
    /// `data_dir`, which keeps everything else (see `home.rs`).
    pub shared_index: Option<String>,
    /// Only read the shared index, from a copy in `data_dir` kept current from the bucket
    /// (`brain serve`: see `home.rs`). No effect on an index in `data_dir`.
    pub replica: bool,
    /// The model files.
    pub models_dir: PathBuf,
    /// Where files are parsed (no default: every front end chooses).
    pub parsers: Parsers,
}

impl EngineOptions {
    /// Directories from the arguments, else the environment (`BRAIN_DATA_DIR`,
    /// `BRAIN_MODELS_DIR`), else the platform defaults; for the models, the machine's
    /// [`SYSTEM_MODELS_DIR`] when the user has no models folder of their own. A data dir
    /// `s3://bucket/prefix` is a shared index, with this machine's part of it in
    /// `<platform data dir>/corporate-brain/shared/bucket/prefix`.
    pub fn resolve(data_dir: Option<PathBuf>, models_dir: Option<PathBuf>, parsers: Parsers) -> Self {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("corporate-brain");
        let data_dir = data_dir.or_else(|| env("BRAIN_DATA_DIR")).unwrap_or_else(|| base.join("index"));
        let shared_index = data_dir.to_str().filter(|d| brain_store::Bucket::is_uri(d)).map(str::to_string);
        EngineOptions {
            data_dir: match &shared_index {
                Some(uri) => base.join("shared").join(local_name_of(uri)),
                None => data_dir,
            },
            shared_index,
            replica: false,
            models_dir: models_dir
                .or_else(|| env("BRAIN_MODELS_DIR"))
                .unwrap_or_else(|| default_models_dir(&base.join("models"), Path::new(SYSTEM_MODELS_DIR))),
            parsers,
        }
    }
}

/// A folder name for a shared index's address: its bucket and prefix, other characters as `_`
/// (no `..` or separators can come through).
fn local_name_of(uri: &str) -> String {
    let name: String = uri
        .trim_start_matches("s3://")
        .trim_end_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') { c } else { '_' })
        .collect();
    name.replace("..", "__")
}

/// Where IT may put the model files once for every user of a machine (readable by all; the
/// package does not ship models): used by anyone who has no models folder of their own.
pub const SYSTEM_MODELS_DIR: &str = "/usr/share/corporate-brain/models";

/// The user's models folder, unless it does not exist and the machine's does.
fn default_models_dir(user: &Path, system: &Path) -> PathBuf {
    if !user.exists() && system.is_dir() { system.to_path_buf() } else { user.to_path_buf() }
}

/// User settings. Field names are the keys of `settings.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// A GGUF file to answer with, instead of the default model in the models dir.
    pub llm: Option<PathBuf>,
    /// A LoRA adapter (GGUF) applied to the answer model: a house style or a domain's language
    /// learned elsewhere (see the README's recipe).
    pub llm_lora: Option<PathBuf>,
    /// How strongly the LoRA adapter is applied (1: as trained, 0: not at all).
    pub llm_lora_scale: f32,
    /// The embedder, instead of the default: an ONNX sentence-embedding model directory, or an
    /// E5S1 file (multilingual-e5-small). A change builds the index again at the next sync,
    /// beside the old one, which answers until the new one is complete.
    pub embedder: Option<PathBuf>,
    /// While no embedder is chosen: when a quarter or more of the documents' passages are in
    /// other languages than English, which the default embedder cannot read, the multilingual
    /// embedder (if fetched) is chosen for them: before a first index is embedded, as a few of
    /// its files tell, or after a sync, and the index then built again with it. The same when
    /// a quarter or more of the last questions asked (ten at least) are not in English: chosen
    /// after the answer, and the index built again by the next sync.
    pub embedder_by_language: bool,
    /// The ONNX Runtime library, instead of the one in the models dir.
    pub onnxruntime: Option<PathBuf>,
    /// Files larger than this (bytes) are recorded as too large and not read.
    pub max_file_size: u64,
    /// Glob patterns (gitignore syntax) excluded in every folder, on top of .gitignore/.ignore.
    pub exclude: Vec<String>,
    /// Most tokens per chunk (embedding tokenizer).
    pub chunk_tokens: usize,
    /// Tokens shared by neighbouring chunks.
    pub chunk_overlap: usize,
    /// Default search mode.
    pub search_mode: SearchMode,
    /// Sources retrieved for an answer.
    pub sources: usize,
    /// Chunks whose cosine similarity to the question is below this are not used as sources; if
    /// none is left, the answer is "not found" instead of a guess.
    pub min_similarity: f32,
    /// LLM context window (tokens); 0 = the model's own, capped at 8192.
    pub context_size: u32,
    /// Most tokens in an answer.
    pub max_answer_tokens: u32,
    /// LLM layers on the GPU (needs a `cuda` build).
    pub gpu_layers: u32,
    /// CPU threads for embedding and generation; 0 = all cores.
    pub threads: usize,
    /// Seconds one file may take to parse before it is recorded as failed.
    pub parse_timeout_secs: u64,
    /// Memory (MB) a parser process may use for one file before it is stopped and the file
    /// recorded as failed.
    pub parse_memory_mb: u64,
    /// Show the model's answer even when the sources support none of it (marked unsupported);
    /// by default the closest passages are quoted instead.
    pub show_unsupported_answers: bool,
    /// Answer a question over the rows of a sheet (a count, a sum, the largest) by a query the
    /// answer model writes and the engine runs over the whole sheet; off: from passages only.
    pub sheet_queries: bool,
    /// The same for a table of a PDF's text layer whose structure the parser is sure of ("which
    /// segment had the highest operating income?"). Off by default: on real filings the default
    /// model picks the wrong table or writes a wrong query more often than it helps.
    pub pdf_table_queries: bool,
    /// Languages scanned pages and images are read in (Tesseract's names: "eng", "deu");
    /// empty: English and the system's language, when their models are installed.
    pub ocr_languages: Vec<String>,
    /// Learn the company's language while the assistant is unused this long (seconds): the
    /// answer model writes questions about passages and the query adapter is trained again (see
    /// `brain tune`), in the app and in `brain watch`. 0: only when asked.
    pub learn_after_idle_secs: u64,
    /// The most questions learning while idle writes in a day (about 4 s each on 2 cores).
    pub learn_questions_per_day: usize,
    /// Learn while idle on battery power too; by default a laptop learns only while plugged in.
    pub learn_on_battery: bool,
    /// LoRA adapters for answers drawn from a folder: a department's house style. Last, because
    /// TOML writes tables after plain values.
    pub folder_loras: Vec<FolderLora>,
}

/// A LoRA adapter used, instead of `llm_lora`, for the answers whose best source lies in
/// `folder` (or that are asked within it); the deepest such folder decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct FolderLora {
    /// A registered folder, or a folder inside one (absolute, canonical).
    pub folder: PathBuf,
    /// The adapter (GGUF), absolute.
    pub lora: PathBuf,
    /// How strongly it is applied (1: as trained, 0: not at all).
    pub scale: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            llm: None,
            llm_lora: None,
            llm_lora_scale: 1.0,
            embedder: None,
            embedder_by_language: true,
            onnxruntime: None,
            max_file_size: 16 * 1024 * 1024,
            exclude: Vec::new(),
            chunk_tokens: 256,
            chunk_overlap: 32,
            search_mode: SearchMode::Hybrid,
            sources: 5,
            min_similarity: 0.30,
            context_size: 4096,
            max_answer_tokens: 384,
            gpu_layers: 0,
            threads: 0,
            parse_timeout_secs: 60,
            parse_memory_mb: 1024,
            show_unsupported_answers: false,
            sheet_queries: true,
            pdf_table_queries: false,
            ocr_languages: Vec::new(),
            learn_after_idle_secs: 600,
            learn_questions_per_day: 100,
            learn_on_battery: false,
            folder_loras: Vec::new(),
        }
    }
}

impl Settings {
    pub const FILE: &'static str = "settings.toml";

    pub fn load(data_dir: &Path) -> Result<Settings> {
        let path = data_dir.join(Self::FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| EngineError::Settings(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(EngineError::io(path, e)),
        }
    }

    pub fn save(&self, data_dir: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).map_err(|e| EngineError::Settings(e.to_string()))?;
        crate::fsutil::write_atomic(&data_dir.join(Self::FILE), text.as_bytes())
    }

    pub fn validate(&self) -> Result<()> {
        if self.chunk_tokens < 64 {
            return Err(EngineError::Settings("chunk_tokens must be at least 64".into()));
        }
        if self.chunk_overlap * 2 > self.chunk_tokens {
            return Err(EngineError::Settings("chunk_overlap must be at most half of chunk_tokens".into()));
        }
        if !(0.0..=4.0).contains(&self.llm_lora_scale) {
            return Err(EngineError::Settings("llm_lora_scale must be between 0 and 4".into()));
        }
        for (i, f) in self.folder_loras.iter().enumerate() {
            if !(0.0..=4.0).contains(&f.scale) {
                return Err(EngineError::Settings(format!("the scale of {}'s LoRA adapter must be between 0 and 4", f.folder.display())));
            }
            if self.folder_loras[..i].iter().any(|g| g.folder == f.folder) {
                return Err(EngineError::Settings(format!("{} has two LoRA adapters in folder_loras", f.folder.display())));
            }
        }
        if self.sources == 0 {
            return Err(EngineError::Settings("sources must be at least 1".into()));
        }
        Ok(())
    }

    pub(crate) fn threads(&self) -> Option<usize> {
        (self.threads > 0).then_some(self.threads)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_machines_models_are_used_by_a_user_without_models_of_their_own() {
        let (user, system) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mine = user.path().join("models");
        assert_eq!(super::default_models_dir(&mine, system.path()), system.path());
        std::fs::create_dir(&mine).unwrap();
        assert_eq!(super::default_models_dir(&mine, system.path()), mine, "the user's own folder wins once it exists");
        let nowhere = system.path().join("missing");
        std::fs::remove_dir(&mine).unwrap();
        assert_eq!(super::default_models_dir(&mine, &nowhere), mine, "fetching writes to the user's folder");
    }

    use super::*;

    #[test]
    fn defaults_round_trip_and_unknown_keys_fail() {
        let text = toml::to_string_pretty(&Settings::default()).unwrap();
        assert_eq!(toml::from_str::<Settings>(&text).unwrap(), Settings::default());
        let partial: Settings = toml::from_str("sources = 3\nsearch_mode = \"keyword\"").unwrap();
        assert_eq!(partial.sources, 3);
        assert_eq!(partial.search_mode, SearchMode::Keyword);
        assert!(toml::from_str::<Settings>("sorces = 3").is_err());
    }

    #[test]
    fn folder_adapters_round_trip_and_are_checked() {
        let mut settings = Settings { ocr_languages: vec!["deu".into()], ..Settings::default() };
        let legal = FolderLora { folder: "/docs/legal".into(), lora: "/adapters/legal.gguf".into(), scale: 0.8 };
        settings.folder_loras = vec![legal.clone(), FolderLora { folder: "/docs/sales".into(), ..legal.clone() }];
        let text = toml::to_string_pretty(&settings).unwrap();
        assert_eq!(toml::from_str::<Settings>(&text).unwrap(), settings, "{text}");
        settings.validate().unwrap();
        settings.folder_loras.push(FolderLora { lora: "/adapters/other.gguf".into(), ..legal.clone() });
        assert!(settings.validate().unwrap_err().to_string().contains("/docs/legal has two LoRA adapters"));
        settings.folder_loras = vec![FolderLora { scale: 5.0, ..legal }];
        assert!(settings.validate().unwrap_err().to_string().contains("between 0 and 4"));
    }

    #[test]
    fn flags_beat_defaults() {
        let o = EngineOptions::resolve(Some("/d".into()), Some("/m".into()), Parsers::Threads);
        assert_eq!(o.data_dir, PathBuf::from("/d"));
        assert_eq!(o.models_dir, PathBuf::from("/m"));
        assert_eq!(o.shared_index, None);
    }

    #[test]
    fn an_s3_data_dir_is_a_shared_index_with_a_local_folder_of_its_own() {
        let o = EngineOptions::resolve(Some("s3://team-brain/finance/2026".into()), Some("/m".into()), Parsers::Threads);
        assert_eq!(o.shared_index.as_deref(), Some("s3://team-brain/finance/2026"));
        assert!(o.data_dir.ends_with("corporate-brain/shared/team-brain_finance_2026"), "{}", o.data_dir.display());
        assert_eq!(local_name_of("s3://b/../x/"), "b_.._x".replace("..", "__"));
    }
}
