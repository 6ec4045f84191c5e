//! Loading a seed CSV the way dbt-duckdb does: each column's type is inferred
//! with agate's rules (in [`super::infer`]), `column_types` overrides it per
//! column, the table is created with those types and the file is loaded with
//! DuckDB's `COPY … FROM` (dbt-duckdb's fast path), so values are parsed
//! exactly as dbt's load parses them. An existing table is truncated and
//! reloaded with its own schema unless it is a full refresh. This module owns
//! only the seed build; transactions, retries and relation lookups stay in the
//! executor's `mod.rs`.

use super::infer::{self, Sheet};
use super::{error, sql_string, transaction, Execution, Executor, Existing};
use crate::events::Status;
use crate::template::relation::Relation;
use std::collections::BTreeMap;
use std::path::Path;

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
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
        // Read first: a file that went missing or bad since planning fails
        // the node before anything in the database changes.
        let sheet = match delimiter.as_bytes() {
            [byte] => infer::infer(csv, *byte, overrides),
            _ => Err(format!("`delimiter` must be one character, not `{delimiter}`")),
        };
        let Sheet { columns, rows } = match sheet {
            Ok(sheet) => sheet,
            Err(message) => return Ok(error(message, Vec::new(), 1)),
        };
        let existing = self.existing(rel).map_err(|e| (e, Vec::new()))?;
        let copy = copy_sql(rel, csv, delimiter);
        let stmts = if existing == Existing::Table && !full_refresh {
            // dbt keeps an existing seed table's schema: truncate and reload.
            vec![format!("delete from {rel}"), copy]
        } else {
            let drop = match existing {
                Existing::View => format!("drop view {rel}"),
                _ => format!("drop table if exists {rel}"),
            };
            vec![drop, create_sql(rel, &columns), copy]
        };
        transaction(&self.conn, &stmts).map_err(|e| (e, stmts.clone()))?;
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

    #[test]
    fn the_table_is_created_with_inferred_types_and_loaded_by_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("s.csv");
        std::fs::write(&csv, "id,amount,flag,label\n001,1.5,true,a\n010,,false,\n").expect("write");
        let (_db, conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let rel = Relation::new("memory", "main", "s");
        let columns = infer::infer(&csv, b',', &BTreeMap::new()).expect("infer").columns;
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
