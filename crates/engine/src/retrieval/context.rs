//! Stage 5, context assembly: the sources, numbered in the order the answer cites them, as many
//! as fit the model's context. The best source alone is shortened to fit rather than dropped.

use brain_store::Hit;

use crate::error::{EngineError, Result};

/// Take sources from `hits` (best first) while `fits` says the prompt made of them still fits.
/// Returns the sources used, numbered 1.. in order.
pub(crate) fn assemble(hits: &[Hit], mut fits: impl FnMut(&[Hit]) -> Result<bool>) -> Result<Vec<Hit>> {
    let mut used: Vec<Hit> = Vec::new();
    for hit in hits {
        used.push(hit.clone());
        if fits(&used)? {
            continue;
        }
        used.pop();
        if !used.is_empty() {
            break;
        }
        // Even the best source alone is too long: cut it to what fits.
        let mut text = hit.text.clone();
        while !text.is_empty() {
            let cut = text.len() * 3 / 4;
            let cut = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.truncate(cut);
            if text.trim().is_empty() {
                break;
            }
            let shortened = vec![Hit { text: text.clone(), ..hit.clone() }];
            if fits(&shortened)? {
                used = shortened;
                break;
            }
        }
        if used.is_empty() {
            return Err(EngineError::InvalidArgument("the question alone does not fit the model's context".into()));
        }
        break;
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str) -> Hit {
        Hit {
            id: text.into(),
            path: "/p".into(),
            ordinal: 0,
            text: text.into(),
            context: None,
            location: Default::default(),
            score: 0.0,
            similarity: None,
        }
    }

    #[test]
    fn sources_are_taken_while_they_fit_and_the_best_is_shortened_if_alone_too_long() {
        let budget = |limit: usize| move |used: &[Hit]| Ok(used.iter().map(|h| h.text.len()).sum::<usize>() <= limit);
        let hits = vec![hit("aaaa"), hit("bbbb"), hit("cccc")];
        assert_eq!(assemble(&hits, budget(9)).unwrap().len(), 2);
        let short = assemble(&hits, budget(3)).unwrap();
        assert_eq!(short.len(), 1);
        assert!(short[0].text.len() <= 3 && short[0].text.starts_with('a'));
        assert!(assemble(&hits, budget(0)).is_err());
    }
}
