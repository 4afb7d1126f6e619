//! Reads of the two tables that are not searches: document rows, counts, every chunk's text,
//! evenly spread samples (for the benchmarks) and stored vectors by chunk hash (for reuse).
//!
//! Key decision: what may be big is streamed. A sample reads the chunks table batch by batch
//! and keeps only the rows it picks, so sampling a million-chunk index never holds it whole;
//! vectors are looked up by hash in groups of 512, one filtered query each.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use arrow_array::{Array, RecordBatch};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase, Select};

use crate::records::{self, DocumentRecord, NewChunk};
use crate::sql::{in_list, sql_string};
use crate::{Location, Result, Store, StoreError};

/// A stored chunk's vector with what identifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkVector {
    pub path: String,
    pub chunk_hash: String,
    pub vector: Vec<f32>,
}

const CHUNK_VECTOR_COLUMNS: &[&str] = &["path", "chunk_hash", "vector"];

fn chunk_vectors(batches: &[RecordBatch]) -> Result<Vec<ChunkVector>> {
    let mut out = Vec::new();
    for b in batches {
        let path = records::string_column(b, "path")?;
        let hash = records::string_column(b, "chunk_hash")?;
        let vectors = records::vectors_column(b)?.ok_or_else(|| StoreError::Corrupt("a chunk row without a vector".into()))?;
        for i in 0..b.num_rows() {
            out.push(ChunkVector {
                path: path.value(i).to_string(),
                chunk_hash: hash.value(i).to_string(),
                vector: records::f32_values(vectors, i),
            });
        }
    }
    Ok(out)
}

impl Store {
    /// Bytes the store takes on disk (every version LanceDB still keeps).
    pub fn disk_bytes(&self) -> u64 {
        fn bytes_under(dir: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
                .map(|(path, kind)| if kind.is_dir() { bytes_under(&path) } else { path.metadata().map_or(0, |m| m.len()) })
                .sum()
        }
        bytes_under(&self.dir)
    }

    /// Every document row.
    pub async fn documents(&self) -> Result<Vec<DocumentRecord>> {
        let batches: Vec<RecordBatch> = self.documents.query().execute().await?.try_collect().await?;
        batches.iter().map(records::documents_from_batch).collect::<Result<Vec<_>>>().map(|v| v.concat())
    }

    pub async fn chunk_count(&self) -> Result<usize> {
        Ok(self.chunks.count_rows(None).await?)
    }

    /// Chunks stored for the file at `path`.
    pub async fn chunk_count_of(&self, path: &str) -> Result<usize> {
        Ok(self.chunks.count_rows(Some(format!("path = {}", sql_string(path)))).await?)
    }

    /// Chunks stored for the files at `paths`, together (one query).
    pub async fn chunk_count_within(&self, paths: &[String]) -> Result<usize> {
        if paths.is_empty() {
            return Ok(0);
        }
        Ok(self.chunks.count_rows(Some(in_list("path", paths))).await?)
    }

    /// Every chunk's text and location by file, in chunk order.
    pub async fn chunk_contents(&self) -> Result<BTreeMap<String, Vec<(String, Location)>>> {
        let batches: Vec<RecordBatch> =
            self.chunks.query().select(Select::columns(&["path", "ordinal", "text", "location"])).execute().await?.try_collect().await?;
        let mut by_path: BTreeMap<String, Vec<(u32, String, Location)>> = Default::default();
        for b in &batches {
            let path = records::string_column(b, "path")?;
            let ordinal = records::typed_column::<arrow_array::UInt32Array>(b, "ordinal")?;
            let text = records::string_column(b, "text")?;
            let location = records::string_column(b, "location")?;
            for i in 0..b.num_rows() {
                by_path.entry(path.value(i).to_string()).or_default().push((
                    ordinal.value(i),
                    text.value(i).to_string(),
                    records::location_from_json(location.value(i)),
                ));
            }
        }
        Ok(by_path
            .into_iter()
            .map(|(p, mut chunks)| {
                chunks.sort_by_key(|(o, _, _)| *o);
                (p, chunks.into_iter().map(|(_, t, l)| (t, l)).collect())
            })
            .collect())
    }

    /// Up to `n` chunks, spread evenly over the table: (text, context). For benchmarks.
    pub async fn sample_chunks(&self, n: usize) -> Result<Vec<(String, Option<String>)>> {
        self.sample_rows(n, &["text", "context"], |b, i| {
            let context = records::string_column(b, "context")?;
            Ok((records::string_column(b, "text")?.value(i).to_string(), (!context.is_null(i)).then(|| context.value(i).to_string())))
        })
        .await
    }

    /// Up to `n` chunks spread evenly over the table, with their vectors: the raw material of
    /// the scale benchmark's synthetic index.
    pub async fn sample_chunks_with_vectors(&self, n: usize) -> Result<Vec<(NewChunk, String)>> {
        self.sample_rows(n, &["path", "text", "context", "location", "chunk_hash", "vector"], |b, i| {
            let context = records::string_column(b, "context")?;
            let vectors = records::vectors_column(b)?.ok_or_else(|| StoreError::Corrupt("a chunk row without a vector".into()))?;
            let chunk = NewChunk {
                text: records::string_column(b, "text")?.value(i).to_string(),
                context: (!context.is_null(i)).then(|| context.value(i).to_string()),
                location: records::location_from_json(records::string_column(b, "location")?.value(i)),
                chunk_hash: records::string_column(b, "chunk_hash")?.value(i).to_string(),
                vector: records::f32_values(vectors, i),
            };
            Ok((chunk, records::string_column(b, "path")?.value(i).to_string()))
        })
        .await
    }

    /// Every `total / n`-th row of the chunks table (at most `n`), each made into a value by
    /// `pick(batch, row)`. Batches are read one at a time, so a big table is never held whole.
    async fn sample_rows<T>(&self, n: usize, columns: &[&str], mut pick: impl FnMut(&RecordBatch, usize) -> Result<T>) -> Result<Vec<T>> {
        let total = self.chunks.count_rows(None).await?;
        let step = (total / n.max(1)).max(1);
        let mut batches = self.chunks.query().select(Select::columns(columns)).execute().await?;
        let mut out = Vec::new();
        let mut row = 0usize;
        while let Some(b) = batches.try_next().await? {
            for i in 0..b.num_rows() {
                if row.is_multiple_of(step) && out.len() < n {
                    out.push(pick(&b, i)?);
                }
                row += 1;
            }
        }
        Ok(out)
    }

    /// Every chunk of the files at `paths` with its vector (the passages a tuning pair names).
    pub async fn chunk_vectors_of(&self, paths: &[String]) -> Result<Vec<ChunkVector>> {
        let mut out = Vec::new();
        for group in paths.chunks(512) {
            let batches: Vec<RecordBatch> = self
                .chunks
                .query()
                .only_if(in_list("path", group))
                .select(Select::columns(CHUNK_VECTOR_COLUMNS))
                .execute()
                .await?
                .try_collect()
                .await?;
            out.extend(chunk_vectors(&batches)?);
        }
        Ok(out)
    }

    /// The `k` chunks nearest to `query` with their vectors (through the ANN index where there
    /// is one): the hard negatives a query adapter is trained against.
    pub async fn nearest_chunk_vectors(&self, query: &[f32], k: usize) -> Result<Vec<ChunkVector>> {
        let batches: Vec<RecordBatch> = self
            .chunks
            .query()
            .nearest_to(query)?
            .distance_type(lancedb::DistanceType::Cosine)
            .limit(k)
            .select(Select::columns(CHUNK_VECTOR_COLUMNS))
            .execute()
            .await?
            .try_collect()
            .await?;
        chunk_vectors(&batches)
    }

    /// Stored vectors for these chunk hashes (equal hash, equal embedded text, equal vector):
    /// an edited, renamed or copied file re-embeds only chunks whose text is new.
    pub async fn vectors_by_chunk_hash(&self, hashes: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let mut out = HashMap::new();
        if hashes.is_empty() || self.chunks.count_rows(None).await? == 0 {
            return Ok(out);
        }
        let mut unique: Vec<String> = hashes.to_vec();
        unique.sort();
        unique.dedup();
        for group in unique.chunks(512) {
            let batches: Vec<RecordBatch> = self
                .chunks
                .query()
                .only_if(in_list("chunk_hash", group))
                .select(Select::columns(&["chunk_hash", "vector"]))
                .execute()
                .await?
                .try_collect()
                .await?;
            for b in &batches {
                let hashes = records::string_column(b, "chunk_hash")?;
                let Some(vectors) = records::vectors_column(b)? else { continue };
                for i in 0..b.num_rows() {
                    out.entry(hashes.value(i).to_string()).or_insert_with(|| records::f32_values(vectors, i));
                }
            }
        }
        Ok(out)
    }
}
