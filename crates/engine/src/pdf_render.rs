//! Scanned PDF pages drawn for OCR by poppler's `pdftoppm`: the engine's
//! [`RenderPage`](brain_parse::RenderPage).
//!
//! It lives in the engine because it starts a process, which `brain-parse` never does, and the
//! engine is where processes are started and watched (it runs inside a parse worker, under that
//! worker's time and memory budget). Not in `brain-ocr`: that crate is Tesseract's C API, and
//! drawing a PDF page is poppler's job, needed only for PDFs. A program rather than a library:
//! poppler is GPL, and only pages without text need it (0.12 s a page at 300 dpi).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use brain_parse::{PageError, PageImage, RenderPage};

/// Renders pages with `pdftoppm` (the PDF on its standard input, a binary PGM on its output).
pub(crate) struct Pdftoppm {
    program: PathBuf,
}

impl Default for Pdftoppm {
    fn default() -> Self {
        Pdftoppm { program: PathBuf::from("pdftoppm") }
    }
}

impl RenderPage for Pdftoppm {
    fn render_page(&mut self, pdf: &[u8], page: u32, dpi: u32) -> Result<PageImage, PageError> {
        let (page, resolution) = (page.to_string(), dpi.to_string());
        let mut child = Command::new(&self.program)
            .args(["-r", &resolution, "-gray", "-f", &page, "-l", &page, "-singlefile", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                // Missing or not startable, it fails every page alike.
                PageError::Unavailable(match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        "rendering a scanned page needs pdftoppm (install the Debian package poppler-utils)".to_string()
                    }
                    _ => format!("cannot run pdftoppm: {e}"),
                })
            })?;
        // Written from another thread: pdftoppm may fill its output pipe before it has read all
        // of its input.
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = pdf.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().map_err(|e| PageError::Failed(format!("pdftoppm: {e}")))?;
        // A write error means pdftoppm stopped reading; its exit status says why.
        let _ = writer.join();
        if !output.status.success() {
            return Err(PageError::Failed(format!("pdftoppm could not render the page ({})", output.status)));
        }
        parse_pgm(&output.stdout, dpi).ok_or_else(|| PageError::Failed("pdftoppm gave no image".into()))
    }
}

/// A binary greymap (P5, 8 bits): header "P5 width height maxval", then the pixels.
pub(crate) fn parse_pgm(data: &[u8], dpi: u32) -> Option<PageImage> {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 && at < data.len() {
        while at < data.len() && data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while at < data.len() && !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&data[start..at]).ok()?.to_string());
    }
    if fields.len() < 4 || fields[0] != "P5" || fields[3] != "255" {
        return None;
    }
    let (width, height): (u32, u32) = (fields[1].parse().ok()?, fields[2].parse().ok()?);
    let pixels = data.get(at + 1..at + 1 + width as usize * height as usize)?.to_vec();
    Some(PageImage { width, height, pixels, dpi })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page PDF, 72 × 36 points, written by hand (pdftoppm rebuilds the missing xref).
    const BLANK_PDF: &[u8] = b"%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 72 36] >> endobj
trailer << /Root 1 0 R >>
%%EOF
";

    #[test]
    fn greymaps_are_read() {
        let mut pgm = b"P5\n3 2\n255\n".to_vec();
        pgm.extend([0, 128, 255, 1, 2, 3]);
        let page = parse_pgm(&pgm, 300).unwrap();
        assert_eq!((page.width, page.height, page.pixels.len(), page.dpi), (3, 2, 6, 300));
        assert!(parse_pgm(b"P6\n1 1\n255\nabc", 300).is_none());
        assert!(parse_pgm(b"P5\n9 9\n255\n", 300).is_none(), "too few pixels");
    }

    #[test]
    fn a_page_is_rendered_at_the_resolution_asked() {
        // The project's setup installs poppler-utils; without it this is what users get.
        let missing = Pdftoppm { program: PathBuf::from("/nonexistent/pdftoppm") }.render_page(BLANK_PDF, 1, 100).unwrap_err();
        assert_eq!(
            missing,
            PageError::Unavailable("rendering a scanned page needs pdftoppm (install the Debian package poppler-utils)".into())
        );
        let page = Pdftoppm::default().render_page(BLANK_PDF, 1, 100).expect("pdftoppm (Debian package poppler-utils)");
        // 1 × 0.5 inch at 100 dpi, white.
        assert_eq!((page.width, page.height, page.dpi), (100, 50, 100));
        assert!(page.pixels.iter().all(|&p| p == 255));
        let err = Pdftoppm::default().render_page(BLANK_PDF, 2, 100).unwrap_err();
        assert!(matches!(err, PageError::Failed(_)), "a page past the end fails that page only: {err:?}");
    }
}
