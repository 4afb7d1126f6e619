//! `brain-embed` turns text into vectors on the local CPU: fastembed over ONNX Runtime, with the
//! ONNX Runtime library loaded from a file the user has (never downloaded at build or run time).
//!
//! Key design decisions:
//! - The model is a directory holding `model.onnx` and the Hugging Face tokenizer files, so any
//!   sentence-transformers ONNX export a user's IT department hands out works, not only ours.
//! - ONNX Runtime is loaded dynamically (`ort`'s `load-dynamic`) from an explicit path, once per
//!   process, in one environment with telemetry off.
//! - Vectors come out L2-normalised, so cosine similarity is a dot product everywhere downstream.
//! - `embed` is a plain blocking function; callers run it on a worker thread.
//! - Two backends behind one `Embedder`: an ONNX model directory (fastembed), or one `E5S1` file
//!   (multilingual-e5-small, 4-bit, run with candle: see [`e5`]). A model that was trained with
//!   instructions before its texts ("query: ", "passage: ") gets them here, so callers only say
//!   which kind of text they embed ([`TextKind`]).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use fastembed::{InitOptionsUserDefined, Pooling, QuantizationMode, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};
use tokenizers::Tokenizer;

/// The files an embedding model directory must hold.
pub const MODEL_FILES: [&str; 5] = ["model.onnx", "tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"];

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model file missing: {path} ({hint})")]
    MissingFile { path: PathBuf, hint: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot load ONNX Runtime from {path}: {reason} (a libonnxruntime.so of version 1.20 or newer is needed)")]
    Runtime { path: PathBuf, reason: String },
    #[error("cannot load the embedding model in {dir}: {reason}")]
    Model { dir: PathBuf, reason: String },
    #[error("embedding failed: {0}")]
    Embed(String),
}

/// Where the embedder's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderFiles {
    /// Directory with [`MODEL_FILES`] (and optionally `1_Pooling/config.json`).
    pub model_dir: PathBuf,
    /// The ONNX Runtime shared library, e.g. `libonnxruntime.so.1.31.1`.
    pub onnxruntime: PathBuf,
}

/// Tuning that does not change the vectors.
#[derive(Debug, Clone, Copy)]
pub struct EmbedderOptions {
    /// ONNX Runtime intra-op threads; `None` = all cores.
    pub threads: Option<usize>,
    /// Texts per ONNX run. Small: on CPU a bigger batch is not faster, and ONNX Runtime's memory
    /// arena grows to the largest batch's attention tensors and keeps them. Measured indexing
    /// handbook-18f (3,152 chunks, debug build): batch 32 took 148 s with a 2.06 GB peak RSS,
    /// batch 8 took 122 s with 0.92 GB.
    pub batch_size: usize,
    /// Longest input in tokens; longer inputs are truncated by the tokenizer.
    pub max_length: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions { threads: None, batch_size: 8, max_length: 512 }
    }
}

/// A loaded embedding model.
pub struct Embedder {
    backend: Backend,
    tokenizer: Tokenizer,
    dimension: usize,
    identity: String,
    batch_size: usize,
}

enum Backend {
    Onnx(Box<Mutex<TextEmbedding>>),
    /// The model, and the threads its arithmetic runs on (candle computes on rayon's pool).
    E5(Box<e5::E5Model>, rayon::ThreadPool),
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Load ONNX Runtime from `library` (once per process; later calls reuse the first).
pub fn onnxruntime_environment(library: &Path) -> Result<ort::environment::Environment, EmbedError> {
    if !library.is_file() {
        return Err(EmbedError::MissingFile { path: library.to_path_buf(), hint: "the ONNX Runtime library".into() });
    }
    ENVIRONMENT
        .get_or_init(|| {
            let builder = ort::init_from(library).map_err(|e| e.to_string())?;
            builder.with_name("brain").with_telemetry(false).build().map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|reason| EmbedError::Runtime { path: library.to_path_buf(), reason })
}

/// Check that the model directory holds every file; the error names the first missing one.
pub fn check_model_dir(dir: &Path) -> Result<(), EmbedError> {
    for name in MODEL_FILES {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(EmbedError::MissingFile {
                path,
                hint: "a sentence-embedding model directory holds model.onnx and its tokenizer files".into(),
            });
        }
    }
    Ok(())
}

fn read(path: PathBuf) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(&path).map_err(|source| EmbedError::Read { path, source })
}

impl Embedder {
    /// Load the model at `files.model_dir`: an ONNX model directory, or an `E5S1` file.
    pub fn load(files: &EmbedderFiles, options: EmbedderOptions) -> Result<Self, EmbedError> {
        if e5::is_e5_file(&files.model_dir) {
            return Self::load_e5(&files.model_dir, options);
        }
        check_model_dir(&files.model_dir)?;
        let environment = onnxruntime_environment(&files.onnxruntime)?;
        let dir = &files.model_dir;
        let onnx = read(dir.join("model.onnx"))?;
        let identity = format!("{}:{}", dir_name(dir), &blake3::hash(&onnx).to_hex()[..16]);
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read(dir.join("tokenizer.json"))?,
            config_file: read(dir.join("config.json"))?,
            special_tokens_map_file: read(dir.join("special_tokens_map.json"))?,
            tokenizer_config_file: read(dir.join("tokenizer_config.json"))?,
        };
        let pooling = pooling_of(dir);
        let model_error = |reason: String| EmbedError::Model { dir: dir.clone(), reason };
        let model = UserDefinedEmbeddingModel::new(onnx, tokenizer_files).with_pooling(pooling).with_quantization(QuantizationMode::Static);
        // ONNX Runtime's workers spin while waiting for work; on a desktop that is also parsing
        // files (or running anything else) spinning threads steal the cores they wait for.
        let mut init = InitOptionsUserDefined::new()
            .with_environment(environment)
            .with_max_length(options.max_length)
            .with_session_config("session.intra_op.allow_spinning", "0")
            .with_session_config("session.inter_op.allow_spinning", "0");
        if let Some(threads) = options.threads {
            init = init.with_intra_threads(threads);
        }
        let mut text_embedding = TextEmbedding::try_new_from_user_defined(model, init).map_err(|e| model_error(e.to_string()))?;
        let probe = text_embedding.embed(["dimension probe"], None).map_err(|e| model_error(e.to_string()))?;
        let dimension = probe.first().map_or(0, Vec::len);
        if dimension == 0 {
            return Err(model_error("the model returned an empty vector".into()));
        }
        let tokenizer = text_embedding.tokenizer.clone();
        let backend = Backend::Onnx(Box::new(Mutex::new(text_embedding)));
        Ok(Embedder { backend, tokenizer, dimension, identity, batch_size: options.batch_size.max(1) })
    }

    fn load_e5(path: &Path, options: EmbedderOptions) -> Result<Self, EmbedError> {
        let model_error = |reason: String| EmbedError::Model { dir: path.to_path_buf(), reason };
        let bytes = read(path.to_path_buf())?;
        let identity = format!("{}:{}", dir_name(path), &blake3::hash(&bytes).to_hex()[..16]);
        let model = e5::E5Model::from_bytes(&bytes).map_err(model_error)?;
        drop(bytes);
        let threads = options.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("embed-{i}"))
            .build()
            .map_err(|e| model_error(e.to_string()))?;
        let tokenizer = model.tokenizer().clone();
        let dimension = model.dimension();
        Ok(Embedder { backend: Backend::E5(Box::new(model), pool), tokenizer, dimension, identity, batch_size: options.batch_size.max(1) })
    }

    /// Vector length.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// A cosine similarity of this model on the scale the engine's thresholds are set on (those
    /// of all-MiniLM-L6-v2, whose unrelated texts score about 0 and a question and its passage
    /// about 0.6). Models differ: E5 scores unrelated texts about 0.74, so its cosines are
    /// moved and stretched onto that scale ([`e5::SIMILARITY_SCALE`]); ranks do not change.
    pub fn calibrate(&self, cosine: f32) -> f32 {
        match self.backend {
            Backend::Onnx(_) => cosine,
            Backend::E5(..) => (cosine - e5::SIMILARITY_SCALE.0) * e5::SIMILARITY_SCALE.1,
        }
    }

    /// [`Self::calibrate`] for a question (or a claim read with its question) and a passage in
    /// different languages, whose cosines a multilingual model puts lower than the same pair's in
    /// one language: moved onto the same scale, so one threshold serves both
    /// ([`e5::SIMILARITY_SCALE_ACROSS_LANGUAGES`]). An English-only model's cosines across
    /// languages mean little either way; they are left as they are.
    pub fn calibrate_across_languages(&self, cosine: f32) -> f32 {
        match self.backend {
            Backend::Onnx(_) => cosine,
            Backend::E5(..) => (cosine - e5::SIMILARITY_SCALE_ACROSS_LANGUAGES.0) * e5::SIMILARITY_SCALE_ACROSS_LANGUAGES.1,
        }
    }

    /// Whether the model was trained on many languages (E5): a text and its translation come
    /// out close. An ONNX model is taken to be English-only (the default one is).
    pub fn is_multilingual(&self) -> bool {
        matches!(self.backend, Backend::E5(..))
    }

    /// Names the model and its weights; vectors from different identities must not be mixed.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The model's tokenizer, as configured for embedding (with truncation and padding).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Embed passages (what is stored and searched); one L2-normalised vector per text, in
    /// order. Blocking and CPU-bound.
    pub fn embed<S: AsRef<str> + Send + Sync>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_kind(texts, TextKind::Passage, &|| {})
    }

    /// Embed questions, or texts compared with each other rather than searched for (E5 reads
    /// both with its "query: " instruction).
    pub fn embed_queries<S: AsRef<str> + Send + Sync>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_kind(texts, TextKind::Query, &|| {})
    }

    /// Texts per model call.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// [`Embedder::embed`], calling `pause` before each batch with the model free:
    /// a caller that must yield the CPU (indexing while an answer is generated) waits there, and
    /// the query embeddings of that answer can use the model meanwhile.
    pub fn embed_with_pauses<S: AsRef<str> + Send + Sync>(&self, texts: &[S], pause: &dyn Fn()) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_kind(texts, TextKind::Passage, pause)
    }

    fn embed_kind<S: AsRef<str> + Send + Sync>(&self, texts: &[S], kind: TextKind, pause: &dyn Fn()) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // A batch is padded to its longest text, and attention costs grow with the square of that
        // length: embedding texts in order of length keeps padding (wasted work, and the peak of
        // ONNX Runtime's memory arena) small. The vectors go back in input order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].as_ref().len());
        let by_length: Vec<&str> = order.iter().map(|&i| texts[i].as_ref()).collect();
        // fastembed keeps every batch's raw token outputs (texts x tokens x 384 floats) until the
        // call returns, so one call for a 4,000-chunk book held gigabytes: one batch per call
        // bounds that, and gives a caller that yields a pause point every fraction of a second.
        let mut vectors = Vec::with_capacity(texts.len());
        for slice in by_length.chunks(self.batch_size) {
            pause();
            match &self.backend {
                Backend::Onnx(model) => {
                    let mut model = model.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    vectors.extend(model.embed(slice, Some(self.batch_size)).map_err(|e| EmbedError::Embed(e.to_string()))?);
                }
                Backend::E5(model, pool) => vectors.extend(pool.install(|| model.embed(slice, kind)).map_err(EmbedError::Embed)?),
            }
        }
        let mut in_order = vec![Vec::new(); texts.len()];
        for (mut v, &i) in vectors.into_iter().zip(&order) {
            normalize(&mut v);
            in_order[i] = v;
        }
        Ok(in_order)
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name().and_then(|n| n.to_str()).unwrap_or("model").to_string()
}

/// sentence-transformers exports say how to pool in `1_Pooling/config.json`; default to mean.
fn pooling_of(dir: &Path) -> Pooling {
    let config =
        std::fs::read(dir.join("1_Pooling").join("config.json")).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    match config {
        Some(c) if c["pooling_mode_cls_token"].as_bool() == Some(true) => Pooling::Cls,
        _ => Pooling::Mean,
    }
}

pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product of two normalised vectors = their cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub mod e5;
pub mod raw;

pub use e5::TextKind;

#[cfg(test)]
mod tests {
    use super::*;

    fn default_files() -> EmbedderFiles {
        let models = brain_testkit::models_dir();
        EmbedderFiles { model_dir: models.join("all-MiniLM-L6-v2-int8"), onnxruntime: models.join("onnxruntime/libonnxruntime.so.1.31.1") }
    }

    #[test]
    fn the_multilingual_embedder_matches_meaning_across_languages() {
        let models = brain_testkit::models_dir();
        let files = EmbedderFiles {
            model_dir: models.join("multilingual-e5-small/e5-small-q4.bin"),
            onnxruntime: models.join("onnxruntime/libonnxruntime.so.1.31.1"),
        };
        let embedder = Embedder::load(&files, EmbedderOptions::default()).unwrap();
        assert_eq!(embedder.dimension(), 384);
        // The tokens the C reference implementation gives "query: hello world".
        let Backend::E5(model, _) = &embedder.backend else { panic!("an E5S1 file loads the E5 backend") };
        let ids = model.tokenizer().encode(model.normalise("query: hello world"), true).unwrap();
        assert_eq!(ids.get_ids(), [0, 41, 1294, 12, 33600, 31, 8999, 2]);

        let question = &embedder.embed_queries(&["How many vacation days do employees get per year?"]).unwrap()[0];
        let passages = embedder
            .embed(&[
                "Jede Vollzeitkraft hat Anspruch auf 28 Urlaubstage im Jahr.",
                "每位全职员工每年享有28天带薪年假。",
                "Ein verlorener Laptop muss innerhalb einer Stunde gemeldet werden.",
            ])
            .unwrap();
        let close: Vec<f32> = passages.iter().map(|p| embedder.calibrate(cosine(question, p))).collect();
        assert!(close[0] > close[2] + 0.2 && close[1] > close[2] + 0.2, "German and Chinese answers above the unrelated: {close:?}");
        // The instruction matters: the same text read as a query is another vector.
        let as_query = &embedder.embed_queries(&["Jede Vollzeitkraft hat Anspruch auf 28 Urlaubstage im Jahr."]).unwrap()[0];
        assert!(cosine(as_query, &passages[0]) < 0.999);
    }

    #[test]
    fn texts_embedded_together_come_back_in_input_order() {
        let embedder = Embedder::load(&default_files(), EmbedderOptions { batch_size: 2, ..Default::default() }).unwrap();
        // Lengths out of order, so that embedding by length reorders them across batches.
        let texts = [
            "Sick leave needs a doctor's note after three days of absence from work, counted in calendar days.",
            "Fire drill",
            "Laptops that are lost must be reported to the IT service desk within one hour.",
            "Annual leave: 27 days",
            "The quarterly review says revenue grew by eleven percent while the Rotterdam warehouse expanded.",
        ];
        let together = embedder.embed(&texts).unwrap();
        assert_eq!(together.len(), texts.len());
        for (text, vector) in texts.iter().zip(&together) {
            let alone = &embedder.embed(&[*text]).unwrap()[0];
            let cosine: f32 = alone.iter().zip(vector).map(|(a, b)| a * b).sum();
            assert!(cosine > 0.999, "{text:?} got another text's vector (cosine {cosine})");
        }
    }
}
