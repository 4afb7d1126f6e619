//! What the tests of several crates share (a dev-dependency only): where the real models are, and
//! fixtures built in code so that no binary fixture is checked in.
//!
//! Kept free of the engine on purpose: a test binary that links it does not link LanceDB.

use std::path::{Path, PathBuf};

/// The models dir the tests run on: `BRAIN_MODELS_DIR`, else the engine's default
/// (`EngineOptions::resolve`), spelled out here so that depending on this crate stays cheap.
/// Panics with the fix when the models are not there: the tests run the real models.
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("BRAIN_MODELS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::data_dir().expect("a data dir").join("corporate-brain").join("models"));
    let gguf = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        gguf.is_file(),
        "the tests run the real models, and {} is missing: run `cargo run -- models fetch` (or set BRAIN_MODELS_DIR)",
        gguf.display()
    );
    dir
}

/// Write a file, creating its folders.
pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().expect("a file in a folder")).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A PDF with one line of text per page (Helvetica, A4), built with lopdf.
pub fn pdf_with_pages(pages: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for text in pages {
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![72.into(), 700.into()]),
                Operation::new("Tj", vec![Object::string_literal(*text)]),
                Operation::new("ET", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        kids.push(doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id }).into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// A multipart e-mail with a plain-text body and attachments (file name, MIME type, bytes),
/// from "Ann Example <ann@example.com>" to team@example.com on 1 March 2024.
pub fn eml_with(subject: &str, body: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut out = format!(
        "From: Ann Example <ann@example.com>\r\nTo: team@example.com\r\nSubject: {subject}\r\nDate: Fri, 1 Mar 2024 14:05:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    for (name, mime, bytes) in attachments {
        out.push_str(&format!(
            "--BOUNDARY\r\nContent-Type: {mime}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64_lines(bytes)
        ));
    }
    out.push_str("--BOUNDARY--\r\n");
    out.into_bytes()
}

/// Base64 in MIME's 76-character lines (written here: a test fixture is not worth a dependency).
fn base64_lines(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(3).enumerate() {
        // 19 groups of 4 characters = 76 per line.
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = (u32::from(chunk[0]) << 16) | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8) | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            out.push(if k <= chunk.len() { ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char } else { '=' });
        }
    }
    out
}
