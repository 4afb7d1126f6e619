//! What EML and MSG share: the message as one section (headers a reader cites by, then the body),
//! and attachments parsed as documents of their own, cited as "attachment X" plus their own
//! place (page, slide, sheet and rows, ...).

use std::path::Path;

use crate::limits::{Budget, MAX_ATTACHMENT_DEPTH, MAX_ATTACHMENTS};
use crate::{Location, ParseError, Section};

/// The parts of a message a reader identifies it by.
#[derive(Debug, Default)]
pub(crate) struct Message {
    pub(crate) subject: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    pub(crate) cc: Option<String>,
    pub(crate) date: Option<String>,
    pub(crate) body: String,
}

impl Message {
    /// The message as one section: "Subject: ...\nFrom: ...\n...\n\nbody", with the subject as
    /// the context every chunk carries.
    pub(crate) fn section(&self) -> Section {
        let mut text = String::new();
        for (label, value) in [("Subject", &self.subject), ("From", &self.from), ("To", &self.to), ("Cc", &self.cc), ("Date", &self.date)] {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                text.push_str(&format!("{label}: {value}\n"));
            }
        }
        let body = self.body.trim();
        if !body.is_empty() {
            text.push('\n');
            text.push_str(body);
        }
        Section {
            text: text.trim_end().to_string(),
            location: Location::default(),
            first_line: None,
            context: self.subject.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
        }
    }
}

/// Adds attachments' sections to a message's, keeping count and depth within limits.
pub(crate) struct Attachments<'a> {
    pub(crate) sections: &'a mut Vec<Section>,
    pub(crate) warnings: &'a mut Vec<String>,
    opened: usize,
}

impl<'a> Attachments<'a> {
    pub(crate) fn new(sections: &'a mut Vec<Section>, warnings: &'a mut Vec<String>) -> Self {
        Attachments { sections, warnings, opened: 0 }
    }

    /// Parse an attachment file and add its sections. Failures become warnings: the message
    /// itself is still worth indexing. Only running out of the file's text allowance fails it.
    pub(crate) fn add(&mut self, name: &str, bytes: &[u8], mime: Option<&str>, budget: &mut Budget) -> Result<(), ParseError> {
        if is_media(name, mime) || bytes.is_empty() {
            return Ok(());
        }
        if !self.may_open(name, budget) {
            return Ok(());
        }
        budget.depth += 1;
        let parsed = crate::parse_nested(Path::new(name), bytes, budget);
        budget.depth -= 1;
        match parsed {
            Ok(doc) => {
                self.add_sections(name, doc.sections);
                self.warnings.extend(doc.warnings.into_iter().map(|w| format!("attachment {name}: {w}")));
                Ok(())
            }
            Err(e @ ParseError::TooMuchText { .. }) => Err(e),
            Err(e) => {
                self.warnings.push(format!("attachment {name} not indexed: {e}"));
                Ok(())
            }
        }
    }

    /// Whether one more attachment may be opened at the current depth; warns when not.
    pub(crate) fn may_open(&mut self, name: &str, budget: &Budget) -> bool {
        if budget.depth >= MAX_ATTACHMENT_DEPTH {
            self.warnings.push(format!("attachment {name} not opened: attachments are opened at most {MAX_ATTACHMENT_DEPTH} levels deep"));
            return false;
        }
        if self.opened >= MAX_ATTACHMENTS {
            if self.opened == MAX_ATTACHMENTS {
                self.warnings.push(format!("only the first {MAX_ATTACHMENTS} attachments were opened"));
                self.opened += 1;
            }
            return false;
        }
        self.opened += 1;
        true
    }

    /// Add sections parsed from the attachment `name`, marking where they come from.
    pub(crate) fn add_sections(&mut self, name: &str, sections: Vec<Section>) {
        for mut section in sections {
            section.location.attachment = Some(match section.location.attachment.take() {
                Some(inner) => format!("{name} > {inner}"),
                None => name.to_string(),
            });
            section.context = section.context.or_else(|| Some(name.to_string()));
            self.sections.push(section);
        }
    }
}

/// Pictures, sound, video, signatures and the rest of [`crate::formats::SKIPPED`] are never
/// decoded: they hold no text to index. Known by their MIME type or, failing that, their name.
fn is_media(name: &str, mime: Option<&str>) -> bool {
    let mime = mime.unwrap_or_default().to_ascii_lowercase();
    ["image/", "audio/", "video/", "font/"].iter().any(|p| mime.starts_with(p))
        || mime.contains("signature")
        || mime == "application/pkcs7-mime" && name.to_ascii_lowercase().ends_with(".p7s")
        || crate::formats::is_skipped_as_attachment(name)
}

/// A file name for an attachment that has none, from its MIME type.
pub(crate) fn fallback_name(index: usize, mime: Option<&str>) -> String {
    let ext = match mime.unwrap_or_default().to_ascii_lowercase().as_str() {
        "application/pdf" => "pdf",
        "message/rfc822" => "eml",
        "text/html" => "html",
        "text/csv" => "csv",
        "text/plain" => "txt",
        "application/rtf" | "text/rtf" => "rtf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.ms-outlook" => "msg",
        _ => "bin",
    };
    format!("attachment-{}.{ext}", index + 1)
}

/// Seconds since 1970 as "2024-03-01 14:05:00 UTC" (no time zone data needed for UTC).
pub(crate) fn format_unix_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_unix_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix_utc(1_709_301_900), "2024-03-01 14:05:00 UTC");
    }

    #[test]
    fn message_section_layout() {
        let m = Message {
            subject: Some("Budget".into()),
            from: Some("Ann <ann@example.com>".into()),
            body: "Numbers attached.".into(),
            ..Default::default()
        };
        let s = m.section();
        assert_eq!(s.text, "Subject: Budget\nFrom: Ann <ann@example.com>\n\nNumbers attached.");
        assert_eq!(s.context.as_deref(), Some("Budget"));
    }
}
