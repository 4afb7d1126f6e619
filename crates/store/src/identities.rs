//! The `identities` table: one short text per indexed file saying what the file is (its name,
//! title, headings, and the names, years and periods of its first page; the engine builds it),
//! and the search that finds the files a term names.
//!
//! Key decisions:
//! - A table of its own, not a column of `documents`: every writer reads all document rows when
//!   it starts and every sync plans from them, and an index made before identities existed
//!   opens with an empty table instead of a schema to migrate. It costs one more commit per
//!   write, placed between the chunks' and the documents' (see [`writer`](crate::StoreWriter)):
//!   a crash between them leaves the file's row disagreeing with its chunks, which the next sync
//!   redoes, identity included.
//! - Searched one term at a time, each answer the files whose identity holds the term: the
//!   engine weighs terms by how few files they name (their document frequency), which a single
//!   BM25 query over all the terms does not give back.
//! - Its own BM25 tokenizer: no stemming and no stop words ("US", "IT", "May" are names here),
//!   lower case and ASCII folding as in the chunks' index.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use futures::TryStreamExt;
use lancedb::index::scalar::{FtsIndexBuilder, FullTextSearchQuery};
use lancedb::query::{ExecutableQuery, QueryBase, Select};

use crate::records::{self, string_column};
use crate::sql::in_list;
use crate::{Result, Store, StoreWriter};

/// The BM25 index of the identities (see the module's docs).
pub(crate) fn identity_index() -> FtsIndexBuilder {
    FtsIndexBuilder::default().stem(false).remove_stop_words(false)
}

impl Store {
    /// Identities a term search reaches: 0 while there are none or their index is not built yet
    /// (the first sync of an index builds it).
    pub async fn searchable_identities(&self) -> Result<usize> {
        let indexed = self.identities.list_indices().await?.iter().any(|i| i.columns.iter().any(|c| c == "identity"));
        if !indexed {
            return Ok(0);
        }
        Ok(self.identities.count_rows(None).await?)
    }

    /// The files whose identity holds `term` (tokenised as the index does: lower case, accents
    /// folded), with their identities, best BM25 match first, at most `limit`: a full list
    /// means the term may name more files than that.
    pub async fn documents_named_by(&self, term: &str, limit: usize) -> Result<Vec<(String, String)>> {
        if !term.chars().any(char::is_alphanumeric) || limit == 0 {
            return Ok(Vec::new());
        }
        let query = FullTextSearchQuery::new(term.to_string());
        let batches: Vec<RecordBatch> = self
            .identities
            .query()
            .full_text_search(query)
            .limit(limit)
            .select(Select::columns(&["path", "identity"]))
            .execute()
            .await?
            .try_collect()
            .await?;
        rows(&batches)
    }

    /// The stored identities by path: of the files at `paths` (one query, however many), or of
    /// every file (`None`, for diagnostics: `brain inspect`). A file without one is absent.
    pub async fn identities(&self, paths: Option<&[String]>) -> Result<HashMap<String, String>> {
        if paths.is_some_and(<[String]>::is_empty) {
            return Ok(HashMap::new());
        }
        let mut query = self.identities.query().select(Select::columns(&["path", "identity"]));
        if let Some(paths) = paths {
            query = query.only_if(in_list("path", paths));
        }
        let batches: Vec<RecordBatch> = query.execute().await?.try_collect().await?;
        Ok(rows(&batches)?.into_iter().collect())
    }

    /// The stored identity of the file at `path`, if it has one.
    pub async fn identity(&self, path: &str) -> Result<Option<String>> {
        Ok(self.identities(Some(&[path.to_string()])).await?.remove(path))
    }
}

/// The (path, identity) rows of `batches`.
fn rows(batches: &[RecordBatch]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for b in batches {
        let (path, identity) = (string_column(b, "path")?, string_column(b, "identity")?);
        out.extend((0..b.num_rows()).map(|i| (path.value(i).to_string(), identity.value(i).to_string())));
    }
    Ok(out)
}

impl StoreWriter {
    /// One commit: the identities of the `replaced` files become `rows` (path, identity); a
    /// replaced file without a row (it failed, or has no identity) loses its old one.
    pub(crate) async fn replace_identities(&self, replaced: &[String], rows: &[(String, String)]) -> Result<()> {
        let table = &self.store.identities;
        let scope = in_list("path", replaced);
        if rows.is_empty() {
            table.delete(scope.as_str()).await?;
            return Ok(());
        }
        let rows: Vec<(&str, &str)> = rows.iter().map(|(p, i)| (p.as_str(), i.as_str())).collect();
        let data = records::identities_batch(&rows)?;
        let mut merge = table.merge_insert(&["path"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all().when_not_matched_by_source_delete(Some(scope));
        merge.execute(records::reader(data)).await?;
        Ok(())
    }

    /// Remove the identities of `paths` (files no longer indexed).
    pub(crate) async fn remove_identities(&self, paths: &[String]) -> Result<()> {
        for group in paths.chunks(512) {
            self.store.identities.delete(in_list("path", group).as_str()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{chunk, doc, open_writer, write_doc};
    use crate::{DocStatus, DocumentWrite, WriteBatch};

    use super::*;

    fn with_identity(mut batch: WriteBatch, identity: &str) -> WriteBatch {
        batch.documents[0].identity = Some(identity.into());
        batch
    }

    #[tokio::test]
    async fn identities_are_written_with_their_chunks_replaced_with_them_and_removed_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        let paths_named_by = |term: &'static str, limit: usize| {
            let store = store.clone();
            async move { store.documents_named_by(term, limit).await.unwrap().into_iter().map(|(p, _)| p).collect::<Vec<_>>() }
        };
        let a = || vec![chunk("/docs/a.pdf", "ha", 0, "total net sales", [1.0, 0.0, 0.0, 0.0])];
        let b = || vec![chunk("/docs/b.pdf", "hb", 0, "total net sales", [0.0, 1.0, 0.0, 0.0])];
        writer.write(with_identity(write_doc("/docs/a.pdf", "ha", a()), "2022 Q3 AAPL\nApple Inc. US 10q")).await.unwrap();
        writer.write(with_identity(write_doc("/docs/b.pdf", "hb", b()), "2023 Q1 MSFT\nMicrosoft Corporation 10q")).await.unwrap();
        assert_eq!(store.searchable_identities().await.unwrap(), 0, "not searchable before the index is built");

        writer.maintain().await.unwrap();
        assert_eq!(store.searchable_identities().await.unwrap(), 2);
        let apple = store.documents_named_by("Apple", 10).await.unwrap();
        assert_eq!(apple, vec![("/docs/a.pdf".to_string(), "2022 Q3 AAPL\nApple Inc. US 10q".to_string())], "with its identity");
        assert_eq!(paths_named_by("us", 10).await, vec!["/docs/a.pdf"], "no stop words: US is a name");
        let mut both = paths_named_by("10q", 10).await;
        both.sort();
        assert_eq!(both, vec!["/docs/a.pdf", "/docs/b.pdf"]);
        assert_eq!(store.documents_named_by("10q", 1).await.unwrap().len(), 1, "at most the limit");
        assert!(paths_named_by("Intel", 10).await.is_empty());

        // The file changes: its identity is rewritten (a row outside the index is found too).
        writer.write(with_identity(write_doc("/docs/a.pdf", "ha2", a()), "2023 Q1 AAPL\nApple Inc.")).await.unwrap();
        assert_eq!(store.identity("/docs/a.pdf").await.unwrap().as_deref(), Some("2023 Q1 AAPL\nApple Inc."));
        let mut q1 = paths_named_by("q1", 10).await;
        q1.sort();
        assert_eq!(q1, vec!["/docs/a.pdf", "/docs/b.pdf"]);
        assert!(paths_named_by("q3", 10).await.is_empty(), "the old identity is gone");

        // Touched (the row only): the identity stays. Failed: it goes. Removed: it goes.
        let touched = DocumentWrite { record: doc("/docs/b.pdf", "hb", 1), chunks: None, identity: None };
        writer.write(WriteBatch { documents: vec![touched], removed: vec![] }).await.unwrap();
        assert!(store.identity("/docs/b.pdf").await.unwrap().is_some());
        let failed = DocumentWrite {
            record: crate::DocumentRecord { status: DocStatus::Failed, chunks: 0, ..doc("/docs/a.pdf", "ha3", 0) },
            chunks: Some(Vec::new()),
            identity: None,
        };
        writer.write(WriteBatch { documents: vec![failed], removed: vec![] }).await.unwrap();
        assert_eq!(store.identity("/docs/a.pdf").await.unwrap(), None);
        writer.write(WriteBatch { documents: vec![], removed: vec!["/docs/b.pdf".into()] }).await.unwrap();
        assert_eq!(store.identity("/docs/b.pdf").await.unwrap(), None);
        assert!(paths_named_by("Microsoft", 10).await.is_empty());
    }

    #[tokio::test]
    async fn an_identity_left_by_a_crash_without_its_document_goes_with_the_orphan_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        // What a crash after the identities' commit leaves: chunks and identity, no document row.
        let orphan = chunk("/docs/gone.txt", "hg", 0, "left behind", [1.0, 0.0, 0.0, 0.0]);
        let batch = records::chunks_batch(&[&orphan], 4).unwrap();
        store.chunks.add(records::reader(batch)).execute().await.unwrap();
        writer.replace_identities(&["/docs/gone.txt".into()], &[("/docs/gone.txt".into(), "Gone".into())]).await.unwrap();
        writer
            .write(with_identity(
                write_doc("/docs/kept.txt", "hk", vec![chunk("/docs/kept.txt", "hk", 0, "kept", [0.0, 1.0, 0.0, 0.0])]),
                "Kept",
            ))
            .await
            .unwrap();

        assert_eq!(writer.remove_orphan_chunks(&["/docs/gone.txt".into(), "/docs/kept.txt".into()]).await.unwrap(), 1);
        assert_eq!(store.identity("/docs/gone.txt").await.unwrap(), None);
        assert_eq!(store.identity("/docs/kept.txt").await.unwrap().as_deref(), Some("Kept"), "an indexed file keeps its identity");
    }
}
