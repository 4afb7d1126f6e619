//! The two models as the engine's decisions see them: [`EmbedText`] (texts → unit vectors) and
//! [`Generate`] (a templated prompt → streamed text).
//!
//! Key design decision: the rules that decide something — whether a claim is supported
//! (`grounding`), what the sources of an answer are (`retrieval`), what an answer becomes
//! (`answer`), what a batch writes (`pipeline::embed`) — take these traits, not the concrete
//! `brain_embed::Embedder` and `brain_llm::Llm`. Unit tests then run those rules with fakes in
//! milliseconds and without 1.2 GB of model files; the end-to-end tests (`tests/`) run the same
//! code on the real models. The traits are as small as the decisions need, nothing more.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use brain_llm::{ChatMessage, GenerateOptions, GenerationStats};

use crate::error::Result;

/// Texts to L2-normalised vectors, one per text, in order.
pub(crate) trait EmbedText: Send + Sync {
    /// Names the model and its weights; vectors of different identities must not be mixed.
    fn identity(&self) -> &str;
    /// Vector length.
    fn dimension(&self) -> usize;
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;

    /// [`EmbedText::embed`], calling `pause` between batches so that a caller who must yield the
    /// CPU (indexing while an answer is generated) can wait there.
    fn embed_with_pauses(&self, texts: &[String], pause: &dyn Fn()) -> Result<Vec<Vec<f32>>> {
        pause();
        self.embed(texts)
    }
}

impl EmbedText for brain_embed::Embedder {
    fn identity(&self) -> &str {
        brain_embed::Embedder::identity(self)
    }

    fn dimension(&self) -> usize {
        brain_embed::Embedder::dimension(self)
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(brain_embed::Embedder::embed(self, texts)?)
    }

    fn embed_with_pauses(&self, texts: &[String], pause: &dyn Fn()) -> Result<Vec<Vec<f32>>> {
        Ok(brain_embed::Embedder::embed_with_pauses(self, texts, pause)?)
    }
}

/// A loaded answer model: its chat template, its token counts and its generation.
pub(crate) trait Generate: Send + Sync {
    /// The context window in tokens.
    fn context_size(&self) -> u32;
    /// Tokens in `text` as the model counts them.
    fn count_tokens(&self, text: &str) -> usize;
    /// The conversation rendered with the model's chat template, ending with the assistant's turn.
    fn format_chat(&self, messages: &[ChatMessage]) -> Result<String>;
    /// Generate a continuation of `prompt`, handing each piece of text to `on_token` as it comes.
    fn generate(
        &self,
        prompt: &str,
        options: GenerateOptions,
        cancel: Arc<AtomicBool>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerationStats>;
}

impl Generate for brain_llm::Llm {
    fn context_size(&self) -> u32 {
        brain_llm::Llm::context_size(self)
    }

    fn count_tokens(&self, text: &str) -> usize {
        brain_llm::Llm::count_tokens(self, text)
    }

    fn format_chat(&self, messages: &[ChatMessage]) -> Result<String> {
        Ok(brain_llm::Llm::format_chat(self, messages)?)
    }

    fn generate(
        &self,
        prompt: &str,
        options: GenerateOptions,
        cancel: Arc<AtomicBool>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerationStats> {
        Ok(brain_llm::Llm::generate(self, prompt, options, cancel, on_token)?)
    }
}

/// Fakes of both models for unit tests: vectors from words, answers from a script.
#[cfg(test)]
pub(crate) mod fakes {
    use std::sync::Mutex;
    use std::time::Duration;

    use brain_llm::{Role, StopReason};

    use super::*;

    /// Embeds a text as a bag of its words hashed into 64 dimensions, normalised: texts that
    /// share words are close, texts that share none are orthogonal. Deterministic.
    #[derive(Default)]
    pub(crate) struct WordVectors {
        /// Fail every call (an embedder whose runtime broke).
        pub fail: bool,
    }

    pub(crate) const DIMENSION: usize = 64;

    impl WordVectors {
        pub(crate) fn vector(text: &str) -> Vec<f32> {
            let mut v = vec![0f32; DIMENSION];
            for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                let word = word.to_lowercase();
                // Plural and singular meet: "vans" and "van".
                let word = word.strip_suffix('s').filter(|w| w.len() > 2).unwrap_or(&word);
                let h = blake3::hash(word.as_bytes());
                v[h.as_bytes()[0] as usize % DIMENSION] += 1.0;
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            v
        }
    }

    impl EmbedText for WordVectors {
        fn identity(&self) -> &str {
            "fake-word-vectors"
        }

        fn dimension(&self) -> usize {
            DIMENSION
        }

        fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
            if self.fail {
                return Err(crate::error::EngineError::Embed(brain_embed::EmbedError::Embed("the runtime broke".into())));
            }
            Ok(texts.iter().map(|t| WordVectors::vector(t)).collect())
        }
    }

    /// A model that answers with a scripted text, streamed word by word, and counts a token
    /// per word. Its chat template is "ROLE: content" lines. It records the prompts it saw.
    pub(crate) struct ScriptedModel {
        pub answer: String,
        pub context_size: u32,
        pub prompts: Mutex<Vec<String>>,
    }

    impl ScriptedModel {
        pub(crate) fn answering(answer: &str) -> ScriptedModel {
            ScriptedModel { answer: answer.to_string(), context_size: 4096, prompts: Mutex::new(Vec::new()) }
        }
    }

    impl Generate for ScriptedModel {
        fn context_size(&self) -> u32 {
            self.context_size
        }

        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }

        fn format_chat(&self, messages: &[ChatMessage]) -> Result<String> {
            let role = |r: Role| match r {
                Role::System => "SYSTEM",
                Role::User => "USER",
                Role::Assistant => "ASSISTANT",
            };
            let mut out: String = messages.iter().map(|m| format!("{}: {}\n", role(m.role), m.content)).collect();
            out.push_str("ASSISTANT:");
            Ok(out)
        }

        fn generate(
            &self,
            prompt: &str,
            options: GenerateOptions,
            cancel: Arc<AtomicBool>,
            on_token: &mut dyn FnMut(&str),
        ) -> Result<GenerationStats> {
            self.prompts.lock().unwrap().push(prompt.to_string());
            let mut generated = 0;
            let mut stop = StopReason::EndOfText;
            for (i, word) in self.answer.split_inclusive(' ').enumerate() {
                if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    stop = StopReason::Cancelled;
                    break;
                }
                if i as u32 >= options.max_tokens {
                    stop = StopReason::MaxTokens;
                    break;
                }
                on_token(word);
                generated += 1;
            }
            Ok(GenerationStats {
                prompt_tokens: self.count_tokens(prompt),
                reused_prompt_tokens: 0,
                generated_tokens: generated,
                time_to_first_token: Some(Duration::from_millis(1)),
                total: Duration::from_millis(2),
                stop,
            })
        }
    }
}
