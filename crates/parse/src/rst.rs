//! reStructuredText section titles: a line of text underlined (and optionally overlined) by a
//! line of one repeated punctuation character. Levels are not fixed by the character: as in
//! docutils, the first style seen is level 1, the next new one level 2, and so on.

use crate::outline::LineHeading;

/// Section titles of an rst document, in order.
pub(crate) fn headings(text: &str) -> Vec<LineHeading> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for line in text.split('\n') {
        lines.push((offset, line.trim_end_matches('\r')));
        offset += line.len() + 1;
    }
    let blank = |i: usize| lines.get(i).is_none_or(|(_, l)| l.trim().is_empty());
    let mut styles: Vec<(char, bool)> = Vec::new();
    let mut out = Vec::new();
    let mut level_of = |style: (char, bool)| match styles.iter().position(|s| *s == style) {
        Some(i) => i + 1,
        None => {
            styles.push(style);
            styles.len()
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let (start, line) = lines[i];
        // Overline, title, underline of the same character.
        if let Some(over) = adornment(line)
            && i + 2 < lines.len()
            && !blank(i + 1)
            && adornment(lines[i + 1].1).is_none()
            && adornment(lines[i + 2].1).is_some_and(|(c, _)| c == over.0)
        {
            out.push(LineHeading { start, level: level_of((over.0, true)), title: lines[i + 1].1.trim().to_string() });
            i += 3;
            continue;
        }
        // Title then underline, after a blank line (or at the start).
        if !blank(i)
            && !line.starts_with([' ', '\t'])
            && adornment(line).is_none()
            && (i == 0 || blank(i - 1))
            && let Some((c, len)) = lines.get(i + 1).and_then(|(_, l)| adornment(l))
            && (len >= line.trim().chars().count() || len >= 4)
        {
            out.push(LineHeading { start, level: level_of((c, false)), title: line.trim().to_string() });
            i += 2;
            continue;
        }
        i += 1;
    }
    out
}

/// `Some((char, length))` for a line of one repeated punctuation character, at least 3 long.
fn adornment(line: &str) -> Option<(char, usize)> {
    let line = line.trim_end();
    let first = line.chars().next()?;
    let len = line.chars().count();
    (first.is_ascii_punctuation() && len >= 3 && line.chars().all(|c| c == first)).then_some((first, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underlined_and_overlined_titles() {
        let doc = "=========\nUser Guide\n=========\n\nIntro.\n\nInstall\n-------\n\nRun it.\n\nOn Linux\n~~~~~~~~\n\nUse apt.\n\nUsage\n-----\n\n::\n\n    Code\n    ----\n";
        let found = headings(doc);
        let got: Vec<(usize, &str)> = found.iter().map(|h| (h.level, h.title.as_str())).collect();
        assert_eq!(got, [(1, "User Guide"), (2, "Install"), (3, "On Linux"), (2, "Usage")]);
        let sections = crate::outline::line_sections(doc, &headings(doc), "guide");
        let linux = sections.iter().find(|s| s.text.contains("Use apt")).unwrap();
        assert_eq!(linux.location.heading.as_deref(), Some("User Guide > Install > On Linux"));
        assert_eq!(linux.first_line, Some(12));
    }

    #[test]
    fn short_underline_is_not_a_title() {
        assert!(headings("A long paragraph line\n--\n").is_empty());
    }
}
