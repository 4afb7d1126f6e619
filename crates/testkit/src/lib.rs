//! What the tests of several crates and the crash harness share: where the real models are,
//! fixtures built in code, and [`process`], the one driver of `brain` processes (start one on a
//! data dir, wait for it, kill it at a crash point or after a delay, read its JSON).
//!
//! Most fixtures are built here in code. Binary fixtures are checked in only under
//! `crates/parse/tests/fixtures/`: the office documents and their PDF, HTML and EPUB exports
//! (written by LibreOffice from the flat ODF sources in `sources/`, the password-protected ones by
//! `sources/protect.py`), a few hand-written files (`memo.eml`, `notes.org`, `handbook.rst`) and
//! the inputs in `fuzz-regressions/` that once crashed a parser.
//!
//! Kept free of the engine and the models on purpose: a test binary that links it does not link
//! LanceDB, and the `brain-bench` harness depends on it for [`process`] at no cost. (candle's
//! GGUF writer, for [`write_lora`], is compiled for the engine anyway.)

pub mod process;

use std::path::{Path, PathBuf};

/// The models dir the tests run on: `BRAIN_MODELS_DIR`, else the engine's default
/// (`EngineOptions::resolve`), spelled out here so that depending on this crate stays cheap.
/// Panics with the fix when the models are not there: the tests run the real models.
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("BRAIN_MODELS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::data_dir().expect("a data dir").join("corporate-brain").join("models"));
    let gguf = dir.join(default_llm_file());
    assert!(
        gguf.is_file(),
        "the tests run the real models, and {} is missing: run `cargo run -- models fetch` (or set BRAIN_MODELS_DIR)",
        gguf.display()
    );
    dir
}

const MANIFEST: &str = include_str!("../../../assets/models.toml");

/// The file name of the default answer model, as `assets/models.toml` names it.
pub fn default_llm_file() -> String {
    let default = MANIFEST.lines().find_map(|l| l.strip_prefix("default_llm = ")).expect("default_llm in the manifest").trim_matches('"');
    llm_file(default)
}

/// The file name of the catalog's answer model `name` (`smollm2-135m`: the smallest, for tests
/// of generation itself).
pub fn llm_file(name: &str) -> String {
    let mut in_it = false;
    for line in MANIFEST.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            in_it = n.trim_matches('"') == name;
        }
        if in_it && let Some(file) = line.strip_prefix("file = ") {
            return file.trim_matches('"').to_string();
        }
    }
    panic!("the answer model {name} has no file in the manifest")
}

/// Write a file, creating its folders.
pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().expect("a file in a folder")).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A PDF with one line of text per page (Helvetica, A4), built with lopdf.
pub fn pdf_with_pages(pages: &[&str]) -> Vec<u8> {
    let pages: Vec<PdfPage> = pages.iter().map(|t| PdfPage::Text(std::slice::from_ref(t))).collect();
    pdf_with(&pages)
}

/// A page of a test PDF: lines of text in its text layer, or the same lines as a scan (an image
/// of the rendered page, JPEG-compressed, with no text layer at all).
#[derive(Debug, Clone, Copy)]
pub enum PdfPage<'a> {
    Text(&'a [&'a str]),
    Scan(&'a [&'a str]),
    /// A table ruled in a grid (a line round every cell), rows of cells, the first row its
    /// header: as text, and as a scan of its printout.
    Table(&'a [&'a [&'a str]]),
    ScannedTable(&'a [&'a [&'a str]]),
}

/// Resolution the scans of these fixtures are rendered at: an office scanner's 200 dpi.
pub const SCAN_DPI: u32 = 200;

/// A PDF of text and scanned pages (A4), built with lopdf; scanned pages are rendered by
/// poppler's `pdftoppm` (installed by the project's setup for OCR).
pub fn pdf_with(pages: &[PdfPage]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let mut kids = Vec::new();
    for page in pages {
        let (operations, resources) = match page {
            PdfPage::Text(lines) => {
                let mut ops = vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 12.into()]),
                    Operation::new("TL", vec![16.into()]),
                    Operation::new("Td", vec![72.into(), 700.into()]),
                ];
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 {
                        ops.push(Operation::new("T*", vec![]));
                    }
                    ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
                }
                ops.push(Operation::new("ET", vec![]));
                (ops, dictionary! { "Font" => dictionary! { "F1" => font_id } })
            }
            PdfPage::Table(rows) => (table_operations(rows), dictionary! { "Font" => dictionary! { "F1" => font_id } }),
            PdfPage::Scan(_) | PdfPage::ScannedTable(_) => {
                let text_page = match page {
                    PdfPage::ScannedTable(rows) => PdfPage::Table(rows),
                    PdfPage::Scan(lines) => PdfPage::Text(lines),
                    _ => unreachable!(),
                };
                let image = rendered(text_page, SCAN_DPI);
                let jpeg = jpeg(&image::DynamicImage::ImageLuma8(image.clone()));
                let xobject = doc.add_object(Stream::new(
                    dictionary! {
                        "Type" => "XObject", "Subtype" => "Image", "Width" => image.width() as i64, "Height" => image.height() as i64,
                        "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
                    },
                    jpeg,
                ));
                let ops = vec![
                    Operation::new("q", vec![]),
                    Operation::new("cm", vec![595.into(), 0.into(), 0.into(), 842.into(), 0.into(), 0.into()]),
                    Operation::new("Do", vec!["Im1".into()]),
                    Operation::new("Q", vec![]),
                ];
                (ops, dictionary! { "XObject" => dictionary! { "Im1" => xobject } })
            }
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, Content { operations }.encode().unwrap()));
        let resources_id = doc.add_object(resources);
        kids.push(
            doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources_id })
                .into(),
        );
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// The drawing of a ruled table: Helvetica 12 pt in cells 20 pt high, each column as wide as its
/// longest cell, a 1 pt line round every cell, from the top left of the page's text area.
fn table_operations(rows: &[&[&str]]) -> Vec<lopdf::content::Operation> {
    use lopdf::Object;
    use lopdf::content::Operation;
    let columns = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    // Helvetica's digits and lower case average about 0.56 em: 7 pt a character at 12 pt.
    let widths: Vec<f32> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|t| t.chars().count()).max().unwrap_or(0) as f32 * 7.0 + 12.0)
        .collect();
    let (left, top, height) = (72.0f32, 720.0f32, 20.0f32);
    let right = left + widths.iter().sum::<f32>();
    let bottom = top - height * rows.len() as f32;
    let mut ops = vec![Operation::new("w", vec![1.into()])];
    for i in 0..=rows.len() {
        let y = top - height * i as f32;
        ops.extend([Operation::new("m", vec![left.into(), y.into()]), Operation::new("l", vec![right.into(), y.into()])]);
    }
    let mut x = left;
    for i in 0..=columns {
        ops.extend([Operation::new("m", vec![x.into(), top.into()]), Operation::new("l", vec![x.into(), bottom.into()])]);
        x += widths.get(i).copied().unwrap_or(0.0);
    }
    ops.push(Operation::new("S", vec![]));
    for (r, row) in rows.iter().enumerate() {
        let mut x = left + 6.0;
        for (c, cell) in row.iter().enumerate() {
            let y = top - height * (r as f32 + 1.0) + 6.0;
            ops.extend([
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![x.into(), y.into()]),
                Operation::new("Tj", vec![Object::string_literal(*cell)]),
                Operation::new("ET", vec![]),
            ]);
            x += widths[c];
        }
    }
    ops
}

/// An A4 page holding `lines` (Helvetica 12 pt), as a grey image at `dpi`: what scanning a
/// printout gives. Rendered by `pdftoppm` from a text PDF.
pub fn rendered_page(lines: &[&str], dpi: u32) -> image::GrayImage {
    rendered(PdfPage::Text(lines), dpi)
}

/// A ruled table ([`PdfPage::Table`]) as a grey image at `dpi`: a scanned printout of it.
pub fn rendered_table(rows: &[&[&str]], dpi: u32) -> image::GrayImage {
    rendered(PdfPage::Table(rows), dpi)
}

/// A text page as a grey image at `dpi`, rendered by `pdftoppm`.
fn rendered(page: PdfPage, dpi: u32) -> image::GrayImage {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let pdf = pdf_with(&[page]);
    let mut child = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-singlefile", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pdftoppm (Debian package poppler-utils, installed by .ci/setup)");
    child.stdin.take().unwrap().write_all(&pdf).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "pdftoppm failed");
    image::load_from_memory_with_format(&output.stdout, image::ImageFormat::Pnm).unwrap().into_luma8()
}

/// The image as PNG.
pub fn png(image: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A small, valid PNG whose header claims `width` × `height` pixels (checksum fixed, so the
/// decoder believes it): the shape of a decompression bomb.
pub fn png_claiming_size(width: u32, height: u32) -> Vec<u8> {
    let mut png = png(&image::DynamicImage::ImageLuma8(image::GrayImage::new(8, 8)));
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// CRC-32 (ISO-HDLC) as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The image as a one-channel (grey) JPEG, quality 85, as scanners write them.
pub fn jpeg(image: &image::DynamicImage) -> Vec<u8> {
    let grey = image.to_luma8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode(grey.as_raw(), grey.width(), grey.height(), image::ExtendedColorType::L8)
        .unwrap();
    out
}

/// A phone photo of `upright`: the pixels stored turned a quarter to the left, with EXIF
/// orientation 6 ("turn 90° clockwise to view"), as cameras held upright write them.
pub fn jpeg_with_exif_rotation(upright: &image::DynamicImage) -> Vec<u8> {
    let stored = jpeg(&upright.rotate270());
    // APP1 "Exif": a little-endian TIFF header and one IFD entry, Orientation (0x0112) = 6.
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(0x0112u16.to_le_bytes());
    tiff.extend(3u16.to_le_bytes());
    tiff.extend(1u32.to_le_bytes());
    tiff.extend([6, 0, 0, 0]);
    tiff.extend(0u32.to_le_bytes());
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    let mut out = stored[..2].to_vec();
    out.extend(app1);
    out.extend(&stored[2..]);
    out
}

/// A zip of `entries`, deflated (the container of DOCX and XLSX).
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    for (name, data) in entries {
        writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap();
    out.into_inner()
}

fn xml_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An Office Open XML package: its main part (path and XML, the officeDocument) and the one part
/// the main part relates to (the relationship's type, the part's path beside the main part, XML).
fn office_package(main: (&str, &str), related: (&str, &str, &str)) -> Vec<u8> {
    const RELATIONSHIPS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    const TYPES: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let ((main_path, main_xml), (kind, target, related_xml)) = (main, related);
    let (folder, file) = main_path.rsplit_once('/').expect("the main part lies in a folder");
    let root_rels = format!(
        r#"<?xml version="1.0"?><Relationships xmlns="{RELATIONSHIPS}"><Relationship Id="rId1" Type="{TYPES}/officeDocument" Target="{main_path}"/></Relationships>"#
    );
    let main_rels = format!(
        r#"<?xml version="1.0"?><Relationships xmlns="{RELATIONSHIPS}"><Relationship Id="rId1" Type="{TYPES}/{kind}" Target="{target}"/></Relationships>"#
    );
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", root_rels.as_bytes()),
        (main_path, main_xml.as_bytes()),
        (&format!("{folder}/_rels/{file}.rels"), main_rels.as_bytes()),
        (&format!("{folder}/{target}"), related_xml.as_bytes()),
    ])
}

/// A Word document of paragraphs, each with its style (`Some("Heading1")`) or none.
pub fn docx_with(paragraphs: &[(Option<&str>, &str)]) -> Vec<u8> {
    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let body: String = paragraphs
        .iter()
        .map(|(style, text)| {
            let ppr = style.map(|s| format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#)).unwrap_or_default();
            format!(r#"<w:p>{ppr}<w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#, xml_escaped(text))
        })
        .collect();
    let document =
        format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}</w:body></w:document>"#);
    let styles = format!(
        r#"<w:styles {W}><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style></w:styles>"#
    );
    office_package(("word/document.xml", &document), ("styles", "styles.xml", &styles))
}

/// An Excel workbook of one sheet named `sheet`: `rows` from the first, every cell text.
pub fn xlsx_with(sheet: &str, rows: &[&[&str]]) -> Vec<u8> {
    let mut data =
        String::from(r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#);
    for (r, row) in rows.iter().enumerate() {
        data.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let column = char::from(b'A' + c as u8);
            data.push_str(&format!(r#"<c r="{column}{}" t="inlineStr"><is><t>{}</t></is></c>"#, r + 1, xml_escaped(cell)));
        }
        data.push_str("</row>");
    }
    data.push_str("</sheetData></worksheet>");
    let workbook = format!(
        r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        xml_escaped(sheet)
    );
    office_package(("xl/workbook.xml", &workbook), ("worksheet", "worksheets/sheet1.xml", &data))
}

/// The viewer's fixtures, one per kind of citation it shows, shared by the CLI's and the app's
/// end-to-end tests: a Word travel policy (two headings, the flights rule under the second).
pub fn travel_policy_docx() -> Vec<u8> {
    docx_with(&[
        (Some("Heading1"), "Travel Policy"),
        (None, "Book trains in second class for any journey under four hours."),
        (Some("Heading2"), "Flights"),
        (None, "Flights need the finance director's approval before anything is booked."),
    ])
}

/// A sheet "Depots" (Depot, Vans, Manager) of `depots` made-up depots, the `larchfield`-th of them
/// (1-based) Larchfield with 12 vans, managed by Tomasz Nowak.
pub fn depots_xlsx(depots: usize, larchfield: usize) -> Vec<u8> {
    let mut rows: Vec<Vec<String>> = vec![vec!["Depot".into(), "Vans".into(), "Manager".into()]];
    rows.extend((1..=depots).map(|i| vec![format!("Depot {i}"), (i % 17 + 3).to_string(), format!("Manager {i}")]));
    rows[larchfield] = vec!["Larchfield".into(), "12".into(), "Tomasz Nowak".into()];
    let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    xlsx_with("Depots", &rows.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// A scanned one-page memo (no text layer): the Dunmore depot's closure for maintenance.
pub fn depot_memo_pdf() -> Vec<u8> {
    pdf_with(&[PdfPage::Scan(&["Facilities memo", "The Dunmore depot closes for maintenance", "from 14 March to 28 March 2027."])])
}

/// A multi-page TIFF (8-bit grey, one frame per page), as a fax or a scanned contract comes.
pub fn multipage_tiff(pages: &[image::GrayImage]) -> Vec<u8> {
    use tiff::encoder::{TiffEncoder, colortype::Gray8};
    let mut out = std::io::Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut out).unwrap();
    for page in pages {
        encoder.write_image::<Gray8>(page.width(), page.height(), page.as_raw()).unwrap();
    }
    out.into_inner()
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

/// A LoRA adapter in llama.cpp's GGUF format for the GGUF model `model`: every layer's query
/// projection gets `B·A` of rank 4 with deterministic values (`seed` picks them). `widen`
/// adds columns to A, so the adapter no longer fits the model.
pub fn write_lora(model: &Path, path: &Path, widen: usize, seed: usize) {
    use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
    let content = gguf_file::Content::read(&mut std::fs::File::open(model).unwrap()).unwrap();
    let arch = content.metadata["general.architecture"].to_string().unwrap().clone();
    let layers = content.metadata[&format!("{arch}.block_count")].to_u32().unwrap() as usize;
    // candle's dims are ggml's reversed: (outputs, inputs).
    let (outputs, inputs) = content.tensor_infos["blk.0.attn_q.weight"].shape.dims2().unwrap();
    let rank = 4;
    let values = |n: usize, seed: usize| -> Vec<f32> { (0..n).map(|i| ((i * 7919 + seed * 104729) as f32 * 0.618).sin() * 0.5).collect() };
    let mut tensors = Vec::new();
    for layer in 0..layers {
        let dev = candle_core::Device::Cpu;
        let a = candle_core::Tensor::from_vec(values(rank * (inputs + widen), layer + seed), (rank, inputs + widen), &dev).unwrap();
        let b = candle_core::Tensor::from_vec(values(outputs * rank, layer + seed + 1000), (outputs, rank), &dev).unwrap();
        tensors.push((format!("blk.{layer}.attn_q.weight.lora_a"), QTensor::quantize(&a, GgmlDType::F32).unwrap()));
        tensors.push((format!("blk.{layer}.attn_q.weight.lora_b"), QTensor::quantize(&b, GgmlDType::F32).unwrap()));
    }
    let (arch, general, lora, alpha) = (
        gguf_file::Value::String(arch),
        gguf_file::Value::String("adapter".into()),
        gguf_file::Value::String("lora".into()),
        gguf_file::Value::F32(rank as f32),
    );
    let metadata = [("general.architecture", &arch), ("general.type", &general), ("adapter.type", &lora), ("adapter.lora.alpha", &alpha)];
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    gguf_file::write(&mut std::fs::File::create(path).unwrap(), &metadata, &tensors).unwrap();
}
