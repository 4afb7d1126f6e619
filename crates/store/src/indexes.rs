//! What indexes the chunks table has, as LanceDB reports them: typed, so that callers match on
//! kinds rather than compare strings.
//!
//! Key decision: the types are this crate's, not LanceDB's (whose enum changes between versions
//! and names kinds this store never builds). Each is written with LanceDB's own name
//! (`IVF_RQ`, `BTREE`, `FTS`), which is also its JSON spelling (`brain-bench scale --json`);
//! a kind this store does not model keeps LanceDB's name in [`IndexType::Other`].

use lancedb::index::IndexType as LanceIndexType;

use crate::{Result, Store};

/// A vector index's type, as LanceDB reports it. The policy builds some of these (see
/// [`VectorIndexKind::index_type`](crate::VectorIndexKind::index_type)); the rest are here so
/// that an index built otherwise is still named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VectorIndexType {
    #[serde(rename = "IVF_FLAT")]
    IvfFlat,
    #[serde(rename = "IVF_SQ")]
    IvfSq,
    #[serde(rename = "IVF_PQ")]
    IvfPq,
    #[serde(rename = "IVF_RQ")]
    IvfRq,
    #[serde(rename = "IVF_HNSW_PQ")]
    IvfHnswPq,
    #[serde(rename = "IVF_HNSW_SQ")]
    IvfHnswSq,
    #[serde(rename = "IVF_HNSW_FLAT")]
    IvfHnswFlat,
}

impl VectorIndexType {
    /// LanceDB's name, e.g. `IVF_RQ` (the same as the JSON spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            VectorIndexType::IvfFlat => "IVF_FLAT",
            VectorIndexType::IvfSq => "IVF_SQ",
            VectorIndexType::IvfPq => "IVF_PQ",
            VectorIndexType::IvfRq => "IVF_RQ",
            VectorIndexType::IvfHnswPq => "IVF_HNSW_PQ",
            VectorIndexType::IvfHnswSq => "IVF_HNSW_SQ",
            VectorIndexType::IvfHnswFlat => "IVF_HNSW_FLAT",
        }
    }
}

impl std::fmt::Display for VectorIndexType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any index's type, as LanceDB reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexType {
    /// An approximate-nearest-neighbour index over vectors.
    Vector(VectorIndexType),
    /// A sorted index over a scalar column (the chunks' `path`).
    BTree,
    /// LanceDB's inverted (BM25 full-text) index, which it calls `FTS`.
    FullText,
    /// A kind this store never builds (a bitmap, a label list, a plugin's, or one this version of
    /// LanceDB cannot name: `UNKNOWN`), with LanceDB's name for it.
    Other(String),
}

impl IndexType {
    fn from_lance(index_type: &LanceIndexType) -> IndexType {
        match index_type {
            LanceIndexType::IvfFlat => IndexType::Vector(VectorIndexType::IvfFlat),
            LanceIndexType::IvfSq => IndexType::Vector(VectorIndexType::IvfSq),
            LanceIndexType::IvfPq => IndexType::Vector(VectorIndexType::IvfPq),
            LanceIndexType::IvfRq => IndexType::Vector(VectorIndexType::IvfRq),
            LanceIndexType::IvfHnswPq => IndexType::Vector(VectorIndexType::IvfHnswPq),
            LanceIndexType::IvfHnswSq => IndexType::Vector(VectorIndexType::IvfHnswSq),
            LanceIndexType::IvfHnswFlat => IndexType::Vector(VectorIndexType::IvfHnswFlat),
            LanceIndexType::BTree => IndexType::BTree,
            LanceIndexType::FTS => IndexType::FullText,
            other => IndexType::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for IndexType {
    /// LanceDB's name for the kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexType::Vector(kind) => f.write_str(kind.as_str()),
            IndexType::BTree => f.write_str("BTREE"),
            IndexType::FullText => f.write_str("FTS"),
            IndexType::Other(name) => f.write_str(name),
        }
    }
}

/// One index of the chunks table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// LanceDB's name for it (e.g. `vector_idx`), which its statistics are asked by.
    pub name: String,
    /// The columns it covers (one, today).
    pub columns: Vec<String>,
    pub kind: IndexType,
}

/// The vector index as it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VectorIndexState {
    pub kind: VectorIndexType,
    pub indexed_rows: usize,
    /// Rows added since the index was last updated (searched by an exact scan beside it).
    pub unindexed_rows: usize,
    /// The index's parts: the trained one plus a delta per incremental update.
    pub segments: u32,
}

impl Store {
    /// The chunks table's vector index, if it has one. An index on the vector column that
    /// LanceDB cannot name as a vector index (none this store builds) is not reported.
    pub async fn vector_index_state(&self) -> Result<Option<VectorIndexState>> {
        let indexes = self.chunks.list_indices().await?;
        let Some(index) = indexes.iter().find(|i| i.columns.iter().any(|c| c == "vector")) else { return Ok(None) };
        let IndexType::Vector(kind) = IndexType::from_lance(&index.index_type) else {
            tracing::warn!(index = %index.name, kind = %index.index_type, "the vector column's index is not a vector index this store knows");
            return Ok(None);
        };
        let Some(stats) = self.chunks.index_stats(&index.name).await? else { return Ok(None) };
        Ok(Some(VectorIndexState {
            kind,
            indexed_rows: stats.num_indexed_rows,
            unindexed_rows: stats.num_unindexed_rows,
            segments: stats.num_indices.unwrap_or(1),
        }))
    }

    /// The chunks table's indexes, with the columns they cover.
    pub async fn chunk_indexes(&self) -> Result<Vec<IndexInfo>> {
        Ok(self
            .chunks
            .list_indices()
            .await?
            .into_iter()
            .map(|i| IndexInfo { kind: IndexType::from_lance(&i.index_type), name: i.name, columns: i.columns })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind LanceDB can report, with the name it gives it.
    fn lance_kinds() -> Vec<LanceIndexType> {
        vec![
            LanceIndexType::IvfFlat,
            LanceIndexType::IvfSq,
            LanceIndexType::IvfPq,
            LanceIndexType::IvfRq,
            LanceIndexType::IvfHnswPq,
            LanceIndexType::IvfHnswSq,
            LanceIndexType::IvfHnswFlat,
            LanceIndexType::BTree,
            LanceIndexType::Bitmap,
            LanceIndexType::LabelList,
            LanceIndexType::Fm,
            LanceIndexType::ZoneMap,
            LanceIndexType::NGram,
            LanceIndexType::BloomFilter,
            LanceIndexType::RTree,
            LanceIndexType::FTS,
            LanceIndexType::Custom("Sketch".into()),
            LanceIndexType::Unknown,
        ]
    }

    #[test]
    fn every_kind_is_written_with_lancedbs_name() {
        for lance in lance_kinds() {
            assert_eq!(IndexType::from_lance(&lance).to_string(), lance.to_string(), "{lance:?}");
        }
        assert_eq!(IndexType::from_lance(&LanceIndexType::IvfRq), IndexType::Vector(VectorIndexType::IvfRq));
        assert_eq!(IndexType::from_lance(&LanceIndexType::BTree), IndexType::BTree);
        assert_eq!(IndexType::from_lance(&LanceIndexType::FTS), IndexType::FullText);
        assert_eq!(IndexType::from_lance(&LanceIndexType::Bitmap), IndexType::Other("BITMAP".into()));
        let vector_kinds = lance_kinds().iter().filter(|k| matches!(IndexType::from_lance(k), IndexType::Vector(_))).count();
        assert_eq!(vector_kinds, 7, "every IVF kind LanceDB names is a vector index here");
    }

    #[test]
    fn the_vector_index_state_keeps_its_json_spelling() {
        let state = VectorIndexState { kind: VectorIndexType::IvfRq, indexed_rows: 600, unindexed_rows: 0, segments: 1 };
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "IVF_RQ", "indexed_rows": 600, "unindexed_rows": 0, "segments": 1}));
        assert_eq!(serde_json::from_value::<VectorIndexState>(json).unwrap(), state);
        for kind in [
            VectorIndexType::IvfFlat,
            VectorIndexType::IvfSq,
            VectorIndexType::IvfPq,
            VectorIndexType::IvfRq,
            VectorIndexType::IvfHnswPq,
            VectorIndexType::IvfHnswSq,
            VectorIndexType::IvfHnswFlat,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::String(kind.as_str().into()), "{kind:?}");
        }
    }
}
