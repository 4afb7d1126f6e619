//! Broken and hostile files, at least one per format: each must fail with its specific error
//! (the text the file's owner reads in `brain status`), never panic, hang or exhaust memory.

mod common;

use std::path::Path;

use brain_parse::{ParseError, parse};
use common::*;

/// Remove entries from a zip.
fn zip_without(original: &[u8], dropped: &[&str]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        if dropped.contains(&name.as_str()) {
            continue;
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).unwrap();
        entries.push((name, data));
    }
    let borrowed: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    zip_of(&borrowed)
}

fn message(name: &str, bytes: &[u8]) -> String {
    parse_err(name, bytes).to_string()
}

// ---- OOXML --------------------------------------------------------------------------------------

#[test]
fn password_protected_ooxml_is_encrypted() {
    let ole = encrypted_ooxml();
    assert_eq!(message("a.docx", &ole), "encrypted DOCX: it needs a password to open");
    assert_eq!(message("a.pptx", &ole), "encrypted PPTX: it needs a password to open");
    assert_eq!(message("a.xlsx", &ole), "encrypted XLSX: it needs a password to open");
}

#[test]
fn docx_structural_damage() {
    let docx = fixture("handbook.docx");
    assert_eq!(message("a.docx", &zip_without(&docx, &["word/document.xml"])), "not a valid DOCX: missing word/document.xml");
    let cut = message("a.docx", &docx[..docx.len() / 2]);
    assert!(cut.starts_with("not a valid DOCX: the zip container is damaged or cut off"), "{cut}");
    let broken = zip_with_replaced(&docx, &[("word/document.xml", b"<w:document><w:body><w:p></w:body></w:document>")]);
    assert!(message("a.docx", &broken).starts_with("not a valid DOCX: word/document.xml is not well-formed XML"));
    let truncated = zip_with_replaced(&docx, &[("word/document.xml", b"<w:document><w:body><w:p><w:r><w:t>Hel")]);
    assert_eq!(message("a.docx", &truncated), "not a valid DOCX: word/document.xml is cut off (the XML ends inside <t>)");
    assert!(message("a.docx", b"PK\x03\x04 this is no zip").starts_with("not a valid DOCX: the zip container is damaged"));
}

#[test]
fn docx_deeply_nested_xml() {
    let deep = format!("<w:document><w:body>{}", "<w:sdt><w:sdtContent>".repeat(400));
    let bytes = zip_with_replaced(&fixture("handbook.docx"), &[("word/document.xml", deep.as_bytes())]);
    assert_eq!(message("a.docx", &bytes), "nested too deeply: word/document.xml in this DOCX nests XML elements more than 512 levels deep");
}

#[test]
fn docx_zip_bomb_entry() {
    let bomb = bomb_zip(&["word/document.xml"], 130);
    assert!(bomb.len() < 1 << 20, "a small file: {} bytes", bomb.len());
    assert_eq!(message("bomb.docx", &bomb), "zip bomb suspected: word/document.xml expands to more than 128 MiB");
}

#[test]
fn xlsx_zip_bomb_in_total() {
    let bomb = bomb_zip(&["xl/workbook.xml", "xl/a.xml", "xl/b.xml"], 100);
    assert_eq!(message("bomb.xlsx", &bomb), "zip bomb suspected: the file expands to more than 256 MiB when unpacked");
}

#[test]
fn zip_with_too_many_entries() {
    let names: Vec<String> = (0..20_001).map(|i| format!("e{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"".as_slice())).collect();
    let err = message("many.odt", &zip_of(&entries));
    assert!(err.starts_with("zip bomb suspected: the archive lists 20001 entries"), "{err}");
}

#[test]
fn pptx_structural_damage() {
    let pptx = fixture("deck.pptx");
    assert_eq!(message("a.pptx", &zip_without(&pptx, &["ppt/presentation.xml"])), "not a valid PPTX: missing ppt/presentation.xml");
    // One broken slide costs that slide, with a warning; the others are indexed.
    let one_broken = zip_with_replaced(&pptx, &[("ppt/slides/slide2.xml", b"<p:sld><p:cSld>")]);
    let doc = parse(Path::new("a.pptx"), &one_broken).unwrap();
    assert!(doc.sections.iter().all(|s| s.location.slide != Some(2)));
    assert_eq!(doc.warnings, ["slide 2 unreadable: not a valid PPTX: ppt/slides/slide2.xml is cut off (the XML ends inside <cSld>)"]);
    // All slides broken: the file fails with the first reason.
    let all_broken = zip_with_replaced(
        &pptx,
        &[("ppt/slides/slide1.xml", b"<a></b>"), ("ppt/slides/slide2.xml", b"<a></b>"), ("ppt/slides/slide3.xml", b"<a></b>")],
    );
    assert!(message("a.pptx", &all_broken).starts_with("not a valid PPTX: ppt/slides/slide1.xml is not well-formed XML"));
}

#[test]
fn xlsx_forged_and_missing_parts() {
    let xlsx = fixture("staff.xlsx");
    let forged = zip_with_replaced(&xlsx, &[("xl/sharedStrings.xml", br#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="999999999999"><si><t>x</t></si></sst>"#)]);
    assert_eq!(
        message("a.xlsx", &forged),
        "not a valid XLSX: xl/sharedStrings.xml declares 999999999999 shared strings but holds 1, a forged count"
    );
    assert_eq!(message("a.xlsx", &zip_without(&xlsx, &["xl/workbook.xml"])), "not a valid XLSX: missing xl/workbook.xml");
}

#[test]
fn xlsx_repeated_shared_string_hits_the_text_cap() {
    // One 1 MiB string, referenced by 70 cells: 70 MiB of text from a file of a few KiB.
    let big = "word ".repeat(1 << 18);
    let shared = format!(
        r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="70" uniqueCount="1"><si><t>{big}</t></si></sst>"#
    );
    let cells: String = (1..=70).map(|r| format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>"#)).collect();
    let sheet = format!(
        r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{cells}</sheetData></worksheet>"#
    );
    let xlsx = fixture("staff.xlsx");
    let hostile = zip_with_replaced(&xlsx, &[("xl/sharedStrings.xml", shared.as_bytes()), ("xl/worksheets/sheet1.xml", sheet.as_bytes())]);
    assert!(hostile.len() < 200_000);
    assert_eq!(parse_err("a.xlsx", &hostile), ParseError::TooMuchText { limit_mib: 64 },);
    assert_eq!(
        message("a.xlsx", &hostile),
        "too much text: the file expands to more than 64 MiB of text, more than brain indexes from one file"
    );
}

// ---- XLS, ODF -----------------------------------------------------------------------------------

#[test]
fn xls_encrypted_and_not_a_workbook() {
    assert_eq!(message("protected.xls", &fixture("protected.xls")), "encrypted XLS: it needs a password to open");
    assert!(message("a.xls", b"Name,Dept\nAnn,HR\n").starts_with("not a valid XLS: it is not an Excel 97-2003 workbook"));
    assert_eq!(message("a.xls", &ole_with(&[], &[("/Other", b"x")])), "not a valid XLS: missing the Workbook stream");
}

#[test]
fn xls_sheet_spanning_millions_of_cells_is_refused() {
    let mut stream = Vec::new();
    let mut record = |kind: u16, data: &[u8]| {
        stream.extend_from_slice(&kind.to_le_bytes());
        stream.extend_from_slice(&(data.len() as u16).to_le_bytes());
        stream.extend_from_slice(data);
    };
    record(0x0809, &[0x00, 0x06, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut number = vec![0u8; 14];
    record(0x0203, &number);
    number[0..4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x00]);
    record(0x0203, &number);
    let bytes = ole_with(&[], &[("/Workbook", &stream)]);
    assert_eq!(
        message("a.xls", &bytes),
        "zip bomb suspected: a sheet spans 16777216 cells (rows 1–65536, columns 1–256), more than brain lays out"
    );
}

#[test]
fn odf_encrypted_and_damaged() {
    assert_eq!(message("protected.odt", &fixture("protected.odt")), "encrypted ODT: it needs a password to open");
    assert_eq!(message("protected.ods", &fixture("protected.ods")), "encrypted ODS: it needs a password to open");
    let odt = fixture("handbook.odt");
    assert_eq!(message("a.odt", &zip_without(&odt, &["content.xml"])), "not a valid ODT: missing content.xml");
    let cut = zip_with_replaced(&odt, &[("content.xml", b"<office:document-content><office:body><office:text><text:p>Hi")]);
    assert_eq!(message("a.odt", &cut), "not a valid ODT: content.xml is cut off (the XML ends inside <p>)");
    let ods = fixture("staff.ods");
    assert_eq!(message("a.ods", &zip_without(&ods, &["content.xml"])), "not a valid ODS: missing content.xml");
}

#[test]
fn ods_repeat_attributes_do_not_expand() {
    // A million rows of 16,384 copies of a cell, in a few hundred bytes of XML.
    let content = r#"<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x"><office:body><office:spreadsheet><table:table table:name="Bomb"><table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="16384"><text:p>boom</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let ods = zip_with_replaced(&fixture("staff.ods"), &[("content.xml", content.as_bytes())]);
    let doc = parse(Path::new("bomb.ods"), &ods).unwrap();
    assert_eq!(doc.sections.len(), 1);
    assert_eq!(doc.sections[0].location.rows, Some([1, 1_048_576]));
    assert!(doc.sections[0].text.len() < 1_000);
}

// ---- RTF, EPUB, HTML ----------------------------------------------------------------------------

#[test]
fn rtf_not_rtf_and_too_deep() {
    assert_eq!(message("a.rtf", b"Dear team, plain words."), "not a valid RTF: it does not start with {\\rtf");
    let mut deep = b"{\\rtf1\\ansi ".to_vec();
    deep.extend(std::iter::repeat_n(b'{', 1_000_000));
    assert_eq!(message("deep.rtf", &deep), "nested too deeply: the RTF nests groups more than 512 levels deep");
}

#[test]
fn epub_drm_and_damage() {
    let epub = fixture("handbook.epub");
    let drm = r#"<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData><enc:CipherReference URI="OEBPS/sections/section0001.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>"#;
    let protected = zip_with_replaced(&epub, &[("META-INF/encryption.xml", drm.as_bytes())]);
    assert_eq!(message("a.epub", &protected), "encrypted EPUB: it needs a password to open");
    assert_eq!(message("a.epub", &zip_without(&epub, &["META-INF/container.xml"])), "not a valid EPUB: missing META-INF/container.xml");
    let container = br#"<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles/></container>"#;
    assert_eq!(
        message("a.epub", &zip_with_replaced(&epub, &[("META-INF/container.xml", container)])),
        "not a valid EPUB: META-INF/container.xml names no package document"
    );
}

#[test]
fn html_deep_nesting_and_binary() {
    let deep = "<div>".repeat(300_000);
    assert_eq!(
        message("deep.html", deep.as_bytes()),
        "nested too deeply: the HTML nests block elements (such as <div>) more than 1000 levels deep"
    );
    assert_eq!(message("a.html", b"\x00\x01\x02binary\x00"), "binary content: not a document format brain can read");
}

// ---- E-mail -------------------------------------------------------------------------------------

#[test]
fn eml_without_headers_and_encrypted() {
    assert_eq!(
        message("a.eml", b"Hello, this is just a note.\nNo headers here.\n"),
        "not a valid e-mail: no From, To, Subject, Date or Message-ID header found"
    );
    let pgp = b"From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n--b--\r\n";
    assert_eq!(message("a.eml", pgp), "encrypted e-mail (PGP): only the recipient's private key can open the message body");
}

#[test]
fn eml_attachments_deeper_than_three_levels_are_not_opened() {
    let mut mail = eml_with("level 5", "the innermost secret", &[]);
    for level in (1..=4).rev() {
        mail = eml_with(&format!("level {level}"), "forwarding", &[("fwd.eml", "message/rfc822", &mail)]);
    }
    let doc = parse(Path::new("chain.eml"), &mail).unwrap();
    let deepest = doc.sections.iter().filter_map(|s| s.location.attachment.clone()).max_by_key(String::len).unwrap();
    assert_eq!(deepest, "fwd.eml > fwd.eml > fwd.eml");
    assert!(!doc.sections.iter().any(|s| s.text.contains("innermost secret")));
    assert!(
        doc.warnings.iter().any(|w| w.ends_with("attachment fwd.eml not opened: attachments are opened at most 3 levels deep")),
        "{:?}",
        doc.warnings
    );
}

#[test]
fn eml_hostile_attachments_become_warnings() {
    let bomb = bomb_zip(&["word/document.xml"], 130);
    let mail = eml_with(
        "Files",
        "Two files attached.",
        &[("bomb.docx", "application/octet-stream", &bomb), ("locked.xlsx", "application/octet-stream", &encrypted_ooxml())],
    );
    let doc = parse(Path::new("files.eml"), &mail).unwrap();
    assert_eq!(doc.sections.len(), 1, "the message itself is indexed");
    assert_eq!(
        doc.warnings,
        [
            "attachment bomb.docx not indexed: zip bomb suspected: word/document.xml expands to more than 128 MiB",
            "attachment locked.xlsx not indexed: encrypted XLSX: it needs a password to open",
        ]
    );
}

#[test]
fn msg_not_outlook_and_encrypted() {
    assert!(
        message("a.msg", b"From: a@example.com\r\n\r\nhi").starts_with("not a valid Outlook message: it is not an Outlook message file")
    );
    assert_eq!(
        message("a.msg", &ole_with(&[], &[("/WordDocument", b"x")])),
        "not a valid Outlook message: missing the message property streams (__properties_version1.0)"
    );
    let smime = ole_with(
        &["/__attach_version1.0_#00000000"],
        &[
            ("/__properties_version1.0", &[0u8; 32]),
            ("/__substg1.0_001A001F", &utf16le("IPM.Note.SMIME")),
            ("/__substg1.0_0037001F", &utf16le("Secret")),
            ("/__attach_version1.0_#00000000/__substg1.0_3707001F", &utf16le("smime.p7m")),
            ("/__attach_version1.0_#00000000/__substg1.0_37010102", &[0x30, 0x80, 0x06, 0x09]),
        ],
    );
    assert_eq!(message("a.msg", &smime), "encrypted e-mail (S/MIME): only the recipient's private key can open the message body");
}

// ---- PDF ----------------------------------------------------------------------------------------

#[test]
fn pdf_cut_off_and_not_pdf() {
    let pdf = fixture("deck.pdf");
    assert!(message("deck.pdf", &pdf[..pdf.len() / 3]).starts_with("malformed PDF: "));
    assert_eq!(message("a.pdf", b"just some words, no header"), "not a PDF: no %PDF- header in the first 1024 bytes");
}

// ---- Text formats -------------------------------------------------------------------------------

#[test]
fn text_formats_reject_byte_soup_and_blank_files() {
    let mut soup = b"start ".to_vec();
    for i in 0..400u32 {
        soup.push(0x80 | ((i.wrapping_mul(2654435761) >> 7) as u8 & 0x7f));
    }
    for name in ["a.rst", "a.org", "a.md", "a.txt", "a.csv"] {
        assert!(matches!(parse_err(name, &soup), ParseError::InvalidText { .. }), "{name}");
        assert_eq!(message(name, b" \n\t \n"), "no text: the file holds only whitespace", "{name}");
    }
    let mut bad_utf32 = vec![0xFF, 0xFE, 0, 0];
    bad_utf32.extend_from_slice(&0xD800u32.to_le_bytes());
    assert_eq!(parse_err("a.txt", &bad_utf32), ParseError::InvalidText { offset: 4 });
}

#[test]
fn office_files_without_text_say_so() {
    let pptx = fixture("deck.pptx");
    let empty_slide = br#"<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree/></p:cSld></p:sld>"#;
    let blank = zip_with_replaced(
        &pptx,
        &[("ppt/slides/slide1.xml", empty_slide), ("ppt/slides/slide2.xml", empty_slide), ("ppt/slides/slide3.xml", empty_slide)],
    );
    let blank = zip_without(&blank, &["ppt/notesSlides/notesSlide2.xml"]);
    assert_eq!(message("blank.pptx", &blank), "no text: the PPTX has nothing to index, only pictures, shapes or empty pages");
}

#[test]
fn every_hostile_input_is_an_error_not_a_panic() {
    // Truncations of every fixture, at many lengths: whatever happens, parse() returns.
    for name in
        ["handbook.docx", "handbook.odt", "handbook.rtf", "handbook.epub", "deck.pptx", "staff.xlsx", "staff.xls", "staff.ods", "memo.eml"]
    {
        let bytes = fixture(name);
        for cut in (1..bytes.len()).step_by(bytes.len() / 40 + 1) {
            let _ = parse(Path::new(name), &bytes[..cut]);
        }
    }
    let msg = ole_with(&[], &[("/__properties_version1.0", &[0u8; 32]), ("/__substg1.0_0037001F", &utf16le("s"))]);
    for cut in (1..msg.len()).step_by(97) {
        let _ = parse(Path::new("a.msg"), &msg[..cut]);
    }
}
