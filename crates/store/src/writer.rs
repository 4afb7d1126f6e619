//! The one writer of a store: [`StoreWriter`] and its batches of changes, and the recovery it
//! runs when it is made.
//!
//! Key decisions: writing needs the index's [`IndexLock`], held as long as the writer lives,
//! because LanceDB's `merge_insert` does not keep two writers from inserting the same key. A
//! batch commits chunks first (one commit, replacing each file's chunks whole), then the files'
//! identities, then document rows, then removals, with the paths it touches in the journal (see
//! `journal`) until the last commit; so a crash leaves at worst a document row that disagrees
//! with its chunks, which the next writer finds and repairs without re-embedding (see
//! [`integrity`](crate::integrity)). An identity is committed after its chunks and before its
//! document row, so a crash between them is the same repair: the file is redone, identity
//! included.

use crate::journal::JOURNAL_PATHS_MAX;
use crate::records::{self, ChunkRecord, DocumentRecord, NewChunk};
use std::collections::BTreeMap;

use crate::sql::{in_list, sql_string};
use crate::{CheckScope, IndexLock, IntegrityReport, RepairSummary, Result, Store, StoreError, crash};

/// The one writer of a store: holds the [`IndexLock`] while it lives.
pub struct StoreWriter {
    pub(crate) store: Store,
    _lock: IndexLock,
}

/// What a writer found when it started, and what it repaired.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Every document row, after the repairs.
    pub documents: Vec<DocumentRecord>,
    /// The check that was run: `None` when the quick check found nothing and no write was
    /// interrupted.
    pub report: Option<IntegrityReport>,
    pub repaired: RepairSummary,
    /// Paths with orphan chunks, left in place as a vector cache: remove them with
    /// [`StoreWriter::remove_orphan_chunks`] once the sync has redone what it will.
    pub orphans: Vec<String>,
}

/// One batch of changes, committed together.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub documents: Vec<DocumentWrite>,
    /// Paths to remove entirely.
    pub removed: Vec<String>,
}

/// A document row to write and what happens to its chunks.
#[derive(Debug)]
pub struct DocumentWrite {
    pub record: DocumentRecord,
    /// `Some`: replace the file's chunks with these (empty for a failed file).
    /// `None`: keep its chunks (only the row changed, e.g. a new mtime on the same content).
    pub chunks: Option<Vec<NewChunk>>,
    /// What the file is (see `identities`), written with its chunks: when `chunks` is `Some`,
    /// this replaces the stored identity (`None` removes it); otherwise it is not read.
    pub identity: Option<String>,
}

impl Store {
    /// Become the store's writer: `lock` proves no other process writes; the tables are re-read
    /// at their latest version (another process may have written since they were opened), and
    /// what an interrupted write or an earlier writer left is checked and repaired.
    pub async fn writer(&self, lock: IndexLock) -> Result<(StoreWriter, Recovery)> {
        if self.copy {
            return Err(StoreError::ReadOnlyCopy);
        }
        self.documents.checkout_latest().await?;
        self.chunks.checkout_latest().await?;
        self.identities.checkout_latest().await?;
        self.add_readers_columns().await?;
        let writer = StoreWriter { store: self.clone(), _lock: lock };
        let recovery = writer.recover().await?;
        Ok((writer, recovery))
    }
}

impl StoreWriter {
    /// The store this writer writes (for reads while writing).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Commit a batch: chunks first (one commit), then document rows (one commit), then removals.
    pub async fn write(&self, batch: WriteBatch) -> Result<()> {
        let WriteBatch { documents, removed } = batch;
        let mut touched: Vec<String> = documents.iter().map(|d| d.record.path.clone()).collect();
        touched.extend(removed.iter().cloned());
        if touched.is_empty() {
            return Ok(());
        }
        self.begin_journal(&touched)?;
        crash::crash_point("store:journal-written");
        let store = &self.store;
        let mut records = Vec::with_capacity(documents.len());
        let mut replaced = Vec::new();
        let mut rows: Vec<ChunkRecord> = Vec::new();
        let mut identities: Vec<(String, String)> = Vec::new();
        // Files whose chunks stay: their readers are written onto the chunks they have.
        let mut kept: BTreeMap<Option<Vec<String>>, Vec<String>> = BTreeMap::new();
        for d in documents {
            if let Some(chunks) = d.chunks {
                replaced.push(d.record.path.clone());
                rows.extend(ChunkRecord::of_document(&d.record, chunks));
                identities.extend(d.identity.map(|identity| (d.record.path.clone(), identity)));
            } else {
                kept.entry(d.record.readers.clone()).or_default().push(d.record.path.clone());
            }
            records.push(d.record);
        }
        self.set_chunk_readers(&kept).await?;
        if !replaced.is_empty() {
            let path_filter = in_list("path", &replaced);
            if rows.is_empty() {
                store.chunks.delete(path_filter.as_str()).await?;
            } else {
                let data = records::chunks_batch(&rows.iter().collect::<Vec<_>>(), store.dimension)?;
                drop(rows);
                let mut merge = store.chunks.merge_insert(&["id"]);
                merge.when_matched_update_all(None).when_not_matched_insert_all().when_not_matched_by_source_delete(Some(path_filter));
                merge.execute(records::reader(data)).await?;
            }
        }
        crash::crash_point("store:chunks-committed");
        if !replaced.is_empty() {
            self.replace_identities(&replaced, &identities).await?;
            crash::crash_point("store:identities-committed");
        }
        if !records.is_empty() {
            let data = records::documents_batch(&records.iter().collect::<Vec<_>>())?;
            let mut merge = store.documents.merge_insert(&["path"]);
            merge.when_matched_update_all(None).when_not_matched_insert_all();
            merge.execute(records::reader(data)).await?;
        }
        crash::crash_point("store:documents-committed");
        for group in removed.chunks(512) {
            let filter = in_list("path", group);
            store.chunks.delete(filter.as_str()).await?;
            crash::crash_point("store:removed-chunks");
            store.identities.delete(filter.as_str()).await?;
            store.documents.delete(filter.as_str()).await?;
            crash::crash_point("store:removed-documents");
        }
        self.end_journal()
    }

    /// Write each group's readers onto the chunks of its files, in place: a `chmod` or
    /// `setfacl` changes who may read, not what is embedded. One update per distinct list of
    /// readers (usually one: a folder's files share them).
    async fn set_chunk_readers(&self, groups: &BTreeMap<Option<Vec<String>>, Vec<String>>) -> Result<()> {
        for (readers, paths) in groups {
            let value = match readers {
                Some(tokens) if !tokens.is_empty() => {
                    format!("make_array({})", tokens.iter().map(|t| sql_string(t)).collect::<Vec<_>>().join(", "))
                }
                // Nobody, or not known: null matches no person (an empty `make_array()` has no
                // element type to cast from).
                _ => "NULL".to_string(),
            };
            for group in paths.chunks(512) {
                self.store.chunks.update().only_if(in_list("path", group)).column("readers", value.as_str()).execute().await?;
            }
        }
        Ok(())
    }

    /// Check what an interrupted write or an earlier writer may have left and repair it (see
    /// [`integrity`]). Cheap when all is well: the documents table and a row count.
    async fn recover(&self) -> Result<Recovery> {
        let documents = self.store.documents().await?;
        let interrupted = self.interrupted_write();
        let quick_ok = self.store.quick_check(&documents).await?;
        let scope = match (&interrupted, quick_ok) {
            (None, true) => return Ok(Recovery { documents, ..Default::default() }),
            (Some(paths), true) if !paths.is_empty() && paths.len() <= JOURNAL_PATHS_MAX => CheckScope::Paths(paths.clone()),
            _ => CheckScope::Everything,
        };
        let report = self.store.check(&scope).await?;
        let repaired = self.repair(&report, false).await?;
        if !report.is_ok() {
            tracing::info!(violations = report.violations.len(), ?repaired, "repaired the index");
        }
        self.end_journal()?;
        let documents =
            if repaired.duplicate_documents_removed + repaired.documents_to_redo > 0 { self.store.documents().await? } else { documents };
        let orphans = report.plan.orphans.clone();
        Ok(Recovery { documents, report: Some(report), repaired, orphans })
    }
}

#[cfg(test)]
mod tests {
    use crate::records::{self, ChunkRecord};
    use crate::test_support::{chunk, doc, open_writer, paths, write_doc};
    use crate::{DocStatus, Location, SearchFilter, journal::JOURNAL};

    use super::*;

    #[tokio::test]
    async fn write_search_replace_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        writer
            .write(write_doc(
                "/docs/a.txt",
                "h1",
                vec![
                    chunk("/docs/a.txt", "h1", 0, "zebra crossings are striped", [1.0, 0.0, 0.0, 0.0]),
                    chunk("/docs/a.txt", "h1", 1, "lions hunt at night", [0.0, 1.0, 0.0, 0.0]),
                ],
            ))
            .await
            .unwrap();
        writer.maintain().await.unwrap();
        // Rows added after the full-text index was built must be searchable too.
        writer
            .write(write_doc(
                "/docs/sub/b.txt",
                "h2",
                vec![chunk("/docs/sub/b.txt", "h2", 0, "penguins swim in cold water", [0.0, 0.0, 1.0, 0.0])],
            ))
            .await
            .unwrap();

        let by_vector = store.search_vector(&[0.0, 0.0, 0.9, 0.1], 3, &SearchFilter::default()).await.unwrap();
        assert_eq!(by_vector[0].path, "/docs/sub/b.txt");
        assert!((by_vector[0].similarity.unwrap() - 0.9).abs() < 1e-5, "similarity is the dot product with the stored vector");
        let by_keyword = store.search_keyword("penguins", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(paths(&by_keyword), vec!["/docs/sub/b.txt"]);
        let stemmed = store.search_keyword("zebra crossing", 3, &SearchFilter::default(), None).await.unwrap();
        assert_eq!(stemmed[0].id, "/docs/a.txt#0");
        assert_eq!(by_keyword[0].location, Location::page(1), "locations come back typed");
        let filtered = store.search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &SearchFilter::folder("/docs/sub")).await.unwrap();
        assert_eq!(paths(&filtered), vec!["/docs/sub/b.txt"]);
        let only_a = SearchFilter::default().within(vec!["/docs/a.txt".into()]);
        let named = store.search_vector(&[0.0, 0.0, 1.0, 0.0], 3, &only_a).await.unwrap();
        assert_eq!(paths(&named), vec!["/docs/a.txt", "/docs/a.txt"], "the nearest chunk (b's) is not among the files asked for");
        assert!(store.search_keyword("penguins", 3, &only_a, None).await.unwrap().is_empty());

        // Re-indexing a file with fewer chunks leaves none of the old ones.
        writer
            .write(write_doc("/docs/a.txt", "h3", vec![chunk("/docs/a.txt", "h3", 0, "giraffes are tall", [1.0, 0.0, 0.0, 0.0])]))
            .await
            .unwrap();
        assert_eq!(store.chunk_count().await.unwrap(), 2);
        assert!(store.search_keyword("lions", 3, &SearchFilter::default(), None).await.unwrap().is_empty());
        let reused = store.vectors_by_chunk_hash(&["h3-0".into(), "h1-1".into()]).await.unwrap();
        assert_eq!(reused.len(), 1, "the replaced chunk's vector is gone");
        assert_eq!(reused.get("h3-0").map(Vec::as_slice), Some(&[1.0, 0.0, 0.0, 0.0][..]));

        writer.write(WriteBatch { documents: vec![], removed: vec!["/docs/a.txt".into()] }).await.unwrap();
        assert_eq!(store.chunk_count().await.unwrap(), 1);
        assert_eq!(store.documents().await.unwrap().len(), 1);
        assert!(store.check(&CheckScope::Everything).await.unwrap().is_ok());
        assert!(!dir.path().join(JOURNAL).exists(), "a finished write leaves no journal");
    }

    /// Rows added behind the writer's back, as a crash or a second writer leaves them.
    async fn add_raw(store: &Store, docs: &[DocumentRecord], chunks: &[ChunkRecord]) {
        if !docs.is_empty() {
            let batch = records::documents_batch(&docs.iter().collect::<Vec<_>>()).unwrap();
            store.documents.add(records::reader(batch)).execute().await.unwrap();
        }
        if !chunks.is_empty() {
            let batch = records::chunks_batch(&chunks.iter().collect::<Vec<_>>(), 4).unwrap();
            store.chunks.add(records::reader(batch)).execute().await.unwrap();
        }
    }

    #[tokio::test]
    async fn every_broken_invariant_is_found_and_repaired_without_reembedding() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        let a = vec![
            chunk("/docs/a.txt", "ha", 0, "alpha zero", [1.0, 0.0, 0.0, 0.0]),
            chunk("/docs/a.txt", "ha", 1, "alpha one", [0.0, 1.0, 0.0, 0.0]),
        ];
        let b = vec![chunk("/docs/b.txt", "hb", 0, "beta zero", [0.0, 0.0, 1.0, 0.0])];
        let c = vec![chunk("/docs/c.txt", "hc", 0, "gamma zero", [0.0, 0.0, 0.0, 1.0])];
        for (path, hash, chunks) in [("/docs/a.txt", "ha", a.clone()), ("/docs/b.txt", "hb", b.clone()), ("/docs/c.txt", "hc", c.clone())] {
            writer.write(write_doc(path, hash, chunks)).await.unwrap();
        }
        drop(writer);
        assert!(store.check(&CheckScope::Everything).await.unwrap().is_ok());

        // What two writers left: a's document row and chunks twice. A crash between the two
        // commits of an edit of b: its chunks are of a newer version than its row. And chunks of
        // a file that never got its row.
        add_raw(&store, &[doc("/docs/a.txt", "ha", 2)], &a).await;
        let b_new = vec![
            chunk("/docs/b.txt", "hb2", 0, "beta edited", [0.0, 0.0, 1.0, 0.0]),
            chunk("/docs/b.txt", "hb2", 1, "beta more", [0.0, 0.0, 1.0, 0.0]),
        ];
        let mut merge = store.chunks.merge_insert(&["id"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all();
        merge.execute(records::reader(records::chunks_batch(&b_new.iter().collect::<Vec<_>>(), 4).unwrap())).await.unwrap();
        add_raw(&store, &[], &[chunk("/docs/d.txt", "hd", 0, "delta orphan", [1.0, 0.0, 0.0, 0.0])]).await;

        let report = store.check(&CheckScope::Everything).await.unwrap();
        let found: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            found,
            vec![
                "/docs/a.txt: 2 document rows (one expected)",
                "/docs/a.txt: 2 duplicate chunk row(s)",
                "/docs/b.txt: 2 chunk(s) from another version of the file",
                "/docs/b.txt: the document row says 1 chunk(s), 0 are stored",
                "/docs/d.txt: 1 chunk(s) without a document row",
            ],
            "{report:?}"
        );
        assert!(!store.quick_check(&store.documents().await.unwrap()).await.unwrap(), "the quick check sees that something is off");

        // The next writer repairs: duplicates go, b is redone by the next sync, d's chunk waits
        // until that sync has had the chance to reuse its vector.
        let lock = IndexLock::acquire(&dir.path().join("index.lock"), |_| {}, || false).await.unwrap();
        let (writer, recovery) = store.writer(lock).await.unwrap();
        assert_eq!(
            recovery.repaired,
            RepairSummary { duplicate_documents_removed: 1, duplicate_chunks_removed: 2, documents_to_redo: 1, orphan_chunks_removed: 0 }
        );
        assert_eq!(recovery.orphans, vec!["/docs/d.txt".to_string()]);
        let statuses: Vec<(String, DocStatus)> = recovery
            .documents
            .iter()
            .map(|d| (d.path.clone(), d.status))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("/docs/a.txt".into(), DocStatus::Indexed),
                ("/docs/b.txt".into(), DocStatus::Pending),
                ("/docs/c.txt".into(), DocStatus::Indexed)
            ]
        );
        // Nothing was re-embedded or lost: the vectors of every chunk are still there.
        assert_eq!(store.vectors_by_chunk_hash(&["hb2-0".into(), "hd-0".into(), "ha-1".into()]).await.unwrap().len(), 3);

        // The sync redoes b (here by hand) and then clears the orphans.
        writer.write(write_doc("/docs/b.txt", "hb2", b_new.clone())).await.unwrap();
        assert_eq!(writer.remove_orphan_chunks(&recovery.orphans).await.unwrap(), 1);
        let after = store.check(&CheckScope::Everything).await.unwrap();
        assert!(after.is_ok(), "{after:?}");
        assert_eq!((after.documents, after.chunks), (3, 5));
    }
}
