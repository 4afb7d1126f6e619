//! Vector and keyword queries of the chunks table, their folder filter, and the [`Hit`]s they
//! return.
//!
//! Each query returns its own ranked list. Fusing the vector and BM25 lists (hybrid search) is
//! not done here but in the engine's retrieval stage (`crates/engine/src/retrieval/fuse.rs`),
//! by reciprocal rank rather than LanceDB's reranker, so that the candidate depth and the cosine
//! similarity of every hit (which the engine's gate uses to decide "nothing relevant") are under
//! its control. That is why every hit carries its similarity to the query vector, keyword hits
//! included when the caller passes the vector.

use arrow_array::{Array, Float32Array, RecordBatch, UInt32Array};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase, Select};

use brain_access::Person;
use brain_parse::Location;

use crate::records::{f32_values, location_from_json, string_column, typed_column, vectors_column};
use crate::sql::{in_list, sql_string};
use crate::{Result, Store};

/// One chunk found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub path: String,
    pub ordinal: u32,
    pub text: String,
    pub context: Option<String>,
    pub location: Location,
    /// The rank score of the list it came from: cosine similarity (vector) or BM25 (keyword);
    /// the engine's fusion replaces it with the reciprocal-rank-fusion score (hybrid). Higher is
    /// better; only comparable within one list.
    pub score: f32,
    /// Cosine similarity between the query and this chunk, when a query vector was given.
    pub similarity: Option<f32>,
}

/// Which chunks a search may return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only files whose absolute path starts with this folder.
    pub folder: Option<String>,
    /// Only these files (the documents a question names); `None`: any file.
    pub paths: Option<Vec<String>>,
    /// Only files this person may read (by the readers stored with each chunk); `None`: the
    /// index's owner, who may read everything they indexed.
    pub person: Option<Person>,
}

impl SearchFilter {
    /// Only files under `folder`.
    pub fn folder(folder: impl Into<String>) -> SearchFilter {
        SearchFilter { folder: Some(folder.into()), ..SearchFilter::default() }
    }

    /// This filter, further limited to what `person` may read.
    pub fn for_person(&self, person: Person) -> SearchFilter {
        SearchFilter { person: Some(person), ..self.clone() }
    }

    /// This filter, further limited to the files `paths`.
    pub fn within(&self, paths: Vec<String>) -> SearchFilter {
        SearchFilter { paths: Some(paths), ..self.clone() }
    }

    /// A range on `path` rather than `starts_with`: the path's BTree index answers a range, so
    /// a folder filter is a cheap pre-filter at any table size. `'0'` follows `'/'` in byte
    /// order, so `[folder/, folder0)` is exactly the paths under the folder. A list of files is
    /// `path IN (...)`, a lookup in the same index.
    fn sql(&self) -> Option<String> {
        let folder = self.folder.as_ref().map(|f| {
            let folder = f.trim_end_matches('/');
            format!("path >= {} AND path < {}", sql_string(&format!("{folder}/")), sql_string(&format!("{folder}0")))
        });
        // An empty list allows no file; `IN ()` is not SQL.
        let paths = self.paths.as_ref().map(|p| if p.is_empty() { "false".to_string() } else { in_list("path", p) });
        let readers = self.person.as_ref().map(readers_sql);
        let parts: Vec<String> = [folder, paths, readers].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }
}

/// The readers test of `brain_access::Rule::allows` as SQL over the `readers` list column, in
/// the same order (the user's grant, the user's denial, a group's grant, a group's denial,
/// everyone), so that LanceDB's label-list index answers each `array_has_any` and the filter
/// runs before the nearest neighbours are chosen. A null list (readers not known) matches no
/// one: every comparison with it is null, and null is not true.
fn readers_sql(person: &Person) -> String {
    let any = |tokens: Vec<String>| {
        let list: Vec<String> = tokens.iter().map(|t| sql_string(t)).collect();
        format!("array_has_any(readers, make_array({}))", list.join(", "))
    };
    let user = any(vec![format!("user:{}", person.user)]);
    let user_denied = any(vec![format!("!user:{}", person.user)]);
    let everyone = any(vec![brain_access::EVERYONE.to_string()]);
    let by_group = if person.groups.is_empty() {
        everyone
    } else {
        let groups = any(person.groups.iter().map(|g| format!("group:{g}")).collect());
        let groups_denied = any(person.groups.iter().map(|g| format!("!group:{g}")).collect());
        format!("({groups} OR (NOT {groups_denied} AND {everyone}))")
    };
    format!("({user} OR (NOT {user_denied} AND {by_group}))")
}

impl Store {
    /// Vector search: the `k` chunks nearest to `query` (a normalised vector), through the ANN
    /// index where there is one (rows not yet in it are scanned exactly, so they are found).
    pub async fn search_vector(&self, query: &[f32], k: usize, filter: &SearchFilter) -> Result<Vec<Hit>> {
        self.vector_query(query, query, k, filter, false).await
    }

    /// [`Store::search_vector`] ranked by `rank_by` (a query vector mapped by a tuned adapter)
    /// with each hit's similarity measured to `similarity_to` (the plain query vector), so the
    /// gate and the answer's checks keep reading the embedder's own scale.
    pub async fn search_vector_ranked_by(
        &self,
        rank_by: &[f32],
        similarity_to: &[f32],
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Vec<Hit>> {
        self.vector_query(rank_by, similarity_to, k, filter, false).await
    }

    /// Vector search by an exact scan of every row, whatever indexes exist (the reference the
    /// ANN index's recall is measured against).
    pub async fn search_vector_exact(&self, query: &[f32], k: usize, filter: &SearchFilter) -> Result<Vec<Hit>> {
        self.vector_query(query, query, k, filter, true).await
    }

    async fn vector_query(&self, query: &[f32], similarity_to: &[f32], k: usize, filter: &SearchFilter, exact: bool) -> Result<Vec<Hit>> {
        let mut q = self
            .chunks
            .query()
            .nearest_to(query)?
            .distance_type(lancedb::DistanceType::Cosine)
            .limit(k)
            .select(Select::columns(HIT_COLUMNS));
        q = if exact { q.bypass_vector_index() } else { q.nprobes(self.policy.nprobes)?.refine_factor(self.policy.refine_factor) };
        if let Some(f) = self.filter_sql(filter).await? {
            q = q.only_if(f);
        }
        let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
        hits_from_batches(&batches, Some(similarity_to), ScoreColumn::Distance)
    }

    /// Keyword search (BM25 over text and heading context).
    pub async fn search_keyword(&self, query: &str, k: usize, filter: &SearchFilter, query_vector: Option<&[f32]>) -> Result<Vec<Hit>> {
        if !query.chars().any(char::is_alphanumeric) || self.chunks.count_rows(None).await? == 0 {
            return Ok(Vec::new());
        }
        let fts = lancedb::index::scalar::FullTextSearchQuery::new(crate::keywords::with_cjk_bigrams(query));
        let mut q = self.chunks.query().full_text_search(fts).limit(k).select(Select::columns(HIT_COLUMNS));
        if let Some(f) = self.filter_sql(filter).await? {
            q = q.only_if(f);
        }
        let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
        hits_from_batches(&batches, query_vector, ScoreColumn::Bm25)
    }

    /// Those of `paths` that `person` may read (by their documents' readers).
    pub async fn readable_by(&self, paths: &[String], person: &Person) -> Result<std::collections::HashSet<String>> {
        if paths.is_empty() {
            return Ok(Default::default());
        }
        let filter = SearchFilter::default().within(paths.to_vec()).for_person(person.clone());
        let Some(sql) = self.filter_sql(&filter).await? else { return Ok(Default::default()) };
        let batches: Vec<RecordBatch> =
            self.documents.query().only_if(sql).select(Select::columns(&["path"])).execute().await?.try_collect().await?;
        let mut out = std::collections::HashSet::new();
        for b in &batches {
            let path = string_column(b, "path")?;
            out.extend((0..b.num_rows()).map(|i| path.value(i).to_string()));
        }
        Ok(out)
    }

    /// How many documents, and chunks of them, `person` may read: what a team server tells them
    /// of the index (counts of anything else would say that there is more they cannot see).
    pub async fn readable_counts(&self, person: &Person) -> Result<(usize, usize)> {
        let filter = SearchFilter::default().for_person(person.clone());
        let Some(sql) = self.filter_sql(&filter).await? else { return Ok((0, 0)) };
        let documents = self.documents.count_rows(Some(format!("{sql} AND status = 'indexed'"))).await?;
        Ok((documents, self.chunks.count_rows(Some(sql)).await?))
    }

    /// The filter's SQL; a search for a person over a table without readers is refused rather
    /// than run unfiltered.
    async fn filter_sql(&self, filter: &SearchFilter) -> Result<Option<String>> {
        if filter.person.is_some() && !self.has_readers().await? {
            return Err(crate::StoreError::NoReaders);
        }
        Ok(filter.sql())
    }
}

impl Store {
    /// The chunks with these hashes (one per hash), as hits without scores: the passages a
    /// training set quotes.
    pub async fn chunks_by_hash(&self, hashes: &[String]) -> Result<std::collections::HashMap<String, Hit>> {
        let mut out = std::collections::HashMap::new();
        let mut unique: Vec<String> = hashes.to_vec();
        unique.sort();
        unique.dedup();
        for group in unique.chunks(512) {
            let columns = ["id", "path", "ordinal", "text", "context", "location", "chunk_hash"];
            let q = self.chunks.query().only_if(in_list("chunk_hash", group)).select(Select::columns(&columns));
            let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
            for b in &batches {
                let (rows, hash) = (HitColumns::of(b)?, string_column(b, "chunk_hash")?);
                for i in 0..b.num_rows() {
                    out.entry(hash.value(i).to_string()).or_insert_with(|| rows.hit(i, 0.0, None));
                }
            }
        }
        Ok(out)
    }
}

const HIT_COLUMNS: &[&str] = &["id", "path", "ordinal", "text", "context", "location", "vector"];

enum ScoreColumn {
    Distance,
    Bm25,
}

/// The columns of a batch of chunk rows that make a [`Hit`].
struct HitColumns<'a> {
    id: &'a arrow_array::StringArray,
    path: &'a arrow_array::StringArray,
    ordinal: &'a UInt32Array,
    text: &'a arrow_array::StringArray,
    context: &'a arrow_array::StringArray,
    location: &'a arrow_array::StringArray,
}

impl<'a> HitColumns<'a> {
    fn of(b: &'a RecordBatch) -> Result<HitColumns<'a>> {
        Ok(HitColumns {
            id: string_column(b, "id")?,
            path: string_column(b, "path")?,
            ordinal: typed_column::<UInt32Array>(b, "ordinal")?,
            text: string_column(b, "text")?,
            context: string_column(b, "context")?,
            location: string_column(b, "location")?,
        })
    }

    fn hit(&self, i: usize, score: f32, similarity: Option<f32>) -> Hit {
        Hit {
            id: self.id.value(i).to_string(),
            path: self.path.value(i).to_string(),
            ordinal: self.ordinal.value(i),
            text: self.text.value(i).to_string(),
            context: (!self.context.is_null(i)).then(|| self.context.value(i).to_string()),
            location: location_from_json(self.location.value(i)),
            score,
            similarity,
        }
    }
}

fn hits_from_batches(batches: &[RecordBatch], query: Option<&[f32]>, score: ScoreColumn) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for b in batches {
        let rows = HitColumns::of(b)?;
        let vectors = vectors_column(b)?;
        let scores = match score {
            ScoreColumn::Distance => typed_column::<Float32Array>(b, "_distance")?,
            ScoreColumn::Bm25 => typed_column::<Float32Array>(b, "_score")?,
        };
        for i in 0..b.num_rows() {
            let similarity = match (query, vectors) {
                (Some(q), Some(v)) => Some(q.iter().zip(f32_values(v, i)).map(|(a, b)| a * b).sum()),
                _ => None,
            };
            let score = match score {
                ScoreColumn::Distance => 1.0 - scores.value(i),
                ScoreColumn::Bm25 => scores.value(i),
            };
            hits.push(rows.hit(i, score, similarity));
        }
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_filter_is_a_range_that_stops_at_the_folders_siblings() {
        let sql = SearchFilter::folder("/docs/odd/").sql();
        assert_eq!(sql.as_deref(), Some("path >= '/docs/odd/' AND path < '/docs/odd0'"));
        assert_eq!(SearchFilter::default().sql(), None);
    }

    #[test]
    fn a_list_of_files_is_an_in_list_within_the_folder() {
        let named = SearchFilter::folder("/docs").within(vec!["/docs/a.pdf".into(), "/docs/o'b.pdf".into()]);
        assert_eq!(named.sql().as_deref(), Some("path >= '/docs/' AND path < '/docs0' AND path IN ('/docs/a.pdf', '/docs/o''b.pdf')"));
        assert_eq!(SearchFilter::default().within(vec!["/a".into()]).sql().as_deref(), Some("path IN ('/a')"));
        assert_eq!(SearchFilter::default().within(Vec::new()).sql().as_deref(), Some("false"));
    }

    #[test]
    fn a_persons_filter_reads_the_tokens_in_posixs_order() {
        let alice = Person { user: "alice".into(), groups: vec!["finance".into(), "o'neil".into()] };
        let sql = SearchFilter::folder("/docs").for_person(alice).sql().unwrap();
        assert_eq!(
            sql,
            "path >= '/docs/' AND path < '/docs0' AND (array_has_any(readers, make_array('user:alice')) OR \
             (NOT array_has_any(readers, make_array('!user:alice')) AND \
             (array_has_any(readers, make_array('group:finance', 'group:o''neil')) OR \
             (NOT array_has_any(readers, make_array('!group:finance', '!group:o''neil')) AND array_has_any(readers, make_array('everyone'))))))"
        );
        let loner = Person { user: "loner".into(), groups: Vec::new() };
        assert!(SearchFilter::default().for_person(loner).sql().unwrap().ends_with("AND array_has_any(readers, make_array('everyone'))))"));
    }
}

/// A person's searches against real tables: the filter runs before the k nearest are chosen,
/// a readers-only write changes who finds a file without touching its vectors, and an index
/// from before readers were recorded is given the column by its writer.
#[cfg(test)]
mod person_tests {
    use super::*;
    use crate::test_support::{chunk, open_writer, paths, write_doc};
    use crate::{DocumentWrite, Store, WriteBatch};

    fn with_readers(mut batch: WriteBatch, readers: &[&str]) -> WriteBatch {
        batch.documents[0].record.readers = Some(readers.iter().map(|s| s.to_string()).collect());
        batch
    }

    fn alice() -> Person {
        Person { user: "alice".into(), groups: vec!["alice".into(), "finance".into()] }
    }

    #[tokio::test]
    async fn the_k_results_are_the_best_k_the_person_may_read() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer, _) = open_writer(dir.path()).await;
        // Twenty of bob's files nearest the query, then three alice may read, farther away.
        for i in 0..20 {
            let path = format!("/docs/bob-{i:02}.txt");
            let v = [1.0, 0.01 * i as f32, 0.0, 0.0];
            writer
                .write(with_readers(write_doc(&path, "hb", vec![chunk(&path, "hb", 0, "salary review secret", v)]), &["user:bob"]))
                .await
                .unwrap();
        }
        for (path, readers) in [("/docs/open.txt", "everyone"), ("/docs/finance.txt", "group:finance"), ("/docs/alice.txt", "user:alice")] {
            let v = [0.5, 0.5, 0.5, 0.5];
            writer
                .write(with_readers(write_doc(path, "ho", vec![chunk(path, "ho", 0, "salary review public", v)]), &[readers]))
                .await
                .unwrap();
        }
        // Denied as a user although everyone may: closed to alice alone.
        let v = [0.9, 0.0, 0.1, 0.0];
        let path = "/docs/not-alice.txt";
        writer
            .write(with_readers(write_doc(path, "hn", vec![chunk(path, "hn", 0, "salary review", v)]), &["!user:alice", "everyone"]))
            .await
            .unwrap();
        writer.maintain().await.unwrap();

        let query = [1.0, 0.0, 0.0, 0.0];
        let owner = store.search_vector(&query, 3, &SearchFilter::default()).await.unwrap();
        assert!(paths(&owner).iter().all(|p| p.contains("bob") || p.contains("not-alice")), "{:?}", paths(&owner));
        let as_alice = SearchFilter::default().for_person(alice());
        let mut found = paths(&store.search_vector(&query, 3, &as_alice).await.unwrap()).into_iter().map(String::from).collect::<Vec<_>>();
        found.sort();
        assert_eq!(found, vec!["/docs/alice.txt", "/docs/finance.txt", "/docs/open.txt"]);
        let mut by_keyword: Vec<String> =
            paths(&store.search_keyword("salary review", 3, &as_alice, None).await.unwrap()).into_iter().map(String::from).collect();
        by_keyword.sort();
        assert_eq!(by_keyword, found);
        assert!(store.search_keyword("secret", 10, &as_alice, None).await.unwrap().is_empty(), "bob's words find nothing of his");

        // setfacl -m u:alice:r on one of bob's files: only its readers are written.
        let mut record = store.documents().await.unwrap().into_iter().find(|d| d.path == "/docs/bob-00.txt").unwrap();
        record.readers = Some(vec!["user:alice".into(), "user:bob".into()]);
        writer
            .write(WriteBatch { documents: vec![DocumentWrite { record, chunks: None, identity: None }], removed: vec![] })
            .await
            .unwrap();
        let hits = store.search_vector(&query, 1, &as_alice).await.unwrap();
        assert_eq!(paths(&hits), vec!["/docs/bob-00.txt"]);
        assert!((hits[0].similarity.unwrap() - 1.0).abs() < 1e-5, "the stored vector is the one written before");
        let stored = store.documents().await.unwrap().into_iter().find(|d| d.path == "/docs/bob-00.txt").unwrap();
        assert_eq!(stored.readers, Some(vec!["user:alice".to_string(), "user:bob".to_string()]));
    }

    #[tokio::test]
    async fn an_index_from_before_readers_gets_the_column_from_its_writer_and_matches_no_one_until_then() {
        use arrow_schema::Schema;
        let dir = tempfile::tempdir().unwrap();
        {
            // The tables as an older build made them: no readers column.
            let db = lancedb::connect(&dir.path().to_string_lossy()).execute().await.unwrap();
            for (name, schema) in [("documents", crate::records::documents_schema()), ("chunks", crate::records::chunks_schema(4))] {
                let fields: Vec<_> = schema.fields().iter().filter(|f| f.name() != "readers").cloned().collect();
                db.create_empty_table(name, std::sync::Arc::new(Schema::new(fields))).execute().await.unwrap();
            }
        }
        let store = Store::open(dir.path(), 4).await.unwrap();
        let as_alice = SearchFilter::default().for_person(alice());
        assert!(matches!(store.search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &as_alice).await, Err(crate::StoreError::NoReaders)));
        let (store, writer, _) = open_writer(dir.path()).await;
        writer.write(write_doc("/docs/a.txt", "ha", vec![chunk("/docs/a.txt", "ha", 0, "alpha", [1.0, 0.0, 0.0, 0.0])])).await.unwrap();
        assert!(store.search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &as_alice).await.unwrap().is_empty(), "readers not known: nobody");
        assert_eq!(store.search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &SearchFilter::default()).await.unwrap().len(), 1);
        // Unknown again (None) after being known: written as null, not an error.
        let mut record = store.documents().await.unwrap().remove(0);
        record.readers = Some(vec!["everyone".into()]);
        writer
            .write(WriteBatch { documents: vec![DocumentWrite { record: record.clone(), chunks: None, identity: None }], removed: vec![] })
            .await
            .unwrap();
        assert_eq!(store.search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &as_alice).await.unwrap().len(), 1);
        record.readers = Some(Vec::new());
        writer
            .write(WriteBatch { documents: vec![DocumentWrite { record, chunks: None, identity: None }], removed: vec![] })
            .await
            .unwrap();
        assert!(store.search_vector(&[1.0, 0.0, 0.0, 0.0], 3, &as_alice).await.unwrap().is_empty(), "nobody may");
    }
}
