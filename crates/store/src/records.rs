//! Rows of the three tables and their Arrow form.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::types::Float32Type;
use arrow_array::{Array, FixedSizeListArray, Int64Array, ListArray, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use brain_parse::Location;

use crate::{Result, StoreError};

/// Where a file stands in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocStatus {
    /// Parsed, chunked, embedded and stored.
    Indexed,
    /// Could not be indexed; `error` says why.
    Failed,
    /// Seen on disk, not processed yet.
    Pending,
}

impl DocStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Indexed => "indexed",
            DocStatus::Failed => "failed",
            DocStatus::Pending => "pending",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "indexed" => DocStatus::Indexed,
            "failed" => DocStatus::Failed,
            "pending" => DocStatus::Pending,
            other => return Err(StoreError::Corrupt(format!("unknown document status {other:?}"))),
        })
    }
}

/// One file.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRecord {
    /// Absolute path.
    pub path: String,
    /// The registered folder the file was found under.
    pub folder: String,
    /// blake3 of the content, hex; `None` when the file could not even be read.
    pub hash: Option<String>,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    pub status: DocStatus,
    /// Why the file failed (for `Failed`), or notes on an indexed file (e.g. an encoding).
    pub error: Option<String>,
    pub format: Option<String>,
    pub chunks: u32,
    /// When this row was written, milliseconds since the Unix epoch.
    pub updated_ms: i64,
    /// Who may read the file, as reader tokens (see `brain_access::Rule`), copied onto every
    /// chunk. `None`: not known (a row from before readers were recorded, a benchmark corpus):
    /// no person's search matches it.
    pub readers: Option<Vec<String>>,
}

/// A chunk of a document to store: what the pipeline made of it. The store numbers it and ties
/// it to its document (id, path, version).
#[derive(Debug, Clone, PartialEq)]
pub struct NewChunk {
    pub text: String,
    /// The heading path or title the chunk sits under.
    pub context: Option<String>,
    pub location: Location,
    /// blake3 of the embedded text: equal hashes, equal vectors.
    pub chunk_hash: String,
    pub vector: Vec<f32>,
}

/// One chunk row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChunkRecord {
    /// `path#ordinal`: stable across re-indexing, so a re-index overwrites in place.
    pub id: String,
    pub path: String,
    /// The document hash the chunk was made from (to detect leftovers after a crash).
    pub doc_hash: String,
    pub ordinal: u32,
    pub text: String,
    pub context: Option<String>,
    pub location: Location,
    /// blake3 of the embedded text: equal hashes, equal vectors.
    pub chunk_hash: String,
    pub vector: Vec<f32>,
    /// Its document's readers (the search's pre-filter for a person).
    pub readers: Option<Vec<String>>,
}

impl ChunkRecord {
    /// The rows of a document's chunks, numbered in order.
    pub(crate) fn of_document(document: &DocumentRecord, chunks: Vec<NewChunk>) -> Vec<ChunkRecord> {
        let doc_hash = document.hash.clone().unwrap_or_default();
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, c)| ChunkRecord {
                id: format!("{}#{i}", document.path),
                path: document.path.clone(),
                doc_hash: doc_hash.clone(),
                ordinal: i as u32,
                text: c.text,
                context: c.context,
                location: c.location,
                chunk_hash: c.chunk_hash,
                vector: c.vector,
                readers: document.readers.clone(),
            })
            .collect()
    }

    /// What the keyword index sees: heading context and text, CJK split into bigrams.
    fn search_text(&self) -> String {
        crate::keywords::with_cjk_bigrams(&match &self.context {
            Some(c) => format!("{c}\n{}", self.text),
            None => self.text.clone(),
        })
    }
}

pub(crate) fn documents_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("folder", DataType::Utf8, false),
        Field::new("hash", DataType::Utf8, true),
        Field::new("size", DataType::UInt64, false),
        Field::new("mtime_ns", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
        Field::new("format", DataType::Utf8, true),
        Field::new("chunks", DataType::UInt32, false),
        Field::new("updated_ms", DataType::Int64, false),
        readers_field(),
    ]))
}

/// The readers column of the documents and chunks tables: a list of tokens, null when unknown.
pub(crate) fn readers_field() -> Field {
    Field::new("readers", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true)
}

fn readers_array<'a>(rows: impl Iterator<Item = Option<&'a Vec<String>>>) -> ListArray {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for readers in rows {
        match readers {
            Some(tokens) => {
                for t in tokens {
                    builder.values().append_value(t);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    builder.finish()
}

fn readers_at(list: Option<&ListArray>, i: usize) -> Option<Vec<String>> {
    let list = list?;
    if list.is_null(i) {
        return None;
    }
    let values = list.value(i);
    let strings = values.as_any().downcast_ref::<StringArray>()?;
    Some((0..strings.len()).filter(|&j| !strings.is_null(j)).map(|j| strings.value(j).to_string()).collect())
}

/// One row per indexed file: its path and its identity text (see `identities`).
pub(crate) fn identities_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("path", DataType::Utf8, false), Field::new("identity", DataType::Utf8, false)]))
}

pub(crate) fn identities_batch(rows: &[(&str, &str)]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        identities_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(path, _)| *path))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(_, identity)| *identity))),
        ],
    )?)
}

pub(crate) fn chunks_schema(dimension: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("doc_hash", DataType::Utf8, false),
        Field::new("ordinal", DataType::UInt32, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("context", DataType::Utf8, true),
        Field::new("search_text", DataType::Utf8, false),
        Field::new("location", DataType::Utf8, false),
        Field::new("chunk_hash", DataType::Utf8, false),
        Field::new("vector", DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), dimension as i32), false),
        readers_field(),
    ]))
}

pub(crate) fn documents_batch(docs: &[&DocumentRecord]) -> Result<RecordBatch> {
    let strings = |f: fn(&DocumentRecord) -> Option<&str>| Arc::new(StringArray::from_iter(docs.iter().map(|d| f(d))));
    Ok(RecordBatch::try_new(
        documents_schema(),
        vec![
            strings(|d| Some(&d.path)),
            strings(|d| Some(&d.folder)),
            strings(|d| d.hash.as_deref()),
            Arc::new(UInt64Array::from_iter_values(docs.iter().map(|d| d.size))),
            Arc::new(Int64Array::from_iter_values(docs.iter().map(|d| d.mtime_ns))),
            strings(|d| Some(d.status.as_str())),
            strings(|d| d.error.as_deref()),
            strings(|d| d.format.as_deref()),
            Arc::new(UInt32Array::from_iter_values(docs.iter().map(|d| d.chunks))),
            Arc::new(Int64Array::from_iter_values(docs.iter().map(|d| d.updated_ms))),
            Arc::new(readers_array(docs.iter().map(|d| d.readers.as_ref()))),
        ],
    )?)
}

pub(crate) fn chunks_batch(chunks: &[&ChunkRecord], dimension: usize) -> Result<RecordBatch> {
    for c in chunks {
        if c.vector.len() != dimension {
            return Err(StoreError::DimensionMismatch { found: c.vector.len(), expected: dimension });
        }
    }
    let strings = |f: fn(&ChunkRecord) -> Option<&str>| Arc::new(StringArray::from_iter(chunks.iter().map(|c| f(c))));
    let search_text: StringArray = chunks.iter().map(|c| Some(c.search_text())).collect();
    // Serialised here only: everywhere else a location is the typed `Location`.
    let locations: StringArray = chunks.iter().map(|c| Some(serde_json::to_string(&c.location).unwrap_or_else(|_| "{}".into()))).collect();
    let vectors = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        chunks.iter().map(|c| Some(c.vector.iter().map(|x| Some(*x)).collect::<Vec<_>>())),
        dimension as i32,
    );
    let schema = chunks_schema(dimension);
    // from_iter_primitive makes a nullable item field; match the schema's field exactly.
    let vectors = FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float32, true)),
        dimension as i32,
        vectors.values().clone(),
        None,
    )?;
    Ok(RecordBatch::try_new(
        schema,
        vec![
            strings(|c| Some(&c.id)),
            strings(|c| Some(&c.path)),
            strings(|c| Some(&c.doc_hash)),
            Arc::new(UInt32Array::from_iter_values(chunks.iter().map(|c| c.ordinal))),
            strings(|c| Some(&c.text)),
            strings(|c| c.context.as_deref()),
            Arc::new(search_text),
            Arc::new(locations),
            strings(|c| Some(&c.chunk_hash)),
            Arc::new(vectors),
            Arc::new(readers_array(chunks.iter().map(|c| c.readers.as_ref()))),
        ],
    )?)
}

pub(crate) fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| StoreError::Corrupt(format!("column {name} missing or not text")))
}

pub(crate) fn typed_column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| StoreError::Corrupt(format!("column {name} missing or of the wrong type")))
}

fn opt(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

/// A stored location; an unreadable one (never written by this store) reads as "whole file".
pub(crate) fn location_from_json(json: &str) -> Location {
    serde_json::from_str(json).unwrap_or_default()
}

pub(crate) fn documents_from_batch(b: &RecordBatch) -> Result<Vec<DocumentRecord>> {
    let path = string_column(b, "path")?;
    let folder = string_column(b, "folder")?;
    let hash = string_column(b, "hash")?;
    let size = typed_column::<UInt64Array>(b, "size")?;
    let mtime = typed_column::<Int64Array>(b, "mtime_ns")?;
    let status = string_column(b, "status")?;
    let error = string_column(b, "error")?;
    let format = string_column(b, "format")?;
    let chunks = typed_column::<UInt32Array>(b, "chunks")?;
    let updated = typed_column::<Int64Array>(b, "updated_ms")?;
    // Absent in a table not yet given the column (see `Store::add_readers_columns`).
    let readers = b.column_by_name("readers").and_then(|c| c.as_any().downcast_ref::<ListArray>());
    (0..b.num_rows())
        .map(|i| {
            Ok(DocumentRecord {
                path: path.value(i).to_string(),
                folder: folder.value(i).to_string(),
                hash: opt(hash, i),
                size: size.value(i),
                mtime_ns: mtime.value(i),
                status: DocStatus::parse(status.value(i))?,
                error: opt(error, i),
                format: opt(format, i),
                chunks: chunks.value(i),
                updated_ms: updated.value(i),
                readers: readers_at(readers, i),
            })
        })
        .collect()
}

pub(crate) fn vectors_column(b: &RecordBatch) -> Result<Option<&FixedSizeListArray>> {
    Ok(b.column_by_name("vector").and_then(|c| c.as_any().downcast_ref::<FixedSizeListArray>()))
}

pub(crate) fn f32_values(list: &FixedSizeListArray, i: usize) -> Vec<f32> {
    let values = list.value(i);
    values.as_any().downcast_ref::<arrow_array::Float32Array>().map(|a| a.values().to_vec()).unwrap_or_default()
}

/// A batch as the reader LanceDB's writes take.
pub(crate) fn reader(batch: RecordBatch) -> Box<dyn arrow_array::RecordBatchReader + Send> {
    let schema = batch.schema();
    Box::new(arrow_array::RecordBatchIterator::new(vec![Ok(batch)], schema))
}
