//! Caps that keep one hostile file from exhausting memory or time, and the per-file budget that
//! enforces them across nested containers (a DOCX attached to an e-mail attached to an e-mail).

use crate::ParseError;

/// Decompressed bytes read out of containers (zip entries, OLE streams) per file, attachments
/// included. Real office files stay far below; a zip bomb reaches it in a second and stops.
pub(crate) const MAX_UNPACKED_BYTES: u64 = 256 << 20;
/// Decompressed bytes of one container entry.
pub(crate) const MAX_ENTRY_BYTES: u64 = 128 << 20;
/// Entries in one zip: a DOCX has a few dozen, a large EPUB a few thousand.
pub(crate) const MAX_ZIP_ENTRIES: usize = 20_000;
/// Text extracted from one file. Beyond this the file is refused rather than half indexed.
pub(crate) const MAX_TEXT_BYTES: usize = 64 << 20;
/// XML element nesting. Real documents nest a few dozen deep (tables in tables in text boxes).
pub(crate) const MAX_XML_DEPTH: usize = 512;
/// RTF group nesting; Word writes fewer than 20 levels.
pub(crate) const MAX_RTF_DEPTH: usize = 512;
/// E-mail attachments are opened at most this many levels deep (a mail in a mail in a mail).
pub(crate) const MAX_ATTACHMENT_DEPTH: usize = 3;
/// Attachments opened per e-mail; the rest are listed in a warning.
pub(crate) const MAX_ATTACHMENTS: usize = 200;
/// Cells in one spreadsheet row that are read; beyond this a row is data, not prose.
pub(crate) const MAX_ROW_CELLS: usize = 1_000;

/// What is left of a file's allowance, shared by everything parsed out of that file.
pub(crate) struct Budget<'a> {
    unpacked_left: u64,
    text_left: usize,
    /// How many containers deep the current parse is (0 for the file itself).
    pub(crate) depth: usize,
    /// OCR for images and scanned pages, attachments' included.
    pub(crate) ocr: Option<crate::Ocr<'a>>,
    /// Keep each sheet whole as a [`Table`](crate::Table) beside its sections: only when a
    /// question is answered over a sheet, not while indexing (a second copy of every row).
    pub(crate) keep_tables: bool,
}

impl Budget<'_> {
    pub(crate) fn new() -> Self {
        Budget { unpacked_left: MAX_UNPACKED_BYTES, text_left: MAX_TEXT_BYTES, depth: 0, ocr: None, keep_tables: false }
    }

    /// A fresh budget that keeps sheets' tables (see [`Budget::keep_tables`]).
    pub(crate) fn keeping_tables() -> Self {
        Budget { keep_tables: true, ..Budget::new() }
    }

    /// How many more bytes may be unpacked.
    pub(crate) fn unpacked_left(&self) -> u64 {
        self.unpacked_left
    }

    /// Account for `n` unpacked bytes; fails once the file as a whole expands too far.
    pub(crate) fn unpack(&mut self, n: u64) -> Result<(), ParseError> {
        self.unpacked_left = self
            .unpacked_left
            .checked_sub(n)
            .ok_or_else(|| ParseError::ZipBomb(format!("the file expands to more than {} MiB when unpacked", MAX_UNPACKED_BYTES >> 20)))?;
        Ok(())
    }

    /// Account for `n` bytes of extracted text.
    pub(crate) fn text(&mut self, n: usize) -> Result<(), ParseError> {
        self.text_left = self.text_left.checked_sub(n).ok_or(ParseError::TooMuchText { limit_mib: MAX_TEXT_BYTES >> 20 })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_run_out_with_specific_errors() {
        let mut b = Budget::new();
        b.unpack(MAX_UNPACKED_BYTES).unwrap();
        assert!(matches!(b.unpack(1), Err(ParseError::ZipBomb(_))));
        b.text(MAX_TEXT_BYTES).unwrap();
        assert_eq!(b.text(1), Err(ParseError::TooMuchText { limit_mib: 64 }));
    }
}
