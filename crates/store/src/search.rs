//! Search results and their fusion.

use std::collections::HashMap;

use arrow_array::{Array, Float32Array, RecordBatch, UInt32Array};

use crate::records::{f32_values, string_column, typed_column, vectors_column};
use crate::Result;

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Vector and keyword results fused by reciprocal rank.
    #[default]
    Hybrid,
    Vector,
    Keyword,
}

impl SearchMode {
    pub const ALL: [SearchMode; 3] = [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Keyword];

    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Vector => "vector",
            SearchMode::Keyword => "keyword",
        }
    }
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hybrid" => Ok(SearchMode::Hybrid),
            "vector" => Ok(SearchMode::Vector),
            "keyword" => Ok(SearchMode::Keyword),
            other => Err(format!("unknown search mode {other:?} (hybrid, vector or keyword)")),
        }
    }
}

/// One chunk found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub path: String,
    pub ordinal: u32,
    pub text: String,
    pub context: Option<String>,
    /// Location JSON.
    pub location: String,
    /// The rank score of the mode used: cosine similarity (vector), BM25 (keyword) or the
    /// reciprocal-rank-fusion score (hybrid). Higher is better; only comparable within a mode.
    pub score: f32,
    /// Cosine similarity between the query and this chunk, when a query vector was given.
    pub similarity: Option<f32>,
}

pub(crate) const HIT_COLUMNS: &[&str] = &["id", "path", "ordinal", "text", "context", "location", "vector"];

pub(crate) enum ScoreColumn {
    Distance,
    Bm25,
}

pub(crate) fn hits_from_batches(batches: &[RecordBatch], query: Option<&[f32]>, score: ScoreColumn) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for b in batches {
        let id = string_column(b, "id")?;
        let path = string_column(b, "path")?;
        let ordinal = typed_column::<UInt32Array>(b, "ordinal")?;
        let text = string_column(b, "text")?;
        let context = string_column(b, "context")?;
        let location = string_column(b, "location")?;
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
            hits.push(Hit {
                id: id.value(i).to_string(),
                path: path.value(i).to_string(),
                ordinal: ordinal.value(i),
                text: text.value(i).to_string(),
                context: (!context.is_null(i)).then(|| context.value(i).to_string()),
                location: location.value(i).to_string(),
                score,
                similarity,
            });
        }
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(hits)
}

/// The constant of reciprocal rank fusion (Cormack et al., 2009): 60 damps the head of each
/// list so that agreement between lists counts for more than one list's top rank.
pub const RRF_K: f32 = 60.0;

/// Fuse ranked lists: each hit scores Σ 1/(RRF_K + rank) over the lists it appears in.
pub fn rrf_fuse(lists: &[Vec<Hit>], k: usize) -> Vec<Hit> {
    let mut fused: HashMap<String, Hit> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for list in lists {
        for (rank, hit) in list.iter().enumerate() {
            let add = 1.0 / (RRF_K + rank as f32 + 1.0);
            match fused.get_mut(&hit.id) {
                Some(existing) => {
                    existing.score += add;
                    existing.similarity = existing.similarity.or(hit.similarity);
                }
                None => {
                    order.push(hit.id.clone());
                    fused.insert(hit.id.clone(), Hit { score: add, ..hit.clone() });
                }
            }
        }
    }
    let mut out: Vec<Hit> = order.into_iter().filter_map(|id| fused.remove(&id)).collect();
    // Stable sort: ties keep first-seen order (the vector list's), so results are deterministic.
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str) -> Hit {
        Hit {
            id: id.into(),
            path: format!("/{id}"),
            ordinal: 0,
            text: String::new(),
            context: None,
            location: "{}".into(),
            score: 0.0,
            similarity: None,
        }
    }

    #[test]
    fn agreement_beats_one_list_top() {
        let vector = vec![hit("a"), hit("b"), hit("c")];
        let keyword = vec![hit("c"), hit("d"), hit("b")];
        let fused = rrf_fuse(&[vector, keyword], 10);
        let ids: Vec<&str> = fused.iter().map(|h| h.id.as_str()).collect();
        // c: 1/63 + 1/61, b: 1/62 + 1/63, a: 1/61, d: 1/62
        assert_eq!(ids, vec!["c", "b", "a", "d"]);
        assert!((fused[0].score - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-6);
    }

    #[test]
    fn truncates_to_k() {
        let fused = rrf_fuse(&[vec![hit("a"), hit("b"), hit("c")]], 2);
        assert_eq!(fused.len(), 2);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("keyword".parse::<SearchMode>().unwrap(), SearchMode::Keyword);
        assert!("fuzzy".parse::<SearchMode>().is_err());
    }
}
