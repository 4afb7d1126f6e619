#![no_main]
//! The whole `parse()`: the first byte picks the file name, one per format of brain-parse's table
//! of formats (plus a legacy `.doc` and no extension), so one corpus reaches every format (and
//! the content sniffing that overrides a wrong extension).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| brain_parse::fuzzing::parse_any(data));
