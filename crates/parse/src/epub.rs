//! EPUB: one section per chapter in reading (spine) order, cited by the chapter's title.
//!
//! Titles come from the book's own table of contents (the EPUB 3 nav document, else the EPUB 2
//! NCX), else the chapter's first heading, else its file name: the name a reader would look for.
//! Chapters are XHTML and go through the HTML renderer, which tolerates the many books whose
//! XHTML is not well-formed.

use std::collections::{HashMap, HashSet};

use crate::html::{Item, render};
use crate::limits::Budget;
use crate::ooxml::resolve;
use crate::xml::{Node, Walker};
use crate::zipped::{Package, invalid};
use crate::{Format, Location, ParseError, ParsedDocument, Section};

const FORMAT: &str = Format::Epub.label();

struct ManifestItem {
    href: String,
    media_type: String,
    properties: String,
}

pub(crate) fn parse(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let mut package = Package::open(bytes, FORMAT)?;
    let container = package.require_text("META-INF/container.xml", budget)?;
    let opf_path = rootfile(&container)?;
    let opf = package.require_text(&opf_path, budget)?;
    let (manifest, spine, ncx_id) = read_opf(&opf, &opf_path)?;
    check_drm(&mut package, &spine, &manifest, budget)?;

    // Table of contents: chapter part name -> title (the first entry pointing into it).
    let mut toc: HashMap<String, String> = HashMap::new();
    let nav = manifest.values().find(|m| m.properties.split_whitespace().any(|p| p == "nav"));
    let ncx = ncx_id.as_deref().and_then(|id| manifest.get(id));
    for source in [nav, ncx].into_iter().flatten() {
        if !toc.is_empty() {
            break;
        }
        if let Some(xml) = package.read_text(&source.href, budget)? {
            // A broken table of contents costs titles, not the book.
            if let Ok(entries) = toc_entries(&xml, &source.href) {
                for (part, title) in entries {
                    toc.entry(part).or_insert(title);
                }
            }
        }
    }

    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    for idref in &spine {
        let Some(item) = manifest.get(idref) else {
            warnings.push(format!("spine entry {idref} is not in the manifest"));
            continue;
        };
        if !(item.media_type.contains("html") || item.media_type.contains("xml")) {
            continue;
        }
        let Some(bytes) = package.read(&item.href, budget)? else {
            warnings.push(format!("chapter {} is missing", item.href));
            continue;
        };
        let (html, _) = match crate::html::decode(&bytes) {
            Ok(decoded) => decoded,
            Err(e) => {
                warnings.push(format!("chapter {} unreadable: {e}", item.href));
                continue;
            }
        };
        let page = match render(&html) {
            Ok(page) => page,
            Err(e) => {
                warnings.push(format!("chapter {} unreadable: {e}", item.href));
                continue;
            }
        };
        let text = page.text();
        if !text.chars().any(char::is_alphanumeric) {
            continue;
        }
        budget.text(text.len())?;
        let first_heading = page.items.iter().find_map(|i| match i {
            Item::Heading(_, t) => Some(t.clone()),
            Item::Block(_) => None,
        });
        let title = toc
            .get(&item.href)
            .cloned()
            .or(first_heading)
            .or_else(|| page.title.clone().filter(|t| !t.trim().is_empty()))
            .unwrap_or_else(|| file_stem(&item.href));
        let title = crate::outline::tidy_title(&title);
        sections.push(Section {
            text,
            location: Location { section: Some(title.clone()), ..Default::default() },
            first_line: None,
            context: Some(title),
        });
    }
    Ok(ParsedDocument { format: Format::Epub, sections, warnings, tables: Vec::new() })
}

/// The OPF package document's path, from META-INF/container.xml.
fn rootfile(container: &str) -> Result<String, ParseError> {
    let mut walker = Walker::new(container, FORMAT, "META-INF/container.xml");
    while let Some(node) = walker.next()? {
        if let Node::Open(tag) = node
            && tag.name() == "rootfile"
            && let Some(path) = tag.attr("full-path")
        {
            return Ok(resolve("", &path));
        }
    }
    Err(invalid(FORMAT, "META-INF/container.xml names no package document".into()))
}

type Manifest = HashMap<String, ManifestItem>;

/// The manifest (id -> item, hrefs resolved to part names), the spine's idrefs, the NCX's id.
fn read_opf(opf: &str, opf_path: &str) -> Result<(Manifest, Vec<String>, Option<String>), ParseError> {
    let mut walker = Walker::new(opf, FORMAT, opf_path);
    let mut manifest = HashMap::new();
    let mut spine = Vec::new();
    let mut ncx = None;
    while let Some(node) = walker.next()? {
        let Node::Open(tag) = node else { continue };
        match tag.name() {
            "item" => {
                if let (Some(id), Some(href)) = (tag.attr("id"), tag.attr("href")) {
                    manifest.insert(
                        id,
                        ManifestItem {
                            href: resolve(opf_path, &href),
                            media_type: tag.attr("media-type").unwrap_or_default(),
                            properties: tag.attr("properties").unwrap_or_default(),
                        },
                    );
                }
            }
            "spine" => ncx = tag.attr("toc"),
            "itemref" => {
                if let Some(idref) = tag.attr("idref") {
                    spine.push(idref);
                }
            }
            _ => {}
        }
    }
    if spine.is_empty() {
        return Err(invalid(FORMAT, format!("{opf_path} lists no chapters (empty spine)")));
    }
    Ok((manifest, spine, ncx))
}

/// DRM-protected books list their chapters in META-INF/encryption.xml. Fonts listed there are
/// only obfuscated (a standard trick to stop font copying) and do not stop reading.
fn check_drm(package: &mut Package, spine: &[String], manifest: &Manifest, budget: &mut Budget) -> Result<(), ParseError> {
    let Some(xml) = package.read_text("META-INF/encryption.xml", budget)? else {
        return Ok(());
    };
    let chapters: HashSet<&str> = spine.iter().filter_map(|id| manifest.get(id)).map(|m| m.href.as_str()).collect();
    let mut walker = Walker::new(&xml, FORMAT, "META-INF/encryption.xml");
    while let Some(node) = walker.next()? {
        if let Node::Open(tag) = node
            && tag.name() == "CipherReference"
            && let Some(uri) = tag.attr("URI")
            && chapters.contains(resolve("", &uri).as_str())
        {
            return Err(ParseError::Encrypted(FORMAT));
        }
    }
    Ok(())
}

/// (part name, title) pairs from a nav document (`<a href>` in `<nav>`) or an NCX
/// (`navLabel/text` + `content src`), in document order.
fn toc_entries(xml: &str, part: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut walker = Walker::new(xml, FORMAT, part);
    let mut out = Vec::new();
    let mut label: Option<String> = None;
    while let Some(node) = walker.next()? {
        let Node::Open(tag) = node else { continue };
        match tag.name() {
            // NCX: the label comes before its content element.
            "text" if walker.inside("navLabel") => label = Some(walker.text_of_current()?),
            "content" => {
                if let (Some(src), Some(title)) = (tag.attr("src"), label.take()) {
                    push_entry(&mut out, part, &src, &title);
                }
            }
            "a" if walker.inside("nav") => {
                let href = tag.attr("href");
                let title = walker.text_of_current()?;
                if let Some(href) = href {
                    push_entry(&mut out, part, &href, &title);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn push_entry(out: &mut Vec<(String, String)>, base: &str, href: &str, title: &str) {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if !title.is_empty() {
        out.push((resolve(base, href), title));
    }
}

fn file_stem(part: &str) -> String {
    let name = part.rsplit('/').next().unwrap_or(part);
    name.rsplit_once('.').map_or(name, |(stem, _)| stem).to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::zipped::tests::zip_of;

    fn chapter(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head><body>{body}</body></html>"#
        )
    }

    /// A two-chapter EPUB 3 whose spine lists ch2 before ch1, with a nav table of contents.
    pub(crate) fn epub_bytes(encryption: Option<&str>) -> Vec<u8> {
        let container = r#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;
        let opf = r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="text/ch1.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="text/ch2.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c2"/><itemref idref="c1"/></spine></package>"#;
        let nav = chapter(
            r#"<nav epub:type="toc" xmlns:epub="http://www.idpf.org/2007/ops"><ol><li><a href="text/ch1.xhtml">The Harbour</a></li><li><a href="text/ch2.xhtml#start">Before the Storm</a></li></ol></nav>"#,
        );
        let ch1 = chapter("<p>The lighthouse keeper counted seven ships.</p>");
        let ch2 = chapter("<h1>Prologue heading</h1><p>Clouds gathered over the bay.</p>");
        let mut entries: Vec<(&str, &[u8])> = vec![
            ("mimetype", b"application/epub+zip"),
            ("META-INF/container.xml", container.as_bytes()),
            ("OEBPS/content.opf", opf.as_bytes()),
            ("OEBPS/nav.xhtml", nav.as_bytes()),
            ("OEBPS/text/ch1.xhtml", ch1.as_bytes()),
            ("OEBPS/text/ch2.xhtml", ch2.as_bytes()),
        ];
        if let Some(enc) = encryption {
            entries.push(("META-INF/encryption.xml", enc.as_bytes()));
        }
        zip_of(&entries)
    }

    #[test]
    fn chapters_in_spine_order_titled_from_the_toc() {
        let doc = parse(&epub_bytes(None), &mut Budget::new()).unwrap();
        let got: Vec<_> = doc.sections.iter().map(|s| s.location.section.clone().unwrap_or_default()).collect();
        assert_eq!(got, ["Before the Storm", "The Harbour"]);
        assert!(doc.sections[1].text.contains("seven ships"));
    }

    #[test]
    fn drm_is_encrypted_but_font_obfuscation_is_not() {
        let drm = r#"<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData><enc:CipherReference URI="OEBPS/text/ch1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>"#;
        assert_eq!(parse(&epub_bytes(Some(drm)), &mut Budget::new()).unwrap_err(), ParseError::Encrypted("EPUB"));
        let fonts = drm.replace("text/ch1.xhtml", "fonts/a.otf");
        assert!(parse(&epub_bytes(Some(&fonts)), &mut Budget::new()).is_ok());
    }

    #[test]
    fn missing_container_is_named() {
        let bytes = zip_of(&[("mimetype", b"application/epub+zip")]);
        assert_eq!(parse(&bytes, &mut Budget::new()).unwrap_err().to_string(), "not a valid EPUB: missing META-INF/container.xml");
    }
}
