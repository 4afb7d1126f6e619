//! Stage 4, the relevance gate: what is not similar enough to the question is no source, no file
//! gives more than a few, and no source is a copy of another (see [`super::repeats`]: a
//! filing's certification, a page footer, last quarter's same paragraph). When nothing passes,
//! the answer is "not found" and no model runs.

use std::collections::{HashMap, HashSet};

use brain_store::Hit;

use super::repeats;

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
        let mut out: Vec<(Hit, HashSet<u64>)> = Vec::new();
        for hit in hits {
            if hit.similarity.unwrap_or(0.0) < self.min_similarity {
                continue;
            }
            let n = per_file.entry(hit.path.clone()).or_default();
            if *n >= self.per_file {
                continue;
            }
            let own = repeats::sequences(&hit.text);
            if out.iter().any(|(_, source)| repeats::repeats(&own, source)) {
                continue;
            }
            *n += 1;
            out.push((hit, own));
            if out.len() == k {
                break;
            }
        }
        out.into_iter().map(|(hit, _)| hit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(path: &str, similarity: f32) -> Hit {
        passage(path, similarity, &format!("passage {similarity} of {path}"))
    }

    fn passage(path: &str, similarity: f32, text: &str) -> Hit {
        Hit {
            id: format!("{path}#{similarity}"),
            path: path.into(),
            ordinal: 0,
            text: text.into(),
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

    #[test]
    fn a_copy_of_a_source_is_no_source_but_a_copy_of_a_hit_left_out_is() {
        use crate::retrieval::repeats::tests::certification;
        let gate = Gate { min_similarity: 0.3, per_file: 2 };
        let cook = certification("Timothy D. Cook", "Apple Inc.");
        let maestri = certification("Luca Maestri", "Apple Inc.");
        let hits = vec![
            passage("/2023-q3", 0.6, &cook),
            passage("/2023-q3", 0.6, &maestri),
            passage("/2022-q3", 0.6, &cook),
            passage("/2023-q3", 0.5, "Total operating expenses were $13,415 million in the third quarter."),
            passage("/2022-q3", 0.5, "Total operating expenses were $12,809 million in the third quarter."),
        ];
        let kept: Vec<String> = gate.apply(hits, 5).into_iter().map(|h| h.text).collect();
        assert_eq!(
            kept,
            vec![
                cook.clone(),
                "Total operating expenses were $13,415 million in the third quarter.".into(),
                "Total operating expenses were $12,809 million in the third quarter.".into()
            ]
        );
        // The copy in another file is a source when the one before it was left out: its file
        // had given its share.
        let gate = Gate { min_similarity: 0.3, per_file: 1 };
        let hits = vec![
            passage("/2023-q3", 0.7, "Net sales rose 8% on iPhone and Services."),
            passage("/2023-q3", 0.6, &cook),
            passage("/2022-q3", 0.6, &cook),
        ];
        let kept: Vec<String> = gate.apply(hits, 5).into_iter().map(|h| h.path).collect();
        assert_eq!(kept, vec!["/2023-q3", "/2022-q3"]);
    }
}
