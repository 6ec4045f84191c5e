//! Loading a seed CSV the way dbt-duckdb does: each column's type is inferred
//! with agate's rules (as dbt configures its type tester), `column_types`
//! overrides it per column, the table is created with those types and the
//! file is loaded with DuckDB's `COPY … FROM` (dbt-duckdb's fast path), so
//! values are parsed exactly as dbt's load parses them. An existing table is
//! truncated and reloaded with its own schema unless it is a full refresh.
//! This module owns only the seed build; transactions, retries and relation
//! lookups stay in the executor's `mod.rs`.
//!
//! agate tests each non-null value (nulls: `""` and `null`, any case, after
//! stripping whitespace) against Number, Date (`%Y-%m-%d`), DateTime
//! (`%Y-%m-%d %H:%M:%S`), ISO-8601 DateTime and Boolean (`true`/`false`), in
//! that order, and picks the first type every value passes, else text. A
//! column with no non-null value is Number (or dbt's Integer when the file has
//! no rows), both `integer`. A Number column is `float8` when agate's
//! `MaxPrecision` finds decimal places, else `integer`.

use super::{sql_string, transaction, Execution, Executor, Existing};
use crate::db::raw::RawConn;
use crate::events::Status;
use crate::template::relation::Relation;
use std::collections::BTreeMap;
use std::path::Path;

/// agate's default currency symbols, stripped from both ends of a number in this order.
const CURRENCY: &[&str] =
    &["؋", "$", "ƒ", "៛", "¥", "₡", "₱", "£", "€", "¢", "﷼", "₪", "₩", "₭", "₮", "₦", "฿", "₤", "₫"];

/// What Python's `Decimal()` accepts (underscores between digits, infinities, NaNs), case-insensitively.
const DECIMAL_RE: &str =
    r"(?i)\s*[+-]?((\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)(e[+-]?\d(_?\d)*)?|inf|infinity|s?nan(\d(_?\d)*)?)\s*";

/// Python `strptime`'s `%Y-%m-%d`: four-digit year, unpadded or zero-padded month, day may be space-padded.
const DATE_RE: &str = r"\d{4}-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])";

/// `strptime`'s ` %H:%M:%S` (whitespace in a format matches any run of whitespace).
const TIME_RE: &str = r"\s+(2[0-3]|[01]\d|\d):([0-5]\d|\d):([0-5]\d|\d)";

/// isodate's `parse_datetime` for the usual shapes: a complete date (extended or
/// basic), `T`, a time of day with optional seconds and fraction, an optional zone.
const ISO_RE: &str =
    r"(\d{4}-\d{2}-\d{2}|\d{8})T([01]\d|2[0-3])(:?[0-5]\d(:?[0-5]\d([.,]\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?";

/// The SQL types dbt-core's `convert_*_type` gives each agate type.
const INTEGER: &str = "integer";
const FLOAT: &str = "float8";
const DATE: &str = "date";
const TIMESTAMP: &str = "timestamp without time zone";
const BOOLEAN: &str = "boolean";
const TEXT: &str = "text";

/// Python's default decimal context precision, which caps agate's `MaxPrecision`.
const DECIMAL_PRECISION: i64 = 28;

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn read_varchar(csv: &Path, delimiter: &str) -> String {
    format!(
        "read_csv({}, header = true, all_varchar = true, delim = {})",
        sql_string(&csv.display().to_string()),
        sql_string(delimiter)
    )
}

/// The string agate's Number hands to `Decimal()`: `%` stripped, one leading
/// `-` taken off, currency symbols stripped, group separators removed.
fn number_candidate(t: &str) -> String {
    let mut e = format!("regexp_replace(trim({t}, '%'), '^-', '')");
    for sym in CURRENCY {
        e = format!("trim({e}, {})", sql_string(sym));
    }
    format!("replace(replace({e}, ',', ''), '_', '')")
}

/// One row per column that has a non-null value: whether every value passes
/// each agate type, and for numbers the largest whole and decimal places of
/// the normalized finite values.
fn inference_sql(csv: &Path, delimiter: &str) -> String {
    let n = number_candidate("t");
    format!(
        "with cells as (\n\
         select col, regexp_replace(val, '^\\s+|\\s+$', '', 'g') as t\n\
         from (unpivot (select * from {read}) on columns(*) into name col value val)\n\
         ), vals as (\n\
         select col, t, {n} as n,\n\
         regexp_replace(replace(t, ',', ''), '^\\s+|\\s+$', '', 'g') as b\n\
         from cells where lower(t) not in ('', 'null')\n\
         ), nums as (\n\
         select *, regexp_full_match(n, {dec_re}) as is_num,\n\
         not regexp_matches(n, '(?i)inf|nan') as finite,\n\
         regexp_extract(n, '^\\s*[+-]?(\\d*)', 1) as ip,\n\
         regexp_extract(n, '\\.(\\d*)', 1) as fp,\n\
         coalesce(try_cast(nullif(regexp_extract(n, '[eE]([+-]?\\d+)', 1), '') as bigint), 0) as ex\n\
         from vals\n\
         ), digits as (\n\
         select *, ltrim(ip || fp, '0') as sig from nums\n\
         ), norm as (\n\
         select *, length(rtrim(sig, '0')) as k,\n\
         ex - length(fp) + length(sig) - length(rtrim(sig, '0')) as e\n\
         from digits\n\
         )\n\
         select col,\n\
         bool_and(is_num),\n\
         max(case when k = 0 then 1 else k + e end) filter (where is_num and finite),\n\
         max(case when k = 0 then 0 else -e end) filter (where is_num and finite),\n\
         bool_and(regexp_full_match(t, {date_re}) and left(t, 4) <> '0000'\n\
         and try_cast(replace(t, ' ', '') as date) is not null),\n\
         bool_and(regexp_full_match(t, {date_re} || {time_re}) and left(t, 4) <> '0000'\n\
         and try_cast(regexp_extract(replace(t, '- ', '-'), '^(\\S+)', 1) as date) is not null),\n\
         bool_and(regexp_full_match(t, {iso_re}) and left(t, 4) <> '0000'\n\
         and try_strptime(replace(split_part(t, 'T', 1), '-', ''), '%Y%m%d') is not null),\n\
         bool_and(lower(b) in ('', 'null', 'true', 'false'))\n\
         from norm group by col",
        read = read_varchar(csv, delimiter),
        dec_re = sql_string(DECIMAL_RE),
        date_re = sql_string(DATE_RE),
        time_re = sql_string(TIME_RE),
        iso_re = sql_string(ISO_RE),
    )
}

/// What the inference query found for one column.
struct Tested {
    number: bool,
    max_whole: Option<i64>,
    max_decimals: Option<i64>,
    date: bool,
    datetime: bool,
    iso: bool,
    boolean: bool,
}

impl Tested {
    /// The first type in agate's order that every value passed, as dbt's SQL type.
    fn sql_type(&self) -> &'static str {
        if self.number {
            // agate's `max_precision`: whole places start at 1, decimals at 0,
            // and the two together are capped by the decimal context precision.
            let whole = self.max_whole.unwrap_or(1).max(1);
            let mut decimals = self.max_decimals.unwrap_or(0).max(0);
            if whole + decimals > DECIMAL_PRECISION {
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

/// The CSV's columns in file order with the type dbt-duckdb would create each
/// with: `column_types` first, else agate's inference.
pub(super) fn column_types(
    conn: &RawConn,
    csv: &Path,
    delimiter: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, duckdb::Error> {
    let describe = format!("select column_name from (describe select * from {})", read_varchar(csv, delimiter));
    let names: Vec<String> =
        conn.query(&describe)?.into_iter().filter_map(|row| row.into_iter().next().flatten()).collect();
    let mut tested = BTreeMap::new();
    for row in conn.query(&inference_sql(csv, delimiter))? {
        let flag = |i: usize| row.get(i).and_then(Option::as_deref) == Some("true");
        let int = |i: usize| row.get(i).and_then(Option::as_deref).and_then(|v| v.parse::<i64>().ok());
        let Some(Some(col)) = row.first() else { continue };
        let t = Tested {
            number: flag(1),
            max_whole: int(2),
            max_decimals: int(3),
            date: flag(4),
            datetime: flag(5),
            iso: flag(6),
            boolean: flag(7),
        };
        tested.insert(col.clone(), t);
    }
    Ok(names
        .into_iter()
        .map(|name| {
            let ty = match (overrides.get(&name), tested.get(&name)) {
                (Some(over), _) => over.clone(),
                (None, Some(t)) => t.sql_type().to_string(),
                // Every value null (or no rows): agate picks Number (or Integer), both `integer`.
                (None, None) => INTEGER.to_string(),
            };
            (name, ty)
        })
        .collect())
}

/// dbt-duckdb's load: `COPY` parses the file straight into the table's types.
fn copy_sql(rel: &Relation, csv: &Path, delimiter: &str) -> String {
    format!(
        "copy {rel} from {} (format csv, header true, delimiter {})",
        sql_string(&csv.display().to_string()),
        sql_string(delimiter)
    )
}

fn create_sql(rel: &Relation, columns: &[(String, String)]) -> String {
    let cols: Vec<String> = columns.iter().map(|(n, t)| format!("{} {t}", quote_ident(n))).collect();
    format!("create table {rel} ({})", cols.join(", "))
}

impl Executor {
    pub(super) fn seed(
        &self,
        rel: &Relation,
        csv: &Path,
        overrides: &BTreeMap<String, String>,
        delimiter: &str,
        full_refresh: bool,
    ) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let existing = self.existing(rel).map_err(|e| (e, Vec::new()))?;
        let copy = copy_sql(rel, csv, delimiter);
        let stmts = if existing == Existing::Table && !full_refresh {
            // dbt keeps an existing seed table's schema: truncate and reload.
            vec![format!("delete from {rel}"), copy]
        } else {
            let columns = column_types(&self.reader, csv, delimiter, overrides).map_err(|e| (e, Vec::new()))?;
            let drop = match existing {
                Existing::View => format!("drop view {rel}"),
                _ => format!("drop table if exists {rel}"),
            };
            vec![drop, create_sql(rel, &columns), copy]
        };
        transaction(&self.conn, &stmts).map_err(|e| (e, stmts.clone()))?;
        let rows = self.reader.query(&format!("select count(*) from {rel}")).map_err(|e| (e, stmts.clone()))?;
        let count: i64 = rows.first().and_then(|r| r.first()?.as_deref()?.parse().ok()).unwrap_or(0);
        Ok(Execution {
            status: Status::Success,
            count: Some(count.max(0) as u64),
            message: Some(format!("INSERT {count}")),
            sql: stmts,
            attempts: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The types inferred for a CSV written from `text`, as (column, type).
    fn infer_with(text: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("seed.csv");
        std::fs::write(&csv, text).expect("write csv");
        let (db, _conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        column_types(&db.connect().expect("reader"), &csv, ",", &overrides).expect("inference runs")
    }

    /// The type of a one-column CSV `x` holding `values`.
    fn infer(values: &[&str]) -> String {
        let text = format!("x\n{}\n", values.join("\n"));
        let cols = infer_with(&text, &[]);
        assert_eq!(cols.len(), 1, "{cols:?}");
        cols[0].1.clone()
    }

    #[test]
    fn whole_numbers_are_integer_even_with_leading_zeros() {
        assert_eq!(infer(&["001", "002", "010"]), INTEGER);
        assert_eq!(infer(&["-3", " 4 ", "+5", "1_000"]), INTEGER);
    }

    #[test]
    fn decimal_places_are_counted_after_normalizing() {
        // `2.0` and `4.00` normalize to whole numbers; `1e2` and `1.5e1` are whole too.
        assert_eq!(infer(&["2.0", "3", "4.00"]), INTEGER);
        assert_eq!(infer(&["1e2", "1.5e1"]), INTEGER);
        assert_eq!(infer(&["1.50", "2"]), FLOAT);
        assert_eq!(infer(&["1e-3"]), FLOAT);
        assert_eq!(infer(&[".5"]), FLOAT);
        // More than 28 whole places makes agate's precision cap report decimals.
        assert_eq!(infer(&["1e30"]), FLOAT);
    }

    #[test]
    fn numbers_may_carry_currency_percent_and_group_separators() {
        assert_eq!(infer(&["$5", "-€3", "50%", "\"1,000\""]), INTEGER);
        assert_eq!(infer(&["£1.25"]), FLOAT);
        assert_eq!(infer(&["nan", "inf", "7"]), INTEGER);
    }

    #[test]
    fn empty_strings_and_null_are_nulls_for_every_type() {
        assert_eq!(infer(&["", "null", "NULL", "1"]), INTEGER);
        assert_eq!(infer(&["null", "2024-01-02"]), DATE);
        assert_eq!(infer(&["", "true"]), BOOLEAN);
        assert_eq!(infer(&["Null", "a"]), TEXT);
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
        assert_eq!(infer(&["True", "false", "FALSE"]), BOOLEAN);
        // `1`/`0` are numbers first; `yes`/`t` are not agate booleans here.
        assert_eq!(infer(&["1", "0"]), INTEGER);
        assert_eq!(infer(&["yes", "no"]), TEXT);
        assert_eq!(infer(&["t", "f"]), TEXT);
    }

    #[test]
    fn dates_follow_strptime_year_month_day() {
        assert_eq!(infer(&["2024-01-02", "2024-2-29", "2024-03-04"]), DATE);
        assert_eq!(infer(&["2023-02-29"]), TEXT);
        assert_eq!(infer(&["24-01-02"]), TEXT);
        assert_eq!(infer(&["2024/01/02"]), TEXT);
    }

    #[test]
    fn timestamps_come_from_the_strptime_format_or_iso_8601() {
        assert_eq!(infer(&["2024-01-02 03:04:05", "2024-01-02 3:04:05"]), TIMESTAMP);
        assert_eq!(infer(&["2024-01-02T03:04:05", "2024-01-02T03:04:05.123", "2024-01-02T03:04:05Z"]), TIMESTAMP);
        assert_eq!(infer(&["2024-01-02T03:04:05+02:00", "20240102T030405"]), TIMESTAMP);
        // A date alone matches neither timestamp shape; both shapes mixed match neither test.
        assert_eq!(infer(&["2024-01-02", "2024-01-02 03:04:05"]), TEXT);
        assert_eq!(infer(&["2024-01-02 03:04:05", "2024-01-02T03:04:05"]), TEXT);
        assert_eq!(infer(&["2024-01-02 03:04"]), TEXT);
    }

    #[test]
    fn mixed_columns_fall_back_to_text() {
        assert_eq!(infer(&["1", "a", "2"]), TEXT);
        assert_eq!(infer(&["1", "true"]), TEXT);
        assert_eq!(infer(&["1", "2024-01-02"]), TEXT);
    }

    #[test]
    fn column_types_override_inference_and_keep_file_order() {
        let cols =
            infer_with("id,amount,day\n001,1.5,2024-01-02\n", &[("id", "varchar"), ("amount", "decimal(10, 2)")]);
        let want = [("id", "varchar"), ("amount", "decimal(10, 2)"), ("day", DATE)];
        assert_eq!(cols, want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>());
    }

    #[test]
    fn the_table_is_created_with_inferred_types_and_loaded_by_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("s.csv");
        std::fs::write(&csv, "id,amount,flag,label\n001,1.5,true,a\n010,,false,\n").expect("write");
        let (db, conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let rel = Relation::new("memory", "main", "s");
        let columns = column_types(&db.connect().expect("reader"), &csv, ",", &BTreeMap::new()).expect("infer");
        transaction(&conn, &[create_sql(&rel, &columns), copy_sql(&rel, &csv, ",")]).expect("load");
        let types: Vec<String> = {
            let mut stmt = conn
                .prepare(
                    "select data_type from information_schema.columns where table_name = 's' order by ordinal_position",
                )
                .expect("prepare");
            let rows = stmt.query_map([], |r| r.get(0)).expect("query");
            rows.map(|r| r.expect("row")).collect()
        };
        assert_eq!(types, ["INTEGER", "DOUBLE", "BOOLEAN", "VARCHAR"]);
        let (ids, nulls): (i64, i64) = conn
            .query_row("select sum(id), count(*) filter (where amount is null and label is null) from s", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("read");
        assert_eq!((ids, nulls), (11, 1));
    }
}
