//! How the chunks table is indexed and searched as it grows: the [`IndexPolicy`], the kinds of
//! ANN index it can build, and the thresholds at which maintenance acts.
//!
//! Key decision: below a size an exact (flat) scan is both fast and perfect, so the vector index
//! is built only from [`IndexPolicy::vector_index_min_rows`]; the defaults, and the kind of index,
//! come from measurements (`brain-bench scale`, the README's scale table), not from LanceDB's
//! defaults.

/// Rows outside an index (searched by a flat scan) tolerated before the index is updated: this
/// many, or a tenth of the table up to [`UNINDEXED_ROWS_CAP`].
pub(crate) const UNINDEXED_ROWS_MAX: usize = 2_000;
pub(crate) const UNINDEXED_ROWS_CAP: usize = 20_000;
/// Delta segments of an index (one per update) before they are merged.
pub const INDEX_SEGMENTS_MAX: usize = 8;
/// Small fragments tolerated before a table is compacted.
pub(crate) const SMALL_FRAGMENTS_MAX: usize = 64;

/// How the chunks table is indexed and searched as it grows. The defaults come from
/// `brain-bench scale` (see the README's scale table); tests and benchmarks change them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexPolicy {
    /// Below this many chunks an exact (flat) vector scan is fast and has perfect recall; from
    /// here on an approximate (ANN) index is built and kept up to date.
    pub vector_index_min_rows: usize,
    pub vector_index: VectorIndexKind,
    /// IVF partitions probed per query (more: better recall, slower).
    pub nprobes: usize,
    /// ANN candidates re-ranked by their exact vectors, as a multiple of the hits asked for
    /// (restores the ranking that PQ codes blur).
    pub refine_factor: u32,
}

/// The kind of ANN index the policy builds (LanceDB's names). What LanceDB reports an existing
/// index to be is a [`VectorIndexType`](crate::VectorIndexType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorIndexKind {
    /// IVF partitions of product-quantised codes: small in memory, needs refining for recall.
    IvfPq,
    /// An HNSW graph per IVF partition over 8-bit scalar-quantised vectors.
    IvfHnswSq,
    /// IVF with RaBitQ codes.
    IvfRq,
    /// IVF partitions of 8-bit scalar-quantised vectors, scanned.
    IvfSq,
}

impl VectorIndexKind {
    pub fn parse(name: &str) -> Option<VectorIndexKind> {
        match name {
            "ivf-pq" => Some(VectorIndexKind::IvfPq),
            "ivf-hnsw-sq" => Some(VectorIndexKind::IvfHnswSq),
            "ivf-rq" => Some(VectorIndexKind::IvfRq),
            "ivf-sq" => Some(VectorIndexKind::IvfSq),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VectorIndexKind::IvfPq => "ivf-pq",
            VectorIndexKind::IvfHnswSq => "ivf-hnsw-sq",
            VectorIndexKind::IvfRq => "ivf-rq",
            VectorIndexKind::IvfSq => "ivf-sq",
        }
    }

    /// What LanceDB reports an index of this kind to be, once built.
    pub fn index_type(self) -> crate::VectorIndexType {
        use crate::VectorIndexType;
        match self {
            VectorIndexKind::IvfPq => VectorIndexType::IvfPq,
            VectorIndexKind::IvfHnswSq => VectorIndexType::IvfHnswSq,
            VectorIndexKind::IvfRq => VectorIndexType::IvfRq,
            VectorIndexKind::IvfSq => VectorIndexType::IvfSq,
        }
    }
}

impl Default for IndexPolicy {
    fn default() -> Self {
        // From `brain-bench scale` (release, 2 cores; README "Scale"): at 20,000 chunks an exact
        // scan takes 12 ms a query and the index 3 ms at recall 0.99; IVF-RQ builds in a
        // fraction of IVF-PQ's time (14 s against 75 s at 100k) and needs a fifth of the
        // refining for the same recall; 80 probes of √rows partitions keep recall@10 ≥ 0.95 up
        // to 1M chunks (0.967) at 5 ms.
        IndexPolicy { vector_index_min_rows: 20_000, vector_index: VectorIndexKind::IvfRq, nprobes: 80, refine_factor: 5 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in [VectorIndexKind::IvfPq, VectorIndexKind::IvfHnswSq, VectorIndexKind::IvfRq, VectorIndexKind::IvfSq] {
            assert_eq!(VectorIndexKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(VectorIndexKind::parse("IVF_RQ"), None, "the policy's names are the CLI's, not LanceDB's");
    }

    #[test]
    fn each_kind_is_reported_under_lancedbs_name_for_it() {
        for kind in [VectorIndexKind::IvfPq, VectorIndexKind::IvfHnswSq, VectorIndexKind::IvfRq, VectorIndexKind::IvfSq] {
            assert_eq!(kind.index_type().as_str(), kind.as_str().to_uppercase().replace('-', "_"), "{kind:?}");
        }
    }
}
