//! Replays every input in tests/fixtures/fuzz-regressions through the fuzz target it was found
//! by: none may panic, and each must finish quickly.

use std::time::{Duration, Instant};

use brain_parse::fuzzing;

#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("the regressions folder exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let target = name.split('-').next().unwrap_or_default();
        let started = Instant::now();
        match target {
            "rtf" => fuzzing::rtf(&data),
            "docx_xml" => fuzzing::docx_document_xml(&data),
            "pptx_xml" => fuzzing::pptx_slide_xml(&data),
            "odf_xml" => fuzzing::odf_content_xml(&data),
            "headings" => fuzzing::marked_up_headings(&data),
            "decode_text" => fuzzing::decode_text(&data),
            "parse_any" => fuzzing::parse_any(&data),
            other => panic!("{name}: unknown fuzz target {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{name} took {:?}", started.elapsed());
        replayed += 1;
    }
    eprintln!("replayed {replayed} fuzz regression input(s)");
}
