//! Helpers shared by the integration tests: fixture files, and builders for containers the tests
//! write themselves (zips, OLE compound files, e-mails).

#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use brain_parse::{ParseError, ParsedDocument, Section, parse};

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn parse_fixture(name: &str) -> ParsedDocument {
    parse(&fixture_path(name), &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn parse_err(name: &str, bytes: &[u8]) -> ParseError {
    match parse(Path::new(name), bytes) {
        Ok(doc) => panic!("{name} parsed, expected an error: {:?}", doc.sections),
        Err(e) => e,
    }
}

/// The one section holding `phrase`.
pub fn section_with<'a>(doc: &'a ParsedDocument, phrase: &str) -> &'a Section {
    let found: Vec<&Section> = doc.sections.iter().filter(|s| s.text.contains(phrase)).collect();
    assert_eq!(found.len(), 1, "sections containing {phrase:?}: {:#?}", doc.sections);
    found[0]
}

/// A zip with the given entries (deflated; "mimetype" stored, as ODF and EPUB require).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut out = Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        for (name, data) in entries {
            let method = if *name == "mimetype" { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
            writer.start_file(*name, SimpleFileOptions::default().compression_method(method)).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
    }
    out.into_inner()
}

/// Replace (or add) entries of a zip, keeping the others.
pub fn zip_with_replaced(original: &[u8], replaced: &[(&str, &[u8])]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(original)).unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        if replaced.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).unwrap();
        entries.push((name, data));
    }
    for (n, d) in replaced {
        entries.push((n.to_string(), d.to_vec()));
    }
    let borrowed: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    zip_of(&borrowed)
}

/// A zip whose entry `name` inflates to `mib` MiB of one repeated byte, written streaming.
pub fn bomb_zip(names: &[&str], mib: usize) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut out = Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let block = vec![b' '; 1 << 20];
        for name in names {
            writer.start_file(*name, SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)).unwrap();
            writer.write_all(b"<?xml version=\"1.0\"?><a>").unwrap();
            for _ in 0..mib {
                writer.write_all(&block).unwrap();
            }
        }
        writer.finish().unwrap();
    }
    out.into_inner()
}

/// An OLE compound file with the given streams (paths like "/Workbook" or "/a/b").
pub fn ole_with(storages: &[&str], streams: &[(&str, &[u8])]) -> Vec<u8> {
    let mut ole = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    for s in storages {
        ole.create_storage(s).unwrap();
    }
    for (path, data) in streams {
        ole.create_stream(path).unwrap().write_all(data).unwrap();
    }
    ole.flush().unwrap();
    ole.into_inner().into_inner()
}

/// What Office writes for a password-protected DOCX/XLSX/PPTX: an OLE file holding the
/// encryption parameters and the encrypted zip.
pub fn encrypted_ooxml() -> Vec<u8> {
    let mut info = vec![4, 0, 4, 0, 0x40, 0, 0, 0];
    info.extend_from_slice(br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><encryption xmlns="http://schemas.microsoft.com/office/2006/encryption"/>"#);
    ole_with(&[], &[("/EncryptionInfo", &info), ("/EncryptedPackage", &[0x10, 0, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD])])
}

pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[allow(unused_imports)] // not every test binary sends mail
pub use brain_testkit::eml_with;
