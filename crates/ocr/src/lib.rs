//! `brain-ocr` reads text in images with Tesseract 5, through Tesseract's C API.
//!
//! Key design decisions:
//! - The library (`libtesseract.so.5`, Debian's `libtesseract5`, installed with `tesseract-ocr`)
//!   is loaded at run time, not linked: without Tesseract the program still starts, and only
//!   scanned files fail, with a reason that names the package to install.
//! - The C API, not the `tesseract` command: one engine per worker process is initialised once
//!   (loading a language's model takes a few hundred milliseconds) and then reads page after
//!   page. Measured on a 300 dpi page of a 10-Q filing, 2 cores: the command takes 1.2 s a page,
//!   of which 0.3 s is starting and loading the model again.
//! - Pages are given as 8-bit grey pixels; Tesseract's own threads are limited to one
//!   (`OMP_THREAD_LIMIT`, set by the caller before loading): parallelism comes from several
//!   worker processes, and OpenMP's spinning threads made a page four times slower on a busy
//!   machine.
//! - A page is read with Tesseract's automatic layout (the `tesseract` command's default; the C
//!   API's own default reads a page as one block, which runs the columns of a two-column page
//!   together and drops rows of tables), after its ruling lines are erased ([`rules`]). A page
//!   that had rules (a table, a form) is read a second time as one block, which keeps a table's
//!   rows whole, and the reading with more words Tesseract is sure of wins: nothing is lost to
//!   one layout assumption without the other being tried.
//! - Its `unsafe` code is the library's loading and a handful of C calls, each checked for null
//!   and each with a `SAFETY:` comment; nothing else in this crate is `unsafe`.

// This crate is the bindings to Tesseract's C API: unsafe code is its purpose (see above).
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};

mod rules;

/// Changes whenever the same page would be read differently (a new layout rule, rules erased):
/// a cache of readings keys on it, so that pages are read again the new way.
pub const READING_VERSION: u32 = 2;

/// What reading a page can fail with.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OcrError {
    #[error("OCR is not available: Tesseract is not installed (install the Debian package tesseract-ocr)")]
    NotInstalled,
    #[error("OCR is not available: {0}")]
    Library(String),
    #[error("the OCR language {language} is not installed (install the Debian package tesseract-ocr-{language})")]
    LanguageMissing { language: String },
    #[error("OCR failed: {0}")]
    Failed(String),
}

impl OcrError {
    /// Whether no page can be read at all (Tesseract or a language model is missing or does not
    /// load), rather than this page failing: a caller stops asking.
    pub fn is_unavailable(&self) -> bool {
        match self {
            OcrError::NotInstalled | OcrError::Library(_) | OcrError::LanguageMissing { .. } => true,
            OcrError::Failed(_) => false,
        }
    }
}

/// The text of one page and how sure Tesseract is of it.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrText {
    pub text: String,
    /// Mean word confidence, 0–100.
    pub confidence: u8,
    /// Words read with a confidence of at least [`SURE_WORD`].
    pub sure_words: usize,
}

/// One word Tesseract read, with its box in the image's pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrWord {
    pub text: String,
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    /// 0–100.
    pub confidence: u8,
}

/// A word read with at least this confidence (0–100) counts as read.
pub const SURE_WORD: i32 = 60;

/// Tesseract's page segmentation modes (`TessPageSegMode`) used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `PSM_AUTO`: blocks, columns and lines found on the page.
    Auto = 3,
    /// `PSM_SINGLE_BLOCK`: the page as one block of lines.
    SingleBlock = 6,
}

type Api = *mut c_void;

struct Functions {
    create: unsafe extern "C" fn() -> Api,
    delete: unsafe extern "C" fn(Api),
    init3: unsafe extern "C" fn(Api, *const c_char, *const c_char) -> c_int,
    set_image: unsafe extern "C" fn(Api, *const u8, c_int, c_int, c_int, c_int),
    set_resolution: unsafe extern "C" fn(Api, c_int),
    set_page_seg_mode: unsafe extern "C" fn(Api, c_int),
    all_word_confidences: unsafe extern "C" fn(Api) -> *mut c_int,
    delete_int_array: unsafe extern "C" fn(*const c_int),
    utf8_text: unsafe extern "C" fn(Api) -> *mut c_char,
    mean_conf: unsafe extern "C" fn(Api) -> c_int,
    delete_text: unsafe extern "C" fn(*const c_char),
    clear: unsafe extern "C" fn(Api),
    end: unsafe extern "C" fn(Api),
}

/// The names the library goes by.
const LIBRARIES: &[&str] = &["libtesseract.so.5", "libtesseract.so", "libtesseract.5.dylib", "libtesseract.dylib"];

/// Environment variable naming the Tesseract library to load instead of the system's (a
/// Tesseract built elsewhere; the tests point it at a missing file to check what users without
/// Tesseract see).
pub const LIBRARY_VARIABLE: &str = "BRAIN_TESSERACT_LIBRARY";

fn load_library() -> Result<(libloading::Library, Functions), OcrError> {
    let chosen = std::env::var_os(LIBRARY_VARIABLE).filter(|v| !v.is_empty());
    let names: Vec<std::ffi::OsString> = match chosen {
        Some(path) => vec![path],
        None => LIBRARIES.iter().map(std::ffi::OsString::from).collect(),
    };
    for name in &names {
        // SAFETY: loading Tesseract runs its static initialisers, which have no preconditions.
        if let Ok(lib) = unsafe { libloading::Library::new(name) } {
            // SAFETY: `lib` is a Tesseract library (by its name), whose symbols `functions` looks up
            // with their `capi.h` signatures; they are used only while `lib` stays loaded (both
            // are kept together in `Tesseract`).
            let functions = unsafe { functions(&lib) }.map_err(|e| OcrError::Library(format!("{}: {e}", name.to_string_lossy())))?;
            return Ok((lib, functions));
        }
    }
    Err(OcrError::NotInstalled)
}

/// # Safety
/// `lib` must be Tesseract 5's C library, and the functions must not be called after it is
/// unloaded.
unsafe fn functions(lib: &libloading::Library) -> Result<Functions, libloading::Error> {
    // SAFETY: the signatures are those of Tesseract 5's `capi.h`, which the caller vouches `lib` is.
    unsafe {
        Ok(Functions {
            create: *lib.get(b"TessBaseAPICreate\0")?,
            delete: *lib.get(b"TessBaseAPIDelete\0")?,
            init3: *lib.get(b"TessBaseAPIInit3\0")?,
            set_image: *lib.get(b"TessBaseAPISetImage\0")?,
            set_resolution: *lib.get(b"TessBaseAPISetSourceResolution\0")?,
            set_page_seg_mode: *lib.get(b"TessBaseAPISetPageSegMode\0")?,
            all_word_confidences: *lib.get(b"TessBaseAPIAllWordConfidences\0")?,
            delete_int_array: *lib.get(b"TessDeleteIntArray\0")?,
            utf8_text: *lib.get(b"TessBaseAPIGetUTF8Text\0")?,
            mean_conf: *lib.get(b"TessBaseAPIMeanTextConf\0")?,
            delete_text: *lib.get(b"TessDeleteText\0")?,
            clear: *lib.get(b"TessBaseAPIClear\0")?,
            end: *lib.get(b"TessBaseAPIEnd\0")?,
        })
    }
}

/// Where the language models (`eng.traineddata`, …) are: `TESSDATA_PREFIX`, else Debian's.
pub fn tessdata_dir() -> Option<PathBuf> {
    let candidates = std::env::var_os("TESSDATA_PREFIX").map(PathBuf::from).into_iter().chain(
        [
            "/usr/share/tesseract-ocr/5/tessdata",
            "/usr/share/tesseract-ocr/4.00/tessdata",
            "/usr/share/tessdata",
            "/usr/local/share/tessdata",
        ]
        .map(PathBuf::from),
    );
    candidates.into_iter().find(|d| d.is_dir())
}

/// The languages whose models are installed (file stems of `*.traineddata`, `osd` left out).
pub fn installed_languages() -> Vec<String> {
    let Some(dir) = tessdata_dir() else { return Vec::new() };
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".traineddata")).map(str::to_string))
                .filter(|l| l != "osd")
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Whether the Tesseract library can be loaded. Found out once per process: `status` asks on
/// every refresh of the app, and loading the library each time cost a `dlopen` of it.
pub fn available() -> Result<(), OcrError> {
    static AVAILABLE: std::sync::OnceLock<Result<(), OcrError>> = std::sync::OnceLock::new();
    AVAILABLE.get_or_init(|| load_library().map(|_| ())).clone()
}

/// One Tesseract engine. Not shared between threads: each parser process has its own.
pub struct Tesseract {
    api: Api,
    f: Functions,
    _lib: libloading::Library,
    languages: String,
}

impl Tesseract {
    /// Load Tesseract and its models for `languages` (e.g. `["eng", "deu"]`).
    pub fn load(languages: &[String]) -> Result<Tesseract, OcrError> {
        let (lib, f) = load_library()?;
        let installed = installed_languages();
        for l in languages {
            if !installed.contains(l) {
                return Err(OcrError::LanguageMissing { language: l.clone() });
            }
        }
        let languages = if languages.is_empty() { "eng".to_string() } else { languages.join("+") };
        let datapath = tessdata_dir().map(|d| CString::new(d.to_string_lossy().as_bytes()).unwrap_or_default());
        let language = CString::new(languages.clone()).map_err(|e| OcrError::Library(e.to_string()))?;
        // SAFETY: TessBaseAPICreate has no preconditions.
        let api = unsafe { (f.create)() };
        if api.is_null() {
            return Err(OcrError::Library("TessBaseAPICreate returned nothing".into()));
        }
        // SAFETY: `api` is live (checked for null above); both strings are NUL-terminated CStrings
        // that outlive the call, and a null datapath means Tesseract's default.
        let status = unsafe { (f.init3)(api, datapath.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()), language.as_ptr()) };
        if status != 0 {
            // SAFETY: `api` is live and, with this early return, deleted exactly once.
            unsafe { (f.delete)(api) };
            return Err(OcrError::Library(format!("Tesseract could not load the models for {languages}")));
        }
        Ok(Tesseract { api, f, _lib: lib, languages })
    }

    /// The languages it reads, "eng+deu".
    pub fn languages(&self) -> &str {
        &self.languages
    }

    /// Read the text of an 8-bit grey image of `width` × `height` pixels, row by row, with
    /// automatic layout, as it is (no rules erased, not turned).
    pub fn read(&mut self, pixels: &[u8], width: u32, height: u32, dpi: u32) -> Result<OcrText, OcrError> {
        self.read_as(pixels, width, height, dpi, Layout::Auto)
    }

    fn read_as(&mut self, pixels: &[u8], width: u32, height: u32, dpi: u32, layout: Layout) -> Result<OcrText, OcrError> {
        if width == 0 || height == 0 || pixels.len() < width as usize * height as usize {
            return Err(OcrError::Failed(format!(
                "an image of {width} × {height} pixels needs {} bytes, got {}",
                width as usize * height as usize,
                pixels.len()
            )));
        }
        let (w, h) = (c_int::try_from(width).map_err(|_| too_big())?, c_int::try_from(height).map_err(|_| too_big())?);
        // SAFETY: the handle is live. Tesseract may keep a pointer to the pixels from SetImage
        // until Clear, both within this call, so the buffer (borrowed for the whole call) outlives
        // its use; `w` × `h` bytes were checked to be there. The text is copied out before
        // TessDeleteText frees it, and a null text is checked first. The word confidences are an
        // array ended by -1 (capi.h), read up to that end before TessDeleteIntArray frees it.
        unsafe {
            (self.f.set_page_seg_mode)(self.api, layout as c_int);
            (self.f.set_image)(self.api, pixels.as_ptr(), w, h, 1, w);
            (self.f.set_resolution)(self.api, dpi as c_int);
            let text = (self.f.utf8_text)(self.api);
            let confidence = (self.f.mean_conf)(self.api).clamp(0, 100) as u8;
            let mut sure_words = 0;
            let confidences = (self.f.all_word_confidences)(self.api);
            if !confidences.is_null() {
                let mut at = confidences;
                while *at >= 0 {
                    sure_words += usize::from(*at >= SURE_WORD);
                    at = at.add(1);
                }
                (self.f.delete_int_array)(confidences);
            }
            let result = if text.is_null() {
                Err(OcrError::Failed("Tesseract returned no text".into()))
            } else {
                let s = CStr::from_ptr(text).to_string_lossy().into_owned();
                (self.f.delete_text)(text);
                Ok(OcrText { text: s, confidence, sure_words })
            };
            (self.f.clear)(self.api);
            result
        }
    }
}

impl Tesseract {
    /// Read a scanned page the way pages are read: its ruling lines erased, upright
    /// ([`Tesseract::read_upright`]), with automatic layout; a page that had rules is read again
    /// as one block and the reading with more sure words wins (see the crate's docs).
    pub fn read_page(&mut self, pixels: &[u8], width: u32, height: u32, dpi: u32) -> Result<OcrText, OcrError> {
        let mut page = pixels.to_vec();
        let ruled = rules::erase(&mut page, width, height, dpi);
        let (best, turn) = self.upright(&page, width, height, dpi)?;
        if !ruled || best.text.trim().is_empty() {
            return Ok(best);
        }
        let block = match turn {
            None => self.read_as(&page, width, height, dpi, Layout::SingleBlock)?,
            Some(turn) => {
                let (turned, w, h) = turn.apply(&page, width, height);
                self.read_as(&turned, w, h, dpi, Layout::SingleBlock)?
            }
        };
        Ok(if block.sure_words > best.sure_words { block } else { best })
    }

    /// [`Tesseract::read`] a page that may lie on its side or upside down (a landscape table
    /// scanned portrait, a page fed the wrong way): when the page as given reads with less than
    /// [`UPRIGHT_CONFIDENCE`], it is read turned a quarter each way and half, and the reading
    /// Tesseract is surest of wins. Pages that read well cost nothing more.
    pub fn read_upright(&mut self, pixels: &[u8], width: u32, height: u32, dpi: u32) -> Result<OcrText, OcrError> {
        self.upright(pixels, width, height, dpi).map(|(read, _)| read)
    }

    /// The upright reading and the turn that made it upright (`None`: as given).
    fn upright(&mut self, pixels: &[u8], width: u32, height: u32, dpi: u32) -> Result<(OcrText, Option<Turn>), OcrError> {
        let mut best = (self.read(pixels, width, height, dpi)?, None);
        if best.0.confidence >= UPRIGHT_CONFIDENCE || best.0.text.trim().is_empty() {
            return Ok(best);
        }
        for turn in [Turn::Right, Turn::Left, Turn::Half] {
            let (turned, w, h) = turn.apply(pixels, width, height);
            let read = self.read(&turned, w, h, dpi)?;
            if read.confidence > best.0.confidence {
                best = (read, Some(turn));
            }
            if best.0.confidence >= UPRIGHT_CONFIDENCE {
                break;
            }
        }
        Ok(best)
    }
}

/// Below this mean confidence a page is tried in the other three orientations.
pub const UPRIGHT_CONFIDENCE: u8 = 60;

#[derive(Clone, Copy)]
enum Turn {
    Right,
    Left,
    Half,
}

impl Turn {
    /// The grey image turned (clockwise for `Right`), and its new width and height.
    fn apply(self, pixels: &[u8], width: u32, height: u32) -> (Vec<u8>, u32, u32) {
        let (w, h) = (width as usize, height as usize);
        let mut out = vec![255u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let p = pixels[y * w + x];
                match self {
                    // (x, y) → (h-1-y, x) in an image h wide.
                    Turn::Right => out[x * h + (h - 1 - y)] = p,
                    // (x, y) → (y, w-1-x) in an image h wide.
                    Turn::Left => out[(w - 1 - x) * h + y] = p,
                    Turn::Half => out[(h - 1 - y) * w + (w - 1 - x)] = p,
                }
            }
        }
        match self {
            Turn::Half => (out, width, height),
            _ => (out, height, width),
        }
    }
}

/// The words of Tesseract's TSV output (`tesseract IMAGE stdout tsv`: `level page block
/// paragraph line word left top width height confidence text`; level 5 is a word), in reading
/// order: for drawing a passage's words on a scanned page.
pub fn words_of_tsv(tsv: &str) -> Vec<OcrWord> {
    tsv.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(12, '\t').collect();
            if fields.len() < 12 || fields[0] != "5" {
                return None;
            }
            let number = |i: usize| fields[i].trim().parse::<f32>().ok();
            let text = fields[11].trim();
            if text.is_empty() {
                return None;
            }
            Some(OcrWord {
                text: text.to_string(),
                left: number(6)? as u32,
                top: number(7)? as u32,
                width: number(8)? as u32,
                height: number(9)? as u32,
                confidence: number(10)?.clamp(0.0, 100.0) as u8,
            })
        })
        .collect()
}

fn too_big() -> OcrError {
    OcrError::Failed("the image is too large".into())
}

impl Drop for Tesseract {
    fn drop(&mut self) {
        // SAFETY: the handle is live and dropped once.
        unsafe {
            (self.f.end)(self.api);
            (self.f.delete)(self.api);
        }
    }
}

/// Languages a user most likely needs: English, and the system locale's language when its
/// model is installed (`LANG=de_DE.UTF-8` → `deu`).
pub fn default_languages() -> Vec<String> {
    let installed = installed_languages();
    let mut out = vec!["eng".to_string()];
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty())).unwrap_or_default();
    if let Some(code) = locale.get(..2).and_then(iso639_3).filter(|code| *code != "eng" && installed.iter().any(|l| l == code)) {
        out.push(code.to_string());
    }
    out.retain(|l| installed.contains(l));
    out
}

/// Tesseract's names of the languages a locale is likely to be in.
fn iso639_3(two: &str) -> Option<&'static str> {
    Some(match two {
        "en" => "eng",
        "de" => "deu",
        "fr" => "fra",
        "es" => "spa",
        "it" => "ita",
        "nl" => "nld",
        "pt" => "por",
        "pl" => "pol",
        "sv" => "swe",
        "da" => "dan",
        "fi" => "fin",
        "nb" | "no" => "nor",
        "cs" => "ces",
        "ru" => "rus",
        "ja" => "jpn",
        "zh" => "chi_sim",
        _ => return None,
    })
}

/// `Path` of a language's model, for messages.
pub fn model_path(language: &str) -> Option<PathBuf> {
    tessdata_dir().map(|d| d.join(format!("{language}.traineddata"))).filter(|p| Path::new(p).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nothing_from_a_blank_page_and_refuses_missing_languages() {
        if available().is_err() {
            // The project's setup installs Tesseract; without it this is what users get.
            assert_eq!(available().unwrap_err(), OcrError::NotInstalled);
            return;
        }
        let mut tesseract = Tesseract::load(&["eng".to_string()]).unwrap();
        let blank = vec![255u8; 200 * 100];
        let page = tesseract.read(&blank, 200, 100, 300).unwrap();
        assert!(page.text.trim().is_empty(), "{page:?}");
        assert!(tesseract.read(&blank, 300, 100, 300).is_err(), "a buffer too short for its size is refused");
        let missing = Tesseract::load(&["zzz".to_string()]).err().unwrap();
        assert_eq!(missing.to_string(), "the OCR language zzz is not installed (install the Debian package tesseract-ocr-zzz)");
        assert!(installed_languages().contains(&"eng".to_string()));
        assert!(default_languages().starts_with(&["eng".to_string()]));
    }

    #[test]
    fn tsv_rows_other_than_words_and_broken_rows_are_skipped() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t600\t800\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t96.5\tDunmore\n\
                   5\t1\t1\t1\t1\t2\tx\t20\t30\t12\t96\tbroken\n\
                   5\t1\t1\t1\t1\t3\t50\t20\t30\t12\t91\t \n";
        assert_eq!(words_of_tsv(tsv), vec![OcrWord { text: "Dunmore".into(), left: 10, top: 20, width: 30, height: 12, confidence: 96 }]);
    }

    #[test]
    fn missing_parts_make_ocr_unavailable_and_a_bad_page_does_not() {
        assert!(OcrError::NotInstalled.is_unavailable());
        assert!(OcrError::LanguageMissing { language: "deu".into() }.is_unavailable());
        assert!(OcrError::Library("no symbol".into()).is_unavailable());
        assert!(!OcrError::Failed("Tesseract returned no text".into()).is_unavailable());
    }

    #[test]
    fn turns_move_every_pixel_where_it_belongs() {
        // 3 wide, 2 high:  a b c / d e f
        let image = [1, 2, 3, 4, 5, 6];
        assert_eq!(Turn::Right.apply(&image, 3, 2), (vec![4, 1, 5, 2, 6, 3], 2, 3));
        assert_eq!(Turn::Left.apply(&image, 3, 2), (vec![3, 6, 2, 5, 1, 4], 2, 3));
        assert_eq!(Turn::Half.apply(&image, 3, 2), (vec![6, 5, 4, 3, 2, 1], 3, 2));
    }

    /// A depot roster: a header and four rows, ruled in a grid.
    const ROSTER: &[&[&str]] = &[
        &["Depot", "Vans", "Drivers", "Fuel budget (EUR)"],
        &["Dunmore", "37", "52", "118,400.50"],
        &["Larchfield", "12", "19", "40,210.00"],
        &["Quayside North", "8", "11", "26,975.25"],
        &["Thornbury", "21", "30", "71,002.75"],
    ];

    #[test]
    fn every_row_of_a_scanned_ruled_table_is_read_with_its_cells_on_one_line() {
        if available().is_err() {
            return;
        }
        let mut tesseract = Tesseract::load(&["eng".to_string()]).unwrap();
        let page = brain_testkit::rendered_table(ROSTER, 150);
        let (w, h) = (page.width(), page.height());
        // Read as the C API reads by default (one block) with its grid, rows are lost.
        let as_one_block = tesseract.read_as(page.as_raw(), w, h, 150, Layout::SingleBlock).unwrap();
        assert!(ROSTER.iter().any(|row| !as_one_block.text.contains(row[0])), "{as_one_block:?}");
        let read = tesseract.read_page(page.as_raw(), w, h, 150).unwrap();
        let lines: Vec<&str> = read.text.lines().collect();
        for row in ROSTER {
            let line = lines.iter().find(|l| l.contains(row[0])).unwrap_or_else(|| panic!("no line with {:?}: {read:?}", row[0]));
            for cell in &row[1..] {
                assert!(line.contains(cell), "{cell:?} is not on the line of {:?}: {line:?}", row[0]);
            }
        }
        assert!(!read.text.contains('|'), "the grid is not read as letters: {read:?}");
    }

    #[test]
    fn a_page_scanned_on_its_side_is_read_upright() {
        if available().is_err() {
            return;
        }
        let page = brain_testkit::rendered_page(&["Quarterly inventory of the Ravensworth depot."], 150);
        let (w, h) = (page.width(), page.height());
        let (sideways, sw, sh) = Turn::Left.apply(page.as_raw(), w, h);
        let mut tesseract = Tesseract::load(&["eng".to_string()]).unwrap();
        let as_given = tesseract.read(&sideways, sw, sh, 150).unwrap();
        assert!(!as_given.text.contains("Ravensworth"), "{as_given:?}");
        let upright = tesseract.read_upright(&sideways, sw, sh, 150).unwrap();
        assert!(upright.text.contains("Ravensworth depot"), "{upright:?}");
        assert!(upright.confidence >= UPRIGHT_CONFIDENCE, "{upright:?}");
    }
}
