//! Keeping the tables fast as they change: the chunks' full-text and path indexes, the vector
//! index once the table is big enough, the identities' full-text index, new rows folded into the
//! indexes, small fragments compacted.
//!
//! Key decisions: new rows are not indexed one edit at a time. LanceDB searches rows outside an
//! index by a flat scan beside it, so they are found at once; they are folded in as a delta
//! segment only when more than a cheap scan's worth has piled up (the thresholds are in
//! `policy`), and the segments are merged past [`INDEX_SEGMENTS_MAX`]. The vector index is
//! trained anew only when its kind changes or the table has grown four times since it was
//! trained, which is recorded beside the tables (`vector-index.json`) because LanceDB does not
//! keep the row count an index was trained on.

use lancedb::index::Index;
use lancedb::index::scalar::FtsIndexBuilder;
use lancedb::table::OptimizeAction;

use crate::identities::identity_index;
use crate::policy::{INDEX_SEGMENTS_MAX, SMALL_FRAGMENTS_MAX, UNINDEXED_ROWS_CAP, UNINDEXED_ROWS_MAX};
use crate::{Result, StoreError, StoreWriter, VectorIndexKind, crash};

/// What the vector index was trained as: its kind and the table's rows then.
const TRAINED_INDEX: &str = "vector-index.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct TrainedIndex {
    kind: String,
    rows: usize,
}

impl VectorIndexKind {
    fn index(self, dimension: usize, rows: usize) -> Index {
        use lancedb::index::vector::{IvfHnswSqIndexBuilder, IvfPqIndexBuilder, IvfRqIndexBuilder, IvfSqIndexBuilder};
        // About √rows partitions (LanceDB's own rule), fewer for small tables so that each has
        // enough rows to train on.
        let partitions = ((rows as f64).sqrt() as u32).clamp(1, (rows / 64).max(1) as u32);
        let cosine = lancedb::DistanceType::Cosine;
        match self {
            VectorIndexKind::IvfPq => {
                // 4 dimensions per sub-vector: 4× LanceDB's default code size, for recall.
                let sub_vectors = if dimension.is_multiple_of(4) { dimension / 4 } else { 1 };
                Index::IvfPq(
                    IvfPqIndexBuilder::default().distance_type(cosine).num_partitions(partitions).num_sub_vectors(sub_vectors as u32),
                )
            }
            VectorIndexKind::IvfHnswSq => {
                Index::IvfHnswSq(IvfHnswSqIndexBuilder::default().distance_type(cosine).num_partitions(partitions))
            }
            VectorIndexKind::IvfRq => Index::IvfRq(IvfRqIndexBuilder::default().distance_type(cosine).num_partitions(partitions)),
            VectorIndexKind::IvfSq => Index::IvfSq(IvfSqIndexBuilder::default().distance_type(cosine).num_partitions(partitions)),
        }
    }
}

impl StoreWriter {
    /// Keep the tables fast as they change: create the full-text index if missing; fold new
    /// rows into the indexes once enough have piled up (until then LanceDB searches them flat,
    /// so they are found either way and a one-file edit does not pay for an index update);
    /// build the vector index once the table is big enough to need one; compact when many small
    /// fragments have accumulated (every commit adds one).
    pub async fn maintain(&self) -> Result<()> {
        let rows = self.store.chunks.count_rows(None).await?;
        if rows == 0 {
            return Ok(());
        }
        let indexes = self.store.chunks.list_indices().await?;
        let index_on = |column: &str| indexes.iter().find(|i| i.columns.iter().any(|c| c == column)).map(|i| i.name.clone());
        // Rows outside an index are searched by a scan beside it: found at once, but each costs
        // every query a little. Fold them in once there are more than a cheap scan's worth.
        let too_many_unindexed = UNINDEXED_ROWS_MAX.max(rows / 10).min(UNINDEXED_ROWS_CAP);
        let mut stale = false;
        match index_on("search_text") {
            None => {
                self.store.chunks.create_index(&["search_text"], Index::FTS(FtsIndexBuilder::default())).execute().await?;
                crash::crash_point("store:maintain-fts");
            }
            Some(name) => stale |= self.unindexed_rows(&name).await? > too_many_unindexed,
        }
        // Deletes, edits and folder filters select by path: a BTree makes them lookups.
        match index_on("path") {
            None => self.store.chunks.create_index(&["path"], Index::BTree(Default::default())).execute().await?,
            Some(name) => stale |= self.unindexed_rows(&name).await? > too_many_unindexed,
        }
        // A person's search filters by the readers stored with each chunk: a label-list index
        // answers its `array_has_any` tests, so the filter is a lookup before the nearest
        // neighbours are chosen, not a scan.
        match index_on("readers") {
            None => self.store.chunks.create_index(&["readers"], Index::LabelList(Default::default())).execute().await?,
            Some(name) => stale |= self.unindexed_rows(&name).await? > too_many_unindexed,
        }
        self.maintain_identities().await?;
        let policy = self.store.policy;
        let trained = self.trained_vector_index();
        // Missing, of another kind than the policy's (an older build's), or trained on a table a
        // quarter of today's (its partitions have grown four times): train anew. Until it is
        // built, searches use the old index or a scan; nothing waits.
        let vector_index = index_on("vector");
        let retrain = rows >= policy.vector_index_min_rows
            && (vector_index.is_none() || trained.as_ref().is_none_or(|t| t.kind != policy.vector_index.as_str() || rows >= t.rows * 4));
        if retrain {
            let index = policy.vector_index.index(self.store.dimension, rows);
            self.store.chunks.create_index(&["vector"], index).replace(true).execute().await?;
            self.record_trained_vector_index(&TrainedIndex { kind: policy.vector_index.as_str().to_string(), rows })?;
        } else if let Some(name) = vector_index {
            stale |= self.unindexed_rows(&name).await? > too_many_unindexed;
        }
        for table in [&self.store.chunks, &self.store.documents, &self.store.identities] {
            if table.stats().await?.fragment_stats.num_small_fragments >= SMALL_FRAGMENTS_MAX {
                table.optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None }).await?;
                crash::crash_point("store:maintain-compact");
                table
                    .optimize(OptimizeAction::Prune {
                        older_than: Some(lancedb::table::optimize::Duration::hours(1)),
                        delete_unverified: None,
                        error_if_tagged_old_versions: None,
                    })
                    .await?;
                stale = true;
            }
        }
        if stale {
            self.optimise_indexes().await?;
        }
        Ok(())
    }

    /// The identities' BM25 index: built once there are identities, new rows folded in once a
    /// scan's worth has piled up (a small table: one row per file).
    async fn maintain_identities(&self) -> Result<()> {
        let table = &self.store.identities;
        let rows = table.count_rows(None).await?;
        if rows == 0 {
            return Ok(());
        }
        let indexes = table.list_indices().await?;
        match indexes.iter().find(|i| i.columns.iter().any(|c| c == "identity")) {
            None => table.create_index(&["identity"], Index::FTS(identity_index())).execute().await?,
            Some(index) => {
                let unindexed = table.index_stats(&index.name).await?.map_or(0, |s| s.num_unindexed_rows);
                if unindexed > UNINDEXED_ROWS_MAX.max(rows / 10) {
                    table.optimize(OptimizeAction::Index(lancedb::table::OptimizeOptions::default())).await?;
                }
            }
        }
        Ok(())
    }

    /// Fold every row not yet in an index into it now, whatever the thresholds of
    /// [`StoreWriter::maintain`] say. New rows become a delta segment of each index (the
    /// trained partitions are kept: LanceDB's default optimisation re-balanced them and lost
    /// both recall and speed in `brain-bench scale`); past [`INDEX_SEGMENTS_MAX`] segments they
    /// are merged into one.
    pub async fn optimise_indexes(&self) -> Result<()> {
        let segments = self.store.vector_index_state().await?.map_or(1, |s| s.segments as usize);
        let options = if segments >= INDEX_SEGMENTS_MAX {
            lancedb::table::OptimizeOptions::merge(segments)
        } else {
            lancedb::table::OptimizeOptions::append()
        };
        self.store.chunks.optimize(OptimizeAction::Index(options)).await?;
        Ok(())
    }

    fn trained_vector_index(&self) -> Option<TrainedIndex> {
        serde_json::from_slice(&std::fs::read(self.store.dir.join(TRAINED_INDEX)).ok()?).ok()
    }

    fn record_trained_vector_index(&self, trained: &TrainedIndex) -> Result<()> {
        let path = self.store.dir.join(TRAINED_INDEX);
        let tmp = path.with_extension("json.tmp");
        // Renamed into place, so a crash leaves the old record or the new one, never half of one.
        let write = || -> std::io::Result<()> {
            std::fs::write(&tmp, serde_json::to_vec(trained)?)?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|source| StoreError::Io { path: path.clone(), source })
    }

    async fn unindexed_rows(&self, index: &str) -> Result<usize> {
        Ok(self.store.chunks.index_stats(index).await?.map_or(0, |s| s.num_unindexed_rows))
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{blake3_like, doc, open_writer, paths, unit_vector};
    use crate::{
        CheckScope, DocumentRecord, DocumentWrite, IndexLock, IndexPolicy, IndexType, Location, NewChunk, SearchFilter, Store,
        VectorIndexType, WriteBatch,
    };

    use super::*;

    #[tokio::test]
    async fn past_its_threshold_an_ann_index_is_built_and_edits_are_found_before_it_is_updated() {
        const DIM: usize = 16;
        let dir = tempfile::tempdir().unwrap();
        let policy = IndexPolicy { vector_index_min_rows: 500, ..IndexPolicy::default() };
        let store = Store::open(dir.path(), DIM).await.unwrap().with_policy(policy);
        let lock = IndexLock::acquire(&dir.path().join("index.lock"), |_| {}, || false).await.unwrap();
        let (writer, _) = store.writer(lock).await.unwrap();
        let new_chunk = |text: String, vector: Vec<f32>| NewChunk {
            chunk_hash: blake3_like(&text),
            text,
            context: None,
            location: Location::page(1),
            vector,
        };
        let document = |path: &str, hash: &str, chunks: Vec<NewChunk>| DocumentWrite {
            record: DocumentRecord { folder: "/docs".into(), ..doc(path, hash, chunks.len() as u32) },
            chunks: Some(chunks),
            identity: None,
        };
        // 20 files of 30 chunks; the fixture passage sits in the middle of one of them.
        let fixture = unit_vector(10_001, DIM);
        for f in 0..20u64 {
            let folder = if f % 2 == 0 { "/docs/even" } else { "/docs/odd" };
            let chunks = (0..30u64)
                .map(|c| {
                    if f == 7 && c == 15 {
                        new_chunk("the zebra division's quarterly revenue rose by 12 percent".into(), fixture.clone())
                    } else {
                        new_chunk(format!("routine filler passage {c} of file {f} about office supplies"), unit_vector(f * 100 + c, DIM))
                    }
                })
                .collect();
            let batch =
                WriteBatch { documents: vec![document(&format!("{folder}/file-{f}.txt"), &format!("h{f}"), chunks)], removed: vec![] };
            writer.write(batch).await.unwrap();
        }
        writer.maintain().await.unwrap();
        let indexes = store.chunk_indexes().await.unwrap();
        assert!(
            indexes.iter().any(|i| i.columns == ["vector"] && i.kind == IndexType::Vector(VectorIndexType::IvfRq)),
            "600 rows is past the 500-row threshold: {indexes:?}"
        );
        assert!(indexes.iter().any(|i| i.columns == ["path"] && i.kind == IndexType::BTree), "{indexes:?}");
        assert!(indexes.iter().any(|i| i.columns == ["search_text"] && i.kind == IndexType::FullText), "{indexes:?}");

        let hits = store.search_vector(&fixture, 5, &SearchFilter::default()).await.unwrap();
        assert_eq!(hits[0].id, "/docs/odd/file-7.txt#15", "the ANN index finds the exact passage: {:?}", paths(&hits));
        assert!(hits[0].similarity.unwrap() > 0.999);
        let exact = store.search_vector_exact(&fixture, 10, &SearchFilter::default()).await.unwrap();
        let found = store.search_vector(&fixture, 10, &SearchFilter::default()).await.unwrap();
        let common = exact.iter().filter(|e| found.iter().any(|f| f.id == e.id)).count();
        assert!(common >= 8, "recall@10 of the index against an exact scan: {common}/10");
        let odd = SearchFilter::folder("/docs/odd");
        let filtered = store.search_vector(&fixture, 10, &odd).await.unwrap();
        assert_eq!(filtered.len(), 10);
        assert!(filtered.iter().all(|h| h.path.starts_with("/docs/odd/")), "{:?}", paths(&filtered));
        assert!(store.search_vector(&fixture, 10, &SearchFilter::folder("/docs/od")).await.unwrap().is_empty());

        // Edit the fixture's file: the new text and vector are found at once, by both searches,
        // while the vector index has not been updated (its rows are scanned exactly).
        let edited = unit_vector(20_002, DIM);
        let mut chunks: Vec<NewChunk> = (0..30u64)
            .map(|c| new_chunk(format!("routine filler passage {c} of file 7 about office supplies"), unit_vector(700 + c, DIM)))
            .collect();
        chunks[15] = new_chunk("the penguin division's quarterly revenue fell by 3 percent".into(), edited.clone());
        writer.write(WriteBatch { documents: vec![document("/docs/odd/file-7.txt", "h7b", chunks)], removed: vec![] }).await.unwrap();
        let vector_index = indexes.iter().find(|i| i.columns == ["vector"]).unwrap();
        assert!(writer.unindexed_rows(&vector_index.name).await.unwrap() > 0, "the index has not taken the edit in yet");
        let hits = store.search_vector(&edited, 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(
            (hits[0].id.as_str(), hits[0].text.as_str()),
            ("/docs/odd/file-7.txt#15", "the penguin division's quarterly revenue fell by 3 percent")
        );
        let hits = store.search_keyword("penguin division", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(hits[0].id, "/docs/odd/file-7.txt#15");
        assert!(store.search_keyword("zebra", 3, &SearchFilter::default(), None).await.unwrap().is_empty(), "the old text is gone");
        assert!(store.search_vector(&fixture, 3, &SearchFilter::default()).await.unwrap().iter().all(|h| !h.text.contains("zebra")));

        // Folded in as a delta segment: the trained partitions stay, the edit is still found.
        writer.optimise_indexes().await.unwrap();
        let state = store.vector_index_state().await.unwrap().unwrap();
        assert_eq!((state.unindexed_rows, state.kind), (0, VectorIndexType::IvfRq), "{state:?}");
        assert_eq!(state.kind, policy.vector_index.index_type(), "the policy's kind is what LanceDB reports");
        assert_eq!(serde_json::to_value(&state).unwrap()["kind"], "IVF_RQ", "the JSON spelling of `brain-bench scale`");
        let hits = store.search_vector(&edited, 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(hits[0].id, "/docs/odd/file-7.txt#15");
        assert!(store.check(&CheckScope::Everything).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_written_is_an_io_error_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let (_, writer, _) = open_writer(dir.path()).await;
        // A folder where the record's temporary file goes: the write fails as a full disk would.
        std::fs::create_dir(dir.path().join("vector-index.json.tmp")).unwrap();
        let err = writer.record_trained_vector_index(&TrainedIndex { kind: "ivf-rq".into(), rows: 1 }).unwrap_err();
        assert!(matches!(&err, StoreError::Io { path, .. } if path == &dir.path().join(TRAINED_INDEX)), "{err:?}");
    }
}
