#![no_main]
//! The whole `parse()`: the first byte picks the file name's extension, so one corpus reaches
//! every format (and the content sniffing that overrides a wrong extension).

use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "a.docx", "a.pptx", "a.xlsx", "a.xls", "a.ods", "a.csv", "a.odt", "a.rtf", "a.epub", "a.html", "a.eml",
    "a.msg", "a.rst", "a.org", "a.md", "a.txt", "a.pdf", "a.doc", "noext",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    brain_parse::fuzzing::whole(NAMES[pick as usize % NAMES.len()], rest);
});
