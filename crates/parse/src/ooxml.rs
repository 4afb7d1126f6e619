//! What DOCX, PPTX and XLSX share: the zip package, relationship files (which part is the main
//! document, which slides in which order), and password protection.
//!
//! A password-protected OOXML file is not a zip at all: Office wraps the encrypted package in an
//! OLE compound file with an `EncryptedPackage` stream. That is how "encrypted" is told apart
//! from "damaged" or "an old binary .doc renamed".

use std::io::Cursor;

use crate::ParseError;
use crate::formats::OLE_MAGIC;
use crate::limits::Budget;
use crate::xml::{Node, Walker};
use crate::zipped::{Package, invalid};

/// Open an OOXML package, naming encryption and misnamed legacy files precisely.
pub(crate) fn open<'a>(bytes: &'a [u8], format: &'static str) -> Result<Package<'a>, ParseError> {
    if bytes.starts_with(OLE_MAGIC) {
        return Err(ole_instead_of_zip(bytes, format));
    }
    Package::open(bytes, format)
}

/// The error for an OLE compound file where a zip-based OOXML file was expected.
pub(crate) fn ole_instead_of_zip(bytes: &[u8], format: &'static str) -> ParseError {
    match cfb::CompoundFile::open(Cursor::new(bytes)) {
        Ok(ole) if ole.is_stream("/EncryptedPackage") || ole.is_stream("/EncryptionInfo") => ParseError::Encrypted(format),
        Ok(_) => invalid(
            format,
            format!("it is an Office 97-2003 binary file with a new extension; open it and save it as .{}", format.to_ascii_lowercase()),
        ),
        Err(e) => invalid(format, format!("it looks like a password-protected or legacy Office file but is damaged ({e})")),
    }
}

/// One relationship of a part.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Relationship {
    pub(crate) id: String,
    /// The last segment of the type URI: "officeDocument", "slide", "notesSlide", "header", ...
    pub(crate) kind: String,
    /// The target as a package part name (resolved against the source part, no leading '/').
    pub(crate) target: String,
}

/// The relationships of `part` ("" for the package itself), from its `_rels/*.rels` file. A
/// missing rels file means no relationships; a malformed one is an error.
pub(crate) fn relationships(package: &mut Package, part: &str, budget: &mut Budget) -> Result<Vec<Relationship>, ParseError> {
    let rels_name = rels_part_name(part);
    let Some(xml) = package.read_text(&rels_name, budget)? else {
        return Ok(Vec::new());
    };
    let mut walker = Walker::new(&xml, package.format(), &rels_name);
    let mut out = Vec::new();
    while let Some(node) = walker.next()? {
        let Node::Open(tag) = node else { continue };
        if tag.name() != "Relationship" || tag.attr("TargetMode").is_some_and(|m| m.eq_ignore_ascii_case("external")) {
            continue;
        }
        let (Some(id), Some(kind), Some(target)) = (tag.attr("Id"), tag.attr("Type"), tag.attr("Target")) else {
            continue;
        };
        let kind = kind.rsplit('/').next().unwrap_or_default().to_string();
        out.push(Relationship { id, kind, target: resolve(part, &target) });
    }
    Ok(out)
}

/// The main part of the package (the `officeDocument` relationship), or `default`.
pub(crate) fn main_part(package: &mut Package, budget: &mut Budget, default: &str) -> Result<String, ParseError> {
    let rels = relationships(package, "", budget)?;
    Ok(rels
        .into_iter()
        .find(|r| r.kind == "officeDocument" && package.contains(&r.target))
        .map_or_else(|| default.to_string(), |r| r.target))
}

/// "word/document.xml" -> "word/_rels/document.xml.rels"; "" -> "_rels/.rels".
fn rels_part_name(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// Resolve a relationship target against the part it belongs to: relative to the part's folder,
/// or absolute from the package root when it starts with '/'. `..` segments are applied and
/// never climb above the root.
pub(crate) fn resolve(source_part: &str, target: &str) -> String {
    let target = target.split('#').next().unwrap_or_default();
    let target = percent_decode(target);
    let mut segments: Vec<&str> = Vec::new();
    if !target.starts_with('/')
        && let Some((dir, _)) = source_part.rsplit_once('/')
    {
        segments.extend(dir.split('/').filter(|s| !s.is_empty()));
    }
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    segments.join("/")
}

/// "%20" -> " " in part names; invalid escapes stay as written.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An OLE compound file holding the given streams, as Office writes encrypted OOXML.
    pub(crate) fn ole_with_streams(streams: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut ole = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for (name, data) in streams {
            let mut s = ole.create_stream(name).unwrap();
            s.write_all(data).unwrap();
        }
        ole.flush().unwrap();
        ole.into_inner().into_inner()
    }

    #[test]
    fn targets_resolve_like_office_does() {
        assert_eq!(resolve("ppt/presentation.xml", "slides/slide1.xml"), "ppt/slides/slide1.xml");
        assert_eq!(resolve("ppt/slides/slide1.xml", "../notesSlides/notesSlide1.xml"), "ppt/notesSlides/notesSlide1.xml");
        assert_eq!(resolve("word/document.xml", "/word/header1.xml"), "word/header1.xml");
        assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
        assert_eq!(resolve("a/b.xml", "../../../../x.xml"), "x.xml");
        assert_eq!(resolve("a/b.xml", "my%20file.xml"), "a/my file.xml");
    }

    #[test]
    fn encrypted_package_is_reported_as_encrypted() {
        let bytes = ole_with_streams(&[("EncryptionInfo", b"\x04\x00\x04\x00"), ("EncryptedPackage", b"\x00\x01")]);
        let err = open(&bytes, "DOCX").err().unwrap();
        assert_eq!(err, ParseError::Encrypted("DOCX"));
        assert_eq!(err.to_string(), "encrypted DOCX: it needs a password to open");
    }

    #[test]
    fn legacy_binary_renamed_is_named() {
        let bytes = ole_with_streams(&[("WordDocument", b"\x00\x01")]);
        let err = open(&bytes, "DOCX").err().unwrap();
        assert!(err.to_string().contains("Office 97-2003 binary file"), "{err}");
    }
}
