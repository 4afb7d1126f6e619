//! Citation markers in an answer's text: `[1]`, `[1, 2]`, `[1][2]`. The one parser of them: the
//! engine uses it to know which sources an answer cites, and the app's renderer to turn exactly
//! those markers into chips, so an answer never counts as cited without showing it.
//!
//! Sources are numbered from 1 and a marker holds one to three digits per number: `[0]`, `[]`,
//! `[a]`, `[1234]` and `[1,]` are text.

use serde::Serialize;

/// One marker: where it is in the text (byte offsets) and the source numbers it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitationSpan {
    pub start: usize,
    pub end: usize,
    pub sources: Vec<usize>,
}

impl CitationSpan {
    /// Every citation marker in `text`, in order.
    pub fn find(text: &str) -> Vec<CitationSpan> {
        citation_spans(text)
    }
}

fn citation_spans(text: &str) -> Vec<CitationSpan> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find('[').map(|i| from + i) {
        let Some(close) = text[open + 1..].find(']').map(|i| open + 1 + i) else { break };
        // A `[` inside the brackets starts a new candidate: "[see [2]]" cites 2.
        if let Some(inner) = text[open + 1..close].rfind('[') {
            from = open + 1 + inner;
            continue;
        }
        if let Some(sources) = numbers(&text[open + 1..close]) {
            out.push(CitationSpan { start: open, end: close + 1, sources });
        }
        from = close + 1;
    }
    out
}

/// The distinct source numbers cited in `text`, in order of first citation.
pub(crate) fn cited_numbers(text: &str) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for n in citation_spans(text).into_iter().flat_map(|s| s.sources) {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// "1" or "1, 2" → [1, 2]; anything else is not a marker.
fn numbers(inside: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in inside.split(',').map(str::trim) {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: usize = part.parse().ok()?;
        if n == 0 {
            return None;
        }
        out.push(n);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_with_their_places() {
        assert_eq!(cited_numbers("Ten days [1]. Also [2, 3] and [3][4]. Not [a], [], [0], [1234] or [1,]."), vec![1, 2, 3, 4]);
        let text = "A [2] b [1, 3]";
        let spans = citation_spans(text);
        assert_eq!(spans.len(), 2);
        assert_eq!(&text[spans[0].start..spans[0].end], "[2]");
        assert_eq!(spans[1].sources, vec![1, 3]);
        assert_eq!(cited_numbers("see [the note [2]] and [unclosed"), vec![2]);
    }
}
