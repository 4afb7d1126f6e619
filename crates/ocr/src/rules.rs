//! Ruling lines (the grid of a table, an underline, a form's boxes) found and erased before a
//! page is read.
//!
//! Why: Tesseract takes a rule touching the text for part of a letter or a column of `|`, and a
//! row between two rules is then dropped as noise — a scanned five-row table read with its grid
//! came back as two rows; with the grid erased, as five. Leptonica (loaded with Tesseract) has
//! line removal, but through more C calls than the one pass over the pixels it takes here, and
//! without the two checks below: a rule is long (half an inch across, four tenths down — longer
//! than a letter's stroke at any body size) and thin (a dark band thicker than a twenty-fifth of an
//! inch is a filled area, a banner with white text in it, and is kept).

/// A pixel darker than this is ink.
const INK: u8 = 160;
/// Rows (or columns) erased on each side of a rule's ink, for its grey, blurred edges.
const EDGE: usize = 3;

/// Erase the rules of an 8-bit grey page of `width` × `height` pixels at `dpi`, in place. Says
/// whether there were any.
pub(crate) fn erase(pixels: &mut [u8], width: u32, height: u32, dpi: u32) -> bool {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || pixels.len() < w * h {
        return false;
    }
    let dpi = dpi.max(72) as usize;
    let thickest = dpi / 25;
    let across = rule_mask(pixels, w, h, dpi / 2, thickest);
    let turned = transpose(pixels, w, h);
    let down = rule_mask(&turned, h, w, dpi * 2 / 5, thickest);
    let mut any = false;
    for y in 0..h {
        for x in 0..w {
            if across[y * w + x] || down[x * h + y] {
                pixels[y * w + x] = 255;
                any = true;
            }
        }
    }
    any
}

/// The pixels to erase for the horizontal rules of a row-major grey image: runs of ink at least
/// `shortest` long, where a pixel counts as ink when it or the pixel above or below it is (a rule
/// scanned a little askew stays one run), at most `thickest` rows thick, widened by [`EDGE`].
fn rule_mask(pixels: &[u8], w: usize, h: usize, shortest: usize, thickest: usize) -> Vec<bool> {
    let ink = |x: usize, y: usize| pixels[y * w + x] < INK;
    let mut long = vec![false; w * h];
    for y in 0..h {
        let mut start = None;
        for x in 0..=w {
            let on = x < w && (ink(x, y) || (y > 0 && ink(x, y - 1)) || (y + 1 < h && ink(x, y + 1)));
            match (on, start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    if x - s >= shortest {
                        long[y * w + s..y * w + x].fill(true);
                    }
                    start = None;
                }
                _ => {}
            }
        }
    }
    // Across the rows: a band of long runs is a rule when it is thin (the tolerance above makes a
    // rule of one row three rows of long runs).
    let mut erase = vec![false; w * h];
    for x in 0..w {
        let mut y = 0;
        while y < h {
            if !long[y * w + x] {
                y += 1;
                continue;
            }
            let first = y;
            while y < h && long[y * w + x] {
                y += 1;
            }
            if y - first <= thickest + 2 {
                for row in first.saturating_sub(EDGE)..(y + EDGE).min(h) {
                    erase[row * w + x] = true;
                }
            }
        }
    }
    erase
}

/// The image with rows and columns swapped (`h` wide and `w` high).
fn transpose(pixels: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            out[x * h + y] = pixels[y * w + x];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page `w` × `h` with dark rectangles (x, y, width, height).
    fn page(w: usize, h: usize, dark: &[(usize, usize, usize, usize)]) -> Vec<u8> {
        let mut p = vec![255u8; w * h];
        for &(x0, y0, dw, dh) in dark {
            for y in y0..y0 + dh {
                p[y * w + x0..y * w + x0 + dw].fill(0);
            }
        }
        p
    }

    #[test]
    fn a_grid_is_erased_and_the_letters_in_it_and_a_filled_banner_are_kept() {
        // At 100 dpi: rules are 50 px across or 40 px down and at most 4 px thick.
        let (w, h) = (300, 200);
        let grid = [(10, 10, 200, 2), (10, 60, 201, 3), (10, 10, 2, 51), (209, 10, 2, 51)];
        // A "letter" in a cell (a stroke 20 px high, a bar 15 px wide), and a banner 60 px high.
        let letters = [(50, 30, 3, 20), (80, 40, 15, 3)];
        let banner = [(10, 100, 280, 60)];
        let mut pixels = page(w, h, &[&grid[..], &letters[..], &banner[..]].concat());
        assert!(erase(&mut pixels, w as u32, h as u32, 100));
        let dark = |x: usize, y: usize| pixels[y * w + x] < INK;
        assert!(!dark(100, 10) && !dark(100, 61) && !dark(10, 30) && !dark(210, 40), "rules erased");
        assert!(dark(51, 40) && dark(85, 41), "the letters in the cells are kept");
        assert!(dark(150, 130) && dark(11, 101), "a filled area is not a rule");
    }

    #[test]
    fn a_page_of_text_without_rules_is_left_as_it_is() {
        let (w, h) = (300, 100);
        let strokes: Vec<_> = (0..20).map(|i| (10 + i * 14, 20, 3, 25)).collect();
        let mut pixels = page(w, h, &strokes);
        let before = pixels.clone();
        assert!(!erase(&mut pixels, w as u32, h as u32, 100));
        assert_eq!(pixels, before);
        assert!(!erase(&mut [], 0, 0, 300), "an empty page");
    }
}
