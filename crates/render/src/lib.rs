//! `brain-render`: untrusted Markdown to HTML that is safe to insert into the desktop app's web
//! view. Document passages and model answers are both untrusted: a document can hold HTML, and a
//! prompt inside a document can make the model write links or markup.
//!
//! Two layers, so that a mistake in one is caught by the other:
//! 1. Markdown is parsed with pulldown-cmark and every piece of raw HTML in it becomes plain text
//!    (shown, never interpreted); images become their alt text, so nothing is ever fetched.
//! 2. The HTML produced is cleaned by ammonia with a short allow-list: structural tags only, no
//!    `style`, no event handlers, links only to `http`/`https` (others lose their `href`), no
//!    relative URLs (they would point into the app itself), `rel="noopener noreferrer"`.
//!
//! The app still opens nothing from a link: its web view refuses navigation and the UI cancels
//! link clicks. Links stay visible so a reader can see where one pointed.
//!
//! In answers, citation markers become `<button type="button" class="cite" data-cite="n">n</button>`
//! chips. Which text is a marker is not decided here: the caller passes the markers the engine's
//! one citation parser found (`brain_engine::CitationSpan::find`), so a chip shows exactly when the
//! engine counts the source as cited. Chips are produced from the parsed text (never from HTML
//! in the input, which is text by then), and the sanitiser only lets such a button through with
//! exactly these attributes and values.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, TextMergeWithOffset};

/// A citation marker of an answer: its byte range in the answer's text and the sources it cites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub range: Range<usize>,
    pub sources: Vec<usize>,
}

/// A document passage (a search result, a cited chunk) as safe HTML.
pub fn passage(markdown: &str) -> String {
    let html = to_html(markdown, &[], &[]);
    cleaner(false).clean(&html).to_string()
}

/// A model's answer as safe HTML, with its citation `markers` as chips and the `unsupported`
/// byte ranges (claims no source supports) in `<span class="unsupported">`.
pub fn answer(markdown: &str, markers: &[Marker], unsupported: &[Range<usize>]) -> String {
    let html = to_html(markdown, markers, unsupported);
    cleaner(true).clean(&html).to_string()
}

fn to_html(markdown: &str, markers: &[Marker], unsupported: &[Range<usize>]) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut in_code_block = false;
    let mut events: Vec<Event> = Vec::new();
    for (event, range) in TextMergeWithOffset::new(Parser::new_ext(markdown, options).into_offset_iter()) {
        match event {
            // Raw HTML is shown as the text it is.
            Event::Html(html) | Event::InlineHtml(html) => events.push(Event::Text(html)),
            // No image is ever loaded: its alt text (the events between start and end) stays.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code_block = true;
                events.push(Event::Start(Tag::CodeBlock(kind)));
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                events.push(Event::End(TagEnd::CodeBlock));
            }
            Event::Text(text) if !in_code_block && text.as_ref() == &markdown[range.clone()] => {
                decorate(&mut events, &text, range.start, markers, unsupported)
            }
            Event::Text(text) if !in_code_block && markers.iter().any(|m| range.start <= m.range.start && m.range.end <= range.end) => {
                push_with_citations(&mut events, text, &markdown[range.clone()], range.start, markers)
            }
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// A text event that is exactly its source: cut it at the markers (chips) and at the edges of
/// unsupported claims (wrapped in a span), by offset.
fn decorate<'a>(events: &mut Vec<Event<'a>>, text: &str, offset: usize, markers: &[Marker], unsupported: &[Range<usize>]) {
    let end = offset + text.len();
    let mut cuts: Vec<usize> = vec![offset, end];
    for m in markers.iter().filter(|m| offset <= m.range.start && m.range.end <= end) {
        cuts.extend([m.range.start, m.range.end]);
    }
    for u in unsupported {
        cuts.extend([u.start.clamp(offset, end), u.end.clamp(offset, end)]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    for pair in cuts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if !text.is_char_boundary(a - offset) || !text.is_char_boundary(b - offset) {
            continue;
        }
        if let Some(m) = markers.iter().find(|m| m.range.start == a && m.range.end == b) {
            for n in &m.sources {
                events.push(Event::InlineHtml(CowStr::from(format!(
                    r#"<button type="button" class="cite" data-cite="{n}" aria-label="Source {n}">{n}</button>"#
                ))));
            }
            continue;
        }
        let piece = CowStr::from(text[a - offset..b - offset].to_string());
        if unsupported.iter().any(|u| u.start <= a && b <= u.end && a < b) {
            events.push(Event::InlineHtml(CowStr::from(r#"<span class="unsupported">"#)));
            events.push(Event::Text(piece));
            events.push(Event::InlineHtml(CowStr::from("</span>")));
        } else {
            events.push(Event::Text(piece));
        }
    }
}

/// Split a text event at the markers inside its source range, which become chip buttons. The
/// event's text is its source with escapes resolved; a marker is found in it by its own text, so
/// an escape before a marker cannot shift it.
fn push_with_citations<'a>(events: &mut Vec<Event<'a>>, text: CowStr<'a>, source: &str, offset: usize, markers: &[Marker]) {
    let mut rest: &str = &text;
    let mut out: Vec<Event<'a>> = Vec::new();
    for m in markers.iter().filter(|m| offset <= m.range.start && m.range.end <= offset + source.len()) {
        let literal = &source[m.range.start - offset..m.range.end - offset];
        let Some(at) = rest.find(literal) else { continue };
        if at > 0 {
            out.push(Event::Text(CowStr::from(rest[..at].to_string())));
        }
        for n in &m.sources {
            out.push(Event::InlineHtml(CowStr::from(format!(
                r#"<button type="button" class="cite" data-cite="{n}" aria-label="Source {n}">{n}</button>"#
            ))));
        }
        rest = &rest[at + literal.len()..];
    }
    if !rest.is_empty() {
        out.push(Event::Text(CowStr::from(rest.to_string())));
    }
    events.extend(out);
}

fn cleaner(citations: bool) -> ammonia::Builder<'static> {
    let mut tags: HashSet<&str> = [
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "strong",
        "em",
        "del",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ]
    .into_iter()
    .collect();
    let mut tag_attributes: HashMap<&str, HashSet<&str>> = HashMap::new();
    tag_attributes.insert("a", ["href"].into_iter().collect());
    tag_attributes.insert("ol", ["start"].into_iter().collect());
    if citations {
        tags.insert("button");
        tag_attributes.insert("button", ["type", "class", "data-cite", "aria-label"].into_iter().collect());
        tags.insert("span");
        tag_attributes.insert("span", ["class"].into_iter().collect());
    }
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .tag_attributes(tag_attributes)
        .url_schemes(["http", "https"].into_iter().collect())
        .generic_attributes(HashSet::new())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true)
        .clean_content_tags(["script", "style"].into_iter().collect())
        .attribute_filter(|element, attribute, value| {
            let ok = match (element, attribute) {
                ("button", "type") => value == "button",
                ("button", "class") => value == "cite",
                ("button", "data-cite") => !value.is_empty() && value.len() <= 3 && value.bytes().all(|b| b.is_ascii_digit()),
                ("button", "aria-label") => value.strip_prefix("Source ").is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())),
                ("span", "class") => value == "unsupported",
                ("ol", "start") => value.bytes().all(|b| b.is_ascii_digit()),
                _ => true,
            };
            ok.then(|| value.into())
        });
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a hostile document (or an answer that repeats it) may contain.
    const HOSTILE: &str = r#"# Quarterly notes

<script>window.__pwned = 1</script>
<img src="x" onerror="window.__pwned = 2">
<iframe src="https://evil.example/"></iframe>
<a href="javascript:window.__pwned=3" onclick="window.__pwned=4">html link</a>
<button class="cite" data-cite="1" onclick="window.__pwned=5">1</button>
<style>body { display: none }</style>

Click [here](javascript:window.__pwned=6) or [there](file:///etc/passwd) or [data](data:text/html,<script>alert(1)</script>)
or [relative](../../index.html) or [vb](vbscript:msgbox) or ![tracker](https://evil.example/pixel.png)
or <javascript:alert(1)> or [ok](https://example.com/page "t").

[ref]: javascript:alert(7)
See [ref].
"#;

    /// The real tags of `html` (text `<` is escaped as `&lt;`, so every `<` opens markup).
    fn tags(html: &str) -> Vec<String> {
        html.split('<').skip(1).map(|t| t.split('>').next().unwrap_or("").to_ascii_lowercase()).collect()
    }

    fn assert_inert(html: &str) {
        for tag in tags(html) {
            let name = tag.trim_start_matches('/').split([' ', '/']).next().unwrap_or("").to_string();
            assert!(
                [
                    "p", "h1", "h2", "a", "button", "code", "pre", "ul", "ol", "li", "strong", "em", "br", "table", "thead", "tbody", "tr",
                    "th", "td"
                ]
                .contains(&name.as_str()),
                "unexpected element <{tag}> in:\n{html}"
            );
            for bad in [" on", " style", " src", " srcdoc", " formaction", " target"] {
                assert!(!tag.contains(bad), "attribute{bad} survived in <{tag}>:\n{html}");
            }
            if let Some(href) = tag.split("href=\"").nth(1) {
                assert!(href.starts_with("https://") || href.starts_with("http://"), "only web links keep an href: <{tag}>");
            }
        }
    }

    #[test]
    fn hostile_passages_are_inert() {
        let html = passage(HOSTILE);
        assert_inert(&html);
        // The text is still there to read, escaped.
        assert!(html.contains("&lt;script&gt;window.__pwned = 1&lt;/script&gt;"), "{html}");
        assert!(html.contains("&lt;img src=\"x\" onerror=\"window.__pwned = 2\"&gt;"), "{html}");
        // A web link keeps its address and cannot reach back to the opener.
        assert!(html.contains(r#"<a href="https://example.com/page" rel="noopener noreferrer nofollow">ok</a>"#), "{html}");
        // Images become their alt text; nothing to fetch.
        assert!(html.contains("tracker") && !html.contains("pixel.png\""), "{html}");
        // A document cannot forge a citation chip.
        assert!(!html.contains("<button"), "{html}");
    }

    /// The markers of `text` as the engine's parser finds them: `[n]` and `[n, m]`, n ≥ 1.
    fn markers(text: &str) -> Vec<Marker> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(open) = text[from..].find('[').map(|i| from + i) {
            let Some(close) = text[open..].find(']').map(|i| open + i) else { break };
            let parts: Vec<&str> = text[open + 1..close].split(',').map(str::trim).collect();
            if parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) && *p != "0") {
                out.push(Marker { range: open..close + 1, sources: parts.iter().map(|p| p.parse().unwrap()).collect() });
            }
            from = close + 1;
        }
        out
    }

    #[test]
    fn hostile_answers_are_inert_and_keep_real_citations() {
        let text = format!("The budget is 4 million [1].\n\n{HOSTILE}");
        let html = answer(&text, &markers(&text), &[]);
        assert_inert(&html);
        assert!(html.contains(r#"<button type="button" class="cite" data-cite="1" aria-label="Source 1">1</button>"#), "{html}");
        assert_eq!(html.matches("<button").count(), 1, "the document's own button is text: {html}");
    }

    #[test]
    fn citations_become_chips_outside_code_only() {
        let text = "Ten days [1], see also [2, 3] and [3][4]. Not [a], [], [1a] or `[5]`.\n\n```\nx[6]\n```";
        let html = answer(text, &markers(text), &[]);
        let chips: Vec<&str> = html.split("data-cite=\"").skip(1).map(|s| &s[..1]).collect();
        assert_eq!(chips, vec!["1", "2", "3", "3", "4"], "{html}");
        assert!(html.contains("Not [a], [], [1a] or <code>[5]</code>"), "{html}");
        assert!(html.contains("x[6]"), "{html}");
        // Only what the caller marks is a chip.
        assert!(!answer("Ten days [1].", &[], &[]).contains("<button"));
        let escaped = r"An \* escape before [2].";
        let html = answer(escaped, &markers(escaped), &[]);
        assert!(html.contains(r#"data-cite="2""#) && html.contains("An * escape before "), "{html}");
    }

    #[test]
    fn unsupported_claims_are_marked_and_the_mark_cannot_be_forged() {
        let text = "Leave is 27 days [1]. It is paid twice. <span class=\"unsupported\">x</span>";
        let second = text.find("It is").unwrap()..text.find("twice.").unwrap() + 6;
        let html = answer(text, &markers(text), &[second]);
        assert!(html.contains(r#"Leave is 27 days <button"#), "{html}");
        assert!(html.contains(r#"<span class="unsupported">It is paid twice.</span>"#), "{html}");
        assert_eq!(html.matches("<span").count(), 1, "the answer's own markup is text: {html}");
        assert!(!passage("<span class=\"unsupported\">x</span>").contains("<span"));
    }

    #[test]
    fn markdown_structure_survives() {
        let html = passage("## Leave\n\n- **ten** days\n- *paid*\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n3. third");
        for tag in ["<h2>", "<ul>", "<li><strong>ten</strong> days</li>", "<em>paid</em>", "<table>", "<td>1</td>", "<ol start=\"3\">"] {
            assert!(html.contains(tag), "{tag} missing in {html}");
        }
    }
}
