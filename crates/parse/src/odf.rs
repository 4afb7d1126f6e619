//! What ODT and ODS share: the package, password protection, and the inline text rules of
//! `text:p` / `text:h` (spaces, tabs, line breaks written as elements).
//!
//! A password-protected ODF file is still a zip, with the same part names; only
//! `META-INF/manifest.xml` tells, by an `encryption-data` entry for each encrypted part, and the
//! parts themselves are ciphertext. So the manifest is checked before any XML is parsed, or the
//! owner would see "not well-formed XML" for a file that merely needs its password.

use crate::ParseError;
use crate::limits::Budget;
use crate::xml::{Tag, Walker};
use crate::zipped::Package;

/// Open an ODF package and refuse it if it is encrypted.
pub(crate) fn open<'a>(bytes: &'a [u8], format: &'static str, budget: &mut Budget) -> Result<Package<'a>, ParseError> {
    let mut package = Package::open(bytes, format)?;
    if let Some(manifest) = package.read_text("META-INF/manifest.xml", budget)?
        && manifest.contains("encryption-data")
    {
        return Err(ParseError::Encrypted(format));
    }
    Ok(package)
}

/// Elements whose content is not the document's running text: tracked deletions, comments,
/// footnote markers, declarations.
pub(crate) fn is_not_running_text(name: &str) -> bool {
    matches!(name, "tracked-changes" | "annotation" | "note-citation" | "sequence-decls" | "variable-decls" | "user-field-decls" | "forms")
}

/// The text an inline element stands for: `<text:s text:c="3"/>` is three spaces.
pub(crate) fn inline_element_text(tag: &Tag) -> Option<String> {
    match tag.name() {
        "s" => {
            let count = tag.attr("c").and_then(|c| c.parse::<usize>().ok()).unwrap_or(1);
            // Runs of spaces carry no meaning for search; a forged count must not allocate.
            Some(" ".repeat(count.clamp(1, 8)))
        }
        "tab" => Some(" ".into()),
        "line-break" => Some("\n".into()),
        _ => None,
    }
}

/// Whether the current text belongs to a paragraph (`text:p` or `text:h`).
pub(crate) fn in_paragraph(walker: &Walker) -> bool {
    walker.stack().iter().any(|n| n == "p" || n == "h")
}
