//! `brain tune export`: a training set for fine-tuning an answer model elsewhere (on a machine
//! with a GPU), made from the pairs kept here.
//!
//! Each example is RAFT-style (Zhang et al., 2024): the question with the passage that answers it
//! among distractor passages (the passages of other files nearest the question), in the prompt
//! the engine itself gives the model (system prompt, numbered sources with file and place), and
//! an answer that quotes the passage's sentence closest to the question and cites it. One
//! example in five leaves the passage out and answers "I could not find this in your documents",
//! so a tuned model learns to refuse as well as to answer. One JSON object a line, in the
//! `messages` chat format that common trainers (TRL, Axolotl, Unsloth) read.

use std::path::Path;

use brain_embed::cosine;
use brain_llm::{ChatMessage, Role};
use brain_store::SearchFilter;
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use super::TuneTarget;
use super::pairs::{self, TuningPair};
use crate::error::{EngineError, Result};
use crate::retrieval::Hit;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub path: String,
    /// Examples written, refusals among them.
    pub examples: usize,
    pub refusals: usize,
    /// Pairs whose passage is no longer in the index.
    pub skipped: usize,
}

#[derive(Serialize)]
struct Example<'a> {
    messages: Vec<Message<'a>>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: String,
}

/// Which examples leave their passage out (a fifth, by the question's hash) and where the passage
/// stands among `sources` otherwise: fixed by the question, so an export is reproducible.
fn placement(query: &str, sources: usize) -> Option<usize> {
    let hash = blake3::hash(query.as_bytes());
    let bytes = hash.as_bytes();
    (!bytes[1].is_multiple_of(5)).then(|| bytes[2] as usize % (sources + 1))
}

/// Write the training set of every kept pair to `out`.
pub(crate) async fn export(target: &TuneTarget, out: &Path, distractors: usize) -> Result<ExportReport> {
    let all = pairs::read(&target.dir.join(super::PAIRS_FILE))?;
    // A source marked wrong answers nothing: only what stands as a pair is exported.
    let kept: Vec<pairs::TuningPair> = pairs::latest_verdicts(&all).into_iter().filter(|p| !p.negative).cloned().collect();
    if kept.is_empty() {
        return Err(EngineError::InvalidArgument("no pairs are kept yet: run `tune` first (it writes questions)".into()));
    }
    let queries: Vec<String> = kept.iter().map(|p| p.query.clone()).collect();
    let embedder = std::sync::Arc::clone(&target.embedder);
    let vectors = crate::blocking(move || embedder.embed_queries(&queries)).await??;
    let passages = passages_of(target, &kept, &vectors).await?;
    let mut lines = String::new();
    let (mut examples, mut refusals, mut skipped) = (0, 0, 0);
    for ((pair, vector), passage) in kept.iter().zip(&vectors).zip(passages) {
        let Some(passage) = passage else {
            skipped += 1;
            continue;
        };
        let nearest = target.store.search_vector(vector, distractors * 4 + 4, &SearchFilter::default()).await?;
        let mut sources: Vec<Hit> = Vec::new();
        for hit in nearest {
            if hit.path != passage.path && sources.len() < distractors && !sources.iter().any(|s| s.id == hit.id) {
                sources.push(hit);
            }
        }
        let answer = match placement(&pair.query, sources.len()) {
            Some(at) => {
                let sentence = closest_sentence(target, &passage.text, vector).await?;
                sources.insert(at, passage);
                format!("{sentence} [{}]", at + 1)
            }
            None => {
                refusals += 1;
                crate::answer::NOT_FOUND.to_string()
            }
        };
        let mut chat: Vec<Message> = crate::answer::prompt::messages(&pair.query, &sources).into_iter().map(message).collect();
        chat.push(Message { role: "assistant", content: answer });
        lines.push_str(&serde_json::to_string(&Example { messages: chat }).map_err(|e| EngineError::Internal(e.to_string()))?);
        lines.push('\n');
        examples += 1;
    }
    crate::fsutil::write_atomic(out, lines.as_bytes())?;
    Ok(ExportReport { path: out.display().to_string(), examples, refusals, skipped })
}

fn message(m: ChatMessage) -> Message<'static> {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    Message { role, content: m.content }
}

/// Each pair's passage: the one it names, or for a pair that names a file, that file's passage
/// nearest the question; `None` when it is gone from the index.
async fn passages_of(target: &TuneTarget, kept: &[TuningPair], vectors: &[Vec<f32>]) -> Result<Vec<Option<Hit>>> {
    let mut whole: Vec<String> = kept.iter().filter(|p| p.chunk_hash.is_none()).map(|p| p.path.clone()).collect();
    whole.sort();
    whole.dedup();
    let file_chunks = target.store.chunk_vectors_of(&whole).await?;
    let chosen: Vec<Option<String>> = kept
        .iter()
        .zip(vectors)
        .map(|(pair, vector)| match &pair.chunk_hash {
            Some(hash) => Some(hash.clone()),
            None => file_chunks
                .iter()
                .filter(|c| c.path == pair.path)
                .max_by(|a, b| cosine(&a.vector, vector).total_cmp(&cosine(&b.vector, vector)))
                .map(|c| c.chunk_hash.clone()),
        })
        .collect();
    let hashes: Vec<String> = chosen.iter().flatten().cloned().collect();
    let by_hash = target.store.chunks_by_hash(&hashes).await?;
    Ok(chosen.into_iter().map(|hash| hash.and_then(|h| by_hash.get(&h).cloned())).collect())
}

/// The passage's sentence closest in meaning to the question (the passage itself when it has
/// no sentence of three words).
async fn closest_sentence(target: &TuneTarget, text: &str, question: &[f32]) -> Result<String> {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentences: Vec<String> =
        flat.split_sentence_bounds().map(str::trim).filter(|s| s.split_whitespace().count() >= 3).map(str::to_string).collect();
    if sentences.len() < 2 {
        return Ok(sentences.into_iter().next().unwrap_or(flat));
    }
    let embedder = std::sync::Arc::clone(&target.embedder);
    let texts = sentences.clone();
    let vectors = crate::blocking(move || embedder.embed_queries(&texts)).await??;
    let best = vectors.iter().enumerate().max_by(|a, b| cosine(a.1, question).total_cmp(&cosine(b.1, question))).map_or(0, |(i, _)| i);
    Ok(sentences[best].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifth_of_the_examples_leave_their_passage_out_and_the_rest_place_it_anywhere() {
        let queries: Vec<String> = (0..1000).map(|i| format!("What does rule {i} say?")).collect();
        let placed: Vec<Option<usize>> = queries.iter().map(|q| placement(q, 3)).collect();
        let refused = placed.iter().filter(|p| p.is_none()).count();
        assert!((120..280).contains(&refused), "{refused} of 1000 leave the passage out");
        for at in 0..=3 {
            assert!(placed.contains(&Some(at)), "never at {at}");
        }
        assert!(placed.iter().flatten().all(|&at| at <= 3));
        assert_eq!(placement("same question", 3), placement("same question", 3));
    }
}
