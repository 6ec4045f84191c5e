//! agate's type inference for a seed's columns, as dbt configures its type
//! tester, over the CSV read the way agate reads it (Python's `csv` module:
//! the `csv` crate parses the same dialect). Pure: it reads one file and
//! returns column names and SQL types; creating and loading the table stays
//! in [`super::seed`], and nothing here touches DuckDB.
//!
//! Why not in SQL: the same tests written as one DuckDB query cost 13–19 ms
//! per seed (most of it compiling the regular expressions), more than loading
//! the seed; here they cost microseconds for a seed of a few hundred rows.
//!
//! agate tests each non-null value (nulls: `""` and `null`, any case, after
//! stripping whitespace) against Number, Date (`%Y-%m-%d`), DateTime
//! (`%Y-%m-%d %H:%M:%S`), ISO-8601 DateTime and Boolean (`true`/`false`), in
//! that order, and picks the first type every value passes, else text. A
//! column with no non-null value is Number (or dbt's Integer when the file has
//! no rows), both `integer`. A Number column is `float8` when agate's
//! `MaxPrecision` finds decimal places, else `integer`.

use chrono::NaiveDate;
use regex::{Regex, RegexBuilder};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

/// agate's default currency symbols, stripped from both ends of a number in this order.
const CURRENCY: &[char] =
    &['؋', '$', 'ƒ', '៛', '¥', '₡', '₱', '£', '€', '¢', '﷼', '₪', '₩', '₭', '₮', '₦', '฿', '₤', '₫'];

/// What Python's `Decimal()` accepts (underscores between digits, infinities, NaNs), case-insensitively.
const DECIMAL_RE: &str =
    r"(?i)\s*[+-]?((\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)(e[+-]?\d(_?\d)*)?|inf|infinity|s?nan(\d(_?\d)*)?)\s*";

/// Python `strptime`'s `%Y-%m-%d`: four-digit year, unpadded or zero-padded
/// month, day may be space-padded. Groups: year, month, day.
const DATE_RE: &str = r"(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])";

/// `strptime`'s ` %H:%M:%S` (whitespace in a format matches any run of whitespace).
const TIME_RE: &str = r"\s+(2[0-3]|[01]\d|\d):([0-5]\d|\d):([0-5]\d|\d)";

/// isodate's `parse_datetime` for the usual shapes: a complete date (extended or
/// basic), `T`, a time of day with optional seconds and fraction, an optional
/// zone.
const ISO_RE: &str =
    r"(\d{4}-\d{2}-\d{2}|\d{8})T([01]\d|2[0-3])(:?[0-5]\d(:?[0-5]\d([.,]\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?";

/// The SQL types dbt-core's `convert_*_type` gives each agate type.
pub(super) const INTEGER: &str = "integer";
pub(super) const FLOAT: &str = "float8";
pub(super) const DATE: &str = "date";
pub(super) const TIMESTAMP: &str = "timestamp without time zone";
pub(super) const BOOLEAN: &str = "boolean";
pub(super) const TEXT: &str = "text";

/// Python's default decimal context precision, which caps agate's `MaxPrecision`.
const DECIMAL_PRECISION: i64 = 28;

struct Patterns {
    decimal: Regex,
    date: Regex,
    datetime: Regex,
    iso: Regex,
    exponent: Regex,
}

/// Whole-value matches, ASCII classes (`\d` is 0-9, `\s` ASCII whitespace) as
/// the patterns were written for.
fn full(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{pattern})$")).unicode(false).build()
}

static PATTERNS: LazyLock<Result<Patterns, regex::Error>> = LazyLock::new(|| {
    Ok(Patterns {
        decimal: full(DECIMAL_RE)?,
        date: full(DATE_RE)?,
        datetime: full(&format!("{DATE_RE}{TIME_RE}"))?,
        iso: full(ISO_RE)?,
        exponent: RegexBuilder::new(r"[eE]([+-]?\d+)").unicode(false).build()?,
    })
});

/// What the tests found for one column, over its non-null values.
#[derive(Debug, Clone, PartialEq)]
struct Tested {
    /// Whether any value was not null.
    seen: bool,
    number: bool,
    /// The largest whole and decimal places of the finite numbers.
    max_whole: Option<i64>,
    max_decimals: Option<i64>,
    date: bool,
    datetime: bool,
    iso: bool,
    boolean: bool,
}

impl Default for Tested {
    fn default() -> Self {
        Tested {
            seen: false,
            number: true,
            max_whole: None,
            max_decimals: None,
            date: true,
            datetime: true,
            iso: true,
            boolean: true,
        }
    }
}

/// The whitespace agate's casts strip, as the tests were written: ASCII.
fn trim_ws(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\x0c'])
}

/// The string agate's Number hands to `Decimal()`: `%` stripped, one leading
/// `-` taken off, currency symbols stripped, group separators removed.
fn number_candidate(t: &str) -> String {
    let s = t.trim_matches('%');
    let mut s = s.strip_prefix('-').unwrap_or(s);
    for sym in CURRENCY {
        s = s.trim_matches(*sym);
    }
    s.replace([',', '_'], "")
}

/// Whether year, month and day (any of them unparsed: `None`) name a real
/// calendar date; year 0 is not one (Python's `date` starts at year 1).
fn exists(y: Option<u32>, m: Option<u32>, d: Option<u32>) -> bool {
    match (y.and_then(|y| i32::try_from(y).ok()), m, d) {
        (Some(y), Some(m), Some(d)) if y != 0 => NaiveDate::from_ymd_opt(y, m, d).is_some(),
        _ => false,
    }
}

/// A calendar date that exists, from a regex match's year, month and day groups.
fn real_date(caps: &regex::Captures<'_>) -> bool {
    let num = |i: usize| caps.get(i).and_then(|m| m.as_str().trim().parse::<u32>().ok());
    exists(num(1), num(2), num(3))
}

/// The date part of an ISO value (`YYYY-MM-DD` or `YYYYMMDD` before the `T`) exists.
fn iso_date(t: &str) -> bool {
    let digits = t.split('T').next().unwrap_or("").replace('-', "");
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<u32>().ok());
    exists(num(0..4), num(4..6), num(6..8))
}

impl Tested {
    fn test(&mut self, p: &Patterns, raw: &str) {
        let t = trim_ws(raw);
        if t.is_empty() || t.eq_ignore_ascii_case("null") {
            return;
        }
        self.seen = true;
        if self.number {
            self.test_number(p, &number_candidate(t));
        }
        if self.date {
            self.date = p.date.captures(t).is_some_and(|c| real_date(&c));
        }
        if self.datetime {
            self.datetime = p.datetime.captures(t).is_some_and(|c| real_date(&c));
        }
        if self.iso {
            self.iso = p.iso.is_match(t) && iso_date(t);
        }
        if self.boolean {
            let b = trim_ws(&t.replace(',', "")).to_string();
            self.boolean = ["", "null", "true", "false"].iter().any(|v| b.eq_ignore_ascii_case(v));
        }
    }

    /// agate's `MaxPrecision` over the normalized value: significant digits `k`
    /// and exponent `e` give whole places `k + e` and decimal places `-e`.
    fn test_number(&mut self, p: &Patterns, n: &str) {
        if !p.decimal.is_match(n) {
            self.number = false;
            return;
        }
        let lower = n.to_ascii_lowercase();
        if lower.contains("inf") || lower.contains("nan") {
            return;
        }
        let body = n.trim_start_matches([' ', '\t', '\n', '\r', '\x0c', '\x0b']).trim_start_matches(['+', '-']);
        let ip: &str = &body[..body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len())];
        let fp = n.find('.').map_or("", |i| {
            let rest = &n[i + 1..];
            &rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())]
        });
        let ex = p.exponent.captures(n).and_then(|c| c.get(1)?.as_str().parse::<i64>().ok()).unwrap_or(0);
        let digits = format!("{ip}{fp}");
        let sig = digits.trim_start_matches('0');
        let k = sig.trim_end_matches('0').len() as i64;
        let e = ex.saturating_sub(fp.len() as i64).saturating_add(sig.len() as i64 - k);
        let (whole, decimals) = if k == 0 { (1, 0) } else { (k.saturating_add(e), e.saturating_neg()) };
        self.max_whole = Some(self.max_whole.map_or(whole, |m| m.max(whole)));
        self.max_decimals = Some(self.max_decimals.map_or(decimals, |m| m.max(decimals)));
    }

    /// The first type in agate's order that every value passed, as dbt's SQL type.
    fn sql_type(&self) -> &'static str {
        if !self.seen {
            // Every value null (or no rows): agate picks Number (or Integer), both `integer`.
            INTEGER
        } else if self.number {
            // agate's `max_precision`: whole places start at 1, decimals at 0,
            // and the two together are capped by the decimal context precision.
            let whole = self.max_whole.unwrap_or(1).max(1);
            let mut decimals = self.max_decimals.unwrap_or(0).max(0);
            if whole.saturating_add(decimals) > DECIMAL_PRECISION {
                decimals = DECIMAL_PRECISION - whole;
            }
            if decimals != 0 {
                FLOAT
            } else {
                INTEGER
            }
        } else if self.date {
            DATE
        } else if self.datetime || self.iso {
            TIMESTAMP
        } else if self.boolean {
            BOOLEAN
        } else {
            TEXT
        }
    }
}

/// agate's names for a header, as its `deduplicate` gives them: an empty name
/// becomes the column's spreadsheet letter (`b` for the second, `aa` for the
/// 27th), and a repeated name gets `_2`, `_3`, … So `column_types` and the
/// table see dbt's names.
fn deduplicate(header: &csv::StringRecord) -> Vec<String> {
    let mut taken = BTreeSet::new();
    let mut names = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let name = if name.is_empty() { letter_name(i) } else { name.to_string() };
        let mut candidate = name.clone();
        let mut n = 1;
        while taken.contains(&candidate) {
            n += 1;
            candidate = format!("{name}_{n}");
        }
        taken.insert(candidate.clone());
        names.push(candidate);
    }
    names
}

/// agate's `letter_name`: `a`…`z`, then `aa`…`zz`, then `aaa`…
fn letter_name(index: usize) -> String {
    let letter = char::from(b'a' + (index % 26) as u8);
    std::iter::repeat_n(letter, index / 26 + 1).collect()
}

/// A seed as agate sees it: columns in file order with their SQL type, and the row count.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sheet {
    pub columns: Vec<(String, String)>,
    pub rows: u64,
    /// No byte of the file is one DuckDB's CSV sniffer could take for a quote
    /// or an escape (`"`, `'`, `\`): every dialect it could choose parses
    /// the file the same way.
    pub unquoted: bool,
}

/// Reads `csv` with `delimiter` and types each column: `overrides` (dbt's
/// `column_types`) first, else agate's inference.
pub(super) fn infer(csv: &Path, delimiter: u8, overrides: &BTreeMap<String, String>) -> Result<Sheet, String> {
    let patterns = PATTERNS.as_ref().map_err(|e| format!("invalid built-in pattern: {e}"))?;
    let bytes = std::fs::read(csv).map_err(|e| format!("cannot read seed `{}`: {e}", csv.display()))?;
    let unquoted = !bytes.iter().any(|b| matches!(b, b'"' | b'\'' | b'\\'));
    let mut reader = crate::project::seed_reader(bytes.as_slice(), delimiter);
    let names = deduplicate(reader.headers().map_err(|e| format!("cannot read the header: {e}"))?);
    let mut tested = vec![Tested::default(); names.len()];
    // A column `column_types` names keeps its type whatever its values are.
    let typed: Vec<bool> = names.iter().map(|n| overrides.contains_key(n)).collect();
    let mut rows = 0u64;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| format!("invalid csv: {e}"))? {
        rows += 1;
        for ((column, value), typed) in tested.iter_mut().zip(record.iter()).zip(&typed) {
            if !typed {
                column.test(patterns, value);
            }
        }
    }
    let columns = names
        .into_iter()
        .zip(tested)
        .map(|(name, t)| {
            let ty = overrides.get(&name).cloned().unwrap_or_else(|| t.sql_type().to_string());
            (name, ty)
        })
        .collect();
    Ok(Sheet { columns, rows, unquoted })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The types inferred for a CSV written from `text`, as (column, type).
    fn infer_with(text: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        sheet(text, b',', overrides).columns
    }

    fn sheet(text: &str, delimiter: u8, overrides: &[(&str, &str)]) -> Sheet {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("seed.csv");
        std::fs::write(&csv, text).expect("write csv");
        let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        infer(&csv, delimiter, &overrides).expect("inference runs")
    }

    /// The type of a one-column CSV `x` holding `values`.
    fn infer_one(values: &[&str]) -> String {
        let text = format!("x\n{}\n", values.join("\n"));
        let cols = infer_with(&text, &[]);
        assert_eq!(cols.len(), 1, "{cols:?}");
        cols[0].1.clone()
    }

    #[test]
    fn whole_numbers_are_integer_even_with_leading_zeros() {
        assert_eq!(infer_one(&["001", "002", "010"]), INTEGER);
        assert_eq!(infer_one(&["-3", " 4 ", "+5", "1_000"]), INTEGER);
    }

    #[test]
    fn decimal_places_are_counted_after_normalizing() {
        // `2.0` and `4.00` normalize to whole numbers; `1e2` and `1.5e1` are whole too.
        assert_eq!(infer_one(&["2.0", "3", "4.00"]), INTEGER);
        assert_eq!(infer_one(&["1e2", "1.5e1"]), INTEGER);
        assert_eq!(infer_one(&["1.50", "2"]), FLOAT);
        assert_eq!(infer_one(&["1e-3"]), FLOAT);
        assert_eq!(infer_one(&[".5"]), FLOAT);
        // More than 28 whole places makes agate's precision cap report decimals.
        assert_eq!(infer_one(&["1e30"]), FLOAT);
    }

    #[test]
    fn numbers_may_carry_currency_percent_and_group_separators() {
        assert_eq!(infer_one(&["$5", "-€3", "50%", "\"1,000\""]), INTEGER);
        assert_eq!(infer_one(&["£1.25"]), FLOAT);
        assert_eq!(infer_one(&["nan", "inf", "7"]), INTEGER);
    }

    #[test]
    fn empty_strings_and_null_are_nulls_for_every_type() {
        assert_eq!(infer_one(&["", "null", "NULL", "1"]), INTEGER);
        assert_eq!(infer_one(&["null", "2024-01-02"]), DATE);
        assert_eq!(infer_one(&["", "true"]), BOOLEAN);
        assert_eq!(infer_one(&["Null", "a"]), TEXT);
    }

    #[test]
    fn an_all_null_column_and_a_file_without_rows_are_integer() {
        let cols = infer_with("a,b\n,1\nnull,2\n", &[]);
        assert_eq!(cols, vec![("a".to_string(), INTEGER.to_string()), ("b".to_string(), INTEGER.to_string())]);
        let cols = infer_with("a,b\n", &[]);
        assert_eq!(cols, vec![("a".to_string(), INTEGER.to_string()), ("b".to_string(), INTEGER.to_string())]);
    }

    #[test]
    fn booleans_are_only_true_and_false_in_any_case() {
        assert_eq!(infer_one(&["True", "false", "FALSE"]), BOOLEAN);
        // `1`/`0` are numbers first; `yes`/`t` are not agate booleans here.
        assert_eq!(infer_one(&["1", "0"]), INTEGER);
        assert_eq!(infer_one(&["yes", "no"]), TEXT);
        assert_eq!(infer_one(&["t", "f"]), TEXT);
    }

    #[test]
    fn dates_follow_strptime_year_month_day() {
        assert_eq!(infer_one(&["2024-01-02", "2024-2-29", "2024-03-04"]), DATE);
        assert_eq!(infer_one(&["2023-02-29"]), TEXT);
        assert_eq!(infer_one(&["24-01-02"]), TEXT);
        assert_eq!(infer_one(&["2024/01/02"]), TEXT);
    }

    #[test]
    fn timestamps_come_from_the_strptime_format_or_iso_8601() {
        assert_eq!(infer_one(&["2024-01-02 03:04:05", "2024-01-02 3:04:05"]), TIMESTAMP);
        assert_eq!(infer_one(&["2024-01-02T03:04:05", "2024-01-02T03:04:05.123", "2024-01-02T03:04:05Z"]), TIMESTAMP);
        assert_eq!(infer_one(&["2024-01-02T03:04:05+02:00", "20240102T030405"]), TIMESTAMP);
        // A date alone matches neither timestamp shape; both shapes mixed match neither test.
        assert_eq!(infer_one(&["2024-01-02", "2024-01-02 03:04:05"]), TEXT);
        assert_eq!(infer_one(&["2024-01-02 03:04:05", "2024-01-02T03:04:05"]), TEXT);
        assert_eq!(infer_one(&["2024-01-02 03:04"]), TEXT);
    }

    #[test]
    fn mixed_columns_fall_back_to_text() {
        assert_eq!(infer_one(&["1", "a", "2"]), TEXT);
        assert_eq!(infer_one(&["1", "true"]), TEXT);
        assert_eq!(infer_one(&["1", "2024-01-02"]), TEXT);
    }

    #[test]
    fn column_types_override_inference_and_keep_file_order() {
        let cols =
            infer_with("id,amount,day\n001,1.5,2024-01-02\n", &[("id", "varchar"), ("amount", "decimal(10, 2)")]);
        let want = [("id", "varchar"), ("amount", "decimal(10, 2)"), ("day", DATE)];
        assert_eq!(cols, want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>());
    }

    #[test]
    fn repeated_header_names_are_deduplicated_as_agate_does() {
        let cols = infer_with("a,a,b,a\n1,x,2,y\n", &[("a_2", "varchar")]);
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "a_2", "b", "a_3"]);
        assert_eq!(cols[1].1, "varchar");
        assert_eq!(cols[3].1, TEXT);
    }

    #[test]
    fn an_empty_header_name_is_the_columns_letter() {
        let cols = infer_with("id,,name,\n1,2,x,3\n", &[]);
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "b", "name", "d"]);
        assert_eq!(
            (letter_name(0), letter_name(25), letter_name(26), letter_name(30)),
            ("a".into(), "z".into(), "aa".into(), "ee".into())
        );
        // A letter can collide with a real name; the later one is deduplicated.
        let names: Vec<String> = infer_with("b,\n1,2\n", &[]).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["b", "b_2"]);
    }

    #[test]
    fn the_delimiter_and_quoting_are_those_of_pythons_csv() {
        let s = sheet("id;label\n1;\"a;b\"\n2;\"say \"\"hi\"\"\"\n", b';', &[]);
        assert_eq!(s.columns, [("id".to_string(), INTEGER.to_string()), ("label".to_string(), TEXT.to_string())]);
        assert_eq!(s.rows, 2);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_name() {
        // dbt skips a leading BOM before agate reads the header.
        let s = sheet("\u{feff}id,name\n1,a\n", b',', &[]);
        assert_eq!(s.columns[0], ("id".to_string(), INTEGER.to_string()));
    }

    #[test]
    fn rows_are_counted_as_agate_reads_them() {
        assert_eq!(sheet("a,b\n1,2\n3,4\n5,6\n", b',', &[]).rows, 3);
        assert_eq!(sheet("a,b\n", b',', &[]).rows, 0);
        assert_eq!(sheet("a,b\n1,2", b',', &[]).rows, 1);
    }

    #[test]
    fn a_ragged_row_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("seed.csv");
        std::fs::write(&csv, "a,b\n1,2\n3\n").expect("write csv");
        let err = infer(&csv, b',', &BTreeMap::new()).expect_err("ragged");
        assert!(err.contains("invalid csv"), "{err}");
        let err = infer(&dir.path().join("gone.csv"), b',', &BTreeMap::new()).expect_err("missing");
        assert!(err.contains("gone.csv"), "{err}");
    }

    #[test]
    fn number_places_follow_agates_max_precision() {
        let p = PATTERNS.as_ref().expect("patterns");
        let places = |values: &[&str]| {
            let mut t = Tested::default();
            for v in values {
                t.test(p, v);
            }
            (t.number, t.max_whole, t.max_decimals)
        };
        assert_eq!(places(&["123.450"]), (true, Some(3), Some(2)));
        assert_eq!(places(&["0.00"]), (true, Some(1), Some(0)));
        assert_eq!(places(&["-1,234.5", "7"]), (true, Some(4), Some(1)));
        assert_eq!(places(&["1.5e3"]), (true, Some(4), Some(-2)));
        // Infinities are numbers but carry no places.
        assert_eq!(places(&["inf"]), (true, None, None));
        assert_eq!(places(&["1e99999999999999999999"]), (true, Some(1), Some(0)));
        assert_eq!(places(&["1.2.3"]).0, false);
    }
}
