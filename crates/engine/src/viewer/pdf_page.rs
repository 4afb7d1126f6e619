//! A PDF page as the viewer shows it: drawn to a PNG by poppler's `pdftoppm`, its words and their
//! boxes from poppler's `pdftotext -bbox-layout`, or, on a scanned page (no text layer), from
//! Tesseract's `tesseract … tsv` over the page drawn at 300 dpi.
//!
//! Drawn on the Rust side, not by pdf.js in the web view: the page is an image by the time it
//! reaches the window, so no font, script or form of a hostile PDF is ever interpreted where the
//! app's IPC lives, and the same poppler that draws scanned pages for OCR draws these (no new
//! dependency, no 3 MB of JavaScript). Each tool is its own process with a time limit and an
//! output cap: a PDF that hangs or crashes poppler costs this page, not the app.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::MarkBox;

/// The longest side of a page as shown, in pixels: sharp in a panel and in an enlarged one.
const PAGE_PIXELS: u32 = 1400;
/// Resolution of a scanned page read for its words' boxes (what indexing reads it at).
const OCR_DPI: u32 = 300;
/// How long one tool may run on one page.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);
/// The most output read from a tool (a page drawn at 300 dpi in grey is ~9 MB).
const MAX_OUTPUT: usize = 64 << 20;

/// A word on the page and its box, as fractions of the page's width and height.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageWord {
    pub text: String,
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

/// Run `program` with `args` (and `input` on its standard input), its output, or why not.
fn run(program: &str, args: &[&OsStr], input: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    let mut child = Command::new(program)
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                let package = if program == "tesseract" { "tesseract-ocr" } else { "poppler-utils" };
                format!("showing PDF pages needs {program} (install the Debian package {package})")
            }
            _ => format!("cannot start {program}: {e}"),
        })?;
    let writer = input.and_then(|bytes| {
        let mut stdin = child.stdin.take()?;
        Some(std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        }))
    });
    // What the tool says when it fails ("Incorrect password"): its first line, read bounded.
    let mut stderr = child.stderr.take().expect("piped");
    let complaint = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stderr).take(4096).read_to_end(&mut out);
        String::from_utf8_lossy(&out).lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_string()
    });
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(MAX_OUTPUT as u64 + 1).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} took longer than {} s on this page; stopped", TOOL_TIMEOUT.as_secs()));
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let complaint = complaint.join().unwrap_or_default();
    if !status.success() {
        return Err(match complaint.is_empty() {
            true => format!("{program} could not read this file ({status})"),
            false => format!("{program} could not read this file: {complaint}"),
        });
    }
    if out.len() > MAX_OUTPUT {
        return Err(format!("{program} wrote more than {} MB for this page", MAX_OUTPUT >> 20));
    }
    Ok(out)
}

/// How many pages the PDF has (`pdfinfo`).
pub(crate) fn page_count(pdf: &Path) -> Result<u32, String> {
    let info = run("pdfinfo", &[pdf.as_os_str()], None)?;
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()))
        .ok_or_else(|| "the PDF's page count could not be read".to_string())
}

/// The page drawn as a PNG, its longest side [`PAGE_PIXELS`], and its width and height.
pub(crate) fn draw(pdf: &Path, page: u32) -> Result<(Vec<u8>, u32, u32), String> {
    let (n, size) = (page.to_string(), PAGE_PIXELS.to_string());
    let png = run(
        "pdftoppm",
        &[
            OsStr::new("-png"),
            "-f".as_ref(),
            n.as_ref(),
            "-l".as_ref(),
            n.as_ref(),
            "-scale-to".as_ref(),
            size.as_ref(),
            "-singlefile".as_ref(),
            pdf.as_os_str(),
        ],
        None,
    )?;
    let (width, height) = png_size(&png).ok_or_else(|| "pdftoppm drew no image of this page".to_string())?;
    Ok((png, width, height))
}

/// A PNG's width and height, from its header.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || !png.starts_with(b"\x89PNG\r\n\x1a\n") || &png[12..16] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(png[20..24].try_into().ok()?);
    (width > 0 && height > 0).then_some((width, height))
}

/// The page's words from its text layer, in reading order (none on a scanned page).
pub(crate) fn text_layer_words(pdf: &Path, page: u32) -> Result<Vec<PageWord>, String> {
    let n = page.to_string();
    let html = run(
        "pdftotext",
        &[OsStr::new("-bbox-layout"), "-f".as_ref(), n.as_ref(), "-l".as_ref(), n.as_ref(), pdf.as_os_str(), "-".as_ref()],
        None,
    )?;
    Ok(bbox_words(&String::from_utf8_lossy(&html)))
}

/// The words of `pdftotext -bbox-layout`'s XHTML: `<page width= height=>` then
/// `<word xMin= yMin= xMax= yMax=>text</word>` in reading order. Read by hand: the format is
/// poppler's own, flat and fixed, and the engine has no XML reader of its own to reach for.
fn bbox_words(html: &str) -> Vec<PageWord> {
    let attribute = |tag: &str, name: &str| -> Option<f32> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        tag[at..].split('"').next()?.parse().ok()
    };
    let Some(page_at) = html.find("<page ") else { return Vec::new() };
    let page_tag = &html[page_at..page_at + html[page_at..].find('>').unwrap_or(0)];
    let (Some(width), Some(height)) = (attribute(page_tag, "width"), attribute(page_tag, "height")) else { return Vec::new() };
    if width <= 0.0 || height <= 0.0 {
        return Vec::new();
    }
    let mut words = Vec::new();
    let mut rest = &html[page_at..];
    while let Some(start) = rest.find("<word ") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let Some(close) = rest.find("</word>") else { break };
        let (tag, text) = (&rest[..tag_end], &rest[tag_end + 1..close.max(tag_end + 1)]);
        if let (Some(x0), Some(y0), Some(x1), Some(y1)) =
            (attribute(tag, "xMin"), attribute(tag, "yMin"), attribute(tag, "xMax"), attribute(tag, "yMax"))
        {
            words.push(PageWord { text: unescape(text), left: x0 / width, top: y0 / height, right: x1 / width, bottom: y1 / height });
        }
        rest = &rest[close + "</word>".len()..];
    }
    words
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The words of a scanned page: drawn in grey at [`OCR_DPI`] and read by Tesseract in
/// `languages`, in reading order.
pub(crate) fn scanned_words(pdf: &Path, page: u32, languages: &[String]) -> Result<Vec<PageWord>, String> {
    let (n, dpi) = (page.to_string(), OCR_DPI.to_string());
    let image = run(
        "pdftoppm",
        &[
            OsStr::new("-gray"),
            "-r".as_ref(),
            dpi.as_ref(),
            "-f".as_ref(),
            n.as_ref(),
            "-l".as_ref(),
            n.as_ref(),
            "-singlefile".as_ref(),
            pdf.as_os_str(),
        ],
        None,
    )?;
    // The greymap as OCR reads it (pdf_render's reader): its size scales the word boxes.
    let (width, height) = crate::pdf_render::parse_pgm(&image, OCR_DPI)
        .map(|drawn| (drawn.width, drawn.height))
        .ok_or_else(|| "pdftoppm drew no image of this page".to_string())?;
    let languages = if languages.is_empty() { "eng".to_string() } else { languages.join("+") };
    let tsv = run(
        "tesseract",
        &[
            OsStr::new("stdin"),
            "stdout".as_ref(),
            "-l".as_ref(),
            languages.as_ref(),
            "--dpi".as_ref(),
            dpi.as_ref(),
            "--psm".as_ref(),
            "3".as_ref(),
            "tsv".as_ref(),
        ],
        Some(image),
    )?;
    let (w, h) = (width as f32, height as f32);
    Ok(brain_ocr::words_of_tsv(&String::from_utf8_lossy(&tsv))
        .into_iter()
        .map(|word| PageWord {
            left: word.left as f32 / w,
            top: word.top as f32 / h,
            right: (word.left + word.width) as f32 / w,
            bottom: (word.top + word.height) as f32 / h,
            text: word.text,
        })
        .collect())
}

/// The words in the order of the page's lines, top to bottom and left to right, whatever their
/// flow: a table's row label and its figures, which poppler reads as separate columns, side by
/// side as the reader sees them.
pub(crate) fn by_lines(words: &[PageWord]) -> Vec<PageWord> {
    let mut sorted: Vec<&PageWord> = words.iter().collect();
    sorted.sort_by(|a, b| a.top.total_cmp(&b.top));
    let mut lines: Vec<Vec<&PageWord>> = Vec::new();
    for word in sorted {
        let middle = (word.top + word.bottom) / 2.0;
        match lines.last_mut() {
            Some(line) if line.iter().any(|w| middle > w.top && middle < w.bottom) => line.push(word),
            _ => lines.push(vec![word]),
        }
    }
    lines
        .into_iter()
        .flat_map(|mut line| {
            line.sort_by(|a, b| a.left.total_cmp(&b.left));
            line.into_iter().cloned()
        })
        .collect()
}

/// The boxes to draw over `words[range]`: one per line of the page (words side by side at the
/// same height), so that the highlight reads like a marker's strokes, not one box per word.
pub(crate) fn line_boxes(words: &[PageWord], range: std::ops::RangeInclusive<usize>) -> Vec<MarkBox> {
    let mut boxes: Vec<MarkBox> = Vec::new();
    for word in &words[range] {
        let middle = (word.top + word.bottom) / 2.0;
        match boxes.last_mut() {
            Some(last) if middle > last.top && middle < last.top + last.height && word.left >= last.left => {
                let right = (last.left + last.width).max(word.right);
                let bottom = (last.top + last.height).max(word.bottom);
                last.top = last.top.min(word.top);
                last.width = right - last.left;
                last.height = bottom - last.top;
            }
            _ => boxes.push(MarkBox { left: word.left, top: word.top, width: word.right - word.left, height: word.bottom - word.top }),
        }
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poppler_words_are_read_with_their_boxes_as_fractions_of_the_page() {
        let html = r#"<doc><page width="600.000000" height="800.000000"><flow><block><line>
            <word xMin="60.0" yMin="80.0" xMax="120.0" yMax="96.0">R&amp;D</word>
            <word xMin="130.0" yMin="80.0" xMax="150.0" yMax="96.0">&lt;5%</word>
            <word xMin="bad" yMin="80.0" xMax="150.0" yMax="96.0">skipped</word>
            </line></block></flow></page></doc>"#;
        let words = bbox_words(html);
        assert_eq!(words.len(), 2);
        assert_eq!(words[0], PageWord { text: "R&D".into(), left: 0.1, top: 0.1, right: 0.2, bottom: 0.12 });
        assert_eq!(words[1].text, "<5%");
        assert!(bbox_words("<doc></doc>").is_empty());
        assert!(bbox_words(r#"<page width="0" height="0"><word xMin="1" yMin="1" xMax="2" yMax="2">x</word>"#).is_empty());
    }

    #[test]
    fn words_on_one_line_make_one_box_and_a_new_line_a_new_one() {
        let word = |left: f32, top: f32| PageWord { text: "w".into(), left, top, right: left + 0.1, bottom: top + 0.02 };
        let words = [word(0.1, 0.1), word(0.25, 0.1), word(0.4, 0.101), word(0.1, 0.13), word(0.25, 0.13)];
        let boxes = line_boxes(&words, 0..=4);
        assert_eq!(boxes.len(), 2, "{boxes:?}");
        assert!((boxes[0].left - 0.1).abs() < 1e-6 && (boxes[0].width - 0.4).abs() < 1e-6, "{boxes:?}");
        assert!((boxes[1].top - 0.13).abs() < 1e-6 && (boxes[1].width - 0.25).abs() < 1e-6, "{boxes:?}");
        assert_eq!(line_boxes(&words, 1..=1).len(), 1);
    }

    #[test]
    fn a_tables_columns_are_read_back_into_rows() {
        let word = |text: &str, left: f32, top: f32| PageWord { text: text.into(), left, top, right: left + 0.05, bottom: top + 0.012 };
        // Poppler's flow: the labels column, then the figures column.
        let flow = [
            word("Net", 0.05, 0.50),
            word("sales", 0.1, 0.50),
            word("Net", 0.05, 0.52),
            word("income", 0.1, 0.52),
            word("82,959", 0.6, 0.5005),
            word("19,442", 0.6, 0.5205),
        ];
        let lines: Vec<String> = by_lines(&flow).into_iter().map(|w| w.text).collect();
        assert_eq!(lines, ["Net", "sales", "82,959", "Net", "income", "19,442"]);
    }

    #[test]
    fn a_png_header_gives_its_size() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&990u32.to_be_bytes());
        png.extend_from_slice(&1400u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((990, 1400)));
        assert_eq!(png_size(b"GIF89a"), None);
    }
}
