//! Stage 2, candidates: the chunks nearest to the query vector and the chunks BM25 ranks first,
//! each list from the store (its indexes do the work).

use brain_store::Hit;

use super::query::Query;
use super::{RetrievalRequest, SearchMode, SearchableIndex};
use crate::error::Result;

/// The candidate lists of `query` for its mode, `depth` hits each.
pub(crate) async fn find(index: &SearchableIndex, query: &Query, request: &RetrievalRequest, depth: usize) -> Result<Vec<Vec<Hit>>> {
    let store = &index.store;
    let filter = &request.filter;
    let vector = query.vector.as_deref();
    Ok(match (request.mode, vector) {
        (SearchMode::Keyword, v) => vec![store.search_keyword(&query.text, depth, filter, v).await?],
        (SearchMode::Vector, Some(v)) => vec![store.search_vector(v, depth, filter).await?],
        (SearchMode::Hybrid, Some(v)) => {
            let (by_vector, by_keyword) =
                futures::try_join!(store.search_vector(v, depth, filter), store.search_keyword(&query.text, depth, filter, Some(v)))?;
            vec![by_vector, by_keyword]
        }
        (_, None) => unreachable!("Query::new embeds for the vector modes"),
    })
}
