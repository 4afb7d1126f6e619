//! Stage 3, fusion: one ranked list from the candidate lists, by reciprocal rank.
//!
//! Done here rather than with LanceDB's reranker so the candidate depth and the cosine
//! similarity of every hit (which the gate decides on) stay under our control.

use std::collections::HashMap;

use brain_store::Hit;

use super::SearchMode;

/// The constant of reciprocal rank fusion (Cormack et al., 2009): 60 damps the head of each
/// list so that agreement between lists counts for more than one list's top rank.
pub const RRF_K: f32 = 60.0;

/// Candidates each list contributes: fusion needs depth to find agreement.
pub(crate) fn depth(mode: SearchMode, k: usize) -> usize {
    match mode {
        SearchMode::Hybrid => k.max(50),
        _ => k,
    }
}

/// The `k` best hits of the lists.
pub(crate) fn fuse(mode: SearchMode, mut lists: Vec<Vec<Hit>>, k: usize) -> Vec<Hit> {
    match (mode, lists.len()) {
        (SearchMode::Hybrid, _) => rrf_fuse(&lists, k),
        (_, 1) => {
            let mut list = lists.pop().unwrap_or_default();
            list.truncate(k);
            list
        }
        _ => rrf_fuse(&lists, k),
    }
}

/// Each hit scores Σ 1/(RRF_K + rank) over the lists it appears in.
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

    pub(crate) fn hit(id: &str) -> Hit {
        Hit {
            id: id.into(),
            path: format!("/{id}"),
            ordinal: 0,
            text: String::new(),
            context: None,
            location: Default::default(),
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
    fn one_list_is_cut_to_k_and_hybrid_fuses() {
        assert_eq!(fuse(SearchMode::Vector, vec![vec![hit("a"), hit("b"), hit("c")]], 2).len(), 2);
        assert_eq!(rrf_fuse(&[vec![hit("a"), hit("b"), hit("c")]], 2).len(), 2);
        assert_eq!(depth(SearchMode::Hybrid, 5), 50);
        assert_eq!(depth(SearchMode::Keyword, 5), 5);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("keyword".parse::<SearchMode>().unwrap(), SearchMode::Keyword);
        assert!("fuzzy".parse::<SearchMode>().is_err());
    }
}
