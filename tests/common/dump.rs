//! The warehouse and result dumps the differential tests compare with dbt's:
//! every relation (schema, name, view or table, column names, all rows cast
//! to text and sorted by DuckDB, and `persist_docs`' comments when it has
//! any) and every result of `run_results.json`
//! (unique id, status, failures). They must stay in step with
//! `differential/dump.py`, which dumps dbt's side with the same queries. A
//! case's `clock_columns` (`table.column`s dbt fills from its clock, such as
//! a snapshot's time) are dumped as `<time>` when not null, on both sides.
//! Views reading files by relative paths are read with DuckDB's
//! `file_search_path` set to the warehouse's folder (the project), and a
//! case's `file_listing` folders are listed file by file, as dump.py does.
//! Read-only: nothing here writes to a warehouse or an artifact.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

fn text(v: duckdb::types::Value) -> Value {
    use duckdb::types::Value as V;
    match v {
        V::Null => Value::Null,
        V::Text(s) => Value::String(s),
        other => panic!("cast to varchar gave {other:?}"),
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// dump.py's `read_clock_columns`: the case's clock-filled `table.column`s.
pub fn clock_columns(case_dir: &Path) -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(case_dir.join("clock_columns")) else { return BTreeSet::new() };
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

/// dump.py's `column_text`: a column cast to text, or `<time>` for a clock-filled value.
fn column_text(table: &str, column: &str, i: usize, clock: &BTreeSet<String>) -> String {
    if clock.contains(&format!("{table}.{column}")) {
        format!("case when {} is null then null else '<time>' end as c{i}", quote(column))
    } else {
        format!("cast({} as varchar) as c{i}", quote(column))
    }
}

/// dump.py's `read_file_listing`: the case's folders whose files are listed.
pub fn file_listing(case_dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(case_dir.join("file_listing")).ok()?;
    Some(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect())
}

/// dump.py's `dump_files`: every file under the folders, as sorted paths relative to `work`.
pub fn dump_files(work: &Path, folders: &[String]) -> Value {
    fn walk(dir: &Path, work: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, work, out);
            } else if let Ok(rel) = path.strip_prefix(work) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    for folder in folders {
        walk(&work.join(folder), work, &mut out);
    }
    out.sort();
    json!(out)
}

/// The same dump as dump.py's `dump_db`; `[]` when the file does not exist.
pub fn dump_db(path: &Path) -> Value {
    dump_db_masked(path, &BTreeSet::new())
}

/// [`dump_db`] with the case's clock-filled columns masked.
pub fn dump_db_masked(path: &Path, clock: &BTreeSet<String>) -> Value {
    if !path.exists() {
        return json!([]);
    }
    let conn = duckdb::Connection::open_with_flags(
        path,
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).expect("config"),
    )
    .expect("open warehouse");
    // Relative paths in views (external models, sources on files) are the project's.
    let folder = path.parent().unwrap_or(Path::new(".")).display().to_string();
    conn.execute_batch(&format!("set file_search_path = '{}'", folder.replace('\'', "''"))).expect("search path");
    let mut rels = Vec::new();
    let listed: Vec<(String, String, String)> = {
        let mut stmt = conn
            .prepare(
                "select table_schema, table_name, table_type from information_schema.tables \
                 where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog') \
                 order by table_schema, table_name",
            )
            .expect("prepare");
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    for (schema, name, kind) in listed {
        let columns: Vec<String> = {
            let mut stmt = conn
                .prepare(
                    "select column_name from information_schema.columns where table_catalog = current_database() \
                     and table_schema = ? and table_name = ? order by ordinal_position",
                )
                .expect("prepare");
            let rows = stmt.query_map([&schema, &name], |r| r.get(0)).expect("query");
            rows.map(|r| r.expect("row")).collect()
        };
        let casts: Vec<String> = columns.iter().enumerate().map(|(i, c)| column_text(&name, c, i, clock)).collect();
        let sql = format!(
            "select * from (select {} from {}.{}) order by all nulls last",
            casts.join(", "),
            quote(&schema),
            quote(&name)
        );
        let mut stmt = conn.prepare(&sql).expect("prepare rows");
        let mut rows = stmt.query([]).expect("rows");
        let mut out = Vec::new();
        while let Some(row) = rows.next().expect("row") {
            out.push(Value::Array(
                (0..columns.len()).map(|i| text(row.get::<_, duckdb::types::Value>(i).expect("value"))).collect(),
            ));
        }
        let mut relation = json!({
            "schema": schema,
            "name": name,
            "type": if kind == "VIEW" { "view" } else { "table" },
            "columns": columns,
            "rows": out,
        });
        if let Some(c) = comments(&conn, &schema, &name) {
            relation["comments"] = c;
        }
        rels.push(relation);
    }
    Value::Array(rels)
}

/// dump.py's `comments`: what `persist_docs` wrote on a relation and its
/// columns, or `None` when it has no comment at all.
fn comments(conn: &duckdb::Connection, schema: &str, name: &str) -> Option<Value> {
    let mut stmt = conn
        .prepare(
            "select comment from duckdb_tables() \
             where database_name = current_database() and schema_name = ? and table_name = ? \
             union all \
             select comment from duckdb_views() \
             where database_name = current_database() and schema_name = ? and view_name = ?",
        )
        .expect("prepare relation comment");
    let found: Vec<Option<String>> =
        stmt.query_map([schema, name, schema, name], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect();
    let relation = found.into_iter().next().flatten();
    let mut stmt = conn
        .prepare(
            "select column_name, comment from duckdb_columns() \
             where database_name = current_database() and schema_name = ? and table_name = ? order by column_index",
        )
        .expect("prepare column comments");
    let columns: serde_json::Map<String, Value> = stmt
        .query_map([schema, name], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .filter_map(|(c, t)| Some((c, Value::String(t?))))
        .collect();
    if relation.is_none() && columns.is_empty() {
        return None;
    }
    Some(json!({"relation": relation, "columns": columns}))
}

/// The same dump as dump.py's `dump_results`, sorted by unique id; `[]` when
/// the file does not exist (a command that stopped before running anything).
pub fn dump_results(path: &Path) -> Value {
    let Ok(text) = std::fs::read_to_string(path) else { return json!([]) };
    let doc: Value = serde_json::from_str(&text).expect("run_results.json is json");
    let mut results: Vec<Value> = doc["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| json!({"unique_id": r["unique_id"], "status": r["status"], "failures": r["failures"]}))
        .collect();
    results.sort_by(|a, b| a["unique_id"].as_str().cmp(&b["unique_id"].as_str()));
    Value::Array(results)
}
