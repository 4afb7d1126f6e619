//! Images (PNG, JPEG, TIFF, WebP, BMP): pages read by OCR.
//!
//! Decoding is bounded before any pixel is allocated: the header's size is checked against
//! [`MAX_SIDE`], and the decoder gets a memory limit, so a decompression bomb fails alone with
//! its size in the reason. JPEG's EXIF orientation is applied (a phone photo of a whiteboard is
//! read upright). A multi-page TIFF (a fax, a scanned contract) gives one page per frame, cited
//! as `page`. Pages larger than OCR needs are scaled down first.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::limits::Budget;
use crate::ocr::page_list;
use crate::{Format, Location, PageError, PageImage, ParseError, ParsedDocument, Section};

/// Longest side of an image we decode, in pixels (a 600 dpi scan of an A3 page is about 10,000).
pub(crate) const MAX_SIDE: u32 = 16_384;
/// Memory a decoder may allocate.
const MAX_ALLOC: u64 = 512 << 20;
/// OCR reads text at this longest side and below (an A4 page at 360 dpi); larger images are
/// scaled down, which Tesseract reads as well and much faster.
const OCR_SIDE: u32 = 4_200;
/// Frames of a TIFF we read.
const MAX_FRAMES: usize = 500;

/// Whether the bytes start like an image format we read.
pub(crate) fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"II*\0")
        || bytes.starts_with(b"MM\0*")
        || (bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
        || (bytes.starts_with(b"BM") && bytes.len() > 26)
}

fn invalid(reason: impl std::fmt::Display) -> ParseError {
    ParseError::Invalid { format: Format::Image.label(), reason: reason.to_string() }
}

fn check_size(width: u32, height: u32) -> Result<(), ParseError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ParseError::ImageTooLarge { width, height, limit: MAX_SIDE });
    }
    if width == 0 || height == 0 {
        return Err(invalid(format!("the image is {width} × {height} pixels")));
    }
    Ok(())
}

pub(crate) fn parse(bytes: &[u8], budget: &mut Budget) -> Result<ParsedDocument, ParseError> {
    let frames = if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") { tiff_frames(bytes)? } else { vec![decode(bytes)?] };
    let Some(ocr) = budget.ocr.as_mut().map(|ocr| &mut *ocr.recognize) else {
        return Err(ParseError::Ocr("an image: its text can only be read by OCR, which is not enabled here".into()));
    };
    let numbered = frames.len() > 1;
    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    let mut first_error = None;
    let pages = frames.len();
    for (i, frame) in frames.into_iter().enumerate() {
        let page = i as u32 + 1;
        match ocr.recognize(&frame) {
            Ok(read) => {
                if read.confidence < crate::LOW_OCR_CONFIDENCE && !read.text.trim().is_empty() {
                    warnings.push(format!(
                        "{}low OCR confidence ({}%)",
                        if numbered { format!("page {page}: ") } else { String::new() },
                        read.confidence
                    ));
                }
                let text = crate::text::tidy_layout(&read.text);
                if !text.is_empty() {
                    let location = Location { page: numbered.then_some(page), ocr_confidence: Some(read.confidence), ..Default::default() };
                    sections.push(Section { text, location, first_line: None, context: None });
                }
            }
            Err(e @ PageError::Unavailable(_)) => {
                // The other frames would fail alike: one warning for them all.
                let left: Vec<u32> = (page..=pages as u32).collect();
                warnings.push(format!("{} page(s) not read ({}): {e}", left.len(), page_list(&left)));
                first_error.get_or_insert(e);
                break;
            }
            Err(e) => {
                warnings.push(format!("page {page}: {e}"));
                first_error.get_or_insert(e);
            }
        }
        ocr.progress(i + 1, pages);
    }
    if sections.is_empty() {
        return Err(match first_error {
            Some(e) => ParseError::Ocr(e.to_string()),
            None => ParseError::Ocr("no text: OCR found none in the image (a photo or a drawing?)".into()),
        });
    }
    Ok(ParsedDocument { format: Format::Image, sections, warnings, tables: Vec::new() })
}

/// One image (any format but TIFF), upright, grey, at most [`OCR_SIDE`] on a side.
fn decode(bytes: &[u8]) -> Result<PageImage, ParseError> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(invalid)?;
    let (width, height) =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(invalid)?.into_dimensions().map_err(image_error)?;
    check_size(width, height)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = reader;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    image.apply_orientation(orientation);
    Ok(page_image(image))
}

fn image_error(e: image::ImageError) -> ParseError {
    match e {
        image::ImageError::Limits(l) => invalid(format!("it needs more memory to decode than allowed ({l})")),
        image::ImageError::Unsupported(u) => invalid(format!("unsupported image: {u}")),
        other => invalid(format!("truncated or corrupt image ({other})")),
    }
}

/// Grey pixels, scaled down to what OCR needs.
fn page_image(image: DynamicImage) -> PageImage {
    let longest = image.width().max(image.height());
    let image = if longest > OCR_SIDE { image.resize(OCR_SIDE, OCR_SIDE, image::imageops::FilterType::Triangle) } else { image };
    let grey = image.into_luma8();
    PageImage { width: grey.width(), height: grey.height(), pixels: grey.into_raw(), dpi: 300 }
}

/// Every frame of a TIFF, as grey pages.
fn tiff_frames(bytes: &[u8]) -> Result<Vec<PageImage>, ParseError> {
    use tiff::decoder::{Decoder, DecodingResult};
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = MAX_ALLOC as usize;
    limits.intermediate_buffer_size = MAX_ALLOC as usize;
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(|e| invalid(format!("not a valid TIFF ({e})")))?.with_limits(limits);
    let mut frames = Vec::new();
    loop {
        let (width, height) = decoder.dimensions().map_err(|e| invalid(format!("not a valid TIFF ({e})")))?;
        check_size(width, height)?;
        let color = decoder.colortype().map_err(|e| invalid(format!("not a valid TIFF ({e})")))?;
        let data = decoder.read_image().map_err(|e| invalid(format!("a TIFF page cannot be decoded ({e})")))?;
        let grey = match (color, data) {
            (tiff::ColorType::Gray(8), DecodingResult::U8(v)) => image::GrayImage::from_raw(width, height, v),
            (tiff::ColorType::Gray(16), DecodingResult::U16(v)) => {
                image::GrayImage::from_raw(width, height, v.iter().map(|p| (p >> 8) as u8).collect())
            }
            (tiff::ColorType::Gray(1), DecodingResult::U8(v)) => image::GrayImage::from_raw(width, height, unpack_bits(&v, width, height)),
            (tiff::ColorType::RGB(8), DecodingResult::U8(v)) => {
                image::RgbImage::from_raw(width, height, v).map(|i| DynamicImage::ImageRgb8(i).into_luma8())
            }
            (tiff::ColorType::RGBA(8), DecodingResult::U8(v)) => {
                image::RgbaImage::from_raw(width, height, v).map(|i| DynamicImage::ImageRgba8(i).into_luma8())
            }
            (tiff::ColorType::GrayA(8), DecodingResult::U8(v)) => {
                image::GrayAlphaImage::from_raw(width, height, v).map(|i| DynamicImage::ImageLumaA8(i).into_luma8())
            }
            (other, _) => return Err(invalid(format!("TIFF pages of colour type {other:?} are not read"))),
        };
        let grey = grey.ok_or_else(|| invalid("a TIFF page holds fewer pixels than its size says"))?;
        frames.push(page_image(DynamicImage::ImageLuma8(grey)));
        if frames.len() >= MAX_FRAMES || !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(|e| invalid(format!("a TIFF page cannot be read ({e})")))?;
    }
    Ok(frames)
}

/// 1-bit rows (each padded to a byte, 1 = white as TIFF's BlackIsZero says) to 8-bit grey.
fn unpack_bits(packed: &[u8], width: u32, height: u32) -> Vec<u8> {
    let row_bytes = (width as usize).div_ceil(8);
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for row in 0..height as usize {
        for x in 0..width as usize {
            let byte = packed.get(row * row_bytes + x / 8).copied().unwrap_or(0);
            out.push(if byte & (0x80 >> (x % 8)) != 0 { 255 } else { 0 });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::GrayImage::from_pixel(width, height, image::Luma([255]))
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert!(is_image(&png(4, 4)));
        assert!(!is_image(b"%PDF-1.7"));
    }

    #[test]
    fn hostile_images_fail_alone_with_a_reason() {
        // A PNG whose header claims 30,000 × 30,000 pixels (a decompression bomb's shape).
        let err = decode(&brain_testkit::png_claiming_size(30_000, 30_000)).unwrap_err();
        assert_eq!(err, ParseError::ImageTooLarge { width: 30_000, height: 30_000, limit: MAX_SIDE });
        // A truncated file.
        let whole = png(64, 64);
        let err = decode(&whole[..whole.len() / 2]).unwrap_err();
        assert!(err.to_string().contains("truncated or corrupt image"), "{err}");
    }

    #[test]
    fn images_are_read_by_ocr_and_say_why_not() {
        use crate::ocr::fakes::{Reader, Renderer};
        let bytes = png(4, 4);
        let err = parse(&bytes, &mut Budget::new()).unwrap_err();
        assert!(matches!(&err, ParseError::Ocr(m) if m.contains("not enabled")), "{err:?}");

        let mut renderer = Renderer::default();
        let mut reader = Reader { text: "Whiteboard: ship on Friday", ..Default::default() };
        let mut budget = Budget::new();
        budget.ocr = Some(crate::Ocr { recognize: &mut reader, render: &mut renderer });
        let doc = parse(&bytes, &mut budget).unwrap();
        assert_eq!(doc.sections[0].text, "Whiteboard: ship on Friday");
        assert_eq!(doc.sections[0].location, Location { ocr_confidence: Some(91), ..Default::default() }, "one image has no page");

        let missing = PageError::Unavailable("OCR is not available: Tesseract is not installed".into());
        let mut reader = Reader { error: Some(missing.clone()), ..Default::default() };
        let mut budget = Budget::new();
        budget.ocr = Some(crate::Ocr { recognize: &mut reader, render: &mut renderer });
        assert_eq!(parse(&bytes, &mut budget).unwrap_err(), ParseError::Ocr(missing.to_string()));
        assert!(renderer.rendered.is_empty(), "images need no rendering");
    }

    #[test]
    fn large_pages_are_scaled_down_for_ocr() {
        let page = page_image(DynamicImage::ImageLuma8(image::GrayImage::new(8_400, 100)));
        assert_eq!((page.width, page.height), (4_200, 50));
        assert_eq!(page.pixels.len(), 4_200 * 50);
        assert_eq!(unpack_bits(&[0b1010_0000], 3, 1), vec![255, 0, 255]);
    }
}
