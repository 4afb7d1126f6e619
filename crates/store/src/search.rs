//! Search results and their fusion.

use arrow_array::{Array, Float32Array, RecordBatch, UInt32Array};

use brain_parse::Location;

use crate::Result;
use crate::records::{f32_values, location_from_json, string_column, typed_column, vectors_column};

/// One chunk found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub path: String,
    pub ordinal: u32,
    pub text: String,
    pub context: Option<String>,
    pub location: Location,
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
                location: location_from_json(location.value(i)),
                score,
                similarity,
            });
        }
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(hits)
}
