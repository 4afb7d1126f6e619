//! Tables in a PDF's text layer, found from where the glyphs stand.
//!
//! A PDF has no tables, only glyphs at positions: read in drawing order, a statement becomes runs
//! of figures ("1,577 1,462 3,462") whose column headers are lines away, so a passage says
//! nothing of which line item or period a figure is. Here a page's glyphs are laid out in lines
//! by their baseline, each line is cut into cells at wide gaps, and a run of lines that end in
//! figures standing in the same columns (their right edges aligned, as statements and price lists
//! align figures) is a table. Its rows are written one per line, each figure with its column's
//! header and the row's label with its group: `Net sales: Products | Three Months Ended
//! December 31, 2022: $96,388 | …`, under the statement's title and units as the section's
//! heading. So every chunk of a table says what each figure is, and no chunk cuts a row (rows are
//! lines, and the splitter cuts at lines first).
//!
//! Key design decision: only what is sure becomes a table — at least [`MIN_ROWS`] rows of
//! figures in aligned columns; anything else stays running text, exactly as before. Written here
//! because no maintained Rust crate finds tables in a PDF's text layer (the tools that do are
//! Python or Java: pdfplumber, camelot, tabula); the rules are their "stream" rules (columns from
//! whitespace and aligned figures), kept to what the text layer reliably gives.

use super::{has_short_last_group, is_grouped_number};

/// One glyph as pdf-extract places it (y measured from the top of the page, at the baseline).
#[derive(Debug, Clone)]
pub(crate) struct Glyph {
    pub(crate) text: String,
    pub(crate) x0: f64,
    pub(crate) x1: f64,
    pub(crate) y: f64,
    pub(crate) size: f64,
    /// The glyph's width was not in its font, so `x1` is where it starts.
    pub(crate) width_unknown: bool,
    /// A space glyph: it breaks words and belongs to no cell.
    pub(crate) space: bool,
    /// The glyph drawn just before it was a space.
    pub(crate) after_space: bool,
}

/// A table found on a page: the glyphs it took (its caption, header and rows) and what it says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FoundTable {
    pub(crate) glyphs: Vec<usize>,
    /// Title and units, one line ("CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (In millions)").
    pub(crate) caption: Option<String>,
    /// The rows, one per line.
    pub(crate) text: String,
    /// The cells, when the table's structure is sure (see [`Grid`]).
    pub(crate) grid: Option<Grid>,
}

/// A table's cells for a query over it, kept only when its structure is sure: every column has
/// a header of its own (no two alike), every row a label and at most one figure per column.
/// A table read less surely is still indexed as rows; only no query runs over it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    /// What the labels are ("Depot"), when a stub over them says so.
    pub(crate) label_name: Option<String>,
    /// The figure columns' headers, left to right.
    pub(crate) headers: Vec<String>,
    pub(crate) rows: Vec<GridRow>,
}

/// A row of a [`Grid`]: its label, the group label it stands under, and a figure per column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GridRow {
    pub(crate) group: Option<String>,
    pub(crate) label: String,
    pub(crate) figures: Vec<Option<String>>,
}

/// Fewest rows of figures a table has.
pub(crate) const MIN_ROWS: usize = 3;
/// Pages with more glyphs than this are not searched for tables (a hostile or a plotted page).
const MAX_GLYPHS: usize = 60_000;
/// Two glyphs are on one line when their baselines differ by less than this share of the size.
const SAME_LINE: f64 = 0.5;
/// A word break: a gap of this share of the size (as in the page's running text)…
const WORD_GAP: f64 = 0.15;
/// …or after a glyph of unknown width, this share (a letter's width and a space).
const WORD_GAP_AFTER_UNKNOWN_WIDTH: f64 = 1.0;
/// A cell break: a gap of this share of the size, or more after a glyph of unknown width.
const CELL_GAP: f64 = 1.0;
const CELL_GAP_AFTER_UNKNOWN_WIDTH: f64 = 1.6;
/// A footnote mark this close (in sizes) after words is theirs, not a figure…
const MARK_GAP: f64 = 3.0;
/// …and a bare number is a mark when set smaller than this share of its line's size.
const SMALL_MARK: f64 = 0.85;
/// Rows of a table are at most this many sizes apart (a blank line between row groups is fine).
const MAX_ROW_GAP: f64 = 3.2;
/// A gap this wide (in sizes) between words of a row's label is the gutter between two columns
/// of a page…
const GUTTER: f64 = 1.8;
/// …and a table after it starts at most this far (in sizes) left of its labels (a group label
/// set less indented than its rows).
const MAX_INDENT: f64 = 3.0;
/// Figures whose right edges are this close (in sizes) stand in one column.
const COLUMN_TOLERANCE: f64 = 1.5;
/// Header and caption lines stand at most this many sizes above the line below them.
const MAX_HEADER_GAP: f64 = 3.5;
const MAX_HEADER_LINES: usize = 5;
const MAX_CAPTION_LINES: usize = 4;
/// Above a table's caption, a title line has at most this many words (more is running text).
const SHORT_LINE_WORDS: usize = 12;
/// A caption has at most this many words: a longer one is running text.
const MAX_CAPTION_WORDS: usize = 60;
/// A group label longer than this many words is not repeated on its rows.
const MAX_GROUP_WORDS: usize = 6;
/// Lines of one paragraph stand at most this many sizes apart.
const TIGHT_LINES: f64 = 1.6;
const MAX_CAPTION_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Figure,
}

#[derive(Debug, Clone)]
struct Cell {
    text: String,
    x0: f64,
    x1: f64,
    kind: Kind,
}

#[derive(Debug)]
struct Line {
    glyphs: Vec<usize>,
    y: f64,
    size: f64,
    cells: Vec<Cell>,
}

impl Line {
    fn figures(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.kind == Kind::Figure)
    }

    fn texts(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.kind == Kind::Text)
    }

    /// Figures after a label (or alone), none before it: a row of a table.
    fn is_row(&self) -> bool {
        let first_figure = self.cells.iter().position(|c| c.kind == Kind::Figure);
        let last_text = self.cells.iter().rposition(|c| c.kind == Kind::Text);
        match (first_figure, last_text) {
            (Some(f), Some(t)) => f > t && !self.is_year_header(),
            (Some(_), None) => !self.is_year_header(),
            _ => false,
        }
    }

    /// "2022   2021": years over the columns, with at most a stub label beside them.
    fn is_year_header(&self) -> bool {
        self.figures().count() > 0 && self.figures().all(|c| is_year(&c.text)) && self.texts().count() <= 1
    }

    fn label(&self) -> String {
        self.texts().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" ")
    }

    fn x0(&self) -> f64 {
        self.cells.first().map_or(0.0, |c| c.x0)
    }

    fn words(&self) -> usize {
        self.cells.iter().map(|c| c.text.split_whitespace().count()).sum()
    }
}

fn is_year(text: &str) -> bool {
    text.len() == 4 && text.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y))
}

/// "1,234", "(1,234)", "$12.5", "12%", "—": a figure cell's token ("$" is its own token).
fn is_figure(token: &str) -> bool {
    let core = token.trim_start_matches(['$', '€', '£', '(']).trim_end_matches([')', '%', ',', ';', '*']);
    if !core.is_empty() && core.chars().all(|c| matches!(c, '—' | '–' | '-')) {
        return core.chars().count() <= 2;
    }
    let core = core.strip_prefix(['-', '−']).unwrap_or(core);
    let mut digits = 0;
    for c in core.chars() {
        match c {
            '0'..='9' => digits += 1,
            ',' | '.' => {}
            _ => return false,
        }
    }
    digits > 0 && core.starts_with(|c: char| c.is_ascii_digit() || c == '.')
}

/// "(1)", "(12)" — or "1" set smaller than its line — is a footnote mark when it follows words
/// closely.
fn is_footnote_mark(token: &str, small: bool) -> bool {
    let mark = match token.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inside) => inside,
        None if small => token,
        None => return false,
    };
    (1..=2).contains(&mark.len()) && mark.chars().all(|c| c.is_ascii_digit())
}

fn is_currency(token: &str) -> bool {
    matches!(token, "$" | "€" | "£" | "US$")
}

/// The tables of a page whose glyphs are `glyphs`, in drawing order.
pub(crate) fn find(glyphs: &[Glyph]) -> Vec<FoundTable> {
    if glyphs.len() > MAX_GLYPHS {
        return Vec::new();
    }
    let lines = lines(glyphs);
    let mut tables = Vec::new();
    let mut taken_until = 0;
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].is_row() {
            i += 1;
            continue;
        }
        let end = region_end(&lines, i);
        let rows = (i..=end).filter(|&k| lines[k].is_row()).count();
        if rows >= MIN_ROWS {
            let start = group_labels_above(&lines, i, taken_until);
            if let Some(table) = table(glyphs, &lines, start, end, taken_until) {
                tables.push(table);
            }
            taken_until = end + 1;
            i = end + 1;
        } else {
            i += 1;
        }
    }
    tables
}

/// The page's glyphs in lines, top to bottom, each cut into cells.
fn lines(glyphs: &[Glyph]) -> Vec<Line> {
    let mut order: Vec<usize> = (0..glyphs.len())
        .filter(|&i| {
            let g = &glyphs[i];
            !g.space && g.x0.is_finite() && g.x1.is_finite() && g.y.is_finite() && g.size.is_finite() && g.size > 0.0
        })
        .collect();
    order.sort_by(|&a, &b| glyphs[a].y.total_cmp(&glyphs[b].y).then(glyphs[a].x0.total_cmp(&glyphs[b].x0)));
    let mut lines: Vec<Line> = Vec::new();
    for i in order {
        let g = &glyphs[i];
        match lines.last_mut() {
            // Compared with the line's lowest glyph so far: a raised mark that starts a line does
            // not pull the line's baseline up.
            Some(line) if (g.y - line.y).abs() <= SAME_LINE * g.size.min(line.size) => {
                line.glyphs.push(i);
                line.y = line.y.max(g.y);
            }
            _ => lines.push(Line { glyphs: vec![i], y: g.y, size: g.size, cells: Vec::new() }),
        }
    }
    merge_raised_marks(glyphs, &mut lines);
    for line in &mut lines {
        line.glyphs.sort_by(|&a, &b| glyphs[a].x0.total_cmp(&glyphs[b].x0));
        let mut sizes: Vec<f64> = line.glyphs.iter().map(|&i| glyphs[i].size).collect();
        sizes.sort_by(f64::total_cmp);
        line.size = sizes[sizes.len() / 2];
        line.cells = cells(glyphs, &line.glyphs);
    }
    lines
}

/// Most glyphs of a line of footnote marks ("(1)(2)").
const MAX_MARK_GLYPHS: usize = 8;

/// Footnote marks set smaller and raised ("iPhone⁽¹⁾") make lines of their own: each joins the
/// line of full-size glyphs just below or above it, so that "(1)" stays beside its label instead
/// of passing for a row of one figure.
fn merge_raised_marks(glyphs: &[Glyph], lines: &mut Vec<Line>) {
    let largest = |line: &Line| line.glyphs.iter().map(|&i| glyphs[i].size).fold(0.0, f64::max);
    let is_marks = |line: &Line| {
        line.glyphs.len() <= MAX_MARK_GLYPHS
            && line
                .glyphs
                .iter()
                .all(|&i| glyphs[i].text.chars().all(|c| c.is_ascii_digit() || "()*†‡§,".contains(c) || c.is_ascii_lowercase()))
    };
    // Where each line of marks goes (decided on the lines as they are), then one pass to move
    // them: a page of hostile little lines costs no more than reading it.
    let hosts: Vec<Option<usize>> = (0..lines.len())
        .map(|k| {
            if !is_marks(&lines[k]) {
                return None;
            }
            let size = largest(&lines[k]);
            [k + 1, k.wrapping_sub(1)].into_iter().find(|&n| {
                lines.get(n).is_some_and(|other| {
                    let other_size = largest(other);
                    !is_marks(other) && size < 0.85 * other_size && (other.y - lines[k].y).abs() <= 0.7 * other_size
                })
            })
        })
        .collect();
    for (k, host) in hosts.iter().enumerate() {
        if let Some(n) = *host {
            let marks = std::mem::take(&mut lines[k].glyphs);
            lines[n].glyphs.extend(marks);
        }
    }
    lines.retain(|line| !line.glyphs.is_empty());
}

/// A word of a line and the gap before it (in sizes, measured as the glyph run's own rules do).
struct Token {
    text: String,
    x0: f64,
    x1: f64,
    size: f64,
    /// The gap before it is wide enough to start a cell.
    cell_break: bool,
}

/// A line's glyphs (left to right) as cells: text runs, and figures each in its own cell with
/// the currency sign before it.
fn cells(glyphs: &[Glyph], line: &[usize]) -> Vec<Cell> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut previous: Option<&Glyph> = None;
    for &i in line {
        let g = &glyphs[i];
        let (word_break, cell_break) = match previous {
            None => (true, true),
            Some(p) => {
                let gap = (g.x0 - p.x1) / g.size.max(p.size);
                let (word, cell) =
                    if p.width_unknown { (WORD_GAP_AFTER_UNKNOWN_WIDTH, CELL_GAP_AFTER_UNKNOWN_WIDTH) } else { (WORD_GAP, CELL_GAP) };
                (gap > word || g.after_space || gap < -1.0, gap > cell)
            }
        };
        match tokens.last_mut() {
            Some(t) if !word_break => {
                t.text.push_str(&g.text);
                t.x1 = t.x1.max(g.x1);
            }
            _ => tokens.push(Token { text: g.text.clone(), x0: g.x0, x1: g.x1, size: g.size, cell_break }),
        }
        previous = Some(g);
    }
    let tokens = rejoin_split_figures(tokens);

    let mut sizes: Vec<f64> = line.iter().map(|&i| glyphs[i].size).collect();
    sizes.sort_by(f64::total_cmp);
    let line_size = sizes.get(sizes.len() / 2).copied().unwrap_or(0.0);
    let mut cells: Vec<Cell> = Vec::new();
    let mut currency: Option<Token> = None;
    for token in tokens {
        let joins_last = !token.cell_break && currency.is_none();
        if is_currency(&token.text) {
            currency = Some(token);
            continue;
        }
        // A closing parenthesis or a per cent sign set apart from its figure: "$(1,279 )", "30 %".
        if matches!(token.text.as_str(), "%" | ")" | ")%")
            && let Some(last) = cells.last_mut().filter(|c| c.kind == Kind::Figure || token.text == "%")
        {
            last.text.push_str(&token.text);
            last.x1 = token.x1;
            continue;
        }
        let after_words = cells.last().is_some_and(|c| c.kind == Kind::Text && token.x0 - c.x1 < MARK_GAP * token.size);
        let mark = after_words && is_footnote_mark(&token.text, token.size < SMALL_MARK * line_size);
        let kind = if is_figure(&token.text) && !mark { Kind::Figure } else { Kind::Text };
        let joins_last = joins_last || mark;
        match cells.last_mut() {
            // A figure close after words is part of them ("Total net sales (4)", "up 2% or $1.5
            // billion"), and words close after a figure make it words too.
            // Two figures with no wide gap between them are no two cells either ("31, 2022)").
            Some(last) if joins_last => {
                last.text.push(' ');
                last.text.push_str(&token.text);
                last.x1 = token.x1;
                last.kind = Kind::Text;
            }
            _ => {
                let (text, x0) = match currency.take() {
                    Some(sign) if kind == Kind::Figure => (format!("{}{}", sign.text, token.text), sign.x0),
                    Some(sign) => (format!("{} {}", sign.text, token.text), sign.x0),
                    None => (token.text, token.x0),
                };
                cells.push(Cell { text, x0, x1: token.x1, kind });
            }
        }
    }
    if let Some(sign) = currency {
        cells.push(Cell { text: sign.text, x0: sign.x0, x1: sign.x1, kind: Kind::Text });
    }
    cells
}

/// "1 1,129" and "16,41 1": a figure split at a narrow "1" (see `rejoin_split_numbers`).
fn rejoin_split_figures(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    for token in tokens {
        if let Some(last) = out.last_mut() {
            let (a, b) = (&last.text, &token.text);
            let lone_one = a.trim_start_matches(['$', '(']) == "1" && b.starts_with(|c: char| c.is_ascii_digit());
            let short_group = has_short_last_group(a) && b.chars().all(|c| c.is_ascii_digit() || matches!(c, ')' | '%' | '.'));
            // "$2.1 1": a decimal figure whose last digit is the narrow "1".
            let split_decimal = a.contains('.')
                && a.ends_with(|c: char| c.is_ascii_digit())
                && b.starts_with('1')
                && b.chars().all(|c| c.is_ascii_digit() || matches!(c, ')' | '%'));
            let joined = format!("{a}{b}");
            // A short last group ("43,81") cannot end a figure, so it joins even across a wide gap.
            let joins = (short_group && is_grouped_number(&joined))
                || (!token.cell_break && (lone_one && is_grouped_number(&joined) || split_decimal && is_figure(&joined)));
            if joins {
                last.text = joined;
                last.x1 = token.x1;
                continue;
            }
        }
        out.push(token);
    }
    out
}

/// The last line of the table that starts with row `start`: rows, and label lines between rows
/// ("Net sales:", "Current assets:") that stay left of the figures.
fn region_end(lines: &[Line], start: usize) -> usize {
    let mut end = start;
    let mut figures_left = lines[start].figures().map(|c| c.x0).fold(f64::INFINITY, f64::min);
    for k in start + 1..lines.len() {
        let line = &lines[k];
        if line.y - lines[k - 1].y > MAX_ROW_GAP * line.size.max(lines[k - 1].size) {
            break;
        }
        if line.is_row() {
            end = k;
            figures_left = line.figures().map(|c| c.x0).fold(figures_left, f64::min);
        } else if line.figures().count() == 0 && line.cells.last().is_some_and(|c| c.x1 < figures_left) {
            continue;
        } else {
            break;
        }
    }
    end
}

/// Where the table whose first row is line `first_row` starts: at the group labels straight
/// above that row ("ASSETS:", "Net sales:"), a label ending in a colon or over indented rows.
fn group_labels_above(lines: &[Line], first_row: usize, taken_until: usize) -> usize {
    let figures_left = lines[first_row].figures().map(|c| c.x0).fold(f64::INFINITY, f64::min);
    let mut start = first_row;
    while start > taken_until && first_row - start < 2 {
        let (above, below) = (&lines[start - 1], &lines[start]);
        let label = above.cells.len() == 1 && above.figures().count() == 0 && above.cells[0].x1 < figures_left;
        let text = above.label();
        // "Net sales:", a label over indented rows, or a short one ("Assets") straight over another.
        let groups = text.ends_with(':')
            || below.x0() > above.x0() + 0.5 * above.size
            || (start < first_row && above.words() <= 3 && below.y - above.y <= TIGHT_LINES * above.size.max(below.size));
        let caption_like = units_in(&text).is_some() || text.to_lowercase().contains("unaudited");
        if !label || !groups || caption_like || below.y - above.y > MAX_ROW_GAP * above.size.max(below.size) {
            break;
        }
        start -= 1;
    }
    start
}

/// A column of figures: where its figures stand and its header.
#[derive(Debug, Default)]
struct Column {
    x0: f64,
    x1: f64,
    /// Right edges of its figures.
    edges: Vec<f64>,
    header: Vec<String>,
}

impl Column {
    fn center(&self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }
}

/// Columns from the right edges of the rows' figures: edges within [`COLUMN_TOLERANCE`] of the
/// previous one are one column; a single figure makes none.
fn columns(rows: &[&Line]) -> Vec<Column> {
    let mut figures: Vec<&Cell> = rows.iter().flat_map(|l| l.figures()).collect();
    figures.sort_by(|a, b| a.x1.total_cmp(&b.x1));
    let size = rows.iter().map(|l| l.size).fold(0.0, f64::max);
    let mut columns: Vec<Column> = Vec::new();
    for cell in figures {
        match columns.last_mut() {
            Some(c) if cell.x1 - c.edges.last().copied().unwrap_or(cell.x1) <= COLUMN_TOLERANCE * size => {
                c.edges.push(cell.x1);
                c.x0 = c.x0.min(cell.x0);
                c.x1 = c.x1.max(cell.x1);
            }
            _ => columns.push(Column { x0: cell.x0, x1: cell.x1, edges: vec![cell.x1], header: Vec::new() }),
        }
    }
    // Figures of one column that stand out to the right or left (a long share count among
    // amounts) overlap the column's other figures: one column.
    let mut merged: Vec<Column> = Vec::with_capacity(columns.len());
    for column in columns {
        match merged.last_mut() {
            Some(left) if column.x0 < left.x1 => {
                left.edges.extend(column.edges);
                left.x0 = left.x0.min(column.x0);
                left.x1 = left.x1.max(column.x1);
            }
            _ => merged.push(column),
        }
    }
    let mut columns = merged;
    // A figure no other lines up with (a footnote mark, a par value inside a label) makes no
    // column; it stays with its row's words.
    if columns.len() > 1 {
        columns.retain(|c| c.edges.len() > 1);
    }
    columns
}

/// The column a figure stands in: the nearest by its right edge (columns are in order, left to
/// right), if it is within a column's tolerance of that column's extent.
fn column_of(columns: &[Column], cell: &Cell, size: f64) -> Option<usize> {
    let distance = |c: &Column| if cell.x1 < c.x0 { c.x0 - cell.x1 } else { (cell.x1 - c.x1).max(0.0) };
    let at = columns.partition_point(|c| c.x1 < cell.x1);
    let nearest = [at.checked_sub(1), Some(at)]
        .into_iter()
        .flatten()
        .filter(|&k| k < columns.len())
        .min_by(|&a, &b| distance(&columns[a]).total_cmp(&distance(&columns[b])))?;
    let column = &columns[nearest];
    (cell.x1 >= column.x0 - COLUMN_TOLERANCE * size && cell.x0 <= column.x1 + COLUMN_TOLERANCE * size).then_some(nearest)
}

/// The table of lines `start..=end` (rows and group labels), with the header lines and caption
/// lines above it from line `taken_until` on; `None` when its figures make no column. A table in
/// one column of a two-column page shares its lines with the other column's text: the lines are
/// cut at the table's left edge first, and what lies left of it stays running text.
fn table(glyphs: &[Glyph], lines: &[Line], start: usize, end: usize, taken_until: usize) -> Option<FoundTable> {
    let rows: Vec<&Line> = lines[start..=end].iter().filter(|l| l.is_row()).collect();
    let Some(left) = left_edge(&rows) else { return table_of(lines, start, end, taken_until) };
    let view: Vec<Line> = lines[taken_until..=end]
        .iter()
        .map(|line| {
            // Cells are in order and hold their glyphs in order: the kept cells are the line's
            // last ones, and their glyphs those from the first kept cell on.
            let cells: Vec<Cell> = line.cells.iter().filter(|c| c.x0 >= left).cloned().collect();
            let from = cells.first().map_or(f64::INFINITY, |c| c.x0 - 0.01);
            let glyphs = line.glyphs.iter().copied().filter(|&i| glyphs[i].x0 >= from).collect();
            Line { glyphs, y: line.y, size: line.size, cells }
        })
        .collect();
    table_of(&view, start - taken_until, end - taken_until, 0)
}

/// Where a table standing in the right-hand column of a page starts: when most of its labelled
/// rows have words further left across a gutter (a gap of [`GUTTER`] sizes or more: the other
/// column's text), the table starts a little left of the nearest label after such a gutter.
fn left_edge(rows: &[&Line]) -> Option<f64> {
    let mut labelled = 0;
    let mut starts: Vec<f64> = Vec::new();
    for row in rows {
        let first_figure = row.cells.iter().position(|c| c.kind == Kind::Figure).unwrap_or(row.cells.len());
        let label = &row.cells[..first_figure];
        if label.is_empty() {
            continue;
        }
        labelled += 1;
        if let Some(k) = (1..label.len()).rev().find(|&k| label[k].x0 - label[k - 1].x1 >= GUTTER * row.size) {
            starts.push(label[k].x0 - MAX_INDENT * row.size);
        }
    }
    (labelled > 0 && starts.len() * 2 >= labelled).then(|| starts.iter().copied().fold(f64::INFINITY, f64::min))
}

fn table_of(lines: &[Line], start: usize, end: usize, taken_until: usize) -> Option<FoundTable> {
    let rows: Vec<&Line> = lines[start..=end].iter().filter(|l| l.is_row()).collect();
    let mut columns = columns(&rows);
    if columns.is_empty() {
        return None;
    }
    let size = rows.iter().map(|l| l.size).fold(0.0, f64::max);
    let first_column_x0 = columns.iter().map(|c| c.x0).fold(f64::INFINITY, f64::min);
    let first_column_width = columns.iter().map(|c| c.x1 - c.x0).fold(0.0, f64::max);

    // Header lines: straight above the rows, every cell over a column (or a stub at the left).
    let mut top = start;
    let mut stub: Vec<String> = Vec::new();
    let mut header_lines: Vec<usize> = Vec::new();
    while top > taken_until && header_lines.len() < MAX_HEADER_LINES {
        let (above, below) = (&lines[top - 1], &lines[top]);
        if below.y - above.y > MAX_HEADER_GAP * above.size.max(below.size) || above.is_row() {
            break;
        }
        let over_columns = |c: &Cell| c.x1 >= first_column_x0 - size && c.x0 >= first_column_x0 - (6.0 * size).max(first_column_width);
        let in_stub = |c: &Cell| c.x1 < first_column_x0 - size;
        let stubs = above.cells.iter().filter(|c| in_stub(c)).count();
        // A title or a units line centred over the page (one cell over the columns) is the
        // caption's, not the header's.
        let caption_like =
            |c: &Cell| !in_stub(c) && (is_title(&c.text) || units_in(&c.text).is_some() || c.text.to_lowercase().contains("unaudited"));
        if above.cells.is_empty()
            || !above.cells.iter().all(|c| in_stub(c) || over_columns(c))
            || stubs == above.cells.len()
            || (above.cells.len() - stubs == 1 && above.cells.iter().any(caption_like))
        {
            break;
        }
        header_lines.push(top - 1);
        top -= 1;
    }
    for &h in header_lines.iter().rev() {
        let mut got = vec![false; columns.len()];
        for cell in &lines[h].cells {
            if cell.x1 < first_column_x0 - size {
                stub.push(cell.text.clone());
                continue;
            }
            let overlapping: Vec<usize> =
                (0..columns.len()).filter(|&k| cell.x0 <= columns[k].x1 + size * 0.5 && cell.x1 >= columns[k].x0 - size * 0.5).collect();
            let targets = if overlapping.is_empty() {
                let center = (cell.x0 + cell.x1) / 2.0;
                (0..columns.len())
                    .min_by(|&a, &b| (columns[a].center() - center).abs().total_cmp(&(columns[b].center() - center).abs()))
                    .into_iter()
                    .collect()
            } else {
                overlapping
            };
            for k in targets {
                columns[k].header.push(cell.text.clone());
                got[k] = true;
            }
        }
        // A header set over a pair of columns ("December 31," once for two years, a period off
        // centre) names the columns beside it too: a column this line said nothing over takes
        // the line's nearest cell, when that cell is not far from it.
        let over: Vec<&Cell> = lines[h].cells.iter().filter(|c| c.x1 >= first_column_x0 - size).collect();
        for (column, _) in columns.iter_mut().zip(&got).filter(|(_, got)| !**got) {
            let distance = |c: &Cell| ((c.x0 + c.x1) / 2.0 - column.center()).abs();
            if let Some(nearest) = over.iter().min_by(|a, b| distance(a).total_cmp(&distance(b)))
                && distance(nearest) <= 2.5 * (nearest.x1 - nearest.x0) + 4.0 * size
            {
                column.header.push(nearest.text.clone());
            }
        }
    }

    spread_periods(lines, &header_lines, &mut columns);

    // Caption lines: short lines of words straight above the header — a title and its units, or
    // a short paragraph introducing the table ("The following table shows … (in millions):"),
    // whole: a paragraph too long to be a caption stays in the running text, and only its units
    // are read from it.
    let mut caption_lines: Vec<usize> = Vec::new();
    let (mut words, mut blocks, mut fragment) = (0, 0, false);
    let gap = |above: &Line, below: &Line| (below.y - above.y) / above.size.max(below.size);
    while top > taken_until && caption_lines.len() < MAX_CAPTION_LINES {
        let (above, below) = (&lines[top - 1], &lines[top]);
        if gap(above, below) > MAX_HEADER_GAP || above.is_row() || above.figures().any(|c| !is_year(&c.text)) || above.cells.is_empty() {
            break;
        }
        let new_block = caption_lines.is_empty() || gap(above, below) > TIGHT_LINES;
        blocks += usize::from(new_block);
        if blocks > 1 && new_block && above.words() > SHORT_LINE_WORDS {
            // Running text above a title.
            break;
        }
        words += above.words();
        if words > MAX_CAPTION_WORDS {
            fragment = true;
            break;
        }
        caption_lines.push(top - 1);
        top -= 1;
    }
    // A caption whose top line goes on from a line of running text above it is that
    // paragraph's end: the paragraph stays in the running text.
    if let Some(&first) = caption_lines.last() {
        fragment |= first > taken_until && {
            let above = &lines[first - 1];
            !above.is_row() && above.words() > SHORT_LINE_WORDS / 2 && gap(above, &lines[first]) <= TIGHT_LINES
        };
    }
    let mut units_only = None;
    if fragment {
        // Give back the top block, the paragraph, keeping only its units.
        while let Some(k) = caption_lines.pop() {
            units_only = units_only.or_else(|| units_in(&lines[k].label()));
            top = k + 1;
            if caption_lines.last() != Some(&(k + 1)) || gap(&lines[k], &lines[k + 1]) > TIGHT_LINES {
                break;
            }
        }
    }
    let mut caption: Vec<String> =
        caption_lines.iter().rev().map(|&k| lines[k].cells.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" ")).collect();
    // A stub over the labels says the units ("(In Millions; Unaudited)") or names the labels
    // ("Depot"): the one goes to the caption, the other before each row's label.
    let (units_stub, names): (Vec<String>, Vec<String>) =
        stub.into_iter().partition(|s| units_in(s).is_some() || s.to_lowercase().contains("unaudited"));
    caption.extend(units_stub);
    let label_name = (!names.is_empty()).then(|| names.join(" "));
    caption.extend(units_only);
    let has_units = |s: &str| units_in(s).is_some();
    if !caption.iter().any(|c| has_units(c)) && !columns.iter().flat_map(|c| &c.header).any(|h| has_units(h)) {
        // "(in millions)" may stand further up the page, above a title or a paragraph.
        if let Some(units) = lines[..top].iter().rev().find_map(|l| units_in(&l.label())) {
            caption.push(units);
        }
    }
    let caption = crate::text::one_line(&caption.join(" "), MAX_CAPTION_CHARS);
    let caption = (!caption.is_empty()).then_some(caption);

    let (text, grid) = rows_text(&lines[start..=end], &columns, label_name.as_deref(), size);
    let glyphs = (top..=end).flat_map(|k| lines[k].glyphs.iter().copied()).collect();
    Some(FoundTable { glyphs, caption, text, grid })
}

/// A period over a group of columns ("Three Months Ended", "Nine Months Ended") is often set
/// off-centre, over one column of its group: each column whose header is a date and names no
/// period takes the period standing nearest to it on the header lines.
fn spread_periods(lines: &[Line], header_lines: &[usize], columns: &mut [Column]) {
    let periods: Vec<&Cell> = header_lines.iter().flat_map(|&h| lines[h].texts()).filter(|c| names_period(&c.text)).collect();
    if periods.is_empty() {
        return;
    }
    for column in columns.iter_mut() {
        let header = column.header.join(" ");
        if names_period(&header) || !is_date_like(&header) {
            continue;
        }
        let center = column.center();
        let distance = |c: &Cell| ((c.x0 + c.x1) / 2.0 - center).abs();
        if let Some(period) = periods.iter().min_by(|a, b| distance(a).total_cmp(&distance(b))) {
            column.header.insert(0, period.text.clone());
        }
    }
}

/// "CONSOLIDATED STATEMENTS OF INCOME": two or more words in capitals.
fn is_title(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).collect();
    words.len() >= 2 && words.iter().all(|w| w.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase))
}

fn names_period(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("ended") || lower.contains("ending")
}

/// A header that holds a year or a month's name.
fn is_date_like(text: &str) -> bool {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| is_year(w) || (w.len() >= 3 && MONTHS.iter().any(|m| w.to_lowercase().starts_with(m))))
}

/// The rows, one per line: the label with its group (or the labels' name), then each figure
/// with its column's header; and the table's [`Grid`] when its structure is sure.
fn rows_text(lines: &[Line], columns: &[Column], label_name: Option<&str>, size: f64) -> (String, Option<Grid>) {
    let headers: Vec<String> = columns.iter().map(|c| c.header.join(" ")).collect();
    let mut out: Vec<String> = Vec::new();
    let distinct: std::collections::HashSet<&str> = headers.iter().map(String::as_str).collect();
    let mut sure = headers.iter().all(|h| !h.trim().is_empty()) && distinct.len() == headers.len();
    let mut grid_rows: Vec<GridRow> = Vec::new();
    let mut group: Option<(String, f64)> = None;
    let mut pending: Option<String> = None;
    for (k, line) in lines.iter().enumerate() {
        if !line.is_row() {
            let label = line.label();
            if label.is_empty() {
                continue;
            }
            // A label whose words go on in the next row's label (it starts in lower case).
            let next_goes_on = !label.ends_with(':')
                && lines.get(k + 1).is_some_and(|n| n.is_row() && n.label().starts_with(|c: char| c.is_lowercase() || c.is_ascii_digit()));
            if next_goes_on {
                pending = Some(label);
            } else {
                // A long group label ("Adjustments to reconcile net income to net cash from
                // operating activities:") repeated on every row would drown the rows' own words.
                group = (line.words() <= MAX_GROUP_WORDS).then(|| (label, line.x0()));
            }
            continue;
        }
        // Figures that stand in no column are words of the label.
        let mut values: Vec<Vec<&str>> = vec![Vec::new(); columns.len()];
        let mut label_words: Vec<&str> = Vec::new();
        for cell in &line.cells {
            match (cell.kind, column_of(columns, cell, size)) {
                (Kind::Figure, Some(k)) => values[k].push(&cell.text),
                _ => label_words.push(&cell.text),
            }
        }
        let mut label = label_words.join(" ");
        if let Some(first) = pending.take() {
            label = format!("{first} {label}");
        }
        if group.as_ref().is_some_and(|(_, x0)| !label.is_empty() && line.x0() <= x0 + size * 0.5) {
            group = None;
        }
        sure &= !label.trim().is_empty() && values.iter().all(|v| v.len() <= 1);
        if sure {
            grid_rows.push(GridRow {
                group: group.as_ref().map(|(g, _)| g.trim_end_matches(':').trim().to_string()),
                label: label.trim().to_string(),
                figures: values.iter().map(|v| v.first().map(|f| f.to_string())).collect(),
            });
        }
        match (&group, label_name) {
            (Some((g, _)), _) => label = if g.ends_with(':') { format!("{g} {label}") } else { format!("{g} — {label}") },
            (None, Some(name)) if !label.is_empty() => label = format!("{name}: {label}"),
            _ => {}
        }
        let mut parts: Vec<String> = Vec::new();
        if !label.trim().is_empty() {
            parts.push(label.trim().to_string());
        }
        for (header, value) in headers.iter().zip(&values).filter(|(_, v)| !v.is_empty()) {
            let value = value.join(" ");
            parts.push(if header.is_empty() { value } else { format!("{header}: {value}") });
        }
        out.push(parts.join(" | "));
    }
    let grid = (sure && !grid_rows.is_empty()).then(|| Grid {
        label_name: label_name.map(str::to_string),
        headers: headers.clone(),
        rows: grid_rows,
    });
    (out.join("\n"), grid)
}

/// The units a line states: "(In millions, except per share data)" from a title line, the
/// parenthesis holding "in millions" (or thousands, billions), or those words alone.
fn units_in(line: &str) -> Option<String> {
    let lower = line.to_lowercase();
    let at = ["in millions", "in thousands", "in billions"].iter().filter_map(|u| lower.find(u)).min()?;
    // `lower` may differ from `line` in length (ß, İ): read positions from `line` itself.
    if lower.len() != line.len() {
        return Some(format!("({})", &lower[at..].split([')', ':', ';']).next().unwrap_or("").trim()));
    }
    let open = line[..at].rfind('(').filter(|&o| !line[o..at].contains(')'));
    Some(match open {
        Some(o) => {
            let close = line[at..].find(')').map_or(line.len(), |c| at + c + 1);
            line[o..close].to_string()
        }
        None => format!("({})", line[at..].split([')', ':', ';', ',']).next().unwrap_or("").trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyphs of a line of cells: each `(x, text)` is a run of 5-unit-wide glyphs at size 10 from
    /// `x`, words split at spaces.
    fn line(y: f64, cells: &[(f64, &str)]) -> Vec<Glyph> {
        let mut out = Vec::new();
        for &(x, text) in cells {
            let mut at = x;
            let mut after_space = false;
            for c in text.chars() {
                if c == ' ' {
                    out.push(Glyph {
                        text: " ".into(),
                        x0: at,
                        x1: at + 2.5,
                        y,
                        size: 10.0,
                        width_unknown: false,
                        space: true,
                        after_space: false,
                    });
                    at += 2.5;
                    after_space = true;
                    continue;
                }
                out.push(Glyph {
                    text: c.to_string(),
                    x0: at,
                    x1: at + 5.0,
                    y,
                    size: 10.0,
                    width_unknown: false,
                    space: false,
                    after_space,
                });
                after_space = false;
                at += 5.0;
            }
        }
        out
    }

    /// `text` right-aligned to end at `right`.
    fn right(right: f64, text: &str) -> (f64, &str) {
        (right - 5.0 * text.chars().count() as f64, text)
    }

    fn statement() -> Vec<Glyph> {
        let mut g = Vec::new();
        g.extend(line(
            10.0,
            &[(
                60.0,
                "Report of the quarter with words enough to be running text and not a caption at all, no, it goes on and on for a while",
            )],
        ));
        g.extend(line(40.0, &[(100.0, "CONSOLIDATED STATEMENTS OF OPERATIONS")]));
        g.extend(line(52.0, &[(120.0, "(In millions)")]));
        g.extend(line(70.0, &[(300.0, "Three Months Ended")]));
        g.extend(line(82.0, &[(290.0, "December 31,"), (370.0, "December 25,")]));
        g.extend(line(94.0, &[right(340.0, "2022"), right(420.0, "2021")]));
        g.extend(line(110.0, &[(20.0, "Net sales:")]));
        g.extend(line(122.0, &[(30.0, "Products"), (290.0, "$"), right(340.0, "96,388"), (370.0, "$"), right(420.0, "104,429")]));
        g.extend(line(134.0, &[(30.0, "Services"), right(340.0, "20,766"), right(420.0, "19,516")]));
        g.extend(line(146.0, &[(40.0, "Total net sales"), right(340.0, "117,154"), right(420.0, "123,945")]));
        g.extend(line(170.0, &[(20.0, "Other income/(expense), net"), right(343.0, "(393)"), right(423.0, "(247)")]));
        g.extend(line(200.0, &[(60.0, "See accompanying notes, which are an integral part of these statements.")]));
        g
    }

    #[test]
    fn a_statement_becomes_rows_with_their_column_headers_groups_and_caption() {
        let glyphs = statement();
        let tables = find(&glyphs);
        assert_eq!(tables.len(), 1, "{tables:?}");
        let table = &tables[0];
        assert_eq!(table.caption.as_deref(), Some("CONSOLIDATED STATEMENTS OF OPERATIONS (In millions)"));
        assert_eq!(
            table.text.lines().collect::<Vec<_>>(),
            vec![
                "Net sales: Products | Three Months Ended December 31, 2022: $96,388 | Three Months Ended December 25, 2021: $104,429",
                "Net sales: Services | Three Months Ended December 31, 2022: 20,766 | Three Months Ended December 25, 2021: 19,516",
                "Net sales: Total net sales | Three Months Ended December 31, 2022: 117,154 | Three Months Ended December 25, 2021: 123,945",
                "Other income/(expense), net | Three Months Ended December 31, 2022: (393) | Three Months Ended December 25, 2021: (247)",
            ]
        );
        // The running text above and the note below are not the table's.
        let taken: String = table.glyphs.iter().map(|&i| glyphs[i].text.as_str()).collect();
        assert!(taken.starts_with("CONSOLIDATED") && taken.ends_with("(247)"), "{taken}");
        // Its structure is sure: cells for a query, the group apart from the label.
        let grid = table.grid.as_ref().expect("a grid");
        assert_eq!(grid.headers, vec!["Three Months Ended December 31, 2022", "Three Months Ended December 25, 2021"]);
        let row = |r: &GridRow| (r.group.clone(), r.label.clone(), r.figures.clone());
        assert_eq!(
            row(&grid.rows[1]),
            (Some("Net sales".to_string()), "Services".to_string(), vec![Some("20,766".to_string()), Some("19,516".to_string())])
        );
        assert_eq!(row(&grid.rows[3]), (None, "Other income/(expense), net".to_string(), vec![Some("(393)".into()), Some("(247)".into())]));
    }

    #[test]
    fn a_table_read_less_surely_is_rows_without_a_grid() {
        // One header over two columns names both alike, a column far from any header has none:
        // the rows are indexed, but which figure is which is not sure, so no query runs over them.
        let rows = |right_edge: f64| {
            let mut g = Vec::new();
            g.extend(line(40.0, &[right(340.0, "2023")]));
            for (y, label, a, b) in [(60.0, "Vans", "12", "14"), (72.0, "Drivers", "19", "22"), (84.0, "Depots", "3", "4")] {
                g.extend(line(y, &[(20.0, label), right(340.0, a), right(right_edge, b)]));
            }
            find(&g)
        };
        let alike = rows(420.0);
        assert!(alike[0].text.starts_with("Vans | 2023: 12 | 2023: 14"), "{}", alike[0].text);
        assert_eq!(alike[0].grid, None);
        let unnamed = rows(560.0);
        assert!(unnamed[0].text.starts_with("Vans | 2023: 12 | 14"), "{}", unnamed[0].text);
        assert_eq!(unnamed[0].grid, None);
    }

    #[test]
    fn running_text_with_figures_is_no_table() {
        let mut g = Vec::new();
        for (i, text) in [
            "Total net sales increased 2% or $1.5 billion during the quarter,",
            "driven by 3,400 stores and 1,200 new",
            "hires in 2022 and 17 regions.",
        ]
        .iter()
        .enumerate()
        {
            g.extend(line(10.0 + 12.0 * i as f64, &[(20.0, text)]));
        }
        assert!(find(&g).is_empty());
        // Two rows of figures are not enough to be sure.
        let mut g = Vec::new();
        g.extend(line(10.0, &[(20.0, "Alpha"), right(300.0, "1,234"), right(380.0, "5,678")]));
        g.extend(line(22.0, &[(20.0, "Beta"), right(300.0, "2,345"), right(380.0, "6,789")]));
        assert!(find(&g).is_empty());
    }

    fn years_and_rows(top: f64) -> Vec<Glyph> {
        let mut g = Vec::new();
        g.extend(line(top, &[right(300.0, "2022"), right(380.0, "2021")]));
        for (i, (label, a, b)) in
            [("Raw materials", "1,061", "1,637"), ("Finished goods", "5,759", "3,309"), ("Total inventories", "$6,820", "$4,946")]
                .iter()
                .enumerate()
        {
            g.extend(line(top + 12.0 * (i + 1) as f64, &[(20.0, label), right(300.0, a), right(380.0, b)]));
        }
        g
    }

    #[test]
    fn a_short_paragraph_over_a_table_is_its_caption_and_a_long_one_stays_running_text() {
        let mut g = line(10.0, &[(20.0, "Inventories")]);
        g.extend(line(30.0, &[(20.0, "The following table shows inventories (in millions):")]));
        g.extend(years_and_rows(50.0));
        let tables = find(&g);
        assert_eq!(tables[0].caption.as_deref(), Some("Inventories The following table shows inventories (in millions):"));
        assert_eq!(tables[0].text.lines().last(), Some("Total inventories | 2022: $6,820 | 2021: $4,946"));

        let mut g = Vec::new();
        for (i, text) in [
            "The Company's financial statement details are shown in the tables that follow, with the",
            "inventories first, then the property, plant and equipment, then the other income and",
            "expense, then the commercial paper, then the term debt and the notes that go with each",
            "of them, and each of them is reported as of the end of the period, and that is as of",
            "December 31, 2022 and September 24, 2022 (in millions):",
        ]
        .iter()
        .enumerate()
        {
            g.extend(line(10.0 + 12.0 * i as f64, &[(20.0, text)]));
        }
        g.extend(years_and_rows(84.0));
        let tables = find(&g);
        assert_eq!(tables[0].caption.as_deref(), Some("(in millions)"), "only the units of a paragraph cut by the table");
        let taken: String = tables[0].glyphs.iter().map(|&i| g[i].text.as_str()).collect();
        assert!(taken.starts_with("2022"), "{taken}");
    }

    #[test]
    fn a_raised_footnote_mark_stays_with_its_label() {
        let mut g = line(46.0, &[right(300.0, "2022"), right(380.0, "2021")]);
        g.extend(line(58.0, &[(20.0, "iPhone"), right(300.0, "65,775"), right(380.0, "71,628")]));
        // "(1)" set smaller and raised after "iPhone".
        g.extend(line(54.0, &[(52.0, "(1)")]).into_iter().map(|mark| Glyph { size: 7.0, ..mark }));
        for (i, (label, a, b)) in [("Mac", "7,735", "10,852"), ("iPad", "9,396", "7,248")].iter().enumerate() {
            g.extend(line(70.0 + 12.0 * i as f64, &[(20.0, label), right(300.0, a), right(380.0, b)]));
        }
        let tables = find(&g);
        assert_eq!(tables.len(), 1, "{tables:?}");
        assert_eq!(tables[0].text.lines().next(), Some("iPhone (1) | 2022: 65,775 | 2021: 71,628"));
    }

    #[test]
    fn units_are_read_from_a_line() {
        assert_eq!(units_in("(In millions, except per share data)").as_deref(), Some("(In millions, except per share data)"));
        assert_eq!(units_in("Amounts in thousands of dollars").as_deref(), Some("(in thousands of dollars)"));
        assert_eq!(units_in("as of December 31, 2022 (dollars in millions):").as_deref(), Some("(dollars in millions)"));
        assert_eq!(units_in("Net sales by category"), None);
    }

    #[test]
    fn a_page_of_tens_of_thousands_of_figures_is_read_in_one_pass() {
        // 1,000 rows of 8 figures: a quadratic step anywhere would take minutes here.
        let mut g = Vec::new();
        for r in 0..1_000 {
            let cells: Vec<(f64, String)> = (0..8).map(|c| (100.0 + 60.0 * c as f64, format!("{},{:03}", r % 97 + 1, c))).collect();
            let mut row: Vec<(f64, &str)> = vec![(20.0, "Item")];
            row.extend(cells.iter().map(|(x, t)| right(*x + 40.0, t.as_str())));
            g.extend(line(12.0 * r as f64, &row));
        }
        assert!(g.len() < MAX_GLYPHS);
        let tables = find(&g);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].text.lines().count(), 1_000);
        assert_eq!(tables[0].text.lines().next().unwrap().matches(" | ").count(), 8, "{}", tables[0].text.lines().next().unwrap());
        // Past the limit a page is not searched for tables at all.
        let mut more = g.clone();
        more.extend(g.iter().cloned());
        assert!(find(&more).is_empty());
    }

    #[test]
    fn a_table_in_the_right_column_leaves_the_left_column_to_the_running_text() {
        let prose = [
            "The retriever is trained with in-batch",
            "negatives, which makes training cheap",
            "and lets a batch reuse its passages",
            "as negatives for the other questions",
            "of the batch, as shown before.",
        ];
        let rows = [
            ("", "Train", "Test"),
            ("Natural Questions", "79,168", "3,610"),
            ("TriviaQA", "78,785", "11,313"),
            ("WebQuestions", "3,417", "2,032"),
            ("SQuAD", "78,713", "10,570"),
        ];
        let mut g = Vec::new();
        for (i, (text, (label, a, b))) in prose.iter().zip(rows).enumerate() {
            let y = 10.0 + 12.0 * i as f64;
            let mut cells = vec![(20.0, *text)];
            if !label.is_empty() {
                cells.push((240.0, label));
            }
            cells.extend([right(420.0, a), right(480.0, b)]);
            g.extend(line(y, &cells));
        }
        let tables = find(&g);
        assert_eq!(tables.len(), 1, "{tables:?}");
        assert_eq!(
            tables[0].text.lines().collect::<Vec<_>>(),
            vec![
                "Natural Questions | Train: 79,168 | Test: 3,610",
                "TriviaQA | Train: 78,785 | Test: 11,313",
                "WebQuestions | Train: 3,417 | Test: 2,032",
                "SQuAD | Train: 78,713 | Test: 10,570"
            ]
        );
        let taken: String = tables[0].glyphs.iter().map(|&i| g[i].text.as_str()).collect();
        assert!(!taken.contains("retriever") && !taken.contains("negatives"), "the left column is not the table's: {taken}");
    }

    #[test]
    fn figure_tokens() {
        for yes in ["1,234", "(1,234)", "$12.5", "12%", "—", "0.31", "(0.29)", "-", "-4.5"] {
            assert!(is_figure(yes), "{yes}");
        }
        for no in ["Q3", "2022a", "", "()", "abc", "10-Q", "—–—"] {
            assert!(!is_figure(no), "{no}");
        }
    }

    #[test]
    fn a_label_that_wraps_goes_on_in_the_next_row() {
        let mut g = Vec::new();
        g.extend(line(10.0, &[right(300.0, "2023"), right(380.0, "2022")]));
        g.extend(line(22.0, &[(20.0, "Depreciation and amortization of property and")]));
        g.extend(line(34.0, &[(30.0, "equipment, and other"), right(300.0, "9,716"), right(380.0, "11,589")]));
        g.extend(line(46.0, &[(20.0, "Stock-based compensation"), right(300.0, "5,209"), right(380.0, "7,127")]));
        g.extend(line(58.0, &[(20.0, "Deferred income taxes"), right(303.0, "(1,955)"), right(383.0, "(2,744)")]));
        let tables = find(&g);
        assert_eq!(tables.len(), 1);
        assert_eq!(
            tables[0].text.lines().next(),
            Some("Depreciation and amortization of property and equipment, and other | 2023: 9,716 | 2022: 11,589")
        );
        assert_eq!(tables[0].caption, None);
    }
}
