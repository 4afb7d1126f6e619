//! `brain-store` is the knowledge base on disk: LanceDB embedded in the data directory, with a
//! `documents` table (one row per file: hash, size, mtime, status, error), a `chunks` table
//! (text, location, vector), searched by vector or by BM25 keywords, and an `identities` table
//! (one short text per indexed file saying what it is: name, title, headings, the names and
//! periods of its first page), searched by BM25 to find the files a question names (see
//! `identities`). Fusing the vector and keyword lists into one (hybrid search) is not done
//! here: it is the engine's retrieval stage (`crates/engine/src/retrieval/fuse.rs`).
//!
//! Key design decisions:
//! - One writer at a time, across processes: writing needs a [`StoreWriter`], which holds the
//!   index's [`IndexLock`] and re-reads the tables when it is made. LanceDB's `merge_insert` is
//!   not a uniqueness constraint between writers (two that insert the same new key both
//!   commit), so without the lock a second `brain index`, or the CLI beside the app's watcher,
//!   duplicated documents and chunks.
//! - A file's chunks are replaced in one LanceDB commit (`merge_insert` with "delete what the
//!   source lacks" limited to that file's path), so a reader never sees a file half old, half
//!   new. The two tables cannot commit together, so a write first records the paths it touches
//!   in a journal, commits chunks, then document rows, then removals, and deletes the journal.
//!   A writer that finds a journal checks those files (see [`integrity`]) and repairs them
//!   without re-embedding: the next sync redoes a half-written file from its stored vectors.
//! - The invariants (one row per path and per chunk, every chunk owned by the indexed version
//!   of its file, chunk counts that match) are checked cheaply by every writer and fully by
//!   [`Store::check`]; see [`integrity`].
//! - Search returns each list with the cosine similarity of every hit, so that the engine's
//!   fusion and its "nothing relevant" gate decide on numbers the store does not blur.
//! - Vectors are stored L2-normalised; cosine distance is what LanceDB ranks by.
//!
//! The modules: `policy` (how the chunks table is indexed as it grows), `indexes` (what
//! LanceDB reports it has), `reads` (rows, counts, samples, vectors by hash), `search`,
//! `identities` (the files a term names),
//! `writer` (with its `journal`), `maintenance` (index building and compaction), [`integrity`],
//! `lock`, `records` (the rows and their Arrow form) and [`crash`] (crash points for tests).

mod bucket;
pub mod crash;
mod identities;
mod indexes;
pub mod integrity;
mod journal;
mod keywords;
pub use keywords::is_cjk;
mod lease;
mod lock;
mod maintenance;
mod policy;
mod reads;
mod records;
mod replica;
mod search;
mod sql;
#[cfg(test)]
mod test_support;
mod writer;

pub use brain_parse::Location;
pub use bucket::Bucket;
pub use indexes::{IndexInfo, IndexType, VectorIndexState, VectorIndexType};
pub use integrity::{CheckScope, IntegrityReport, RepairSummary, Violation};
pub use lease::{LeaseHolder, WriterLease};
pub use lock::{IndexLock, LockHolder};
pub use policy::{INDEX_SEGMENTS_MAX, IndexPolicy, VectorIndexKind};
pub use reads::ChunkVector;
pub use records::{DocStatus, DocumentRecord, NewChunk};
pub use replica::{CopyRefresh, ReplicaCopy};
pub use search::{Hit, SearchFilter};
pub use writer::{DocumentWrite, Recovery, StoreWriter, WriteBatch};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lancedb::{Connection, Table};

const DOCUMENTS: &str = "documents";
const CHUNKS: &str = "chunks";
const IDENTITIES: &str = "identities";
/// Readers in other processes see a writer's commits within this time.
const READ_CONSISTENCY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("index database error: {0}")]
    Lance(#[from] lancedb::Error),
    #[error("index data error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("the index holds {found}-dimensional vectors but the embedder makes {expected}: the index must be rebuilt")]
    DimensionMismatch { found: usize, expected: usize },
    /// A row or column that this store cannot have written: the data on disk is damaged.
    #[error("corrupt row in the index: {0}")]
    Corrupt(String),
    /// The file system refused (the data directory cannot be created, a file of the store
    /// cannot be written): a matter of permissions or space, not of the index's contents.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot lock the index ({path}): {reason}")]
    Lock { path: PathBuf, reason: String },
    #[error("cannot write the index journal ({path}): {reason}")]
    Journal { path: PathBuf, reason: String },
    #[error("cancelled")]
    Cancelled,
    /// An `s3://` index address or its settings are not usable.
    #[error("cannot use the shared index {uri}: {reason}")]
    BucketConfig { uri: String, reason: String },
    /// The object store refused or could not be reached.
    #[error("shared index {uri}: {reason}")]
    Bucket { uri: String, reason: String },
    /// A write to a replica's copy of a shared index, which only the bucket's writer writes.
    #[error(
        "this is a replica's copy of the shared index: it is written by the indexer (brain index or brain watch on the shared index), not here"
    )]
    ReadOnlyCopy,
    /// A search for a person over an index that does not yet record who may read what.
    #[error("the index does not record who may read its files yet: index the folders again (brain index) to search as someone")]
    NoReaders,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The open store. Reading needs nothing more; writing needs a [`StoreWriter`].
#[derive(Clone)]
pub struct Store {
    documents: Table,
    chunks: Table,
    /// One row per indexed file: what it is (see `identities`). Created empty in an index made
    /// before it existed; the engine's next sync fills it.
    identities: Table,
    dimension: usize,
    /// On this machine: the tables (a local index) or the writer's journal and notes beside a
    /// shared index's tables in object storage.
    dir: PathBuf,
    policy: IndexPolicy,
    /// The chunks table has its readers column: once true, always (columns are never dropped),
    /// so a person's searches ask LanceDB for the schema only until they see it.
    readers_column: Arc<AtomicBool>,
    /// A replica's copy of a shared index: read only (its writer writes the bucket).
    copy: bool,
}

impl Store {
    /// Open (or create) the store in `dir` for vectors of `dimension`.
    pub async fn open(dir: &Path, dimension: usize) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
        let db = lancedb::connect(&dir.to_string_lossy()).read_consistency_interval(READ_CONSISTENCY).execute().await?;
        Store::open_tables(db, dir, dimension).await
    }

    /// Open (or create) the store whose tables are in `bucket`; `local_dir` holds what only
    /// its writer keeps (the write journal).
    pub async fn open_shared(bucket: &Bucket, local_dir: &Path, dimension: usize) -> Result<Store> {
        std::fs::create_dir_all(local_dir).map_err(|source| StoreError::Io { path: local_dir.to_path_buf(), source })?;
        let db = lancedb::connect(&bucket.tables_uri())
            .storage_options(bucket.storage_options())
            .read_consistency_interval(READ_CONSISTENCY)
            .execute()
            .await?;
        Store::open_tables(db, local_dir, dimension).await
    }

    /// Open a replica's copy of a shared index (the [`ReplicaCopy::tables_dir`]) to read: its
    /// tables are never created here (the writer makes them in the bucket), and none may be
    /// written.
    pub async fn open_copy(dir: &Path, dimension: usize) -> Result<Store> {
        let db = lancedb::connect(&dir.to_string_lossy()).read_consistency_interval(READ_CONSISTENCY).execute().await?;
        let documents = db.open_table(DOCUMENTS).execute().await?;
        let chunks = db.open_table(CHUNKS).execute().await?;
        let identities = db.open_table(IDENTITIES).execute().await?;
        let store = Store::with_tables(documents, chunks, identities, dir, dimension).await?;
        Ok(Store { copy: true, ..store })
    }

    async fn open_tables(db: Connection, dir: &Path, dimension: usize) -> Result<Store> {
        let documents = open_or_create(&db, DOCUMENTS, records::documents_schema()).await?;
        let chunks = open_or_create(&db, CHUNKS, records::chunks_schema(dimension)).await?;
        let identities = open_or_create(&db, IDENTITIES, records::identities_schema()).await?;
        Store::with_tables(documents, chunks, identities, dir, dimension).await
    }

    async fn with_tables(documents: Table, chunks: Table, identities: Table, dir: &Path, dimension: usize) -> Result<Store> {
        let schema = chunks.schema().await?;
        let found = vector_dimension(schema.as_ref());
        if found != dimension {
            return Err(StoreError::DimensionMismatch { found, expected: dimension });
        }
        let readers_column = Arc::new(AtomicBool::new(schema.field_with_name("readers").is_ok()));
        Ok(Store {
            documents,
            chunks,
            identities,
            dimension,
            dir: dir.to_path_buf(),
            policy: IndexPolicy::default(),
            readers_column,
            copy: false,
        })
    }

    /// The same store indexed and searched by another policy.
    pub fn with_policy(mut self, policy: IndexPolicy) -> Store {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> IndexPolicy {
        self.policy
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }
}

impl Store {
    /// Give tables made before readers were recorded their `readers` column (null: no person's
    /// search matches a row until the next sync writes who may read it). Run by the writer,
    /// under the index lock, so that no two processes change a table's schema at once.
    pub(crate) async fn add_readers_columns(&self) -> Result<()> {
        for table in [&self.documents, &self.chunks] {
            if table.schema().await?.field_with_name("readers").is_err() {
                let column = Arc::new(Schema::new(vec![records::readers_field()]));
                table.add_columns().transform(lancedb::table::NewColumnTransform::AllNulls(column)).execute().await?;
            }
        }
        self.readers_column.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the chunks table has its readers column (an index of an older build has not,
    /// until a writer, maybe in another process, opens it).
    pub(crate) async fn has_readers(&self) -> Result<bool> {
        if !self.readers_column.load(Ordering::Relaxed) && self.chunks.schema().await?.field_with_name("readers").is_ok() {
            self.readers_column.store(true, Ordering::Relaxed);
        }
        Ok(self.readers_column.load(Ordering::Relaxed))
    }
}

async fn open_or_create(db: &Connection, name: &str, schema: SchemaRef) -> Result<Table> {
    match db.open_table(name).execute().await {
        Ok(t) => Ok(t),
        Err(lancedb::Error::TableNotFound { .. }) => Ok(db.create_empty_table(name, schema).execute().await?),
        Err(e) => Err(e.into()),
    }
}

fn vector_dimension(schema: &Schema) -> usize {
    match schema.field_with_name("vector").map(Field::data_type) {
        Ok(DataType::FixedSizeList(_, n)) => *n as usize,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reopening_with_another_dimension_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path(), 4).await.unwrap();
        assert!(matches!(Store::open(dir.path(), 8).await, Err(StoreError::DimensionMismatch { found: 4, expected: 8 })));
    }

    #[tokio::test]
    async fn a_data_dir_that_cannot_be_created_is_an_io_error_not_a_corrupt_index() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"not a folder").unwrap();
        let inside_a_file = file.join("index");
        match Store::open(&inside_a_file, 4).await {
            Err(StoreError::Io { path, .. }) => assert_eq!(path, inside_a_file),
            Err(other) => panic!("expected an I/O error, got {other:?}"),
            Ok(_) => panic!("a folder inside a file was created"),
        }
    }
}
