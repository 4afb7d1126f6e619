//! The write journal: the paths a write touches, made durable before its first commit and
//! deleted after its last.
//!
//! Key decision: the two tables cannot commit together, so a crash between a write's commits
//! leaves files half written. Rather than scan the whole index after every start, a writer
//! that finds the journal checks just those paths (all of them when there are more than
//! [`JOURNAL_PATHS_MAX`], or when the journal is unreadable) and repairs them when it starts
//! ([`Store::writer`], [`integrity`](crate::integrity)).

use std::path::PathBuf;

use crate::{Result, Store, StoreError, StoreWriter};

/// Written before a write's first commit, deleted after its last: the paths it touches.
pub(crate) const JOURNAL: &str = "write-journal.json";
/// More paths than this in an interrupted write: check everything instead of a path list.
pub(crate) const JOURNAL_PATHS_MAX: usize = 2_000;

#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    paths: Vec<String>,
}

impl Store {
    /// The paths of a write that did not finish, if one did not (its journal is still there).
    pub fn interrupted_write(&self) -> Option<Vec<String>> {
        let bytes = std::fs::read(self.dir.join(JOURNAL)).ok()?;
        match serde_json::from_slice::<Journal>(&bytes) {
            Ok(j) => Some(j.paths),
            // A torn journal (it is renamed into place, so this should not happen): check all.
            Err(_) => Some(Vec::new()),
        }
    }
}

impl StoreWriter {
    fn journal_path(&self) -> PathBuf {
        self.store.dir.join(JOURNAL)
    }

    pub(crate) fn begin_journal(&self, paths: &[String]) -> Result<()> {
        let path = self.journal_path();
        let error = |e: &dyn std::fmt::Display| StoreError::Journal { path: path.clone(), reason: e.to_string() };
        let text = serde_json::to_vec(&Journal { paths: paths.to_vec() }).map_err(|e| error(&e))?;
        let tmp = path.with_extension("json.tmp");
        // Durable before the first commit: a crash after it must find the journal.
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.store.dir)?.sync_all()
        };
        write().map_err(|e| error(&e))
    }

    pub(crate) fn end_journal(&self) -> Result<()> {
        match std::fs::remove_file(self.journal_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Journal { path: self.journal_path(), reason: e.to_string() }),
        }
    }

    pub(crate) fn interrupted_write(&self) -> Option<Vec<String>> {
        self.store.interrupted_write()
    }
}

#[cfg(test)]
mod tests {
    use crate::records::{self, ChunkRecord};
    use crate::test_support::{chunk, open_writer, write_doc};

    use super::*;

    #[tokio::test]
    async fn an_interrupted_write_is_found_through_its_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        writer.write(write_doc("/docs/a.txt", "h1", vec![chunk("/docs/a.txt", "h1", 0, "old text", [1.0, 0.0, 0.0, 0.0])])).await.unwrap();
        // An edit whose chunks committed and whose document row did not: the chunk total still
        // matches, so only the journal tells the writer where to look.
        writer.begin_journal(&["/docs/a.txt".to_string()]).unwrap();
        drop(writer);
        let edited = [chunk("/docs/a.txt", "h2", 0, "new text", [0.0, 1.0, 0.0, 0.0])];
        let chunks: Vec<&ChunkRecord> = edited.iter().collect();
        let mut merge = store.chunks.merge_insert(&["id"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all();
        merge.execute(records::reader(records::chunks_batch(&chunks, 4).unwrap())).await.unwrap();
        assert!(store.quick_check(&store.documents().await.unwrap()).await.unwrap());

        let (_, _writer, recovery) = open_writer(dir.path()).await;
        let report = recovery.report.expect("the journal called for a check");
        assert!(!report.full, "only the journal's paths were read");
        assert_eq!(recovery.repaired.documents_to_redo, 1);
        assert!(!dir.path().join(JOURNAL).exists(), "the journal is cleared once repaired");
    }
}
