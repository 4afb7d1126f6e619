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
}

impl SearchFilter {
    /// Only files under `folder`.
    pub fn folder(folder: impl Into<String>) -> SearchFilter {
        SearchFilter { folder: Some(folder.into()), paths: None }
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
        match (folder, paths) {
            (Some(f), Some(p)) => Some(format!("{f} AND {p}")),
            (f, p) => f.or(p),
        }
    }
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
        if let Some(f) = filter.sql() {
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
        if let Some(f) = filter.sql() {
            q = q.only_if(f);
        }
        let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
        hits_from_batches(&batches, query_vector, ScoreColumn::Bm25)
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
}
