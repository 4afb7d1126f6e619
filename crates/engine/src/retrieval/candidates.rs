//! Stage 2, candidates: the chunks nearest to the query vector and the chunks BM25 ranks first,
//! each list from the store (its indexes do the work).
//!
//! A keyword list whose best hits are far less close in meaning to the query than the vector
//! list's best is left out of hybrid search: the question's words are not the passages' words
//! (a Spanish question over English documents matches "de", names and numbers), and fused
//! with equal weight such a list halves the depth of the one that found the answer. Measured on
//! XQuAD with the multilingual embedder: Spanish questions over English paragraphs found their
//! paragraph in the top 5 98.5 % of the time by vector, 62 % fused with that keyword list.

use brain_store::{Hit, SearchFilter};

use super::query::Query;
use super::{RetrievalRequest, SearchMode, SearchableIndex};
use crate::error::Result;
use crate::inference::EmbedText;
use crate::languages;

/// The candidate lists of `query` for its mode, `depth` hits each.
pub(crate) async fn find(index: &SearchableIndex, query: &Query, request: &RetrievalRequest, depth: usize) -> Result<Vec<Vec<Hit>>> {
    let store = &index.store;
    let filter = &request.filter;
    let vector = query.vector.as_deref();
    let mut lists = match (request.mode, vector) {
        (SearchMode::Keyword, v) => vec![store.search_keyword(&query.text, depth, filter, v).await?],
        (SearchMode::Vector, Some(v)) => vec![nearest(index, query, v, depth, filter).await?],
        (SearchMode::Hybrid, Some(v)) => {
            let (by_vector, by_keyword) = futures::try_join!(nearest(index, query, v, depth, filter), async {
                Ok(store.search_keyword(&query.text, depth, filter, Some(v)).await?)
            })?;
            vec![by_vector, by_keyword]
        }
        (_, None) => unreachable!("Query::new embeds for the vector modes"),
    };
    if let Some(embedder) = &index.embedder {
        calibrate(embedder.as_ref(), &query.text, &mut lists);
    }
    if request.mode == SearchMode::Hybrid && lists.len() == 2 && keywords_miss_the_meaning(&lists[0], &lists[1]) {
        lists.truncate(1);
    }
    Ok(lists)
}

/// The chunks nearest to the query: ranked by the tuned adapter's vector when one is in use,
/// similarities measured to the plain one.
async fn nearest(index: &SearchableIndex, query: &Query, vector: &[f32], depth: usize, filter: &SearchFilter) -> Result<Vec<Hit>> {
    Ok(match &query.ranking_vector {
        Some(ranking) => index.store.search_vector_ranked_by(ranking, vector, depth, filter).await?,
        None => index.store.search_vector(vector, depth, filter).await?,
    })
}

/// Every later stage (the gate, the answer) reads similarities on one scale, whatever the model
/// and whichever the languages: a multilingual model's German question and English passage are
/// put on the scale of a pair in one language, or the gate, set on pairs in one language, would
/// refuse a German question its English paragraph (9 of XQuAD's 23 before).
fn calibrate(embedder: &dyn EmbedText, query: &str, lists: &mut [Vec<Hit>]) {
    let asked_in = languages::asked_in(embedder, query);
    for hit in lists.iter_mut().flatten() {
        let across = languages::passage_differs(asked_in, &hit.text);
        hit.similarity = hit.similarity.map(|s| embedder.calibrate_question(s, across));
    }
}

/// Hits looked at at the head of each list.
const HEAD: usize = 5;
/// The keyword list is left out when its best hits are less close in meaning than this share of
/// the vector list's best (similarities on the calibrated scale: unrelated text about 0).
const MIN_KEYWORD_MEANING_SHARE: f32 = 0.5;

/// Whether the keyword list's head is far less similar to the query than the vector list's.
fn keywords_miss_the_meaning(by_vector: &[Hit], by_keyword: &[Hit]) -> bool {
    let head = |list: &[Hit]| {
        let s: Vec<f32> = list.iter().take(HEAD).filter_map(|h| h.similarity).collect();
        (!s.is_empty()).then(|| s.iter().sum::<f32>() / s.len() as f32)
    };
    match (head(by_vector), head(by_keyword)) {
        (Some(vector), Some(keyword)) if vector > 0.0 => keyword < vector * MIN_KEYWORD_MEANING_SHARE,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(similarities: &[f32]) -> Vec<Hit> {
        similarities
            .iter()
            .enumerate()
            .map(|(i, &s)| Hit { similarity: Some(s), ..crate::retrieval::test_hit(&format!("/d/{i}.txt"), &format!("text {i} {s}")) })
            .collect()
    }

    #[test]
    fn a_question_and_its_passage_in_another_language_are_read_on_one_languages_scale() {
        use crate::inference::fakes::Bilingual;
        use crate::retrieval::gate::Gate;
        let passages = [
            "The company refunds at most 140 euros per night for hotels in capital cities.",
            "A lost laptop must be reported to the service desk within one hour of noticing it.",
        ];
        let found = |embedder: &Bilingual, question: &str| {
            let asked = embedder.vector(question);
            let mut lists = vec![
                passages
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let cosine = asked.iter().zip(embedder.vector(p)).map(|(a, b)| a * b).sum();
                        Hit { similarity: Some(cosine), ..crate::retrieval::test_hit(&format!("/d/{i}.md"), p) }
                    })
                    .collect::<Vec<_>>(),
            ];
            calibrate(embedder, question, &mut lists);
            let similarity = lists[0][0].similarity.unwrap();
            let kept = Gate { min_similarity: 0.3, per_file: 2 }.apply(lists.remove(0), 5);
            (similarity, kept.into_iter().map(|h| h.path).collect::<Vec<_>>())
        };
        let across = Bilingual { mark: 1.0, one_scale: false };
        let english = found(&across, "How many euros per night does the company refund for hotels in capital cities?");
        let german = found(&across, "Wie viele Euro pro Nacht erstattet die Firma für Hotels in Hauptstädten?");
        assert_eq!(english.1, vec!["/d/0.md"], "{english:?}");
        assert_eq!(german.1, vec!["/d/0.md"], "the gate passes the German question its English passage: {german:?}");
        // Read on one language's scale, the pair across languages falls below the gate.
        let one_scale =
            found(&Bilingual { mark: 1.0, one_scale: true }, "Wie viele Euro pro Nacht erstattet die Firma für Hotels in Hauptstädten?");
        assert!(one_scale.0 < german.0 && one_scale.1.is_empty(), "{one_scale:?}");
    }

    #[test]
    fn a_keyword_list_far_from_the_meaning_is_left_out() {
        // Passages in the question's language: the words find what the meaning finds.
        assert!(!keywords_miss_the_meaning(&hits(&[0.62, 0.55, 0.5]), &hits(&[0.58, 0.41, 0.3])));
        // Another language: the words find passages about nothing asked.
        assert!(keywords_miss_the_meaning(&hits(&[0.6, 0.52, 0.5]), &hits(&[0.1, 0.05, 0.12])));
        // Nothing to compare: kept.
        assert!(!keywords_miss_the_meaning(&hits(&[0.6]), &[]));
        assert!(!keywords_miss_the_meaning(&hits(&[-0.1]), &hits(&[-0.3])));
    }
}
