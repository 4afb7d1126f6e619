//! `brain-llm` generates answers with llama.cpp (through `llama-cpp-2`) from any GGUF file.
//!
//! Key design decisions:
//! - One owner thread per loaded model holds the llama.cpp context (its KV cache is not
//!   thread-safe and is expensive to create); callers send it jobs over a channel and receive
//!   tokens back as they are sampled. Tokenising and chat templating only read the model, so they
//!   run on the caller's thread.
//! - The prompt is built with the chat template stored in the GGUF itself, so any instruct model
//!   a user points at gets the format it was trained on (ChatML is the fallback for models that
//!   carry none).
//! - Generation is cancellable between tokens through an `AtomicBool` the caller owns.
//! - The KV state of the last prompt is kept: a prompt that starts the same way (the chat
//!   template and the system prompt, for every question) computes only what follows. A new
//!   model computes the system prompt once up front ([`Llm::prime`]), before the first question.
//! - CPU by default; the `cuda` feature builds llama.cpp with CUDA and `gpu_layers` offloads.
//! - LoRA adapters (llama.cpp's GGUF adapter format) are read at load: llama.cpp checks each
//!   against the model (architecture, tensor names and shapes) and a refusal is an error naming
//!   the adapter, so a wrong file never half-applies. One is applied by default; a generation may
//!   choose another of them, or none ([`Adapter`]), and switching keeps each adapter's computed
//!   system prompt aside, so going back to an adapter does not compute it again.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::session::{LlamaStateSeqFlags, SeqState};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaLoraAdapter, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("LLM model file not found: {0}")]
    MissingModel(PathBuf),
    #[error("{0} is not a GGUF model file (it does not start with the GGUF magic)")]
    NotGguf(PathBuf),
    #[error("{path} is not a LoRA adapter of this model: {reason}")]
    Lora { path: PathBuf, reason: String },
    #[error("llama.cpp could not load {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("the prompt has {prompt} tokens but the context holds {context}")]
    PromptTooLong { prompt: usize, context: u32 },
    #[error("chat template failed: {0}")]
    Template(String),
    #[error("generation failed: {0}")]
    Generate(String),
    #[error("the LLM worker thread stopped")]
    WorkerGone,
}

/// How to load and run a model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub model_path: PathBuf,
    /// Context window in tokens; 0 = the model's training context, capped at 8192.
    pub context_size: u32,
    /// Layers offloaded to the GPU (needs the `cuda` feature); 0 = CPU only.
    pub gpu_layers: u32,
    /// CPU threads; `None` = all cores.
    pub threads: Option<usize>,
    /// A LoRA adapter applied to the model.
    pub lora: Option<LoraConfig>,
    /// More LoRA adapters read with the model, which a generation may choose instead of `lora`
    /// ([`GenerateOptions::adapter`]): a house style per folder, say.
    pub more_loras: Vec<PathBuf>,
}

impl LlmConfig {
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        LlmConfig { model_path: model_path.into(), context_size: 0, gpu_layers: 0, threads: None, lora: None, more_loras: Vec::new() }
    }
}

/// A LoRA adapter (GGUF, as llama.cpp's `convert_lora_to_gguf.py` writes it) and the scale its
/// change is applied with (0: the plain model, 1: as trained).
#[derive(Debug, Clone, PartialEq)]
pub struct LoraConfig {
    pub path: PathBuf,
    pub scale: f32,
}

/// Which LoRA adapter a generation runs with.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Adapter {
    /// The one the model was loaded with ([`LlmConfig::lora`]), or none.
    #[default]
    AsLoaded,
    /// None: the plain model.
    Plain,
    /// One of the adapters read with the model (`lora` or `more_loras`), at this scale.
    Lora(LoraConfig),
}

/// A chat turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// Sampling settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub max_tokens: u32,
    /// 0 = greedy (deterministic).
    pub temperature: f32,
    pub seed: u32,
    /// Penalise repeating recent tokens (1.0 = off); small models loop without it.
    pub repeat_penalty: f32,
    /// Stop as soon as the output contains one of these (it is not included in the output).
    pub stop: Vec<String>,
    /// The LoRA adapter to generate with.
    pub adapter: Adapter,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions { max_tokens: 384, temperature: 0.0, seed: 42, repeat_penalty: 1.15, stop: Vec::new(), adapter: Adapter::AsLoaded }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndOfText,
    /// One of the stop strings appeared.
    StopString,
    MaxTokens,
    ContextFull,
    Cancelled,
}

/// What a generation cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    /// Leading prompt tokens whose KV state was kept from the previous generation (the chat
    /// template's start and the system prompt, usually) and not computed again.
    pub reused_prompt_tokens: usize,
    pub generated_tokens: usize,
    /// From the call to the first token handed to the caller.
    pub time_to_first_token: Option<Duration>,
    pub total: Duration,
    pub stop: StopReason,
}

impl GenerationStats {
    /// Generated tokens per second after the first token (decode speed).
    pub fn tokens_per_second(&self) -> f64 {
        let after_first = self.total.saturating_sub(self.time_to_first_token.unwrap_or_default()).as_secs_f64();
        if self.generated_tokens > 1 && after_first > 0.0 { (self.generated_tokens - 1) as f64 / after_first } else { 0.0 }
    }
}

enum Event {
    Token(String),
    Done(Result<GenerationStats, LlmError>),
}

struct Job {
    tokens: Vec<LlamaToken>,
    options: GenerateOptions,
    cancel: Arc<AtomicBool>,
    started: Instant,
    events: mpsc::Sender<Event>,
}

/// A loaded model with its owner thread.
pub struct Llm {
    model: Arc<LlamaModel>,
    template: LlamaChatTemplate,
    context_size: u32,
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp logs every tensor at load; route it to `tracing` where filters apply.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LlmError::Load { path: PathBuf::new(), reason: e.clone() })
}

/// Check that `path` exists and is a GGUF file, without loading it.
pub fn check_model_file(path: &Path) -> Result<(), LlmError> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|_| LlmError::MissingModel(path.to_path_buf()))?;
    if file.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
        return Err(LlmError::NotGguf(path.to_path_buf()));
    }
    Ok(())
}

impl Llm {
    /// Load the model and start its owner thread.
    pub fn load(config: &LlmConfig) -> Result<Llm, LlmError> {
        check_model_file(&config.model_path)?;
        let backend = backend()?;
        let load_error = |reason: String| LlmError::Load { path: config.model_path.clone(), reason };
        let params = LlamaModelParams::default().with_n_gpu_layers(config.gpu_layers);
        let mut model = LlamaModel::load_from_file(backend, &config.model_path, &params).map_err(|e| load_error(e.to_string()))?;
        // Every adapter is read now: reading one needs the model to itself, which it is not
        // once the owner thread shares it.
        let mut adapters: Vec<(PathBuf, LlamaLoraAdapter)> = Vec::new();
        for path in config.lora.iter().map(|l| &l.path).chain(&config.more_loras) {
            if !adapters.iter().any(|(p, _)| p == path) {
                adapters.push((path.clone(), load_lora(&mut model, path)?));
            }
        }
        let default = config.lora.as_ref().map(|l| AdapterKey { index: 0, scale: l.scale.to_bits() });
        let model = Arc::new(model);
        let template = model
            .chat_template(None)
            .or_else(|_| LlamaChatTemplate::new("chatml").map_err(|e| e.to_string()))
            .map_err(|e| load_error(format!("no usable chat template: {e:?}")))?;
        let train = model.n_ctx_train().max(512);
        let context_size = if config.context_size == 0 { train.min(8192) } else { config.context_size.min(train) };
        let threads = config.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())) as i32;

        let (jobs, receiver) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let owner_model = Arc::clone(&model);
        std::thread::Builder::new()
            .name("llm-owner".into())
            .spawn(move || {
                owner_thread(backend, owner_model, Adapters { read: adapters, default }, context_size, threads, receiver, ready_tx)
            })
            .map_err(|e| load_error(e.to_string()))?;
        ready_rx.recv().map_err(|_| LlmError::WorkerGone)?.map_err(load_error)?;
        Ok(Llm { model, template, context_size, jobs, path: config.model_path.clone() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The context window in tokens.
    pub fn context_size(&self) -> u32 {
        self.context_size
    }

    /// Tokens in `text` as the model counts them.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.model.vocab().tokenize(text.as_bytes(), false, false).len()
    }

    /// Render a conversation with the model's own chat template, ending with the assistant's turn.
    pub fn format_chat(&self, messages: &[ChatMessage]) -> Result<String, LlmError> {
        let chat = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LlmError::Template(e.to_string()))?;
        self.model.apply_chat_template(&self.template, &chat, true).map_err(|e| LlmError::Template(e.to_string()))
    }

    /// Compute the KV state of `prompt_start` (the start of every prompt to come: the template
    /// and the system prompt) so that the next generation begins after it.
    pub fn prime(&self, prompt_start: &str) -> Result<GenerationStats, LlmError> {
        let options = GenerateOptions { max_tokens: 0, ..GenerateOptions::default() };
        self.generate(prompt_start, options, Arc::new(AtomicBool::new(false)), |_| {})
    }

    /// Generate a continuation of `prompt` (already templated), calling `on_token` with each
    /// piece of text as soon as it is sampled. Blocking; returns when generation ends.
    pub fn generate(
        &self,
        prompt: &str,
        options: GenerateOptions,
        cancel: Arc<AtomicBool>,
        mut on_token: impl FnMut(&str),
    ) -> Result<GenerationStats, LlmError> {
        let started = Instant::now();
        let tokens = self.model.vocab().tokenize(prompt.as_bytes(), false, true);
        if tokens.len() + 8 > self.context_size as usize {
            return Err(LlmError::PromptTooLong { prompt: tokens.len(), context: self.context_size });
        }
        let (events, receiver) = mpsc::channel();
        self.jobs.send(Job { tokens, options, cancel, started, events }).map_err(|_| LlmError::WorkerGone)?;
        for event in receiver {
            match event {
                Event::Token(text) => on_token(&text),
                Event::Done(result) => return result,
            }
        }
        Err(LlmError::WorkerGone)
    }
}

/// The adapters read with the model and the one applied by default.
struct Adapters {
    read: Vec<(PathBuf, LlamaLoraAdapter)>,
    default: Option<AdapterKey>,
}

/// An adapter of [`Adapters::read`] at a scale (its bits, so that it can be a key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AdapterKey {
    index: usize,
    scale: u32,
}

impl Adapters {
    /// The adapter `choice` names (`None`: the plain model).
    fn key(&self, choice: &Adapter) -> Result<Option<AdapterKey>, LlmError> {
        match choice {
            Adapter::AsLoaded => Ok(self.default),
            Adapter::Plain => Ok(None),
            Adapter::Lora(lora) => match self.read.iter().position(|(path, _)| *path == lora.path) {
                Some(index) => Ok(Some(AdapterKey { index, scale: lora.scale.to_bits() })),
                None => Err(LlmError::Lora { path: lora.path.clone(), reason: "it was not read with the model".into() }),
            },
        }
    }

    /// Apply `key` to `context` in place of whatever adapter it had.
    fn apply(&mut self, context: &mut llama_cpp_2::context::LlamaContext<'_>, key: Option<AdapterKey>) -> Result<(), String> {
        match key {
            Some(key) => context.lora_adapter_set(&mut self.read[key.index].1, f32::from_bits(key.scale)).map_err(|e| e.to_string()),
            // Removing clears every adapter; the one passed is not looked at.
            None => match self.read.first_mut() {
                Some((_, any)) => context.lora_adapter_remove(any).map_err(|e| e.to_string()),
                None => Ok(()),
            },
        }
    }
}

/// Read a LoRA adapter for `model`: a GGUF file that llama.cpp accepts as an adapter of it.
fn load_lora(model: &mut LlamaModel, path: &Path) -> Result<LlamaLoraAdapter, LlmError> {
    match check_model_file(path) {
        Err(LlmError::MissingModel(_)) => return Err(LlmError::Lora { path: path.into(), reason: "the file does not exist".into() }),
        Err(_) => return Err(LlmError::Lora { path: path.into(), reason: "it is not a GGUF file".into() }),
        Ok(()) => {}
    }
    model.lora_adapter_init(path).map_err(|e| LlmError::Lora {
        path: path.into(),
        reason: format!(
            "llama.cpp refused it ({e}): an adapter made for another model (architecture, tensor names or shapes), or a damaged file"
        ),
    })
}

fn owner_thread(
    backend: &'static LlamaBackend,
    model: Arc<LlamaModel>,
    mut adapters: Adapters,
    context_size: u32,
    threads: i32,
    jobs: mpsc::Receiver<Job>,
    ready: mpsc::Sender<Result<(), String>>,
) {
    // llama.cpp's defaults for flash attention (auto), KV cache (f16) and micro-batch (512):
    // measured on 2 cores, forcing flash attention on or off, a q8_0 KV cache or a 256 micro-batch
    // changed the first token by -2 % to +9 % (README, "First token").
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(context_size))
        .with_n_batch(512)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut context = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    // The adapters live as long as the context that applies them (this thread).
    let mut active = adapters.default;
    if let Err(e) = adapters.apply(&mut context, active) {
        let _ = ready.send(Err(format!("the LoRA adapter could not be applied: {e}")));
        return;
    }
    let _ = ready.send(Ok(()));
    // The tokens whose KV state sequence 0 holds, position by position. A prompt that starts
    // like the last one (the same system prompt: every question does) keeps that prefix and
    // computes only the rest — llama-server's prompt cache, for one conversation at a time.
    let mut cached: Vec<LlamaToken> = Vec::new();
    // The start every prompt shares (what [`Llm::prime`] computed last), and its state under
    // each adapter switched away from: a KV state holds the adapter's effect, so it is never
    // reused under another, and each adapter computes the start once.
    let mut primed: Vec<LlamaToken> = Vec::new();
    let mut starts: HashMap<Option<AdapterKey>, (Vec<LlamaToken>, SeqState)> = HashMap::new();
    for job in jobs {
        let wanted = match adapters.key(&job.options.adapter) {
            Ok(key) => key,
            Err(e) => {
                let _ = job.events.send(Event::Done(Err(e)));
                continue;
            }
        };
        if wanted != active {
            // Keep the shared start computed under the adapter switched away from.
            let shared = cached.iter().zip(&primed).take_while(|(a, b)| a == b).count();
            if shared > 0
                && matches!(context.clear_kv_cache_seq(Some(0), Some(shared as u32), None), Ok(true))
                && let Ok(state) = context.state_seq_get(0, LlamaStateSeqFlags::empty())
            {
                starts.insert(active, (primed[..shared].to_vec(), state));
            }
            context.clear_kv_cache();
            cached.clear();
            if let Err(e) = adapters.apply(&mut context, wanted) {
                let _ = job.events.send(Event::Done(Err(LlmError::Generate(format!("the LoRA adapter could not be applied: {e}")))));
                // What is applied now is unknown: the next job applies its own.
                active = Some(AdapterKey { index: usize::MAX, scale: 0 });
                continue;
            }
            active = wanted;
            // Put back the start this adapter computed before, if it did.
            if let Some((tokens, state)) = starts.get(&active) {
                match context.state_seq_set(state, 0) {
                    Ok(()) => cached.clone_from(tokens),
                    Err(_) => context.clear_kv_cache(),
                }
            }
        }
        if job.options.max_tokens == 0 {
            primed.clone_from(&job.tokens);
        }
        // At least the prompt's last token is decoded again: its logits start the sampling.
        let mut keep = cached.iter().zip(&job.tokens).take_while(|(a, b)| a == b).count().min(job.tokens.len().saturating_sub(1));
        if keep == 0 || !matches!(context.clear_kv_cache_seq(Some(0), Some(keep as u32), None), Ok(true)) {
            context.clear_kv_cache();
            keep = 0;
        }
        cached.truncate(keep);
        let events = job.events.clone();
        let result = run_job(&model, &mut context, context_size, job, &events, &mut cached);
        if result.is_err() {
            // A failed decode leaves the KV state unknown.
            context.clear_kv_cache();
            cached.clear();
        }
        let _ = events.send(Event::Done(result));
    }
}

fn run_job(
    model: &LlamaModel,
    context: &mut llama_cpp_2::context::LlamaContext<'_>,
    context_size: u32,
    job: Job,
    events: &mpsc::Sender<Event>,
    cached: &mut Vec<LlamaToken>,
) -> Result<GenerationStats, LlmError> {
    let generate_error = |e: &dyn std::fmt::Display| LlmError::Generate(e.to_string());
    let vocab = model.vocab();
    let prompt_tokens = job.tokens.len();
    let reused = cached.len();
    // Feed the rest of the prompt in batches of 512; only the last token's logits are needed.
    let mut batch = LlamaBatch::new(512, 1);
    for (start, piece) in job.tokens[reused..].chunks(512).enumerate().map(|(i, p)| (reused + i * 512, p)) {
        batch.clear();
        for (j, &token) in piece.iter().enumerate() {
            let position = start + j;
            batch.add(token, position as i32, &[0], position + 1 == prompt_tokens).map_err(|e| generate_error(&e))?;
        }
        context.decode(&mut batch).map_err(|e| generate_error(&e))?;
        cached.extend_from_slice(piece);
        if job.cancel.load(Ordering::Relaxed) {
            return Ok(stats(&job, prompt_tokens, reused, 0, None, StopReason::Cancelled));
        }
    }

    let options = &job.options;
    let mut samplers = vec![LlamaSampler::penalties(vocab.n_tokens(), 64, options.repeat_penalty, 0.0, 0.0)];
    if options.temperature > 0.0 {
        samplers.extend([
            LlamaSampler::top_k(40),
            LlamaSampler::top_p(0.95, 1),
            LlamaSampler::temp(options.temperature),
            LlamaSampler::dist(options.seed),
        ]);
    } else {
        samplers.push(LlamaSampler::greedy());
    }
    let mut sampler = LlamaSampler::chain_simple(samplers);
    let mut decoder = Utf8Stream::default();
    let mut stops = StopMatcher::new(&options.stop);
    let mut generated = 0usize;
    let mut first_token_at = None;
    let mut position = prompt_tokens;
    let mut logits_index = batch.n_tokens() - 1;
    let stop = loop {
        if job.cancel.load(Ordering::Relaxed) {
            break StopReason::Cancelled;
        }
        if generated >= options.max_tokens as usize {
            break StopReason::MaxTokens;
        }
        if position >= context_size as usize {
            break StopReason::ContextFull;
        }
        let token = sampler.sample(context, logits_index);
        if vocab.is_eog(token) {
            break StopReason::EndOfText;
        }
        generated += 1;
        let piece = decoder.push(&vocab.token_to_piece(token, false, None));
        let (ready, stopped) = stops.push(&piece);
        if !ready.is_empty() {
            first_token_at.get_or_insert_with(|| job.started.elapsed());
            if events.send(Event::Token(ready)).is_err() {
                break StopReason::Cancelled;
            }
        }
        if stopped {
            break StopReason::StopString;
        }
        batch.clear();
        batch.add(token, position as i32, &[0], true).map_err(|e| generate_error(&e))?;
        context.decode(&mut batch).map_err(|e| generate_error(&e))?;
        cached.push(token);
        position += 1;
        logits_index = 0;
    };
    let rest = stops.finish();
    if !rest.is_empty() {
        first_token_at.get_or_insert_with(|| job.started.elapsed());
        let _ = events.send(Event::Token(rest));
    }
    Ok(stats(&job, prompt_tokens, reused, generated, first_token_at, stop))
}

/// Holds back output that could be the start of a stop string, so a stop string is never
/// streamed to the caller, even in part.
struct StopMatcher<'a> {
    stops: &'a [String],
    held: String,
}

impl<'a> StopMatcher<'a> {
    fn new(stops: &'a [String]) -> Self {
        StopMatcher { stops, held: String::new() }
    }

    /// Add generated text; returns the text safe to emit and whether a stop string appeared.
    fn push(&mut self, piece: &str) -> (String, bool) {
        self.held.push_str(piece);
        if let Some(at) = self.stops.iter().filter(|s| !s.is_empty()).filter_map(|s| self.held.find(s.as_str())).min() {
            let out = self.held[..at].to_string();
            self.held.clear();
            return (out, true);
        }
        // Keep the longest suffix that is a prefix of some stop string.
        let keep = self
            .stops
            .iter()
            .flat_map(|s| (1..s.len()).filter(|&n| s.is_char_boundary(n)).map(move |n| &s[..n]))
            .filter(|prefix| self.held.ends_with(prefix))
            .map(str::len)
            .max()
            .unwrap_or(0);
        let emit_to = self.held.len() - keep;
        let out = self.held[..emit_to].to_string();
        self.held.drain(..emit_to);
        (out, false)
    }

    fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

fn stats(job: &Job, prompt_tokens: usize, reused: usize, generated: usize, first: Option<Duration>, stop: StopReason) -> GenerationStats {
    GenerationStats {
        prompt_tokens,
        reused_prompt_tokens: reused,
        generated_tokens: generated,
        time_to_first_token: first,
        total: job.started.elapsed(),
        stop,
    }
}

/// Turns token byte pieces into text, holding back an incomplete UTF-8 sequence until the next
/// token completes it (a token can end in the middle of a multi-byte character).
#[derive(Default)]
struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                let out = s.to_string();
                self.pending.clear();
                out
            }
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                let out = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
                self.pending.drain(..valid);
                out
            }
            Err(_) => {
                let out = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_pieces_are_held_until_complete() {
        let mut s = Utf8Stream::default();
        let euro = "€".as_bytes();
        assert_eq!(s.push(&euro[..1]), "");
        assert_eq!(s.push(&euro[1..]), "€");
        assert_eq!(s.push(b"ok"), "ok");
    }

    #[test]
    fn stop_strings_are_cut_and_never_streamed() {
        let stops = vec!["\nQuestion:".to_string()];
        let mut m = StopMatcher::new(&stops);
        assert_eq!(m.push("The answer is 4"), ("The answer is 4".into(), false));
        assert_eq!(m.push(".\nQue"), (".".into(), false), "a possible stop start is held back");
        assert_eq!(m.push("stion: next"), ("".into(), true));
        let mut m = StopMatcher::new(&stops);
        assert_eq!(m.push("line\nQ"), ("line".into(), false));
        assert_eq!(m.push("uick"), ("\nQuick".into(), false), "held text that turns out not to be a stop comes out");
        assert_eq!(m.push("\nQu"), ("".into(), false));
        assert_eq!(m.finish(), "\nQu", "held text comes out at the end");
    }

    fn greedy(model: &Path, lora: Option<LoraConfig>) -> Result<String, LlmError> {
        let llm = Llm::load(&LlmConfig { context_size: 512, lora, ..LlmConfig::new(model) })?;
        let prompt = llm.format_chat(&[ChatMessage { role: Role::User, content: "Name three colours.".into() }])?;
        Ok(run(&llm, &prompt, Adapter::AsLoaded)?.0)
    }

    #[test]
    fn a_lora_adapter_changes_generation_and_at_scale_zero_is_the_plain_model() {
        let model = brain_testkit::models_dir().join(brain_testkit::llm_file("smollm2-135m"));
        let dir = tempfile::tempdir().unwrap();
        let adapter = dir.path().join("house-style.gguf");
        brain_testkit::write_lora(&model, &adapter, 0, 0);
        let plain = greedy(&model, None).unwrap();
        let adapted = greedy(&model, Some(LoraConfig { path: adapter.clone(), scale: 1.0 })).unwrap();
        let at_zero = greedy(&model, Some(LoraConfig { path: adapter, scale: 0.0 })).unwrap();
        assert!(!plain.is_empty());
        assert_ne!(adapted, plain, "the adapter changes what is generated");
        assert_eq!(at_zero, plain, "scale 0 is the plain model");

        let mismatched = dir.path().join("other-model.gguf");
        brain_testkit::write_lora(&model, &mismatched, 8, 0);
        let refused = greedy(&model, Some(LoraConfig { path: mismatched.clone(), scale: 1.0 })).unwrap_err();
        assert!(matches!(&refused, LlmError::Lora { path, .. } if *path == mismatched), "{refused}");
        let damaged = dir.path().join("damaged.gguf");
        std::fs::write(&damaged, b"GGUF\x03\x00\x00\x00 and then nothing a GGUF holds").unwrap();
        assert!(matches!(greedy(&model, Some(LoraConfig { path: damaged, scale: 1.0 })), Err(LlmError::Lora { .. })));
        let not_gguf = dir.path().join("notes.txt");
        std::fs::write(&not_gguf, "not an adapter").unwrap();
        let refused = greedy(&model, Some(LoraConfig { path: not_gguf, scale: 1.0 })).unwrap_err().to_string();
        assert!(refused.contains("not a GGUF file"), "{refused}");
        assert_eq!(greedy(&model, None).unwrap(), plain, "the plain model keeps working");
    }

    /// Greedy text and reused prompt tokens of `prompt` on `llm` with `adapter`.
    fn run(llm: &Llm, prompt: &str, adapter: Adapter) -> Result<(String, usize), LlmError> {
        let mut out = String::new();
        let options = GenerateOptions { max_tokens: 16, adapter, ..GenerateOptions::default() };
        let stats = llm.generate(prompt, options, Arc::new(AtomicBool::new(false)), |t| out.push_str(t))?;
        Ok((out, stats.reused_prompt_tokens))
    }

    #[test]
    fn a_generation_chooses_its_adapter_and_each_adapter_keeps_its_computed_start() {
        let model = brain_testkit::models_dir().join(brain_testkit::llm_file("smollm2-135m"));
        let dir = tempfile::tempdir().unwrap();
        let (sales, legal) = (dir.path().join("sales.gguf"), dir.path().join("legal.gguf"));
        brain_testkit::write_lora(&model, &sales, 0, 0);
        brain_testkit::write_lora(&model, &legal, 0, 500);
        let lora = |path: &Path| Adapter::Lora(LoraConfig { path: path.into(), scale: 1.0 });
        let system = ChatMessage { role: Role::System, content: "You are a helpful assistant who answers in one short line.".into() };
        let question = ChatMessage { role: Role::User, content: "Name three colours.".into() };
        let alone = |adapter: Option<&Path>| {
            let config = LlmConfig {
                context_size: 512,
                lora: adapter.map(|path| LoraConfig { path: path.into(), scale: 1.0 }),
                ..LlmConfig::new(&model)
            };
            let llm = Llm::load(&config).unwrap();
            let prompt = llm.format_chat(&[system.clone(), question.clone()]).unwrap();
            run(&llm, &prompt, Adapter::AsLoaded).unwrap().0
        };

        let llm =
            Llm::load(&LlmConfig { context_size: 512, more_loras: vec![sales.clone(), legal.clone()], ..LlmConfig::new(&model) }).unwrap();
        let prompt = llm.format_chat(&[system.clone(), question.clone()]).unwrap();
        let primed = llm.prime(&llm.format_chat(std::slice::from_ref(&system)).unwrap()).unwrap();
        assert!(primed.prompt_tokens > 10);
        let (plain, reused) = run(&llm, &prompt, Adapter::AsLoaded).unwrap();
        assert!(reused > 10, "the primed start is kept: {reused}");
        let (with_sales, reused) = run(&llm, &prompt, lora(&sales)).unwrap();
        assert_eq!(reused, 0, "a state computed without the adapter is not reused with it");
        let (plain_again, reused) = run(&llm, &prompt, Adapter::Plain).unwrap();
        assert!(reused > 10, "the plain model's start was kept aside and is back: {reused}");
        let (sales_again, reused) = run(&llm, &prompt, lora(&sales)).unwrap();
        assert!(reused > 10, "so is the sales adapter's: {reused}");
        let (with_legal, _) = run(&llm, &prompt, lora(&legal)).unwrap();

        assert_eq!(plain, plain_again);
        assert_eq!(with_sales, sales_again);
        assert_ne!(with_sales, plain, "the adapter changes what is generated");
        assert_ne!(with_legal, with_sales, "each adapter its own");
        assert_eq!(plain, alone(None), "the same text as the model loaded without adapters");
        assert_eq!(with_sales, alone(Some(&sales)), "the same text as the model loaded with that adapter alone");
        assert_eq!(with_legal, alone(Some(&legal)));

        let unread = run(&llm, &prompt, lora(&dir.path().join("other.gguf"))).unwrap_err();
        assert!(matches!(&unread, LlmError::Lora { reason, .. } if reason.contains("not read with the model")), "{unread}");
        assert_eq!(run(&llm, &prompt, Adapter::Plain).unwrap().0, plain, "and the model goes on");
    }

    #[test]
    fn missing_and_non_gguf_files_are_named() {
        let missing = check_model_file(Path::new("/nonexistent/model.gguf")).unwrap_err();
        assert!(matches!(missing, LlmError::MissingModel(_)));
        assert!(missing.to_string().contains("/nonexistent/model.gguf"), "the message names the file");
        let dir = std::env::temp_dir().join(format!("brain-llm-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("fake.gguf");
        std::fs::write(&fake, b"not a model").unwrap();
        assert!(matches!(check_model_file(&fake).unwrap_err(), LlmError::NotGguf(_)));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
