//! HTML: the main text of a page, h1..h6 as a heading path; also the HTML-to-text used for e-mail
//! bodies and EPUB chapters.
//!
//! Pages are parsed with scraper (html5ever, the browser algorithm), so broken markup is repaired
//! the way a browser would. The text is then read by walking the tree iteratively (no recursion,
//! whatever the nesting) and leaving out what a reader does not see or does not read as content:
//! scripts, styles, navigation, forms' buttons, hidden elements. When the page marks its main
//! content with `<main>`, only that is read.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use crate::limits::Budget;
use crate::outline::{Outline, tidy_title};
use crate::{Format, ParseError, ParsedDocument, text};

/// Elements whose content is never page text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "svg", "math", "iframe", "object", "embed", "canvas", "select", "button", "datalist",
    "audio", "video", "map", "head",
];

/// Elements that start a new block of text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "aside",
    "header",
    "footer",
    "main",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "figure",
    "figcaption",
    "address",
    "hr",
    "form",
    "fieldset",
    "details",
    "summary",
    "caption",
    "center",
    "body",
    "html",
    "legend",
];

/// Block containers nested inside each other beyond this make html5ever's tree building
/// quadratic (every new block scans the stack of open elements): 16,000 nested `<div>`s take
/// seconds, 200,000 take minutes. Real pages nest a few dozen deep.
const MAX_BLOCK_NESTING: usize = 1_000;

/// Containers that html5ever leaves open until their end tag, and whose start tags scan the
/// open elements (`<p>`, `<li>`, `<td>` are closed implicitly and do not pile up).
const NESTING_BLOCKS: &[&str] = &[
    "div",
    "section",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "dl",
    "fieldset",
    "figure",
    "footer",
    "header",
    "hgroup",
    "main",
    "menu",
    "nav",
    "ol",
    "ul",
    "form",
    "address",
    "figcaption",
    "summary",
    "search",
];

/// Whether the content opens like an HTML page: a doctype or an `<html>` tag.
pub(crate) fn looks_like_html(bytes: &[u8]) -> bool {
    let head = text::head_lowercase(bytes);
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// A piece of a page, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Heading(u8, String),
    Block(String),
}

pub(crate) fn parse(bytes: &[u8], title: &str, budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let (html, encoding) = decode(bytes)?;
    let page = render(&html)?;
    let page_title = page.title.as_deref().map(tidy_title).filter(|t| !t.is_empty());
    let mut outline = Outline::new(page_title.as_deref().unwrap_or(title));
    for item in page.items {
        match item {
            Item::Heading(level, text) => outline.heading(level, &text, budget)?,
            Item::Block(text) => outline.block(&text, budget)?,
        }
    }
    let warnings = encoding.map(|e| format!("decoded as {e}")).into_iter().collect();
    Ok(ParsedDocument { format: Format::Html, sections: outline.finish(), warnings, tables: Vec::new() })
}

/// HTML bytes as text: a BOM first, then a `<meta charset>` in the first few KiB, then the
/// plain-text rules (UTF-8, else a detected legacy encoding). The encoding is returned when it
/// was not UTF-8.
pub(crate) fn decode(bytes: &[u8]) -> Result<(String, Option<&'static str>), ParseError> {
    if encoding_rs::Encoding::for_bom(bytes).is_none()
        && let Some(encoding) = meta_charset(bytes)
        && encoding != encoding_rs::UTF_8
    {
        let (text, _, _) = encoding.decode(bytes);
        return Ok((text.into_owned(), Some(encoding.name())));
    }
    let decoded = text::decode_text(bytes)?;
    Ok((decoded.text, decoded.encoding))
}

fn meta_charset(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let label: String = head[at..]
        .trim_start_matches(['"', '\'', ' '])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes())?;
    // A page that says UTF-16 but has no BOM was transcoded after it was written; trust the bytes.
    (encoding != encoding_rs::UTF_16LE && encoding != encoding_rs::UTF_16BE).then_some(encoding)
}

/// A rendered page: its `<title>` and its text items.
pub(crate) struct Page {
    pub(crate) title: Option<String>,
    pub(crate) items: Vec<Item>,
}

impl Page {
    /// The page as plain text: headings and blocks separated by blank lines.
    pub(crate) fn text(&self) -> String {
        self.items
            .iter()
            .map(|i| match i {
                Item::Heading(_, t) | Item::Block(t) => t.as_str(),
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

struct Renderer {
    items: Vec<Item>,
    block: String,
    heading: Option<(u8, String)>,
    title: Option<String>,
    in_title: bool,
    pre_depth: usize,
    /// Open table cells: block elements inside a cell do not break its row.
    cell_depth: usize,
}

/// Render an HTML document to text items.
pub(crate) fn render(html: &str) -> Result<Page, ParseError> {
    check_nesting(html)?;
    let document = Html::parse_document(html);
    let has_main = document
        .tree
        .root()
        .descendants()
        .any(|n| matches!(n.value(), Node::Element(e) if e.name() == "main" || e.attr("role") == Some("main")));
    let mut r =
        Renderer { items: Vec::new(), block: String::new(), heading: None, title: None, in_title: false, pre_depth: 0, cell_depth: 0 };
    let mut skipping: Option<ego_tree::NodeId> = None;
    let mut main_depth = 0usize;
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Element(e) => {
                        let name = e.name();
                        if name == "title" && r.title.is_none() {
                            r.in_title = true;
                            r.title = Some(String::new());
                            continue;
                        }
                        let hidden = e.attr("hidden").is_some()
                            || e.attr("aria-hidden") == Some("true")
                            || e.attr("style").is_some_and(|s| s.replace(' ', "").to_ascii_lowercase().contains("display:none"));
                        if (SKIPPED.contains(&name) && !r.in_title) || hidden {
                            skipping = Some(node.id());
                            continue;
                        }
                        if name == "main" || e.attr("role") == Some("main") {
                            main_depth += 1;
                        }
                        r.open(name);
                    }
                    Node::Text(t) => {
                        if r.in_title {
                            if let Some(title) = r.title.as_mut() {
                                title.push_str(t);
                            }
                        } else if !has_main || main_depth > 0 {
                            r.text(t);
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if let Some(id) = skipping {
                    if id == node.id() {
                        skipping = None;
                    }
                    continue;
                }
                if let Node::Element(e) = node.value() {
                    let name = e.name();
                    if name == "title" && r.in_title {
                        r.in_title = false;
                        continue;
                    }
                    if name == "main" || e.attr("role") == Some("main") {
                        main_depth = main_depth.saturating_sub(1);
                    }
                    r.close(name);
                }
            }
        }
    }
    r.end_block();
    Ok(Page { title: r.title, items: r.items })
}

/// Refuse markup whose block containers nest too deeply, by counting start and end tags before
/// the real parse. Script and style content and comments are skipped; the count is an estimate
/// (unclosed blocks make it high), which is the safe side.
fn check_nesting(html: &str) -> Result<(), ParseError> {
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
        i += offset + 1;
        if bytes[i..].starts_with(b"!--") {
            i = find(bytes, i, b"-->").unwrap_or(bytes.len());
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let name_start = i + usize::from(closing);
        let name_len = bytes[name_start..].iter().take(16).take_while(|b| b.is_ascii_alphanumeric()).count();
        let name = html.get(name_start..name_start + name_len).unwrap_or_default().to_ascii_lowercase();
        if !closing && (name == "script" || name == "style") {
            let end_tag = if name == "script" { b"</script".as_slice() } else { b"</style".as_slice() };
            i = find_ignore_case(bytes, i, end_tag).unwrap_or(bytes.len());
            continue;
        }
        if !NESTING_BLOCKS.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            if depth > MAX_BLOCK_NESTING {
                return Err(ParseError::TooDeep(format!(
                    "the HTML nests block elements (such as <div>) more than {MAX_BLOCK_NESTING} levels deep"
                )));
            }
        }
    }
    Ok(())
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p + needle.len())
}

fn find_ignore_case(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle)).map(|p| from + p + needle.len())
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

impl Renderer {
    fn open(&mut self, name: &str) {
        if let Some(level) = heading_level(name).filter(|_| self.cell_depth == 0) {
            self.end_block();
            self.heading = Some((level, String::new()));
            return;
        }
        match name {
            "br" => self.push_raw(if self.cell_depth > 0 { " " } else { "\n" }),
            "td" | "th" => {
                let line = self.block.rsplit('\n').next().unwrap_or_default();
                if !line.trim().is_empty() {
                    let kept = self.block.trim_end_matches(' ').len();
                    self.block.truncate(kept);
                    self.push_raw(" | ");
                }
                self.cell_depth += 1;
            }
            "li" | "dt" | "dd" | "tr" if self.cell_depth == 0 => self.line_break(),
            "pre" => {
                self.block_boundary();
                self.pre_depth += 1;
            }
            _ if name == "table" || BLOCKS.contains(&name) => self.block_boundary(),
            _ => {}
        }
    }

    fn close(&mut self, name: &str) {
        if heading_level(name).is_some()
            && let Some((level, text)) = self.heading.take()
        {
            let title = tidy_title(&text);
            if title.chars().any(char::is_alphanumeric) {
                self.items.push(Item::Heading(level, title));
            }
            return;
        }
        match name {
            "td" | "th" => self.cell_depth = self.cell_depth.saturating_sub(1),
            "tr" | "li" | "dt" | "dd" if self.cell_depth == 0 => self.line_break(),
            "pre" => {
                self.block_boundary();
                self.pre_depth = self.pre_depth.saturating_sub(1);
            }
            _ if name == "table" || BLOCKS.contains(&name) => self.block_boundary(),
            _ => {}
        }
    }

    /// A block starts or ends: a new paragraph, except inside a table cell, where paragraphs
    /// must stay on the row's line.
    fn block_boundary(&mut self) {
        if self.cell_depth > 0 {
            if !self.block.is_empty() && !self.block.ends_with([' ', '\n']) {
                self.block.push(' ');
            }
        } else {
            self.end_block();
        }
    }

    fn text(&mut self, text: &str) {
        if self.pre_depth > 0 && self.heading.is_none() {
            self.push_raw(&text.replace("\r\n", "\n"));
            return;
        }
        let target = match self.heading.as_mut() {
            Some((_, heading)) => heading,
            None => &mut self.block,
        };
        let starts_spaced = text.starts_with(char::is_whitespace);
        let ends_spaced = text.ends_with(char::is_whitespace);
        let mut words = text.split_whitespace().peekable();
        if words.peek().is_none() {
            if !target.is_empty() && !target.ends_with([' ', '\n']) {
                target.push(' ');
            }
            return;
        }
        if starts_spaced && !target.is_empty() && !target.ends_with([' ', '\n']) {
            target.push(' ');
        }
        let mut first = true;
        for word in words {
            if !first {
                target.push(' ');
            }
            target.push_str(word);
            first = false;
        }
        if ends_spaced {
            target.push(' ');
        }
    }

    fn push_raw(&mut self, s: &str) {
        match self.heading.as_mut() {
            Some((_, heading)) => heading.push_str(if s == "\n" { " " } else { s }),
            None => self.block.push_str(s),
        }
    }

    fn line_break(&mut self) {
        if !self.block.is_empty() && !self.block.ends_with('\n') {
            self.block.push('\n');
        }
    }

    fn end_block(&mut self) {
        let block = std::mem::take(&mut self.block);
        let lines: Vec<&str> = if self.pre_depth > 0 {
            block.lines().map(str::trim_end).collect()
        } else {
            block.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
        };
        let text = lines.join("\n").trim_matches('\n').to_string();
        if text.chars().any(char::is_alphanumeric) {
            self.items.push(Item::Block(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html><head><title>Staff portal</title><style>p{color:red}</style><script>var hidden = "no";</script></head>
<body><nav><a href="/">Home</a> | <a href="/hr">HR</a></nav>
<h1>Benefits</h1><p>Intro   text
 spread over lines.</p>
<h2>Pension</h2><p>The employer adds <b>5%</b> of salary.</p><ul><li>One</li><li>Two</li></ul>
<table><tr><th>Plan</th><th>Rate</th></tr><tr><td><p>Basic</p><p>plan</p></td><td>3%</td></tr></table>
<div hidden>secret</div><pre>line 1
  line 2</pre></body></html>"#;

    #[test]
    fn main_text_headings_and_tables() {
        let doc = parse(PAGE.as_bytes(), "file", &mut Budget::new()).unwrap();
        let s = &doc.sections;
        assert_eq!(s[0].location.heading.as_deref(), Some("Benefits"));
        assert_eq!(s[0].text, "Benefits\n\nIntro text spread over lines.");
        assert_eq!(s[1].location.heading.as_deref(), Some("Benefits > Pension"));
        assert_eq!(s[1].text, "Pension\n\nThe employer adds 5% of salary.\n\nOne\nTwo\n\nPlan | Rate\nBasic plan | 3%\n\nline 1\n  line 2");
        let all: String = s.iter().map(|s| s.text.as_str()).collect();
        assert!(!all.contains("Home") && !all.contains("hidden") && !all.contains("secret") && !all.contains("color"));
    }

    #[test]
    fn main_element_wins() {
        let page = render("<body><header>Site chrome</header><main><p>Real content</p></main><footer>(c) 2024</footer></body>").unwrap();
        assert_eq!(page.items, [Item::Block("Real content".into())]);
    }

    #[test]
    fn meta_charset_is_used() {
        let mut bytes = b"<html><head><meta charset=\"windows-1252\"></head><body><p>caf".to_vec();
        bytes.push(0xE9);
        bytes.extend_from_slice(b"</p></body></html>");
        let (text, enc) = decode(&bytes).unwrap();
        assert!(text.contains("café"));
        assert_eq!(enc, Some("windows-1252"));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let html = "<div>".repeat(200_000) + "deep words";
        let err = render(&html).err().unwrap();
        assert_eq!(err.to_string(), "nested too deeply: the HTML nests block elements (such as <div>) more than 1000 levels deep");
        // Closed blocks, and tags inside scripts and comments, do not count.
        let fine = "<div></div>".repeat(5_000) + "<script>" + &"<div>".repeat(5_000) + "</script><!--" + &"<div>".repeat(5_000) + "-->ok";
        assert_eq!(render(&fine).unwrap().text(), "ok");
        // Deeply nested inline elements are cheap to build and fine.
        assert_eq!(render(&("<b>".repeat(50_000) + "bold")).unwrap().text(), "bold");
    }

    #[test]
    fn binary_is_not_html() {
        assert_eq!(parse(b"\0\0\0\x01binary", "x", &mut Budget::new()).unwrap_err(), ParseError::Binary(None));
    }
}
