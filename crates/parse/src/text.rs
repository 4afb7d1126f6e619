//! Plain text: decoding bytes to a `String` without guessing wrong, and the one-section layout.

use crate::{Location, ParseError, Section};

/// Text decoded from bytes, and the legacy encoding used if it was not UTF-8.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedText {
    pub text: String,
    /// `None` for UTF-8 (with or without BOM); otherwise the encoding's name.
    pub encoding: Option<&'static str>,
}

/// Decode a text file: UTF-8, UTF-16 or UTF-32 with BOM, UTF-16 without BOM (recognised by its
/// zero bytes), or a legacy 8-bit encoding detected from the content (never assumed). Binary
/// content and byte soup are errors, not mojibake in the index.
pub fn decode_text(bytes: &[u8]) -> Result<DecodedText, ParseError> {
    // UTF-32 first: its little-endian BOM begins with UTF-16LE's.
    if let Some((big_endian, name)) = utf32_bom(bytes) {
        let text = decode_utf32(&bytes[4..], big_endian).ok_or(ParseError::InvalidText { offset: 4 })?;
        return finish(text, Some(name));
    }
    if let Some(encoding) = bomless_utf16(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
        // Binary data with small 16-bit numbers has the same zero pattern; text has few controls.
        let controls = text.chars().take(4096).filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}')).count();
        if !had_errors && controls * 50 < text.chars().take(4096).count() {
            return finish(text.into_owned(), Some(encoding.name()));
        }
    }
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors && encoding != encoding_rs::UTF_8 {
            return Err(ParseError::InvalidText { offset: bom_len });
        }
        return finish(text.into_owned(), (encoding != encoding_rs::UTF_8).then(|| encoding.name()));
    }
    if looks_binary(bytes) {
        return Err(ParseError::Binary(None));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => finish(text.to_string(), None),
        Err(utf8_error) => {
            let offset = utf8_error.valid_up_to();
            let mut detector = chardetng::EncodingDetector::new();
            detector.feed(bytes, true);
            let (encoding, plausible) = detector.guess_assess(None, true);
            if !plausible || encoding == encoding_rs::UTF_8 {
                return Err(ParseError::InvalidText { offset });
            }
            let (text, _, had_errors) = encoding.decode(bytes);
            if had_errors || !reads_like_words(&text) {
                return Err(ParseError::InvalidText { offset });
            }
            finish(text.into_owned(), Some(encoding.name()))
        }
    }
}

fn utf32_bom(bytes: &[u8]) -> Option<(bool, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) {
        Some((false, "UTF-32LE"))
    } else if bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        Some((true, "UTF-32BE"))
    } else {
        None
    }
}

/// UTF-32 code units to text; `None` if any is not a Unicode scalar value.
fn decode_utf32(bytes: &[u8], big_endian: bool) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() / 4);
    for unit in bytes.chunks(4) {
        let unit: [u8; 4] = unit.try_into().ok()?;
        let value = if big_endian { u32::from_be_bytes(unit) } else { u32::from_le_bytes(unit) };
        out.push(char::from_u32(value)?);
    }
    Some(out)
}

/// UTF-16 written without a BOM: in mostly-ASCII text every other byte is zero, on one side.
fn bomless_utf16(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(4096) & !1];
    if head.len() < 8 || encoding_rs::Encoding::for_bom(bytes).is_some() {
        return None;
    }
    let pairs = head.len() / 2;
    let zero_even = head.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if zero_odd * 10 >= pairs * 7 && zero_even * 20 < pairs {
        Some(encoding_rs::UTF_16LE)
    } else if zero_even * 10 >= pairs * 7 && zero_odd * 20 < pairs {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

fn finish(text: String, encoding: Option<&'static str>) -> Result<DecodedText, ParseError> {
    // Normalise line endings once here so line numbers and offsets agree everywhere downstream.
    let text = if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n") } else { text };
    Ok(DecodedText { text, encoding })
}

/// NUL bytes, or many control characters, in the first 8 KiB mean this is not a text file.
fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let controls = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)).count();
    controls * 20 > head.len()
}

/// A legacy-decoded text is accepted only if its non-ASCII characters sit inside words, as they
/// do in real Latin-1, Cyrillic or Greek prose; random bytes decode to symbols next to
/// punctuation and fail this.
fn reads_like_words(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut non_ascii = 0usize;
    let mut in_words = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii() {
            continue;
        }
        non_ascii += 1;
        if c.is_control() {
            return false;
        }
        let typographic = matches!(c, '\u{a0}' | '’' | '‘' | '“' | '”' | '–' | '—' | '…' | '«' | '»' | '€' | '£' | '°' | '©' | '·' | '§');
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let neighbour_ok = |n: Option<char>| n.is_none_or(|n| n.is_alphabetic() || n.is_whitespace() || n.is_ascii_punctuation());
        if typographic || (c.is_alphabetic() && neighbour_ok(prev) && neighbour_ok(next)) {
            in_words += 1;
        }
    }
    non_ascii == 0 || in_words * 10 >= non_ascii * 9
}

/// The first 512 bytes as lowercase text, without a BOM or leading space: what content sniffing
/// of text formats (HTML, e-mail) looks at.
pub(crate) fn head_lowercase(bytes: &[u8]) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    head.trim_start_matches('\u{feff}').trim_start().to_string()
}

/// Plain text and source code: one section for the whole file; the chunker cuts it and gives each
/// chunk its own line range. The file's title is the context every chunk carries.
pub(crate) fn sections(text: &str, title: &str) -> Vec<Section> {
    vec![Section {
        text: text.to_string(),
        location: Location::default(),
        first_line: Some(1),
        context: (!title.is_empty()).then(|| title.to_string()),
    }]
}

/// Lay out extracted text for reading and chunking: whitespace inside a line collapsed to one
/// space, blank-line runs collapsed to one (a paragraph break), nothing at either end. PDF and
/// RTF extraction both leave layout padding that would otherwise cost tokens.
/// `text` on one line (runs of white space made one space), cut after `max_chars` characters
/// with "…": a title or a caption that must not grow into a paragraph.
pub(crate) fn one_line(text: &str, max_chars: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

pub(crate) fn tidy_layout(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run = 0;
    for line in raw.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_and_bom() {
        assert_eq!(decode_text("héllo".as_bytes()).unwrap().text, "héllo");
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("hi".as_bytes());
        assert_eq!(decode_text(&bom).unwrap(), DecodedText { text: "hi".into(), encoding: None });
    }

    #[test]
    fn utf16_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "Grüße".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let d = decode_text(&bytes).unwrap();
        assert_eq!(d.text, "Grüße");
        assert_eq!(d.encoding, Some("UTF-16LE"));
    }

    #[test]
    fn windows_1252_is_detected_not_mangled() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252
            .encode("Les congés payés sont accordés après une période d'essai. Le salarié doit déposer sa demande auprès du responsable.");
        let d = decode_text(&bytes).unwrap();
        assert!(d.text.contains("congés payés"), "{}", d.text);
        assert!(d.encoding.is_some());
    }

    #[test]
    fn byte_soup_is_invalid_text() {
        let mut bytes = b"start ".to_vec();
        for i in 0..400u32 {
            bytes.push(0x80 | ((i.wrapping_mul(2654435761) >> 7) as u8 & 0x7f));
            if i % 7 == 0 {
                bytes.push(b' ');
            }
        }
        assert!(matches!(decode_text(&bytes), Err(ParseError::InvalidText { offset: 6 })));
    }

    #[test]
    fn utf32_with_bom_and_utf16_without() {
        let mut le = vec![0xFF, 0xFE, 0, 0];
        le.extend("Grüße 😀".chars().flat_map(|c| (c as u32).to_le_bytes()));
        assert_eq!(decode_text(&le).unwrap(), DecodedText { text: "Grüße 😀".into(), encoding: Some("UTF-32LE") });
        let mut be = vec![0, 0, 0xFE, 0xFF];
        be.extend("ok".chars().flat_map(|c| (c as u32).to_be_bytes()));
        assert_eq!(decode_text(&be).unwrap().text, "ok");
        let plain_le: Vec<u8> = "This is UTF-16 without a BOM.".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            decode_text(&plain_le).unwrap(),
            DecodedText { text: "This is UTF-16 without a BOM.".into(), encoding: Some("UTF-16LE") }
        );
        let plain_be: Vec<u8> = "Big endian text here".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode_text(&plain_be).unwrap().encoding, Some("UTF-16BE"));
        let mut bad = vec![0xFF, 0xFE, 0, 0];
        bad.extend_from_slice(&0x0011_0000u32.to_le_bytes());
        assert_eq!(decode_text(&bad).unwrap_err(), ParseError::InvalidText { offset: 4 });
    }

    #[test]
    fn nul_bytes_mean_binary() {
        assert_eq!(decode_text(b"abc\0def").unwrap_err(), ParseError::Binary(None));
    }

    #[test]
    fn tidy_layout_collapses_padding() {
        assert_eq!(tidy_layout("  a   b \n\n\n\n c\nd  "), "a b\n\nc\nd");
    }

    #[test]
    fn crlf_is_normalised() {
        assert_eq!(decode_text(b"a\r\nb\rc").unwrap().text, "a\nb\nc");
    }
}
