//! Every format through the public `parse()`: a known phrase must come back at exactly the place a
//! citation should point to. Office fixtures were written by LibreOffice from the flat ODF
//! sources in tests/fixtures/sources; e-mails, text and OLE files are written here or by hand.

mod common;

use std::path::Path;

use brain_parse::formats::{Cites, FORMATS};
use brain_parse::{Format, Location, Ocr, PageError, PageImage, Recognize, Recognized, RenderPage, parse, parse_with};
use common::*;

fn heading(path: &str) -> Location {
    Location { heading: Some(path.into()), ..Default::default() }
}

fn sheet_rows(sheet: &str, first: u32, last: u32) -> Location {
    Location { sheet: Some(sheet.into()), rows: Some([first, last]), ..Default::default() }
}

#[test]
fn docx_heading_path_table_and_header() {
    let doc = parse_fixture("handbook.docx");
    assert_eq!(doc.format, Format::Docx);
    assert_eq!(section_with(&doc, "work from abroad for up to 30 days").location, heading("Policies > Remote work"));
    let expenses = section_with(&doc, "Taxi | 40 euros");
    assert_eq!(expenses.location, heading("Policies > Expenses"));
    assert!(expenses.text.contains("Item | Limit\nTaxi | 40 euros\nHotel night | 150 euros"), "{}", expenses.text);
    assert_eq!(section_with(&doc, "ACME internal use only").location, heading("Page header"));
    assert_eq!(section_with(&doc, "Handbook revision 7").location, heading("Page footer"));
    assert!(section_with(&doc, "lost badges").text.contains("Größe, café, naïve"));
}

#[test]
fn odt_heading_path() {
    let doc = parse_fixture("handbook.odt");
    assert_eq!(doc.format, Format::Odt);
    assert_eq!(section_with(&doc, "work from abroad").location, heading("Policies > Remote work"));
    assert_eq!(section_with(&doc, "Hotel night | 150 euros").location, heading("Policies > Expenses"));
    assert_eq!(section_with(&doc, "lost badges").location, heading("Security"));
}

#[test]
fn rtf_plain_text_without_heading() {
    let doc = parse_fixture("handbook.rtf");
    assert_eq!(doc.format, Format::Rtf);
    let s = section_with(&doc, "work from abroad for up to 30 days");
    assert_eq!(s.location, Location::default());
    assert_eq!(s.context.as_deref(), Some("handbook"));
    assert!(s.text.contains("Größe, café, naïve"), "{}", s.text);
    assert!(!s.text.contains("fonttbl") && !s.text.contains("Liberation"), "font table leaked: {}", s.text);
}

#[test]
fn epub_chapter_titles() {
    let doc = parse_fixture("handbook.epub");
    assert_eq!(doc.format, Format::Epub);
    assert_eq!(section_with(&doc, "work from abroad").location, Location { section: Some("Policies".into()), ..Default::default() });
    assert_eq!(section_with(&doc, "lost badges").location, Location { section: Some("Security".into()), ..Default::default() });
    assert!(section_with(&doc, "Taxi | 40 euros").text.contains("Item | Limit"));
}

#[test]
fn html_heading_path() {
    let doc = parse_fixture("handbook.html");
    assert_eq!(doc.format, Format::Html);
    assert_eq!(section_with(&doc, "work from abroad").location, heading("Policies > Remote work"));
    let page = r#"<html><head><title>Intranet</title><script>var secret = "token";</script></head><body><nav>Home | Jobs</nav><h1>IT</h1><h2>Laptops</h2><p>Laptops are replaced every four years.</p></body></html>"#;
    let doc = parse(Path::new("it.htm"), page.as_bytes()).unwrap();
    assert_eq!(section_with(&doc, "replaced every four years").location, heading("IT > Laptops"));
    assert!(!doc.sections.iter().any(|s| s.text.contains("token") || s.text.contains("Jobs")));
}

#[test]
fn pptx_slides_and_notes() {
    let doc = parse_fixture("deck.pptx");
    assert_eq!(doc.format, Format::Pptx);
    let slide2 = section_with(&doc, "Revenue grew 12 percent");
    assert_eq!(slide2.location, Location { slide: Some(2), ..Default::default() });
    assert!(slide2.text.contains("Notes:\nMention the Berlin office opening in March."), "{}", slide2.text);
    assert_eq!(slide2.context.as_deref(), Some("Revenue"));
    assert_eq!(section_with(&doc, "Hire two analysts").location, Location { slide: Some(3), ..Default::default() });
}

#[test]
fn pdf_pages() {
    let doc = parse_fixture("deck.pdf");
    assert_eq!(section_with(&doc, "Hire two analysts").location, Location::page(3));
}

/// The same workbook as XLSX, XLS and ODS: row 57 sits in the second group of rows, and every
/// group carries the header row.
fn check_staff_workbook(name: &str, format: Format) {
    let doc = parse_fixture(name);
    assert_eq!(doc.format, format, "{name}");
    let zoe = section_with(&doc, "Zoe Quartermaine | Research | 57000");
    assert_eq!(zoe.location, sheet_rows("Staff", 41, 60), "{name}");
    assert_eq!(zoe.context.as_deref(), Some("Staff: Name | Dept | Salary"), "{name}");
    let first = section_with(&doc, "Person 2 | Sales | 2000");
    assert_eq!(first.location, sheet_rows("Staff", 1, 40), "{name}");
    assert_eq!(section_with(&doc, "Printer toner | 1200").location, sheet_rows("Budget", 1, 2), "{name}");
}

#[test]
fn xlsx_sheet_and_rows() {
    check_staff_workbook("staff.xlsx", Format::Xlsx);
}

#[test]
fn xls_sheet_and_rows() {
    check_staff_workbook("staff.xls", Format::Xls);
}

#[test]
fn ods_sheet_and_rows() {
    check_staff_workbook("staff.ods", Format::Ods);
}

#[test]
fn csv_and_tsv_rows_with_detected_delimiter_and_encoding() {
    let mut csv = String::from("Name;Team;Phone\n");
    for i in 2..=45 {
        let name = if i == 44 { "Åsa Lindqvist".to_string() } else { format!("Person {i}") };
        csv.push_str(&format!("{name};Ops;\"+46 8 {i}\"\n"));
    }
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&csv);
    let doc = parse(Path::new("/share/phones.csv"), &latin1).unwrap();
    assert_eq!(doc.format, Format::Csv);
    let s = section_with(&doc, "Åsa Lindqvist | Ops | +46 8 44");
    assert_eq!(s.location, sheet_rows("phones", 41, 45));
    assert_eq!(s.context.as_deref(), Some("phones: Name | Team | Phone"));
    assert!(doc.warnings.iter().any(|w| w.contains("windows-1252")), "{:?}", doc.warnings);

    let tsv = "City\tOffice\nLisbon\tRua Augusta 1, 2nd floor\nOslo\tKarl Johans gate 5\n";
    let doc = parse(Path::new("offices.tsv"), tsv.as_bytes()).unwrap();
    let s = section_with(&doc, "Oslo | Karl Johans gate 5");
    assert_eq!(s.location, sheet_rows("offices", 1, 3));
    assert!(s.text.contains("Lisbon | Rua Augusta 1, 2nd floor"), "comma inside a TSV field stays: {}", s.text);
}

#[test]
fn eml_body_and_attachments_parsed_recursively() {
    let doc = parse_fixture("memo.eml");
    assert_eq!(doc.format, Format::Eml);
    let body = section_with(&doc, "remote work rules changed");
    assert_eq!(body.location, Location::default());
    assert_eq!(body.context.as_deref(), Some("Handbook update – please read"));
    assert!(body.text.starts_with(
        "Subject: Handbook update – please read\nFrom: Ann Example <ann@example.com>\nTo: Team <team@example.com>, bob@example.com\nCc: hr@example.com\nDate: 2024-03-01T14:05:00Z\n\nHi all,"
    ), "{}", body.text);
    assert!(!body.text.contains("<b>"), "text/plain is preferred to HTML");
    let attached = section_with(&doc, "work from abroad for up to 30 days");
    assert_eq!(
        attached.location,
        Location { attachment: Some("handbook.docx".into()), heading: Some("Policies > Remote work".into()), ..Default::default() }
    );
    let nested = section_with(&doc, "Tuesday | Ravi");
    assert_eq!(
        nested.location,
        Location {
            attachment: Some("forwarded.eml > rota.csv".into()),
            sheet: Some("rota".into()),
            rows: Some([1, 3]),
            ..Default::default()
        }
    );
    assert_eq!(section_with(&doc, "next week's rota").location.attachment.as_deref(), Some("forwarded.eml"));
}

#[test]
fn eml_html_only_body_is_converted() {
    let eml = b"From: a@example.com\r\nSubject: Menu\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><h1>Canteen</h1><p>Soup on <b>Friday</b>.</p><script>x()</script></body></html>\r\n";
    let doc = parse(Path::new("menu.eml"), eml).unwrap();
    assert!(doc.sections[0].text.ends_with("Canteen\n\nSoup on Friday."), "{}", doc.sections[0].text);
}

/// An Outlook message as Outlook stores it: MAPI properties as streams, the attachment's bytes
/// in its own storage (here the XLSX fixture).
fn outlook_message() -> Vec<u8> {
    let xlsx = fixture("staff.xlsx");
    let mut properties = vec![0u8; 32];
    let filetime: u64 = (1_709_301_900 + 11_644_473_600) * 10_000_000;
    properties.extend_from_slice(&0x0039_0040u32.to_le_bytes());
    properties.extend_from_slice(&[6, 0, 0, 0]);
    properties.extend_from_slice(&filetime.to_le_bytes());
    let a = "/__attach_version1.0_#00000000";
    ole_with(
        &[a],
        &[
            ("/__properties_version1.0", &properties),
            ("/__substg1.0_0037001F", &utf16le("Salary review")),
            ("/__substg1.0_0C1A001F", &utf16le("Bob Builder")),
            ("/__substg1.0_0C1F001F", &utf16le("bob@example.com")),
            ("/__substg1.0_0E04001F", &utf16le("Finance Team")),
            ("/__substg1.0_1000001F", &utf16le("The salary sheet is attached; Zoe moved to Research.")),
            (&format!("{a}/__properties_version1.0"), &[0u8; 8]),
            (&format!("{a}/__substg1.0_3707001F"), &utf16le("staff.xlsx")),
            (&format!("{a}/__substg1.0_37010102"), &xlsx),
        ],
    )
}

#[test]
fn msg_fields_and_attachment_rows() {
    let doc = parse(Path::new("review.msg"), &outlook_message()).unwrap();
    assert_eq!(doc.format, Format::Msg);
    let body = section_with(&doc, "Zoe moved to Research");
    assert_eq!(
        body.text,
        "Subject: Salary review\nFrom: Bob Builder <bob@example.com>\nTo: Finance Team\nDate: 2024-03-01 14:05:00 UTC\n\nThe salary sheet is attached; Zoe moved to Research."
    );
    let row = section_with(&doc, "Zoe Quartermaine | Research | 57000");
    assert_eq!(
        row.location,
        Location { attachment: Some("staff.xlsx".into()), sheet: Some("Staff".into()), rows: Some([41, 60]), ..Default::default() }
    );
}

#[test]
fn rst_heading_paths_and_lines() {
    let doc = parse_fixture("handbook.rst");
    assert_eq!(doc.format, Format::Rst);
    let s = section_with(&doc, "Call your manager before 9 am");
    assert_eq!(s.location, heading("Staff Handbook > Leave > Sick leave"));
    assert_eq!(s.first_line, Some(15));
    assert_eq!(section_with(&doc, "Book trains").location, heading("Staff Handbook > Travel"));
}

#[test]
fn org_heading_paths_and_lines() {
    let doc = parse_fixture("notes.org");
    assert_eq!(doc.format, Format::Org);
    let s = section_with(&doc, "Search must cite the exact paragraph");
    assert_eq!(s.location, heading("Projects > Intranet search"));
    assert_eq!(s.first_line, Some(9));
    let web = section_with(&doc, "goes live on 15 May");
    assert_eq!(web.location, heading("Projects > Website relaunch"));
    assert!(web.text.contains("* this star starts a code line"), "code stays in its section");
}

#[test]
fn markdown_heading_paths_and_lines() {
    let md = "# Guide\n\nIntro.\n\n## Setup\n\nRun the installer twice.\n";
    let doc = parse(Path::new("guide.md"), md.as_bytes()).unwrap();
    let s = section_with(&doc, "installer twice");
    assert_eq!(s.location, heading("Guide > Setup"));
    assert_eq!(s.first_line, Some(5));
}

#[test]
fn text_in_utf16_and_utf32_with_bom() {
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(utf16le("Zeile eins\nDie Kantine öffnet um 11:30 Uhr.\n"));
    let doc = parse(Path::new("kantine.txt"), &utf16).unwrap();
    assert_eq!(doc.format, Format::Text);
    assert_eq!(section_with(&doc, "öffnet um 11:30").first_line, Some(1));
    assert_eq!(doc.warnings, ["decoded as UTF-16LE"]);

    let mut utf32 = vec![0, 0, 0xFE, 0xFF];
    utf32.extend("Ünïcödé 32 text\n".chars().flat_map(|c| (c as u32).to_be_bytes()));
    let doc = parse(Path::new("u32.txt"), &utf32).unwrap();
    assert_eq!(section_with(&doc, "Ünïcödé 32").first_line, Some(1));
    assert_eq!(doc.warnings, ["decoded as UTF-32BE"]);
}

#[test]
fn json_xml_yaml_are_text() {
    for (name, body) in [("a.json", r#"{"policy": "badges"}"#), ("a.xml", "<p>badges</p>"), ("a.yaml", "policy: badges")] {
        let doc = parse(Path::new(name), body.as_bytes()).unwrap();
        assert_eq!(doc.format, Format::Text, "{name}");
        assert_eq!(section_with(&doc, "badges").first_line, Some(1));
    }
}

#[test]
fn content_decides_when_the_name_lies() {
    let docx = fixture("handbook.docx");
    let doc = parse(Path::new("handbook.doc"), &docx).unwrap();
    assert_eq!(doc.format, Format::Docx);
    assert_eq!(doc.warnings[0], "read as DOCX although the file is named .doc");
    let doc = parse(Path::new("download"), &fixture("staff.ods")).unwrap();
    assert_eq!(doc.format, Format::Ods);
}

/// Stand-in OCR: every page reads the same words.
struct ReadsWords;

impl Recognize for ReadsWords {
    fn recognize(&mut self, _page: &PageImage) -> Result<Recognized, PageError> {
        Ok(Recognized { text: "Words read by OCR".into(), confidence: 90 })
    }
}

/// Stand-in renderer: every page is blank.
struct BlankPages;

impl RenderPage for BlankPages {
    fn render_page(&mut self, _pdf: &[u8], _page: u32, dpi: u32) -> Result<PageImage, PageError> {
        Ok(PageImage { width: 8, height: 8, pixels: vec![255; 64], dpi })
    }
}

/// The fields a location sets, by their JSON names; OCR's confidence aside (any format read by
/// OCR has it).
fn location_fields(location: &Location) -> Vec<String> {
    let json = serde_json::to_value(location).unwrap();
    json.as_object().unwrap().keys().filter(|k| *k != "ocr_confidence").cloned().collect()
}

#[test]
fn every_format_is_cited_where_its_row_of_the_table_says() {
    let frames = [image::GrayImage::new(8, 8), image::GrayImage::new(8, 8)];
    let mut samples: Vec<(String, Vec<u8>)> = vec![
        ("notes.txt".into(), b"Plain words\non two lines\n".to_vec()),
        ("main.rs".into(), b"fn main() {\n    println!(\"hello\");\n}\n".to_vec()),
        ("guide.md".into(), b"# Guide\n\nIntro.\n\n## Setup\n\nRun the installer twice.\n".to_vec()),
        ("phones.csv".into(), b"Name,Phone\nAnn,123\n".to_vec()),
        ("review.msg".into(), outlook_message()),
        ("fax.tiff".into(), brain_testkit::multipage_tiff(&frames)),
    ];
    for name in [
        "deck.pdf",
        "deck.pptx",
        "handbook.docx",
        "handbook.epub",
        "handbook.html",
        "handbook.odt",
        "handbook.rst",
        "handbook.rtf",
        "memo.eml",
        "notes.org",
        "staff.ods",
        "staff.xls",
        "staff.xlsx",
    ] {
        samples.push((name.into(), fixture(name)));
    }
    let mut seen: Vec<Format> = Vec::new();
    for (name, bytes) in &samples {
        let ocr = Ocr { recognize: &mut ReadsWords, render: &mut BlankPages };
        let doc = parse_with(Path::new(name), bytes, Some(ocr)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let row = doc.format.row();
        // `lines` are the chunker's, counted from each section's first line.
        let counts_lines = row.cites.fields().contains(&"lines");
        let expected: Vec<&str> = row.cites.fields().iter().copied().filter(|f| *f != "lines").collect();
        let mut cited: Vec<String> = Vec::new();
        for section in &doc.sections {
            let fields = location_fields(&section.location);
            if fields.iter().any(|f| f == "attachment") {
                // An attachment is cited at its own place besides.
                assert_eq!(row.cites, Cites::Attachment, "{name}: an attachment in a {} ({:?})", row.label, section.location);
                cited.push("attachment".into());
                continue;
            }
            assert!(
                fields.iter().all(|f| expected.contains(&f.as_str())),
                "{name}: a section cited at {fields:?}, but the {} row of formats.rs says {:?}",
                row.label,
                row.cites
            );
            assert_eq!(section.first_line.is_some(), counts_lines, "{name}: the {} row says lines: {counts_lines}", row.label);
            cited.extend(fields);
        }
        for field in &expected {
            assert!(cited.iter().any(|c| c == field), "{name}: no section is cited at `{field}`, which the {} row promises", row.label);
        }
        seen.push(doc.format);
    }
    for row in FORMATS {
        assert!(seen.contains(&row.format), "no sample of {} in this test: add one", row.label);
    }
}
