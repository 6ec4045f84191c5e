//! An enforced contract when its model runs, as dbt-core 1.10 and
//! dbt-duckdb 1.9 do it: before anything is built, the columns the model's
//! SQL returns (DuckDB's `DESCRIBE` of `select * from (<sql>) where false`)
//! are compared with the property file's (`DESCRIBE` of `cast(null as
//! <data_type>)` per column), so DuckDB itself normalises both sides'
//! types (`int` is `INTEGER`, `string` is `VARCHAR`); struct columns are
//! compared field by field, as dbt-duckdb flattens them. A difference fails
//! the model with dbt's message and table of mismatches. A contracted table
//! is then created with explicit column DDL and constraints, and filled by
//! `insert … select` (dbt-duckdb's `create_table_as`). Owns that SQL and the
//! message; which statements run in which transaction stays with the
//! materializations.

use crate::nodes::contract::{Contract, ContractColumn};
use crate::template::relation::Relation;
use duckdb::Connection;

/// A column as `DESCRIBE` reports it: name and type.
type Described = (String, String);

/// What a contract check found wrong, as dbt words it.
const MISSING_SPEC: &str = "This model has an enforced contract, and its 'columns' specification is missing";

/// Checks `sql`'s columns against the contract. `Ok(Err(message))` is a
/// failed contract; `Err` a query DuckDB refused (the model's own SQL, or a
/// `data_type` it does not know). A `sql_header` goes where dbt-duckdb puts
/// it, inside the `DESCRIBE (…)` before the `select`, which DuckDB parses
/// only when the header holds no statement (comments): so a contracted
/// model with a header fails, with DuckDB's parser error, as under dbt.
pub(super) fn check(
    conn: &Connection,
    sql: &str,
    header: Option<&str>,
    contract: &Contract,
) -> Result<Result<(), String>, duckdb::Error> {
    if contract.columns.is_empty() {
        return Ok(Err(MISSING_SPEC.into()));
    }
    let from_sql = describe(conn, sql, header)?;
    let untyped: Vec<String> = contract
        .columns
        .iter()
        .filter(|c| c.data_type.is_none())
        .map(|c| crate::data_tests::naming::py_repr_str(&c.name))
        .collect();
    if !untyped.is_empty() {
        return Ok(Err(format!(
            "Contracted models require data_type to be defined for each column. Please ensure that the column name and data_type are defined within the YAML configuration for the [{}] column(s).",
            untyped.join(", ")
        )));
    }
    let from_yaml = describe(conn, &empty_schema_sql(&contract.columns), None)?;
    Ok(compare(&from_yaml, &from_sql))
}

/// dbt's `get_empty_schema_sql`: one typed null per declared column.
fn empty_schema_sql(columns: &[ContractColumn]) -> String {
    let casts: Vec<String> = columns
        .iter()
        .map(|c| format!("cast(null as {}) as {}", c.data_type.as_deref().unwrap_or(""), c.sql_name()))
        .collect();
    format!("select\n    {}", casts.join(",\n    "))
}

/// The columns `sql` returns, found without reading a row.
fn describe(conn: &Connection, sql: &str, header: Option<&str>) -> Result<Vec<Described>, duckdb::Error> {
    let header = header.map(|h| format!("\n{h}\n")).unwrap_or_default();
    let query = format!("describe ({header}select * from (\n{sql}\n) as __dbt_sbq\nwhere false\nlimit 0\n)");
    let mut stmt = conn.prepare(&query)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, dtype) = row?;
        flatten(&name, &dtype, &mut out);
    }
    Ok(out)
}

/// dbt-duckdb's `DuckDBColumn.flatten`: a struct column becomes one column
/// per field (`s.a`, nested ones `s.b.c`), anything else stays as it is.
fn flatten(name: &str, dtype: &str, out: &mut Vec<Described>) {
    let fields = dtype
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("struct"))
        .and_then(|_| struct_fields(dtype))
        .unwrap_or_default();
    if fields.is_empty() {
        out.push((name.to_string(), dtype.to_string()));
        return;
    }
    for (field, ftype) in fields {
        flatten(&format!("{name}.{field}"), &ftype, out);
    }
}

/// `STRUCT(a INTEGER, b DECIMAL(10,2))` → its fields, split at top-level
/// commas and each at its first space (as dbt-duckdb's parser does).
fn struct_fields(dtype: &str) -> Option<Vec<(String, String)>> {
    let open = dtype.find('(')?;
    if !dtype[..open].eq_ignore_ascii_case("struct") {
        return None;
    }
    let close = dtype.rfind(')')?;
    let content = dtype.get(open + 1..close)?;
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0i32, String::new());
    for ch in content.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current).trim().to_string());
        } else {
            current.push(ch);
        }
    }
    parts.push(current.trim().to_string());
    parts.into_iter().map(|p| p.split_once(' ').map(|(n, t)| (n.to_string(), t.to_string()))).collect()
}

/// dbt's `assert_columns_equivalent`: as many columns, each of the SQL's
/// found by exact name among the YAML's with the same type.
fn compare(yaml: &[Described], sql: &[Described]) -> Result<(), String> {
    let same = yaml.len() == sql.len()
        && sql.iter().all(|(name, dtype)| {
            yaml.iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(n, t)| format!("{} {t}", n.to_lowercase()) == format!("{} {dtype}", name.to_lowercase()))
        });
    if same {
        return Ok(());
    }
    Err(format!(
        "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n\n{}",
        table(&mismatches(yaml, sql))
    ))
}

/// dbt's `ContractError.get_mismatches`: rows of column name, the SQL's
/// type, the contract's type and why, sorted by column name.
fn mismatches(yaml: &[Described], sql: &[Described]) -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    for (name, dtype) in sql {
        match yaml.iter().find(|(n, _)| n == name) {
            Some((_, t)) if t == dtype => {}
            Some((_, t)) => rows.push([name.clone(), dtype.clone(), t.clone(), "data type mismatch".into()]),
            None => rows.push([name.clone(), dtype.clone(), String::new(), "missing in contract".into()]),
        }
    }
    for (name, t) in yaml {
        if !sql.iter().any(|(n, _)| n == name) {
            rows.push([name.clone(), String::new(), t.clone(), "missing in definition".into()]);
        }
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    rows
}

/// The rows as agate's `print_table` draws them for dbt (cells cut at 50
/// characters), without the final line break.
fn table(rows: &[[String; 4]]) -> String {
    const HEADER: [&str; 4] = ["column_name", "definition_type", "contract_type", "mismatch_reason"];
    let cut = |s: &str| -> String {
        if s.chars().count() > 50 {
            format!("{}...", s.chars().take(47).collect::<String>())
        } else {
            s.to_string()
        }
    };
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cut(c)).collect()).collect();
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| -> String {
        let padded: Vec<String> =
            row.iter().zip(&widths).map(|(c, w)| format!(" {c}{} ", " ".repeat(w - c.chars().count()))).collect();
        format!("|{}|", padded.join("|"))
    };
    let mut out = vec![line(&HEADER.map(String::from))];
    out.push(format!("| {} |", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join(" | ")));
    out.extend(cells.iter().map(|r| line(r)));
    out.join("\n")
}

/// dbt-duckdb's contracted `create_table_as`: the table with the
/// contract's columns, types and constraints, then the model's rows
/// inserted by name. `create` is `create table` or `create or replace table`.
pub(super) fn create_table(create: &str, rel: &Relation, sql: &str, contract: &Contract) -> Vec<String> {
    let mut lines: Vec<String> = contract
        .columns
        .iter()
        .map(|c| {
            let mut parts = vec![c.sql_name(), c.data_type.clone().unwrap_or_default()];
            parts.extend(c.constraints.iter().cloned());
            parts.join(" ")
        })
        .collect();
    lines.extend(contract.constraints.iter().cloned());
    let names: Vec<String> = contract.columns.iter().map(ContractColumn::sql_name).collect();
    let names = names.join(", ");
    vec![
        format!("{create} {rel} (\n    {}\n)", lines.join(",\n    ")),
        format!("insert into {rel} ({names}) (\n    select {names}\n    from (\n{sql}\n    ) as model_subq\n)"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: &str) -> Described {
        (name.to_string(), t.to_string())
    }

    fn contract(cols: &[(&str, &str)]) -> Contract {
        Contract {
            columns: cols
                .iter()
                .map(|(n, t)| ContractColumn {
                    name: n.to_string(),
                    quote: false,
                    data_type: (!t.is_empty()).then(|| t.to_string()),
                    constraints: Vec::new(),
                })
                .collect(),
            constraints: Vec::new(),
        }
    }

    #[test]
    fn mismatches_print_as_dbts_table() {
        let yaml = [col("id", "BIGINT"), col("nom", "VARCHAR"), col("other", "INTEGER")];
        let sql = [col("id", "INTEGER"), col("Nom", "VARCHAR"), col("extra", "VARCHAR")];
        let e = compare(&yaml, &sql).expect_err("differs");
        let want = "This model has an enforced contract that failed.
Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.

| column_name | definition_type | contract_type | mismatch_reason       |
| ----------- | --------------- | ------------- | --------------------- |
| Nom         | VARCHAR         |               | missing in contract   |
| extra       | VARCHAR         |               | missing in contract   |
| id          | INTEGER         | BIGINT        | data type mismatch    |
| nom         |                 | VARCHAR       | missing in definition |
| other       |                 | INTEGER       | missing in definition |";
        assert_eq!(e, want);
        assert_eq!(
            compare(&[col("a", "INTEGER"), col("b", "VARCHAR")], &[col("b", "VARCHAR"), col("a", "INTEGER")]),
            Ok(())
        );
    }

    #[test]
    fn long_types_are_cut_as_agate_cuts_them() {
        let long = format!("STRUCT({})", "x".repeat(60));
        let t = table(&[["a".into(), long, String::new(), "data type mismatch".into()]]);
        assert!(t.contains(&format!("| STRUCT({}... |", "x".repeat(40))), "{t}");
    }

    #[test]
    fn structs_flatten_field_by_field() {
        let mut out = Vec::new();
        flatten("s", "STRUCT(k INTEGER, d DECIMAL(10,2), n STRUCT(a VARCHAR))", &mut out);
        assert_eq!(out, vec![col("s.k", "INTEGER"), col("s.d", "DECIMAL(10,2)"), col("s.n.a", "VARCHAR")]);
        let mut plain = Vec::new();
        flatten("t", "VARCHAR[]", &mut plain);
        assert_eq!(plain, vec![col("t", "VARCHAR[]")]);
    }

    #[test]
    fn the_check_reads_both_sides_from_duckdb() {
        let conn = Connection::open_in_memory().expect("db");
        let ok = contract(&[("id", "int"), ("name", "string"), ("amount", "decimal(10,2)")]);
        let sql = "select 1 as id, 'a' as name, 1.5::decimal(10,2) as amount";
        assert_eq!(check(&conn, sql, None, &ok).expect("runs"), Ok(()));
        let wrong = contract(&[("id", "bigint"), ("name", "varchar"), ("amount", "decimal(10,2)")]);
        let e = check(&conn, sql, None, &wrong).expect("runs").expect_err("bigint is not integer");
        assert!(e.contains("| id          | INTEGER         | BIGINT        | data type mismatch |"), "{e}");
        let untyped = contract(&[("id", "int"), ("name", ""), ("amount", "")]);
        let e = check(&conn, sql, None, &untyped).expect("runs").expect_err("no types");
        assert!(e.ends_with("for the ['name', 'amount'] column(s)."), "{e}");
        assert_eq!(check(&conn, sql, None, &contract(&[])).expect("runs"), Err(MISSING_SPEC.to_string()));
        assert!(check(&conn, sql, None, &contract(&[("id", "notatype"), ("name", "text"), ("amount", "int")])).is_err());
    }

    #[test]
    fn a_header_goes_inside_the_describe_as_dbt_duckdb_puts_it() {
        let conn = Connection::open_in_memory().expect("db");
        let c = contract(&[("id", "int")]);
        // A statement there is DuckDB's parser error, as under dbt-duckdb.
        let e = check(&conn, "select 1 as id", Some("set threads = 1;"), &c).expect_err("does not parse");
        assert!(e.to_string().contains("syntax error at or near \"set\""), "{e}");
        // A header of comments only parses.
        assert_eq!(check(&conn, "select 1 as id", Some("-- a note"), &c).expect("runs"), Ok(()));
    }

    #[test]
    fn contracted_tables_get_column_ddl_then_an_insert() {
        let mut c = contract(&[("id", "integer"), ("Name", "text")]);
        c.columns[0].constraints = vec!["primary key".into(), "not null".into()];
        c.columns[1].quote = true;
        c.constraints = vec!["constraint pos check (id > 0)".into()];
        let rel = Relation::new("db", "main", "t");
        let stmts = create_table("create or replace table", &rel, "select 1 as id, 'a' as \"Name\"", &c);
        assert_eq!(
            stmts[0],
            "create or replace table \"db\".\"main\".\"t\" (\n    id integer primary key not null,\n    \"Name\" text,\n    constraint pos check (id > 0)\n)"
        );
        assert!(
            stmts[1].starts_with("insert into \"db\".\"main\".\"t\" (id, \"Name\") (\n    select id, \"Name\"\n"),
            "{}",
            stmts[1]
        );
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("attach ':memory:' as db").expect("attach");
        for s in &stmts {
            conn.execute_batch(s).expect(s);
        }
        let bad = create_table("create or replace table", &rel, "select -1 as id, 'a' as \"Name\"", &c);
        conn.execute_batch(&bad[0]).expect("table");
        assert!(conn.execute_batch(&bad[1]).expect_err("check").to_string().contains("CHECK constraint failed"));
    }
}
