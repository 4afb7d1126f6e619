//! Org-mode headings: lines starting with one or more `*` and a space; the number of stars is the
//! level. Source and example blocks (`#+BEGIN_...` to `#+END_...`) are skipped, so a `*` at the
//! start of a code line is not taken for a heading. TODO keywords, priorities and tags are not
//! part of the title.

use crate::outline::LineHeading;

const KEYWORDS: &[&str] = &["TODO", "DONE", "NEXT", "WAITING", "HOLD", "CANCELLED", "CANCELED"];

/// Headings of an Org document, in order.
pub(crate) fn headings(text: &str) -> Vec<LineHeading> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut offset = 0;
    for line in text.split('\n') {
        let start = offset;
        offset += line.len() + 1;
        let directive = line.trim_start().to_ascii_lowercase();
        if directive.starts_with("#+begin_") {
            in_block = true;
            continue;
        }
        if directive.starts_with("#+end_") {
            in_block = false;
            continue;
        }
        if in_block {
            continue;
        }
        let stars = line.bytes().take_while(|&b| b == b'*').count();
        if stars == 0 || !line[stars..].starts_with([' ', '\t']) {
            continue;
        }
        let title = clean_title(&line[stars..]);
        if !title.is_empty() {
            out.push(LineHeading { start, level: stars, title });
        }
    }
    out
}

fn clean_title(raw: &str) -> String {
    let mut words: Vec<&str> = raw.split_whitespace().collect();
    if words.first().is_some_and(|w| KEYWORDS.contains(w)) {
        words.remove(0);
    }
    if words.first().is_some_and(|w| w.len() == 4 && w.starts_with("[#") && w.ends_with(']')) {
        words.remove(0);
    }
    if words.last().is_some_and(|w| w.len() > 2 && w.starts_with(':') && w.ends_with(':')) {
        words.pop();
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_keywords_tags_and_blocks() {
        let doc = "#+TITLE: Notes\nPreamble.\n* Projects\n** TODO [#A] Website relaunch   :web:urgent:\nShip by May.\n#+BEGIN_SRC python\n* not a heading\n#+END_SRC\n*bold* is not a heading\n* Admin\nPay rent.\n";
        let found = headings(doc);
        let got: Vec<(usize, &str)> = found.iter().map(|h| (h.level, h.title.as_str())).collect();
        assert_eq!(got, [(1, "Projects"), (2, "Website relaunch"), (1, "Admin")]);
        let sections = crate::outline::line_sections(doc, &headings(doc), "notes");
        let web = sections.iter().find(|s| s.text.contains("Ship by May")).unwrap();
        assert_eq!(web.location.heading.as_deref(), Some("Projects > Website relaunch"));
        assert_eq!(web.first_line, Some(4));
    }
}
