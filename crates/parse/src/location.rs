use serde::{Deserialize, Serialize};

/// The place inside a file that a chunk (and so a citation) points to.
///
/// One struct with optional fields rather than an enum per format: a chunk can need several at
/// once (an e-mail attachment's page, a spreadsheet's sheet and rows), and the JSON stays the flat
/// object the CLI contract promises, e.g. `{"page":3}` or
/// `{"heading":"Leave > Sick","lines":[10,24]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(optional_fields)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slide: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// First and last row, 1-based, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<[u32; 2]>,
    /// Heading path, outermost first, joined with " > ".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// First and last line, 1-based, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<[u32; 2]>,
    /// A chapter or section name (EPUB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The attachment's file name, for parts of an e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
    /// The text was read from an image by OCR, with this mean confidence (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<u8>,
}

/// Below this OCR confidence a page is indexed but marked as doubtful.
pub const LOW_OCR_CONFIDENCE: u8 = 50;

impl Location {
    pub fn page(page: u32) -> Self {
        Location { page: Some(page), ..Default::default() }
    }

    /// A short human form, e.g. "page 3" or "Leave > Sick, lines 10–24".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = &self.attachment {
            parts.push(format!("attachment {a}"));
        }
        if let Some(p) = self.page {
            parts.push(format!("page {p}"));
        }
        if let Some(s) = self.slide {
            parts.push(format!("slide {s}"));
        }
        if let Some(s) = &self.sheet {
            parts.push(format!("sheet {s}"));
        }
        if let Some([a, b]) = self.rows {
            parts.push(if a == b { format!("row {a}") } else { format!("rows {a}–{b}") });
        }
        if let Some(s) = &self.section {
            parts.push(s.clone());
        }
        if let Some(h) = &self.heading {
            parts.push(h.clone());
        }
        if let Some([a, b]) = self.lines {
            parts.push(if a == b { format!("line {a}") } else { format!("lines {a}–{b}") });
        }
        match self.ocr_confidence {
            Some(c) if c < LOW_OCR_CONFIDENCE => parts.push(format!("read by OCR, low confidence ({c}%)")),
            Some(_) => parts.push("read by OCR".into()),
            None => {}
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_flat_and_sparse() {
        let page = serde_json::to_string(&Location::page(3)).unwrap();
        assert_eq!(page, r#"{"page":3}"#);
        let text = Location { heading: Some("Leave > Sick".into()), lines: Some([10, 24]), ..Default::default() };
        assert_eq!(serde_json::to_string(&text).unwrap(), r#"{"heading":"Leave > Sick","lines":[10,24]}"#);
        assert_eq!(text.describe(), "Leave > Sick, lines 10–24");
        let scanned = Location { page: Some(2), ocr_confidence: Some(91), ..Default::default() };
        assert_eq!(serde_json::to_string(&scanned).unwrap(), r#"{"page":2,"ocr_confidence":91}"#);
        assert_eq!(scanned.describe(), "page 2, read by OCR");
    }
}
