//! Fixtures shared by the unit tests of the store's modules: rows, batches, an open writer.

use std::path::Path;

use crate::records::ChunkRecord;
use crate::{DocStatus, DocumentRecord, DocumentWrite, Hit, IndexLock, Location, NewChunk, Recovery, Store, StoreWriter, WriteBatch};

pub(crate) fn doc(path: &str, hash: &str, chunks: u32) -> DocumentRecord {
    DocumentRecord {
        path: path.into(),
        folder: "/docs".into(),
        hash: Some(hash.into()),
        size: 1,
        mtime_ns: 1,
        status: DocStatus::Indexed,
        error: None,
        format: Some("text".into()),
        chunks,
        updated_ms: 0,
        readers: None,
    }
}

pub(crate) fn chunk(path: &str, hash: &str, ordinal: u32, text: &str, vector: [f32; 4]) -> ChunkRecord {
    ChunkRecord {
        id: format!("{path}#{ordinal}"),
        path: path.into(),
        doc_hash: hash.into(),
        ordinal,
        text: text.into(),
        context: Some("Title".into()),
        location: Location::page(1),
        chunk_hash: format!("{hash}-{ordinal}"),
        vector: vector.to_vec(),
        readers: None,
    }
}

pub(crate) fn write_doc(path: &str, hash: &str, chunks: Vec<ChunkRecord>) -> WriteBatch {
    let record = doc(path, hash, chunks.len() as u32);
    let chunks = chunks
        .into_iter()
        .map(|c| NewChunk { text: c.text, context: c.context, location: c.location, chunk_hash: c.chunk_hash, vector: c.vector })
        .collect();
    WriteBatch { documents: vec![DocumentWrite { record, chunks: Some(chunks), identity: None }], removed: vec![] }
}

pub(crate) fn paths(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.path.as_str()).collect()
}

pub(crate) async fn open_writer(dir: &Path) -> (Store, StoreWriter, Recovery) {
    let store = Store::open(dir, 4).await.unwrap();
    let lock = IndexLock::acquire(&dir.join("index.lock"), |_| {}, || false).await.unwrap();
    let (writer, recovery) = store.writer(lock).await.unwrap();
    (store, writer, recovery)
}

/// A deterministic unit vector (xorshift), so the test needs no random-number crate.
pub(crate) fn unit_vector(seed: u64, dimension: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v: Vec<f32> = (0..dimension)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

/// A stand-in for the chunk hash (blake3 in the pipeline): equal texts, equal hashes.
pub(crate) fn blake3_like(text: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    format!("{:016x}", h.finish())
}
