//! agate's `Table.print_table()`, as dbt's `run_query(…).print_table()`
//! draws a result: a Markdown-like grid, at most `max_rows` rows (20) and
//! `max_columns` columns (6), each followed by a `...` row or column when
//! cut; text cut at `max_column_width` (20) characters with `...` and
//! aligned left; numbers with thousands separators and at most
//! `max_precision` (3) decimals, a column whose values have more marked
//! `…`, aligned right with booleans; none as nothing. Draws; prints nothing.

use minijinja::value::{Value, ValueKind};

/// The limits `print_table` takes as keywords.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_rows: usize,
    pub max_columns: usize,
    pub max_column_width: usize,
    pub max_precision: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_rows: 20, max_columns: 6, max_column_width: 20, max_precision: 3 }
    }
}

/// Decimal places of a number as Python's `repr` writes it (`1.2345` → 4).
fn places(v: &Value) -> usize {
    if v.as_i64().is_some() && !v.to_string().contains('.') {
        return 0;
    }
    let text = v.to_string();
    match text.split_once('.') {
        Some((_, frac)) => frac.trim_end_matches(|c: char| !c.is_ascii_digit()).len(),
        None => 0,
    }
}

/// `digits` with a `,` between each group of three, as babel's en_US.
fn grouped(int: &str) -> String {
    let (sign, digits) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// `text` (a decimal as Python's `repr` writes it) rounded to `precision`
/// places half to even, as agate quantizes its `Decimal`s.
fn rounded(text: &str, precision: usize) -> String {
    let (sign, text) = text.strip_prefix('-').map(|t| ("-", t)).unwrap_or(("", text));
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut digits: Vec<u8> =
        int.bytes().chain(frac.bytes().chain(std::iter::repeat(b'0')).take(precision)).map(|b| b - b'0').collect();
    let rest: Vec<u8> = frac.bytes().skip(precision).map(|b| b - b'0').collect();
    let up = match rest.first() {
        Some(&d) if d > 5 => true,
        Some(&5) => rest[1..].iter().any(|&d| d > 0) || digits.last().is_some_and(|d| d % 2 == 1),
        _ => false,
    };
    if up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let int_len = digits.len() - precision;
    let as_text = |ds: &[u8]| ds.iter().map(|d| char::from(b'0' + d)).collect::<String>();
    let mut out = format!("{sign}{}", grouped(&as_text(&digits[..int_len])));
    if precision > 0 {
        out.push('.');
        out.push_str(&as_text(&digits[int_len..]));
    }
    out
}

fn number(v: &Value, precision: usize, marked: bool) -> String {
    let text = v.to_string();
    // Python's repr of a large or small float uses an exponent: agate's Decimal does not.
    let text = match text.contains(['e', 'E']) {
        true => format!("{:.*}", precision + 6, f64::try_from(v.clone()).unwrap_or(0.0)),
        false => text,
    };
    let mut out = rounded(&text, precision);
    if marked {
        out.push('…');
    }
    out
}

fn cut(text: &str, width: usize) -> String {
    match text.chars().count() > width {
        true => format!("{}...", text.chars().take(width.saturating_sub(3)).collect::<String>()),
        false => text.to_string(),
    }
}

/// The table drawn, one string a line.
pub(super) fn draw(columns: &[String], rows: &[Vec<Value>], limits: Limits) -> Vec<String> {
    let shown_cols = columns.len().min(limits.max_columns);
    let shown_rows = &rows[..rows.len().min(limits.max_rows)];
    // A column is numeric (right-aligned) when its values are numbers or booleans.
    let kinds: Vec<bool> = (0..shown_cols)
        .map(|c| {
            let present = || shown_rows.iter().filter_map(|r| r.get(c)).filter(|v| !v.is_none());
            present().next().is_some() && present().all(|v| matches!(v.kind(), ValueKind::Number | ValueKind::Bool))
        })
        .collect();
    let precision: Vec<(usize, bool)> = (0..shown_cols)
        .map(|c| {
            let most = rows.iter().filter_map(|r| r.get(c)).filter(|v| v.kind() == ValueKind::Number).map(places).max();
            let most = most.unwrap_or(0);
            (most.min(limits.max_precision), most > limits.max_precision)
        })
        .collect();
    let cell = |c: usize, v: &Value| -> String {
        match v.kind() {
            ValueKind::None | ValueKind::Undefined => String::new(),
            ValueKind::Bool => if v.is_true() { "True" } else { "False" }.to_string(),
            ValueKind::Number => number(v, precision[c].0, precision[c].1),
            _ => cut(&v.to_string(), limits.max_column_width),
        }
    };
    let more_cols = columns.len() > shown_cols;
    let mut header: Vec<String> = columns[..shown_cols].iter().map(|n| cut(n, limits.max_column_width)).collect();
    let mut body: Vec<Vec<String>> = shown_rows
        .iter()
        .map(|r| (0..shown_cols).map(|c| r.get(c).map(|v| cell(c, v)).unwrap_or_default()).collect())
        .collect();
    if more_cols {
        header.push("...".into());
        body.iter_mut().for_each(|r| r.push("...".into()));
    }
    let right: Vec<bool> = kinds.iter().copied().chain(more_cols.then_some(false)).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| body.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .zip(&right)
            .map(|((c, w), r)| match r {
                true => format!("{c:>w$}"),
                false => format!("{c:<w$}"),
            })
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let mut out = vec![line(&header)];
    out.push(format!("| {} |", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join(" | ")));
    out.extend(body.iter().map(|r| line(r)));
    if rows.len() > shown_rows.len() {
        out.push(line(&vec!["...".to_string(); header.len()]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// agate's own drawing of these rows (dbt-core 1.10, `print_table()`).
    #[test]
    fn rows_numbers_text_and_cuts_as_agate_draws_them() {
        let columns: Vec<String> = ["n", "f", "s", "z", "b"].map(String::from).to_vec();
        let rows: Vec<Vec<Value>> = (0..25)
            .map(|i: i64| {
                vec![
                    Value::from(i),
                    // DuckDB's `range * 1.2345` is a DECIMAL: its exact text.
                    Value::from(
                        format!("{}.{:04}", i * 12345 / 10000, i * 12345 % 10000).parse::<f64>().expect("a decimal"),
                    ),
                    Value::from("abc".repeat(i as usize)),
                    Value::from(()),
                    Value::from(i % 2 == 0),
                ]
            })
            .collect();
        let out = draw(&columns, &rows, Limits::default());
        assert_eq!(out[0], "|  n |       f | s                    | z |     b |");
        assert_eq!(out[1], "| -- | ------- | -------------------- | - | ----- |");
        assert_eq!(out[2], "|  0 |  0.000… |                      |   |  True |");
        assert_eq!(out[3], "|  1 |  1.234… | abc                  |   | False |");
        assert_eq!(out[11], "|  9 | 11.110… | abcabcabcabcabcab... |   | False |");
        assert_eq!(out[7], "|  5 |  6.172… | abcabcabcabcabc      |   | False |");
        assert_eq!(out[13], "| 11 | 13.580… | abcabcabcabcabcab... |   | False |");
        assert_eq!(out.len(), 23);
        assert_eq!(out[22], "| ... |     ... | ...                  | ... |   ... |");
    }

    #[test]
    fn rounding_is_half_to_even_on_the_decimal_text() {
        assert_eq!(rounded("6.1725", 3), "6.172");
        assert_eq!(rounded("13.5795", 3), "13.580");
        assert_eq!(rounded("999.9995", 3), "1,000.000");
        assert_eq!(rounded("-1234.5", 0), "-1,234");
        assert_eq!(rounded("2.5", 0), "2");
        assert_eq!(rounded("0.1", 3), "0.100");
    }

    #[test]
    fn a_seventh_column_is_cut_and_big_numbers_are_grouped() {
        let columns: Vec<String> = (1..=8).map(|i| format!("a{i}")).collect();
        let rows = vec![(1..=8).map(|i| Value::from(i * 1000)).collect::<Vec<_>>()];
        let out = draw(&columns, &rows, Limits { max_columns: 2, ..Limits::default() });
        assert_eq!(out, ["|    a1 |    a2 | ... |", "| ----- | ----- | --- |", "| 1,000 | 2,000 | ... |"]);
    }
}
