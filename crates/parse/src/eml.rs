//! EML (RFC 5322 / MIME) through mail-parser: headers, the text/plain body (else the HTML body
//! rendered to text), and attachments parsed recursively.

use mail_parser::{Address, MessageParser, MimeHeaders};

use crate::email::{Attachments, Message, fallback_name};
use crate::limits::Budget;
use crate::{Format, ParseError, ParsedDocument, html, text};

const FORMAT: &str = Format::Eml.label();
const NO_HEADERS: &str = "no From, To, Subject, Date or Message-ID header found";

pub(crate) fn parse(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    // Some tools save messages as UTF-16 text; MIME itself is 8-bit, so decode those first.
    let transcoded;
    let raw: &[u8] = match wide_text(bytes) {
        Some(text) => {
            transcoded = text;
            transcoded.as_bytes()
        }
        None => bytes,
    };
    let message = MessageParser::default().parse(raw).ok_or_else(|| invalid(NO_HEADERS))?;
    let has_headers = message.from().is_some()
        || message.to().is_some()
        || message.subject().is_some()
        || message.date().is_some()
        || message.message_id().is_some();
    if !has_headers {
        return Err(invalid(NO_HEADERS));
    }
    if let Some(scheme) = encryption(&message) {
        return Err(ParseError::EncryptedEmail(scheme));
    }

    let mut bodies = Vec::new();
    for part in message.text_bodies() {
        let body = if part.is_text_html() {
            part.text_contents().map(|h| html::render(h).map(|p| p.text())).transpose()?
        } else {
            part.text_contents().map(str::to_string)
        };
        if let Some(body) = body.filter(|b| !b.trim().is_empty()) {
            budget.text(body.len())?;
            bodies.push(body);
        }
    }
    let summary = Message {
        subject: message.subject().map(str::to_string),
        from: message.from().map(addresses),
        to: message.to().map(addresses),
        cc: message.cc().map(addresses),
        date: message.date().map(|d| d.to_rfc3339()),
        body: bodies.join("\n\n"),
    };
    let mut sections = vec![summary.section()];
    let mut warnings = Vec::new();
    let mut attachments = Attachments::new(&mut sections, &mut warnings);
    for (i, part) in message.attachments().enumerate() {
        let mime = part.content_type().map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{sub}", ct.ctype()),
            None => ct.ctype().to_string(),
        });
        let mut name = part.attachment_name().map(str::to_string).unwrap_or_else(|| fallback_name(i, mime.as_deref()));
        if part.is_message() && !name.to_ascii_lowercase().ends_with(".eml") {
            name.push_str(".eml");
        }
        attachments.add(&name, part.contents(), mime.as_deref(), budget)?;
    }
    Ok(ParsedDocument { format: Format::Eml, sections, warnings, tables: Vec::new() })
}

/// A message saved without its extension: it opens with RFC 5322 header lines, at least two of
/// them ones every mail has.
pub(crate) fn looks_like_email(bytes: &[u8]) -> bool {
    const HEADERS: &[&str] =
        &["received", "return-path", "from", "to", "cc", "subject", "date", "message-id", "mime-version", "delivered-to", "reply-to"];
    let head = text::head_lowercase(bytes);
    let mut known = 0;
    for line in head.lines().take_while(|l| !l.trim().is_empty()) {
        if line.starts_with([' ', '\t']) {
            continue; // a folded header's continuation
        }
        let Some((name, _)) = line.split_once(':') else { return false };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return false;
        }
        known += usize::from(HEADERS.contains(&name));
    }
    known >= 2
}

fn invalid(reason: &str) -> ParseError {
    ParseError::Invalid { format: FORMAT, reason: reason.into() }
}

/// The text of a message saved as UTF-16 or UTF-32 (with or without BOM).
fn wide_text(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(64)];
    let has_nuls = head.contains(&0);
    let has_wide_bom = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) || head.starts_with(&[0, 0, 0xFE, 0xFF]);
    if !has_nuls && !has_wide_bom {
        return None;
    }
    text::decode_text(bytes).ok().map(|d| d.text)
}

/// "Ann <ann@example.com>, bob@example.com"
fn addresses(address: &Address) -> String {
    address
        .iter()
        .map(|a| match (a.name(), a.address()) {
            (Some(name), Some(addr)) => format!("{name} <{addr}>"),
            (Some(name), None) => name.to_string(),
            (None, Some(addr)) => addr.to_string(),
            (None, None) => String::new(),
        })
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// S/MIME (`application/pkcs7-mime` enveloped data) or PGP (`multipart/encrypted`, or an
/// inline armoured message): the body is ciphertext.
fn encryption(message: &mail_parser::Message) -> Option<&'static str> {
    let content_type = message.content_type()?;
    let full = format!("{}/{}", content_type.ctype(), content_type.subtype().unwrap_or_default()).to_ascii_lowercase();
    if full == "multipart/encrypted" {
        return Some("PGP");
    }
    if full == "application/pkcs7-mime" || full == "application/x-pkcs7-mime" {
        let signed_only = content_type.attribute("smime-type").is_some_and(|t| t.eq_ignore_ascii_case("signed-data"));
        if !signed_only {
            return Some("S/MIME");
        }
    }
    if message.body_text(0).is_some_and(|b| b.trim_start().starts_with("-----BEGIN PGP MESSAGE-----")) {
        return Some("PGP");
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pdf::tests::pdf_with_pages;

    pub(crate) use brain_testkit::eml_with;

    #[test]
    fn headers_body_and_attachment_pages() {
        let pdf = pdf_with_pages(&["Cover", "Travel budget is 4000 euros"]);
        let eml = eml_with(
            "Trip plan",
            "See the attached plan.",
            &[("plan.pdf", "application/pdf", &pdf), ("logo.png", "image/png", b"\x89PNG")],
        );
        let doc = parse(&eml, &mut Budget::new()).unwrap();
        assert_eq!(doc.format, Format::Eml);
        let body = &doc.sections[0];
        assert!(
            body.text
                .starts_with("Subject: Trip plan\nFrom: Ann Example <ann@example.com>\nTo: team@example.com\nDate: 2024-03-01T14:05:00Z"),
            "{}",
            body.text
        );
        assert!(body.text.ends_with("See the attached plan."));
        assert_eq!(body.context.as_deref(), Some("Trip plan"));
        let page2 = doc.sections.iter().find(|s| s.text.contains("4000 euros")).unwrap();
        assert_eq!(page2.location.attachment.as_deref(), Some("plan.pdf"));
        assert_eq!(page2.location.page, Some(2));
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    }

    #[test]
    fn attachments_nested_too_deep_are_not_opened() {
        let mut message = eml_with("level 4", "innermost words", &[]);
        for level in (0..4).rev() {
            message = eml_with(&format!("level {level}"), "words", &[("fwd.eml", "message/rfc822", &message)]);
        }
        let doc = parse(&message, &mut Budget::new()).unwrap();
        let deepest = doc.sections.iter().filter_map(|s| s.location.attachment.as_deref()).max_by_key(|a| a.len()).unwrap();
        assert_eq!(deepest, "fwd.eml > fwd.eml > fwd.eml");
        assert!(doc.warnings.iter().any(|w| w.contains("attachments are opened at most 3 levels deep")), "{:?}", doc.warnings);
        assert!(!doc.sections.iter().any(|s| s.text.contains("innermost")));
    }

    #[test]
    fn encrypted_and_headerless_mail() {
        let smime = b"From: a@example.com\r\nSubject: secret\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAxggHXMIIB0wIBADCBuzCBtTELMAkGA1UEBhMC\r\n";
        assert_eq!(
            parse(smime, &mut Budget::new()).unwrap_err().to_string(),
            "encrypted e-mail (S/MIME): only the recipient's private key can open the message body"
        );
        assert_eq!(
            parse(b"just some words\nwithout any headers", &mut Budget::new()).unwrap_err().to_string(),
            "not a valid e-mail: no From, To, Subject, Date or Message-ID header found"
        );
    }
}
