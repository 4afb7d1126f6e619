//! What parsing asks of OCR, as traits the engine implements: [`Recognize`] reads the text of a
//! page image, [`RenderPage`] turns a page of a PDF into one. Both travel together in [`Ocr`].
//!
//! Key design decision: parsing does no I/O and starts no process, so the tools that need them
//! (Tesseract, poppler's `pdftoppm`, an OCR cache on disk) are behind these traits, and their
//! failures come back as a typed [`PageError`] that says whether the next page is worth trying.

/// A page to read by OCR: 8-bit grey pixels, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
    /// The resolution it was rendered or scanned at, when known.
    pub dpi: u32,
}

/// What OCR read on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognized {
    pub text: String,
    /// Mean confidence, 0–100.
    pub confidence: u8,
}

/// Why a page could not be rendered or read. The text is what the user sees (in the file's
/// warnings, or as its reason when nothing else in it has text), so it says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// It cannot be done here at all: a program, library or language model is missing or does
    /// not start. Every other page would fail alike, so they are not tried; the message names
    /// what to install.
    #[error("{0}")]
    Unavailable(String),
    /// This page failed; the next one may not.
    #[error("{0}")]
    Failed(String),
}

/// Reads text in page images: the engine's OCR (Tesseract, with its cache). Parsing itself
/// knows nothing of Tesseract.
pub trait Recognize {
    /// The text of one page.
    fn recognize(&mut self, page: &PageImage) -> Result<Recognized, PageError>;
    /// Called after each page read by OCR: `done` of `pages`.
    fn progress(&mut self, _done: usize, _pages: usize) {}
}

/// Renders a page of a PDF as an image, for OCR of a page without a text layer: the engine's
/// (poppler's `pdftoppm`). Parsing reads PDFs' text itself but draws no pages.
pub trait RenderPage {
    /// Page `page` (1-based) of the PDF `pdf` as grey pixels at `dpi`.
    fn render_page(&mut self, pdf: &[u8], page: u32, dpi: u32) -> Result<PageImage, PageError>;
}

/// OCR for [`parse_with`](crate::parse_with): what reads images and scanned PDF pages.
pub struct Ocr<'a> {
    pub recognize: &'a mut dyn Recognize,
    pub render: &'a mut dyn RenderPage,
}

/// A list of page numbers for a message: "2, 5, 9", the first ten and "..." past ten.
pub(crate) fn page_list(pages: &[u32]) -> String {
    let list: Vec<String> = pages.iter().take(10).map(u32::to_string).collect();
    format!("{}{}", list.join(", "), if pages.len() > 10 { ", ..." } else { "" })
}

/// Stand-ins for the engine's OCR in unit tests.
#[cfg(test)]
pub(crate) mod fakes {
    use super::*;

    /// Reads `text` on every page, or fails with `error`; remembers the progress it was told.
    #[derive(Default)]
    pub(crate) struct Reader {
        pub(crate) text: &'static str,
        pub(crate) error: Option<PageError>,
        pub(crate) progress: Vec<(usize, usize)>,
    }

    impl Recognize for Reader {
        fn recognize(&mut self, _page: &PageImage) -> Result<Recognized, PageError> {
            match &self.error {
                Some(e) => Err(e.clone()),
                None => Ok(Recognized { text: self.text.to_string(), confidence: 91 }),
            }
        }

        fn progress(&mut self, done: usize, pages: usize) {
            self.progress.push((done, pages));
        }
    }

    /// Renders pages as blank images, failing a page where `fail` says so; remembers what it
    /// was asked for, as (page, dpi).
    pub(crate) struct Renderer {
        pub(crate) fail: fn(u32) -> Option<PageError>,
        pub(crate) rendered: Vec<(u32, u32)>,
    }

    impl Default for Renderer {
        fn default() -> Self {
            Renderer { fail: |_| None, rendered: Vec::new() }
        }
    }

    impl RenderPage for Renderer {
        fn render_page(&mut self, _pdf: &[u8], page: u32, dpi: u32) -> Result<PageImage, PageError> {
            self.rendered.push((page, dpi));
            match (self.fail)(page) {
                Some(e) => Err(e),
                None => Ok(PageImage { width: 8, height: 8, pixels: vec![255; 64], dpi }),
            }
        }
    }
}
