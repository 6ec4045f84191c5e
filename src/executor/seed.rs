//! Loading a seed CSV the way dbt-duckdb does: each column's type is inferred
//! with agate's rules (in [`super::infer`]), `column_types` overrides it per
//! column, the table is created with those types and the file is loaded with
//! DuckDB's `COPY … FROM` (dbt-duckdb's fast path), so values are parsed
//! exactly as dbt's load parses them. An existing table is truncated and
//! reloaded with its own schema unless it is a full refresh. This module owns
//! only the seed build; transactions, retries and relation lookups stay in the
//! executor's `mod.rs`.

use super::infer::{self, Sheet};
use super::{build_with_docs, error, sql_string, Execution, Executor, Existing};
use crate::events::Status;
use crate::nodes::contract::PersistDocs;
use crate::template::relation::Relation;
use std::collections::BTreeMap;
use std::path::Path;

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// dbt-duckdb's load: `COPY` parses the file straight into the table's types,
/// with DuckDB's sniffer detecting what dbt-duckdb leaves to it (line endings,
/// date formats, …). Searching quote and escape characters is most of the
/// sniffer's work (about 8 of 11 ms for a small seed); a file with none of
/// its candidates in it parses the same under any of them, so it is told the
/// one Python's csv module uses and the sniffer skips that search.
fn copy_sql(rel: &Relation, csv: &Path, delimiter: &str, unquoted: bool) -> String {
    let dialect = if unquoted { ", quote '\"', escape '\"'" } else { "" };
    format!(
        "copy {rel} from {} (format csv, header true, delimiter {}{dialect})",
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
        docs: Option<&PersistDocs>,
    ) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        // Read first: a file that went missing or bad since planning fails
        // the node before anything in the database changes.
        let sheet = match delimiter.as_bytes() {
            [byte] => infer::infer(csv, *byte, overrides),
            _ => Err(format!("`delimiter` must be one character, not `{delimiter}`")),
        };
        let Sheet { columns, rows, unquoted } = match sheet {
            Ok(sheet) => sheet,
            Err(message) => return Ok(error(message, Vec::new(), 1)),
        };
        let existing = self.existing(rel).map_err(|e| (e, Vec::new()))?;
        let copy = copy_sql(rel, csv, delimiter, unquoted);
        let stmts = if existing == Existing::Table && !full_refresh {
            // dbt keeps an existing seed table's schema: truncate and reload.
            vec![format!("delete from {rel}"), copy]
        } else {
            // Nothing to drop when nothing is there (dbt drops only an old
            // relation): the catalog's answer is fresh, as the run holds the
            // write lock, and a statement costs DuckDB 2.0 about 0.2 ms
            // even when it does nothing (75 of them in dbt-utils' suite).
            let drop = match existing {
                Existing::View => Some(format!("drop view {rel}")),
                Existing::Table => Some(format!("drop table if exists {rel}")),
                Existing::None => None,
            };
            drop.into_iter().chain([create_sql(rel, &columns), copy]).collect()
        };
        let stmts = build_with_docs(&self.conn, stmts, rel, "table", docs)?;
        // dbt reports the rows agate read, not a count of the table.
        Ok(Execution {
            status: Status::Success,
            count: Some(rows),
            message: Some(format!("INSERT {rows}")),
            sql: stmts,
            attempts: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::transaction;

    #[test]
    fn the_table_is_created_with_inferred_types_and_loaded_by_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("s.csv");
        std::fs::write(&csv, "id,amount,flag,label\n001,1.5,true,a\n010,,false,\n").expect("write");
        let (_db, conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let rel = Relation::new("memory", "main", "s");
        let sheet = infer::infer(&csv, b',', &BTreeMap::new()).expect("infer");
        assert!(sheet.unquoted);
        transaction(&conn, &[create_sql(&rel, &sheet.columns), copy_sql(&rel, &csv, ",", true)]).expect("load");
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

    /// `text` loaded as runner loads it and as dbt-duckdb's statement (the
    /// sniffer choosing every option) loads it: each as one line per row.
    fn both_loads(text: &str, overrides: &[(&str, &str)]) -> (bool, Vec<String>, Vec<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("s.csv");
        std::fs::write(&csv, text).expect("write");
        let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let sheet = infer::infer(&csv, b',', &overrides).expect("infer");
        let (_db, conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let load = |name: &str, unquoted: bool| -> Vec<String> {
            let rel = Relation::new("memory", "main", name);
            transaction(&conn, &[create_sql(&rel, &sheet.columns), copy_sql(&rel, &csv, ",", unquoted)]).expect("load");
            let mut stmt =
                conn.prepare(&format!("select cast(columns(*) as text) from {rel} order by all")).expect("prepare");
            let width = sheet.columns.len();
            let rows = stmt
                .query_map([], |r| (0..width).map(|i| r.get::<_, Option<String>>(i)).collect::<Result<Vec<_>, _>>())
                .expect("query");
            rows.map(|r| format!("{:?}", r.expect("row"))).collect()
        };
        (sheet.unquoted, load("ours", sheet.unquoted), load("sniffed", false))
    }

    #[test]
    fn naming_the_quote_keeps_what_the_sniffer_detects() {
        // Windows line endings and a day-first date format under a `date`
        // override: both still detected when the quote and escape are given.
        let (unquoted, ours, sniffed) = both_loads("id,d,t\r\n1,13/02/2025,x y\r\n2,03/04/2025,\r\n", &[("d", "date")]);
        assert!(unquoted);
        assert_eq!(ours, sniffed);
        assert_eq!(ours[0], r#"[Some("1"), Some("2025-02-13"), Some("x y")]"#);
    }

    #[test]
    fn a_file_with_quote_characters_is_left_to_the_sniffer() {
        for text in ["id,t\n1,\"a, b\"\n", "id,t\n1,o'brien\n", "id,t\n1,a\\b\n"] {
            let (unquoted, ours, sniffed) = both_loads(text, &[]);
            assert!(!unquoted, "{text}");
            assert_eq!(ours, sniffed);
        }
        assert!(!copy_sql(&Relation::new("d", "main", "s"), Path::new("s.csv"), ",", false).contains("quote"));
    }
}
