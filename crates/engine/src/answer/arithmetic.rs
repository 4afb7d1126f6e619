//! Exact arithmetic in answers: the model writes a calculation over figures it quotes from the
//! sources, between double angle brackets (`<<(1,577 - 1,462) / 1,462 * 100>>`), and the engine
//! computes it and writes the result with its formula: `7.87 (= (1,577 − 1,462) / 1,462 × 100)`.
//!
//! Small models get ratios, growth rates and sums wrong; they copy figures well. So the model only
//! chooses the operands and the operation, and the groundedness check then requires every operand
//! to occur in the sources the claim cites, while the result — which no source holds — is
//! exempt: it is the engine's own, computed from checked figures. Choosing the operands is where
//! a small model still errs: "(6,188 − 793) / 793 × 100" as the growth of net income takes income
//! tax for last year's net income. So a change's two figures ([`change_compares`]) must also be
//! one quantity at two times in the sources (`grounding::compare_like`).
//!
//! Evaluation is `evalexpr`'s, on an expression this module has first reduced to numbers,
//! `+ - * /` and parentheses (no names, no functions, no assignments: the model's text is data,
//! never a program); every number is read as a decimal so that `7 / 2` is 3.5.

use serde::{Deserialize, Serialize};

/// One calculation of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Calculation {
    /// The formula as shown (the model's figures, typeset operators).
    pub formula: String,
    /// The result as shown (rounded to two decimals, trailing zeros dropped).
    pub result: String,
}

/// Figures a formula may use that no source needs to hold: the result's scale (per cent, per
/// thousand, millions) and small counts (the 2 of an average of two, the 12 months of a year).
const CONSTANTS: &[&str] = &["1", "2", "3", "4", "12", "100", "365", "1000", "1000000"];

impl Calculation {
    /// Figures of this calculation that the groundedness check does not look for in the sources:
    /// its result, and the constants its formula uses (normalised as the check compares figures).
    pub(crate) fn exempt_figures(&self) -> std::collections::HashSet<String> {
        let mut exempt = crate::grounding::figures(&self.result);
        exempt.extend(crate::grounding::figures(&self.formula).into_iter().filter(|f| CONSTANTS.contains(&f.as_str())));
        exempt
    }
}

/// Most characters of one calculation: a formula longer than this is no quick ratio.
const MAX_FORMULA: usize = 200;

/// The answer's text with each `<<expression>>` replaced by its result and formula, and the
/// calculations done. An expression that is not plain arithmetic over figures is left as text
/// (without its brackets) and computes nothing.
pub(crate) fn compute(text: &str) -> (String, Vec<Calculation>) {
    let mut out = String::with_capacity(text.len());
    let mut done = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("<<") {
        let Some(close) = rest[open + 2..].find(">>").map(|i| open + 2 + i) else { break };
        out.push_str(&rest[..open]);
        let expression = rest[open + 2..close].trim();
        match evaluate(expression) {
            Some(value) => {
                let calculation = Calculation { formula: typeset(expression), result: show(value) };
                out.push_str(&format!("{} (= {})", calculation.result, calculation.formula));
                done.push(calculation);
            }
            None => out.push_str(expression),
        }
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    (out, done)
}

/// The value of an arithmetic expression over figures, or `None` if it is anything else (or
/// divides by zero).
fn evaluate(expression: &str) -> Option<f64> {
    if expression.is_empty() || expression.len() > MAX_FORMULA {
        return None;
    }
    let plain = decimal_arithmetic(expression)?;
    let value = evalexpr::eval_number(&plain).ok()?;
    value.is_finite().then_some(value)
}

/// The expression with figures as decimal literals ("1,577" → "1577.0", "$82.9" → "82.9",
/// "12%" → "12.0"), typographic operators as ASCII, and nothing else allowed.
fn decimal_arithmetic(expression: &str) -> Option<String> {
    let mut out = String::new();
    let chars: Vec<char> = expression.chars().collect();
    let mut i = 0;
    let mut operands = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let mut number = String::new();
            while i < chars.len() {
                let c = chars[i];
                let grouping = c == ',' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if c.is_ascii_digit() || c == '.' {
                    number.push(c);
                } else if !grouping {
                    break;
                }
                i += 1;
            }
            if number.matches('.').count() > 1 {
                return None;
            }
            out.push_str(&number);
            if !number.contains('.') {
                out.push_str(".0");
            }
            operands += 1;
            continue;
        }
        match c {
            '+' | '-' | '*' | '/' | '(' | ')' => out.push(c),
            '−' | '–' => out.push('-'),
            '×' | 'x' | '·' => out.push('*'),
            '÷' => out.push('/'),
            // Units and signs around figures carry no arithmetic.
            '$' | '€' | '£' | '%' | ' ' => {}
            _ => return None,
        }
        i += 1;
    }
    // A lone figure is a quotation, not a calculation.
    (operands >= 2).then_some(out)
}

/// The formula as a person reads it: one space around operators, typographic minus and times.
fn typeset(expression: &str) -> String {
    let mut out = String::new();
    for c in expression.chars() {
        match c {
            '-' | '−' | '–' => out.push_str(" − "),
            '*' | '×' | '·' => out.push_str(" × "),
            '/' | '÷' => out.push_str(" / "),
            '+' => out.push_str(" + "),
            _ => out.push(c),
        }
    }
    let spaced: Vec<&str> = out.split_whitespace().collect();
    spaced.join(" ").replace("( ", "(").replace(" )", ")")
}

/// The formulas the engine wrote into `text`: each "(= formula)" that [`compute`] put after a
/// result, its parentheses balanced.
pub(crate) fn formulas_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("(= ") {
        let body = &rest[start + 3..];
        let mut depth = 1;
        let end = body.char_indices().find_map(|(i, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            (depth == 0).then_some(i)
        });
        let Some(end) = end else { break };
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

/// The two figures a change compares, the later and the earlier, when `formula` is a change:
/// `(a − b) / b`, as a share or `× 100` (typeset as [`compute`] writes it). Each figure as the
/// groundedness check reads figures. `None` for any other formula: a sum, a ratio or a
/// difference may well combine different things (revenue less cost); a change compares one
/// thing with itself.
pub(crate) fn change_compares(formula: &str) -> Option<(String, String)> {
    let compact: String = formula.chars().filter(|c| !c.is_whitespace()).collect();
    let body = compact.strip_suffix("×100").or_else(|| compact.strip_prefix("100×")).unwrap_or(&compact);
    let body = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')).filter(|b| b.starts_with('(')).unwrap_or(body);
    let (numerator, denominator) = body.rsplit_once('/')?;
    let (later, earlier) = numerator.strip_prefix('(')?.strip_suffix(')')?.split_once('−')?;
    let figure = |text: &str| {
        let plain = text.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '$' | '€' | '£'));
        let mut found = crate::grounding::figures(text).into_iter();
        match (plain, found.next(), found.next()) {
            (true, Some(f), None) => Some(f),
            _ => None,
        }
    };
    let (later, earlier, base) = (figure(later)?, figure(earlier)?, figure(denominator)?);
    (earlier == base && later != earlier).then_some((later, earlier))
}

/// A result with two decimals at most, trailing zeros dropped, thousands grouped.
pub(crate) fn show(value: f64) -> String {
    let rounded = format!("{:.2}", value);
    let rounded = rounded.trim_end_matches('0').trim_end_matches('.');
    let (sign, digits) = rounded.strip_prefix('-').map_or(("", rounded), |d| ("-", d));
    let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calculation_is_computed_exactly_and_shown_with_its_formula() {
        let (text, done) = compute("Net sales grew by <<(1,577 - 1,462) / 1,462 * 100>>% [1][2].");
        assert_eq!(text, "Net sales grew by 7.87 (= (1,577 − 1,462) / 1,462 × 100)% [1][2].");
        assert_eq!(done, vec![Calculation { formula: "(1,577 − 1,462) / 1,462 × 100".into(), result: "7.87".into() }]);
        assert_eq!(compute("<<7 / 2>>").1[0].result, "3.5", "figures are decimals, not integers");
        assert_eq!(compute("<<82,959 + 81,434>>").1[0].result, "164,393");
        assert_eq!(compute("<<$1,000 - $1,250.50>>").1[0].result, "-250.5");
    }

    #[test]
    fn a_change_compares_its_later_and_earlier_figure_and_nothing_else_is_a_change() {
        let change = |expression: &str| {
            let (text, done) = compute(&format!("It grew by <<{expression}>>%."));
            assert_eq!(formulas_in(&text), vec![done[0].formula.as_str()], "{text}");
            change_compares(&done[0].formula)
        };
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(change("(1,577 - 1,462) / 1,462 * 100"), pair("1577", "1462"));
        assert_eq!(change("100 * (1,577 - 1,462) / 1,462"), pair("1577", "1462"));
        assert_eq!(change("((6,188 - 656) / 656) * 100"), pair("6188", "656"));
        assert_eq!(change("($82.9 - $81.4) / $81.4"), pair("82.9", "81.4"), "a share, not per cent");
        for other in ["1,577 - 1,462", "(1,577 - 1,462) / 1,577 * 100", "1,577 / 1,462", "(1,577 + 3 - 1,462) / 1,462", "82,959 + 81,434"] {
            assert_eq!(change(other), None, "{other}");
        }
        let two = "Sales grew 7.87 (= (1,577 − 1,462) / 1,462 × 100)% and costs 2 (= (102 − 100) / 100 × 100)%.";
        assert_eq!(formulas_in(two), vec!["(1,577 − 1,462) / 1,462 × 100", "(102 − 100) / 100 × 100"]);
        assert!(formulas_in("Sales (in millions) grew (= unclosed").is_empty());
    }

    #[test]
    fn anything_but_arithmetic_over_figures_is_left_as_text() {
        for expression in ["price * 2", "1 / 0", "42", "a = 5; a", "2 ^ 10", "1..2 + 3", "(1 + 2", ""] {
            let (text, done) = compute(&format!("It is <<{expression}>>."));
            assert!(done.is_empty(), "{expression:?} computed to {done:?}");
            assert_eq!(text, format!("It is {}.", expression.trim()), "{expression:?}");
        }
        let (text, done) = compute("No calculation here, and an unclosed << bracket.");
        assert_eq!((text.as_str(), done.len()), ("No calculation here, and an unclosed << bracket.", 0));
    }
}
