//! Markdown: one section per heading, carrying the heading path ("Handbook > Leave > Sick").
//!
//! Headings are found with pulldown-cmark rather than by looking for `#` at line starts, so a `#`
//! inside a code block or a setext heading (`Title\n=====`) is treated as the reader sees it.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::{Location, Section};

struct Heading {
    start: usize,
    level: usize,
    title: String,
}

pub(crate) fn sections(text: &str) -> Vec<Section> {
    let headings = headings(text);
    let mut out = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();

    let preamble_end = headings.first().map_or(text.len(), |h| h.start);
    push_section(&mut out, text, 0, preamble_end, None);

    for (i, h) in headings.iter().enumerate() {
        while path.last().is_some_and(|(level, _)| *level >= h.level) {
            path.pop();
        }
        path.push((h.level, h.title.clone()));
        let end = headings.get(i + 1).map_or(text.len(), |next| next.start);
        let heading_path = path.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" > ");
        push_section(&mut out, text, h.start, end, Some(heading_path));
    }
    out
}

fn push_section(out: &mut Vec<Section>, text: &str, start: usize, end: usize, heading: Option<String>) {
    let body = &text[start..end];
    // A heading directly followed by a sub-heading has no words of its own; its title lives on in
    // the sub-section's heading path.
    let words_beyond_heading = if heading.is_some() {
        body.split_once('\n').is_some_and(|(_, rest)| rest.chars().any(|c| c.is_alphanumeric()) && !is_setext_underline_only(rest))
    } else {
        body.chars().any(|c| c.is_alphanumeric())
    };
    if !words_beyond_heading {
        return;
    }
    let first_line = 1 + text[..start].matches('\n').count() as u32;
    out.push(Section {
        text: body.trim_end().to_string(),
        location: Location { heading: heading.clone(), ..Default::default() },
        first_line: Some(first_line),
        context: heading,
    });
}

fn is_setext_underline_only(rest: &str) -> bool {
    let mut lines = rest.lines().filter(|l| !l.trim().is_empty());
    matches!(lines.next(), Some(l) if l.trim().chars().all(|c| c == '=' || c == '-')) && lines.next().is_none()
}

fn headings(text: &str) -> Vec<Heading> {
    let mut out = Vec::new();
    let mut current: Option<Heading> = None;
    for (event, range) in Parser::new_ext(text, Options::all()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some(Heading { start: range.start, level: level_number(level), title: String::new() });
            }
            Event::Text(t) | Event::Code(t) if current.is_some() => {
                if let Some(h) = current.as_mut() {
                    h.title.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(mut h) = current.take() {
                    h.title = h.title.split_whitespace().collect::<Vec<_>>().join(" ");
                    // Start the section at the beginning of the heading's line.
                    h.start = text[..h.start].rfind('\n').map_or(0, |i| i + 1);
                    out.push(h);
                }
            }
            _ => {}
        }
    }
    out
}

fn level_number(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "Intro line.\n\n# Handbook\n\nWelcome.\n\n## Leave\n\n### Sick leave\n\nCall your manager.\n\n```\n# not a heading\n```\n\n## Travel\nBook early.\n";

    #[test]
    fn heading_paths_and_first_lines() {
        let s = sections(DOC);
        let got: Vec<(Option<&str>, Option<u32>)> = s.iter().map(|s| (s.context.as_deref(), s.first_line)).collect();
        assert_eq!(
            got,
            vec![
                (None, Some(1)),
                (Some("Handbook"), Some(3)),
                (Some("Handbook > Leave > Sick leave"), Some(9)),
                (Some("Handbook > Travel"), Some(17)),
            ]
        );
        assert!(s[2].text.contains("# not a heading"), "code block stays in its section");
        assert!(s[2].text.starts_with("### Sick leave"));
    }

    #[test]
    fn setext_headings_count() {
        let s = sections("Title\n=====\n\nBody text.\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].context.as_deref(), Some("Title"));
        assert_eq!(s[0].first_line, Some(1));
    }
}
