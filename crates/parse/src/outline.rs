//! Heading paths for documents with headings: [`Outline`] for formats read block by block (DOCX,
//! ODT, HTML), [`line_sections`] for text formats whose lines the reader sees (reStructuredText,
//! Org). Both follow the Markdown parser's rules: one section per heading, the path of enclosing
//! headings as its location and context, and a heading with no words of its own left out (its
//! title lives on in its sub-sections' paths).

use crate::limits::Budget;
use crate::{Location, ParseError, Section};

/// Longest heading title kept in a path: a whole paragraph styled as a heading must not become
/// every chunk's context.
const MAX_TITLE_CHARS: usize = 120;

/// Builds sections from a stream of headings and text blocks.
pub(crate) struct Outline {
    path: Vec<(u8, String)>,
    body: String,
    /// The current section has text beyond its heading line.
    has_words: bool,
    sections: Vec<Section>,
    /// Context for text before the first heading (the document's title).
    fallback_context: Option<String>,
}

impl Outline {
    pub(crate) fn new(fallback_context: &str) -> Self {
        Outline {
            path: Vec::new(),
            body: String::new(),
            has_words: false,
            sections: Vec::new(),
            fallback_context: (!fallback_context.trim().is_empty()).then(|| fallback_context.trim().to_string()),
        }
    }

    /// A heading at `level` (1 outermost; 0 for a document title above all headings).
    pub(crate) fn heading(&mut self, level: u8, title: &str, budget: &mut Budget) -> Result<(), ParseError> {
        let title = tidy_title(title);
        if title.is_empty() {
            return Ok(());
        }
        self.flush(Some(level));
        while self.path.last().is_some_and(|(l, _)| *l >= level) {
            self.path.pop();
        }
        budget.text(title.len() + 1)?;
        self.body.push_str(&title);
        self.body.push('\n');
        self.path.push((level, title));
        Ok(())
    }

    /// A paragraph, list item or table (rows on lines of their own).
    pub(crate) fn block(&mut self, text: &str, budget: &mut Budget) -> Result<(), ParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        budget.text(text.len() + 2)?;
        if !self.body.is_empty() {
            self.body.push('\n');
        }
        self.body.push_str(text);
        self.body.push('\n');
        self.has_words |= text.chars().any(char::is_alphanumeric);
        Ok(())
    }

    /// The current heading path, "A > B".
    pub(crate) fn heading_path(&self) -> Option<String> {
        (!self.path.is_empty()).then(|| self.path.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" > "))
    }

    /// End the current section; `next_level` is the level of the heading that ends it, if any.
    /// A heading with no words of its own is kept only when no sub-heading follows to carry its
    /// title in a path (a document of bare headings still has text to find).
    fn flush(&mut self, next_level: Option<u8>) {
        let body = std::mem::take(&mut self.body);
        let has_words = std::mem::take(&mut self.has_words);
        let bare_heading_kept = !body.is_empty() && self.path.last().is_some_and(|(level, _)| next_level.is_none_or(|next| next <= *level));
        if has_words || bare_heading_kept {
            let heading = self.heading_path();
            self.sections.push(Section {
                text: body.trim_end().to_string(),
                location: Location { heading: heading.clone(), ..Default::default() },
                first_line: None,
                context: heading.or_else(|| self.fallback_context.clone()),
            });
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Section> {
        self.flush(None);
        self.sections
    }
}

/// A heading's title on one line, at most [`MAX_TITLE_CHARS`] characters.
pub(crate) fn tidy_title(title: &str) -> String {
    crate::text::one_line(title, MAX_TITLE_CHARS)
}

/// A heading found in a line-based text: where its first line starts, its level, its title.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineHeading {
    /// Byte offset of the start of the heading's first line (an rst overline counts).
    pub(crate) start: usize,
    pub(crate) level: usize,
    pub(crate) title: String,
}

/// Sections of a line-based text cut at `headings` (sorted by `start`), each with its heading
/// path and the line it starts on.
pub(crate) fn line_sections(text: &str, headings: &[LineHeading], title: &str) -> Vec<Section> {
    let fallback = (!title.trim().is_empty()).then(|| title.trim().to_string());
    let mut out = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let preamble_end = headings.first().map_or(text.len(), |h| h.start.min(text.len()));
    push_lines(&mut out, text, 0, preamble_end, None, fallback.clone());
    for (i, h) in headings.iter().enumerate() {
        while path.last().is_some_and(|(level, _)| *level >= h.level) {
            path.pop();
        }
        path.push((h.level, tidy_title(&h.title)));
        let start = h.start.min(text.len());
        let end = headings.get(i + 1).map_or(text.len(), |next| next.start.clamp(start, text.len()));
        let heading_path = path.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" > ");
        push_lines(&mut out, text, start, end, Some(heading_path), fallback.clone());
    }
    out
}

fn push_lines(out: &mut Vec<Section>, text: &str, start: usize, end: usize, heading: Option<String>, fallback: Option<String>) {
    let (Some(body), Some(before)) = (text.get(start..end), text.get(..start)) else {
        return;
    };
    // Words beyond the heading's own lines; the title's words are counted in its path.
    let own_words = match &heading {
        Some(path) => {
            let title = path.rsplit(" > ").next().unwrap_or_default();
            let mut words: Vec<&str> = body.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
            for t in title.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                if let Some(i) = words.iter().position(|w| *w == t) {
                    words.remove(i);
                }
            }
            !words.is_empty()
        }
        None => body.chars().any(char::is_alphanumeric),
    };
    if !own_words {
        return;
    }
    let first_line = 1 + before.matches('\n').count() as u32;
    out.push(Section {
        text: body.trim_end().to_string(),
        location: Location { heading: heading.clone(), ..Default::default() },
        first_line: Some(first_line),
        context: heading.or(fallback),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_paths_and_empty_parents() {
        let mut b = Budget::new();
        let mut o = Outline::new("Doc");
        o.block("Intro words.", &mut b).unwrap();
        o.heading(1, "Handbook", &mut b).unwrap();
        o.heading(2, "Leave", &mut b).unwrap();
        o.block("Sick leave rules.", &mut b).unwrap();
        o.heading(2, "Travel", &mut b).unwrap();
        o.block("Book early.", &mut b).unwrap();
        o.heading(1, "Appendix", &mut b).unwrap();
        let s = o.finish();
        let got: Vec<_> = s.iter().map(|s| (s.location.heading.as_deref(), s.context.as_deref())).collect();
        assert_eq!(
            got,
            [
                (None, Some("Doc")),
                (Some("Handbook > Leave"), Some("Handbook > Leave")),
                (Some("Handbook > Travel"), Some("Handbook > Travel")),
                (Some("Appendix"), Some("Appendix"))
            ]
        );
        assert_eq!(s[1].text, "Leave\n\nSick leave rules.");
    }

    #[test]
    fn line_sections_count_lines() {
        let text = "pre\n\nTitle\n=====\n\nbody\n";
        let h = [LineHeading { start: 5, level: 1, title: "Title".into() }];
        let s = line_sections(text, &h, "t");
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].first_line, Some(3));
        assert_eq!(s[1].location.heading.as_deref(), Some("Title"));
    }
}
