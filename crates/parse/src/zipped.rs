//! Zip containers (OOXML, ODF, EPUB) read with caps: every entry is decompressed through a
//! counting reader, never into a buffer sized from the size the archive declares, so a zip bomb
//! fails with [`ParseError::ZipBomb`] after at most [`MAX_ENTRY_BYTES`] of work.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::ParseError;
use crate::formats::ZIP_MAGIC;
use crate::limits::{Budget, MAX_ENTRY_BYTES, MAX_ZIP_ENTRIES};

pub(crate) struct Package<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    /// The format's label, for error messages ("not a valid DOCX: ...").
    format: &'static str,
    /// Lowercased entry name (without a leading '/') to index: OOXML part names are
    /// case-insensitive and some writers vary the case.
    index: HashMap<String, usize>,
    names: Vec<String>,
}

impl<'a> Package<'a> {
    pub(crate) fn open(bytes: &'a [u8], format: &'static str) -> Result<Self, ParseError> {
        if !bytes.starts_with(b"PK") {
            return Err(invalid(format, "it is not a zip archive, so the file is damaged or of another format".into()));
        }
        let archive =
            ZipArchive::new(Cursor::new(bytes)).map_err(|e| invalid(format, format!("the zip container is damaged or cut off ({e})")))?;
        if archive.len() > MAX_ZIP_ENTRIES {
            return Err(ParseError::ZipBomb(format!(
                "the archive lists {} entries, more than the {MAX_ZIP_ENTRIES} a document can plausibly hold",
                archive.len()
            )));
        }
        let mut index = HashMap::new();
        let mut names = Vec::with_capacity(archive.len());
        for (i, name) in archive.file_names_raw().enumerate() {
            let name = String::from_utf8_lossy(name).trim_start_matches('/').to_string();
            index.entry(name.to_ascii_lowercase()).or_insert(i);
            names.push(name);
        }
        Ok(Package { archive, format, index, names })
    }

    pub(crate) fn format(&self) -> &'static str {
        self.format
    }

    /// Entry names in archive order.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.index.contains_key(&name.trim_start_matches('/').to_ascii_lowercase())
    }

    /// The entry's bytes, or `None` if there is no such entry.
    pub(crate) fn read(&mut self, name: &str, budget: &mut Budget) -> Result<Option<Vec<u8>>, ParseError> {
        let Some(&i) = self.index.get(&name.trim_start_matches('/').to_ascii_lowercase()) else {
            return Ok(None);
        };
        let format = self.format;
        let entry = self.archive.by_index(i).map_err(|e| entry_error(format, name, e))?;
        let cap = MAX_ENTRY_BYTES.min(budget.unpacked_left());
        // Start small whatever the header claims; the vector grows with what really comes out.
        let mut out = Vec::with_capacity(entry.size().min(1 << 20) as usize);
        let read = entry.take(cap + 1).read_to_end(&mut out).map_err(|e| damaged(format, name, &e))?;
        if read as u64 > cap && cap == MAX_ENTRY_BYTES {
            return Err(ParseError::ZipBomb(format!("{name} expands to more than {} MiB", MAX_ENTRY_BYTES >> 20)));
        }
        // Past a smaller cap it is the file's total that ran out, and this reports it.
        budget.unpack(read as u64)?;
        Ok(Some(out))
    }

    /// An XML or HTML part as text (see [`crate::xml::decode`]), or `None` if there is no such entry.
    pub(crate) fn read_text(&mut self, name: &str, budget: &mut Budget) -> Result<Option<String>, ParseError> {
        Ok(self.read(name, budget)?.map(|bytes| crate::xml::decode(&bytes).into_owned()))
    }

    /// Like [`Self::read_text`], for a part the format cannot do without.
    pub(crate) fn require_text(&mut self, name: &str, budget: &mut Budget) -> Result<String, ParseError> {
        self.read_text(name, budget)?.ok_or_else(|| invalid(self.format, format!("missing {name}")))
    }

    /// Decompress every entry the library will read (`wanted`) once, through the caps,
    /// discarding the bytes. Run before handing the archive to a library that reads it on its own
    /// terms (calamine): if this passes, the library's reads are bounded by the same sizes.
    /// Entries it never reads (pictures) are not inflated, so a large photo costs nothing.
    pub(crate) fn check_entries(&mut self, budget: &mut Budget, wanted: impl Fn(&str) -> bool) -> Result<(), ParseError> {
        for i in 0..self.archive.len() {
            let format = self.format;
            let name = self.names.get(i).cloned().unwrap_or_default();
            if !wanted(&name) {
                continue;
            }
            let entry = self.archive.by_index(i).map_err(|e| entry_error(format, &name, e))?;
            let cap = MAX_ENTRY_BYTES.min(budget.unpacked_left());
            let read = std::io::copy(&mut entry.take(cap + 1), &mut std::io::sink()).map_err(|e| damaged(format, &name, &e))?;
            if read > cap && cap == MAX_ENTRY_BYTES {
                return Err(ParseError::ZipBomb(format!("{name} expands to more than {} MiB", MAX_ENTRY_BYTES >> 20)));
            }
            budget.unpack(read)?;
        }
        Ok(())
    }
}

pub(crate) fn invalid(format: &'static str, reason: String) -> ParseError {
    ParseError::Invalid { format, reason }
}

fn entry_error(format: &'static str, name: &str, e: ZipError) -> ParseError {
    match e {
        ZipError::UnsupportedArchive(msg) if msg.to_ascii_lowercase().contains("password") => ParseError::Encrypted(format),
        ZipError::InvalidPassword => ParseError::Encrypted(format),
        ZipError::CompressionMethodNotSupported(m) => {
            invalid(format, format!("{name} uses compression method {m}, which brain cannot unpack"))
        }
        other => invalid(format, format!("{name} cannot be read from the zip container ({other})")),
    }
}

fn damaged(format: &'static str, name: &str, e: &std::io::Error) -> ParseError {
    invalid(format, format!("{name} is damaged inside the zip container ({e})"))
}

/// Whether the bytes are a zip holding the entry `part` (the entry that defines an OOXML format,
/// e.g. `word/document.xml`).
pub(crate) fn holds_part(bytes: &[u8], part: &str) -> bool {
    bytes.starts_with(ZIP_MAGIC) && Package::open(bytes, "zip").is_ok_and(|package| package.contains(part))
}

/// Whether the bytes are a zip that declares the MIME type `mime` the ODF and EPUB way: a first,
/// uncompressed entry "mimetype", whose text is then at a fixed offset near the start.
pub(crate) fn declares_mimetype(bytes: &[u8], mime: &str) -> bool {
    let head = &bytes[..bytes.len().min(128)];
    bytes.starts_with(ZIP_MAGIC) && head.windows(mime.len()).any(|w| w == mime.as_bytes())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    /// A zip with the given entries, deflated.
    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut out);
            for (name, data) in entries {
                let options = if *name == "mimetype" {
                    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)
                } else {
                    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
                };
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
            writer.finish().unwrap();
        }
        out.into_inner()
    }

    /// A zip whose one entry inflates to `size` bytes of zeros (about 1000:1).
    pub(crate) fn bomb(name: &str, size: usize) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut out);
            let options = SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(size as u64 >= u32::MAX as u64);
            writer.start_file(name, options).unwrap();
            let block = vec![b'<'; 1 << 20];
            for _ in 0..size >> 20 {
                writer.write_all(&block).unwrap();
            }
            writer.finish().unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn reads_entries_case_insensitively() {
        let bytes = zip_of(&[("Word/Document.xml", b"<a/>")]);
        let mut p = Package::open(&bytes, "DOCX").unwrap();
        let mut budget = Budget::new();
        assert_eq!(p.read("word/document.xml", &mut budget).unwrap().unwrap(), b"<a/>");
        assert!(p.read("missing.xml", &mut budget).unwrap().is_none());
    }

    #[test]
    fn entry_past_the_cap_is_a_zip_bomb() {
        let bytes = bomb("word/document.xml", (MAX_ENTRY_BYTES as usize) + (1 << 20));
        assert!(bytes.len() < 1 << 20, "the bomb itself is small: {}", bytes.len());
        let mut p = Package::open(&bytes, "DOCX").unwrap();
        let err = p.read("word/document.xml", &mut Budget::new()).unwrap_err();
        assert!(matches!(err, ParseError::ZipBomb(_)), "{err:?}");
        assert!(err.to_string().starts_with("zip bomb suspected: word/document.xml expands to more than 128 MiB"), "{err}");
    }

    #[test]
    fn not_a_zip_and_cut_off_zip_are_invalid() {
        let err = Package::open(b"hello", "DOCX").err().unwrap();
        assert!(err.to_string().starts_with("not a valid DOCX: it is not a zip archive"), "{err}");
        let bytes = zip_of(&[("a.xml", b"<a/>")]);
        let err = Package::open(&bytes[..bytes.len() - 30], "DOCX").err().unwrap();
        assert!(err.to_string().starts_with("not a valid DOCX: the zip container is damaged or cut off"), "{err}");
    }
}
