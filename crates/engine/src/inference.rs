//! The two models as the engine's decisions see them: [`EmbedText`] (texts → unit vectors) and
//! [`Generate`] (a templated prompt → streamed text).
//!
//! Key design decision: the rules that decide something — whether a claim is supported
//! (`grounding`), what the sources of an answer are (`retrieval`), what an answer becomes
//! (`answer`), what a batch writes (`pipeline::embed`) — take these traits, not the concrete
//! `brain_embed::Embedder` and `brain_llm::Llm`. Unit tests then run those rules with fakes in
//! milliseconds and without 1.2 GB of model files; the end-to-end tests (`tests/`) run the same
//! code on the real models. The traits are as small as the decisions need, nothing more.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use brain_llm::{ChatMessage, GenerateOptions, GenerationStats};

use crate::error::{EngineError, Result};

/// Texts to L2-normalised vectors, one per text, in order.
pub(crate) trait EmbedText: Send + Sync {
    /// Names the model and its weights; vectors of different identities must not be mixed.
    fn identity(&self) -> &str;
    /// Vector length.
    fn dimension(&self) -> usize;
    /// A cosine similarity of this model on the scale of the engine's thresholds (see
    /// `brain_embed::Embedder::calibrate`); the identity for a model already on it.
    fn calibrate(&self, cosine: f32) -> f32 {
        cosine
    }
    /// [`Self::calibrate`] for a question and a passage in different languages (see
    /// `brain_embed::Embedder::calibrate_across_languages`).
    fn calibrate_across_languages(&self, cosine: f32) -> f32 {
        self.calibrate(cosine)
    }
    /// A question's (or a claim read with its question's) cosine to a passage, on the one
    /// scale: [`Self::calibrate_across_languages`] when the two are in different languages.
    fn calibrate_question(&self, cosine: f32, in_different_languages: bool) -> f32 {
        if in_different_languages { self.calibrate_across_languages(cosine) } else { self.calibrate(cosine) }
    }
    /// Whether texts in two languages that say the same thing come out close (a multilingual
    /// model): only then can a claim be checked against a source in another language.
    fn reads_across_languages(&self) -> bool {
        false
    }
    /// Passages: what is stored and searched.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;

    /// Questions, and texts compared with each other (a claim with a sentence): a model trained
    /// with instructions (E5) reads these as queries. The same as [`EmbedText::embed`] for a
    /// model without them.
    fn embed_queries(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.embed(texts)
    }

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

    fn calibrate(&self, cosine: f32) -> f32 {
        brain_embed::Embedder::calibrate(self, cosine)
    }

    fn calibrate_across_languages(&self, cosine: f32) -> f32 {
        brain_embed::Embedder::calibrate_across_languages(self, cosine)
    }

    fn reads_across_languages(&self) -> bool {
        brain_embed::Embedder::is_multilingual(self)
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(brain_embed::Embedder::embed(self, texts)?)
    }

    fn embed_queries(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(brain_embed::Embedder::embed_queries(self, texts)?)
    }

    fn embed_with_pauses(&self, texts: &[String], pause: &dyn Fn()) -> Result<Vec<Vec<f32>>> {
        Ok(brain_embed::Embedder::embed_with_pauses(self, texts, pause)?)
    }
}

/// An embedder that embeds each distinct query text once and remembers its vector, for the length
/// of one piece of work (passages go straight through). An answer embeds its question and its sources' sentences twice — to cut the
/// sources before the prompt (`answer::excerpt`) and to check the claims after the answer
/// (`grounding`) — and through this the second pass embeds little more than the claims.
pub(crate) struct Remembering<'a> {
    inner: &'a dyn EmbedText,
    vectors: Mutex<HashMap<String, Vec<f32>>>,
}

impl<'a> Remembering<'a> {
    pub(crate) fn new(inner: &'a dyn EmbedText) -> Remembering<'a> {
        Remembering { inner, vectors: Mutex::new(HashMap::new()) }
    }
}

impl EmbedText for Remembering<'_> {
    fn identity(&self) -> &str {
        self.inner.identity()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn calibrate(&self, cosine: f32) -> f32 {
        self.inner.calibrate(cosine)
    }

    fn calibrate_across_languages(&self, cosine: f32) -> f32 {
        self.inner.calibrate_across_languages(cosine)
    }

    fn reads_across_languages(&self) -> bool {
        self.inner.reads_across_languages()
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.inner.embed(texts)
    }

    fn embed_queries(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mut vectors = self.vectors.lock().map_err(|_| EngineError::Internal("the remembered vectors are poisoned".into()))?;
        let mut missing: Vec<String> = Vec::new();
        for text in texts {
            if !vectors.contains_key(text) && !missing.contains(text) {
                missing.push(text.clone());
            }
        }
        if !missing.is_empty() {
            let new = self.inner.embed_queries(&missing)?;
            if new.len() != missing.len() {
                return Err(EngineError::Internal(format!("the embedder gave {} vectors for {} texts", new.len(), missing.len())));
            }
            vectors.extend(missing.into_iter().zip(new));
        }
        Ok(texts.iter().map(|t| vectors[t].clone()).collect())
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
    use std::time::Duration;

    use brain_llm::{Role, StopReason};

    use super::*;

    /// Embeds a text as a bag of its words hashed into 64 dimensions, normalised: texts that
    /// share words are close, texts that share none are orthogonal. Deterministic.
    #[derive(Default)]
    pub(crate) struct WordVectors {
        /// Fail every call (an embedder whose runtime broke).
        pub fail: bool,
        /// Texts embedded so far, so that reuse can be seen.
        pub embedded: std::sync::atomic::AtomicUsize,
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
            self.embedded.fetch_add(texts.len(), std::sync::atomic::Ordering::Relaxed);
            Ok(texts.iter().map(|t| WordVectors::vector(t)).collect())
        }
    }

    /// A multilingual model in miniature: German and Spanish words are read through a small
    /// dictionary as English ones, so a text and its translation share their words, but each
    /// language leaves a mark of its own on the vector (an axis per language, of weight `mark`
    /// against the words' 1), so a pair across languages comes out less close than the same pair
    /// in one language, as E5's do: a question and a passage lose much (a heavy mark), two
    /// statements little (a light one). Its calibrations take the mark off exactly: a pair's
    /// calibrated similarity is [`WordVectors`]' cosine of their English words.
    pub(crate) struct Bilingual {
        /// The squared weight of a text's language on its vector.
        pub mark: f32,
        /// Calibrate pairs across languages as pairs in one language (what the engine did
        /// before it told them apart).
        pub one_scale: bool,
    }

    const DICTIONARY: &[(&str, &str)] = &[
        ("wie", "how"),
        ("viele", "many"),
        ("elektrische", "electric"),
        ("transporter", "vans"),
        ("fahren", "run"),
        ("vom", "from"),
        ("cómo", "how"),
        ("el", "the"),
        ("en", "in"),
        ("llama", "called"),
        ("jardín", "garden"),
        ("sajón", "saxon"),
        ("polaco", "polish"),
        ("euro", "euros"),
        ("pro", "per"),
        ("nacht", "night"),
        ("erstattet", "refunds"),
        ("die", "the"),
        ("firma", "company"),
        ("für", "for"),
        ("hotels", "hotels"),
        ("in", "in"),
        ("hauptstädten", "capital cities"),
        ("hauptstadt", "capital cities"),
        ("höchstens", "at most"),
        ("viel", "much"),
        ("ein", "a"),
        ("einer", "a"),
    ];

    impl Bilingual {
        pub(crate) fn vector(&self, text: &str) -> Vec<f32> {
            let english: Vec<String> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let w = w.to_lowercase();
                    DICTIONARY.iter().find(|(from, _)| *from == w).map_or(w, |(_, to)| to.to_string())
                })
                .collect();
            let mut v = WordVectors::vector(&english.join(" "));
            let mut mark = [0f32; 3];
            let axis = match crate::languages::short_text_language(text) {
                Some(whichlang::Lang::Deu) => 1,
                Some(whichlang::Lang::Spa) => 2,
                _ => 0,
            };
            mark[axis] = self.mark.sqrt();
            v.extend(mark);
            let norm = (1.0 + self.mark).sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        }
    }

    impl EmbedText for Bilingual {
        fn identity(&self) -> &str {
            "fake-bilingual"
        }

        fn dimension(&self) -> usize {
            DIMENSION + 3
        }

        fn calibrate(&self, cosine: f32) -> f32 {
            cosine * (1.0 + self.mark) - self.mark
        }

        fn calibrate_across_languages(&self, cosine: f32) -> f32 {
            if self.one_scale { self.calibrate(cosine) } else { cosine * (1.0 + self.mark) }
        }

        fn reads_across_languages(&self) -> bool {
            true
        }

        fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
            Ok(texts.iter().map(|t| self.vector(t)).collect())
        }
    }

    impl WordVectors {
        /// Texts embedded so far.
        pub(crate) fn embedded(&self) -> usize {
            self.embedded.load(std::sync::atomic::Ordering::Relaxed)
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

#[cfg(test)]
mod tests {
    use super::fakes::WordVectors;
    use super::*;

    #[test]
    fn remembering_embeds_each_distinct_text_once_and_answers_in_order() {
        let inner = WordVectors::default();
        let remembering = Remembering::new(&inner);
        let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let first = remembering.embed_queries(&texts(&["the question", "a sentence", "the question"])).unwrap();
        assert_eq!(inner.embedded(), 2, "a text twice in one call is embedded once");
        assert_eq!(first[0], first[2]);
        let second = remembering.embed_queries(&texts(&["a claim", "a sentence", "the question"])).unwrap();
        assert_eq!(inner.embedded(), 3, "only the new text");
        assert_eq!(second, vec![WordVectors::vector("a claim"), first[1].clone(), first[0].clone()]);
    }
}
