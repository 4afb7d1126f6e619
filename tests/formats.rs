//! Every office format through the whole pipeline (parse in worker processes, chunk, embed, store,
//! search): a known phrase is found and reported at exactly its place. Broken and hostile files
//! in the same folder are listed with their reasons while everything else stays searchable.
//!
//! The office fixtures are the project's own (made with LibreOffice from the flat ODF sources in
//! `crates/parse/tests/fixtures/sources/`); the rest is written here.

mod common;

use std::path::{Path, PathBuf};

use common::{Brain, file_name, reason, write};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/parse/tests/fixtures").join(name)
}

/// The location of `phrase` in `file`, as `brain search` reports it.
fn location_of(brain: &Brain, phrase: &str, file: &str) -> Value {
    let results = brain.json(&["search", phrase, "--mode", "keyword", "--k", "40"])["results"].clone();
    let hit = results
        .as_array()
        .unwrap()
        .iter()
        .find(|r| file_name(r) == file && r["text"].as_str().unwrap().replace('\n', " ").contains(phrase))
        .unwrap_or_else(|| panic!("{phrase:?} not found in {file}: {results}"));
    hit["location"].clone()
}

#[test]
fn every_format_is_found_at_its_exact_place() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path();
    for name in [
        "handbook.docx",
        "handbook.odt",
        "handbook.rtf",
        "handbook.epub",
        "handbook.html",
        "handbook.rst",
        "notes.org",
        "deck.pptx",
        "deck.pdf",
        "staff.xlsx",
        "staff.xls",
        "staff.ods",
        "memo.eml",
    ] {
        std::fs::copy(fixture(name), root.join(name)).unwrap();
    }
    let mut csv = String::from("Name;Team;Phone\n");
    for i in 2..=45 {
        let name = if i == 44 { "Åsa Lindqvist".to_string() } else { format!("Person {i}") };
        csv.push_str(&format!("{name};Ops;\"+46 8 {i}\"\n"));
    }
    write(&root.join("phones.csv"), latin1(&csv));
    write(&root.join("guide.md"), "# Guide\n\nIntro.\n\n## Setup\n\nRun the installer twice before lunch.\n");
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain("Kühlschrank defrosting happens every Friday.".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    write(&root.join("kitchen.txt"), utf16);
    // A table in a PDF's text layer: a row per line, each figure under its column's header.
    let budgets: &[&[&str]] = &[
        &["Depot", "Vans", "Drivers", "Fuel budget (EUR)"],
        &["Ashcombe", "37", "52", "118,400.50"],
        &["Larchfield", "12", "19", "40,210.00"],
        &["Quayside North", "8", "11", "26,975.25"],
    ];
    write(
        &root.join("depot-budgets.pdf"),
        brain_testkit::pdf_with(&[brain_testkit::PdfPage::Text(&["Depot budgets for the year."]), brain_testkit::PdfPage::Table(budgets)]),
    );
    // Broken and hostile neighbours.
    for name in ["protected.odt", "protected.ods", "protected.xls"] {
        std::fs::copy(fixture(name), root.join(name)).unwrap();
    }
    let docx = std::fs::read(fixture("handbook.docx")).unwrap();
    write(&root.join("truncated.docx"), &docx[..docx.len() / 2]);
    write(&root.join("fake.xlsx"), "just text pretending to be a workbook");
    write(&root.join("empty.pptx"), "");
    brain.add_folder(root);

    let index = brain.command(&["index", "--json"]).output().unwrap();
    assert!(index.status.success(), "{}", String::from_utf8_lossy(&index.stderr));

    let cases: Vec<(&str, &str, Value)> = vec![
        ("handbook.docx", "work from abroad for up to 30 days", json!({"heading": "Policies > Remote work"})),
        ("handbook.odt", "lost badges", json!({"heading": "Security"})),
        ("handbook.epub", "lost badges", json!({"section": "Security"})),
        ("handbook.html", "work from abroad", json!({"heading": "Policies > Remote work"})),
        ("handbook.rtf", "work from abroad", json!({})),
        ("deck.pptx", "Hire two analysts", json!({"slide": 3})),
        ("deck.pdf", "Hire two analysts", json!({"page": 3})),
        ("depot-budgets.pdf", "Depot: Larchfield | Vans: 12 | Drivers: 19 | Fuel budget (EUR): 40,210.00", json!({"page": 2})),
        ("staff.xlsx", "Zoe Quartermaine | Research | 57000", json!({"sheet": "Staff", "rows": [41, 60]})),
        ("staff.xls", "Zoe Quartermaine | Research | 57000", json!({"sheet": "Staff", "rows": [41, 60]})),
        ("staff.ods", "Zoe Quartermaine | Research | 57000", json!({"sheet": "Staff", "rows": [41, 60]})),
        ("staff.xlsx", "Printer toner | 1200", json!({"sheet": "Budget", "rows": [1, 2]})),
        ("memo.eml", "work from abroad for up to 30 days", json!({"attachment": "handbook.docx", "heading": "Policies > Remote work"})),
        ("memo.eml", "Tuesday | Ravi", json!({"attachment": "forwarded.eml > rota.csv", "sheet": "rota", "rows": [1, 3]})),
        ("phones.csv", "Åsa Lindqvist | Ops | +46 8 44", json!({"sheet": "phones", "rows": [41, 45]})),
    ];
    for (file, phrase, expected) in &cases {
        assert_eq!(&location_of(&brain, phrase, file), expected, "{file}: {phrase}");
    }
    // Line-based formats carry their heading path and the chunk's own lines.
    let rst = location_of(&brain, "Book trains", "handbook.rst");
    assert_eq!(rst["heading"], "Staff Handbook > Travel");
    assert!(rst["lines"].is_array(), "{rst}");
    let org = location_of(&brain, "Search must cite the exact paragraph", "notes.org");
    assert_eq!(org["heading"], "Projects > Intranet search");
    assert_eq!(org["lines"][0], 9, "{org}");
    let md = location_of(&brain, "Run the installer twice", "guide.md");
    assert_eq!(md, json!({"heading": "Guide > Setup", "lines": [5, 7]}));
    assert_eq!(location_of(&brain, "defrosting happens every Friday", "kitchen.txt"), json!({"lines": [1, 1]}));

    let failures = common::failures(&brain);
    let reason = |name: &str| common::reason(&failures, name);
    assert_eq!(reason("protected.odt"), "encrypted ODT: it needs a password to open");
    assert_eq!(reason("protected.ods"), "encrypted ODS: it needs a password to open");
    assert_eq!(reason("protected.xls"), "encrypted XLS: it needs a password to open");
    assert!(reason("truncated.docx").starts_with("not a valid DOCX"), "{}", reason("truncated.docx"));
    assert!(reason("fake.xlsx").starts_with("not a valid XLSX"), "{}", reason("fake.xlsx"));
    assert!(reason("empty.pptx").contains("empty file"), "{}", reason("empty.pptx"));
    let status = brain.json(&["status"]);
    assert_eq!(status["files"]["failed"], 6, "{status}");
    assert_eq!(status["files"]["indexed"], 17, "{status}");
}

/// Latin-1 bytes for Latin-1 text (what an old spreadsheet export writes).
fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).expect("Latin-1 text")).collect()
}

#[test]
fn a_parser_that_aborts_hangs_or_eats_memory_fails_its_file_only() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path();
    write(&root.join("aborts.txt"), "this file makes the parser abort");
    write(&root.join("hog.txt"), "this file makes the parser allocate without bound");
    write(&root.join("hangs.txt"), "this file makes the parser hang");
    write(&root.join("fine.txt"), "The otter enclosure is cleaned on Mondays.");
    brain.add_folder(root);
    write(&brain.data.path().join("settings.toml"), "parse_timeout_secs = 6\nparse_memory_mb = 128\n");
    let out = brain
        .command(&["index", "--json"])
        .env("BRAIN_TEST_PARSE_ABORT", "aborts.txt")
        .env("BRAIN_TEST_PARSE_ALLOCATE", "hog.txt")
        .env("BRAIN_TEST_PARSE_HANG", "hangs.txt")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reasons = common::failures(&brain);
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0], ("aborts.txt".into(), "the parser crashed on this file (signal 6, abort)".into()));
    assert_eq!(reasons[1], ("hangs.txt".into(), "took longer than 6 s to parse; stopped (raise parse_timeout_secs to allow more)".into()));
    assert!(reasons[2].0 == "hog.txt" && reasons[2].1.starts_with("needed more than the 128 MB memory budget"), "{reasons:?}");
    assert_eq!(file_name(&brain.search("otter enclosure", "keyword")[0]), "fine.txt");
}

/// The hit for `query` in `mode` search that lies in `file`, among the first five.
fn hit_in(brain: &Brain, query: &str, mode: &str, file: &str) -> Value {
    let hits = brain.search(query, mode);
    hits.iter().find(|h| file_name(h) == file).cloned().unwrap_or_else(|| panic!("{mode} search for {query:?} missed {file}: {hits:?}"))
}

#[test]
fn scans_and_photos_of_text_are_read_by_ocr_and_cited_at_their_page() {
    use brain_testkit::{PdfPage, SCAN_DPI, jpeg_with_exif_rotation, multipage_tiff, pdf_with, png, rendered_page};
    use image::DynamicImage;

    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path();
    // Each phrase exists only inside an image: no text layer, no file name holds it.
    write(
        &root.join("signed-contract.pdf"),
        pdf_with(&[
            PdfPage::Scan(&["Service agreement between Quillfeather Logistics and its supplier.", "Page one of two."]),
            PdfPage::Scan(&["The Halvorsen turbine maintenance contract renews every March.", "Termination needs ninety days notice."]),
        ]),
    );
    write(
        &root.join("mixed-report.pdf"),
        pdf_with(&[
            PdfPage::Text(&["Annual depot report. The text layer of this page is ordinary text."]),
            PdfPage::Scan(&["Appendix: the Brightwater depot recorded zero forklift accidents."]),
        ]),
    );
    write(
        &root.join("whiteboard.png"),
        png(&DynamicImage::ImageLuma8(rendered_page(&["Sprint goal: migrate the Kestrel invoicing service."], SCAN_DPI))),
    );
    write(
        &root.join("phone-photo.jpg"),
        jpeg_with_exif_rotation(&DynamicImage::ImageLuma8(rendered_page(
            &["Visitors sign the Marrowgate register at reception."],
            SCAN_DPI,
        ))),
    );
    write(
        &root.join("fax.tiff"),
        multipage_tiff(&[
            rendered_page(&["Fax cover sheet for the purchasing department."], SCAN_DPI),
            rendered_page(&["Order 4471: deliver the Tamberlane pallets on Friday."], SCAN_DPI),
        ]),
    );
    // A scanned table ruled in a grid: every row is read, its cells on one line.
    write(
        &root.join("depot-roster.pdf"),
        pdf_with(&[PdfPage::ScannedTable(&[
            &["Depot", "Vans", "Drivers", "Fuel budget (EUR)"],
            &["Ashcombe", "37", "52", "118,400.50"],
            &["Larchfield", "12", "19", "40,210.00"],
            &["Quayside North", "8", "11", "26,975.25"],
            &["Thornbury", "21", "30", "71,002.75"],
        ])]),
    );
    // Hostile images: a header that claims 30,000 x 30,000 pixels, and a PNG cut in half.
    write(&root.join("bomb.png"), brain_testkit::png_claiming_size(30_000, 30_000));
    let whole = std::fs::read(root.join("whiteboard.png")).unwrap();
    write(&root.join("truncated.png"), &whole[..whole.len() / 2]);
    brain.add_folder(root);

    let index = brain.json(&["index"]);
    assert_eq!(index["summary"]["indexed"], 6, "{index}");
    assert_eq!(index["summary"]["failed"], 2, "{index}");
    // 2 + 1 + 1 scanned PDF pages, one PNG, one JPEG, two TIFF frames.
    assert_eq!(index["summary"]["ocr_pages"], 8, "{index}");
    let failures = common::failures(&brain);
    assert!(reason(&failures, "bomb.png").starts_with("image too large: 30000 × 30000 pixels"), "{failures:?}");
    assert!(reason(&failures, "truncated.png").contains("truncated or corrupt image"), "{failures:?}");

    // Found by keyword, at the right page, and marked as read by OCR.
    let contract = hit_in(&brain, "Halvorsen turbine", "keyword", "signed-contract.pdf");
    assert_eq!(contract["location"]["page"], 2, "{contract}");
    assert!(contract["location"]["ocr_confidence"].as_u64().unwrap() >= 70, "{contract}");
    let appendix = hit_in(&brain, "Brightwater forklift accidents", "keyword", "mixed-report.pdf");
    assert_eq!(appendix["location"]["page"], 2, "{appendix}");
    let text_page = hit_in(&brain, "ordinary text layer", "keyword", "mixed-report.pdf");
    assert_eq!(text_page["location"]["page"], 1);
    assert!(text_page["location"].get("ocr_confidence").is_none(), "a page with text is not OCR'd: {text_page}");
    let order = hit_in(&brain, "Tamberlane pallets", "keyword", "fax.tiff");
    assert_eq!(order["location"]["page"], 2, "{order}");
    assert!(hit_in(&brain, "Kestrel invoicing", "keyword", "whiteboard.png")["text"].as_str().unwrap().contains("Kestrel invoicing"));
    // The photo was read upright (its pixels lie on their side).
    assert!(hit_in(&brain, "Marrowgate register", "keyword", "phone-photo.jpg")["text"].as_str().unwrap().contains("Marrowgate register"));

    // Every row is found, on one line with its last cell (OCR may still misread a figure here
    // and there: "52" came back as "We" once).
    for (depot, budget) in
        [("Ashcombe", "118,400.50"), ("Larchfield", "40,210.00"), ("Quayside North", "26,975.25"), ("Thornbury", "71,002.75")]
    {
        let row = hit_in(&brain, depot, "keyword", "depot-roster.pdf");
        let text = row["text"].as_str().unwrap();
        assert!(text.lines().any(|l| l.contains(depot) && l.contains(budget)), "the row of {depot} is not read whole: {text}");
    }

    // Found by meaning, in words the scan does not use.
    let by_meaning = hit_in(&brain, "when does the agreement for servicing the turbines get renewed", "vector", "signed-contract.pdf");
    assert_eq!(by_meaning["location"]["page"], 2, "{by_meaning}");

    // An answer cites the scanned page.
    let answer = brain.json(&["ask", "How much notice does terminating the Halvorsen turbine contract need?"]);
    assert_eq!(answer["found"], true, "{answer}");
    assert!(
        answer["citations"].as_array().unwrap().iter().any(|c| file_name(c) == "signed-contract.pdf" && c["location"]["page"] == 2),
        "the answer does not cite the scan's page 2: {answer}"
    );

    // OCR is done once per content: a renamed scan is indexed again without OCR.
    std::fs::rename(root.join("signed-contract.pdf"), root.join("contract-2024.pdf")).unwrap();
    let again = brain.json(&["index"]);
    assert_eq!(again["summary"]["ocr_pages"], 0, "{again}");
    assert_eq!(hit_in(&brain, "Halvorsen turbine", "keyword", "contract-2024.pdf")["location"]["page"], 2);

    let status = brain.json(&["status"]);
    assert_eq!(status["ocr"]["available"], true, "{status}");
    assert!(status["ocr"]["installed"].as_array().unwrap().iter().any(|l| l == "eng"), "{status}");
}

#[test]
fn without_tesseract_scans_fail_naming_the_package_and_nothing_else_changes() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path();
    write(&root.join("scan.pdf"), brain_testkit::pdf_with(&[brain_testkit::PdfPage::Scan(&["A scanned letter."])]));
    write(&root.join("notes.txt"), "The canteen opens at eight.");
    brain.add_folder(root);
    let out = brain.command(&["index", "--json"]).env(brain_ocr::LIBRARY_VARIABLE, "/nonexistent/libtesseract.so.5").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let failures = common::failures(&brain);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(reason(&failures, "scan.pdf").contains("install the Debian package tesseract-ocr"), "{failures:?}");
    assert_eq!(file_name(&brain.search("canteen opens", "keyword")[0]), "notes.txt");
}
