//! PDF: text per page with pdf-extract over lopdf.
//!
//! We drive pdf-extract page by page ourselves instead of calling `extract_text_by_pages`,
//! because that stops at the first page it cannot read; here one broken page becomes a warning
//! and the other pages are still indexed. pdf-extract panics on some malformed fonts, so each
//! page runs under `catch_unwind` as well.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{Format, Location, ParseError, ParsedDocument, Section};

pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    // The header may follow a little junk (the spec allows it within the first 1024 bytes).
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(ParseError::NotPdf("no %PDF- header in the first 1024 bytes".into()));
    }
    let mut doc = lopdf::Document::load_mem(bytes).map_err(|e| ParseError::MalformedPdf(e.to_string()))?;
    if doc.is_encrypted() {
        // Many PDFs are "encrypted" with an empty user password and open for anyone.
        if doc.decrypt("").is_err() {
            return Err(ParseError::EncryptedPdf);
        }
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(ParseError::MalformedPdf("the document has no pages".into()));
    }
    let mut sections = Vec::new();
    let mut failed_pages = Vec::new();
    let mut first_failure = None;
    for &page_number in pages.keys() {
        let mut raw = String::new();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut output = pdf_extract::PlainTextOutput::new(&mut raw);
            pdf_extract::output_doc_page(&doc, &mut output, page_number)
        }));
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(panic) => Some(format!("the PDF reader crashed on this page ({})", crate::panic_detail(&panic))),
        };
        if let Some(e) = error {
            failed_pages.push(page_number);
            first_failure.get_or_insert(e);
            continue;
        }
        let text = crate::text::tidy_layout(&raw);
        if !text.is_empty() {
            sections.push(Section { text, location: Location::page(page_number), first_line: None, context: None });
        }
    }
    if sections.is_empty() {
        if let Some(e) = first_failure {
            return Err(ParseError::MalformedPdf(format!("no page could be read: {e}")));
        }
        return Err(ParseError::ScannedPdf { pages: pages.len() });
    }
    let mut warnings = Vec::new();
    if !failed_pages.is_empty() {
        let list: Vec<String> = failed_pages.iter().take(10).map(u32::to_string).collect();
        warnings.push(format!(
            "{} page(s) unreadable ({}{}): {}",
            failed_pages.len(),
            list.join(", "),
            if failed_pages.len() > 10 { ", ..." } else { "" },
            first_failure.unwrap_or_default()
        ));
    }
    Ok(ParsedDocument { format: Format::Pdf, sections, warnings })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) use brain_testkit::pdf_with_pages;

    #[test]
    fn text_per_page() {
        let bytes = pdf_with_pages(&["Alpha page one", "Bravo page two"]);
        let doc = parse(&bytes).unwrap();
        let got: Vec<(String, Option<u32>)> = doc.sections.iter().map(|s| (s.text.clone(), s.location.page)).collect();
        assert_eq!(got, vec![("Alpha page one".into(), Some(1)), ("Bravo page two".into(), Some(2))]);
    }

    #[test]
    fn not_a_pdf() {
        assert!(matches!(parse(b"hello, I am text"), Err(ParseError::NotPdf(_))));
    }

    #[test]
    fn truncated_pdf_is_malformed() {
        let bytes = pdf_with_pages(&["Alpha"]);
        assert!(matches!(parse(&bytes[..bytes.len() / 3]), Err(ParseError::MalformedPdf(_))));
    }

    #[test]
    fn pages_without_text_mean_scanned() {
        let bytes = pdf_with_pages(&["", ""]);
        assert_eq!(parse(&bytes).unwrap_err(), ParseError::ScannedPdf { pages: 2 });
    }
}
