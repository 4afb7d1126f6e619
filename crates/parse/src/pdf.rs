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

    /// A minimal valid PDF with one text line per page, written by hand so tests need no files.
    pub(crate) fn pdf_with_pages(pages: &[&str]) -> Vec<u8> {
        use lopdf::content::{Content, Operation};
        use lopdf::{Document, Object, Stream, dictionary};
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
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
            let page_id = doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            });
            kids.push(page_id.into());
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => count,
                "Resources" => resources_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog_id);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        bytes
    }

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
