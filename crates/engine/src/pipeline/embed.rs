//! Stage 2, embed: vectors for the prepared chunks. A chunk whose text is already stored (an
//! edited file's unchanged parts, a renamed or copied file, what a killed sync stored before it
//! died) reuses its vector; only new text goes through the model.

use std::collections::HashMap;
use std::sync::Arc;

use brain_store::{DocumentWrite, NewChunk, Store};

use super::prepare::Prepared;
use super::{BatchStats, Pipeline};
use crate::error::{EngineError, Result};
use crate::events::IndexEvent;
use crate::inference::EmbedText;

/// The writes of a prepared batch, the events to publish once they are committed, and figures.
pub(crate) async fn run(
    pipeline: &Pipeline,
    store: &Store,
    prepared: Vec<Prepared>,
) -> Result<(Vec<DocumentWrite>, Vec<IndexEvent>, BatchStats)> {
    let hashes: Vec<String> = prepared
        .iter()
        .flat_map(|p| match p {
            Prepared::Chunks { chunks, .. } => chunks.iter().map(|c| c.hash.clone()).collect(),
            _ => Vec::new(),
        })
        .collect();
    let known = store.vectors_by_chunk_hash(&hashes).await?;
    let embedder = Arc::clone(&pipeline.embedder);
    let pause = pipeline.pause.clone();
    tokio::task::spawn_blocking(move || embed_batch(prepared, known, embedder.as_ref(), &pause))
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
}

fn embed_batch(
    prepared: Vec<Prepared>,
    known: HashMap<String, Vec<f32>>,
    embedder: &dyn EmbedText,
    pause: &crate::yielding::Yield,
) -> Result<(Vec<DocumentWrite>, Vec<IndexEvent>, BatchStats)> {
    let mut to_embed: Vec<String> = Vec::new();
    let mut to_embed_hashes: Vec<String> = Vec::new();
    let mut queued: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for p in &prepared {
        if let Prepared::Chunks { chunks, .. } = p {
            for c in chunks {
                if !known.contains_key(&c.hash) && queued.insert(c.hash.as_str()) {
                    to_embed.push(c.embedding_text());
                    to_embed_hashes.push(c.hash.clone());
                }
            }
        }
    }
    let vectors = embedder.embed_with_pauses(&to_embed, &|| pause.wait())?;
    let mut stats = BatchStats { embedded: vectors.len(), files: prepared.len(), ..BatchStats::default() };
    let mut by_hash = known;
    by_hash.extend(to_embed_hashes.into_iter().zip(vectors));

    let mut writes = Vec::with_capacity(prepared.len());
    let mut events = Vec::with_capacity(prepared.len());
    for p in prepared {
        match p {
            Prepared::Touch(record) => {
                events.push(IndexEvent::FileIndexed { path: record.path.clone(), chunks: record.chunks as usize });
                stats.indexed += 1;
                writes.push(DocumentWrite { record, chunks: None, identity: None });
            }
            Prepared::Failed(record) => {
                events.push(IndexEvent::FileFailed { path: record.path.clone(), error: record.error.clone().unwrap_or_default() });
                stats.failed += 1;
                writes.push(DocumentWrite { record, chunks: Some(Vec::new()), identity: None });
            }
            Prepared::Chunks { record, chunks, identity } => {
                let chunks: Vec<NewChunk> = chunks
                    .into_iter()
                    .map(|c| NewChunk {
                        vector: by_hash.get(&c.hash).cloned().unwrap_or_default(),
                        chunk_hash: c.hash,
                        text: c.text,
                        context: c.context,
                        location: c.location,
                    })
                    .collect();
                stats.indexed += 1;
                stats.chunks += chunks.len();
                events.push(IndexEvent::FileIndexed { path: record.path.clone(), chunks: chunks.len() });
                writes.push(DocumentWrite { record, chunks: Some(chunks), identity: Some(identity) });
            }
        }
    }
    Ok((writes, events, stats))
}
