//! Stage 4, the relevance gate: what is not similar enough to the question is no source, and no
//! file gives more than a few. When nothing passes, the answer is "not found" and no model runs.

use std::collections::HashMap;

use brain_store::Hit;

pub(crate) struct Gate {
    /// Least cosine similarity to the question.
    pub min_similarity: f32,
    /// Most chunks of one file.
    pub per_file: usize,
}

impl Gate {
    /// The hits that pass, best first, at most `k`.
    pub(crate) fn apply(&self, hits: Vec<Hit>, k: usize) -> Vec<Hit> {
        let mut per_file: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for hit in hits {
            if hit.similarity.unwrap_or(0.0) < self.min_similarity {
                continue;
            }
            let n = per_file.entry(hit.path.clone()).or_default();
            if *n >= self.per_file {
                continue;
            }
            *n += 1;
            out.push(hit);
            if out.len() == k {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(path: &str, similarity: f32) -> Hit {
        Hit {
            id: format!("{path}#{similarity}"),
            path: path.into(),
            ordinal: 0,
            text: "t".into(),
            context: None,
            location: Default::default(),
            score: 1.0,
            similarity: Some(similarity),
        }
    }

    #[test]
    fn irrelevant_hits_are_dropped_and_files_capped() {
        let gate = Gate { min_similarity: 0.3, per_file: 2 };
        let hits = vec![hit("/a", 0.8), hit("/a", 0.7), hit("/a", 0.6), hit("/b", 0.1), hit("/c", 0.5)];
        let kept: Vec<String> = gate.apply(hits, 5).into_iter().map(|h| h.path).collect();
        assert_eq!(kept, vec!["/a", "/a", "/c"]);
        assert!(gate.apply(vec![hit("/b", 0.1)], 5).is_empty());
    }
}
