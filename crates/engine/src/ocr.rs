//! OCR for the parsers: Tesseract (see `brain-ocr`), loaded on the first page that needs it,
//! with every page's result cached by the page's pixels.
//!
//! The cache key is a hash of the page image (and of how pages are read,
//! `brain_ocr::READING_VERSION`), not of the file: a renamed or copied scan, or a
//! PDF of which one page changed, is never read by OCR again for the pages that did not change.
//! It lives in `ocr-cache/` in the data dir, one small JSON file per page.
//!
//! Scanned PDF pages are drawn for it by [`Pdftoppm`](crate::pdf_render::Pdftoppm); the parse
//! worker gives the parser both as one [`brain_parse::Ocr`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use brain_ocr::{OcrError, Tesseract};
use brain_parse::{PageError, PageImage, Recognize, Recognized};
use serde::{Deserialize, Serialize};

/// What the OCR of one file needs: where the cache is, which languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OcrConfig {
    pub cache_dir: Option<PathBuf>,
    pub languages: Vec<String>,
}

/// One page read (or found in the cache), for progress and figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PageRead {
    pub done: usize,
    pub pages: usize,
    /// Time OCR took for it (0 when cached).
    pub ms: u64,
    /// Found in the cache: not read again.
    pub cached: bool,
}

#[derive(Serialize, Deserialize)]
struct Cached {
    text: String,
    confidence: u8,
}

/// Tesseract as a worker keeps it between files: not loaded yet, loaded, or why it cannot be.
pub(crate) type TesseractSlot = Option<Result<Tesseract, OcrError>>;

/// The parsers' [`Recognize`]: the cache first, then Tesseract.
pub(crate) struct EngineOcr<'a> {
    config: OcrConfig,
    tesseract: &'a mut TesseractSlot,
    on_page: &'a mut dyn FnMut(PageRead),
    last_ms: u64,
    last_cached: bool,
}

impl<'a> EngineOcr<'a> {
    /// `tesseract` is the slot the engine keeps between files (a worker keeps one engine).
    pub(crate) fn new(config: OcrConfig, tesseract: &'a mut TesseractSlot, on_page: &'a mut dyn FnMut(PageRead)) -> Self {
        EngineOcr { config, tesseract, on_page, last_ms: 0, last_cached: false }
    }

    fn cache_file(&self, page: &PageImage) -> Option<PathBuf> {
        let dir = self.config.cache_dir.as_ref()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&brain_ocr::READING_VERSION.to_le_bytes());
        hasher.update(&page.width.to_le_bytes()).update(&page.height.to_le_bytes()).update(self.config.languages.join("+").as_bytes());
        hasher.update(&page.pixels);
        let key = hasher.finalize().to_hex();
        Some(dir.join(&key[..2]).join(format!("{key}.json")))
    }

    fn engine(&mut self) -> Result<&mut Tesseract, OcrError> {
        let languages = self.config.languages.clone();
        let slot = self.tesseract.get_or_insert_with(|| Tesseract::load(&languages));
        if let Ok(t) = slot
            && t.languages() != languages.join("+")
            && !languages.is_empty()
        {
            *slot = Tesseract::load(&languages);
        }
        slot.as_mut().map_err(|e| e.clone())
    }
}

/// Tesseract's error as the parser's: when Tesseract or a language is missing, no page can be
/// read, and the parser stops asking.
fn page_error(e: OcrError) -> PageError {
    if e.is_unavailable() { PageError::Unavailable(e.to_string()) } else { PageError::Failed(e.to_string()) }
}

impl Recognize for EngineOcr<'_> {
    fn recognize(&mut self, page: &PageImage) -> Result<Recognized, PageError> {
        let cache = self.cache_file(page);
        if let Some(hit) = cache.as_ref().and_then(|f| std::fs::read(f).ok()).and_then(|b| serde_json::from_slice::<Cached>(&b).ok()) {
            self.last_ms = 0;
            self.last_cached = true;
            return Ok(Recognized { text: hit.text, confidence: hit.confidence });
        }
        self.last_cached = false;
        let started = Instant::now();
        let read = self.engine().and_then(|t| t.read_page(&page.pixels, page.width, page.height, page.dpi)).map_err(page_error)?;
        self.last_ms = started.elapsed().as_millis() as u64;
        if let Some(file) = cache {
            store(&file, &Cached { text: read.text.clone(), confidence: read.confidence });
        }
        Ok(Recognized { text: read.text, confidence: read.confidence })
    }

    fn progress(&mut self, done: usize, pages: usize) {
        (self.on_page)(PageRead { done, pages, ms: self.last_ms, cached: self.last_cached });
    }
}

fn store(file: &Path, page: &Cached) {
    // Only a cache: a failed write costs a second OCR next time, nothing more.
    if let (Some(dir), Ok(bytes)) = (file.parent(), serde_json::to_vec(page)) {
        let _ = std::fs::create_dir_all(dir).and_then(|_| {
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(tmp, file)
        });
    }
}

/// The languages to read: the settings', else English and the system's language when installed.
pub(crate) fn languages(setting: &[String]) -> Vec<String> {
    if setting.is_empty() { brain_ocr::default_languages() } else { setting.to_vec() }
}

/// OCR as `status` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct OcrStatus {
    /// Tesseract can be loaded.
    pub available: bool,
    /// Why not, with the package to install.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub problem: Option<String>,
    /// Languages whose models are installed.
    pub installed: Vec<String>,
    /// Languages scanned files are read in.
    pub languages: Vec<String>,
}

pub(crate) fn status(setting: &[String]) -> OcrStatus {
    let installed = brain_ocr::installed_languages();
    let languages = languages(setting);
    match brain_ocr::available() {
        Ok(()) => {
            let missing: Vec<&String> = languages.iter().filter(|l| !installed.contains(l)).collect();
            let problem = (!missing.is_empty()).then(|| {
                let names: Vec<String> = missing.iter().map(|l| format!("tesseract-ocr-{l}")).collect();
                format!(
                    "the OCR language(s) {} are not installed (install {})",
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                    names.join(", ")
                )
            });
            OcrStatus { available: true, problem, installed, languages }
        }
        Err(e) => OcrStatus { available: false, problem: Some(e.to_string()), installed, languages },
    }
}
