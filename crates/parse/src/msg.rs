//! MSG (Outlook): an OLE compound file of MAPI properties, read with the `cfb` crate.
//!
//! Why not `msg_parser`: it reads every stream whole, without caps, and does not expose
//! attachment bytes and embedded messages in a way that can be parsed recursively. The format
//! needed here is small: string properties are streams named `__substg1.0_<id><type>` (type 001F
//! UTF-16LE, 001E 8-bit), fixed-size ones (dates) sit in `__properties_version1.0`, attachments
//! are storages `__attach_version1.0_#<n>` whose data is a binary stream or, for an attached
//! e-mail, a storage holding another message.

use std::io::{Cursor, Read};

use cfb::CompoundFile;

use crate::email::{Attachments, Message, fallback_name, format_unix_utc};
use crate::limits::{Budget, MAX_ENTRY_BYTES};
use crate::{Format, ParseError, ParsedDocument};

const FORMAT: &str = Format::Msg.label();

type Ole<'a> = CompoundFile<Cursor<&'a [u8]>>;

const SUBJECT: u16 = 0x0037;
const MESSAGE_CLASS: u16 = 0x001A;
const SENDER_NAME: u16 = 0x0C1A;
const SENDER_EMAIL: u16 = 0x0C1F;
const SENDER_SMTP: u16 = 0x5D01;
const DISPLAY_TO: u16 = 0x0E04;
const DISPLAY_CC: u16 = 0x0E03;
const BODY: u16 = 0x1000;
const BODY_HTML: u16 = 0x1013;
const CLIENT_SUBMIT_TIME: u16 = 0x0039;
const DELIVERY_TIME: u16 = 0x0E06;
const MESSAGE_CODEPAGE: u16 = 0x3FFD;
const ATTACH_LONG_FILENAME: u16 = 0x3707;
const ATTACH_FILENAME: u16 = 0x3704;
const DISPLAY_NAME: u16 = 0x3001;
const ATTACH_DATA: u16 = 0x3701;
const ATTACH_MIME: u16 = 0x370E;

pub(crate) fn parse(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let mut ole = CompoundFile::open(Cursor::new(bytes)).map_err(|e| invalid(format!("it is not an Outlook message file ({e})")))?;
    if !ole.is_stream("/__properties_version1.0") && !ole.is_stream(substg("/", SUBJECT, 0x001F)) {
        return Err(invalid("missing the message property streams (__properties_version1.0)".into()));
    }
    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    read_message(&mut ole, "/", 32, budget, &mut sections, &mut warnings)?;
    Ok(ParsedDocument { format: Format::Msg, sections, warnings, tables: Vec::new() })
}

/// Read the message stored at `storage` (the root, or an attached message's storage) into
/// sections. `header_len` is the size of the fixed header of its property stream (32 at the
/// root, 24 for an embedded message).
fn read_message(
    ole: &mut Ole,
    storage: &str,
    header_len: usize,
    budget: &mut Budget,
    sections: &mut Vec<crate::Section>,
    warnings: &mut Vec<String>,
) -> Result<(), ParseError> {
    let properties = read_stream(ole, &join(storage, "__properties_version1.0"), budget)?.unwrap_or_default();
    let fixed = FixedProperties::parse(&properties, header_len);
    let code_page = fixed.int(MESSAGE_CODEPAGE).and_then(|cp| u16::try_from(cp).ok());
    let string = |ole: &mut Ole, id: u16, budget: &mut Budget| read_string(ole, storage, id, code_page, budget);

    let class = string(ole, MESSAGE_CLASS, budget)?.unwrap_or_default();
    let subject = string(ole, SUBJECT, budget)?;
    let sender_name = string(ole, SENDER_NAME, budget)?;
    let sender_address = match string(ole, SENDER_SMTP, budget)? {
        Some(smtp) => Some(smtp),
        None => string(ole, SENDER_EMAIL, budget)?.filter(|a| a.contains('@')),
    };
    let from = match (sender_name, sender_address) {
        (Some(name), Some(addr)) if name != addr => Some(format!("{name} <{addr}>")),
        (Some(name), _) => Some(name),
        (None, addr) => addr,
    };
    let mut body = string(ole, BODY, budget)?.unwrap_or_default();
    if body.trim().is_empty() {
        let html = match read_stream(ole, &substg(storage, BODY_HTML, 0x0102), budget)? {
            Some(bytes) => Some(crate::xml::decode(&bytes).into_owned()),
            None => string(ole, BODY_HTML, budget)?,
        };
        if let Some(html) = html {
            body = crate::html::render(&html)?.text();
        }
    }
    budget.text(body.len())?;

    let attachment_storages: Vec<String> = ole
        .read_storage(storage)
        .map_err(|e| invalid(format!("the message storage cannot be listed ({e})")))?
        .filter(|e| e.is_storage() && e.name().starts_with("__attach_version1.0_#"))
        .map(|e| e.path().to_string_lossy().into_owned())
        .collect();

    // An encrypted message is an envelope around its ciphertext attachment: smime.p7m for
    // S/MIME, a "pgp-encrypted" version part plus the armoured message for PGP/MIME.
    if body.trim().is_empty() {
        let class = class.to_ascii_uppercase();
        if class.contains("SMIME") && !class.contains("MULTIPARTSIGNED") {
            return Err(ParseError::EncryptedEmail("S/MIME"));
        }
        for attachment in &attachment_storages {
            let name = read_string(ole, attachment, ATTACH_LONG_FILENAME, code_page, budget)?.unwrap_or_default();
            let mime = read_string(ole, attachment, ATTACH_MIME, code_page, budget)?.unwrap_or_default();
            if name.to_ascii_lowercase().ends_with(".pgp-encrypted") || mime.eq_ignore_ascii_case("application/pgp-encrypted") {
                return Err(ParseError::EncryptedEmail("PGP"));
            }
        }
    }

    let date = fixed.time(CLIENT_SUBMIT_TIME).or_else(|| fixed.time(DELIVERY_TIME)).map(format_unix_utc);
    let message = Message { subject, from, to: string(ole, DISPLAY_TO, budget)?, cc: string(ole, DISPLAY_CC, budget)?, date, body };
    sections.push(message.section());

    let mut attachments = Attachments::new(sections, warnings);
    for (i, attachment) in attachment_storages.iter().enumerate() {
        let name = [ATTACH_LONG_FILENAME, ATTACH_FILENAME, DISPLAY_NAME]
            .into_iter()
            .find_map(|id| read_string(ole, attachment, id, code_page, budget).ok().flatten())
            .filter(|n| !n.trim().is_empty());
        let mime = read_string(ole, attachment, ATTACH_MIME, code_page, budget)?;
        let embedded = substg(attachment, ATTACH_DATA, 0x000D);
        if ole.is_storage(&embedded) {
            // An attached e-mail: a message of its own inside this file.
            let mut name = name.unwrap_or_else(|| fallback_name(i, Some("application/vnd.ms-outlook")));
            if !name.to_ascii_lowercase().ends_with(".msg") {
                name.push_str(".msg");
            }
            if !attachments.may_open(&name, budget) {
                continue;
            }
            let mut inner_sections = Vec::new();
            let mut inner_warnings = Vec::new();
            budget.depth += 1;
            let read = read_message(ole, &embedded, 24, budget, &mut inner_sections, &mut inner_warnings);
            budget.depth -= 1;
            match read {
                Ok(()) => {
                    attachments.add_sections(&name, inner_sections);
                    attachments.warnings.extend(inner_warnings.into_iter().map(|w| format!("attachment {name}: {w}")));
                }
                Err(e @ ParseError::TooMuchText { .. }) => return Err(e),
                Err(e) => attachments.warnings.push(format!("attachment {name} not indexed: {e}")),
            }
            continue;
        }
        let Some(data) = read_stream(ole, &substg(attachment, ATTACH_DATA, 0x0102), budget)? else { continue };
        let name = name.unwrap_or_else(|| fallback_name(i, mime.as_deref()));
        attachments.add(&name, &data, mime.as_deref(), budget)?;
    }
    Ok(())
}

fn invalid(reason: String) -> ParseError {
    ParseError::Invalid { format: FORMAT, reason }
}

fn join(storage: &str, name: &str) -> String {
    format!("{}/{name}", storage.trim_end_matches('/'))
}

fn substg(storage: &str, id: u16, kind: u16) -> String {
    join(storage, &format!("__substg1.0_{id:04X}{kind:04X}"))
}

/// A stream's bytes, capped like a zip entry; `None` when there is no such stream.
fn read_stream(ole: &mut Ole, path: &str, budget: &mut Budget) -> Result<Option<Vec<u8>>, ParseError> {
    if !ole.is_stream(path) {
        return Ok(None);
    }
    let stream = ole.open_stream(path).map_err(|e| invalid(format!("{path} cannot be read ({e})")))?;
    let cap = MAX_ENTRY_BYTES.min(budget.unpacked_left());
    let mut out = Vec::new();
    let read = stream.take(cap + 1).read_to_end(&mut out).map_err(|e| invalid(format!("{path} is damaged ({e})")))?;
    if read as u64 > cap && cap == MAX_ENTRY_BYTES {
        return Err(ParseError::ZipBomb(format!("{path} is larger than {} MiB", MAX_ENTRY_BYTES >> 20)));
    }
    budget.unpack(read as u64)?;
    Ok(Some(out))
}

/// A string property: UTF-16LE (type 001F) or 8-bit in the message's code page (001E).
fn read_string(ole: &mut Ole, storage: &str, id: u16, code_page: Option<u16>, budget: &mut Budget) -> Result<Option<String>, ParseError> {
    if let Some(bytes) = read_stream(ole, &substg(storage, id, 0x001F), budget)? {
        let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(&bytes);
        return Ok(Some(text.trim_end_matches('\0').to_string()));
    }
    if let Some(bytes) = read_stream(ole, &substg(storage, id, 0x001E), budget)? {
        let encoding = code_page.and_then(codepage::to_encoding).unwrap_or(encoding_rs::WINDOWS_1252);
        let (text, _) = encoding.decode_without_bom_handling(&bytes);
        return Ok(Some(text.trim_end_matches('\0').to_string()));
    }
    Ok(None)
}

/// The fixed-size properties of a `__properties_version1.0` stream: 16-byte entries of
/// (type and id, flags, 8-byte value) after a header.
struct FixedProperties<'a> {
    entries: &'a [u8],
}

impl<'a> FixedProperties<'a> {
    fn parse(stream: &'a [u8], header_len: usize) -> Self {
        FixedProperties { entries: stream.get(header_len..).unwrap_or(&[]) }
    }

    fn value(&self, id: u16, kind: u16) -> Option<[u8; 8]> {
        self.entries.chunks_exact(16).find_map(|e| {
            let tag = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            (tag == (u32::from(id) << 16 | u32::from(kind))).then(|| [e[8], e[9], e[10], e[11], e[12], e[13], e[14], e[15]])
        })
    }

    fn int(&self, id: u16) -> Option<i32> {
        self.value(id, 0x0003).map(|v| i32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// A PT_SYSTIME (FILETIME: 100 ns since 1601) as seconds since 1970.
    fn time(&self, id: u16) -> Option<i64> {
        let filetime = u64::from_le_bytes(self.value(id, 0x0040)?);
        let secs = i64::try_from(filetime / 10_000_000).ok()? - 11_644_473_600;
        (secs > 0).then_some(secs)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn stream(ole: &mut CompoundFile<Cursor<Vec<u8>>>, path: &str, data: &[u8]) {
        ole.create_stream(path).unwrap().write_all(data).unwrap();
    }

    fn properties(header_len: usize, submit_unix: i64) -> Vec<u8> {
        let mut p = vec![0u8; header_len];
        let filetime = ((submit_unix + 11_644_473_600) * 10_000_000) as u64;
        p.extend_from_slice(&(0x0039_0040u32).to_le_bytes());
        p.extend_from_slice(&[6, 0, 0, 0]);
        p.extend_from_slice(&filetime.to_le_bytes());
        p
    }

    /// An Outlook message with a subject, sender, body, a CSV attachment and an attached message.
    pub(crate) fn msg_bytes() -> Vec<u8> {
        let mut ole = CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        stream(&mut ole, "/__properties_version1.0", &properties(32, 1_709_301_900));
        stream(&mut ole, "/__substg1.0_0037001F", &utf16("Quarterly numbers"));
        stream(&mut ole, "/__substg1.0_0C1A001F", &utf16("Bob Builder"));
        stream(&mut ole, "/__substg1.0_5D01001F", &utf16("bob@example.com"));
        stream(&mut ole, "/__substg1.0_0E04001F", &utf16("Finance Team"));
        stream(&mut ole, "/__substg1.0_1000001F", &utf16("Please review the attached sheet."));
        ole.create_storage("/__attach_version1.0_#00000000").unwrap();
        stream(&mut ole, "/__attach_version1.0_#00000000/__properties_version1.0", &[0; 8]);
        stream(&mut ole, "/__attach_version1.0_#00000000/__substg1.0_3707001F", &utf16("q3.csv"));
        stream(&mut ole, "/__attach_version1.0_#00000000/__substg1.0_37010102", b"Region,Revenue\nNorth,100\nSouth,250\n");
        ole.create_storage("/__attach_version1.0_#00000001").unwrap();
        stream(&mut ole, "/__attach_version1.0_#00000001/__substg1.0_3001001F", &utf16("Earlier thread"));
        ole.create_storage("/__attach_version1.0_#00000001/__substg1.0_3701000D").unwrap();
        let inner = "/__attach_version1.0_#00000001/__substg1.0_3701000D";
        stream(&mut ole, &format!("{inner}/__properties_version1.0"), &properties(24, 1_700_000_000));
        stream(&mut ole, &format!("{inner}/__substg1.0_0037001F"), &utf16("Re: budget"));
        stream(&mut ole, &format!("{inner}/__substg1.0_1000001F"), &utf16("The offsite is in Lisbon."));
        ole.flush().unwrap();
        ole.into_inner().into_inner()
    }

    #[test]
    fn fields_body_and_attachments() {
        let doc = parse(&msg_bytes(), &mut Budget::new()).unwrap();
        assert_eq!(
            doc.sections[0].text,
            "Subject: Quarterly numbers\nFrom: Bob Builder <bob@example.com>\nTo: Finance Team\nDate: 2024-03-01 14:05:00 UTC\n\nPlease review the attached sheet."
        );
        let south = doc.sections.iter().find(|s| s.text.contains("South | 250")).unwrap();
        assert_eq!(south.location.attachment.as_deref(), Some("q3.csv"));
        assert_eq!(south.location.sheet.as_deref(), Some("q3"));
        assert_eq!(south.location.rows, Some([1, 3]));
        let lisbon = doc.sections.iter().find(|s| s.text.contains("Lisbon")).unwrap();
        assert_eq!(lisbon.location.attachment.as_deref(), Some("Earlier thread.msg"));
        assert!(lisbon.text.starts_with("Subject: Re: budget\nDate: 2023-11-14"), "{}", lisbon.text);
    }

    #[test]
    fn not_a_message() {
        let mut ole = CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        stream(&mut ole, "/WordDocument", b"x");
        ole.flush().unwrap();
        let bytes = ole.into_inner().into_inner();
        assert_eq!(
            parse(&bytes, &mut Budget::new()).unwrap_err().to_string(),
            "not a valid Outlook message: missing the message property streams (__properties_version1.0)"
        );
        assert!(
            parse(b"plain text", &mut Budget::new())
                .unwrap_err()
                .to_string()
                .starts_with("not a valid Outlook message: it is not an Outlook message file")
        );
    }
}
